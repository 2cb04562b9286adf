/* The eBPF map differencing of bpf-deltas.c, as the sampler thread calls it. */
#ifndef ISOSCOPE_BPF_DELTAS_H
#define ISOSCOPE_BPF_DELTAS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct isoscope_bpfmap;

/* Deltas since the last successful read as (u32 index, u32 0, u64 delta) pairs; bytes, or -1 with errno. */
ssize_t isoscope_bpfmap_sample(struct isoscope_bpfmap *m, uint8_t *out, size_t cap);

#endif
