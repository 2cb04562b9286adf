/*
 * Run-queue latency per cgroup: time from a task becoming runnable (wakeup, new task, preempted
 * while running) to it running, as an exp2 histogram in microseconds; bucket MAX_BUCKET + 1 holds
 * the sum (ebpf_exporter's convention).
 *
 * The time a task became runnable is kept in its task-local storage, not in a hash keyed by pid:
 * the handlers run on every context switch and wake-up of the machine, and a hash update, lookup
 * and delete per switch (bucket locks, element allocation) cost 700-900 ns per switch (issue 19).
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
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} runnable_since SEC(".maps");

/*
 * Per CPU: every CPU running tasks of one cgroup (a job) would otherwise add to the same two
 * elements at each switch, and their cache lines would bounce between CPUs; the reader sums the
 * CPUs' values. Not preallocated: per-CPU values for every possible entry would take
 * max_entries x CPUs x 8 bytes (16 MiB on 128 CPUs).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct latency_key);
	__type(value, u64);
} run_queue_latency_seconds SEC(".maps");

/* Kernels before 5.14 call task_struct's state field `state`. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

/* Direct (BTF) loads rather than bpf_probe_read calls: tp_btf arguments are typed kernel pointers. */
static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return ((struct task_struct___pre514 *)t)->state;
}

static __always_inline void enqueued(struct task_struct *p)
{
	if (p->pid == 0)
		return;
	u64 *since = bpf_task_storage_get(&runnable_since, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (since)
		*since = bpf_ktime_get_ns();
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
	u64 *since = bpf_task_storage_get(&runnable_since, next, 0, 0);
	if (!since || *since == 0)
		return 0;
	u64 us = (bpf_ktime_get_ns() - *since) / 1000;
	*since = 0; /* counted once per time it became runnable, as the hash entry's delete did */
	struct latency_key key = { .cgroup = next->cgroups->dfl_cgrp->kn->id };
	key.bucket = exp2_bucket(us, MAX_BUCKET);
	increment_map(&run_queue_latency_seconds, &key, 1);
	key.bucket = MAX_BUCKET + 1;
	increment_map(&run_queue_latency_seconds, &key, us);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
