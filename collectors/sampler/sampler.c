/*
 * isoscope's native sampler: a thread off the JavaScript event loop that, on every multiple of the
 * interval (CLOCK_REALTIME, like the agent's own ticks), reads a fixed list of file descriptors
 * (perf group leaders with read(2), procfs files with pread(2) at offset 0) and appends one record
 * per tick to a buffer that JavaScript drains rarely (once a second). The thread only copies bytes:
 * every count is decoded, differenced and encoded in JavaScript, as on the JS path.
 *
 * Record: u32 total length, u32 slot count, u64 ts (ns since the epoch, read just before the
 * slots), u64 timer expirations (1, or more when ticks were missed), then per slot an i32 (bytes
 * read, or -errno) and the bytes. A tick that finds the buffer full is dropped and counted.
 * A BPF map slot holds the map's deltas since its last read (bpf-deltas.c: read with
 * BPF_MAP_LOOKUP_BATCH, per-CPU values summed and differenced here, 16 bytes per key that moved).
 * Loaded through koffi; compiled on first use (cc -O2 -shared -fPIC -pthread sampler.c bpf-deltas.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "bpf-deltas.h"

struct isoscope_sampler {
  int n;
  int *fds;
  int *modes; /* bit 0: pread(2) at offset 0; bit 1: a BPF map, its deltas; else read(2); bits 8+: read every that many ticks (0, 1: every tick) */
  int *sizes;
  struct isoscope_bpfmap **maps; /* BPF map slots: the map's differencing state (the caller's) */
  int64_t interval_ns;
  int tfd, efd;
  pthread_t thread;
  pthread_mutex_t mu;
  uint8_t *buf;
  size_t cap, len;
  uint8_t *rec;
  size_t rec_max;
  uint64_t dropped;
  uint64_t ticks;
  uint64_t expired; /* timer expirations since start: the tick number of the current tick */
};

static void *run(void *arg) {
  struct isoscope_sampler *s = arg;
  struct pollfd p[2] = {{.fd = s->tfd, .events = POLLIN}, {.fd = s->efd, .events = POLLIN}};
  for (;;) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents) break;
    if (!(p[0].revents & POLLIN)) continue;
    uint64_t expirations = 0;
    if (read(s->tfd, &expirations, sizeof expirations) != sizeof expirations) continue;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ts = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
    uint64_t tick = s->expired;
    s->expired += expirations;
    uint8_t *r = s->rec;
    size_t at = 24;
    for (int i = 0; i < s->n; i++) {
      uint64_t every = (uint64_t)(s->modes[i] >> 8);
      /* A slot read every k ticks is read on the tick that crosses the next multiple of k. */
      int due = every <= 1 || (tick + expirations - 1) / every != (tick == 0 ? (uint64_t)-1 : (tick - 1) / every);
      ssize_t got = !due ? (errno = ENODATA, -1)
                    : (s->modes[i] & 2) ? isoscope_bpfmap_sample(s->maps[i], r + at + 4, (size_t)s->sizes[i])
                    : (s->modes[i] & 1) ? pread(s->fds[i], r + at + 4, (size_t)s->sizes[i], 0)
                                        : read(s->fds[i], r + at + 4, (size_t)s->sizes[i]);
      int32_t len = got < 0 ? -errno : (int32_t)got;
      memcpy(r + at, &len, 4);
      at += 4 + (got > 0 ? (size_t)got : 0);
    }
    uint32_t total = (uint32_t)at, n = (uint32_t)s->n;
    memcpy(r, &total, 4);
    memcpy(r + 4, &n, 4);
    memcpy(r + 8, &ts, 8);
    memcpy(r + 16, &expirations, 8);
    pthread_mutex_lock(&s->mu);
    if (s->len + at <= s->cap) {
      memcpy(s->buf + s->len, r, at);
      s->len += at;
      s->ticks++;
    } else {
      s->dropped++;
    }
    pthread_mutex_unlock(&s->mu);
  }
  return NULL;
}

static void free_all(struct isoscope_sampler *s) {
  free(s->maps), free(s->fds), free(s->modes), free(s->sizes), free(s->rec), free(s->buf), free(s);
}

