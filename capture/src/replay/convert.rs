//! One capture event → the kernel [`Record`]s the live path would have produced, with the
//! state updates libsinsp's parsers make (fd tables, exec, clone, exit, cwd).
//!
//! Exit events are paired with their thread's last enter event as libsinsp does: an exit of
//! an fd-using call (`read`, `fstat`, `close`, `connect`, ...) describes the fd its enter event
//! named, and a generic exit takes its syscall number from its enter. Old event versions
//! (`open` exits without `dev`/`ino`, `execve` v16/v19, `clone` v20, enter events without
//! parameters) need no rewriting here: parameters are looked up by name, and a missing one is
//! simply absent, which is what libscap's converter's empty parameters amount to.

use std::net::IpAddr;

use palisade_scap::schema::flags;
use palisade_scap::{text, text_list, Event};

use super::state::{Enter, Fd, State};
use palisade_events::record::{Header, SyscallRecord};
use palisade_events::record::{Caps, ExeImage, Record};
use palisade_events::syscalls::{flags as ppm, resolve_relative};

/// Parameter `name` of `ev`.
pub(super) fn param<'a>(ev: &Event<'a>, name: &str) -> Option<&'a [u8]> {
    ev.param_named(name)
}

/// An integer parameter (1..=8 bytes, sign-extended from its width).
pub(super) fn int(ev: &Event<'_>, name: &str) -> Option<i64> {
    let b = param(ev, name)?;
    Some(match b.len() {
        1 => i64::from(b[0] as i8),
        2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
        4 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        8 => i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        _ => return None,
    })
}

/// An unsigned integer parameter.
fn uint(ev: &Event<'_>, name: &str) -> Option<u64> {
    let b = param(ev, name)?;
    let mut a = [0u8; 8];
    a.get_mut(..b.len())?.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

fn string(ev: &Event<'_>, name: &str) -> Option<String> {
    param(ev, name).map(text)
}

/// The enter state an exit needs.
pub(super) fn enter_info(ev: &Event<'_>) -> Enter {
    Enter {
        code: ev.event_type,
        fd: int(ev, "fd"),
        native_id: uint(ev, "nativeID").map(|n| n as u16),
        domain: uint(ev, "domain").map(|d| d as u32),
    }
}

/// Linux open flags from PPM ones (the inverse of `open_flags_to_scap` on the bits it maps).
pub(super) fn linux_open_flags(p: u32) -> u64 {
    let mut f = match p & ppm::PPM_O_RDWR {
        ppm::PPM_O_WRONLY => 1,
        ppm::PPM_O_RDWR => 2,
        _ => 0,
    };
    for bit in 2..32 {
        let linux = 1u64 << bit;
        let mapped = ppm::open_flags(linux) & !ppm::PPM_O_RDWR;
        if mapped != 0 && p & mapped == mapped {
            f |= linux;
        }
    }
    f
}

/// One end of a socket: address and port.
type End = (IpAddr, u16);

/// A `PT_SOCKTUPLE`: (family, source, destination); unix tuples give their path.
fn socktuple(b: &[u8]) -> Option<(u16, End, End, String)> {
    let port = |s: &[u8]| Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]));
    match *b.first()? {
        2 => {
            let ip = |s: &[u8]| Some(IpAddr::from([*s.first()?, *s.get(1)?, *s.get(2)?, *s.get(3)?]));
            Some((2, (ip(b.get(1..5)?)?, port(b.get(5..7)?)?), (ip(b.get(7..11)?)?, port(b.get(11..13)?)?), String::new()))
        }
        10 => {
            let ip = |s: &[u8]| <[u8; 16]>::try_from(s).ok().map(IpAddr::from);
            Some((10, (ip(b.get(1..17)?)?, port(b.get(17..19)?)?), (ip(b.get(19..35)?)?, port(b.get(35..37)?)?), String::new()))
        }
        1 => {
            let zero = (IpAddr::from([0u8; 4]), 0);
            Some((1, zero, zero, text(b.get(17..).unwrap_or_default())))
        }
        _ => None,
    }
}

/// What a converted exit or enter event is.
pub(super) struct Converted {
    /// Records for the process table before the event (a fork).
    pub before: Option<Record>,
    /// The event's record: `Exec` for a successful exec, else `Syscall`.
    pub record: Record,
}

