/*
 * Page faults per cgroup (cgroup v2 id of the faulting task), from the x86 exceptions tracepoints
 * page_fault_user and page_fault_kernel (kprobes are not needed, so kernels without them work).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u64);
	__type(value, u64);
} page_faults_total SEC(".maps");

static __always_inline void count_fault(void)
{
	u64 cgroup = bpf_get_current_cgroup_id();
	increment_map(&page_faults_total, &cgroup, 1);
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(isoscope_pagefault_user)
{
	count_fault();
	return 0;
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(isoscope_pagefault_kernel)
{
	count_fault();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
