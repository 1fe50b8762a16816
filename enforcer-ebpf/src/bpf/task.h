/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* The record header every program fills from the current task. */
#ifndef PALISADE_TASK_H
#define PALISADE_TASK_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "palisade.h"

/* The number `pid` has in the pid namespace at `level` of the hierarchy, when that namespace
 * is `ns` (any when NULL); 0 when `pid` is not visible there (what pid_nr_ns() returns). A
 * `struct pid` holds one `struct upid {nr, ns}` per level, from the initial namespace (0) down
 * to the one it was created in (`level`). */
static __always_inline __u32 upid_nr(struct pid *pid, unsigned int level, const void *ns)
{
	if (!pid || level > 32 || BPF_CORE_READ(pid, level) < level)
		return 0;
	const void *upid = (const void *)pid + bpf_core_field_offset(struct pid, numbers) +
			   level * bpf_core_type_size(struct upid);
	if (ns) {
		void *upid_ns = NULL;
		bpf_probe_read_kernel(&upid_ns, sizeof(upid_ns), upid + bpf_core_field_offset(struct upid, ns));
		if (upid_ns != ns)
			return 0;
	}
	int nr = 0;
	bpf_probe_read_kernel(&nr, sizeof(nr), upid + bpf_core_field_offset(struct upid, nr));
	return (__u32)nr;
}

/* The level of the pid namespace `pid` was created in, and that namespace. */
static __always_inline unsigned int pid_level(struct pid *pid, void **ns)
{
	*ns = NULL;
	if (!pid)
		return 0;
	unsigned int level = BPF_CORE_READ(pid, level);
	if (level > 32)
		return 0;
	const void *upid = (const void *)pid + bpf_core_field_offset(struct pid, numbers) +
			   level * bpf_core_type_size(struct upid);
	bpf_probe_read_kernel(ns, sizeof(*ns), upid + bpf_core_field_offset(struct upid, ns));
	return level;
}

/* Session and process group of `task` (shared by its thread group: task->signal): the ids in
 * the task's own pid namespace, as getsid()/getpgid() there return them, and the group's id in
 * the initial namespace. */
static __always_inline void fill_groups(struct event_header *h, struct task_struct *task)
{
	void *ns;
	unsigned int level = pid_level(BPF_CORE_READ(task, thread_pid), &ns);
	struct pid *pgrp = BPF_CORE_READ(task, signal, pids[PIDTYPE_PGID]);
	struct pid *session = BPF_CORE_READ(task, signal, pids[PIDTYPE_SID]);
	h->sid = upid_nr(session, level, ns);
	h->vpgid = upid_nr(pgrp, level, ns);
	h->pgid = upid_nr(pgrp, 0, NULL);
	h->_pad = 0;
}

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
	fill_groups(h, task);
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

/* The task's process id as seen in its own (innermost) pid namespace. */
static __always_inline __u32 task_vpid(struct task_struct *task)
{
	void *ns;
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	return upid_nr(pid, pid_level(pid, &ns), NULL);
}

#endif
