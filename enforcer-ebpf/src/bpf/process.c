/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Process lifecycle: exec, fork, exit, from BTF tracepoints (tp_btf: cheaper than classic
 * tracepoints, typed arguments). Each writes one record to EVENTS. Part of palisade.bpf.c. */

#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* The overlayfs layer of `inode`: PALISADE_EXE_UPPER_LAYER when it has an upper dentry (the
 * file exists in the writable layer: created, or copied up when modified),
 * PALISADE_EXE_LOWER_LAYER when it is an overlayfs inode without one (only in an image
 * layer: Falco's EXE_LOWER_LAYER), 0 off overlayfs. overlayfs keeps its own `struct ovl_inode`
 * private (it is not in vmlinux BTF when overlay is a module), but the VFS inode is embedded
 * in it directly followed by `__upperdentry` (stable since 4.13): read the pointer right
 * after the inode, sized by this kernel's BTF. */
static __always_inline __u32 exe_layer(struct inode *inode)
{
	if (!inode || BPF_CORE_READ(inode, i_sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
		return 0;
	void *upper = NULL;
	bpf_probe_read_kernel(&upper, sizeof(upper), (void *)inode + bpf_core_type_size(struct inode));
	return upper ? PALISADE_EXE_UPPER_LAYER : PALISADE_EXE_LOWER_LAYER;
}

/* The file-time layouts struct inode has had: separate second/nanosecond fields (6.11+),
 * `__i_ctime` (6.6-6.10), `i_ctime`/`i_mtime` timespec64 (older). CO-RE picks the one the
 * running kernel has. */
struct inode___v66 {
	struct timespec64 __i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));
struct inode___old {
	struct timespec64 i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

static __always_inline __s64 ts_ns(__s64 sec, __s64 nsec)
{
	return sec * 1000000000LL + nsec;
}

static __always_inline void exe_times(struct inode *inode, __s64 *ctime, __s64 *mtime)
{
	if (bpf_core_field_exists(inode->i_ctime_sec)) {
		*ctime = ts_ns(BPF_CORE_READ(inode, i_ctime_sec), BPF_CORE_READ(inode, i_ctime_nsec));
		*mtime = ts_ns(BPF_CORE_READ(inode, i_mtime_sec), BPF_CORE_READ(inode, i_mtime_nsec));
	} else if (bpf_core_field_exists(((struct inode___v66 *)inode)->__i_ctime)) {
		struct inode___v66 *i = (void *)inode;
		*ctime = ts_ns(BPF_CORE_READ(i, __i_ctime.tv_sec), BPF_CORE_READ(i, __i_ctime.tv_nsec));
		*mtime = ts_ns(BPF_CORE_READ(i, i_mtime.tv_sec), BPF_CORE_READ(i, i_mtime.tv_nsec));
	} else {
		struct inode___old *i = (void *)inode;
		*ctime = ts_ns(BPF_CORE_READ(i, i_ctime.tv_sec), BPF_CORE_READ(i, i_ctime.tv_nsec));
		*mtime = ts_ns(BPF_CORE_READ(i, i_mtime.tv_sec), BPF_CORE_READ(i, i_mtime.tv_nsec));
	}
}

/* A kernel_cap_t as 64 bits: `{ u64 val; }` since 6.3, `{ u32 cap[2]; }` before; both are
 * the same 8 little-endian bytes. */
static __always_inline __u64 cap_bits(const kernel_cap_t *cap)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), cap);
	return v;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	if (!in_scope(false))
		return 0;
	struct exec_event *e = bpf_ringbuf_reserve(&EVENTS, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_header(&e->hdr, PALISADE_KIND_EXEC, task);
	e->tty = tty_of(task);

	const char *filename = BPF_CORE_READ(bprm, filename);
	long n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename);
	e->filename_len = n > 0 ? (__u32)(n - 1) : 0;

	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	unsigned long len = end > start ? end - start : 0;
	e->args_truncated = len > sizeof(e->args);
	if (len > sizeof(e->args))
		len = sizeof(e->args);
	e->args_len = 0;
	if (len > 0 && bpf_probe_read_user(e->args, len, (void *)start) == 0)
		e->args_len = (__u32)len;
	/* The environment (Falco's proc.env), as the new program's stack has it. */
	start = BPF_CORE_READ(task, mm, env_start);
	end = BPF_CORE_READ(task, mm, env_end);
	len = end > start ? end - start : 0;
	if (len > sizeof(e->env))
		len = sizeof(e->env);
	e->env_len = 0;
	if (len > 0 && bpf_probe_read_user(e->env, len, (void *)start) == 0)
		e->env_len = (__u32)len;

	struct path root = task_root(task);
	e->cwd_len = cwd_path(task, &root, e->cwd);
	e->exe_flags = 0;
	const unsigned char *exe_name = BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name);
	char head[6] = {};
	bpf_probe_read_kernel(head, sizeof(head), exe_name);
	if (head[0] == 'm' && head[1] == 'e' && head[2] == 'm' && head[3] == 'f' && head[4] == 'd' && head[5] == ':')
		e->exe_flags |= PALISADE_EXE_FROM_MEMFD;
	e->vpid = task_vpid(task);
	struct inode *inode = BPF_CORE_READ(bprm, file, f_inode);
	e->exe_flags |= exe_layer(inode);
	e->exe_ino = BPF_CORE_READ(inode, i_ino);
	exe_times(inode, &e->exe_ctime_ns, &e->exe_mtime_ns);
	const struct cred *cred = BPF_CORE_READ(task, cred);
	e->cap_inheritable = cap_bits(__builtin_preserve_access_index(&cred->cap_inheritable));
	e->cap_permitted = cap_bits(__builtin_preserve_access_index(&cred->cap_permitted));
	e->cap_effective = cap_bits(__builtin_preserve_access_index(&cred->cap_effective));

	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	if (!in_scope(false))
		return 0;
	struct fork_event *e = bpf_ringbuf_reserve(&EVENTS, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_header(&e->hdr, PALISADE_KIND_FORK, parent);
	e->child_pid = BPF_CORE_READ(child, tgid);
	e->child_tid = BPF_CORE_READ(child, pid);
	e->child_vpid = task_vpid(child);
	e->_pad = 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	if (!in_scope(false))
		return 0;
	struct exit_event *e = bpf_ringbuf_reserve(&EVENTS, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_header(&e->hdr, PALISADE_KIND_EXIT, task);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->_pad = 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}
