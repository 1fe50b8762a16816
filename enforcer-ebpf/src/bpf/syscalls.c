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
#define NR_MMAP 9 /* x86-64 */
#define PROT_EXEC 0x4
#define O_ACCMODE 3
#define O_CREAT_FLAG 0100
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
/* Key spaces of INTEREST_BITS: FNV-1a 64 from distinct seeds. */
#define SEED_PREFIX FNV_OFFSET          /* prefix P: fnv(P); exact path X: fnv(X ++ "\0") */
#define SEED_BASENAME (FNV_OFFSET ^ 1)  /* last component B: fnv(B) */
#define SEED_COMM (FNV_OFFSET ^ 2)      /* comm C: fnv(C) */
/* INTEREST_BITS: a bitmap per direction (reads, then writes), bit = hash mod 65536. A set
 * bit may be another key's (a false positive lets an event through to user space, which
 * evaluates the rules exactly); a clear bit proves no key has that hash. Array lookups are
 * inlined by the verifier: a few ns, where a hash map lookup costs tens. */
#define INTEREST_WORDS PALISADE_INTEREST_WORDS

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
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * INTEREST_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} INTEREST_BITS SEC(".maps");

/* The record being built (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct syscall_event);
} SYSCALL_SCRATCH SEC(".maps");

static __always_inline __u64 fnv_step(__u64 h, __u64 c)
{
	return (h ^ c) * FNV_PRIME;
}

static __always_inline int bit_set(__u64 h, __u32 base)
{
	__u32 idx = base + ((h >> 6) & (INTEREST_WORDS - 1));
	__u64 *w = bpf_map_lookup_elem(&INTEREST_BITS, &idx);
	return w && ((*w >> (h & 63)) & 1);
}

static __always_inline int interest_has(__u64 h, __u8 want)
{
	return ((want & PALISADE_INTEREST_READ) && bit_set(h, 0)) ||
	       ((want & PALISADE_INTEREST_WRITE) && bit_set(h, INTEREST_WORDS));
}

/* The prefilter's per-CPU scratch: the lexical path of a relative open (base + "/" + path),
 * and the prefix hash after each byte of the path checked. */
struct walk_scratch {
	__u8 buf[2 * PALISADE_PATH_MAX];
	__u64 hp[PALISADE_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_scratch);
} WALK_SCRATCH SEC(".maps");

/* 1 when x == 0, else 0, for x < 2^63; arithmetic, not a branch (see open_interesting). */
static __always_inline __u64 is_zero(__u64 x)
{
	return (x - 1) >> 63;
}

/* Whether the bytes before a '/' (or the end), as a window of the last three (the newest in
 * the low byte), end an empty, "." or ".." component: "//", "/./", "/../". 1 or 0. */
static __always_inline __u64 odd_component(__u64 win)
{
	return is_zero((win & 0xff) ^ '/') | is_zero((win & 0xffff) ^ ('/' << 8 | '.')) |
	       is_zero((win & 0xffffff) ^ ('/' << 16 | '.' << 8 | '.'));
}

/*
 * Whether an open can matter to some rule. The path checked is the lexical join of the path
 * as passed (str[0]) with the directory it is relative to (base[0]): what fd.name is. Paths
 * not in normal form ("..", ".", "//", a trailing "/") pass, as the normalised path could
 * differ (and "../" is what traversal rules look for).
 *
 * Cost: this runs for every open of a watched task, so the walk over the path's bytes is one
 * straight-line loop body without calls or branches (the hashes and the odd-component flag are
 * computed arithmetically): the verifier explores one path per byte, and the JIT'ed loop costs
 * a few ns per byte. The key lookups come after the walk: the whole path, its last component,
 * and each prefix length some key has (from the hashes kept per byte).
 */
