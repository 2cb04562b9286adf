/*
 * A memory-bound workload that reports its progress: STREAM's triad (a[i] = b[i] + s * c[i]) over
 * three arrays of doubles, each far larger than the last-level cache, so every pass streams from
 * DRAM. After every pass it writes one line to stdout:
 *   <CLOCK_MONOTONIC ns> <its own CPU time ns> <bytes moved so far>
 * counting 24 bytes per element as STREAM does (two reads, one write; the write-allocate read is
 * not counted). bench/observer-effect reads these lines to measure the bandwidth inside short
 * windows of one long run, so the host's slow drift does not land between the runs it compares.
 *
 *   cc -O2 -o stream-triad stream-triad.c && ./stream-triad <MiB per array>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 128;
  if (mib <= 0) {
    fprintf(stderr, "stream-triad: expected a size in MiB per array, got \"%s\"\n", argv[1]);
    return 2;
  }
  size_t n = (size_t)mib * 1024 * 1024 / sizeof(double);
  double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double)), *c = malloc(n * sizeof(double));
  if (!a || !b || !c) {
    fprintf(stderr, "stream-triad: cannot allocate 3 x %ld MiB\n", mib);
    return 1;
  }
  for (size_t i = 0; i < n; i++) a[i] = 0, b[i] = 1, c[i] = 2; /* touch every page before timing */
  const double s = 3.0;
  unsigned long long bytes = 0;
  char line[96];
  for (;;) {
    for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
    __asm__ volatile("" : : "r"(a) : "memory"); /* the stores are observable: no pass is optimised away */
    bytes += 3 * sizeof(double) * n;
    int len = snprintf(line, sizeof line, "%lld %lld %llu\n", ns(CLOCK_MONOTONIC), ns(CLOCK_PROCESS_CPUTIME_ID), bytes);
    if (write(1, line, (size_t)len) != len) return 0; /* reader gone: stop */
  }
}
