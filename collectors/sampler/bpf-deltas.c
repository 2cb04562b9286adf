/*
 * The eBPF half of the native sampler: reads a BPF map with BPF_MAP_LOOKUP_BATCH and, instead of
 * copying every entry's key and per-CPU values out for JavaScript to decode, sums the per-CPU values
 * and differences each key against the previous successful read here, so a tick carries only the
 * keys that moved, as (key index, delta) pairs of 16 bytes: u32 index, u32 0, u64 delta.
 *
 * A key gets an index the first time it is seen (0, 1, 2 … in order); JavaScript decodes a key's
 * labels once, when it first meets its index, fetching its bytes with isoscope_bpfmap_keys().
 * The deltas follow collectors/ebpf/metric-reader.ts exactly: a key not seen in the previous read
 * counts from 0, a value smaller than before (the entry was recreated) counts whole, zero deltas are
 * left out, and a read that fails changes nothing (the next read's deltas cover both intervals).
 * The state lives outside the sampler thread, so a sampler that stops and starts again (partition
 * scopes changing) continues the same deltas, and the JS timer can read through it too.
 *
 * Keys of cgroups that are gone are deleted (isoscope_bpfmap_forget, asked by JavaScript on a
 * periodic rescan of the cgroup tree): from the BPF map and from this table. Their indices are not
 * handed out again until JavaScript releases them (isoscope_bpfmap_release), which it does only once
 * it has decoded every tick read before the forget, so an index in a tick always means the key
 * JavaScript has for it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* Entries per BPF_MAP_LOOKUP_BATCH call, at most (as collectors/ebpf/ebpf.ts's readMap). */
#define MAX_CHUNK 4096u

struct isoscope_bpfmap {
  int fd;
  uint32_t ksz;     /* key bytes */
  uint32_t vstride; /* bytes per CPU value (the value size rounded up to 8, as the kernel copies them) */
  uint32_t cpus;    /* values per key: possible CPUs for per-CPU maps, else 1 */
  uint32_t chunk;   /* entries per batch lookup */
  uint8_t *kbuf, *vbuf, *in_batch, *out_batch;
  pthread_mutex_t mu; /* one read at a time; key table growth vs isoscope_bpfmap_keys */
  /* The key table: index -> key bytes, value and generation of the last successful read that saw it. */
  uint8_t *keys;
  uint64_t *last;
  uint32_t *seen;
  /* This attempt's values, committed when the whole map was read: each key once in touched. */
  uint64_t *pend;
  uint32_t *tried; /* the attempt that last touched the key */
  uint32_t *touched;
  uint32_t ntouched;
  uint32_t attempt;
  uint32_t count, cap;
  uint8_t *dead;    /* 0 a key; 1 forgotten, its index in quarantine; 2 released, its index on the free list */
  uint32_t *freed;  /* released indices, reused before new ones */
  uint32_t nfreed;
  uint32_t *slots; /* open addressing on the key bytes: index + 1, 0 empty */
  uint32_t nslots;
  uint32_t ok_gen; /* generation of the last successful read (0: none yet) */
};

static uint32_t hash_key(const uint8_t *k, uint32_t n) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (uint32_t i = 0; i < n; i++) h = (h ^ k[i]) * 16777619u;
  return h ^ (h >> 15);
}

static int grow_slots(struct isoscope_bpfmap *m, uint32_t nslots) {
  uint32_t *slots = calloc(nslots, sizeof *slots);
  if (!slots) return -1;
  for (uint32_t i = 0; i < m->count; i++) {
    if (m->dead[i]) continue;
    uint32_t h = hash_key(m->keys + (size_t)i * m->ksz, m->ksz) & (nslots - 1);
    while (slots[h]) h = (h + 1) & (nslots - 1);
    slots[h] = i + 1;
  }
  free(m->slots);
  m->slots = slots;
  m->nslots = nslots;
  return 0;
}

