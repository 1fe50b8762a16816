/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Exec and PROT_EXEC mappings: identities (DENY_EXEC), W^X (ENFORCE_DENY_WRITABLE_EXEC) and
 * exec_only_image. Part of enforce.bpf.c (included after its helpers; not a standalone header).
 *
 * A writable place, for W^X, is where the container can create or change a file:
 * - on the rootfs superblock: the overlay's upper layer (files created or copied up after the
 *   container started; with ENFORCE_IMMUTABLE only possible beneath ALLOW_WRITE). Image files
 *   (lower layer) are not writable places: immutability forbids changing them, and W^X is armed
 *   only with it. A rootfs that is not an overlay has no upper layer: nothing on it counts
 *   (its writes are refused by immutability outside ALLOW_WRITE; see README's limits);
 * - any other superblock that is writable through the file's mount: neither SB_RDONLY nor
 *   MNT_READONLY (volumes, tmpfs /dev, /run, /dev/shm, memfd's internal tmpfs mount). A
 *   read-only mount of a writable filesystem is not a writable place for this container.
 * An exception needs the file's path, beneath an ALLOW_WRITABLE_EXEC prefix and reached from
 * the task's root (a file of a mount outside the task's tree -- memfd, a detached mount --
 * never matches): the walk is paid only for files in writable places.
 */
#ifndef PALISADE_ENFORCE_WX_H
#define PALISADE_ENFORCE_WX_H

#define SB_RDONLY 1
#define MNT_READONLY 0x40
#define PROT_EXEC 0x4
#define VM_EXEC 0x4
#define TS_COMPAT 0x0002

/* vm_area_struct.vm_flags as 6.1 lays it out (a plain field; later kernels put it in an
 * anonymous union, which CO-RE finds by name). */
struct vm_area_struct___flat {
	unsigned long vm_flags;
} __attribute__((preserve_access_index));

/* Whether the current task is in the runtime's mount namespace (see enforce_policy). */
static __always_inline bool in_runtime_ns(const struct enforce_policy *p)
{
	if (!p->runtime_mnt_ns)
		return false;
	struct task_struct *task = bpf_get_current_task_btf();
	return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum) == p->runtime_mnt_ns;
}

static __always_inline bool writable_place(const struct enforce_policy *p, struct inode *inode,
					   struct vfsmount *mnt)
{
	struct super_block *sb = BPF_CORE_READ(inode, i_sb);
	if (BPF_CORE_READ(sb, s_dev) == p->rootfs_dev)
		return in_upper_layer(inode);
	if (BPF_CORE_READ(sb, s_flags) & SB_RDONLY)
		return false;
	return !(BPF_CORE_READ(mnt, mnt_flags) & MNT_READONLY);
}

/*
 * The inode of `file` as the container sees it: its path's. They differ for overlayfs on 6.1:
 * a mapping of an overlay file holds the real (layer) file, opened with the overlay path as a
 * fake f_path (open_with_fake_path), so f_inode is the layer's inode (another superblock,
 * another identity) while f_path.dentry->d_inode is the overlay inode the identities and the
 * rootfs checks name. For every other file both are the same inode. Since 6.6 the mapping
 * holds a backing file whose f_path is the layer's own (the overlay path is in struct
 * backing_file, whose flag bit moved between releases): there the layer's inode is all there
 * is -- the image's lower layer is a read-only private mount (not a writable place, no
 * identity), the upper layer a writable one (measured by lsm_vm_6_12).
 */
static __always_inline struct inode *file_inode_seen(struct file *file)
{
	struct inode *inode = BPF_CORE_READ(file, f_path.dentry, d_inode);
	return inode ? inode : BPF_CORE_READ(file, f_inode);
}

/*
 * Judges running `file` (action EXEC) or mapping it PROT_EXEC (MMAP, MPROTECT) under policy p.
 * One reason per decision, the most specific first: a denied identity, then W^X, then (exec
 * only) exec_only_image; the last two not for the runtime's own processes (in_runtime_ns).
 * Returns NO_DECISION or the verdict of the recorded decision.
 */
static __always_inline int check_exec_file(const struct enforce_policy *p, struct file *file, __u32 action)
{
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	struct inode *inode = file_inode_seen(file);
	struct vfsmount *mnt = BPF_CORE_READ(file, f_path.mnt);
	if (!inode)
		return NO_DECISION;
	__u32 dev = BPF_CORE_READ(inode, i_sb, s_dev);
	__u64 ino = BPF_CORE_READ(inode, i_ino);
	struct enforce_scratch *s = scratch();
	if (!s)
		return NO_DECISION;
	bool walked = false;
	int len = -1;
	__u32 reason = denied_identity(p, dev, ino);
	bool provenance = !reason && (p->flags & (ENFORCE_DENY_WRITABLE_EXEC | ENFORCE_EXEC_ONLY_IMAGE)) &&
			  !in_runtime_ns(p);
	if (provenance && (p->flags & ENFORCE_DENY_WRITABLE_EXEC) && writable_place(p, inode, mnt)) {
		len = walk_path(dentry, mnt, s);
		walked = true;
		if (s->walk.rooted && prefix_allowed(&ALLOW_WRITABLE_EXEC, p, s, len))
			return NO_DECISION;
		reason = ENFORCE_REASON_WRITABLE_EXEC;
	}
	if (provenance && !reason && action == ENFORCE_ACT_EXEC && (p->flags & ENFORCE_EXEC_ONLY_IMAGE) &&
	    (dev != p->rootfs_dev || in_upper_layer(inode)))
		reason = ENFORCE_REASON_NOT_FROM_IMAGE;
	if (!reason)
		return NO_DECISION;
	if (!walked)
		len = walk_path(dentry, mnt, s);
	set_target(s, dev, inode, len);
	if (action == ENFORCE_ACT_EXEC) {
		s->rec.exe_dev = dev;
		s->rec.exe_ino = ino;
	}
	return decide(p, s, action, reason);
}

/* Whether `inode` is the current task's executable: the kernel maps the program (and with it
 * nothing new) while exec'ing it, after bprm_check_security decided on it. */
static __always_inline bool is_own_exe(struct file *file)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	return exe && file_inode_seen(file) == file_inode_seen(exe);
}

/* A PROT_EXEC mapping of `file` (MMAP or MPROTECT). */
static __always_inline int check_exec_map(struct file *file, __u32 action)
{
	if (!file)
		return 0;
	struct enforce_policy *p = armed();
	if (!p || is_own_exe(file))
		return 0;
	return verdict(check_exec_file(p, file, action));
}

/* Whether the current syscall opens a file (open, creat, openat, openat2; native or ia32):
 * open(O_TRUNC) passes path_truncate after file_open judged it. */
static __always_inline bool in_open_syscall(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	long nr = BPF_CORE_READ(regs, orig_ax);
	if (task->thread_info.status & TS_COMPAT)
		return nr == 5 || nr == 8 || nr == 295 || nr == 437;
	return nr == 2 || nr == 85 || nr == 257 || nr == 437;
}

#endif
