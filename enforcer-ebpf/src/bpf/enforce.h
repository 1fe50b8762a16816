/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The ABI between Palisade's BPF-LSM enforcement programs (enforce.bpf.c) and user space
 * (crate palisade-lsm): policy map keys and values, and the decision record pushed to the
 * DECISIONS ring buffer. Mirrored in Rust by src/enforce_abi.rs, which asserts the same sizes
 * and offsets; bump ENFORCE_ABI_VERSION on any change (it names the bpffs pin directory, so a
 * new daemon never reuses programs or maps of another layout).
 *
 * Rules: fixed-size integers and byte arrays only, every struct a multiple of 8 bytes, no
 * implicit padding.
 *
 * Devices are the kernel's internal dev_t (MAJOR << 20 | MINOR, `super_block.s_dev`), not the
 * encoding stat(2) returns in st_dev; user space converts.
 */
#ifndef PALISADE_ENFORCE_H
#define PALISADE_ENFORCE_H

#define ENFORCE_ABI_VERSION 3

#define ENFORCE_PATH_MAX 256
#define ENFORCE_COMM_LEN 16
/* Bytes of path in an ALLOW_WRITE key: the LPM trie takes at most 256 bytes of key data, 4 of
 * which are the policy id. */
#define ENFORCE_PREFIX_MAX 248

/* struct enforce_policy.mode */
#define ENFORCE_MODE_AUDIT 1   /* decide and report, never deny */
#define ENFORCE_MODE_ENFORCE 2 /* deny with -EPERM and report */

/* struct enforce_policy.flags */
#define ENFORCE_DENY_SHELLS 1           /* DENY_EXEC entries of kind SHELL apply */
#define ENFORCE_DENY_PACKAGE_MANAGERS 2 /* DENY_EXEC entries of kind PACKAGE_MANAGER apply */
#define ENFORCE_IMMUTABLE 4             /* writes to the rootfs superblock outside ALLOW_WRITE */
#define ENFORCE_EXEC_ONLY_IMAGE 8       /* exec only files of the rootfs, not in its upper layer */
#define ENFORCE_DENY_MOUNT 16           /* mount(2) and move_mount(2) from the container, once
                                         * mount_gate is 0 */
#define ENFORCE_DENY_WRITABLE_EXEC 32   /* W^X: no exec or PROT_EXEC mapping of files in writable
                                         * places, except beneath ALLOW_WRITABLE_EXEC */

/* Actions (struct enforce_decision.action). */
enum enforce_action {
	ENFORCE_ACT_EXEC = 1,
	ENFORCE_ACT_OPEN_WRITE = 2,
	ENFORCE_ACT_CREATE = 3,
	ENFORCE_ACT_UNLINK = 4,
	ENFORCE_ACT_RENAME = 5,
	ENFORCE_ACT_TRUNCATE = 6,
	ENFORCE_ACT_LINK = 7,
	ENFORCE_ACT_SYMLINK = 8,
	ENFORCE_ACT_MKDIR = 9,
	ENFORCE_ACT_RMDIR = 10,
	ENFORCE_ACT_CHMOD = 11,
	ENFORCE_ACT_CHOWN = 12,
	ENFORCE_ACT_MOUNT = 13,
	ENFORCE_ACT_UTIMES = 14,      /* utimensat/utimes/futimens: times only */
	ENFORCE_ACT_SETXATTR = 15,
	ENFORCE_ACT_REMOVEXATTR = 16,
	ENFORCE_ACT_MMAP = 17,        /* mmap with PROT_EXEC of a file */
	ENFORCE_ACT_MPROTECT = 18,    /* mprotect adding PROT_EXEC to a file mapping */
};

/* Reasons (struct enforce_decision.reason). The first three are also the kinds of DENY_EXEC. */
enum enforce_reason {
	ENFORCE_REASON_SHELL = 1,
	ENFORCE_REASON_PACKAGE_MANAGER = 2,
	ENFORCE_REASON_EXEC_DENIED = 3,
	ENFORCE_REASON_NOT_FROM_IMAGE = 4,
	ENFORCE_REASON_IMMUTABLE = 5,
	ENFORCE_REASON_WRITABLE_EXEC = 6, /* W^X: the file lies in a writable place */
};

