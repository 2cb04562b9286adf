/*
 * Block I/O latency per disk: time from a request being issued to the device driver
 * (block:block_rq_issue) to its completion (block:block_rq_complete), as an exp2 histogram in
 * microseconds; bucket MAX_BUCKET + 1 holds the sum (ebpf_exporter's convention). The device is
 * the request's disk as a kernel dev_t (major << 20 | first_minor), decoded by majorminor.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

#define MAX_BUCKET 26
#define MINORBITS 20

struct latency_key {
	u64 device;
	u64 bucket;
};

/* Issue time by request address; LRU, so requests that never complete through the tracepoint
 * cannot fill it up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, u64);
	__type(value, u64);
} issued_at SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct latency_key);
	__type(value, u64);
} bio_latency_seconds SEC(".maps");

SEC("tp_btf/block_rq_issue")
int BPF_PROG(isoscope_block_rq_issue, struct request *rq)
{
	u64 id = (u64)rq;
	u64 now = bpf_ktime_get_ns();
	count_dropped_key(bpf_map_update_elem(&issued_at, &id, &now, BPF_ANY));
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(isoscope_block_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	u64 id = (u64)rq;
	u64 *since = bpf_map_lookup_elem(&issued_at, &id);
	if (!since)
		return 0;
	u64 us = (bpf_ktime_get_ns() - *since) / 1000;
	bpf_map_delete_elem(&issued_at, &id);
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	u32 major = disk ? BPF_CORE_READ(disk, major) : 0;
	u32 minor = disk ? BPF_CORE_READ(disk, first_minor) : 0;
	struct latency_key key = { .device = ((u64)major << MINORBITS) | minor };
	key.bucket = exp2_bucket(us, MAX_BUCKET);
	increment_map(&bio_latency_seconds, &key, 1);
	key.bucket = MAX_BUCKET + 1;
	increment_map(&bio_latency_seconds, &key, us);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
