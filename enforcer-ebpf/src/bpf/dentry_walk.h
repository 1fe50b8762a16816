/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The one bounded dentry walk of both object files: the path of (dentry, vfsmnt) as a task whose
 * root is (root_dentry, root_mnt) sees it. It is the walk d_path() does, because bpf_d_path() is
 * refused in tracepoints (detection, path.h) and, on 6.1, in the LSM path_* hooks (enforcement,
 * enforce_path.h): a mount's root continues at its mountpoint in the parent mount; the task's
 * root ends the walk, so a chrooted or containerised task gets the path it sees.
 *
 * Two policies, each call site passing a constant (clang folds the other's branches away):
 * - WALK_BEST_EFFORT (detection): a path deeper than WALK_DEPTH components keeps its last
 *   components, one longer than WALK_PATH_MAX - 1 bytes is cut after a component, a walk ending
 *   outside the task's tree (memfd's, pipes', detached mounts') gives what it gathered: an alert
 *   with most of a path beats none.
 * - WALK_WHOLE (enforcement): such paths are unknown (-1), since a decision about part of a path
 *   is wrong (the caller fails closed); a disconnected dentry (memfd's, pipes', other pseudo
 *   files') is named by itself, "/memfd:x".
 *
 * Shaped for the verifier: the first loop walks up and only records, at the step's own index, the
 * dentry whose name the step contributes (no counters or variable offsets, so its states prune);
 * the second writes the names top-down at masked offsets. (A bpf_loop callback would be the
 * natural form, but aya 0.14 poisons CO-RE relocations inside callbacks.)
 */
#ifndef PALISADE_DENTRY_WALK_H
#define PALISADE_DENTRY_WALK_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define WALK_DEPTH 32
#define WALK_PATH_MAX 256
#define WALK_MASK (WALK_PATH_MAX - 1)
/* Clang drops a mask it can prove redundant, but the verifier may not know the bound it used
 * (after loops it has widened ranges): hide the value so the mask stays. */
#define KEEP_MASK(v) asm volatile("" : "+r"(v))

/* Per-CPU scratch of one walk (inside each program's scratch map value). buf is twice
 * WALK_PATH_MAX so every masked write offset stays inside it. */
struct dentry_walk {
	char buf[2 * WALK_PATH_MAX];
	struct dentry *names[WALK_DEPTH];
	__u32 rooted; /* 1 when the last walk ended at the task's root */
	__u32 _pad;
};

enum walk_policy {
	WALK_BEST_EFFORT = 0,
	WALK_WHOLE = 1,
};

/* Writes the path into w->buf (not NUL-terminated) and returns its length, at least 1 ("/"),
 * or -1 (WALK_WHOLE only) when it is not known whole. */
static __always_inline int dentry_walk(struct dentry *dentry, struct vfsmount *vfsmnt, struct dentry *root_dentry,
				       struct vfsmount *root_mnt, struct dentry_walk *w, const enum walk_policy policy)
{
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	bool complete = false;

	w->rooted = 0;
	/* names[i]: the dentry whose name step i contributes, NULL for mount crossings. */
	for (int i = 0; i < WALK_DEPTH; i++)
		w->names[i] = NULL;
	for (int i = 0; i < WALK_DEPTH; i++) {
		if (dentry == root_dentry && vfsmnt == root_mnt) {
			complete = true;
			w->rooted = 1;
			break;
		}
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		if (dentry == mnt_root || dentry == parent) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			if (dentry != mnt_root) {
				/* A disconnected dentry. */
				if (policy == WALK_WHOLE)
					w->names[i] = dentry;
				complete = true;
				break;
			}
			if (mnt_parent == mnt) {
				complete = true; /* the root of the whole tree (or of a detached mount) */
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = &mnt->mnt;
			continue;
		}
		w->names[i] = dentry;
		dentry = parent;
	}
	if (policy == WALK_WHOLE && !complete)
		return -1;

	__u32 off = 0;
	for (int j = WALK_DEPTH - 1; j >= 0; j--) {
		struct dentry *d = w->names[j];
		if (!d)
			continue;
		struct qstr name = BPF_CORE_READ(d, d_name);
		__u32 len = name.len & WALK_MASK;
		__u32 next = off + 1 + len;
		if (policy == WALK_WHOLE && (next >= WALK_PATH_MAX || len != name.len))
			return -1;
		if (next >= WALK_PATH_MAX)
			break; /* too long: the path keeps its leading components */
		KEEP_MASK(off);
		w->buf[off & WALK_MASK] = '/';
		bpf_probe_read_kernel(&w->buf[(off + 1) & WALK_MASK], len, name.name);
		/* Re-masked (a no-op) so every iteration starts from the same known range and the
		 * verifier's states prune instead of doubling per component. */
		KEEP_MASK(next);
		off = next & WALK_MASK;
	}
	if (off == 0) {
		w->buf[0] = '/';
		return 1;
	}
	KEEP_MASK(off);
	return off & WALK_MASK;
}

#endif
