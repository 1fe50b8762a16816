//! The process table: what the kernel told us about each live process, kept by fork, exec
//! and exit records and seeded from `/proc` at start (so processes older than the daemon
//! have names and ancestors). Reads `/proc` under a root path so tests can use a tempdir.
//!
//! Every record's header carries the task's ids and credentials as of that record (session
//! and process groups included), so a `setsid()`, `setpgid()` or `setuid()` shows from the
//! process's next record on. The working directory comes from exec records and, when the
//! rules read `proc.cwd`, from the exits of `chdir`/`fchdir` (the capture plan adds them).

mod procfs;
mod users;

use std::collections::HashMap;
use std::path::Path;

use crate::record::{Header, SyscallRecord};
use crate::record::{Caps, ExeImage, Record};
pub use procfs::Usage;
pub use users::Users;

/// What we know of one process (thread group). Serialized in captures' process tables
/// (absent fields read as their defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Process {
    /// Process id (tgid).
    pub pid: u32,
    /// Process id in its own pid namespace (`proc.vpid`; 1 for a container's init); 0 when
    /// unknown.
    pub vpid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Session id, in the process's pid namespace (`proc.sid`); 0 when its session leader is
    /// outside that namespace, or unknown.
    pub sid: u32,
    /// Process group id, in the process's pid namespace (`proc.vpgid`); 0 likewise.
    pub vpgid: u32,
    /// Process group id, in the initial pid namespace (`proc.pgid`); 0 when unknown.
    pub pgid: u32,
    /// Kernel task name (`comm`, at most 15 bytes): Falco's `proc.name`.
    pub comm: String,
    /// argv[0]: Falco's `proc.exe`.
    pub exe: String,
    /// The executed file's path: Falco's `proc.exepath`.
    pub exepath: String,
    /// argv without argv[0].
    pub args: Vec<String>,
    /// Working directory, when known.
    pub cwd: Option<String>,
    /// Controlling tty device (0 if none).
    pub tty: u32,
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Audit login uid (`u32::MAX` when unset).
    pub loginuid: u32,
    /// cgroup v2 id.
    pub cgroup_id: u64,
    /// The executable is a memfd (fileless execution).
    pub exe_from_memfd: bool,
    /// The executable is in an overlayfs upper layer (written inside the container).
    pub exe_upper_layer: bool,
    /// The executable is on an overlayfs, only in a lower (image) layer.
    #[serde(default)]
    pub exe_lower_layer: bool,
    /// The environment the exec record carried (Falco's `proc.env`; a fork inherits it);
    /// `None` when no record carried it (seeded from `/proc`, replays). Shared: every event
    /// clones its process.
    #[serde(skip)]
    pub env: Option<std::sync::Arc<Vec<String>>>,
    /// The executable's inode and times.
    pub exe_image: ExeImage,
    /// Capability sets (as of the last exec).
    pub caps: Caps,
    /// When the current program was executed, kernel boot-clock ns (0: before the daemon).
    pub exec_boot_ns: u64,
    /// When the process was created (its fork; an exec keeps it), kernel boot-clock ns:
    /// Falco's clone time, which `proc.duration` counts from. 0: unknown.
    #[serde(default)]
    pub start_boot_ns: u64,
    /// The program a multi-call binary runs when it re-executes itself through
    /// `/proc/self/exe` (busybox's applets: the kernel then names the task `exe`): argv[0]'s
    /// base name. Falco's `proc.name` (and `pname`, `aname`, `cmdline`) use it; everything
    /// that judges the process keeps the kernel's `comm`. See [`applet_of`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applet: Option<String>,
}

impl Process {
    /// Falco's `proc.name`: the task name, or the applet a multi-call binary runs.
    pub fn name(&self) -> &str {
        self.applet.as_deref().unwrap_or(&self.comm)
    }

    /// Falco's `proc.cmdline`: name and arguments.
    pub fn cmdline(&self) -> String {
        if self.args.is_empty() {
            self.name().to_owned()
        } else {
            format!("{} {}", self.name(), self.args.join(" "))
        }
    }
}

/// The kernel's task name is at most this many bytes (`TASK_COMM_LEN` - 1).
const COMM_MAX: usize = 15;

/// The applet run by an exec of `/proc/self/exe` (or `/proc/<pid>/exe`), which the kernel
/// names `exe`: argv[0]'s base name, cut as the kernel cuts a task name.
///
/// busybox runs its applets that way (`sh -c 'nc -e /bin/sh …'` execs `/proc/self/exe` with
/// argv[0] `nc`), so Falco sees `proc.name=exe` and its rules on `nc`, `find`, `grep`… stay
/// silent. Naming the applet is what the program really is for a multi-call binary. For any
/// other program re-executing itself argv[0] is the caller's choice, as it always was for
/// `proc.exe` and as `prctl(PR_SET_NAME)` makes `comm` itself: so the applet name is used
/// only for the rule fields and never for a decision (those read `comm`, `exepath` and the
/// file identity).
fn applet_of(filename: &str, comm: &str, argv: &[String]) -> Option<String> {
    let self_exec = filename == "/proc/self/exe"
        || filename
            .strip_prefix("/proc/")
            .and_then(|r| r.strip_suffix("/exe"))
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
    if !self_exec || comm != "exe" {
        return None;
    }
    let base = argv.first()?.rsplit('/').next()?;
    let mut end = base.len().min(COMM_MAX);
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    Some(&base[..end]).filter(|b| !b.is_empty() && *b != "exe").map(str::to_owned)
}

