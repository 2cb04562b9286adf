/*
 * Time spent in hard IRQ handlers and in softirqs, in nanoseconds, per CPU: hard IRQs by handler
 * name (irqaction->name), softirqs by vector (decoded to HI, TIMER, … by the YAML's static_map).
 * From the irq tracepoints irq_handler_entry/exit and softirq_entry/exit (no kprobes needed). A
 * hard IRQ that interrupts a softirq is counted in both, as bcc's softirqs tool does.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

#define IRQ_NAME_LEN 32
#define SOFTIRQ_VECTORS 10 /* NR_SOFTIRQS */

struct hardirq_key {
	u64 cpu;
	char name[IRQ_NAME_LEN];
};

struct softirq_key {
	u64 cpu;
	u64 vector;
};

/* Start of the running hard IRQ handler on this CPU (hard IRQs do not nest). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} hardirq_start SEC(".maps");

/* Start of the running softirq on this CPU, by vector. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SOFTIRQ_VECTORS);
	__type(key, u32);
	__type(value, u64);
} softirq_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct hardirq_key);
	__type(value, u64);
} hardirq_nanoseconds_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct softirq_key);
	__type(value, u64);
} softirq_nanoseconds_total SEC(".maps");

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(isoscope_irq_handler_entry, int irq, struct irqaction *action)
{
	u32 zero = 0;
	u64 *start = bpf_map_lookup_elem(&hardirq_start, &zero);
	if (start)
		*start = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(isoscope_irq_handler_exit, int irq, struct irqaction *action, int ret)
{
	u32 zero = 0;
	u64 *start = bpf_map_lookup_elem(&hardirq_start, &zero);
	if (!start || *start == 0)
		return 0;
	u64 delta = bpf_ktime_get_ns() - *start;
	*start = 0;
	struct hardirq_key key = { .cpu = bpf_get_smp_processor_id() };
	const char *name = BPF_CORE_READ(action, name);
	if (name)
		bpf_probe_read_kernel_str(key.name, sizeof(key.name), name);
	increment_map(&hardirq_nanoseconds_total, &key, delta);
	return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(isoscope_softirq_entry, unsigned int vec_nr)
{
	u32 vec = vec_nr;
	u64 *start = bpf_map_lookup_elem(&softirq_start, &vec);
	if (start)
		*start = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(isoscope_softirq_exit, unsigned int vec_nr)
{
	u32 vec = vec_nr;
	u64 *start = bpf_map_lookup_elem(&softirq_start, &vec);
	if (!start || *start == 0)
		return 0;
	u64 delta = bpf_ktime_get_ns() - *start;
	*start = 0;
	struct softirq_key key = { .cpu = bpf_get_smp_processor_id(), .vector = vec };
	increment_map(&softirq_nanoseconds_total, &key, delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