fn syscall(hdr: Header, nr: u32, ret: i64) -> SyscallRecord {
    SyscallRecord {
        hdr,
        nr,
        ret,
        args: [0; 6],
        extra: [0; 3],
        fd: bytemuck::Zeroable::zeroed(),
        fd_path: None,
        strings: [None, None],
        bases: [None, None],
        addr: None,
    }
}

fn with_fd(rec: &mut SyscallRecord, state: &State, pid: u64, num: Option<i64>) {
    if let Some((info, path)) = num.and_then(|n| Some(state.fd(pid, n)?.info(n))) {
        rec.fd = info;
        rec.fd_path = path;
    }
}

/// The enter event `ev` (type `name`) as a record: the call with its fd, nothing else.
pub(super) fn enter(ev: &Event<'_>, nr: u32, state: &State) -> SyscallRecord {
    let hdr = state.header(ev.tid, ev.ts);
    let mut rec = syscall(hdr, nr, 0);
    if ev.schema().is_some_and(|s| s.has(flags::USES_FD)) {
        let pid = state.threads.get(&ev.tid).map_or(ev.tid, |t| t.pid);
        with_fd(&mut rec, state, pid, int(ev, "fd"));
    }
    rec
}

/// The exit event `ev` of syscall `name` (number `nr`), paired with `enter`, applied to
/// `state`.
pub(super) fn exit(ev: &Event<'_>, name: &str, nr: u32, enter: Option<&Enter>, state: &mut State, cwd: Option<&str>) -> Converted {
    let hdr = state.header(ev.tid, ev.ts);
    let pid = u64::from(hdr.pid);
    let res = int(ev, "res").or_else(|| int(ev, "fd")).unwrap_or(0);
    let mut rec = syscall(hdr, nr, res);
    let mut before = None;
    let uses_fd = ev.schema().is_some_and(|s| s.has(flags::USES_FD));
    let enter_fd = enter.and_then(|e| e.fd);
    match name {
        "open" | "openat" | "openat2" | "creat" => {
            let raw = string(ev, "name").unwrap_or_default();
            let dirfd = int(ev, "dirfd");
            let base = match dirfd {
                Some(d) if d != -100 => state.fd(pid, d).and_then(|f| match f {
                    Fd::File { path, .. } => Some(path.clone()),
                    _ => None,
                }),
                _ => cwd.map(str::to_owned),
            };
            let pflags = uint(ev, "flags").unwrap_or(0) as u32;
            let (lflags, mode) = (linux_open_flags(pflags), uint(ev, "mode").unwrap_or(0));
            match name {
                "open" => rec.args = [0, lflags, mode, 0, 0, 0],
                "creat" => rec.args = [0, mode, 0, 0, 0, 0],
                "openat" => rec.args = [dirfd.unwrap_or(-100) as u64, 0, lflags, mode, 0, 0],
                _ => {
                    rec.args[0] = dirfd.unwrap_or(-100) as u64;
                    rec.extra = [lflags, mode, uint(ev, "resolve").unwrap_or(0)];
                }
            }
            let full = if raw.starts_with('/') { Some(raw.clone()) } else { base.as_deref().and_then(|b| resolve_relative(b, &raw)) };
            rec.bases[0] = if raw.starts_with('/') { None } else { base };
            rec.strings[0] = Some(raw);
            if res >= 0 {
                let fd = Fd::File { path: full.unwrap_or_default(), dir: pflags & ppm::PPM_O_DIRECTORY != 0 };
                state.fds.entry(pid).or_default().insert(res, fd);
                with_fd(&mut rec, state, pid, Some(res));
            }
        }
        "socket" if res >= 0 => {
            let domain = enter.and_then(|e| e.domain).unwrap_or(0) as u16;
            let fd = match domain {
                2 | 10 => {
                    let any = if domain == 2 { IpAddr::from([0u8; 4]) } else { IpAddr::from([0u8; 16]) };
                    Fd::Ip { family: domain, protocol: 0, local: (any, 0), remote: (any, 0) }
                }
                1 => Fd::Unix(String::new()),
                other => Fd::Other(other),
            };
            state.fds.entry(pid).or_default().insert(res, fd);
            with_fd(&mut rec, state, pid, Some(res));
        }
        "connect" | "accept" | "accept4" => {
            let fdnum = if name == "connect" { enter_fd.or_else(|| int(ev, "fd")) } else { (res >= 0).then_some(res) };
            if let (Some(n), Some((family, src, dst, path))) = (fdnum, param(ev, "tuple").and_then(socktuple)) {
                let protocol = match state.fd(pid, n) {
                    Some(Fd::Ip { protocol, .. }) if *protocol != 0 => *protocol,
                    _ => 6,
                };
                let (local, remote) = if name == "connect" { (src, dst) } else { (dst, src) };
                let fd = if family == 1 { Fd::Unix(path) } else { Fd::Ip { family, protocol, local, remote } };
                state.fds.entry(pid).or_default().insert(n, fd);
            }
            with_fd(&mut rec, state, pid, fdnum);
        }
        "pipe" | "pipe2" if res >= 0 => {
            for p in ["fd1", "fd2"] {
                if let Some(n) = int(ev, p) {
                    state.fds.entry(pid).or_default().insert(n, Fd::Pipe(String::new()));
                }
            }
        }
        "dup" | "dup2" | "dup3" => {
            let old = enter_fd.or_else(|| int(ev, "oldfd")).or_else(|| int(ev, "fd"));
            if let (true, Some(o)) = (res >= 0, old) {
                if let Some(fd) = state.fd(pid, o).cloned() {
                    state.fds.entry(pid).or_default().insert(res, fd);
                }
            }
            with_fd(&mut rec, state, pid, if res >= 0 { Some(res) } else { old });
        }
        "close" => {
            let n = enter_fd.or_else(|| int(ev, "fd"));
            with_fd(&mut rec, state, pid, n);
            rec.args[0] = n.unwrap_or(-1) as u64;
            if let (true, Some(n)) = (res >= 0, n) {
                if let Some(t) = state.fds.get_mut(&pid) {
                    t.remove(&n);
                }
            }
        }
        "execve" | "execveat" if res >= 0 => return exec(ev, state),
        "clone" | "fork" | "vfork" | "clone3" => before = clone(ev, hdr, res, state),
        _ if uses_fd => {
            let n = enter_fd.or_else(|| int(ev, "fd"));
            rec.args[0] = n.unwrap_or(-1) as u64;
            with_fd(&mut rec, state, pid, n);
        }
        _ => {}
    }
    Converted { before, record: Record::Syscall(Box::new(rec)) }
}

