//! Reading processes from a procfs tree.

use std::path::Path;

use super::Process;
use crate::record::{Caps, ExeImage};

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The `Name`-style `key:\tvalue` field of `/proc/<pid>/status`.
fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':')).map(str::trim)
}

/// The working directory of `pid`, if it can be read (seeding only: exec records carry it).
fn cwd(root: &Path, pid: u32) -> Option<String> {
    std::fs::read_link(root.join(pid.to_string()).join("cwd")).ok().map(|p| p.display().to_string())
}

/// A `CapXxx:\t000001ffffffffff` line of `/proc/<pid>/status`.
fn cap_field(status: &str, key: &str) -> u64 {
    status_field(status, key).and_then(|v| u64::from_str_radix(v, 16).ok()).unwrap_or(0)
}

/// The executable's inode and times, through `/proc/<pid>/exe`.
fn exe_image(dir: &Path) -> ExeImage {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir.join("exe")).map_or(ExeImage::default(), |m| ExeImage {
        ino: m.ino(),
        ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
        mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
    })
}

/// One process from `root/<pid>`.
pub(super) fn read_process(root: &Path, pid: u32) -> Option<Process> {
    let dir = root.join(pid.to_string());
    let status = read(dir.join("status"))?;
    let comm = read(dir.join("comm")).map(|c| c.trim_end_matches('\n').to_owned()).unwrap_or_default();
    let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
    let mut argv: Vec<String> =
        cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    if argv.last().is_some_and(String::is_empty) {
        argv.pop();
    }
    let first = |key: &str| status_field(&status, key).and_then(|v| v.split_whitespace().next()?.parse::<u32>().ok());
    // /proc/<pid>/stat after the parenthesised comm: state, ppid, pgrp, session, tty_nr, ...
    // (pgrp and session as the initial pid namespace numbers them, for a daemon there).
    let stat = read(dir.join("stat")).and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.to_owned())).unwrap_or_default();
    let stat_field = |i: usize| stat.split_whitespace().nth(i).and_then(|t| t.parse::<u32>().ok());
    let tty = stat_field(4).unwrap_or(0);
    let start_boot_ns = stat_start(&stat);
    let pgid = stat_field(2).unwrap_or(0);
    // `NSpid:\t4242\t1`: one id per pid namespace level, innermost last (NSpgid and NSsid
    // likewise; 0 where the leader is not visible).
    let innermost = |key: &str| status_field(&status, key).and_then(|v| v.split_whitespace().last()?.parse::<u32>().ok());
    let vpid = innermost("NSpid").unwrap_or(pid);
    let vpgid = innermost("NSpgid").unwrap_or(pgid);
    let sid = innermost("NSsid").or_else(|| stat_field(3)).unwrap_or(0);
    Some(Process {
        pid,
        vpid,
        ppid: first("PPid").unwrap_or(0),
        sid,
        vpgid,
        pgid,
        comm,
        exe: argv.first().cloned().unwrap_or_default(),
        exepath: std::fs::read_link(dir.join("exe")).map(|p| p.display().to_string()).unwrap_or_default(),
        args: argv.into_iter().skip(1).collect(),
        cwd: cwd(root, pid),
        tty,
        uid: first("Uid").unwrap_or(0),
        gid: first("Gid").unwrap_or(0),
        loginuid: read(dir.join("loginuid")).and_then(|s| s.trim().parse().ok()).unwrap_or(u32::MAX),
        cgroup_id: 0,
        exe_from_memfd: std::fs::read_link(dir.join("exe")).is_ok_and(|p| p.to_string_lossy().starts_with("/memfd:")),
        // Not known for processes that were running before the daemon: only exec tells.
        exe_upper_layer: false,
        exe_lower_layer: false,
        // Read when a rule asks (`ProcessTable::environ`).
        env: None,
        exe_image: exe_image(&dir),
        caps: Caps {
            inheritable: cap_field(&status, "CapInh"),
            permitted: cap_field(&status, "CapPrm"),
            effective: cap_field(&status, "CapEff"),
        },
        exec_boot_ns: 0,
        start_boot_ns,
        // An applet started before the daemon keeps its kernel name (its exec was not seen).
        applet: None,
    })
}

