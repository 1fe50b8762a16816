//! Teardown of what a private containerd may leave behind: shims (with their containers) and mounts.
//! Everything here is best effort and prints what it could not do.

use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// PIDs of all processes, from `/proc`.
fn pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect()
}

fn cmdline(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
        })
        .unwrap_or_default()
}

/// The parent PID from `/proc/PID/stat` (the field after the `)` that ends the command name).
fn ppid(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Kills (SIGKILL) every containerd shim started for the containerd at `socket` and the processes the
/// shims parent (container init processes; killing a PID namespace's init kills the namespace).
pub(crate) fn kill_shims(socket: &Path) {
    let socket = socket.to_string_lossy();
    let all = pids();
    let shims: Vec<i32> = all
        .iter()
        .copied()
        .filter(|&pid| {
            let args = cmdline(pid);
            args.first().is_some_and(|a| a.contains("containerd-shim"))
                && args.windows(2).any(|w| w[0] == "-address" && w[1] == socket)
        })
        .collect();
    for &shim in &shims {
        for &pid in &all {
            if ppid(pid) == Some(shim) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        eprintln!("palisade-testbed: killing leftover shim {shim}");
        let _ = kill(Pid::from_raw(shim), Signal::SIGKILL);
    }
}

/// Decodes the octal escapes (`\040`) of a mountinfo path.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b)) {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mount points at or under `dir`, deepest first.
pub(crate) fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|f| PathBuf::from(unescape(f)))
        .filter(|p| p.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    found.dedup();
    found
}

/// Lazily unmounts everything mounted at or under `dir`.
pub(crate) fn unmount_under(dir: &Path) {
    for m in mounts_under(dir) {
        if let Err(e) = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH) {
            eprintln!("palisade-testbed: umount {}: {e}", m.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_mountinfo_paths() {
        assert_eq!(unescape(r"/tmp/a\040b"), "/tmp/a b");
        assert_eq!(unescape(r"/x\\"), r"/x\\");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn reads_own_ppid() {
        let me = std::process::id() as i32;
        assert_eq!(ppid(me), Some(nix::unistd::getppid().as_raw()));
    }
}
