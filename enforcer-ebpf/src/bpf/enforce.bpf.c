/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Palisade's BPF-LSM enforcement: per-container denials of shells, package managers,
 * explicitly denied files, executables that are not from the image, and writes to the
 * container's image (immutability). Loaded, pinned and armed by the crate palisade-lsm.
 *
 * Scope: every program first looks up bpf_get_current_cgroup_id() in ENFORCED; a cgroup
 * that is not there (the host, other containers) returns at once. A previous LSM program's
 * non-zero verdict is passed through unchanged.
 *
 * Exec identity. Files are named by (superblock s_dev, i_ino) of the file being executed,
 * so a renamed or hard-linked shell is still the shell. In a container whose rootfs is an
 * overlay mount, bprm->file is the overlay's file: s_dev is the overlay superblock's and
 * i_ino is overlayfs' inode number, which for a file of the image (lower layer, layers on one
 * filesystem as containerd's snapshotters keep them) is what stat(2) on the merged rootfs
 * returns (st_dev/st_ino), from the host as from inside. The daemon therefore stats the
 * merged rootfs it sees at the bundle's root path, when it arms the container (before any
 * copy-up). The real lower inode is not used: it needs overlayfs' private structures (a
 * module, no BTF, layout changed across versions) and stat(2) on the merged tree cannot
 * reproduce it.
 * Limit, measured in the guest test: a copied-up file whose lower inode had several links
 * (a hard-linked busybox, say) gets the upper inode's number once its overlay inode is
 * looked up again (overlayfs keeps st_ino constant across copy-up only for nlink == 1 or
 * index=on). Copy-up of a denied file is therefore refused where it can be: hard links to it
 * (path_link below) always, writes/chmod/chown/truncate/rename of it under ENFORCE_IMMUTABLE;
 * and ENFORCE_EXEC_ONLY_IMAGE denies any copied-up file anyway (upper layer).
 *
 * New executables. A copy of a shell is a new inode, so identities cannot catch it; with
 * ENFORCE_EXEC_ONLY_IMAGE only files on the rootfs superblock that are not in the overlay's
 * upper (writable) layer may run: a copy in /tmp (another superblock) or in the rootfs
 * (upper layer) is "not from the image".
 *
 * Immutability is decided by the TARGET's superblock: writes to the rootfs superblock are
 * denied unless the path lies beneath one of the policy's ALLOW_WRITE prefixes; writes to
 * any other superblock (volumes, tmpfs, /proc, /dev, /sys) are the container's declared
 * mounts and pass. Paths: file_open uses bpf_d_path(); the path_* hooks cannot (6.1 allows
 * bpf_d_path only in its "sleepable" LSM hooks, which do not include the path_* hooks), so
 * they walk dentries up to the task's root (walk_path below). Both give the path as the task
 * sees it. A path that cannot be resolved completely never matches a prefix: the write is
 * denied (fail closed).
 *
 * Mounts. With ENFORCE_DENY_MOUNT any mount(2) (sb_mount) or attachment of a mount built with
 * the new mount API (move_mount; fsmount and open_tree only make detached mounts) is denied,
 * whatever its target. The runtime mounts inside the container's cgroup after the daemon armed
 * it from the createRuntime hook (runc: masked and read-only paths after pivot_root), so a
 * policy can name the container's init in mount_gate: mounts pass until that process execs
 * its entrypoint (runc's last step), which bprm_check_security records by clearing the gate.
 *
 * W^X (ENFORCE_DENY_WRITABLE_EXEC, enforce_wx.h). Nothing the container can write may run: the
 * exec (bprm_check_security) and every PROT_EXEC mapping (mmap_file; file_mprotect adding
 * PROT_EXEC to a file mapping) of a file in a writable place are decided, unless the file's
 * path lies beneath an ALLOW_WRITABLE_EXEC prefix. Mappings matter because the dynamic loader
 * runs a program without execve ("ld.so /tmp/x" maps /tmp/x itself); for the same reason
 * DENY_EXEC identities are checked on PROT_EXEC mappings too ("ld.so /bin/bash").
 *
 * Complete immutability (enforce_inode.h): times (inode_setattr, times only) and extended
 * attributes (inode_setxattr, inode_removexattr) of rootfs files, besides the path hooks.
 *
 * Exactly one decision per operation. A syscall can pass several hooks; each operation is
 * decided where it is first seen and the later hooks stay silent: a rename or link is judged
 * once (source end first); open(O_CREAT) of a new file is the path_mknod "create" decision,
 * not also file_open's (FMODE_CREATED); open(O_TRUNC) is file_open's write, not also
 * path_truncate's; chmod/chown/truncate are path_chmod/path_chown/path_truncate, and
 * inode_setattr judges only changes of times alone; the kernel mapping an executable it is
 * exec'ing (the file is already the task's exe) was judged by bprm_check_security.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "enforce.h"
