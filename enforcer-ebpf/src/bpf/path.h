/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Absolute paths from kernel `struct path`s, by walking dentries up to the task's root.
 *
 * bpf_d_path() is not allowed in tracepoints, so this is the walk d_path() does, bounded:
 * crossing mount points (a mount's root dentry continues at its mountpoint in the parent
 * mount) and stopping at the task's root (fs->root), so a chrooted or containerised task
 * gets the path it sees. Paths deeper than PALISADE_PATH_DEPTH components keep their last
 * components; paths longer than PALISADE_PATH_MAX - 1 bytes are cut after a component.
 */
#ifndef PALISADE_PATH_H
#define PALISADE_PATH_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "palisade.h"

#define PALISADE_PATH_DEPTH 32
/* The scratch buffer is twice PATH_MAX so every masked write offset stays inside it. */
#define PATH_SCRATCH (2 * PALISADE_PATH_MAX)
#define PATH_MASK (PALISADE_PATH_MAX - 1)
/* Clang drops a mask it can prove redundant, but the verifier may not know the bound it used
 * (after loops it has widened ranges): hide the value so the mask stays. */
#define KEEP_MASK(v) asm volatile("" : "+r"(v))

struct path_scratch {
	char buf[PATH_SCRATCH];
	struct dentry *names[PALISADE_PATH_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} PATH_SCRATCH_MAP SEC(".maps");

/*
 * Write the absolute path of (dentry, vfsmnt) as seen from `root` into out[0..PATH_MAX),
 * NUL-terminated; returns its length (0 when nothing could be read).
 *
 * Two bounded loops, shaped for the verifier: the first walks up and only records, at the
 * step's own index, the dentries whose names make the path (no counters or variable offsets,
 * so its states prune); the second writes the names top-down with masked offsets. (A bpf_loop callback would be the natural
 * form, but aya 0.14 poisons CO-RE relocations inside callbacks.)
 */
static __noinline __u32 resolve_path(struct dentry *dentry, struct vfsmount *vfsmnt,
				     const struct path *root, __u8 *out)
{
	__u32 zero = 0;
	struct path_scratch *s = bpf_map_lookup_elem(&PATH_SCRATCH_MAP, &zero);
	if (!s || !out)
		return 0;
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	struct dentry *root_dentry = BPF_CORE_READ(root, dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(root, mnt);
	/* names[i]: the dentry whose name step i contributes, NULL for mount crossings. */
	for (int i = 0; i < PALISADE_PATH_DEPTH; i++)
		s->names[i] = NULL;

	for (int i = 0; i < PALISADE_PATH_DEPTH; i++) {
		if (dentry == root_dentry && vfsmnt == root_mnt)
			break;
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		if (dentry == mnt_root || dentry == parent) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			if (dentry != mnt_root || mnt_parent == mnt)
				break; /* the root of the whole tree (or of a detached mount) */
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = &mnt->mnt;
			continue;
		}
		s->names[i] = dentry;
		dentry = parent;
	}

	__u32 off = 0;
	for (int j = PALISADE_PATH_DEPTH - 1; j >= 0; j--) {
		struct dentry *d = s->names[j];
		if (!d)
			continue;
		struct qstr name = BPF_CORE_READ(d, d_name);
		__u32 len = name.len & PATH_MASK;
		__u32 next = off + 1 + len;
		if (next >= PALISADE_PATH_MAX)
			break; /* too long: the path keeps its leading components */
		KEEP_MASK(off);
		s->buf[off & PATH_MASK] = '/';
		bpf_probe_read_kernel(&s->buf[(off + 1) & PATH_MASK], len, name.name);
		/* Re-masked (a no-op) so every iteration starts from the same known range and
		 * the verifier's states prune instead of doubling per component. */
		KEEP_MASK(next);
		off = next & PATH_MASK;
	}
	if (off == 0) {
		out[0] = '/';
		out[1] = 0;
		return 1;
	}
	KEEP_MASK(off);
	off &= PATH_MASK;
	bpf_probe_read_kernel(out, off, s->buf);
	out[off] = 0;
	return off;
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
