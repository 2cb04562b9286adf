/* Helpers shared by the isoscope BPF programs: counters in hash maps and exp2 histogram buckets. */
#ifndef ISOSCOPE_MAPS_BPF_H
#define ISOSCOPE_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

/* Adds delta to the u64 counter at key, creating it at zero first. */
static __always_inline void increment_map(void *map, const void *key, u64 delta)
{
	u64 zero = 0, *count = bpf_map_lookup_elem(map, key);
	if (!count) {
		bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
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
