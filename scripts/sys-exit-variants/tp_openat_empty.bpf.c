/* An empty program on the per-syscall tracepoint of openat only (close runs nothing). */
#include "variants.bpf.h"
SEC("tracepoint/syscalls/sys_exit_openat") int p(struct exit_ctx *ctx) { return 0; }