static __noinline int open_interesting(const struct syscall_event *e, const __u8 *comm, __u32 want)
{
	__u32 zero = 0;
	struct open_filter *f = bpf_map_lookup_elem(&OPEN_FILTER, &zero);
	if (!f || !f->active)
		return 1;
	if (((want & PALISADE_INTEREST_READ) && f->read_all) || ((want & PALISADE_INTEREST_WRITE) && f->write_all))
		return 1;
	__u32 str_len = e->str_len[0], base_len = e->base_len[0];
	if (str_len == 0)
		return 1; /* unreadable: let user space decide */

	__u64 h = SEED_COMM;
	for (int i = 0; i < PALISADE_COMM_LEN; i++) {
		if (!comm[i])
			break;
		h = fnv_step(h, comm[i]);
	}
	if (interest_has(h, want))
		return 1;

	struct walk_scratch *s = bpf_map_lookup_elem(&WALK_SCRATCH, &zero);
	if (!s)
		return 1;
	const __u8 *path = e->str[0];
	__u32 len = str_len;
	if (e->str[0][0] != '/') {
		if (base_len == 0)
			return 1; /* relative to an unknown directory */
		base_len &= PATH_MASK;
		bpf_probe_read_kernel(s->buf, base_len, e->base[0]);
		__u32 off = base_len;
		if (base_len > 1)
			s->buf[off++ & PATH_MASK] = '/';
		KEEP_MASK(off);
		off &= PATH_MASK;
		bpf_probe_read_kernel(&s->buf[off], str_len & PATH_MASK, e->str[0]);
		len = off + str_len;
		if (len >= PALISADE_PATH_MAX)
			return 1; /* longer than the kernel checks */
		path = s->buf;
	}

	__u64 hp = SEED_PREFIX, hb = SEED_BASENAME, win = 0, odd = 0;
	for (__u32 i = 0; i < PALISADE_PATH_MAX - 1; i++) {
		if (i >= len)
			break;
		__u64 c = path[i];
		__u64 slash = is_zero(c ^ '/');
		odd |= slash & odd_component(win); /* "//", "/./" or "/../" */
		hp = fnv_step(hp, c);
		__u64 reset = 0 - slash; /* all ones at a '/': the last component starts again */
		hb = (SEED_BASENAME & reset) | (fnv_step(hb, c) & ~reset);
		win = win << 8 | c;
		s->hp[i] = hp;
	}
	if (odd || (len > 1 && odd_component(win)))
		return 1; /* not in normal form; or a trailing "/", "/." or "/.." */
	if (interest_has(fnv_step(hp, 0), want) || interest_has(hb, want))
		return 1;
	for (int k = 0; k < PALISADE_PREFIX_LENS; k++) {
		__u32 l = f->prefix_lens[k];
		if (l == 0 || l > len)
			break; /* ascending: no longer prefix fits */
		if (interest_has(s->hp[(l - 1) & PATH_MASK], want))
			return 1;
	}
	return 0;
}

/* Register argument `i` (0-based) of the syscall, x86-64 calling convention. */
static __always_inline void read_args(struct pt_regs *regs, __u64 *args)
{
	args[0] = regs->di;
	args[1] = regs->si;
	args[2] = regs->dx;
	args[3] = regs->r10;
	args[4] = regs->r8;
	args[5] = regs->r9;
}

/* Copy user string `slot` and, when it is relative, the directory it is relative to. */
static __always_inline void capture_string(struct syscall_event *e, struct syscall_conf *conf, int slot,
					   struct task_struct *task)
{
	__u8 arg = conf->str_arg[slot];
	if (!arg || arg > 6)
		return;
	const char *user = (const char *)e->args[(arg - 1) & 7];
	long n = bpf_probe_read_user_str(e->str[slot], PALISADE_PATH_MAX, user);
	e->str_len[slot] = n > 0 ? (__u32)(n - 1) : 0;
	if (n <= 1 || e->str[slot][0] == '/')
		return;
	struct path root = task_root(task);
	__u8 dirfd_arg = conf->str_dirfd[slot];
	__s32 dirfd = dirfd_arg && dirfd_arg <= 6 ? (__s32)e->args[(dirfd_arg - 1) & 7] : AT_FDCWD;
	if (dirfd == AT_FDCWD) {
		e->base_len[slot] = cwd_path(task, &root, e->base[slot]);
	} else {
		struct file *f = fd_file(task, dirfd);
		if (f)
			e->base_len[slot] = file_path(f, &root, e->base[slot]);
	}
}

/* x32 syscalls carry this bit in their number; the rest of it is the x86-64 number of the
 * call (those below 512). Masked off: an x32 task's calls are captured like native ones. */
#define X32_SYSCALL_BIT 0x40000000

