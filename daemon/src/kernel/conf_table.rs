//! The `SYSCALL_CONF` array as the sys_exit program reads it: indexed by the number a task
//! passed, each entry holds the capture settings of the x86-64 syscall of that number and,
//! in `compat_nr`, what the ia32 syscall of that number is when its x86-64 twin is captured
//! (`palisade.h`, `compat.h`).

use std::collections::HashMap;

use palisade_ebpf::abi::{SyscallConf, BUDGET_FREQUENT, BUDGET_RARE, COMPAT_SOCKETCALL};

use palisade_events::syscalls::ia32;

/// Entries of `SYSCALL_CONF` (x86-64 and ia32 numbers are below it).
pub const SYSCALL_SLOTS: usize = 512;

/// The event types charged to their cgroup's budget of frequent calls (`SyscallConf::budget`,
/// budget.h): the calls a program makes by the thousands per second in normal work, and so the
/// ones a flood is made of. Every other captured call (chmod, setuid, mount, ptrace, unlink,
/// rename, bpf, init_module ...) is rare in normal work and charged to the cgroup's second,
/// separate bucket, so a distinct action in a cgroup flooding opens still arrives, and a flood
/// of a rare call is held too; process events (exec, fork, exit) are never budgeted.
pub const BUDGETED_EVENTS: &[&str] = &[
    "open", "openat", "openat2", "creat", "close", "dup", "dup2", "dup3", "mmap", "socket", "connect", "accept",
    "accept4", "sendto", "recvfrom", "sendmsg", "recvmsg", "bind", "listen",
];

/// The budget class of x86-64 syscall `nr`: [`BUDGET_FREQUENT`] for [`BUDGETED_EVENTS`], else
/// [`BUDGET_RARE`].
pub fn budget_class(nr: u32) -> u8 {
    match palisade_events::syscalls::by_nr(nr) {
        Some(s) if BUDGETED_EVENTS.contains(&s.event) => BUDGET_FREQUENT,
        _ => BUDGET_RARE,
    }
}

/// The array for `captured` (x86-64 number → settings; numbers not listed are not captured).
///
/// Invariant: an entry's `compat_nr` is non-zero only if the x86-64 syscall it names (any
/// socketcall target for [`COMPAT_SOCKETCALL`]) is in `captured`, so an ia32 call is captured
/// exactly when its x86-64 twin is.
pub fn syscall_table(captured: &[(u32, SyscallConf)]) -> Vec<SyscallConf> {
    let wanted: HashMap<u32, SyscallConf> = captured.iter().copied().collect();
    let mut table: Vec<SyscallConf> = (0..SYSCALL_SLOTS as u32)
        .map(|nr| match wanted.get(&nr) {
            Some(conf) => SyscallConf { budget: budget_class(nr), ..*conf },
            None => SyscallConf::default(),
        })
        .collect();
    for (ia32, x86_64) in ia32::IA32_TO_X86_64 {
        if wanted.contains_key(&u32::from(*x86_64)) {
            table[usize::from(*ia32)].compat_nr = *x86_64;
        }
    }
    if ia32::SOCKETCALL_TARGETS.iter().any(|nr| wanted.contains_key(&u32::from(*nr))) {
        table[usize::from(ia32::SOCKETCALL)].compat_nr = COMPAT_SOCKETCALL;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> SyscallConf {
        SyscallConf { enabled: 1, ..SyscallConf::default() }
    }

    #[test]
    fn compat_entries_follow_their_x86_64_twins() {
        // openat (257) and connect (42) captured; close (3) not.
        let t = syscall_table(&[(257, on()), (42, on())]);
        assert_eq!(t.len(), SYSCALL_SLOTS);
        assert_eq!(t[257].enabled, 1);
        assert_eq!(t[295].compat_nr, 257, "ia32 openat");
        assert_eq!(t[295].enabled, 0, "x86-64 295 (preadv) is not captured");
        assert_eq!(t[362].compat_nr, 42, "ia32 connect");
        assert_eq!(t[102].compat_nr, COMPAT_SOCKETCALL, "socketcall can be a connect");
        assert_eq!(t[6].compat_nr, 0, "ia32 close: x86-64 close is not captured");
        assert_eq!(t[5].compat_nr, 0, "ia32 open: x86-64 open is not captured");
        assert_eq!((t[257].budget, t[42].budget), (BUDGET_FREQUENT, BUDGET_FREQUENT), "opens and connects: frequent");
        let rare = syscall_table(&[(90, on()), (105, on()), (165, on()), (101, on()), (87, on()), (268, on())]);
        for nr in [90, 105, 165, 101, 87, 268] {
            assert_eq!((rare[nr].enabled, rare[nr].budget), (1, BUDGET_RARE), "syscall {nr}: its own bucket");
        }
        let none = syscall_table(&[(257, on())]);
        assert_eq!(none[102].compat_nr, 0, "no socket call captured");
        assert_eq!(none.iter().filter(|c| c.compat_nr != 0).count(), 1);
    }
}
