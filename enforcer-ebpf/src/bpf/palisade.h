/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The ABI between Palisade's kernel programs and user space: every record the
 * programs write to the EVENTS ring buffer. Mirrored in Rust by src/abi.rs,
 * which asserts the same sizes; bump PALISADE_ABI_VERSION on any change.
 *
 * Rules: fixed-size integers and byte arrays only, every struct a multiple of
 * 8 bytes, no implicit padding (explicit `_pad` fields instead).
 */
#ifndef PALISADE_H
#define PALISADE_H

#define PALISADE_ABI_VERSION 6
/* (Records carry the version and captures keep it. Issue 17 added budget_conf and
 * syscall_conf.budget, map values only, in a former padding byte that older daemons write as 0,
 * "not budgeted": the records are unchanged, so the version is too.) */

/* Sizes of the variable parts; records carry the used length. */
#define PALISADE_PATH_MAX 256
#define PALISADE_ARGS_MAX 512
#define PALISADE_ENV_MAX 1024 /* the start of the environment an exec record carries */
#define PALISADE_COMM_LEN 16

/* Which cgroups the programs watch (the SCOPE map's one entry). A cgroup in TRACKED_CGROUPS
 * (an armed container) is always watched; every other cgroup (the host, untracked containers)
 * only when `untracked` is 1. Written by the daemon; read by every program first thing.
 * `own_tgid`: the daemon's process (tgid in the initial pid namespace; 0: none), whose own
 * syscalls are never captured: they would only be dropped in user space, and its writes of
 * alerts would feed a storm back into the ring buffer. Its process lifecycle still is. */
struct scope_conf {
	__u32 untracked;
	__u32 own_tgid;
};

/* Record kinds (struct event_header.kind). */
enum palisade_kind {
	PALISADE_KIND_EXEC = 1,
	PALISADE_KIND_FORK = 2,
	PALISADE_KIND_EXIT = 3,
	PALISADE_KIND_SYSCALL = 4,
};

/* The start of every record. */
struct event_header {
	__u32 kind;        /* enum palisade_kind */
	__u32 abi;         /* PALISADE_ABI_VERSION */
	__u64 ts_ns;       /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;   /* bpf_get_current_cgroup_id(): cgroup v2 inode */
	__u32 pid;         /* tgid, as user space calls it */
	__u32 tid;
	__u32 ppid;        /* real parent's tgid */
	__u32 uid;
	__u32 gid;
	__u32 loginuid;
	__u32 sid;         /* session id, in the task's own pid namespace (0: its leader is outside) */
	__u32 vpgid;       /* process group id, in the task's own pid namespace (0: likewise) */
	__u32 pgid;        /* process group id, in the initial pid namespace */
	__u32 _pad;
	__u8 comm[PALISADE_COMM_LEN];
};

/* A successful execve/execveat (sched_process_exec). */
struct exec_event {
	struct event_header hdr;
	__u32 filename_len;      /* bytes used in filename, without NUL */
	__u32 args_len;          /* bytes used in args: NUL-separated argv */
	__u32 args_truncated;    /* 1 when argv did not fit */
	__u32 tty;               /* dev_t of the controlling tty, 0 if none */
	__u32 cwd_len;           /* bytes used in cwd */
	__u32 exe_flags;         /* PALISADE_EXE_* */
	__u32 vpid;              /* the process id in its own pid namespace (1: a container's init) */
	__u32 env_len;           /* bytes used in env: NUL-separated KEY=VALUE strings */
	__u64 cap_inheritable;   /* the new credentials' capability sets (kernel_cap_t bits) */
	__u64 cap_permitted;
	__u64 cap_effective;
	__u64 exe_ino;           /* the executed file's inode number */
	__s64 exe_ctime_ns;      /* ... its inode change and modification times, ns since the epoch */
	__s64 exe_mtime_ns;
	__u8 filename[PALISADE_PATH_MAX];
	__u8 args[PALISADE_ARGS_MAX];
	__u8 cwd[PALISADE_PATH_MAX]; /* working directory, as the task sees it */
	__u8 env[PALISADE_ENV_MAX];  /* the new program's environment, cut at PALISADE_ENV_MAX */
};

/* struct exec_event.exe_flags */
#define PALISADE_EXE_FROM_MEMFD 1 /* the executed file is a memfd (fileless execution) */
#define PALISADE_EXE_UPPER_LAYER 2 /* the executed file is on an overlayfs and in its upper
                                    * (writable) layer: written after the container started */