#include "dentry_walk.h"

_Static_assert(ENFORCE_PATH_MAX == WALK_PATH_MAX, "the walk writes whole decision paths");

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1
#define FMODE_WRITE 0x2
#define FMODE_CREATED 0x100000
#define O_TRUNC 01000
#define S_IFMT 0170000
#define S_IFREG 0100000
#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* Armed containers: cgroup v2 id -> policy. Written by palisade-lsm (arm/disarm, the entry
 * last so a policy is complete when it becomes visible); read by every program first. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct enforce_policy);
} ENFORCED SEC(".maps");

/* Denied executables per policy: {policy id, dev, ino} -> kind. Written by palisade-lsm from
 * stat(2) of the container's rootfs; read by bprm_check_security. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct exec_key);
	__type(value, __u32);
} DENY_EXEC SEC(".maps");

/* Writable prefixes of the rootfs per policy (LPM trie, see struct allow_key). Written by
 * palisade-lsm; read by the write hooks. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct allow_key);
	__type(value, __u32);
} ALLOW_WRITE SEC(".maps");

/* Exceptions to W^X per policy (LPM trie, same keys as ALLOW_WRITE). Written by palisade-lsm
 * from ContainerPolicy.allow_writable_exec; read by the exec and mapping hooks, and only for
 * files in a writable place (the path walk is paid only then). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct allow_key);
	__type(value, __u32);
} ALLOW_WRITABLE_EXEC SEC(".maps");

/* Decision records for user space. Written by every program; read by Enforcer::decisions. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} DECISIONS SEC(".maps");

/* Decisions lost because DECISIONS was full, per CPU. Read by Enforcer::drops. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} DECISION_DROPS SEC(".maps");

/* Per-CPU scratch: the record being built, the LPM key and the dentry walk's buffers. */
struct enforce_scratch {
	struct enforce_decision rec;
	struct allow_key key;
	/* walk.rooted, set by walk_path: 1 when the walk ended at the task's root (not at the root
	 * of a mount outside the task's tree, such as memfd's or a detached mount's). */
	struct dentry_walk walk;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct enforce_scratch);
} ENFORCE_SCRATCH SEC(".maps");

static __always_inline struct enforce_scratch *scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&ENFORCE_SCRATCH, &zero);
}

static __always_inline struct enforce_policy *armed(void)
{
	__u64 cgroup = bpf_get_current_cgroup_id();
	return bpf_map_lookup_elem(&ENFORCED, &cgroup);
}

/* Whether `inode` is an overlayfs inode with an upper dentry (created or copied up after the
 * container started). `struct ovl_inode` is private to overlayfs (a module: not in vmlinux
 * BTF), but embeds the VFS inode directly followed by `__upperdentry` (stable since 4.13). */