static int grow_keys(struct isoscope_bpfmap *m) {
  uint32_t cap = m->cap ? m->cap * 2 : 256;
  uint8_t *keys = realloc(m->keys, (size_t)cap * m->ksz);
  if (!keys) return -1;
  m->keys = keys;
  uint64_t *last = realloc(m->last, cap * sizeof *last);
  if (!last) return -1;
  m->last = last;
  uint64_t *pend = realloc(m->pend, cap * sizeof *pend);
  if (!pend) return -1;
  m->pend = pend;
  uint32_t *seen = realloc(m->seen, cap * sizeof *seen);
  if (!seen) return -1;
  m->seen = seen;
  uint32_t *touched = realloc(m->touched, cap * sizeof *touched);
  if (!touched) return -1;
  m->touched = touched;
  uint32_t *tried = realloc(m->tried, cap * sizeof *tried);
  if (!tried) return -1;
  m->tried = tried;
  uint8_t *dead = realloc(m->dead, cap);
  if (!dead) return -1;
  m->dead = dead;
  uint32_t *freed = realloc(m->freed, cap * sizeof *freed);
  if (!freed) return -1;
  m->freed = freed;
  m->cap = cap;
  return 0;
}

/* The index of a key, added to the table when new; UINT32_MAX when out of memory. */
static uint32_t index_of(struct isoscope_bpfmap *m, const uint8_t *key) {
  uint32_t h = hash_key(key, m->ksz) & (m->nslots - 1);
  for (uint32_t s; (s = m->slots[h]) != 0; h = (h + 1) & (m->nslots - 1))
    if (memcmp(m->keys + (size_t)(s - 1) * m->ksz, key, m->ksz) == 0) return s - 1;
  uint32_t i;
  if (m->nfreed > 0) i = m->freed[--m->nfreed]; /* a released index: JavaScript learns its new key */
  else {
    if (m->count == m->cap && grow_keys(m) < 0) return UINT32_MAX;
    i = m->count++;
  }
  m->dead[i] = 0;
  memcpy(m->keys + (size_t)i * m->ksz, key, m->ksz);
  m->seen[i] = 0;
  m->last[i] = 0;
  m->tried[i] = 0;
  m->slots[h] = i + 1;
  if ((uint64_t)(m->count - m->nfreed) * 2 > m->nslots && grow_slots(m, m->nslots * 2) < 0) return UINT32_MAX;
  return i;
}

/*
 * Differences n entries (keys packed, then their values: cpus values of vstride bytes each) against
 * the last successful read, appending (index, delta) pairs to out at *at. Returns -1 with errno
 * (ENOSPC: out is full, ENOMEM).
 */
static int apply(struct isoscope_bpfmap *m, const uint8_t *keys, const uint8_t *values, uint32_t n, uint8_t *out, size_t cap, size_t *at) {
  for (uint32_t e = 0; e < n; e++) {
    uint64_t v = 0;
    const uint8_t *p = values + (size_t)e * m->vstride * m->cpus;
    for (uint32_t c = 0; c < m->cpus; c++, p += m->vstride) {
      uint64_t x;
      memcpy(&x, p, 8);
      v += x;
    }
    uint32_t i = index_of(m, keys + (size_t)e * m->ksz);
    if (i == UINT32_MAX) return errno = ENOMEM, -1;
    uint64_t before = m->seen[i] == m->ok_gen && m->ok_gen != 0 ? m->last[i] : 0;
    uint64_t delta = v >= before ? v - before : v; /* smaller: the entry was recreated */
    m->pend[i] = v; /* a key met twice in one walk (moved during it) keeps its later value, as in JS */
    if (m->tried[i] != m->attempt) {
      m->tried[i] = m->attempt;
      m->touched[m->ntouched++] = i;
    }
    if (delta == 0 || out == NULL) continue;
    if (*at + 16 > cap) return errno = ENOSPC, -1;
    uint32_t head[2] = {i, 0};
    memcpy(out + *at, head, 8);
    memcpy(out + *at + 8, &delta, 8);
    *at += 16;
  }
  return 0;
}

static void begin(struct isoscope_bpfmap *m) {
  m->ntouched = 0;
  if (++m->attempt == 0) { /* wrapped: forget which attempt touched what */
    memset(m->tried, 0, m->cap * sizeof *m->tried);
    m->attempt = 1;
  }
}

static void commit(struct isoscope_bpfmap *m, uint32_t gen) {
  for (uint32_t t = 0; t < m->ntouched; t++) {
    uint32_t i = m->touched[t];
    m->last[i] = m->pend[i];
    m->seen[i] = gen;
  }
  m->ok_gen = gen;
}

/*
 * Reads every entry of the map and writes the deltas since the last successful read to out (NULL:
 * a baseline, nothing written). Returns the bytes written, or -1 with errno; a failed read changes
 * nothing. Called by the sampler thread on its ticks and by JavaScript on the JS timer.
 */
