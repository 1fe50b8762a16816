//! What the kernel captures for a ruleset: the syscalls whose Falco event types some active
//! rule can match (the engine's evt.type index says which), how to capture each (strings,
//! fd, sockaddr, from the syscall table), and the open prefilter derived from the rules.
//!
//! execve/execveat come from `sched_process_exec` (the caller's memory is gone at the exit
//! of a successful exec), forks and exits from the scheduler tracepoints: those are always
//! on, since the process table needs them. When a rule reads `proc.cwd` (in its condition or
//! its output), `chdir` and `fchdir` are captured too, so the table follows a process's
//! working directory between execs.

use std::collections::BTreeSet;

use palisade_ebpf::abi::{open_kind, SyscallConf, FD_FROM_RET};
use palisade_rules::condition::{Expr, Operand, Rhs};
use palisade_rules::condition::ast::{TransformerArg, TransformerExpr};
use palisade_rules::prefilter::{open_interest, PathInterest};
use palisade_rules::{event_types, Ruleset, Source};

use crate::kernel::interest::{bitmap, open_filter};
use crate::kernel::Capture;
use palisade_events::syscalls::{self, FdOf, Syscall};

/// Event types served by the process tracepoints instead of sys_exit.
const FROM_PROCESS_TRACEPOINTS: [&str; 5] = ["execve", "execveat", "clone", "fork", "vfork"];

/// Event types captured for the profile judge only, which rules never see
/// ([`palisade_events::event::EventData::is_judge_only`]): a rule naming them captures nothing.
const JUDGE_ONLY: [&str; 1] = ["mmap"];

/// The kernel settings for a ruleset, and a one-line description of them.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// What to write into the kernel's maps.
    pub capture: Capture,
    /// The captured event types and the open filter, for the startup line.
    pub summary: String,
}

/// Register index → the ABI's "index + 1" encoding.
fn reg(i: u8) -> u8 {
    i + 1
}

/// The kernel capture settings for one syscall.
pub fn conf(sys: &Syscall) -> SyscallConf {
    let mut c = SyscallConf { enabled: 1, ..SyscallConf::default() };
    for (slot, s) in sys.strings.iter().enumerate() {
        if let Some(s) = s {
            c.str_arg[slot] = reg(s.arg);
            c.str_dirfd[slot] = s.dirfd.map_or(0, reg);
        }
    }
    c.fd = match sys.fd {
        FdOf::None => 0,
        FdOf::Arg(i) => reg(i),
        // dup*: the returned fd is the same open file.
        FdOf::Ret | FdOf::Dup(_) => FD_FROM_RET,
    };
    c.addr_arg = match sys.event {
        "connect" | "bind" => reg(1),
        "sendto" | "recvfrom" => reg(4),
        _ => 0,
    };
    c.open_kind = match sys.event {
        "open" => open_kind::FLAGS_ARG1,
        "openat" => open_kind::FLAGS_ARG2,
        "openat2" => open_kind::HOW_ARG2,
        "creat" => open_kind::CREAT,
        _ => open_kind::NONE,
    };
    // The process table takes the new working directory from these.
    c.cwd = u8::from(matches!(sys.event, "chdir" | "fchdir"));
    c
}

/// Event types captured to follow the working directory (`proc.cwd`).
const CWD_EVENTS: [&str; 2] = ["chdir", "fchdir"];

/// Whether a field operand (or a transformer's arguments) names `field`.
fn operand_names(op: &Operand, field: &str) -> bool {
    fn transformer(t: &TransformerExpr, field: &str) -> bool {
        t.args.iter().any(|a| arg(a, field))
    }
    fn arg(a: &TransformerArg, field: &str) -> bool {
        match a {
            TransformerArg::Field(f) => f.name == field,
            TransformerArg::Transformer(t) => transformer(t, field),
            TransformerArg::List(xs) => xs.iter().any(|x| arg(x, field)),
            TransformerArg::Literal(_) => false,
        }
    }
    match op {
        Operand::Field(f) => f.name == field,
        Operand::Transformer(t) => transformer(t, field),
    }
}

/// Whether some active syscall rule reads `field`, in its condition or its output.
pub fn rules_read(rules: &Ruleset, field: &str) -> bool {
    rules.active_rules(Source::Syscall).any(|r| {
        let mut found = r.output.field_names().any(|f| f == field || f.strip_prefix(field).is_some_and(|rest| rest.starts_with('[')));
        r.condition.walk(&mut |e| {
            if let Expr::Check(c) = e {
                found |= operand_names(&c.lhs, field) || matches!(&c.rhs, Rhs::Field(op) if operand_names(op, field));
            }
        });
        found
    })
}

