/* The per-syscall openat tracepoint, reading the arguments as the capture must: the task's
 * registers (bpf_task_pt_regs) and the path from user memory. */
#include "variants.bpf.h"
SEC("tracepoint/syscalls/sys_exit_openat") int p(struct exit_ctx *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	char path[16];
	bpf_probe_read_user(path, sizeof(path), (void *)regs->si);
	return path[3];
}