ssize_t isoscope_bpfmap_sample(struct isoscope_bpfmap *m, uint8_t *out, size_t cap) {
  pthread_mutex_lock(&m->mu);
  uint32_t gen = m->ok_gen + 1;
  if (gen == 0) gen = 1; /* wrapped after 2^32 reads: a key last seen 2^32 reads ago is taken as new */
  size_t at = 0;
  int first = 1, rc = 0, e = 0;
  begin(m);
  for (;;) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.batch.in_batch = first ? 0 : (uint64_t)(uintptr_t)m->in_batch;
    attr.batch.out_batch = (uint64_t)(uintptr_t)m->out_batch;
    attr.batch.keys = (uint64_t)(uintptr_t)m->kbuf;
    attr.batch.values = (uint64_t)(uintptr_t)m->vbuf;
    attr.batch.count = m->chunk;
    attr.batch.map_fd = (uint32_t)m->fd;
    long r = syscall(__NR_bpf, BPF_MAP_LOOKUP_BATCH, &attr, sizeof attr);
    int err = errno;
    if (r < 0 && err != ENOENT) {
      rc = -1, e = err;
      break;
    }
    if (apply(m, m->kbuf, m->vbuf, attr.batch.count, out, cap, &at) < 0) {
      rc = -1, e = errno;
      break;
    }
    if (r < 0) break; /* ENOENT: the walk is done */
    memcpy(m->in_batch, m->out_batch, m->ksz > 8 ? m->ksz : 8);
    first = 0;
  }
  if (rc == 0) commit(m, gen);
  pthread_mutex_unlock(&m->mu);
  if (rc < 0) return errno = e, -1;
  return (ssize_t)at;
}

/*
 * The same differencing on entries the caller read (n keys, then their values, packed as the kernel
 * writes them), as one whole read (cap 0: a baseline): for tests, which hold the JavaScript decoders
 * to the same bytes. Returns the bytes written to out, or -errno.
 */
int64_t isoscope_bpfmap_feed(struct isoscope_bpfmap *m, const uint8_t *keys, const uint8_t *values, uint32_t n, uint8_t *out, int64_t cap) {
  pthread_mutex_lock(&m->mu);
  uint32_t gen = m->ok_gen + 1;
  if (gen == 0) gen = 1;
  size_t at = 0;
  begin(m);
  int rc = apply(m, keys, values, n, cap > 0 ? out : NULL, cap > 0 ? (size_t)cap : 0, &at);
  int e = errno;
  if (rc == 0) commit(m, gen);
  pthread_mutex_unlock(&m->mu);
  return rc < 0 ? -(int64_t)e : (int64_t)at;
}

/* isoscope_bpfmap_sample for JavaScript: bytes written, or -errno. */
int64_t isoscope_bpfmap_read(struct isoscope_bpfmap *m, uint8_t *out, int64_t cap) {
  ssize_t r = isoscope_bpfmap_sample(m, cap > 0 ? out : NULL, cap > 0 ? (size_t)cap : 0);
  return r < 0 ? -(int64_t)errno : (int64_t)r;
}

/* Copies the bytes of keys from index `from` on into out, as many as fit; returns how many. */
int64_t isoscope_bpfmap_keys(struct isoscope_bpfmap *m, uint32_t from, uint8_t *out, int64_t cap) {
  pthread_mutex_lock(&m->mu);
  uint32_t n = 0;
  while (from + n < m->count && (int64_t)(n + 1) * m->ksz <= cap) n++;
  if (n > 0) memcpy(out, m->keys + (size_t)from * m->ksz, (size_t)n * m->ksz);
  pthread_mutex_unlock(&m->mu);
  return n;
}

/*
 * Deletes the keys at these indices from the BPF map (a key already gone from it is fine) and from
 * the table, so a key with the same bytes seen later gets a new index and counts from 0. `keys`
 * holds the bytes the caller saw at each index: an index that holds other bytes now (handed out
 * again meanwhile), is out of range or already forgotten is skipped, and its entry of idx set to
 * UINT32_MAX. The indices stay in quarantine (not reused) until released. Returns how many keys
 * were forgotten, or -errno of a failed delete (that index and the ones after it are skipped).
 */
