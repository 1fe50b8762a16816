/* tp_btf on every syscall exit, reading openat's path from user memory. */
#include "variants.bpf.h"
SEC("tp_btf/sys_exit") int BPF_PROG(p, struct pt_regs *regs, long ret)
{
	if (regs->orig_ax != 257)
		return 0;
	char path[16];
	bpf_probe_read_user(path, sizeof(path), (void *)regs->si);
	return path[3];
}