/// Live processes by pid.
#[derive(Debug, Default)]
pub struct ProcessTable {
    procs: HashMap<u32, Process>,
    proc_root: std::path::PathBuf,
}

impl ProcessTable {
    /// A table reading `/proc` under `proc_root` (normally `/proc`).
    pub fn new(proc_root: &Path) -> ProcessTable {
        ProcessTable { procs: HashMap::new(), proc_root: proc_root.to_owned() }
    }

    /// A table that never reads `/proc`: for replaying a capture, whose own process list
    /// seeds it through [`ProcessTable::insert`].
    pub fn offline() -> ProcessTable {
        ProcessTable { procs: HashMap::new(), proc_root: std::path::PathBuf::new() }
    }

    /// Add or replace a process (seeding from a capture's process list).
    pub fn insert(&mut self, p: Process) {
        self.procs.insert(p.pid, p);
    }

    /// A process by pid, to update state a record does not carry (a capture's `chdir`).
    pub fn get_mut(&mut self, pid: u32) -> Option<&mut Process> {
        self.procs.get_mut(&pid)
    }

    /// Add every process currently in `/proc`.
    pub fn seed(&mut self) -> usize {
        for p in procfs::scan(&self.proc_root) {
            self.procs.insert(p.pid, p);
        }
        self.procs.len()
    }

    /// A process by pid.
    pub fn get(&self, pid: u32) -> Option<&Process> {
        self.procs.get(&pid)
    }

    /// Every known process, in no particular order.
    pub fn processes(&self) -> impl Iterator<Item = &Process> {
        self.procs.values()
    }

    /// Number of processes known.
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// The ancestors of `pid`, parent first, up to `max` (stops at pid 0/1 loops).
    pub fn ancestors(&self, pid: u32, max: usize) -> Vec<&Process> {
        self.ancestors_of(pid).take(max).collect()
    }