fn describe(side: &PathInterest) -> String {
    if side.all {
        return "all".into();
    }
    let n = side.exact.len() + side.prefixes.len() + side.basenames.len() + side.comms.len();
    format!("{n} keys{}", if side.raw_dotdot { " + traversal" } else { "" })
}

/// The capture plan for `rules`.
pub fn plan(rules: &Ruleset) -> Plan {
    // Falco resolves the domain names conditions compare `fd.*ip.name` with; so does Palisade,
    // for the rules of every load and reload (each derives its plan here).
    if let Err(error) = palisade_events::event::dns::watch(palisade_rules::fields::condition_domains(rules)) {
        tracing::warn!(%error, "cannot start the DNS name resolver: fd.*ip.name stays <NA>");
    }
    let wanted = rules.wanted_event_types(Source::Syscall);
    let mut types = BTreeSet::new();
    let mut syscalls: Vec<(u32, SyscallConf)> = Vec::new();
    for code in wanted.codes() {
        let Some(name) = event_types::name(code) else { continue };
        if FROM_PROCESS_TRACEPOINTS.contains(&name) || JUDGE_ONLY.contains(&name) {
            continue;
        }
        for sys in syscalls::for_event(name) {
            types.insert(name);
            syscalls.push((sys.nr, conf(sys)));
        }
    }
    let follow_cwd = rules_read(rules, "proc.cwd");
    if follow_cwd {
        for sys in CWD_EVENTS.iter().flat_map(|e| syscalls::for_event(e)) {
            if !syscalls.iter().any(|(nr, _)| *nr == sys.nr) {
                syscalls.push((sys.nr, conf(sys)));
            }
        }
    }
    let interest = open_interest(rules);
    let (open_filter, keys) = open_filter(&interest);
    let summary = format!(
        "{} event types{}; opens: read {}, write {}",
        types.len(),
        if follow_cwd { " + chdir/fchdir for proc.cwd" } else { "" },
        describe(&interest.read),
        describe(&interest.write)
    );
    Plan { capture: Capture { syscalls, open_filter, interest_bits: bitmap(&keys) }, summary }
}

/// Profiles judge what a container executes and writes: capture the calls they need beyond
/// what the rules ask for (scoped like every capture: armed containers and, with host
/// monitoring, the host) — failed execs (a backend's refusals) when a profile denies programs;
/// when one is immutable, every write open, every call that changes the file tree or a file's
/// metadata (truncate, chmod, chown, xattrs, times), mounts, and for W^X failed execs and
/// executable file mappings.
pub fn with_profile_needs(plan: &mut Plan, profiles: &palisade_profiles::ProfileSet) {
    let mut need: Vec<&str> = Vec::new();
    if profiles.profiles().iter().any(palisade_profiles::Profile::denies_exec) {
        need.extend(["execve", "execveat"]);
    }
    if profiles.profiles().iter().any(|p| p.immutable.enabled) {
        let opens_captured = palisade_events::syscalls::for_event("openat").any(|s| plan.capture.syscalls.iter().any(|(nr, _)| *nr == s.nr));
        if !opens_captured {
            // Only the write opens then: the rules want none.
            plan.capture.open_filter.active = 1;
            plan.capture.open_filter.read_all = 0;
        }
        // An inactive filter passes every open already.
        if plan.capture.open_filter.active != 0 {
            plan.capture.open_filter.write_all = 1;
        }
        need.extend(["open", "openat", "openat2", "creat", "unlink", "unlinkat", "rmdir", "mkdir", "mkdirat"]);
        need.extend(["rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "mknod", "mknodat"]);
        need.extend(["truncate", "ftruncate", "chmod", "fchmod", "fchmodat", "fchmodat2"]);
        need.extend(["chown", "lchown", "fchown", "fchownat", "utime", "utimes", "futimesat", "utimensat"]);
        need.extend(["setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr"]);
        // Mounts, and the execs W^X judges (refused ones fail at the syscall's exit).
        need.extend(["mount", "move_mount", "execve", "execveat", "mmap"]);
    }
    for name in need {
        for sys in palisade_events::syscalls::for_event(name) {
            if !plan.capture.syscalls.iter().any(|(nr, _)| *nr == sys.nr) {
                plan.capture.syscalls.push((sys.nr, conf(sys)));
            }
        }
    }
}