/* Starts sampling; returns the sampler, or NULL with *err set to an errno. */
struct isoscope_sampler *isoscope_sampler_start(const int *fds, const int *modes, const int *sizes, const int64_t *maps, int n, int64_t interval_ns, int64_t buffer_bytes, int *err) {
  struct isoscope_sampler *s = calloc(1, sizeof *s);
  if (!s) return *err = ENOMEM, NULL;
  s->n = n;
  s->interval_ns = interval_ns;
  s->fds = malloc(sizeof(int) * (size_t)(n ? n : 1));
  s->modes = malloc(sizeof(int) * (size_t)(n ? n : 1));
  s->sizes = malloc(sizeof(int) * (size_t)(n ? n : 1));
  s->maps = calloc((size_t)(n ? n : 1), sizeof *s->maps);
  s->rec_max = 24;
  for (int i = 0; i < n; i++) s->rec_max += 4 + (size_t)sizes[i];
  s->rec = malloc(s->rec_max);
  s->cap = (size_t)buffer_bytes < s->rec_max ? s->rec_max : (size_t)buffer_bytes;
  s->buf = malloc(s->cap);
  s->tfd = s->efd = -1;
  if (!s->fds || !s->modes || !s->sizes || !s->maps || !s->rec || !s->buf) {
    *err = ENOMEM;
    goto fail;
  }
  for (int i = 0; i < n; i++) {
    s->maps[i] = (struct isoscope_bpfmap *)(uintptr_t)maps[i];
    if ((modes[i] & 2) && !s->maps[i]) {
      *err = EINVAL;
      goto fail;
    }
  }
  memcpy(s->fds, fds, sizeof(int) * (size_t)n);
  memcpy(s->modes, modes, sizeof(int) * (size_t)n);
  memcpy(s->sizes, sizes, sizeof(int) * (size_t)n);
  pthread_mutex_init(&s->mu, NULL);
  s->tfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
  s->efd = eventfd(0, EFD_CLOEXEC);
  if (s->tfd < 0 || s->efd < 0) {
    *err = errno;
    goto fail;
  }
  /* The first tick on the next multiple of the interval, as the agent aligns its ticks. */
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t t = (int64_t)now.tv_sec * 1000000000ll + now.tv_nsec;
  int64_t first = (t / interval_ns + 1) * interval_ns;
  struct itimerspec spec = {
    .it_interval = {.tv_sec = interval_ns / 1000000000ll, .tv_nsec = interval_ns % 1000000000ll},
    .it_value = {.tv_sec = first / 1000000000ll, .tv_nsec = first % 1000000000ll},
  };
  if (timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &spec, NULL) < 0) {
    *err = errno;
    goto fail;
  }
  int e = pthread_create(&s->thread, NULL, run, s);
  if (e != 0) {
    *err = e;
    goto fail;
  }
  /* Named, so its CPU time can be told apart in /proc/<pid>/task (self telemetry, the overhead bench). */
  pthread_setname_np(s->thread, "isoscope-sampl");
  return s;
fail:
  if (s->tfd >= 0) close(s->tfd);
  if (s->efd >= 0) close(s->efd);
  free_all(s);
  return NULL;
}

/* Moves whole records (up to cap bytes) into out; returns the bytes moved. */
int64_t isoscope_sampler_drain(struct isoscope_sampler *s, uint8_t *out, int64_t cap) {
  pthread_mutex_lock(&s->mu);
  size_t take = 0;
  while (take < s->len) {
    uint32_t total;
    memcpy(&total, s->buf + take, 4);
    if (take + total > (size_t)cap) break;
    take += total;
  }
  memcpy(out, s->buf, take);
  memmove(s->buf, s->buf + take, s->len - take);
  s->len -= take;
  pthread_mutex_unlock(&s->mu);
  return (int64_t)take;
}

/* Ticks dropped because the buffer was full, since start. */
int64_t isoscope_sampler_dropped(struct isoscope_sampler *s) {
  pthread_mutex_lock(&s->mu);
  uint64_t d = s->dropped;
  pthread_mutex_unlock(&s->mu);
  return (int64_t)d;
}

/* Stops the thread (a tick being read finishes first). Records not drained stay until free. */
void isoscope_sampler_stop(struct isoscope_sampler *s) {
  if (s->efd < 0) return;
  uint64_t one = 1;
  while (write(s->efd, &one, sizeof one) < 0 && errno == EINTR) {
  }
  pthread_join(s->thread, NULL);
  close(s->efd);
  close(s->tfd);
  s->efd = s->tfd = -1;
}

/* Stops if still running, and frees everything (the sampled fds stay open: they are the caller's). */
void isoscope_sampler_free(struct isoscope_sampler *s) {
  isoscope_sampler_stop(s);
  pthread_mutex_destroy(&s->mu);
  free_all(s);
}
