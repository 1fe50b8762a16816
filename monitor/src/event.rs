//! Kernel records seen through Falco's event model: a [`FieldSource`] over one record, the
//! process table and the user database.
//!
//! Semantics follow libsinsp: `proc.name` is the task's comm, `proc.exe` is argv[0],
//! `proc.exepath` the executed file, `proc.cmdline` is `name args...`, `proc.cwd` ends with
//! `/`, `proc.aname[0]` is the process itself and `proc.aname` without index yields every
//! ancestor (any match counts). Host processes have `container.id = host`.

use std::borrow::Cow;

use palisade_rules::alert::format_rfc3339;
use palisade_rules::{Extracted, FieldRef, FieldSource, FieldType, Value};

use crate::process::{Process, ProcessTable, Users};

/// How far up the ancestor chain `proc.aname` and friends look.
const MAX_ANCESTORS: usize = 16;

/// One event, ready for rule evaluation.
pub struct KernelEvent<'a> {
    /// Event type code (`palisade_rules::event_types`).
    pub type_code: u16,
    /// Event type name (`execve`).
    pub type_name: &'static str,
    /// Sequence number (1-based).
    pub num: u64,
    /// Wall-clock time, ns since the epoch.
    pub time_ns: u64,
    /// Return value.
    pub res: i64,
    /// Thread id.
    pub tid: u32,
    /// The process.
    pub process: &'a Process,
    /// Every known process (for ancestors).
    pub table: &'a ProcessTable,
    /// User and group names.
    pub users: &'a Users,
}

fn s(v: &str) -> Extracted<'_> {
    Extracted::One(Value::Str(Cow::Borrowed(v.as_bytes())))
}

fn owned(v: String) -> Extracted<'static> {
    Extracted::One(Value::Str(Cow::Owned(v.into_bytes())))
}

/// A number in the field's declared signedness.
fn num(ty: FieldType, v: i64) -> Extracted<'static> {
    Extracted::One(match ty {
        FieldType::Signed => Value::Signed(v),
        _ => Value::Unsigned(v as u64),
    })
}

fn opt<'a>(v: Option<&'a str>) -> Extracted<'a> {
    v.map_or(Extracted::Missing, s)
}

fn loginuid(v: u32) -> i64 {
    if v == u32::MAX {
        -1
    } else {
        i64::from(v)
    }
}

impl KernelEvent<'_> {
    /// The process `n` generations up (0 = self).
    fn ancestor(&self, n: usize) -> Option<&Process> {
        if n == 0 {
            Some(self.process)
        } else {
            self.table.ancestors(self.process.pid, n).get(n - 1).copied()
        }
    }

    /// `proc.a*` fields: one ancestor by index, or every ancestor without.
    fn ancestors<'s>(&'s self, field: &FieldRef, get: impl Fn(&'s Process) -> Value<'s>) -> Extracted<'s> {
        match field.arg.as_ref().and_then(|a| a.index()) {
            Some(i) => self.ancestor(i as usize).map_or(Extracted::Missing, |p| Extracted::One(get(p))),
            None => {
                let all: Vec<Value<'s>> =
                    self.table.ancestors(self.process.pid, MAX_ANCESTORS).into_iter().map(get).collect();
                if all.is_empty() {
                    Extracted::Missing
                } else {
                    Extracted::Many(all)
                }
            }
        }
    }
}

fn text(v: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(v.as_bytes()))
}

fn cwd_with_slash(cwd: &str) -> String {
    if cwd.ends_with('/') {
        cwd.to_owned()
    } else {
        format!("{cwd}/")
    }
}

impl FieldSource for KernelEvent<'_> {
    fn event_type(&self) -> Option<u16> {
        Some(self.type_code)
    }

    fn extract<'a>(&'a self, field: &FieldRef) -> Extracted<'a> {
        let p = self.process;
        let parent = || self.ancestor(1);
        match field.name {
            "evt.type" => s(self.type_name),
            "evt.dir" => s("<"),
            "evt.num" => num(field.ty, self.num as i64),
            "evt.rawtime" => Extracted::One(Value::Unsigned(self.time_ns)),
            "evt.time" | "evt.time.iso8601" | "evt.datetime" => owned(format_rfc3339(self.time_ns)),
            "evt.source" => s("syscall"),
            "evt.res" => s(if self.res >= 0 { "SUCCESS" } else { "FAILURE" }),
            "evt.rawres" => num(field.ty, self.res),
            "evt.failed" => Extracted::One(Value::Bool(self.res < 0)),
            "proc.name" => s(&p.comm),
            "proc.exe" => s(&p.exe),
            "proc.exepath" => s(&p.exepath),
            "proc.cmdline" => owned(p.cmdline()),
            "proc.args" => owned(p.args.join(" ")),
            "proc.pid" | "proc.vpid" => num(field.ty, i64::from(p.pid)),
            "thread.tid" | "thread.vtid" => num(field.ty, i64::from(self.tid)),
            "proc.ppid" => num(field.ty, i64::from(p.ppid)),
            "proc.pname" => parent().map_or(Extracted::Missing, |q| s(&q.comm)),
            "proc.pcmdline" => parent().map_or(Extracted::Missing, |q| owned(q.cmdline())),
            "proc.pexe" => parent().map_or(Extracted::Missing, |q| s(&q.exe)),
            "proc.pexepath" => parent().map_or(Extracted::Missing, |q| s(&q.exepath)),
            "proc.aname" => self.ancestors(field, |q| text(&q.comm)),
            "proc.aexe" => self.ancestors(field, |q| text(&q.exe)),
            "proc.aexepath" => self.ancestors(field, |q| text(&q.exepath)),
            "proc.apid" => self.ancestors(field, |q| Value::Signed(i64::from(q.pid))),
            "proc.acmdline" => self.ancestors(field, |q| Value::Str(Cow::Owned(q.cmdline().into_bytes()))),
            "proc.tty" => num(field.ty, i64::from(p.tty)),
            "proc.cwd" => p.cwd.as_deref().map_or(Extracted::Missing, |c| owned(cwd_with_slash(c))),
            "user.uid" => num(field.ty, i64::from(p.uid)),
            "user.name" => opt(self.users.user(p.uid)),
            "user.loginuid" => num(field.ty, loginuid(p.loginuid)),
            "user.loginname" => opt(self.users.user(p.loginuid)),
            "group.gid" => num(field.ty, i64::from(p.gid)),
            "group.name" => opt(self.users.group(p.gid)),
            "container.id" | "container.name" => s("host"),
            _ => Extracted::Missing,
        }
    }
}
