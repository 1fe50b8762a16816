//! What replay knows between events, the way libsinsp keeps it: threads (by tid, with their
//! process), each process's fd table, and each thread's last enter event, seeded from the
//! capture's process (PL) and fd (FDL) lists instead of `/proc`.

use std::collections::HashMap;
use std::net::IpAddr;

use palisade_ebpf::abi::{self, fd_kind, FdInfo};
use palisade_scap::{FdEntry, FdType, ThreadInfo};

use palisade_events::record::Header;
use palisade_events::record::{Caps, ExeImage};
use palisade_events::process::Process;

const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFIFO: u32 = 0o010_000;

/// One thread.
#[derive(Clone, Debug, Default)]
pub(super) struct Thread {
    /// Its process (thread group leader).
    pub pid: u64,
    /// Parent thread.
    pub ptid: u64,
    /// Task name.
    pub comm: String,
    /// Credentials.
    pub uid: u32,
    /// Credentials.
    pub gid: u32,
    /// Audit login uid.
    pub loginuid: u32,
    /// Its container's replay key ([`super::containers::key`]); 0 on the host.
    pub container: u64,
    /// Session id and process group ids (`proc.sid`, `proc.vpgid`, `proc.pgid`), as far as
    /// the capture tells (process lists carry the session, execs the groups).
    pub sid: u32,
    pub vpgid: u32,
    pub pgid: u32,
    /// The last enter event not yet paired with its exit.
    pub enter: Option<Enter>,
}

/// What an exit needs from its enter event (libsinsp's "last event" state).
#[derive(Clone, Debug, Default)]
pub(super) struct Enter {
    /// Its event type code.
    pub code: u16,
    /// Its `fd` parameter.
    pub fd: Option<i64>,
    /// A generic event's native syscall number.
    pub native_id: Option<u16>,
    /// socket(): domain.
    pub domain: Option<u32>,
}

/// What an fd is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Fd {
    /// A file or directory with its path.
    File { path: String, dir: bool },
    /// A pipe or fifo.
    Pipe(String),
    /// An IP socket: family (2/10), protocol, local and remote ends.
    Ip { family: u16, protocol: u16, local: (IpAddr, u16), remote: (IpAddr, u16) },
    /// A unix socket with its path.
    Unix(String),
    /// Anything else (with the socket family when it is a socket).
    Other(u16),
}

impl Fd {
    /// The kernel-record view of fd `num`: the `FdInfo` and the path the live path carries.
    pub(super) fn info(&self, num: i64) -> (FdInfo, Option<String>) {
        let mut i: FdInfo = bytemuck::Zeroable::zeroed();
        i.num = num as i32;
        let path = match self {
            Fd::File { path, dir } => {
                i.kind = fd_kind::FILE;
                i.i_mode = if *dir { S_IFDIR } else { S_IFREG };
                Some(path.clone())
            }
            Fd::Pipe(p) => {
                i.kind = fd_kind::FILE;
                i.i_mode = S_IFIFO;
                Some(p.clone())
            }
            Fd::Ip { family, protocol, local, remote } => {
                i.kind = fd_kind::INET;
                i.family = *family;
                i.protocol = *protocol;
                (i.laddr, i.lport) = (octets(local.0), local.1);
                (i.raddr, i.rport) = (octets(remote.0), remote.1);
                None
            }
            Fd::Unix(p) => {
                i.kind = fd_kind::UNIX;
                (!p.is_empty()).then(|| p.clone())
            }
            Fd::Other(family) => {
                i.kind = if *family == 0 { fd_kind::NONE } else { fd_kind::SOCKET };
                i.family = *family;
                None
            }
        };
        (i, path)
    }
}

fn octets(ip: IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match ip {
        IpAddr::V4(v) => out[..4].copy_from_slice(&v.octets()),
        IpAddr::V6(v) => out = v.octets(),
    }
    out
}

impl From<&FdEntry> for Fd {
    fn from(e: &FdEntry) -> Fd {
        let ip = |family: u16, server: bool| {
            let (s, sp, d, dp, proto) = e.endpoints.unwrap_or((IpAddr::from([0u8; 4]), 0, IpAddr::from([0u8; 4]), 0, 0));
            let remote = if server { (d, 0) } else { (d, dp) };
            Fd::Ip { family, protocol: l4(proto), local: (s, sp), remote }
        };
        match e.ty {
            FdType::File => Fd::File { path: e.name.clone(), dir: false },
            FdType::Directory => Fd::File { path: e.name.clone(), dir: true },
            FdType::Fifo => Fd::Pipe(e.name.clone()),
            FdType::Unix => Fd::Unix(e.name.clone()),
            FdType::Ipv4 => ip(2, false),
            FdType::Ipv6 => ip(10, false),
            FdType::Ipv4Server => ip(2, true),
            FdType::Ipv6Server => ip(10, true),
            FdType::Other(_) => Fd::Other(0),
        }
    }
}

