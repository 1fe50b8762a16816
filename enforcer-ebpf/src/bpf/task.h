/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* The record header every program fills from the current task. */
#ifndef PALISADE_TASK_H
#define PALISADE_TASK_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "palisade.h"

static __always_inline void fill_header(struct event_header *h, __u32 kind, struct task_struct *task)
{
	__u64 uid_gid = bpf_get_current_uid_gid();
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	h->kind = kind;
	h->abi = PALISADE_ABI_VERSION;
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	if (bpf_core_field_exists(task->loginuid))
		h->loginuid = BPF_CORE_READ(task, loginuid.val);
	else
		h->loginuid = (__u32)-1;
	bpf_get_current_comm(&h->comm, sizeof(h->comm));
}

static __always_inline __u32 tty_of(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (!tty)
		return 0;
	__u32 major = BPF_CORE_READ(tty, driver, major);
	__u32 minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	return (major << 20) | minor;
}

/* The task's process id as seen in its own (innermost) pid namespace: the group leader's
 * `struct pid` holds one `struct upid` per namespace level, innermost at `level`. */
static __always_inline __u32 task_vpid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	if (!pid)
		return 0;
	unsigned int level = BPF_CORE_READ(pid, level);
	if (level > 32)
		return 0;
	const void *upid = (const void *)pid + bpf_core_field_offset(struct pid, numbers) +
			   level * bpf_core_type_size(struct upid);
	int nr = 0;
	bpf_probe_read_kernel(&nr, sizeof(nr), upid + bpf_core_field_offset(struct upid, nr));
	return (__u32)nr;
}

#endif
