/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Absolute paths from kernel `struct path`s for the detection programs: the shared bounded walk
 * (dentry_walk.h) in its best-effort form, since bpf_d_path() is not allowed in tracepoints.
 * Paths deeper than WALK_DEPTH components keep their last components; paths longer than
 * PALISADE_PATH_MAX - 1 bytes are cut after a component.
 */
#ifndef PALISADE_PATH_H
#define PALISADE_PATH_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "palisade.h"
#include "dentry_walk.h"

#define PATH_MASK (PALISADE_PATH_MAX - 1)
_Static_assert(PALISADE_PATH_MAX == WALK_PATH_MAX, "the walk writes whole record paths");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dentry_walk);
} PATH_SCRATCH_MAP SEC(".maps");

/* Write the absolute path of (dentry, vfsmnt) as seen from `root` into out[0..PATH_MAX),
 * NUL-terminated; returns its length (0 when nothing could be read). */
static __noinline __u32 resolve_path(struct dentry *dentry, struct vfsmount *vfsmnt,
				     const struct path *root, __u8 *out)
{
	__u32 zero = 0;
	struct dentry_walk *w = bpf_map_lookup_elem(&PATH_SCRATCH_MAP, &zero);
	if (!w || !out)
		return 0;
	int n = dentry_walk(dentry, vfsmnt, BPF_CORE_READ(root, dentry), BPF_CORE_READ(root, mnt), w,
			    WALK_BEST_EFFORT);
	__u32 len = n;
	KEEP_MASK(len);
	len &= PATH_MASK;
	bpf_probe_read_kernel(out, len, w->buf);
	out[len] = 0;
	return len;
}

/* The task's root (what "/" means to it). */
static __always_inline struct path task_root(struct task_struct *task)
{
	/* task is a BTF pointer (bpf_get_current_task_btf, tp_btf arguments): direct loads,
	 * which the verifier turns into fault-safe loads, cost far less than helper calls. */
	return task->fs->root;
}

/* The path of an open file. */
static __always_inline __u32 file_path(struct file *f, const struct path *root, __u8 *out)
{
	struct path p = BPF_CORE_READ(f, f_path);
	return resolve_path(p.dentry, p.mnt, root, out);
}

/* The task's working directory. */
static __always_inline __u32 cwd_path(struct task_struct *task, const struct path *root, __u8 *out)
{
	struct path p = BPF_CORE_READ(task, fs, pwd);
	return resolve_path(p.dentry, p.mnt, root, out);
}

#endif