/// libscap's `SCAP_L4_*` → IPPROTO_*.
pub(super) fn l4(scap: u8) -> u16 {
    match scap {
        1 => 6,   // tcp
        2 => 17,  // udp
        3 => 1,   // icmp
        4 => 255, // raw
        _ => 0,
    }
}

/// Threads, fd tables and enter events.
#[derive(Debug, Default)]
pub(super) struct State {
    /// Threads by tid.
    pub threads: HashMap<u64, Thread>,
    /// fd tables by process id.
    pub fds: HashMap<u64, HashMap<i64, Fd>>,
    /// The ids of the containers threads were found in, by replay key: a container the
    /// capture names in cgroups but describes in no `container` event still has its id.
    pub container_ids: HashMap<u64, String>,
}

impl State {
    /// Seed from a process list block; returns the processes (thread group leaders) for the
    /// process table.
    pub(super) fn seed_threads(&mut self, list: &[ThreadInfo]) -> Vec<Process> {
        for t in list {
            let thread = Thread {
                pid: t.pid,
                ptid: t.ptid,
                comm: t.comm.clone(),
                uid: t.uid,
                gid: t.gid,
                loginuid: t.loginuid,
                container: self.container_of(&t.cgroups),
                sid: u32::try_from(t.sid).unwrap_or(0),
                vpgid: 0,
                pgid: 0,
                enter: None,
            };
            self.threads.insert(t.tid, thread);
        }
        list.iter()
            .filter(|t| t.tid == t.pid)
            .map(|t| Process {
                pid: t.pid as u32,
                vpid: u32::try_from(t.vpid).unwrap_or(0),
                ppid: self.threads.get(&t.ptid).map_or(t.ptid, |p| p.pid) as u32,
                comm: t.comm.clone(),
                exe: t.exe.clone(),
                exepath: t.exepath.clone(),
                args: t.args.clone(),
                cwd: (!t.cwd.is_empty()).then(|| t.cwd.clone()),
                tty: t.tty,
                uid: t.uid,
                gid: t.gid,
                loginuid: t.loginuid,
                cgroup_id: self.threads.get(&t.tid).map_or(0, |th| th.container),
                exe_from_memfd: t.exe_from_memfd,
                exe_upper_layer: t.exe_upper_layer,
                exe_image: ExeImage { ino: t.exe_ino, ..ExeImage::default() },
                caps: Caps { inheritable: t.caps[0], permitted: t.caps[1], effective: t.caps[2] },
                exec_boot_ns: 0,
                sid: u32::try_from(t.sid).unwrap_or(0),
                ..Process::default()
            })
            .collect()
    }

    /// The replay key of the container `cgroups` name (0: the host), remembering its id.
    pub(super) fn container_of<S: AsRef<str>>(&mut self, cgroups: &[S]) -> u64 {
        let Some(id) = super::containers::id_from_cgroups(cgroups) else { return 0 };
        let key = super::containers::key(&id);
        self.container_ids.entry(key).or_insert(id);
        key
    }

    /// Seed one thread's fds.
    pub(super) fn seed_fds(&mut self, tid: u64, fds: &[FdEntry]) {
        let pid = self.threads.get(&tid).map_or(tid, |t| t.pid);
        let table = self.fds.entry(pid).or_default();
        for e in fds {
            table.insert(e.fd, Fd::from(e));
        }
    }

    /// The thread `tid`, created (as its own process) when the capture did not list it.
    pub(super) fn thread(&mut self, tid: u64) -> &mut Thread {
        self.threads.entry(tid).or_insert_with(|| Thread { pid: tid, loginuid: u32::MAX, ..Thread::default() })
    }

    /// fd `num` of the process `pid`.
    pub(super) fn fd(&self, pid: u64, num: i64) -> Option<&Fd> {
        self.fds.get(&pid)?.get(&num)
    }

    /// The kernel-record header of an event by `tid` at `ts`.
    pub(super) fn header(&self, tid: u64, ts: u64) -> Header {
        let mut h: Header = bytemuck::Zeroable::zeroed();
        h.abi = abi::ABI_VERSION;
        h.ts_ns = ts;
        h.tid = tid as u32;
        if let Some(t) = self.threads.get(&tid) {
            h.pid = t.pid as u32;
            h.ppid = self.threads.get(&t.ptid).map_or(t.ptid, |p| p.pid) as u32;
            h.uid = t.uid;
            h.gid = t.gid;
            h.loginuid = t.loginuid;
            h.cgroup_id = t.container;
            (h.sid, h.vpgid, h.pgid) = (t.sid, t.vpgid, t.pgid);
            let n = t.comm.len().min(h.comm.len() - 1);
            h.comm[..n].copy_from_slice(&t.comm.as_bytes()[..n]);
        } else {
            h.pid = tid as u32;
            h.loginuid = u32::MAX;
        }
        h
    }
}