int64_t isoscope_bpfmap_forget(struct isoscope_bpfmap *m, uint32_t *idx, const uint8_t *keys, uint32_t n) {
  pthread_mutex_lock(&m->mu);
  int64_t done = 0;
  int err = 0;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t i = idx[k];
    if (err || i >= m->count || m->dead[i] || memcmp(m->keys + (size_t)i * m->ksz, keys + (size_t)k * m->ksz, m->ksz) != 0) {
      idx[k] = UINT32_MAX;
      continue;
    }
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = (uint32_t)m->fd;
    attr.key = (uint64_t)(uintptr_t)(m->keys + (size_t)i * m->ksz);
    if (syscall(__NR_bpf, BPF_MAP_DELETE_ELEM, &attr, sizeof attr) < 0 && errno != ENOENT) {
      err = errno;
      idx[k] = UINT32_MAX;
      continue;
    }
    m->dead[i] = 1;
    done++;
  }
  /* Rebuilt without the forgotten keys (open addressing has no cheap delete); indices unchanged. */
  if (done != 0 && grow_slots(m, m->nslots) < 0) err = ENOMEM;
  pthread_mutex_unlock(&m->mu);
  return err ? -(int64_t)err : done;
}

/* Hands forgotten indices out again (to keys seen from now on); others are skipped. Returns how many. */
int64_t isoscope_bpfmap_release(struct isoscope_bpfmap *m, const uint32_t *idx, uint32_t n) {
  pthread_mutex_lock(&m->mu);
  int64_t done = 0;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t i = idx[k];
    if (i >= m->count || m->dead[i] != 1) continue;
    m->dead[i] = 2;
    m->freed[m->nfreed++] = i;
    done++;
  }
  pthread_mutex_unlock(&m->mu);
  return done;
}

/* Keys in the table now (forgotten ones left out). */
int64_t isoscope_bpfmap_live(struct isoscope_bpfmap *m) {
  pthread_mutex_lock(&m->mu);
  uint32_t n = 0;
  for (uint32_t i = 0; i < m->count; i++) n += !m->dead[i];
  pthread_mutex_unlock(&m->mu);
  return n;
}

/* Indices handed out so far (the next new key gets this index when none was released). */
int64_t isoscope_bpfmap_count(struct isoscope_bpfmap *m) {
  pthread_mutex_lock(&m->mu);
  uint32_t n = m->count;
  pthread_mutex_unlock(&m->mu);
  return n;
}

void isoscope_bpfmap_free(struct isoscope_bpfmap *m) {
  if (!m) return;
  pthread_mutex_destroy(&m->mu);
  free(m->kbuf), free(m->vbuf), free(m->in_batch), free(m->out_batch);
  free(m->keys), free(m->last), free(m->pend), free(m->seen), free(m->tried), free(m->touched), free(m->slots);
  free(m->dead), free(m->freed);
  free(m);
}

/*
 * The differencing state of one map: fd, key size, value size (per CPU), values per key (possible
 * CPUs for per-CPU maps, else 1) and its max entries (the chunk of one batch lookup). NULL with *err
 * set to an errno.
 */
struct isoscope_bpfmap *isoscope_bpfmap_new(int fd, int key_size, int value_size, int cpus, int max_entries, int *err) {
  if (key_size <= 0 || value_size <= 0 || value_size > 8 || cpus <= 0) return *err = EINVAL, NULL;
  struct isoscope_bpfmap *m = calloc(1, sizeof *m);
  if (!m) return *err = ENOMEM, NULL;
  m->fd = fd;
  m->ksz = (uint32_t)key_size;
  m->vstride = 8;
  m->cpus = (uint32_t)cpus;
  m->chunk = max_entries > 0 && (uint32_t)max_entries < MAX_CHUNK ? (uint32_t)max_entries : MAX_CHUNK;
  pthread_mutex_init(&m->mu, NULL);
  size_t token = m->ksz > 8 ? m->ksz : 8;
  m->kbuf = malloc((size_t)m->chunk * m->ksz);
  m->vbuf = malloc((size_t)m->chunk * m->vstride * m->cpus);
  m->in_batch = calloc(1, token);
  m->out_batch = calloc(1, token);
  if (!m->kbuf || !m->vbuf || !m->in_batch || !m->out_batch || grow_keys(m) < 0 || grow_slots(m, 1024) < 0) {
    isoscope_bpfmap_free(m);
    return *err = ENOMEM, NULL;
  }
  return m;
}