#define PALISADE_EXE_LOWER_LAYER 4 /* the executed file is on an overlayfs and only in a lower
                                    * (image) layer */

/* A new process or thread (sched_process_fork). */
struct fork_event {
	struct event_header hdr; /* the parent */
	__u32 child_pid;
	__u32 child_tid;
	__u32 child_vpid;        /* the child's process id in its pid namespace */
	__u32 _pad;
};

/* A process or thread ended (sched_process_exit). */
struct exit_event {
	struct event_header hdr;
	__s32 exit_code;
	__u32 _pad;
};

/* What the fd a syscall record describes turned out to be (struct fd_info.kind). */
enum palisade_fd_kind {
	PALISADE_FD_NONE = 0,   /* no fd, or it could not be read */
	PALISADE_FD_FILE = 1,   /* path in syscall_event.path; i_mode tells file/dir/fifo/...
				   (anon inodes too: their mode has no type bits) */
	PALISADE_FD_INET = 2,   /* AF_INET/AF_INET6 socket; addresses below */
	PALISADE_FD_UNIX = 3,   /* AF_UNIX socket; its bound path (if any) in syscall_event.path */
	PALISADE_FD_SOCKET = 4, /* a socket of another family */
};

/* The file behind the fd a syscall record describes, read from the task's fd table at exit. */
struct fd_info {
	__u32 kind;        /* enum palisade_fd_kind */
	__s32 num;         /* the fd number, -1 if none */
	__u32 i_mode;      /* inode mode (S_IFMT bits tell the type) */
	__u32 f_flags;     /* open flags of the file */
	__u64 ino;
	__u16 family;      /* sockets: AF_* */
	__u16 sock_type;   /* sockets: SOCK_* */
	__u16 protocol;    /* sockets: IPPROTO_* */
	__u16 lport;       /* local port, host order */
	__u16 rport;       /* remote port, host order */
	__u16 _pad[3];
	__u8 laddr[16];    /* local address (IPv4 in the first 4 bytes) */
	__u8 raddr[16];    /* remote address */
};

/* Per syscall number: what the sys_exit program captures (map SYSCALL_CONF, filled by the
 * daemon from its syscall table for the event types the loaded rules can match).
 * Argument references are register index + 1; 0 means none.
 *
 * The array is indexed by the number the task passed, native (x86-64) or ia32 (a compat
 * syscall: int $0x80, sysenter, 32-bit syscall): `enabled` and the capture settings are for
 * the x86-64 syscall of that number; `compat_nr` says what the ia32 syscall of that number is
 * (the x86-64 number of the same call, PALISADE_COMPAT_SOCKETCALL for socketcall) when that
 * x86-64 syscall is captured, else 0. A compat syscall is then captured with the settings of
 * SYSCALL_CONF[compat_nr] and reported under that number. */
struct syscall_conf {
	__u8 enabled;
	__u8 str_arg[2];   /* user strings (paths) to copy */
	__u8 str_dirfd[2]; /* dirfd each string is relative to (0: the cwd) */
	__u8 fd;           /* fd to describe: 1..6 an argument, 7 the return value */
	__u8 addr_arg;     /* user sockaddr to copy (connect, sendto, bind ...) */
	__u8 open_kind;    /* PALISADE_OPEN_*: applies the open prefilter */
	__u16 compat_nr;   /* see above */
	__u8 cwd;          /* 1: after a successful call, `path` is the task's working directory */
	__u8 budget;       /* the cgroup budget (budget.h) it is charged to: PALISADE_BUDGET_FREQUENT
			    * (opens, socket I/O ...), PALISADE_BUDGET_RARE (chmod, setuid, mount,
			    * ptrace ...: a bucket of its own, so a flood of opens never spends it);
			    * 0: none */
	__u8 _pad[4];
};

#define PALISADE_FD_FROM_RET 7
/* syscall_conf.compat_nr of ia32 socketcall(call, args): the call is one of SYS_SOCKET...,
 * its arguments an array of 32-bit words in user memory. */
#define PALISADE_COMPAT_SOCKETCALL 0xffff

enum palisade_open_kind {
	PALISADE_OPEN_NONE = 0,
	PALISADE_OPEN_FLAGS_ARG1 = 1, /* open(path, flags, mode) */
	PALISADE_OPEN_FLAGS_ARG2 = 2, /* openat(dirfd, path, flags, mode) */
	PALISADE_OPEN_HOW_ARG2 = 3,   /* openat2(dirfd, path, how, size): flags in how->flags */
	PALISADE_OPEN_CREAT = 4,      /* creat(path, mode): always a write */
};

