/* Two probes on the raw sys_exit tracepoint (a tp_btf compat guard and the openat
 * tracepoint's perf probe): the tracepoint then calls them indirectly on every syscall. */
#include "variants.bpf.h"
#define TS_COMPAT 0x0002
SEC("tp_btf/sys_exit") int BPF_PROG(guard, struct pt_regs *regs, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	return (t->thread_info.status & TS_COMPAT) != 0;
}
SEC("tracepoint/syscalls/sys_exit_openat") int openat(struct exit_ctx *ctx) { return 0; }