/*
 * Attached to the raw sys_exit tracepoint, which every syscall exit passes through once any
 * program is attached to it. Measured on 6.18 (BENCHMARKS.md, "Daemon overhead"), this costs
 * less per syscall than the per-syscall `syscalls:sys_exit_*` tracepoints would for the
 * syscalls the rules want, and unlike those (which skip compat syscalls on x86) it sees
 * ia32 syscalls, which it translates (compat.h).
 *
 * Order of work, cheapest rejection first: one array lookup by the number passed (most
 * syscalls return here); the scope (cgroup); the compat bit; for opens, the prefilter on the
 * path and process name; the cgroup's budget (budget.h); only then the
 * fd's path, the other strings, the header.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u32 nr = (__u32)regs->orig_ax & ~X32_SYSCALL_BIT; /* a BTF pointer: direct loads */
	struct syscall_conf *conf = bpf_map_lookup_elem(&SYSCALL_CONF, &nr);
	if (!conf || !(conf->enabled | conf->compat_nr))
		return 0;
	if (!in_scope(true))
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 compat = in_ia32_syscall(task);
	if (compat ? !conf->compat_nr : !conf->enabled)
		return 0;

	__u32 zero = 0;
	struct syscall_event *e = bpf_map_lookup_elem(&SYSCALL_SCRATCH, &zero);
	if (!e)
		return 0;
	if (compat) {
		read_args_ia32(regs, e->args);
		nr = conf->compat_nr;
		if (nr == PALISADE_COMPAT_SOCKETCALL)
			nr = unpack_socketcall(e->args);
		conf = bpf_map_lookup_elem(&SYSCALL_CONF, &nr);
		if (!conf || !conf->enabled)
			return 0;
	} else {
		read_args(regs, e->args);
	}
	/* mmap is captured for W^X only (the profile judge; rules never see it): an executable
	 * mapping of a file. Every other mapping (anonymous, data, the loader's read-only pass)
	 * returns here, before any string or fd work: mmap is among the most frequent calls. */
	if (nr == NR_MMAP && (!(e->args[2] & PROT_EXEC) || (__s32)e->args[4] < 0))
		return 0;
	e->str_len[0] = e->str_len[1] = 0;
	e->base_len[0] = e->base_len[1] = 0;
	e->extra[0] = e->extra[1] = e->extra[2] = 0;

	/* Opens first, with as little work as possible before the prefilter drops them. */
	__u8 fd_src = conf->fd;
	__u8 open_kind = conf->open_kind;
	if (open_kind) {
		__u64 flags = 0;
		if (open_kind == PALISADE_OPEN_FLAGS_ARG1)
			flags = e->args[1];
		else if (open_kind == PALISADE_OPEN_FLAGS_ARG2)
			flags = e->args[2];
		else if (open_kind == PALISADE_OPEN_HOW_ARG2) {
			bpf_probe_read_user(e->extra, sizeof(e->extra), (void *)e->args[2]);
			flags = e->extra[0];
		}
		__u32 acc = flags & O_ACCMODE;
		__u32 read = open_kind != PALISADE_OPEN_CREAT && acc != 1;
		/* O_CREAT may create a file even opened read-only: a write as far as the filter
		 * goes (a refused create on a read-only root must reach the profile judge). */
		__u32 write = open_kind == PALISADE_OPEN_CREAT || acc != 0 || (flags & O_CREAT_FLAG);
		__u32 want = (read ? PALISADE_INTEREST_READ : 0) | (write ? PALISADE_INTEREST_WRITE : 0);
		__u8 comm[PALISADE_COMM_LEN];
		__builtin_memcpy(comm, task->comm, sizeof(comm)); /* direct loads: cheaper than the helper */
		capture_string(e, conf, 0, task);
		if (!open_interesting(e, comm, want))
			return 0;
	} else {
		capture_string(e, conf, 0, task);
	}

	/* The cgroup's budget for this class of call, only now that the filters above kept the
	 * record: uninteresting calls pay nothing for it (budget.h). */
	if (conf->budget && !budget_allow(conf->budget))
		return 0;

	struct path root = task_root(task);
	e->ret = ret;
	e->nr = nr;
	e->compat = compat;
	e->path_len = 0;
	e->addr_len = 0;
	__builtin_memset(&e->fd, 0, sizeof(e->fd));
	e->fd.num = -1;
	e->path[0] = 0;
	fill_header(&e->hdr, PALISADE_KIND_SYSCALL, task);
	capture_string(e, conf, 1, task);
	if (fd_src) {
		__s64 fd = fd_src == PALISADE_FD_FROM_RET ? ret : (__s64)(__s32)e->args[(fd_src - 1) & 7];
		if (fd >= 0 && fd <= 0x7fffffff)
			e->path_len = describe_fd(task, (__s32)fd, &root, &e->fd, e->path);
	}
	if (conf->cwd && ret == 0)
		e->path_len = cwd_path(task, &root, e->path); /* chdir, fchdir: the new directory */
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
