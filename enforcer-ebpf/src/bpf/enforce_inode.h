/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Immutability through the inode hooks: times (utimensat, utimes, futimens) and extended
 * attributes (setxattr, removexattr, and on 6.1 POSIX ACLs, which are xattrs there). Part of
 * enforce.bpf.c (included after its helpers; not a standalone header).
 *
 * These hooks get a dentry but no vfsmount. The allow_write check needs the file's path as the
 * container sees it; it is walked from the dentry up to the task's root mount: a file of the
 * rootfs superblock reached through the container's root mount (the overlay mount whose root
 * is the superblock's root, where runc pivots) gets the path the path hooks compute. A file
 * reached through another mount of the same superblock (a bind of a rootfs directory) still
 * gets its place in the rootfs -- the immutable thing -- and a walk that cannot finish at the
 * task's root leaves the path unknown: denied (fail closed).
 *
 * No gate as for mounts: after arming (createRuntime) runc mounts and creates device nodes on
 * /dev's tmpfs, but sets no times or xattrs on rootfs files (labels come as mount options).
 *
 * One decision per syscall: chmod, chown, truncate also call inode_setattr (notify_change);
 * path_chmod, path_chown and path_truncate decide those, so only a change of times alone is
 * judged here. Writes that drop set-id bits (ATTR_KILL_*) follow a write that was judged.
 * Overlayfs repeats these operations on its upper layer's dentry (another superblock): those
 * inner calls are not the rootfs and pass undecided.
 *
 * POSIX ACLs: up to 6.1 setting one is an xattr write (inode_setxattr); since 6.2 it has hooks
 * of its own, inode_set_acl and inode_remove_acl, decided here as setxattr/removexattr. Those
 * two programs are optional: palisade-lsm attaches them where the kernel has the hooks.
 * Not covered: file_truncate (6.2+), which only ftruncate(2) on a descriptor open for writing
 * reaches -- and opening an image file for writing is refused (file_open) before.
 */
#ifndef PALISADE_ENFORCE_INODE_H
#define PALISADE_ENFORCE_INODE_H

#define ATTR_MODE (1 << 0)
#define ATTR_UID (1 << 1)
#define ATTR_GID (1 << 2)
#define ATTR_SIZE (1 << 3)
#define ATTR_ATIME (1 << 4)
#define ATTR_MTIME (1 << 5)
#define ATTR_KILL_SUID (1 << 11)
#define ATTR_KILL_SGID (1 << 12)
#define ATTR_KILL_PRIV (1 << 14)
/* Changes decided elsewhere (see above). */
#define ATTR_DECIDED_ELSEWHERE \
	(ATTR_MODE | ATTR_UID | ATTR_GID | ATTR_SIZE | ATTR_KILL_SUID | ATTR_KILL_SGID | ATTR_KILL_PRIV)

/* A change of `dentry` (no mount known): the write check from the task's root mount. */
static __always_inline int check_inode(struct dentry *dentry, __u32 action)
{
	struct enforce_policy *p = armed();
	if (!p)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	return verdict(check_write(p, dentry, task->fs->root.mnt, action));
}

static __always_inline int check_times(struct dentry *dentry, struct iattr *attr)
{
	unsigned int valid = BPF_CORE_READ(attr, ia_valid);
	if (!(valid & (ATTR_ATIME | ATTR_MTIME)) || (valid & ATTR_DECIDED_ELSEWHERE))
		return 0;
	return check_inode(dentry, ENFORCE_ACT_UTIMES);
}

/* inode_setattr changed its arguments: (dentry, attr) up to 6.7, (idmap, dentry, attr) since.
 * Both programs attach to the same hook; palisade-lsm loads inode_setattr_idmap first and,
 * when the verifier refuses it (its fourth argument does not exist on older kernels), this one.
 */
SEC("lsm/inode_setattr")
int BPF_PROG(inode_setattr, struct dentry *dentry, struct iattr *attr, int ret)
{
	if (ret)
		return ret;
	return check_times(dentry, attr);
}

SEC("lsm/inode_setattr")
int BPF_PROG(inode_setattr_idmap, struct mnt_idmap *idmap, struct dentry *dentry, struct iattr *attr, int ret)
{
	if (ret)
		return ret;
	return check_times(dentry, attr);
}

/* The first argument is the mount's user namespace (6.1) or idmap (6.3+): same position. */
SEC("lsm/inode_setxattr")
int BPF_PROG(inode_setxattr, void *idmap, struct dentry *dentry, const char *name, const void *value, size_t size,
	     int flags, int ret)
{
	if (ret)
		return ret;
	return check_inode(dentry, ENFORCE_ACT_SETXATTR);
}

SEC("lsm/inode_removexattr")
int BPF_PROG(inode_removexattr, void *idmap, struct dentry *dentry, const char *name, int ret)
{
	if (ret)
		return ret;
	return check_inode(dentry, ENFORCE_ACT_REMOVEXATTR);
}

/* 6.2+ (optional, see above). */
SEC("lsm/inode_set_acl")
int BPF_PROG(inode_set_acl, struct mnt_idmap *idmap, struct dentry *dentry, const char *acl_name,
	     struct posix_acl *kacl, int ret)
{
	if (ret)
		return ret;
	return check_inode(dentry, ENFORCE_ACT_SETXATTR);
}

SEC("lsm/inode_remove_acl")
int BPF_PROG(inode_remove_acl, struct mnt_idmap *idmap, struct dentry *dentry, const char *acl_name, int ret)
{
	if (ret)
		return ret;
	return check_inode(dentry, ENFORCE_ACT_REMOVEXATTR);
}

#endif