/* ENFORCED value: one armed container. Key: cgroup v2 id (u64). */
struct enforce_policy {
	__u32 mode;       /* ENFORCE_MODE_* */
	__u32 flags;      /* ENFORCE_* flags */
	__u32 rootfs_dev; /* s_dev of the container rootfs mount's superblock */
	__u32 policy_id;  /* names this policy's DENY_EXEC and ALLOW_WRITE entries */
	/* Non-zero: ENFORCE_DENY_MOUNT waits until the process with this tgid (the container's
	 * init, armed from the runtime's createRuntime hook) execs its entrypoint, because the
	 * runtime still mounts until then (masked and read-only paths after pivot_root).
	 * bprm_check_security sets it to 0 at that exec; user space writes it only when arming. */
	__u32 mount_gate;
	/* The container runtime's mount namespace (ns inode number; 0: unknown). Provenance rules
	 * (W^X, exec_only_image) skip tasks in it: the runtime's own processes in the container's
	 * cgroup (runc init joining it for `runc exec`, before setns into the container, exec'ing
	 * and mapping the runtime's binary and libraries from the host or from a memfd copy) are
	 * not the container's code. A container process cannot enter that namespace (setns needs
	 * CAP_SYS_ADMIN over the host's user namespace); unshare gives it a new one, still judged.
	 * Identity denials apply in every namespace. */
	__u32 runtime_mnt_ns;
};

/* DENY_EXEC key: a file identity within one policy. Value: __u32 kind (enum enforce_reason
 * SHELL, PACKAGE_MANAGER or EXEC_DENIED). */
struct exec_key {
	__u32 policy_id;
	__u32 dev;  /* s_dev of the file's superblock (the overlay's for a container rootfs) */
	__u64 ino;  /* i_ino (overlayfs: the constant st_ino, see enforce.bpf.c) */
};

/* ALLOW_WRITE key (LPM trie): policy id, then a normalized absolute path followed by '/'
 * ("/var/cache/" for the prefix /var/cache), zero-padded. prefixlen counts bits over
 * policy_id + path: a lookup with the written path + '/' matches every prefix it lies beneath.
 * Value: __u32, reserved (1). */
struct allow_key {
	__u32 prefixlen;
	__u32 policy_id;
	__u8 path[ENFORCE_PREFIX_MAX];
};

/* ALLOW_WRITABLE_EXEC key: struct allow_key too (same layout and matching), the prefixes of
 * ContainerPolicy.allow_writable_exec. */

/* struct enforce_decision.flags */
#define ENFORCE_DECISION_PATH_UNKNOWN 1 /* the path could not be resolved completely */

/* One decision: a denial (enforced = 1) or a would-deny in audit mode (enforced = 0). */
struct enforce_decision {
	__u32 abi;        /* ENFORCE_ABI_VERSION */
	__u32 action;     /* enum enforce_action */
	__u32 reason;     /* enum enforce_reason */
	__u32 enforced;   /* 1: the operation was denied */
	__u32 err;        /* errno returned to the task (EPERM) or 0 */
	__u32 pid;        /* tgid */
	__u32 tid;
	__u32 policy_id;
	__u64 ts_ns;      /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;
	__u64 target_ino; /* the file acted on (0 when it does not exist yet) */
	__u32 target_dev; /* its superblock's s_dev */
	__u32 exe_dev;    /* exec: the executed file; otherwise the acting process's executable */
	__u64 exe_ino;
	__u32 path_len;   /* bytes used in path, without NUL */
	__u32 flags;      /* ENFORCE_DECISION_* */
	__u8 comm[ENFORCE_COMM_LEN];
	__u8 path[ENFORCE_PATH_MAX]; /* target path as the task sees it (its root) */
};

/* Layouts, as the Rust mirror (src/enforce_abi.rs) asserts them (abi_assert.h). */
#include "abi_assert.h"
ABI_SIZE(enforce_policy, 24);
ABI_OFFSET(enforce_policy, mount_gate, 16);
ABI_OFFSET(enforce_policy, runtime_mnt_ns, 20);
ABI_SIZE(exec_key, 16);
ABI_SIZE(allow_key, 256);
ABI_OFFSET(allow_key, path, 8);
ABI_SIZE(enforce_decision, 352);
ABI_OFFSET(enforce_decision, ts_ns, 32);
ABI_OFFSET(enforce_decision, target_ino, 48);

#endif
