//! Kernel records seen through Falco's event model: [`EventBuilder`] turns a record into an
//! [`EventData`] (updating the process table), and [`KernelEvent`] is the [`FieldSource`] the
//! rules read it through, with the process table and the user database.
//!
//! Semantics follow libsinsp: `proc.name` is the task's comm, `proc.exe` is argv[0],
//! `proc.exepath` the executed file, `proc.cmdline` is `name args...`, `proc.cwd` ends with
//! `/`, `proc.aname[0]` is the process itself and `proc.aname` without index yields every
//! ancestor (any match counts). Container fields are in [`container`]; syscall fields
//! (`evt.arg.*`, `fd.*`) are in [`call`].

pub mod call;
pub mod caps;
pub mod change;
pub mod container;
pub mod dns;
pub mod fd;
mod generic;
mod procinfo;
pub mod resolve;
pub mod session;

use std::borrow::Cow;

use palisade_rules::{event_types, Extracted, FieldRef, FieldSource, FieldType, Value};

use crate::containers::ContainerMeta;
use crate::record::Record;
use crate::process::{Process, ProcessTable, Users};
use crate::syscalls;
pub use call::Call;

/// How far up the ancestor chain `proc.aname` and friends look.
pub(crate) const MAX_ANCESTORS: usize = 16;

/// One event, owning what the rules read from it besides the process table.
#[derive(Clone, Debug)]
pub struct EventData {
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
    /// The cgroup v2 id of the task: which container, if any.
    pub cgroup_id: u64,
    /// Add to a kernel boot-clock timestamp to get wall-clock ns.
    pub boot_to_wall: u64,
    /// The process, as of this event.
    pub process: Process,
    /// The syscall, for syscall events (not for execs from the scheduler tracepoint).
    pub call: Option<Call>,
}

/// Turns records into events, numbering them.
#[derive(Debug)]
pub struct EventBuilder {
    boot_to_wall: u64,
    num: u64,
    execve: u16,
}

impl EventBuilder {
    /// A builder adding `boot_to_wall` ns to kernel (boot-clock) timestamps.
    pub fn new(boot_to_wall: u64) -> EventBuilder {
        EventBuilder { boot_to_wall, num: 0, execve: event_types::code("execve").unwrap_or_default() }
    }

    /// Apply `rec` to the table and return the event it is, if it is one (forks and exits
    /// only update the table).
    pub fn build(&mut self, rec: Record, table: &mut ProcessTable) -> Option<EventData> {
        let process = table.apply(&rec)?.clone();
        let (type_code, type_name, res, hdr, call) = match rec {
            Record::Exec { hdr, .. } => (self.execve, "execve", 0, hdr, None),
            Record::Syscall(sys) => {
                let entry = syscalls::exit_event(syscalls::by_nr(sys.nr)?, sys.ret);
                if entry.event == "execve" && sys.ret >= 0 {
                    // Successful execs are reported by `sched_process_exec` (Record::Exec); the
                    // syscall's exit is captured only for the failed ones enforcement denies.
                    return None;
                }
                let code = event_types::code(entry.event)?;
                (code, entry.event, sys.ret, sys.hdr, Some(Call::new(entry, *sys)))
            }
            Record::Fork { .. } | Record::Exit { .. } => return None,
        };
        self.num += 1;
        Some(EventData {
            type_code,
            type_name,
            num: self.num,
            time_ns: hdr.ts_ns + self.boot_to_wall,
            res,
            tid: hdr.tid,
            cgroup_id: hdr.cgroup_id,
            boot_to_wall: self.boot_to_wall,
            process,
            call,
        })
    }
}

impl EventData {
    /// A failed `execve`/`execveat` (seen at the syscall's exit): captured for enforcement
    /// decisions only, never shown to the rules (Falco's `spawned_process` does not test the
    /// result, and the process did not change).
    pub fn is_failed_exec(&self) -> bool {
        self.type_name == "execve" && self.call.is_some()
    }

