//! Process, thread and user fields beyond the names and ids: the environment (`proc.env`,
//! `proc.aenv`), argument counts (`proc.cmdnargs`, `proc.cmdlenargs`, `proc.exeline`,
//! `proc.aargs`), `proc.loginshellid`, `proc.pvpid`, the pid namespace's start
//! (`proc.pidns_init_start_ts`, `proc.exe_ino.ctime_duration_pidns_start`), `thread.ismain`,
//! `thread.nametid`, `user.homedir`, `user.shell`, and the resource fields (`proc.vm*`,
//! `thread.vm*`, `thread.pf*`, `proc.fd*`, `proc.nthreads`, `proc.nchilds`, `proc.std*`) —
//! with libsinsp's semantics.
//!
//! The resource fields: Falco's driver reports them at exec and clone (and libsinsp refreshes
//! them); here they are read from `/proc` when asked, so they are current rather than as of
//! the exec, and `<NA>` for a process gone by then. A standard stream that is a socket has no
//! `proc.std*` value (the `/proc` link does not tell its family).
//!
//! The environment: as Falco's driver, the exec program copies it (its first
//! `abi::ENV_MAX` = 1024 bytes) into every exec record, so a process that exits at once still
//! has it; a fork inherits it. A process older than the daemon (seeded from `/proc`) has it
//! read from `/proc/<pid>/environ` when a rule or an output asks, provided the pid is still
//! the same process (same start time; [`crate::process::ProcessTable::environ`]): the
//! environment its program started with, as the driver's copy is. A replayed Palisade capture
//! has none (`<NA>`); a replayed `.scap` has the execve's `env` parameter.

use std::borrow::Cow;

use palisade_rules::{Extracted, FieldRef, Value};

use super::{num, owned, s, started, KernelEvent, MAX_ANCESTORS};
use crate::process::{Process, Usage};

/// libsinsp's fd type of what `/proc/<pid>/fd/N` links to; `None` for sockets (the link does
/// not tell the family) and anything unknown.
fn std_type(link: &str) -> Option<&'static str> {
    Some(match link {
        l if l.starts_with('/') => "file",
        l if l.starts_with("pipe:") => "pipe",
        "anon_inode:[eventfd]" => "event",
        "anon_inode:[signalfd]" => "signalfd",
        "anon_inode:[eventpoll]" => "eventpoll",
        "anon_inode:inotify" => "inotify",
        "anon_inode:[timerfd]" => "timerfd",
        _ => return None,
    })
}

/// A resource field from `/proc` (`main`: the event's thread is the process's main thread;
/// libsinsp gives the `thread.vm*` fields of other threads as 0).
fn usage_field(u: &Usage, field: &FieldRef, main: bool) -> Extracted<'static> {
    let n = |v: u64| num(field.ty, v as i64);
    let std = |i: usize, name: bool| {
        let link = u.std[i].as_deref().filter(|l| std_type(l).is_some());
        link.map_or(Extracted::Missing, |l| if name { owned(l.to_owned()) } else { s(std_type(l).unwrap_or_default()) })
    };
    let main_only = |v: u64| if main { v } else { 0 };
    match field.name {
        "proc.vmsize" => n(u.vmsize_kb),
        "proc.vmrss" => n(u.vmrss_kb),
        "proc.vmswap" => n(u.vmswap_kb),
        "thread.vmsize" => n(main_only(u.vmsize_kb)),
        "thread.vmrss" => n(main_only(u.vmrss_kb)),
        "thread.vmsize.b" => n(main_only(u.vmsize_kb) * 1024),
        "thread.vmrss.b" => n(main_only(u.vmrss_kb) * 1024),
        "thread.pfmajor" => n(u.majflt),
        "thread.pfminor" => n(u.minflt),
        "proc.fdopencount" => n(u.fd_open),
        "proc.fdlimit" => num(field.ty, u.fd_limit),
        "proc.fdusage" => Extracted::One(Value::Double(if u.fd_limit > 0 { u.fd_open as f64 * 100.0 / u.fd_limit as f64 } else { 0.0 })),
        "proc.nthreads" => n(u.threads),
        "proc.nchilds" => n(u.threads.saturating_sub(1)),
        "proc.stdin.type" => std(0, false),
        "proc.stdout.type" => std(1, false),
        "proc.stderr.type" => std(2, false),
        "proc.stdin.name" => std(0, true),
        "proc.stdout.name" => std(1, true),
        "proc.stderr.name" => std(2, true),
        _ => Extracted::Missing,
    }
}

/// libsinsp's `get_env(NAME)`: the value of `NAME=...`, spaces around it trimmed; empty when
/// the variable is not set.
fn env_var<'e>(env: &'e [String], name: &str) -> &'e str {
    env.iter()
        .find_map(|v| v.strip_prefix(name)?.strip_prefix('='))
        .map_or("", |v| v.trim_matches(' '))
}

fn vpid(p: &Process) -> u32 {
    if p.vpid == 0 {
        p.pid
    } else {
        p.vpid
    }
}

