/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Paths for the enforcement programs: the bounded dentry walk shared with detection
 * (dentry_walk.h; the path hooks cannot call bpf_d_path on 6.1), bpf_d_path where it is allowed, and the LPM-trie prefix checks
 * (ALLOW_WRITE, ALLOW_WRITABLE_EXEC). Part of enforce.bpf.c (included after its maps and
 * scratch space; not a standalone header).
 */
#ifndef PALISADE_ENFORCE_PATH_H
#define PALISADE_ENFORCE_PATH_H

/* The path of (dentry, vfsmnt) as the current task sees it, into s->rec.path (NUL-terminated,
 * tail zeroed): the shared walk (dentry_walk.h) in its whole-or-nothing form. Returns its length,
 * or -1 when it is deeper than WALK_DEPTH components or longer than ENFORCE_PATH_MAX - 1 bytes;
 * s->walk.rooted says whether it ended at the task's root. */
static __noinline int walk_path(struct dentry *dentry, struct vfsmount *vfsmnt, struct enforce_scratch *s)
{
	if (!s)
		return -1;
	struct task_struct *task = bpf_get_current_task_btf();
	int n = dentry_walk(dentry, vfsmnt, task->fs->root.dentry, task->fs->root.mnt, &s->walk, WALK_WHOLE);
	if (n < 0)
		return -1;
	__builtin_memset(s->rec.path, 0, sizeof(s->rec.path));
	__u32 len = n;
	KEEP_MASK(len);
	len &= WALK_MASK;
	bpf_probe_read_kernel(s->rec.path, len, s->walk.buf);
	return len;
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
