//! Replaying Falco/sysdig captures (`.scap`): the capture's events become the [`Record`]s the
//! live kernel path produces, applied to a [`ProcessTable`] seeded from the capture's own
//! process, fd and user lists (never `/proc`), and are evaluated through the same
//! [`KernelEvent`] field source as live events.
//!
//! Differences from the live path, all from libsinsp's model: captures hold enter events
//! too, and Falco evaluates them (`evt.dir = >`), so [`ReplayEvent`] wraps `KernelEvent` to
//! answer `evt.dir` and to hide exit-only values on enter events; syscalls the live path does
//! not capture (`read`, `fstat`, `mmap`, generic `syscall` events such as `madvise`) get a
//! parameterless syscall entry of their own name, so `evt.type`, `proc.*` and `fd.*` work on
//! them while `evt.arg.*` is absent. `procexit` and meta events (`procinfo`, `switch`,
//! `container`, user/group notifications) update state but are not evaluated. Threads belong to
//! the container their cgroups name, described by the capture's `container` events
//! ([`containers`]), so `container.*` and the profile judge see what they see live.

mod containers;
mod convert;
mod names;
mod state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use palisade_rules::{event_types, Extracted, FieldRef, FieldSource, Value};
use palisade_scap::schema::flags;
use palisade_scap::{Block, Event, Reader, ScapError};

use palisade_events::containers::ContainerMeta;
use palisade_events::event::{Call, EventData, KernelEvent};
use palisade_events::record::Record;
use palisade_events::process::{ProcessTable, Users};
use palisade_events::syscalls::{self, FdOf, Syscall};
use state::State;

/// Event types that only carry state (or nothing rules read).
const NOT_EVALUATED: &[&str] =
    &["procinfo", "switch", "container", "useradded", "userdeleted", "groupadded", "groupdeleted", "scapevent",
      "signaldeliver", "notification", "infra", "pluginevent", "asyncevent", "drop", "sysdigevent", "cpu_hotplug",
      "page_fault", "NA"];

/// A replayed event: the event, its direction and its container.
#[derive(Clone, Debug)]
pub struct Replayed {
    /// The event, as the live path would build it.
    pub data: EventData,
    /// Whether it is an enter event.
    pub enter: bool,
    /// The thread's container; `None` on the host.
    pub container: Option<Arc<ContainerMeta>>,
}

impl Replayed {
    /// The event as the rules see it.
    pub fn view<'a>(&'a self, table: &'a ProcessTable, users: &'a Users) -> ReplayEvent<'a> {
        ReplayEvent { inner: self.data.view(table, users, self.container.as_deref()), enter: self.enter }
    }
}

/// A replayed event as a [`FieldSource`]: [`KernelEvent`] plus the direction.
pub struct ReplayEvent<'a> {
    /// The event.
    pub inner: KernelEvent<'a>,
    /// Whether it is an enter event.
    pub enter: bool,
}

impl FieldSource for ReplayEvent<'_> {
    fn event_type(&self) -> Option<u16> {
        self.inner.event_type()
    }

    fn extract<'a>(&'a self, field: &FieldRef) -> Extracted<'a> {
        if !self.enter {
            return self.inner.extract(field);
        }
        match field.name {
            "evt.dir" => Extracted::One(Value::Str(b">".as_slice().into())),
            "evt.is_open_read" | "evt.is_open_write" | "evt.is_open_exec" | "evt.failed" => {
                Extracted::One(Value::Bool(false))
            }
            "evt.arg" | "evt.rawarg" | "evt.args" | "evt.res" | "evt.rawres" => Extracted::Missing,
            _ => self.inner.extract(field),
        }
    }
}

/// What a replay saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Event blocks read.
    pub events_read: u64,
    /// Events evaluated (enter and exit).
    pub events_evaluated: u64,
    /// Threads listed by the capture.
    pub threads_seeded: u64,
}

