/* tp_btf on every syscall exit, returning after the per-syscall array lookup: the floor of
 * Palisade's sys_exit design. */
#include "variants.bpf.h"
SEC("tp_btf/sys_exit") int BPF_PROG(p, struct pt_regs *regs, long ret)
{
	__u32 nr = regs->orig_ax;
	__u64 *c = bpf_map_lookup_elem(&CONF, &nr);
	return c && *c;
}
