/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * What an fd of the current task is, read from its fd table at syscall exit: the file's
 * path, or a socket's family, protocol and both endpoints. Reading it in the kernel at the
 * moment of the event (instead of replaying opens/sockets/dups into a user-space fd table)
 * means only the events the rules want ever leave the kernel, and nothing is lost when an
 * fd was created before the daemon started.
 */
#ifndef PALISADE_FDINFO_H
#define PALISADE_FDINFO_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "palisade.h"
#include "path.h"

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

static __always_inline struct file *fd_file(struct task_struct *task, __s32 fd)
{
	if (fd < 0)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || (__u32)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline __u32 socket_info(struct file *f, struct fd_info *info, __u8 *path)
{
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk) {
		info->kind = PALISADE_FD_SOCKET;
		return 0;
	}
	info->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	info->sock_type = BPF_CORE_READ(sk, sk_type);
	info->protocol = BPF_CORE_READ(sk, sk_protocol);
	switch (info->family) {
	case AF_INET:
		info->kind = PALISADE_FD_INET;
		BPF_CORE_READ_INTO((__u32 *)info->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)info->raddr, sk, __sk_common.skc_daddr);
		break;
	case AF_INET6:
		info->kind = PALISADE_FD_INET;
		BPF_CORE_READ_INTO(info->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(info->raddr, sk, __sk_common.skc_v6_daddr);
		break;
	case AF_UNIX: {
		info->kind = PALISADE_FD_UNIX;
		struct unix_sock *us = (struct unix_sock *)sk;
		struct unix_address *addr = BPF_CORE_READ(us, addr);
		if (!addr || BPF_CORE_READ(addr, len) <= 2)
			return 0; /* unbound */
		/* name is a flexible array of sockaddr_un: sun_path follows its 2-byte family.
		 * Abstract names start with NUL and read as empty. */
		const char *sun_path = (const char *)addr + bpf_core_field_offset(struct unix_address, name) + 2;
		long n = bpf_probe_read_kernel_str(path, PALISADE_PATH_MAX, sun_path);
		return n > 0 ? (__u32)(n - 1) : 0;
	}
	default:
		info->kind = PALISADE_FD_SOCKET;
		return 0;
	}
	info->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	info->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return 0;
}

/* Fill `info` (and `path`, NUL-terminated) for the task's fd `fd`; returns the path length. */
static __always_inline __u32 describe_fd(struct task_struct *task, __s32 fd, const struct path *root,
					 struct fd_info *info, __u8 *path)
{
	info->num = fd;
	struct file *f = fd_file(task, fd);
	if (!f)
		return 0;
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	info->i_mode = BPF_CORE_READ(inode, i_mode);
	info->ino = BPF_CORE_READ(inode, i_ino);
	info->f_flags = BPF_CORE_READ(f, f_flags);
	if ((info->i_mode & S_IFMT) == S_IFSOCK)
		return socket_info(f, info, path);
	info->kind = PALISADE_FD_FILE;
	return file_path(f, root, path);
}

#endif