    /// Captured for the profile judge only, never shown to the rules: failed execs, and the
    /// executable file mappings W^X judges (`mmap`, whose Falco parameters Palisade does not
    /// supply).
    pub fn is_judge_only(&self) -> bool {
        self.is_failed_exec() || self.type_name == "mmap"
    }

    /// The event as the rules see it. `container` is the task's container (none on the host);
    /// user and group names then come from the container's own files.
    pub fn view<'a>(
        &'a self,
        table: &'a ProcessTable,
        host_users: &'a Users,
        container: Option<&'a ContainerMeta>,
    ) -> KernelEvent<'a> {
        let users = container.map_or(host_users, |c| &c.users);
        KernelEvent { data: self, table, users, container }
    }
}

/// One event, ready for rule evaluation.
pub struct KernelEvent<'a> {
    /// The event.
    pub data: &'a EventData,
    /// Every known process (for ancestors).
    pub table: &'a ProcessTable,
    /// User and group names.
    pub users: &'a Users,
    /// The task's container; `None` on the host.
    pub container: Option<&'a ContainerMeta>,
}

pub(crate) fn s(v: &str) -> Extracted<'_> {
    Extracted::One(Value::Str(Cow::Borrowed(v.as_bytes())))
}

pub(crate) fn owned(v: String) -> Extracted<'static> {
    Extracted::One(Value::Str(Cow::Owned(v.into_bytes())))
}

/// A number in the field's declared signedness.
pub(crate) fn num(ty: FieldType, v: i64) -> Extracted<'static> {
    Extracted::One(match ty {
        FieldType::Signed => Value::Signed(v),
        _ => Value::Unsigned(v as u64),
    })
}

fn opt(v: Option<&str>) -> Extracted<'_> {
    v.map_or(Extracted::Missing, s)
}

fn loginuid(v: u32) -> i64 {
    if v == u32::MAX {
        -1
    } else {
        i64::from(v)
    }
}

fn text(v: &str) -> Value<'_> {
    Value::Str(Cow::Borrowed(v.as_bytes()))
}

/// The process's exec flags as libscap's `PPM_EXE_*` bits.
fn exe_flags_ppm(p: &Process) -> u32 {
    const PPM_EXE_UPPER_LAYER: u32 = 1 << 1;
    const PPM_EXE_FROM_MEMFD: u32 = 1 << 2;
    const PPM_EXE_LOWER_LAYER: u32 = 1 << 3;
    let mut f = 0;
    if p.exe_upper_layer {
        f |= PPM_EXE_UPPER_LAYER;
    }
    if p.exe_lower_layer {
        f |= PPM_EXE_LOWER_LAYER;
    }
    if p.exe_from_memfd {
        f |= PPM_EXE_FROM_MEMFD;
    }
    f
}

/// When `p` was created (its fork), wall-clock ns; `None` when the table does not know.
fn started(p: &Process, d: &EventData) -> Option<u64> {
    (p.start_boot_ns > 0).then(|| p.start_boot_ns + d.boot_to_wall)
}

fn cwd_with_slash(cwd: &str) -> String {
    if cwd.ends_with('/') {
        cwd.to_owned()
    } else {
        format!("{cwd}/")
    }
}

impl KernelEvent<'_> {
    /// The process `n` generations up (0 = self).
    fn ancestor(&self, n: usize) -> Option<&Process> {
        if n == 0 {
            Some(&self.data.process)
        } else {
            self.table.ancestors_of(self.data.process.pid).nth(n - 1)
        }
    }

    /// `proc.a*` fields: one ancestor by index, or every ancestor without.
    fn ancestors<'s>(&'s self, field: &FieldRef, get: impl Fn(&'s Process) -> Value<'s>) -> Extracted<'s> {
        match field.arg.as_ref().and_then(|a| a.index()) {
            Some(i) => self.ancestor(i as usize).map_or(Extracted::Missing, |p| Extracted::One(get(p))),
            None => {
                let all: Vec<Value<'s>> =
                    self.table.ancestors_of(self.data.process.pid).take(MAX_ANCESTORS).map(get).collect();
                if all.is_empty() {
                    Extracted::Missing
                } else {
                    Extracted::Many(all)
                }
            }
        }
    }
}

