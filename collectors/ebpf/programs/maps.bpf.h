/* Helpers shared by the isoscope BPF programs: counters in hash maps and exp2 histogram buckets. */
#ifndef ISOSCOPE_MAPS_BPF_H
#define ISOSCOPE_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

/* Not in vmlinux.h (it has no errno macros). */
#define ISOSCOPE_EEXIST 17
#define ISOSCOPE_E2BIG 7

/*
 * Keys a program could not add, per CPU: [0] because their map was full (max_entries reached,
 * E2BIG), [1] for any other reason (ENOMEM, seen for runqlat's non-preallocated per-CPU hash: one
 * to three keys in a load's first seconds, when the allocator's per-CPU cache is empty in the
 * switch handler; EBUSY when an update would nest in another on the same CPU). The collector sums and reports them (self telemetry `collector.ebpf_dropped_keys`)
 * instead of the counts vanishing silently. Touched only when an update fails.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} isoscope_dropped_keys SEC(".maps");

/* Counts a key that could not be added (err from bpf_map_update_elem; another CPU adding it first is no loss). */
static __always_inline void count_dropped_key(long err)
{
	if (err == 0 || err == -ISOSCOPE_EEXIST)
		return;
	u32 why = err == -ISOSCOPE_E2BIG ? 0 : 1;
	u64 *dropped = bpf_map_lookup_elem(&isoscope_dropped_keys, &why);
	if (dropped)
		*dropped += 1;
}

/* Adds delta to the u64 counter at key, creating it at zero first (a full map: counted as dropped). */
static __always_inline void increment_map(void *map, const void *key, u64 delta)
{
	u64 zero = 0, *count = bpf_map_lookup_elem(map, key);
	if (!count) {
		count_dropped_key(bpf_map_update_elem(map, key, &zero, BPF_NOEXIST));
		count = bpf_map_lookup_elem(map, key);
		if (!count)
			return;
	}
	__sync_fetch_and_add(count, delta);
}

/* The smallest k with value <= 2^k, capped at max: the `le` bucket of an exp2 histogram. */
static __always_inline u64 exp2_bucket(u64 value, u64 max)
{
	u64 k = 0;
	for (int i = 0; i < 64; i++) {
		if (k >= max || (1ULL << k) >= value)
			break;
		k++;
	}
	return k;
}

#endif
