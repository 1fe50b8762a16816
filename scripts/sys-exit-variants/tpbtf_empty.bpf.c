/* An empty tp_btf program on every syscall exit. */
#include "variants.bpf.h"
SEC("tp_btf/sys_exit") int BPF_PROG(p, struct pt_regs *regs, long ret) { return 0; }
