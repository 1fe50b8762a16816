/* Only the syscall-tracing slow path: an empty program on a syscall W1 never makes. */
#include "variants.bpf.h"
SEC("tracepoint/syscalls/sys_exit_getppid") int p(struct exit_ctx *ctx) { return 0; }