static __always_inline bool in_upper_layer(struct inode *inode)
{
	if (!inode || BPF_CORE_READ(inode, i_sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
		return false;
	void *upper = NULL;
	bpf_probe_read_kernel(&upper, sizeof(upper), (void *)inode + bpf_core_type_size(struct inode));
	return upper != NULL;
}

/* Paths: the dentry walk, bpf_d_path, the prefix tries. */
#include "enforce_path.h"

/* Fills the record's common fields, pushes it and returns the verdict. s->rec.path and
 * path_len, flags and the target fields are set by the caller. */
static __always_inline int decide(const struct enforce_policy *p, struct enforce_scratch *s, __u32 action,
				  __u32 reason)
{
	struct enforce_decision *r = &s->rec;
	bool enforce = p->mode == ENFORCE_MODE_ENFORCE;
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	r->abi = ENFORCE_ABI_VERSION;
	r->action = action;
	r->reason = reason;
	r->enforced = enforce;
	r->err = enforce ? EPERM : 0;
	r->pid = pid_tgid >> 32;
	r->tid = (__u32)pid_tgid;
	r->policy_id = p->policy_id;
	r->ts_ns = bpf_ktime_get_boot_ns();
	r->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(&r->comm, sizeof(r->comm));
	if (action != ENFORCE_ACT_EXEC) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct inode *exe = BPF_CORE_READ(task, mm, exe_file, f_inode);
		r->exe_ino = exe ? BPF_CORE_READ(exe, i_ino) : 0;
		r->exe_dev = exe ? BPF_CORE_READ(exe, i_sb, s_dev) : 0;
	}
	if (bpf_ringbuf_output(&DECISIONS, r, sizeof(*r), 0)) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&DECISION_DROPS, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	return enforce ? -EPERM : 0;
}

/* Records the target and its path length (or the unknown-path flag) in s->rec. */
static __always_inline void set_target(struct enforce_scratch *s, __u32 dev, struct inode *inode, int len)
{
	s->rec.target_dev = dev;
	s->rec.target_ino = inode ? BPF_CORE_READ(inode, i_ino) : 0;
	s->rec.path_len = len > 0 ? len : 0;
	s->rec.flags = len > 0 ? 0 : ENFORCE_DECISION_PATH_UNKNOWN;
	if (len <= 0)
		__builtin_memset(s->rec.path, 0, sizeof(s->rec.path));
}

/* What a check returns when it decided nothing (no record): hooks that judge one operation
 * at several places (both ends of a rename) stop at the first decision; verdict() turns it
 * into the hook's 0. */
#define NO_DECISION 1

static __always_inline int verdict(int r)
{
	return r == NO_DECISION ? 0 : r;
}

/* The write check of every path hook: `dentry` under the mount `mnt` is about to be changed
 * (created, removed, renamed, ...). Returns NO_DECISION, or the verdict of a recorded
 * decision (0 in audit mode, -EPERM in enforce mode). */
static __always_inline int check_write(const struct enforce_policy *p, struct dentry *dentry, struct vfsmount *mnt,
				       __u32 action)
{
	if (!(p->flags & ENFORCE_IMMUTABLE) || !dentry)
		return NO_DECISION;
	__u32 dev = BPF_CORE_READ(dentry, d_sb, s_dev);
	if (dev != p->rootfs_dev)
		return NO_DECISION;
	struct enforce_scratch *s = scratch();
	if (!s)
		return NO_DECISION;
	int len = walk_path(dentry, mnt, s);
	if (write_allowed(p, s, len))
		return NO_DECISION;
	set_target(s, dev, BPF_CORE_READ(dentry, d_inode), len);
	return decide(p, s, action, ENFORCE_REASON_IMMUTABLE);
}

static __always_inline int check_dir_entry(const struct path *dir, struct dentry *dentry, __u32 action)
{
	struct enforce_policy *p = armed();
	if (!p)
		return NO_DECISION;
	return check_write(p, dentry, BPF_CORE_READ(dir, mnt), action);
}

static __always_inline int check_path(const struct path *path, __u32 action)
{
	struct enforce_policy *p = armed();
	if (!p)
		return NO_DECISION;
	return check_write(p, BPF_CORE_READ(path, dentry), BPF_CORE_READ(path, mnt), action);
}

/* The reason DENY_EXEC gives the file (dev, ino) under policy p, or 0. */
static __always_inline __u32 denied_identity(const struct enforce_policy *p, __u32 dev, __u64 ino)
{
	struct exec_key key = { .policy_id = p->policy_id, .dev = dev, .ino = ino };
	__u32 *kind = bpf_map_lookup_elem(&DENY_EXEC, &key);
	if (!kind)
		return 0;
	if (*kind == ENFORCE_REASON_SHELL && (p->flags & ENFORCE_DENY_SHELLS))
		return ENFORCE_REASON_SHELL;
	if (*kind == ENFORCE_REASON_PACKAGE_MANAGER && (p->flags & ENFORCE_DENY_PACKAGE_MANAGERS))
		return ENFORCE_REASON_PACKAGE_MANAGER;
	if (*kind == ENFORCE_REASON_EXEC_DENIED)
		return ENFORCE_REASON_EXEC_DENIED;
	return 0;
}

/* Exec and mapping checks, then the inode hooks: code of this object split for size. */
#include "enforce_wx.h"

SEC("lsm/bprm_check_security")
int BPF_PROG(bprm_check_security, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	struct enforce_policy *p = armed();
	if (!p)
		return 0;
	/* The container's init execs its entrypoint: the runtime's own mounts are over, mount
	 * denial starts now (see struct enforce_policy). Other processes' execs (hooks the runtime
	 * runs in the cgroup) leave the gate closed. */
	if (p->mount_gate && p->mount_gate == bpf_get_current_pid_tgid() >> 32)
		p->mount_gate = 0;
	return verdict(check_exec_file(p, bprm->file, ENFORCE_ACT_EXEC));
}

SEC("lsm/file_open")
int BPF_PROG(file_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	struct enforce_policy *p = armed();
	/* O_TRUNC truncates even a read-only open (Linux does, given write permission), and its
	 * path_truncate is skipped as part of the open: judged here, as a truncate. (do_dentry_open
	 * clears O_TRUNC from f_flags only after this hook.) */
	bool writes = file->f_mode & FMODE_WRITE;
	bool truncates = (file->f_flags & O_TRUNC) && (file->f_inode->i_mode & S_IFMT) == S_IFREG;
	if (!p || !(p->flags & ENFORCE_IMMUTABLE) || !(writes || truncates))
		return 0;
	/* A file this open created: path_mknod decided its creation already. */
	if (file->f_mode & FMODE_CREATED)
		return 0;
	struct inode *inode = file->f_inode;
	__u32 dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (dev != p->rootfs_dev)
		return 0;
	struct enforce_scratch *s = scratch();
	if (!s)
		return 0;
	int len = d_path_of(&file->f_path, s);
	if (write_allowed(p, s, len))
		return 0;
	set_target(s, dev, inode, len);
	return decide(p, s, writes ? ENFORCE_ACT_OPEN_WRITE : ENFORCE_ACT_TRUNCATE, ENFORCE_REASON_IMMUTABLE);
}

/* The dynamic loader maps a program without exec'ing it ("ld.so /bin/bash", "ld.so /tmp/x"):
 * a PROT_EXEC mapping of a file is judged as its exec would be (without exec_only_image, which
 * stays an exec rule: libraries may come from read-only volumes). */
SEC("lsm/mmap_file")
int BPF_PROG(mmap_file, struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags, int ret)
{
	if (ret)
		return ret;
	if (!(prot & PROT_EXEC))
		return 0;
	return check_exec_map(file, ENFORCE_ACT_MMAP);
}

/* A file mapping made executable later: only the change adding PROT_EXEC is judged (an
 * executable mapping was judged when it was made). */
SEC("lsm/file_mprotect")
int BPF_PROG(file_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot, int ret)
{
	if (ret)
		return ret;
	if (!(prot & PROT_EXEC))
		return 0;
	struct file *file = BPF_CORE_READ(vma, vm_file);
	if (!file || (BPF_CORE_READ((struct vm_area_struct___flat *)vma, vm_flags) & VM_EXEC))
		return 0;
	return check_exec_map(file, ENFORCE_ACT_MPROTECT);
}

/* open(O_CREAT) of a new file reaches path_mknod (may_o_create) before the file exists;
 * file_open runs only after creation, too late to deny it. */
SEC("lsm/path_mknod")
int BPF_PROG(path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode, unsigned int dev, int ret)
{
	if (ret)
		return ret;
	return verdict(check_dir_entry(dir, dentry, ENFORCE_ACT_CREATE));
}

SEC("lsm/path_unlink")
int BPF_PROG(path_unlink, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	return verdict(check_dir_entry(dir, dentry, ENFORCE_ACT_UNLINK));
}

SEC("lsm/path_mkdir")
int BPF_PROG(path_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode, int ret)
{
	if (ret)
		return ret;
	return verdict(check_dir_entry(dir, dentry, ENFORCE_ACT_MKDIR));
}

SEC("lsm/path_rmdir")
int BPF_PROG(path_rmdir, const struct path *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return ret;
	return verdict(check_dir_entry(dir, dentry, ENFORCE_ACT_RMDIR));
}

SEC("lsm/path_symlink")
int BPF_PROG(path_symlink, const struct path *dir, struct dentry *dentry, const char *old_name, int ret)
{
	if (ret)
		return ret;
	return verdict(check_dir_entry(dir, dentry, ENFORCE_ACT_SYMLINK));
}

/* A hard link to a denied executable is refused whatever the target directory: on overlayfs
 * it copies the file up, and a copied-up file whose lower inode had several links gets the
 * upper inode's number once its overlay inode is looked up again -- the identity would be
 * lost. (Other copy-up triggers -- write, chmod, chown, truncate, rename -- are immutable
 * writes to the image.) */
SEC("lsm/path_link")
int BPF_PROG(path_link, struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry, int ret)
{
	if (ret)
		return ret;
	struct enforce_policy *p = armed();
	if (!p)
		return 0;
	struct inode *inode = BPF_CORE_READ(old_dentry, d_inode);
	__u32 dev = BPF_CORE_READ(old_dentry, d_sb, s_dev);
	__u64 ino = inode ? BPF_CORE_READ(inode, i_ino) : 0;
	__u32 reason = denied_identity(p, dev, ino);
	if (reason) {
		struct enforce_scratch *s = scratch();
		if (!s)
			return 0;
		int len = walk_path(old_dentry, BPF_CORE_READ(new_dir, mnt), s);
		set_target(s, dev, inode, len);
		return decide(p, s, ENFORCE_ACT_LINK, reason); /* one decision: the new name is not judged */
	}
	return verdict(check_write(p, new_dentry, BPF_CORE_READ(new_dir, mnt), ENFORCE_ACT_LINK));
}

/* Both ends count: moving a file out of the image changes the image as much as moving one in.
 * One decision per rename: the source end's if it decides, else the destination's. */
SEC("lsm/path_rename")
int BPF_PROG(path_rename, const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, unsigned int flags, int ret)
{
	if (ret)
		return ret;
	int r = check_dir_entry(old_dir, old_dentry, ENFORCE_ACT_RENAME);
	if (r != NO_DECISION)
		return r;
	return verdict(check_dir_entry(new_dir, new_dentry, ENFORCE_ACT_RENAME));
}

SEC("lsm/path_truncate")
int BPF_PROG(path_truncate, const struct path *path, int ret)
{
	if (ret)
		return ret;
	/* open(O_TRUNC) reaches this hook after file_open judged the open for writing. */
	if (in_open_syscall())
		return 0;
	return verdict(check_path(path, ENFORCE_ACT_TRUNCATE));
}

SEC("lsm/path_chmod")
int BPF_PROG(path_chmod, const struct path *path, umode_t mode, int ret)
{
	if (ret)
		return ret;
	return verdict(check_path(path, ENFORCE_ACT_CHMOD));
}

SEC("lsm/path_chown")
int BPF_PROG(path_chown, const struct path *path, __u64 uid, __u64 gid, int ret)
{
	if (ret)
		return ret;
	return verdict(check_path(path, ENFORCE_ACT_CHOWN));
}

#include "enforce_inode.h"

/* Any mount from an armed container with ENFORCE_DENY_MOUNT, whatever its target, once its
 * init has exec'd the entrypoint (mount_gate 0): a mount can hide or replace the image's files
 * without writing to them. `path` is where it would be attached. */
static __always_inline int check_mount(const struct path *path)
{
	struct enforce_policy *p = armed();
	if (!p || !(p->flags & ENFORCE_DENY_MOUNT) || p->mount_gate)
		return 0;
	struct enforce_scratch *s = scratch();
	if (!s)
		return 0;
	struct dentry *dentry = BPF_CORE_READ(path, dentry);
	int len = walk_path(dentry, BPF_CORE_READ(path, mnt), s);
	set_target(s, BPF_CORE_READ(dentry, d_sb, s_dev), BPF_CORE_READ(dentry, d_inode), len);
	return decide(p, s, ENFORCE_ACT_MOUNT, ENFORCE_REASON_IMMUTABLE);
}

/* mount(2): new mounts, bind mounts, remounts, MS_MOVE. */
SEC("lsm/sb_mount")
int BPF_PROG(sb_mount, const char *dev_name, const struct path *path, const char *type, unsigned long flags,
	     void *data, int ret)
{
	if (ret)
		return ret;
	return check_mount(path);
}

/* The new mount API (fsopen/fsmount, open_tree; mount(8) of util-linux >= 2.39 uses it) never
 * reaches sb_mount: what it builds is attached by move_mount(2). */
SEC("lsm/move_mount")
int BPF_PROG(move_mount, const struct path *from_path, const struct path *to_path, int ret)
{
	if (ret)
		return ret;
	return check_mount(to_path);
}

/* The smallest LSM program: loaded (not attached) by palisade-lsm's probe() to learn whether
 * this kernel accepts BPF-LSM programs at all. */
SEC("lsm/bpf")
int BPF_PROG(probe_lsm, int cmd, union bpf_attr *attr, unsigned int size, int ret)
{
	return ret;
}