impl FieldSource for KernelEvent<'_> {
    fn event_type(&self) -> Option<u16> {
        Some(self.data.type_code)
    }

    // Dispatch by name: a match on short strings, fine at the rates the kernel's filters
    // leave (rules see only events some rule can match).
    fn extract<'a>(&'a self, field: &FieldRef) -> Extracted<'a> {
        let d = self.data;
        let p = &d.process;
        let parent = || self.ancestor(1);
        if let Some(v) = container::extract(self.container, field, d.time_ns) {
            return v;
        }
        if let Some(call) = &d.call {
            if let Some(v) = call.extract(field, self.users) {
                return v;
            }
        }
        if let Some(v) = session::extract(self.table, p, field) {
            return v;
        }
        // The two modules' fields by prefix, so the common fields skip their matches.
        let class = field.name.split('.').next().unwrap_or_default();
        if matches!(class, "evt" | "syscall" | "util") {
            if let Some(v) = generic::extract(d, field) {
                return v;
            }
        } else if matches!(class, "proc" | "thread" | "user") {
            if let Some(v) = self.extract_procinfo(field) {
                return v;
            }
        }
        match field.name {
            // An exec from the scheduler tracepoint: its one parameter rules read is `flags`.
            "evt.arg" | "evt.rawarg" if d.call.is_none() => {
                if field.arg.as_ref().is_some_and(|a| a.key() == "flags") {
                    let ppm = exe_flags_ppm(p);
                    if field.name == "evt.arg" {
                        owned(syscalls::render::execve_flags(ppm))
                    } else {
                        num(field.ty, i64::from(ppm))
                    }
                } else {
                    Extracted::Missing
                }
            }
            "evt.type" => s(d.type_name),
            "evt.dir" => s("<"),
            "evt.num" => num(field.ty, d.num as i64),
            "evt.rawtime" => Extracted::One(Value::Unsigned(d.time_ns)),
            "evt.source" => s("syscall"),
            "evt.res" => s(if d.res >= 0 { "SUCCESS" } else { "FAILURE" }),
            "evt.rawres" => num(field.ty, d.res),
            "evt.failed" => Extracted::One(Value::Bool(d.res < 0)),
            "evt.is_open_read" | "evt.is_open_write" | "evt.is_open_exec" => Extracted::One(Value::Bool(false)),
            "proc.name" => s(p.name()),
            "proc.exe" => s(&p.exe),
            "proc.exepath" => s(&p.exepath),
            "proc.cmdline" => owned(p.cmdline()),
            "proc.args" => owned(p.args.join(" ")),
            "proc.pid" => num(field.ty, i64::from(p.pid)),
            "proc.vpid" => num(field.ty, i64::from(if p.vpid == 0 { p.pid } else { p.vpid })),
            "thread.tid" => num(field.ty, i64::from(d.tid)),
            // The namespaced thread id is known for the main thread only (it is the vpid).
            "thread.vtid" if d.tid == p.pid => num(field.ty, i64::from(if p.vpid == 0 { p.pid } else { p.vpid })),
            "proc.ppid" => num(field.ty, i64::from(p.ppid)),
            "proc.pname" => parent().map_or(Extracted::Missing, |q| s(q.name())),
            "proc.pcmdline" => parent().map_or(Extracted::Missing, |q| owned(q.cmdline())),
            "proc.pexe" => parent().map_or(Extracted::Missing, |q| s(&q.exe)),
            "proc.pexepath" => parent().map_or(Extracted::Missing, |q| s(&q.exepath)),
            "proc.aname" => self.ancestors(field, |q| text(q.name())),
            "proc.aexe" => self.ancestors(field, |q| text(&q.exe)),
            "proc.aexepath" => self.ancestors(field, |q| text(&q.exepath)),
            "proc.apid" => self.ancestors(field, |q| Value::Signed(i64::from(q.pid))),
            "proc.acmdline" => self.ancestors(field, |q| Value::Str(Cow::Owned(q.cmdline().into_bytes()))),
            "proc.tty" => num(field.ty, i64::from(p.tty)),
            "proc.cwd" => p.cwd.as_deref().map_or(Extracted::Missing, |c| owned(cwd_with_slash(c))),
            "proc.is_exe_from_memfd" => Extracted::One(Value::Bool(p.exe_from_memfd)),
            "proc.is_exe_upper_layer" => Extracted::One(Value::Bool(p.exe_upper_layer)),
            "proc.is_exe_lower_layer" => Extracted::One(Value::Bool(p.exe_lower_layer)),
            // Inode 0 and time 0 stand for "not known" (libsinsp: `<NA>`).
            "proc.exe_ino" if p.exe_image.ino != 0 => num(field.ty, p.exe_image.ino as i64),
            "proc.exe_ino.ctime" if p.exe_image.ctime_ns > 0 => Extracted::One(Value::Unsigned(p.exe_image.ctime_ns as u64)),
            "proc.exe_ino.mtime" if p.exe_image.mtime_ns > 0 => Extracted::One(Value::Unsigned(p.exe_image.mtime_ns as u64)),
            // libsinsp joins the thread's container id and the fd's name or directory.
            "fd.containername" | "fd.containerdirectory" => {
                let fd = d.call.as_ref().and_then(|c| c.fd.as_ref());
                let part = if field.name == "fd.containername" { fd.and_then(fd::FdView::name) } else { fd.and_then(|f| f.directory().map(str::to_owned)) };
                let id = self.container.map_or("host", ContainerMeta::short_id);
                part.map_or(Extracted::Missing, |v| owned(format!("{id}:{v}")))
            }
            "proc.exe_ino.ctime_duration_proc_start" if p.exec_boot_ns > 0 => {
                let started = (p.exec_boot_ns + d.boot_to_wall) as i64;
                num(field.ty, started.saturating_sub(p.exe_image.ctime_ns))
            }
            // Falco's clone time: since the fork, not the last exec (`proc_is_new`).
            "proc.duration" => started(p, d).map_or(Extracted::Missing, |t| num(field.ty, d.time_ns.saturating_sub(t) as i64)),
            "proc.ppid.duration" => {
                parent().and_then(|q| started(q, d)).map_or(Extracted::Missing, |t| num(field.ty, d.time_ns.saturating_sub(t) as i64))
            }
            "proc.pid.ts" => started(p, d).map_or(Extracted::Missing, |t| num(field.ty, t as i64)),
            "proc.ppid.ts" => parent().and_then(|q| started(q, d)).map_or(Extracted::Missing, |t| num(field.ty, t as i64)),
            "thread.cap_inheritable" => owned(caps::names(p.caps.inheritable)),
            "thread.cap_permitted" => owned(caps::names(p.caps.permitted)),
            "thread.cap_effective" => owned(caps::names(p.caps.effective)),
            "user.uid" => num(field.ty, i64::from(p.uid)),
            "user.name" => opt(self.users.user(p.uid)),
            "user.loginuid" => num(field.ty, loginuid(p.loginuid)),
            "user.loginname" => opt(self.users.user(p.loginuid)),
            "group.gid" => num(field.ty, i64::from(p.gid)),
            "group.name" => opt(self.users.group(p.gid)),
            _ => Extracted::Missing,
        }
    }
}

#[cfg(test)]
mod fields_tests;
#[cfg(test)]
mod registry_audit_tests;
#[cfg(test)]
mod upstream_fields_tests;
