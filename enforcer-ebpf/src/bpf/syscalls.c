/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The exit of every syscall the loaded rules can match, as one record with the return value,
 * the raw arguments, the user strings (paths) and the fd the call is about. Part of
 * palisade.bpf.c.
 *
 * Cost model (shared/notes/performance.md): this program runs on EVERY syscall exit, so the
 * first thing it does is one array lookup by syscall number; unwanted syscalls return there.
 * Wanted opens then pass the open prefilter (rule-derived path/comm interest, see
 * palisade-rules' prefilter module) before anything else is read. Records are written
 * without waking the reader; the daemon drains on a short timer (batched wakeups).
 */

#define AT_FDCWD -100
#define O_ACCMODE 3
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
/* Key spaces of PATH_INTEREST: FNV-1a 64 from distinct seeds. A collision only lets an
 * event through, which user space then evaluates exactly. */
#define SEED_PREFIX FNV_OFFSET          /* prefix P: fnv(P); exact path X: fnv(X ++ "\0") */
#define SEED_BASENAME (FNV_OFFSET ^ 1)  /* last component B: fnv(B) */
#define SEED_COMM (FNV_OFFSET ^ 2)      /* comm C: fnv(C) */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, struct syscall_conf);
} SYSCALL_CONF SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_filter);
} OPEN_FILTER SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u8);
} PATH_INTEREST SEC(".maps");

/* The record being built (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syscall_event);
} SYSCALL_SCRATCH SEC(".maps");

static __always_inline __u64 fnv_step(__u64 h, __u8 c)
{
	return (h ^ c) * FNV_PRIME;
}

static __always_inline int interest_has(__u64 key, __u8 want)
{
	__u8 *v = bpf_map_lookup_elem(&PATH_INTEREST, &key);
	return v && (*v & want);
}

#define OPEN_DROP 0
#define OPEN_PASS 1
#define OPEN_IF_DOTDOT 2 /* passes only if the raw path contains "../" */

/* Whether an open of `path` (resolved, `len` bytes) by `comm` can matter to some rule. */
static __noinline int open_interesting(const __u8 *path, __u32 len, const __u8 *comm, __u32 read, __u32 write)
{
	__u32 zero = 0;
	struct open_filter *f = bpf_map_lookup_elem(&OPEN_FILTER, &zero);
	if (!f || !f->active)
		return OPEN_PASS;
	if ((read && f->read_all) || (write && f->write_all))
		return OPEN_PASS;
	__u8 want = (read ? PALISADE_INTEREST_READ : 0) | (write ? PALISADE_INTEREST_WRITE : 0);
	int fallback = (f->raw_dotdot & want) ? OPEN_IF_DOTDOT : OPEN_DROP;

	__u64 h = SEED_COMM;
	for (int i = 0; i < PALISADE_COMM_LEN; i++) {
		if (!comm[i])
			break;
		h = fnv_step(h, comm[i]);
	}
	if (interest_has(h, want))
		return OPEN_PASS;

	__u64 hp = SEED_PREFIX, hb = SEED_BASENAME;
	for (__u32 i = 0; i < PALISADE_PATH_MAX - 1; i++) {
		if (i >= len)
			break;
		__u8 c = path[i];
		hp = fnv_step(hp, c);
		hb = c == '/' ? SEED_BASENAME : fnv_step(hb, c);
		__u32 l = i + 1;
		if ((f->prefix_lens[(l >> 6) & 3] >> (l & 63)) & 1) {
			if (interest_has(hp, want))
				return OPEN_PASS;
		}
	}
	if (interest_has(fnv_step(hp, 0), want) || interest_has(hb, want))
		return OPEN_PASS;
	return fallback;
}

/* Whether the string contains "../". */
static __noinline int has_dotdot(const __u8 *s, __u32 len)
{
	for (__u32 i = 0; i + 2 < PALISADE_PATH_MAX; i++) {
		if (i + 2 >= len)
			break;
		if (s[i] == '.' && s[i + 1] == '.' && s[i + 2] == '/')
			return 1;
	}
	return 0;
}

/* Register argument `i` (0-based) of the syscall, x86-64 calling convention. */
static __always_inline void read_args(struct pt_regs *regs, __u64 *args)
{
	args[0] = BPF_CORE_READ(regs, di);
	args[1] = BPF_CORE_READ(regs, si);
	args[2] = BPF_CORE_READ(regs, dx);
	args[3] = BPF_CORE_READ(regs, r10);
	args[4] = BPF_CORE_READ(regs, r8);
	args[5] = BPF_CORE_READ(regs, r9);
}

