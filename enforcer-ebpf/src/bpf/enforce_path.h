/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Paths for the enforcement programs: the bounded dentry walk (the path hooks cannot call
 * bpf_d_path on 6.1), bpf_d_path where it is allowed, and the LPM-trie prefix checks
 * (ALLOW_WRITE, ALLOW_WRITABLE_EXEC). Part of enforce.bpf.c (included after its maps and
 * scratch space; not a standalone header).
 */
#ifndef PALISADE_ENFORCE_PATH_H
#define PALISADE_ENFORCE_PATH_H

/*
 * The path of (dentry, vfsmnt) as the current task sees it, into s->rec.path (NUL-terminated,
 * tail zeroed); returns its length, or -1 when it is deeper than WALK_DEPTH components or
 * longer than ENFORCE_PATH_MAX - 1 bytes. The walk d_path() does, bounded: a mount's root
 * continues at its mountpoint in the parent mount; the task's root (fs->root) ends it. Two
 * loops shaped for the verifier: the first only records, per step, the dentry whose name it
 * contributes; the second writes the names top-down at masked offsets.
 */
static __noinline int walk_path(struct dentry *dentry, struct vfsmount *vfsmnt, struct enforce_scratch *s)
{
	if (!s)
		return -1;
	struct task_struct *task = bpf_get_current_task_btf();
	struct dentry *root_dentry = task->fs->root.dentry;
	struct vfsmount *root_mnt = task->fs->root.mnt;
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	bool complete = false;

	s->rooted = 0;
	for (int i = 0; i < WALK_DEPTH; i++)
		s->names[i] = NULL;
	for (int i = 0; i < WALK_DEPTH; i++) {
		if (dentry == root_dentry && vfsmnt == root_mnt) {
			complete = true;
			s->rooted = 1;
			break;
		}
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		if (dentry == mnt_root || dentry == parent) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			if (dentry != mnt_root) {
				/* A disconnected dentry (memfd's, pipes', other pseudo files'): its own
				 * name, as "/memfd:x", outside the task's tree. */
				s->names[i] = dentry;
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
		s->names[i] = dentry;
		dentry = parent;
	}
	if (!complete)
		return -1;

	__u32 off = 0;
	for (int j = WALK_DEPTH - 1; j >= 0; j--) {
		struct dentry *d = s->names[j];
		if (!d)
			continue;
		struct qstr name = BPF_CORE_READ(d, d_name);
		__u32 len = name.len & WALK_MASK;
		__u32 next = off + 1 + len;
		if (next >= ENFORCE_PATH_MAX || len != name.len)
			return -1;
		KEEP_MASK(off);
		s->buf[off & WALK_MASK] = '/';
		bpf_probe_read_kernel(&s->buf[(off + 1) & WALK_MASK], len, name.name);
		KEEP_MASK(next);
		off = next & WALK_MASK;
	}
	__builtin_memset(s->rec.path, 0, sizeof(s->rec.path));
	if (off == 0) {
		s->rec.path[0] = '/';
		return 1;
	}
	KEEP_MASK(off);
	off &= WALK_MASK;
	bpf_probe_read_kernel(s->rec.path, off, s->buf);
	return off;
}

/* bpf_d_path() into s->rec.path with the tail after the NUL zeroed; length or -1. */
static __always_inline int d_path_of(const struct path *path, struct enforce_scratch *s)
{
	__builtin_memset(s->rec.path, 0, sizeof(s->rec.path));
	long n = bpf_d_path((struct path *)path, (char *)s->rec.path, sizeof(s->rec.path));
	if (n <= 0 || n > ENFORCE_PATH_MAX)
		return -1;
	/* n counts the NUL; bytes after it may be scratch: clear them. */
	for (int i = 0; i < ENFORCE_PATH_MAX; i++)
		if (i >= n - 1)
			s->rec.path[i] = 0;
	return n - 1;
}

/* Whether s->rec.path (length len, or -1 when unknown) lies beneath a prefix of the policy in
 * the LPM trie `trie` (ALLOW_WRITE or ALLOW_WRITABLE_EXEC): the key is the path followed by
 * '/', so "/var/cache" and "/var/cache/x" match the prefix "/var/cache/" but "/var/cachex"
 * does not. */
static __always_inline bool prefix_allowed(void *trie, const struct enforce_policy *p, struct enforce_scratch *s,
					   int len)
{
	if (len <= 0)
		return false;
	__builtin_memset(s->key.path, 0, sizeof(s->key.path));
	__u32 n = len;
	if (n > ENFORCE_PREFIX_MAX)
		n = ENFORCE_PREFIX_MAX;
	n &= 0xff;
	if (n > ENFORCE_PREFIX_MAX)
		return false;
	bpf_probe_read_kernel(s->key.path, n, s->rec.path);
	if (n < ENFORCE_PREFIX_MAX)
		s->key.path[n] = '/';
	s->key.prefixlen = 8 * (sizeof(s->key.policy_id) + ENFORCE_PREFIX_MAX);
	s->key.policy_id = p->policy_id;
	return bpf_map_lookup_elem(trie, &s->key) != NULL;
}

static __always_inline bool write_allowed(const struct enforce_policy *p, struct enforce_scratch *s, int len)
{
	return prefix_allowed(&ALLOW_WRITE, p, s, len);
}

#endif