/// A parameterless syscall entry for an event name the syscall table does not have, made
/// once per name for the life of the process.
fn syscall_entry(name: &str) -> &'static Syscall {
    if let Some(s) = syscalls::for_event(name).next() {
        return s;
    }
    static EXTRA: OnceLock<Mutex<HashMap<String, &'static Syscall>>> = OnceLock::new();
    let mut map = EXTRA.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    map.entry(name.to_owned()).or_insert_with(|| {
        let event: &'static str = Box::leak(name.to_owned().into_boxed_str());
        Box::leak(Box::new(Syscall { nr: u32::MAX, event, params: &[], strings: [None, None], fd: FdOf::Arg(0) }))
    })
}

/// Replay state: process table, users, threads and fds.
#[derive(Debug)]
pub struct Replay {
    /// Processes, seeded from the capture.
    pub table: ProcessTable,
    /// The capture's users and groups.
    pub users: Users,
    state: State,
    /// Containers by replay key, from the capture's `container` events.
    containers: HashMap<u64, Arc<ContainerMeta>>,
    num: u64,
    kinds: HashMap<&'static str, (&'static Syscall, u16)>,
    execve: u16,
}

impl Default for Replay {
    fn default() -> Replay {
        Replay::new()
    }
}

impl Replay {
    /// Empty state (no `/proc`).
    pub fn new() -> Replay {
        Replay {
            table: ProcessTable::offline(),
            users: Users::default(),
            state: State::default(),
            containers: HashMap::new(),
            num: 0,
            kinds: HashMap::new(),
            execve: event_types::code("execve").unwrap_or_default(),
        }
    }

    /// Take in a metadata block (process, fd, user lists); returns threads seeded.
    pub fn seed(&mut self, block: &Block<'_>) -> u64 {
        match block {
            Block::Processes(list) => {
                for p in self.state.seed_threads(list) {
                    self.table.insert(p);
                }
                list.len() as u64
            }
            Block::Fds(f) => {
                self.state.seed_fds(f.tid, &f.fds);
                0
            }
            Block::Users(u) => {
                self.users = Users::from_lists(
                    u.users.iter().map(|x| (x.uid, x.name.clone())),
                    u.groups.iter().map(|g| (g.gid, g.name.clone())),
                );
                0
            }
            _ => 0,
        }
    }

    fn kind(&mut self, name: &'static str) -> Option<(&'static Syscall, u16)> {
        if let Some(k) = self.kinds.get(name) {
            return Some(*k);
        }
        let k = (syscall_entry(name), event_types::code(name)?);
        self.kinds.insert(name, k);
        Some(k)
    }