/* Copy user string `slot` and, when it is relative, the directory it is relative to. */
static __always_inline void capture_string(struct syscall_event *e, struct syscall_conf *conf, int slot,
					   struct task_struct *task, const struct path *root)
{
	__u8 arg = conf->str_arg[slot];
	if (!arg || arg > 6)
		return;
	const char *user = (const char *)e->args[(arg - 1) & 7];
	long n = bpf_probe_read_user_str(e->str[slot], PALISADE_PATH_MAX, user);
	e->str_len[slot] = n > 0 ? (__u32)(n - 1) : 0;
	if (n <= 1 || e->str[slot][0] == '/')
		return;
	__u8 dirfd_arg = conf->str_dirfd[slot];
	__s32 dirfd = dirfd_arg && dirfd_arg <= 6 ? (__s32)e->args[(dirfd_arg - 1) & 7] : AT_FDCWD;
	if (dirfd == AT_FDCWD) {
		e->base_len[slot] = cwd_path(task, root, e->base[slot]);
	} else {
		struct file *f = fd_file(task, dirfd);
		if (f)
			e->base_len[slot] = file_path(f, root, e->base[slot]);
	}
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u32 nr = (__u32)BPF_CORE_READ(regs, orig_ax);
	struct syscall_conf *conf = bpf_map_lookup_elem(&SYSCALL_CONF, &nr);
	if (!conf || !conf->enabled)
		return 0;

	__u32 zero = 0;
	struct syscall_event *e = bpf_map_lookup_elem(&SYSCALL_SCRATCH, &zero);
	if (!e)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct path root = task_root(task);

	e->ret = ret;
	e->nr = nr;
	e->extra[0] = e->extra[1] = e->extra[2] = 0;
	e->path_len = 0;
	e->str_len[0] = e->str_len[1] = 0;
	e->base_len[0] = e->base_len[1] = 0;
	e->addr_len = 0;
	e->_pad = 0;
	__builtin_memset(&e->fd, 0, sizeof(e->fd));
	e->fd.num = -1;
	e->path[0] = 0;
	read_args(regs, e->args);

	__u8 fd_src = conf->fd;
	__u8 open_kind = conf->open_kind;
	int captured = 0; /* str[0] read already */
	if (open_kind) {
		__u64 flags = 0;
		if (open_kind == PALISADE_OPEN_FLAGS_ARG1)
			flags = e->args[1];
		else if (open_kind == PALISADE_OPEN_FLAGS_ARG2)
			flags = e->args[2];
		else if (open_kind == PALISADE_OPEN_HOW_ARG2)
			bpf_probe_read_user(e->extra, sizeof(e->extra), (void *)e->args[2]);
		if (open_kind == PALISADE_OPEN_HOW_ARG2)
			flags = e->extra[0];
		__u32 acc = flags & O_ACCMODE;
		__u32 read = open_kind != PALISADE_OPEN_CREAT && acc != 1;
		__u32 write = open_kind == PALISADE_OPEN_CREAT || acc != 0;
		__u8 comm[PALISADE_COMM_LEN];
		bpf_get_current_comm(comm, sizeof(comm));
		int verdict;
		if (ret >= 0) {
			e->path_len = describe_fd(task, (__s32)ret, &root, &e->fd, e->path);
			fd_src = 0; /* described */
			verdict = open_interesting(e->path, e->path_len, comm, read, write);
		} else {
			/* Failed: judge by the path as passed when it is absolute. */
			capture_string(e, conf, 0, task, &root);
			captured = 1;
			verdict = e->base_len[0] == 0 && e->str_len[0] > 0
					  ? open_interesting(e->str[0], e->str_len[0], comm, read, write)
					  : OPEN_PASS;
		}
		if (verdict == OPEN_DROP)
			return 0;
		if (verdict == OPEN_IF_DOTDOT) {
			if (!captured) {
				capture_string(e, conf, 0, task, &root);
				captured = 1;
			}
			if (!has_dotdot(e->str[0], e->str_len[0]))
				return 0;
		}
	}

	fill_header(&e->hdr, PALISADE_KIND_SYSCALL, task);
	if (!captured)
		capture_string(e, conf, 0, task, &root);
	capture_string(e, conf, 1, task, &root);
	if (fd_src) {
		__s64 fd = fd_src == PALISADE_FD_FROM_RET ? ret : (__s64)e->args[(fd_src - 1) & 7];
		if (fd >= 0 && fd <= 0x7fffffff)
			e->path_len = describe_fd(task, (__s32)fd, &root, &e->fd, e->path);
	}
	__u8 addr_arg = conf->addr_arg;
	if (addr_arg && addr_arg <= 6) {
		const void *addr = (const void *)e->args[(addr_arg - 1) & 7];
		if (addr && bpf_probe_read_user(e->addr, sizeof(e->addr), addr) == 0)
			e->addr_len = sizeof(e->addr);
	}

	if (bpf_ringbuf_output(&EVENTS, e, sizeof(*e), BPF_RB_NO_WAKEUP))
		count_drop();
	return 0;
}
