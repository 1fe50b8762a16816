/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * ia32 (compat) syscalls on x86-64: a task in a 32-bit syscall (int $0x80 — also from 64-bit
 * code, the classic way to slip past syscall filters that only know x86-64 numbers —,
 * sysenter, or syscall from 32-bit code) passes an ia32 number and its arguments in ebx, ecx,
 * edx, esi, edi, ebp. The sys_exit program sees these too; it translates each one it captures
 * into the x86-64 syscall of the same meaning (SYSCALL_CONF's compat_nr) and reports it under
 * that number with `compat` set, so the rules see the same events as for native calls (Falco
 * does the same). Part of palisade.bpf.c.
 */
#ifndef PALISADE_COMPAT_H
#define PALISADE_COMPAT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "palisade.h"

/* thread_info.status bit (arch/x86/include/asm/thread_info.h): an ia32 syscall is running.
 * Set at a compat syscall's entry, cleared on the return to user mode. */
#define TS_COMPAT 0x0002

/* Whether the current syscall of `task` (the current task, a BTF pointer: a direct load,
 * relocated by CO-RE) is an ia32 one. Nothing in pt_regs tells reliably: from 64-bit code an
 * int $0x80 keeps cs = __USER_CS, and its rcx/r11 can be made to look like a syscall
 * instruction's (which saves rip in rcx and rflags in r11). */
static __always_inline bool in_ia32_syscall(struct task_struct *task)
{
	return task->thread_info.status & TS_COMPAT;
}

/* The six arguments of an ia32 syscall: 32-bit registers (a 64-bit task's int $0x80 may
 * leave anything in the upper halves, which the kernel ignores too). */
static __always_inline void read_args_ia32(struct pt_regs *regs, __u64 *args)
{
	args[0] = (__u32)regs->bx;
	args[1] = (__u32)regs->cx;
	args[2] = (__u32)regs->dx;
	args[3] = (__u32)regs->si;
	args[4] = (__u32)regs->di;
	args[5] = (__u32)regs->bp;
}

/*
 * socketcall(call, args): the x86-64 syscall a call number (SYS_* of linux/net.h) stands for,
 * 0 for the calls Palisade has no x86-64 event for (send, recv, getsockname, ...), and the
 * number of 32-bit words it reads at `args`. With those words, the arguments are the x86-64
 * call's, in order.
 */
static __always_inline __u32 socketcall_nr(__u64 call, __u32 *nargs)
{
	switch (call) {
	case 1: *nargs = 3; return 41;   /* SYS_SOCKET: socket */
	case 2: *nargs = 3; return 49;   /* SYS_BIND: bind */
	case 3: *nargs = 3; return 42;   /* SYS_CONNECT: connect */
	case 4: *nargs = 2; return 50;   /* SYS_LISTEN: listen */
	case 5: *nargs = 3; return 43;   /* SYS_ACCEPT: accept */
	case 11: *nargs = 6; return 44;  /* SYS_SENDTO: sendto */
	case 12: *nargs = 6; return 45;  /* SYS_RECVFROM: recvfrom */
	case 16: *nargs = 3; return 46;  /* SYS_SENDMSG: sendmsg */
	case 17: *nargs = 3; return 47;  /* SYS_RECVMSG: recvmsg */
	case 18: *nargs = 4; return 288; /* SYS_ACCEPT4: accept4 */
	default: *nargs = 0; return 0;
	}
}

/* Unpack a socketcall in `args` (call, pointer) into the x86-64 call's arguments; returns its
 * x86-64 number, 0 when it is not one Palisade reports or its arguments cannot be read. */
static __always_inline __u32 unpack_socketcall(__u64 *args)
{
	__u32 nargs = 0;
	__u32 nr = socketcall_nr(args[0], &nargs);
	__u32 words[6] = {};
	if (!nr || nargs > 6 || bpf_probe_read_user(words, nargs * sizeof(__u32), (void *)args[1]))
		return 0;
	for (int i = 0; i < 6; i++)
		args[i] = words[i];
	return nr;
}

#endif
