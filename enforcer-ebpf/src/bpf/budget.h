/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Per-cgroup syscall budgets: one flooding cgroup (a container or a host service opening a
 * file in a loop) must not fill the shared EVENTS ring buffer and starve every other cgroup.
 * Each cgroup has two token buckets: one for the frequent syscalls (SYSCALL_CONF.budget
 * PALISADE_BUDGET_FREQUENT: opens, socket I/O, dup, close, mmap), one for the rare ones
 * (PALISADE_BUDGET_RARE: chmod, setuid, mount, ptrace, unlink ...). A flood of opens spends only
 * the first, so a distinct action in the flooding cgroup still arrives; a flood of a rare call
 * (an attacker choosing chmod to flood) is held by the second, so it cannot starve the other
 * cgroups either. A record over budget is not written and is counted for its cgroup in
 * BUDGET_DROPS, which the daemon reports per container. Process events (process.c) are never
 * budgeted (the process table needs every one); they share EVENTS, whose overflow keeps being
 * counted in DROPS.
 *
 * Units: a bucket holds "nanotokens" (one record = 10^9), so refilling is one multiplication
 * (elapsed ns x records/s) without a division. PALISADE_BUDGET_MAX_RATE/_BURST and the
 * MAX_REFILL_NS cap keep every product below 2^64.
 *
 * Concurrency: the bucket of a cgroup running on several CPUs is read and written without a
 * lock. Two CPUs charging the same bucket at once can both spend the same token, or one's
 * update can overwrite the other's: a cgroup may pass somewhat more than its rate (at most one
 * record per concurrently charging CPU per race), never fewer by more than such a lost update.
 * Drop counts are exact (atomic adds).
 *
 * Bounds: BUDGETS is an LRU hash, so creating cgroups faster than buckets are reused cannot
 * exhaust it; an evicted cgroup's bucket starts again full (one burst more for it), and every
 * bucket creation is counted (PALISADE_BUDGET_NEW_BUCKETS). BUDGET_DROPS is a plain hash so
 * counts are never evicted unread; when it is full, a drop is counted in
 * PALISADE_BUDGET_UNATTRIBUTED instead (the daemon reports it as "unattributed" and deletes
 * idle entries, so this needs more than PALISADE_BUDGET_CGROUPS cgroups dropping at once).
 */
#ifndef PALISADE_BUDGET_H
#define PALISADE_BUDGET_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "palisade.h"

#define NS_PER_RECORD 1000000000ULL
/* The longest idle time a refill counts: enough to refill any bucket (burst <= 10^6 records
 * at rate >= 1/s would need longer, but a bucket that idle long is full in practice: the cap
 * only bounds the product). */
#define MAX_REFILL_NS (10ULL * 1000000000ULL)
#define PALISADE_BUDGET_CGROUPS 8192

/* A cgroup's buckets, [0] frequent and [1] rare calls (kernel-private: the daemon never
 * reads them). */
struct cgroup_bucket {
	__u64 nanotokens[2];
	__u64 last_ns[2];
};

/* struct budget_conf. Written by the daemon; read by budget_allow(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct budget_conf);
} BUDGET_CONF SEC(".maps");

/* cgroup id -> its bucket. Written and read by budget_allow() only. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct cgroup_bucket);
} BUDGETS SEC(".maps");

/* cgroup id -> records not written because the cgroup was over budget (a running total).
 * Written by budget_allow(); read by the daemon at housekeeping, which deletes idle entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PALISADE_BUDGET_CGROUPS);
	__type(key, __u64);
	__type(value, __u64);
} BUDGET_DROPS SEC(".maps");

/* PALISADE_BUDGET_* counters, per CPU. Written by budget_allow(); read by the daemon. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} BUDGET_STATS SEC(".maps");

static __always_inline void budget_stat(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&BUDGET_STATS, &slot);
	if (n)
		*n += 1; /* per CPU: no other writer */
}

/* Count a record of `cgroup` not written: its entry, or (map full) the unattributed slot. */
static __noinline void count_budget_drop(__u64 cgroup)
{
	__u64 *n = bpf_map_lookup_elem(&BUDGET_DROPS, &cgroup);
	if (!n) {
		__u64 one = 1;
		if (bpf_map_update_elem(&BUDGET_DROPS, &cgroup, &one, BPF_NOEXIST) == 0)
			return;
		n = bpf_map_lookup_elem(&BUDGET_DROPS, &cgroup); /* another CPU created it */
	}
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		budget_stat(PALISADE_BUDGET_UNATTRIBUTED);
}

/* Whether the current task's cgroup may write one more record of budget class `class`
 * (PALISADE_BUDGET_*) now; charges it. */
static __always_inline bool budget_allow(__u8 class)
{
	__u32 zero = 0;
	struct budget_conf *c = bpf_map_lookup_elem(&BUDGET_CONF, &zero);
	if (!c || !c->enabled)
		return true;
	__u32 i = class == PALISADE_BUDGET_RARE ? 1 : 0;
	__u64 rate = i ? c->rare_rate : c->rate, burst = i ? c->rare_burst : c->burst;
	if (rate > PALISADE_BUDGET_MAX_RATE)
		rate = PALISADE_BUDGET_MAX_RATE;
	if (burst > PALISADE_BUDGET_MAX_BURST)
		burst = PALISADE_BUDGET_MAX_BURST;
	if (burst == 0)
		burst = 1;
	__u64 cap = burst * NS_PER_RECORD;
	__u64 cgroup = bpf_get_current_cgroup_id();
	__u64 now = bpf_ktime_get_ns();
	struct cgroup_bucket *b = bpf_map_lookup_elem(&BUDGETS, &cgroup);
	if (!b) {
		/* New buckets start full, minus this record. */
		struct cgroup_bucket fresh = {};
		fresh.nanotokens[0] = c->burst * NS_PER_RECORD;
		fresh.nanotokens[1] = c->rare_burst * NS_PER_RECORD;
		fresh.nanotokens[i & 1] = cap - NS_PER_RECORD;
		fresh.last_ns[0] = fresh.last_ns[1] = now;
		bpf_map_update_elem(&BUDGETS, &cgroup, &fresh, BPF_NOEXIST);
		budget_stat(PALISADE_BUDGET_NEW_BUCKETS);
		return true;
	}
	i &= 1;
	__u64 tokens = b->nanotokens[i];
	__u64 last = b->last_ns[i];
	if (now > last) {
		__u64 elapsed = now - last;
		if (elapsed > MAX_REFILL_NS)
			elapsed = MAX_REFILL_NS;
		tokens += elapsed * rate;
		if (tokens > cap)
			tokens = cap;
		b->last_ns[i] = now; /* else another CPU stored a later time: refill nothing */
	}
	if (tokens < NS_PER_RECORD) {
		b->nanotokens[i] = tokens;
		count_budget_drop(cgroup);
		return false;
	}
	b->nanotokens[i] = tokens - NS_PER_RECORD;
	return true;
}

#endif