/// A successful exec: the thread becomes the new program (libsinsp `parse_execve_exit`).
fn exec(ev: &Event<'_>, state: &mut State) -> Converted {
    let comm = string(ev, "comm").unwrap_or_default();
    let exe = string(ev, "exe").unwrap_or_default();
    let mut argv = vec![exe.clone()];
    argv.extend(param(ev, "args").map(text_list).unwrap_or_default());
    let container = param(ev, "cgroups").map(|c| state.container_of(&text_list(c)));
    let t = state.thread(ev.tid);
    t.comm.clone_from(&comm);
    // The exit names the parent (libsinsp takes it from here too): a thread the capture met
    // first at its execve (neither listed nor cloned in it) still gets `proc.pname`.
    if let Some(ptid) = uint(ev, "ptid").filter(|&p| p != 0) {
        t.ptid = ptid;
    }
    if let Some(c) = container {
        t.container = c;
    }
    if let Some(g) = int(ev, "vpgid").and_then(|g| u32::try_from(g).ok()) {
        t.vpgid = g;
    }
    if let Some(g) = int(ev, "pgid").and_then(|g| u32::try_from(g).ok()) {
        t.pgid = g;
    }
    if let Some(uid) = uint(ev, "uid") {
        t.uid = uid as u32;
    }
    if let Some(l) = uint(ev, "loginuid") {
        t.loginuid = l as u32;
    }
    let hdr = state.header(ev.tid, ev.ts);
    let filename = string(ev, "trusted_exepath").filter(|p| !p.is_empty()).unwrap_or(exe);
    Converted {
        before: None,
        record: Record::Exec {
            hdr,
            filename,
            argv,
            args_truncated: false,
            tty: uint(ev, "tty").unwrap_or(0) as u32,
            cwd: string(ev, "cwd").unwrap_or_default(),
            exe_flags: 0,
            vpid: int(ev, "vpid").and_then(|v| u32::try_from(v).ok()).unwrap_or(0),
            image: ExeImage { ino: uint(ev, "exe_ino").unwrap_or(0), ..ExeImage::default() },
            caps: Caps {
                inheritable: uint(ev, "cap_inheritable").unwrap_or(0),
                permitted: uint(ev, "cap_permitted").unwrap_or(0),
                effective: uint(ev, "cap_effective").unwrap_or(0),
            },
            // Falco's proc.env: the execve exit's `env` parameter, NUL-separated.
            env: param(ev, "env").map(text_list),
        },
    }
}

