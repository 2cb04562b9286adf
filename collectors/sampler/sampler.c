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
 * A BPF map slot holds every entry of the map (BPF_MAP_LOOKUP_BATCH), as key then value bytes.
 * Loaded through koffi; compiled on first use (cc -O2 -shared -fPIC -pthread).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct isoscope_sampler {
  int n;
  int *fds;
  int *modes; /* bit 0: pread(2) at offset 0; bit 1: a BPF map, dumped; else read(2); bits 8+: read every that many ticks (0, 1: every tick) */
  int *sizes;
  int *aux; /* BPF map slots: key size and value bytes (per-CPU values included) */
  uint8_t **scratch; /* BPF map slots: keys then values of one batch */
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

/*
 * All entries of a BPF map as key, value, key, value … with BPF_MAP_LOOKUP_BATCH (a chunk per call).
 * Returns the bytes written, or -1 with errno (EOPNOTSUPP/EINVAL where the kernel or map type has no
 * batch lookup, ENOSPC when the entries do not fit).
 */
static ssize_t dump_map(int fd, uint8_t *out, size_t cap, int ksz, int vsz, uint8_t *scratch) {
  size_t per = (size_t)ksz + (size_t)vsz, chunk = cap / per, at = 0;
  uint8_t in_batch[64], out_batch[64];
  int first = 1;
  if (chunk == 0) return errno = ENOSPC, -1;
  for (;;) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.batch.in_batch = first ? 0 : (uint64_t)(uintptr_t)in_batch;
    attr.batch.out_batch = (uint64_t)(uintptr_t)out_batch;
    attr.batch.keys = (uint64_t)(uintptr_t)scratch;
    attr.batch.values = (uint64_t)(uintptr_t)(scratch + chunk * (size_t)ksz);
    attr.batch.count = (uint32_t)((cap - at) / per);
    attr.batch.map_fd = (uint32_t)fd;
    if (attr.batch.count == 0) return errno = ENOSPC, -1;
    long r = syscall(__NR_bpf, BPF_MAP_LOOKUP_BATCH, &attr, sizeof attr);
    int e = errno;
    if (r < 0 && e != ENOENT) return -1;
    for (uint32_t i = 0; i < attr.batch.count; i++) {
      memcpy(out + at, scratch + i * (size_t)ksz, (size_t)ksz);
      memcpy(out + at + ksz, scratch + chunk * (size_t)ksz + i * (size_t)vsz, (size_t)vsz);
      at += per;
    }
    if (r < 0) return (ssize_t)at; /* ENOENT: the walk is done */
    memcpy(in_batch, out_batch, sizeof in_batch);
    first = 0;
  }
}

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
                    : (s->modes[i] & 2) ? dump_map(s->fds[i], r + at + 4, (size_t)s->sizes[i], s->aux[2 * i], s->aux[2 * i + 1], s->scratch[i])
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
  if (s->scratch)
    for (int i = 0; i < s->n; i++) free(s->scratch[i]);
  free(s->scratch), free(s->aux), free(s->fds), free(s->modes), free(s->sizes), free(s->rec), free(s->buf), free(s);
}

/* Starts sampling; returns the sampler, or NULL with *err set to an errno. */
struct isoscope_sampler *isoscope_sampler_start(const int *fds, const int *modes, const int *sizes, const int *aux, int n, int64_t interval_ns, int64_t buffer_bytes, int *err) {
  struct isoscope_sampler *s = calloc(1, sizeof *s);
  if (!s) return *err = ENOMEM, NULL;
  s->n = n;
  s->interval_ns = interval_ns;
  s->fds = malloc(sizeof(int) * (size_t)(n ? n : 1));
  s->modes = malloc(sizeof(int) * (size_t)(n ? n : 1));
  s->sizes = malloc(sizeof(int) * (size_t)(n ? n : 1));
  s->aux = malloc(2 * sizeof(int) * (size_t)(n ? n : 1));
  s->scratch = calloc((size_t)(n ? n : 1), sizeof(uint8_t *));
  s->rec_max = 24;
  for (int i = 0; i < n; i++) s->rec_max += 4 + (size_t)sizes[i];
  s->rec = malloc(s->rec_max);
  s->cap = (size_t)buffer_bytes < s->rec_max ? s->rec_max : (size_t)buffer_bytes;
  s->buf = malloc(s->cap);
  s->tfd = s->efd = -1;
  if (!s->fds || !s->modes || !s->sizes || !s->aux || !s->scratch || !s->rec || !s->buf) {
    *err = ENOMEM;
    goto fail;
  }
  memcpy(s->aux, aux, 2 * sizeof(int) * (size_t)n);
  for (int i = 0; i < n; i++) {
    if (!(modes[i] & 2)) continue;
    /* Keys then values of as many entries as the slot holds, packed as the kernel writes them. */
    s->scratch[i] = malloc((size_t)sizes[i] + 1);
    if (!s->scratch[i]) {
      *err = ENOMEM;
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