    /// The ancestors of `pid`, parent first, lazily (an alert's `%proc.aname[2]` walks two
    /// steps and allocates nothing). Ends at pid 0, at a parent the table does not know, and
    /// after a process that is its own parent.
    pub fn ancestors_of(&self, pid: u32) -> impl Iterator<Item = &Process> + '_ {
        let mut cur = self.procs.get(&pid).map(|p| p.ppid);
        std::iter::from_fn(move || {
            let ppid = cur.filter(|&ppid| ppid != 0)?;
            let p = self.procs.get(&ppid)?;
            cur = (p.pid != p.ppid).then_some(p.ppid);
            Some(p)
        })
    }

    /// The environment of `p`: the one its exec record carried, else (a process older than
    /// the daemon) what `/proc/<pid>/environ` has now — the environment its current program
    /// started with — when this table reads a live `/proc` and the pid is still that process
    /// (its start time, when known, matches). `None` otherwise (an exited process, a reused
    /// pid, an offline table).
    pub fn environ(&self, p: &Process) -> Option<std::sync::Arc<Vec<String>>> {
        if let Some(env) = &p.env {
            return Some(env.clone());
        }
        if !self.still_running(p) {
            return None;
        }
        let raw = std::fs::read(self.proc_root.join(p.pid.to_string()).join("environ")).ok()?;
        let env = raw.split(|b| *b == 0).filter(|v| !v.is_empty()).map(|v| String::from_utf8_lossy(v).into_owned()).collect();
        Some(std::sync::Arc::new(env))
    }

    /// The resources of `p` (as thread `tid`) as `/proc` has them now, on the same terms as
    /// [`ProcessTable::environ`].
    pub fn usage(&self, p: &Process, tid: u32) -> Option<Usage> {
        if !self.still_running(p) {
            return None;
        }
        procfs::usage(&self.proc_root, p.pid, tid)
    }

    /// Whether this table reads a live `/proc` and `p.pid` is still `p`: its start time, when
    /// known, matches the kernel's.
    fn still_running(&self, p: &Process) -> bool {
        /// `/proc/<pid>/stat` counts the start in 10 ms ticks; the fork record's time is a
        /// little later than the kernel's start time.
        const START_SLACK_NS: u64 = 20_000_000;
        if self.proc_root.as_os_str().is_empty() {
            return false;
        }
        p.start_boot_ns == 0
            || procfs::start_boot_ns(&self.proc_root, p.pid).is_some_and(|now| now.abs_diff(p.start_boot_ns) <= START_SLACK_NS)
    }

    /// Update from one kernel record. Returns the process the record is about.
    pub fn apply(&mut self, rec: &Record) -> Option<&Process> {
        match rec {
            Record::Fork { hdr, child_pid, child_tid, child_vpid } => {
                if child_pid != child_tid {
                    return self.procs.get(&hdr.pid); // a new thread: same process
                }
                let mut child = self.procs.get(&hdr.pid).cloned().unwrap_or_else(|| Process {
                    comm: hdr.comm(),
                    uid: hdr.uid,
                    gid: hdr.gid,
                    loginuid: hdr.loginuid,
                    cgroup_id: hdr.cgroup_id,
                    ..Process::default()
                });
                child.pid = *child_pid;
                child.vpid = *child_vpid;
                child.ppid = hdr.pid;
                child.start_boot_ns = hdr.ts_ns;
                // A new process starts in its parent's session and process group.
                set_groups(&mut child, hdr);
                self.procs.insert(*child_pid, child);
                self.procs.get(child_pid)
            }
            Record::Exec { hdr, filename, argv, tty, cwd, exe_flags, vpid, image, caps, env, .. } => {
                let live = !self.proc_root.as_os_str().is_empty();
                let p = self.procs.entry(hdr.pid).or_default();
                if p.start_boot_ns == 0 && live {
                    // Forked before the daemon saw it: the kernel's own start time.
                    p.start_boot_ns = procfs::start_boot_ns(&self.proc_root, hdr.pid).unwrap_or(0);
                }
                p.pid = hdr.pid;
                p.ppid = hdr.ppid;
                p.comm = hdr.comm();
                p.applet = applet_of(filename, &p.comm, argv);
                p.exe = argv.first().cloned().unwrap_or_else(|| filename.clone());
                p.exepath = filename.clone();
                p.args = argv.iter().skip(1).cloned().collect();
                p.tty = *tty;
                p.uid = hdr.uid;
                p.gid = hdr.gid;
                p.loginuid = hdr.loginuid;
                p.cgroup_id = hdr.cgroup_id;
                p.exe_from_memfd = exe_flags & palisade_ebpf::abi::EXE_FROM_MEMFD != 0;
                p.exe_upper_layer = exe_flags & palisade_ebpf::abi::EXE_UPPER_LAYER != 0;
                p.exe_lower_layer = exe_flags & palisade_ebpf::abi::EXE_LOWER_LAYER != 0;
                p.env = env.clone().map(std::sync::Arc::new);
                p.exe_image = *image;
                p.caps = *caps;
                p.exec_boot_ns = hdr.ts_ns;
                p.vpid = *vpid;
                set_groups(p, hdr);
                if !cwd.is_empty() {
                    p.cwd = Some(cwd.clone());
                }
                self.procs.get(&hdr.pid)
            }
            Record::Syscall(sys) => {
                let hdr = &sys.hdr;
                let p = self.procs.entry(hdr.pid).or_insert_with(|| {
                    // Started before the daemon and missed by the /proc scan: what the
                    // header tells, plus what /proc still has.
                    // (An offline table has no /proc to ask.)
                    let live = !self.proc_root.as_os_str().is_empty();
                    live.then(|| procfs::read_process(&self.proc_root, hdr.pid)).flatten().unwrap_or_else(|| Process {
                        pid: hdr.pid,
                        ppid: hdr.ppid,
                        comm: hdr.comm(),
                        ..Process::default()
                    })
                });
                // Credentials and groups can change without an exec (setuid, setsid, ...).
                p.uid = hdr.uid;
                p.gid = hdr.gid;
                p.loginuid = hdr.loginuid;
                p.cgroup_id = hdr.cgroup_id;
                set_groups(p, hdr);
                if let Some(cwd) = new_cwd(sys) {
                    p.cwd = Some(cwd.to_owned());
                }
                Some(p)
            }
            Record::Exit { hdr, .. } => {
                if hdr.pid == hdr.tid {
                    self.procs.remove(&hdr.pid);
                }
                None
            }
        }
    }
}

/// Session and process groups from a record's header.
fn set_groups(p: &mut Process, hdr: &Header) {
    p.sid = hdr.sid;
    p.vpgid = hdr.vpgid;
    p.pgid = hdr.pgid;
}

/// The working directory a successful `chdir`/`fchdir` moved to (the kernel side puts it in
/// the record's path, `SyscallConf::cwd`).
fn new_cwd(sys: &SyscallRecord) -> Option<&str> {
    let event = crate::syscalls::by_nr(sys.nr)?.event;
    if sys.ret != 0 || !matches!(event, "chdir" | "fchdir") {
        return None;
    }
    sys.fd_path.as_deref().filter(|p| p.starts_with('/'))
}

#[cfg(test)]
mod tests;