/// `USER_HZ`, the unit of `/proc/<pid>/stat`'s times: 100 on every Linux architecture (the
/// kernel converts to it whatever its own tick rate).
const USER_HZ: u64 = 100;

/// Field 22 of `/proc/<pid>/stat` (`starttime`, ticks since boot on the boot clock, as the
/// kernel's records are) as ns; `stat` is the text after the parenthesised comm.
fn stat_start(stat: &str) -> u64 {
    stat.split_whitespace().nth(19).and_then(|t| t.parse::<u64>().ok()).map_or(0, |ticks| ticks * (1_000_000_000 / USER_HZ))
}

/// When process `pid` under `root` started, boot-clock ns.
pub(super) fn start_boot_ns(root: &Path, pid: u32) -> Option<u64> {
    let stat = read(root.join(pid.to_string()).join("stat"))?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(stat_start(rest)).filter(|&t| t > 0)
}

/// Every process under `root`.
pub(super) fn scan(root: &Path) -> Vec<Process> {
    let Ok(dir) = std::fs::read_dir(root) else { return Vec::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| read_process(root, pid))
        .collect()
}

/// What `/proc` says now about a live process's resources (Falco's `proc.vm*`, `proc.fd*`,
/// `proc.nthreads`, `thread.pf*`, `proc.std*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// `VmSize`, KiB.
    pub vmsize_kb: u64,
    /// `VmRSS`, KiB.
    pub vmrss_kb: u64,
    /// `VmSwap`, KiB.
    pub vmswap_kb: u64,
    /// `Threads`.
    pub threads: u64,
    /// The thread's minor page faults.
    pub minflt: u64,
    /// The thread's major page faults.
    pub majflt: u64,
    /// Open descriptors.
    pub fd_open: u64,
    /// The soft limit on open descriptors (`RLIMIT_NOFILE`); 0 when unreadable.
    pub fd_limit: i64,
    /// What fds 0, 1 and 2 point to (`/dev/pts/0`, `pipe:[123]`, `socket:[456]`, ...).
    pub std: [Option<String>; 3],
}

/// A `Key:   1234 kB` line of status, as a number.
fn status_kb(status: &str, key: &str) -> u64 {
    status_field(status, key).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0)
}

/// The resources of process `pid` (thread `tid`) under `root`, read now.
pub(super) fn usage(root: &Path, pid: u32, tid: u32) -> Option<Usage> {
    let dir = root.join(pid.to_string());
    let status = read(dir.join("status"))?;
    let stat = read(dir.join("task").join(tid.to_string()).join("stat")).or_else(|| read(dir.join("stat"))).unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let stat_field = |i: usize| after_comm.split_whitespace().nth(i).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
    let fd_limit = read(dir.join("limits"))
        .and_then(|l| l.lines().find(|l| l.starts_with("Max open files"))?.split_whitespace().nth(3)?.parse().ok())
        .unwrap_or(0);
    let fd_open = std::fs::read_dir(dir.join("fd")).map_or(0, |d| d.count() as u64);
    let std = [0, 1, 2].map(|fd| std::fs::read_link(dir.join("fd").join(fd.to_string())).ok().map(|p| p.display().to_string()));
    Some(Usage {
        vmsize_kb: status_kb(&status, "VmSize"),
        vmrss_kb: status_kb(&status, "VmRSS"),
        vmswap_kb: status_kb(&status, "VmSwap"),
        threads: status_kb(&status, "Threads"),
        minflt: stat_field(7),
        majflt: stat_field(9),
        fd_open,
        fd_limit,
        std,
    })
}
