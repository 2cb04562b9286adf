/*
 * Run-queue latency per cgroup: time from a task becoming runnable (wakeup, new task, preempted
 * while running) to it running, as an exp2 histogram in microseconds; bucket MAX_BUCKET + 1 holds
 * the sum (ebpf_exporter's convention).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

#define MAX_BUCKET 26
#define TASK_RUNNING 0

struct latency_key {
	u64 cgroup;
	u64 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, u32);
	__type(value, u64);
} runnable_since SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct latency_key);
	__type(value, u64);
} run_queue_latency_seconds SEC(".maps");

/* Kernels before 5.14 call task_struct's state field `state`. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

static __always_inline void enqueued(struct task_struct *p)
{
	u32 pid = BPF_CORE_READ(p, pid);
	u64 now = bpf_ktime_get_ns();
	if (pid == 0)
		return;
	bpf_map_update_elem(&runnable_since, &pid, &now, BPF_ANY);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(isoscope_runqlat_wakeup, struct task_struct *p)
{
	enqueued(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(isoscope_runqlat_wakeup_new, struct task_struct *p)
{
	enqueued(p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(isoscope_runqlat_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (task_state(prev) == TASK_RUNNING)
		enqueued(prev);
	u32 pid = BPF_CORE_READ(next, pid);
	u64 *since = bpf_map_lookup_elem(&runnable_since, &pid);
	if (!since)
		return 0;
	u64 us = (bpf_ktime_get_ns() - *since) / 1000;
	bpf_map_delete_elem(&runnable_since, &pid);
	struct latency_key key = { .cgroup = BPF_CORE_READ(next, cgroups, dfl_cgrp, kn, id) };
	key.bucket = exp2_bucket(us, MAX_BUCKET);
	increment_map(&run_queue_latency_seconds, &key, 1);
	key.bucket = MAX_BUCKET + 1;
	increment_map(&run_queue_latency_seconds, &key, us);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