/* The open prefilter switches (map OPEN_FILTER, one entry). Paths that pass are those whose
 * key hashes have their bit set in INTEREST_BITS (key derivation: syscalls.c). */
#define PALISADE_PREFIX_LENS 32
struct open_filter {
	__u32 active;      /* 0: every open passes */
	__u32 read_all;    /* every read open passes */
	__u32 write_all;   /* every write open passes */
	__u32 _pad;
	/* The byte lengths (1..255) of the prefix keys in INTEREST_BITS, ascending; 0 ends the
	 * list. The daemon shortens keys of further lengths to a listed one (letting more through). */
	__u8 prefix_lens[PALISADE_PREFIX_LENS];
};

/* The per-cgroup syscall budgets (map BUDGET_CONF, one entry; budget.h). Written by the daemon
 * from its `syscall_budget` configuration; read by sys_exit. Two token buckets per cgroup, one
 * for frequent and one for rare calls: `rate` records per second refill each, up to `burst`. */
struct budget_conf {
	__u64 rate;        /* frequent calls: records per second, 1..=PALISADE_BUDGET_MAX_RATE */
	__u64 burst;       /* frequent calls: bucket size in records, 1..=PALISADE_BUDGET_MAX_BURST */
	__u64 rare_rate;   /* rare calls: likewise */
	__u64 rare_burst;
	__u32 enabled;     /* 0: no budget, every record is written (as before budgets) */
	__u32 _pad;
};
/* syscall_conf.budget: which bucket of its cgroup a call is charged to. */
#define PALISADE_BUDGET_FREQUENT 1
#define PALISADE_BUDGET_RARE 2
/* Bounds that keep the bucket arithmetic (ns x records/s, in u64) from overflowing. */
#define PALISADE_BUDGET_MAX_RATE 100000000
#define PALISADE_BUDGET_MAX_BURST 1000000
/* Slots of BUDGET_STATS (per CPU, summed by the daemon). */
#define PALISADE_BUDGET_UNATTRIBUTED 0 /* over budget, and BUDGET_DROPS was full */
#define PALISADE_BUDGET_NEW_BUCKETS 1  /* buckets created (beyond the map's size: LRU evictions) */

/* Directions of the open prefilter. */
#define PALISADE_INTEREST_READ 1
#define PALISADE_INTEREST_WRITE 2
/* Words (u64) per direction in INTEREST_BITS: reads first, then writes. */
#define PALISADE_INTEREST_WORDS 1024

/* The exit of a syscall the rules can match (sys_exit). */
struct syscall_event {
	struct event_header hdr;
	__s64 ret;
	__u64 args[6];     /* raw register arguments */
	__u64 extra[3];    /* openat2: struct open_how {flags, mode, resolve} */
	__u32 nr;          /* syscall number */
	__u32 path_len;    /* bytes used in path */
	__u32 str_len[2];  /* bytes used in str[i]; 0 if not captured */
	__u32 base_len[2]; /* bytes used in base[i]; 0 when str[i] is absolute or absent */
	__u32 addr_len;    /* bytes used in addr */
	__u32 compat;      /* 1: an ia32 syscall, reported as the x86-64 syscall `nr` */
	struct fd_info fd;
	__u8 addr[32];     /* user sockaddr, raw */
	__u8 path[PALISADE_PATH_MAX];   /* the fd's path (files, unix sockets, anon inodes) */
	__u8 str[2][PALISADE_PATH_MAX]; /* user strings as passed */
	__u8 base[2][PALISADE_PATH_MAX];/* directory each relative string is relative to */
};

/* Layouts, as the Rust mirror (src/abi.rs) asserts them (abi_assert.h). */
#include "abi_assert.h"
ABI_SIZE(event_header, 80);
ABI_SIZE(exec_event, 2208);
ABI_SIZE(fd_info, 72);
ABI_SIZE(syscall_conf, 16);
ABI_SIZE(open_filter, 48);
ABI_SIZE(scope_conf, 8);
ABI_SIZE(budget_conf, 40);
ABI_SIZE(syscall_event, 1576);
ABI_SIZE(fork_event, 96);
ABI_SIZE(exit_event, 88);
ABI_OFFSET(event_header, sid, 48);
ABI_OFFSET(event_header, comm, 64);
ABI_OFFSET(syscall_conf, compat_nr, 8);
ABI_OFFSET(syscall_event, compat, 188);
ABI_OFFSET(open_filter, prefix_lens, 16);

#endif