    /// Apply one capture event; returns the event to evaluate, if it is one.
    pub fn step(&mut self, ev: &Event<'_>) -> Option<Replayed> {
        let schema = ev.schema()?;
        if schema.name == "container" {
            self.describe_container(ev);
            return None;
        }
        if schema.has(flags::UNUSED) || NOT_EVALUATED.contains(&schema.name) {
            return None;
        }
        if schema.name == "procexit" {
            let hdr = self.state.header(ev.tid, ev.ts);
            self.table.apply(&Record::Exit { hdr, exit_code: convert::int(ev, "status").unwrap_or(0) as i32 });
            if let Some(t) = self.state.threads.remove(&ev.tid) {
                if t.pid == ev.tid {
                    self.state.fds.remove(&t.pid);
                }
            }
            return None;
        }
        let enter = ev.is_enter();
        let paired = if enter {
            None
        } else {
            self.state.threads.get_mut(&ev.tid).and_then(|t| t.enter.take()).filter(|e| e.code + 1 == ev.event_type)
        };
        let name: &'static str = if schema.name == "syscall" {
            let id = if enter { convert::int(ev, "nativeID").map(|n| n as u16) } else { paired.as_ref()?.native_id };
            names::name(id?)?
        } else {
            schema.name
        };
        let (sys, code) = self.kind(name)?;
        if enter {
            let rec = convert::enter(ev, sys.nr, &self.state);
            self.state.thread(ev.tid).enter = Some(convert::enter_info(ev));
            return self.build(Record::Syscall(Box::new(rec)), sys, code, true);
        }
        let pid = self.state.threads.get(&ev.tid).map_or(ev.tid, |t| t.pid);
        let cwd = self.table.get(pid as u32).and_then(|p| p.cwd.clone());
        let conv = convert::exit(ev, name, sys.nr, paired.as_ref(), &mut self.state, cwd.as_deref());
        if let Some(before) = &conv.before {
            self.table.apply(before);
        }
        if let Record::Syscall(rec) = &conv.record {
            self.track_cwd(name, rec.ret, ev, cwd.as_deref(), pid);
        }
        self.build(conv.record, sys, code, false)
    }

    /// A `container` event: `CONTAINER_JSON_E` (`json`) or the old `CONTAINER_E`.
    fn describe_container(&mut self, ev: &Event<'_>) {
        let text = |name| ev.param_named(name).map(palisade_scap::text).unwrap_or_default();
        let meta = match ev.param_named("json") {
            Some(json) => containers::from_json(&palisade_scap::text(json)),
            None => Some(containers::from_parts(&text("id"), &text("name"), &text("image"))),
        };
        if let Some(mut meta) = meta.filter(|m| !m.full_id.is_empty()) {
            meta.users = self.users.clone();
            self.containers.insert(containers::key(&meta.full_id), Arc::new(meta));
        }
    }

    /// The container of replay key `key` (0: the host): described, or known by its id only.
    fn container(&mut self, key: u64) -> Option<Arc<ContainerMeta>> {
        if key == 0 {
            return None;
        }
        if let Some(c) = self.containers.get(&key) {
            return Some(Arc::clone(c));
        }
        let id = self.state.container_ids.get(&key)?;
        let meta = Arc::new(ContainerMeta { full_id: id.clone(), users: self.users.clone(), ..ContainerMeta::default() });
        self.containers.insert(key, Arc::clone(&meta));
        Some(meta)
    }

    /// `chdir`/`fchdir` move the process's cwd (libsinsp `parse_chdir_exit`).
    fn track_cwd(&mut self, name: &str, ret: i64, ev: &Event<'_>, cwd: Option<&str>, pid: u64) {
        if ret < 0 {
            return;
        }
        let new = match name {
            "chdir" => ev.param_named("path").map(palisade_scap::text).map(|p| {
                syscalls::resolve_relative(cwd.unwrap_or("/"), &p).unwrap_or(p)
            }),
            "fchdir" => self.state.threads.get(&ev.tid).and_then(|_| {
                let fd = convert::int(ev, "fd")?;
                match self.state.fd(pid, fd)? {
                    state::Fd::File { path, .. } => Some(path.clone()),
                    _ => None,
                }
            }),
            _ => None,
        };
        if let (Some(new), Some(p)) = (new, self.table.get_mut(pid as u32)) {
            p.cwd = Some(new);
        }
    }

    fn build(&mut self, record: Record, sys: &'static Syscall, code: u16, enter: bool) -> Option<Replayed> {
        let process = self.table.apply(&record)?.clone();
        let (type_code, type_name, res, hdr, call) = match record {
            Record::Exec { hdr, .. } => (self.execve, "execve", 0, hdr, None),
            Record::Syscall(rec) => (code, sys.event, rec.ret, rec.hdr, Some(Call::new(sys, *rec))),
            Record::Fork { .. } | Record::Exit { .. } => return None,
        };
        self.num += 1;
        let container = self.container(hdr.cgroup_id);
        let data = EventData {
            type_code,
            type_name,
            num: self.num,
            time_ns: hdr.ts_ns,
            res,
            tid: hdr.tid,
            cgroup_id: hdr.cgroup_id,
            boot_to_wall: 0,
            process,
            call,
        };
        Some(Replayed { data, enter, container })
    }
}

/// Replay a whole capture (decompressed bytes): every evaluable event goes to `f` with the
/// state as of that event.
pub fn run(data: &[u8], mut f: impl FnMut(&Replayed, &ProcessTable, &Users)) -> Result<Summary, ScapError> {
    let mut reader = Reader::new(data)?;
    let mut replay = Replay::new();
    let mut summary = Summary::default();
    while let Some(raw) = reader.next_raw() {
        let raw = raw?;
        if raw.kind.is_event() {
            let ev = Event::parse_block(&raw)?;
            summary.events_read += 1;
            if let Some(r) = replay.step(&ev) {
                summary.events_evaluated += 1;
                f(&r, &replay.table, &replay.users);
            }
        } else {
            summary.threads_seeded += replay.seed(&palisade_scap::decode(&raw)?);
        }
    }
    Ok(summary)
}
