/* Context switches per CPU and cgroup (cgroup v2 id of the task switched out). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

struct switch_key {
	u64 cgroup;
	u64 cpu;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct switch_key);
	__type(value, u64);
} sched_switches_total SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(isoscope_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	/* At this tracepoint `current` is still prev. */
	struct switch_key key = { .cgroup = bpf_get_current_cgroup_id(), .cpu = bpf_get_smp_processor_id() };
	increment_map(&sched_switches_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
