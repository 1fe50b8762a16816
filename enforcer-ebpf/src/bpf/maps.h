/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Maps shared by every program: who writes and who reads each is said beside it. */
#ifndef PALISADE_MAPS_H
#define PALISADE_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "palisade.h"

/* Records for user space. Written by every program; read by the daemon's consumer. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} EVENTS SEC(".maps");

/* Records lost because EVENTS was full, per CPU. Written by programs; read by the daemon,
 * which reports them like Falco's syscall_event_drops. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} DROPS SEC(".maps");

/* The cgroups of armed containers: cgroup v2 id -> flags (reserved, 0). Written by the daemon
 * when it arms / forgets a container; read by every program through in_scope(). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
} TRACKED_CGROUPS SEC(".maps");

/* struct scope_conf. Written by the daemon at start; read by in_scope(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scope_conf);
} SCOPE SEC(".maps");

/* How many tracked cgroups hash to each slot (cgroup_slot()): a counting filter in front of
 * TRACKED_CGROUPS, so a task of an untracked cgroup (the host, with host monitoring off) is
 * turned away by an inlined array lookup instead of a hash-map lookup. Written by the daemon
 * with TRACKED_CGROUPS (counted up before an insert, down after a removal, so a tracked
 * cgroup's slot is never 0); read by in_scope(). */
#define PALISADE_CGROUP_SLOTS 65536
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PALISADE_CGROUP_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} TRACKED_SLOTS SEC(".maps");

/* The TRACKED_SLOTS slot of a cgroup id: the top 16 bits of a Fibonacci hash (mirrored by
 * the daemon's kernel::scope). */
static __always_inline __u32 cgroup_slot(__u64 cgroup)
{
	return (__u32)((cgroup * 0x9e3779b97f4a7c15ULL) >> 48);
}

/* Whether the current task's events are wanted: one array lookup when untracked cgroups are
 * watched; else the cgroup's slot count, and only when it is not 0, the hash lookup. With
 * `skip_own` (the syscall program: a constant at each call site), the daemon's own process
 * (scope_conf.own_tgid) is not. */
static __always_inline bool in_scope(const bool skip_own)
{
	__u32 zero = 0;
	struct scope_conf *s = bpf_map_lookup_elem(&SCOPE, &zero);
	if (skip_own && s && s->own_tgid && s->own_tgid == (__u32)(bpf_get_current_pid_tgid() >> 32))
		return false;
	if (s && s->untracked)
		return true;
	__u64 cgroup = bpf_get_current_cgroup_id();
	__u32 slot = cgroup_slot(cgroup);
	__u32 *n = bpf_map_lookup_elem(&TRACKED_SLOTS, &slot);
	if (!n || !*n)
		return false;
	return bpf_map_lookup_elem(&TRACKED_CGROUPS, &cgroup) != NULL;
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&DROPS, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

#endif
