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

#define PALISADE_ABI_VERSION 1

/* Sizes of the variable parts; records carry the used length. */
#define PALISADE_PATH_MAX 256
#define PALISADE_ARGS_MAX 512
#define PALISADE_COMM_LEN 16

/* Record kinds (struct event_header.kind). */
enum palisade_kind {
	PALISADE_KIND_EXEC = 1,
	PALISADE_KIND_FORK = 2,
	PALISADE_KIND_EXIT = 3,
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
	__u8 comm[PALISADE_COMM_LEN];
};

/* A successful execve/execveat (sched_process_exec). */
struct exec_event {
	struct event_header hdr;
	__u32 filename_len;      /* bytes used in filename, without NUL */
	__u32 args_len;          /* bytes used in args: NUL-separated argv */
	__u32 args_truncated;    /* 1 when argv did not fit */
	__u32 tty;               /* dev_t of the controlling tty, 0 if none */
	__u8 filename[PALISADE_PATH_MAX];
	__u8 args[PALISADE_ARGS_MAX];
};

/* A new process or thread (sched_process_fork). */
struct fork_event {
	struct event_header hdr; /* the parent */
	__u32 child_pid;
	__u32 child_tid;
};

/* A process or thread ended (sched_process_exit). */
struct exit_event {
	struct event_header hdr;
	__s32 exit_code;
	__u32 _pad;
};

#endif
