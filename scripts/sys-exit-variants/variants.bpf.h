/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/* Shared by the minimal sys_exit variants (one program each, see run.sh). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
char LICENSE[] SEC("license") = "GPL";
/* A stand-in for SYSCALL_CONF: all zero, so every syscall is "not wanted". */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u64);
} CONF SEC(".maps");
/* The context of a syscalls:sys_exit_* tracepoint program. */
struct exit_ctx {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__s64 ret;
};