impl<'a> KernelEvent<'a> {
    /// The process and its ancestors, self first.
    fn lineage(&self) -> impl Iterator<Item = &'a Process> {
        std::iter::once(&self.data.process).chain(self.table.ancestors_of(self.data.process.pid).take(MAX_ANCESTORS))
    }

    /// The init of the process's pid namespace: pid 1 for the host's, else the eldest process
    /// of the lineage numbered 1 inside its namespace.
    fn pidns_init(&self) -> Option<&'a Process> {
        let p = &self.data.process;
        if vpid(p) == p.pid {
            return self.table.get(1);
        }
        self.lineage().find(|q| q.vpid == 1)
    }

    /// `proc.pidns_init_start_ts`, wall-clock ns.
    fn pidns_start(&self) -> Option<u64> {
        self.pidns_init().and_then(|init| started(init, self.data))
    }

    /// The field, when it is one of this module's.
    pub(super) fn extract_procinfo(&self, field: &FieldRef) -> Option<Extracted<'a>> {
        let d = self.data;
        let p = &d.process;
        let index = field.arg.as_ref().and_then(|a| a.index());
        let key = field.arg.as_ref().filter(|a| a.index().is_none()).map(|a| a.key().into_owned());
        let env_of = |q: &Process| self.table.environ(q);
        Some(match field.name {
            "proc.env" => match (env_of(p), key) {
                (None, _) => Extracted::Missing,
                (Some(env), Some(name)) => owned(env_var(&env, &name).to_owned()),
                (Some(env), None) => owned(env.join(" ")),
            },
            "proc.aenv" => match (index, key) {
                // A variable: the first ancestor (parent first) that has it set.
                (_, Some(name)) => owned(
                    self.lineage()
                        .skip(1)
                        .filter_map(&env_of)
                        .map(|env| env_var(&env, &name).to_owned())
                        .find(|v| !v.is_empty())
                        .unwrap_or_default(),
                ),
                (Some(n), None) if n > 0 => self
                    .lineage()
                    .nth(n as usize)
                    .map_or(Extracted::Missing, |q| env_of(q).map_or(Extracted::Missing, |env| owned(env.join(" ")))),
                // Bare, or [0]: the process's own.
                _ => env_of(p).map_or(Extracted::Missing, |env| owned(env.join(" "))),
            },
            "proc.aargs" => match index {
                Some(n) => self.lineage().nth(n as usize).map_or(Extracted::Missing, |q| owned(q.args.join(" "))),
                None => {
                    let all: Vec<Value<'a>> =
                        self.lineage().skip(1).map(|q| Value::Str(Cow::Owned(q.args.join(" ").into_bytes()))).collect();
                    if all.is_empty() {
                        Extracted::Missing
                    } else {
                        Extracted::Many(all)
                    }
                }
            },
            "proc.cmdnargs" => num(field.ty, p.args.len() as i64),
            "proc.cmdlenargs" => num(field.ty, p.args.iter().map(String::len).sum::<usize>() as i64),
            "proc.exeline" => owned(format!("{} {}", p.exe, p.args.join(" "))),
            // The eldest process of the lineage whose name ends in `sh`.
            "proc.loginshellid" => {
                self.lineage().filter(|q| q.name().ends_with("sh")).last().map_or(Extracted::Missing, |q| num(field.ty, i64::from(q.pid)))
            }
            "proc.pvpid" => self.lineage().nth(1).map_or(Extracted::Missing, |q| num(field.ty, i64::from(vpid(q)))),
            "proc.pidns_init_start_ts" => self.pidns_start().map_or(Extracted::Missing, |t| num(field.ty, t as i64)),
            // Only when the executable changed after the namespace started (libsinsp keeps 0,
            // `<NA>`, otherwise).
            "proc.exe_ino.ctime_duration_pidns_start" => {
                match self.pidns_start().map(|t| p.exe_image.ctime_ns.saturating_sub(t as i64)) {
                    Some(after) if after > 0 && p.exe_image.ino != 0 => num(field.ty, after),
                    _ => Extracted::Missing,
                }
            }
            "thread.ismain" => Extracted::One(Value::Bool(d.tid == p.pid)),
            "thread.nametid" => owned(format!("{}{}", p.name(), d.tid)),
            "proc.vmsize" | "proc.vmrss" | "proc.vmswap" | "thread.vmsize" | "thread.vmrss" | "thread.vmsize.b" | "thread.vmrss.b"
            | "thread.pfmajor" | "thread.pfminor" | "proc.fdopencount" | "proc.fdlimit" | "proc.fdusage" | "proc.nthreads"
            | "proc.nchilds" | "proc.stdin.type" | "proc.stdout.type" | "proc.stderr.type" | "proc.stdin.name"
            | "proc.stdout.name" | "proc.stderr.name" => self.table.usage(p, d.tid).map_or(Extracted::Missing, |u| usage_field(&u, field, d.tid == p.pid)),
            "user.homedir" => self.users.homedir(p.uid).map_or(Extracted::Missing, s),
            "user.shell" => self.users.shell(p.uid).map_or(Extracted::Missing, s),
            _ => return None,
        })
    }
}