const PPM_CL_CLONE_THREAD: u64 = 1 << 13;

/// A clone exit (in the parent, `res` = child tid; in the child, 0): the child thread, and
/// for a new process its fork record and a copy of the parent's fd table.
fn clone(ev: &Event<'_>, hdr: Header, res: i64, state: &mut State) -> Option<Record> {
    let thread_flag = uint(ev, "flags").is_some_and(|f| f & PPM_CL_CLONE_THREAD != 0);
    let (child_tid, parent_tid) = match res {
        r if r > 0 => (r as u64, ev.tid),
        0 => (ev.tid, uint(ev, "ptid").unwrap_or(0)),
        _ => return None,
    };
    if state.threads.contains_key(&child_tid) {
        return None; // the other side's exit created it already
    }
    let parent = state.threads.get(&parent_tid).cloned().unwrap_or_default();
    let parent_pid = if parent.pid == 0 { parent_tid } else { parent.pid };
    let child_pid = if thread_flag { parent_pid } else { child_tid };
    let mut child = parent.clone();
    if res == 0 {
        // The child's own exit names its cgroups (a process can start in another container's).
        if let Some(c) = param(ev, "cgroups").map(|c| state.container_of(&text_list(c))) {
            child.container = c;
        }
    }
    child.pid = child_pid;
    child.ptid = parent_tid;
    child.enter = None;
    if child.comm.is_empty() {
        child.comm = string(ev, "comm").unwrap_or_default();
    }
    state.threads.insert(child_tid, child);
    if thread_flag {
        return None;
    }
    if let Some(fds) = state.fds.get(&parent_pid).cloned() {
        state.fds.insert(child_pid, fds);
    }
    let mut phdr = if res > 0 { hdr } else { state.header(parent_tid, ev.ts) };
    if phdr.pid == 0 {
        phdr.pid = parent_pid as u32;
    }
    Some(Record::Fork {
        hdr: phdr,
        child_pid: child_pid as u32,
        child_tid: child_tid as u32,
        child_vpid: int(ev, "vpid").and_then(|v| u32::try_from(v).ok()).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_round_trip_through_ppm() {
        // The PPM encoding is lossy (O_DIRECTORY also sets PPM_O_TMPFILE, as the driver's
        // "any bit of O_TMPFILE" does), so the invariant is in PPM space.
        for linux in [0u64, 1, 2, 0o100 | 1, 0o2000000 | 0o1000 | 2, 0o200000, 0o20200000] {
            let p = ppm::open_flags(linux);
            assert_eq!(ppm::open_flags(linux_open_flags(p)), p, "{linux:o}");
        }
        // A 2016 capture's `O_RDONLY|O_CLOEXEC` (PPM 0x1001).
        assert_eq!(linux_open_flags(0x1001), 0o2000000);
    }

    #[test]
    fn socket_tuples() {
        let mut b = vec![2u8, 127, 0, 0, 1];
        b.extend_from_slice(&40000u16.to_le_bytes());
        b.extend_from_slice(&[10, 0, 0, 1]);
        b.extend_from_slice(&80u16.to_le_bytes());
        let (family, src, dst, _) = socktuple(&b).expect("ipv4 tuple");
        assert_eq!((family, src.1, dst.0.to_string(), dst.1), (2, 40000, "10.0.0.1".to_owned(), 80));
        assert!(socktuple(&b[..6]).is_none(), "a short tuple is no tuple");
    }
}
