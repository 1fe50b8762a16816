/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Palisade's kernel programs, as one object so they share one EVENTS ring buffer (records
 * of one task stay in order) and one set of maps:
 *   process.c   exec/fork/exit (sched_process_* tp_btf)
 *   syscalls.c  the exit of every syscall the loaded rules can match (sys_exit tp_btf),
 *               ia32 ones translated (compat.h); frequent calls charged to their cgroup's
 *               budget (budget.h)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "palisade.h"
#include "maps.h"
#include "budget.h"
#include "task.h"
#include "path.h"
#include "fdinfo.h"
#include "compat.h"

char LICENSE[] SEC("license") = "GPL";

#include "process.c"
#include "syscalls.c"
