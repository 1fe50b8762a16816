//! Resolving a path the way the kernel did for a process in a container: symlinks followed
//! inside the process's root (`/proc/PID/root`), absolute link targets taken relative to that
//! root, never the host's (`palisade_lsm::policy::resolve_in_root`).
//!
//! The judge runs after the call returned, so a link may have changed in between, and a
//! process that is gone has no root left to look in: [`Roots::resolve`] then answers `None`
//! and the caller reports the path as the call named it (lexically absolute).

use std::path::{Path, PathBuf};

/// Looks paths up in a process's view of the file tree.
pub trait Roots: std::fmt::Debug + Send + Sync {
    /// `path` (absolute, as process `pid` sees it) with its symlinks resolved: the last
    /// component too when `follow`, else only its parent directories. `None` when the
    /// process's root cannot be read (it exited) or a component cannot be.
    fn resolve(&self, pid: u32, path: &str, follow: bool) -> Option<String>;
}

/// Resolves nothing: replays and tests without the processes of the recording.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRoots;

impl Roots for NoRoots {
    fn resolve(&self, _pid: u32, _path: &str, _follow: bool) -> Option<String> {
        None
    }
}

/// Resolves in `PROC/PID/root` (the daemon: `/proc`; tests: a tempdir laid out the same way).
#[derive(Debug, Clone)]
pub struct ProcRoots {
    proc: PathBuf,
}

impl ProcRoots {
    /// Roots under `proc` (`/proc` on a live system).
    pub fn new(proc: impl Into<PathBuf>) -> ProcRoots {
        ProcRoots { proc: proc.into() }
    }
}

/// `host` (beneath `root`) as the container sees it.
fn inside(root: &Path, host: &Path) -> Option<String> {
    let rel = host.strip_prefix(root).ok()?;
    Some(format!("/{}", rel.to_str()?))
}

impl Roots for ProcRoots {
    fn resolve(&self, pid: u32, path: &str, follow: bool) -> Option<String> {
        let root = self.proc.join(pid.to_string()).join("root");
        // The process is gone (or not ours to look at): nothing to resolve in.
        std::fs::symlink_metadata(&root).ok()?;
        if follow {
            return inside(&root, &palisade_lsm::policy::resolve_in_root(&root, path)?);
        }
        let p = Path::new(path);
        let (Some(parent), Some(name)) = (p.parent(), p.file_name()) else {
            return Some(path.to_owned());
        };
        let parent = inside(&root, &palisade_lsm::policy::resolve_in_root(&root, parent.to_str()?)?)?;
        let name = name.to_str()?;
        Some(if parent == "/" { format!("/{name}") } else { format!("{parent}/{name}") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_resolve_inside_the_process_root() {
        let proc = std::env::temp_dir().join(format!("palisade-roots-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&proc);
        let root = proc.join("42/root");
        std::fs::create_dir_all(root.join("etc")).expect("etc");
        std::fs::create_dir_all(root.join("data")).expect("data");
        std::fs::write(root.join("etc/passwd"), "root:x:0:0").expect("passwd");
        // An absolute target is the container's /etc/passwd, not the host's.
        symlink("/etc/passwd", root.join("data/link")).expect("link");
        symlink("/etc", root.join("data/etcdir")).expect("dir link");
        symlink("/etc/new-file", root.join("data/dangling")).expect("dangling");
        let roots = ProcRoots::new(&proc);
        assert_eq!(roots.resolve(42, "/data/link", true).as_deref(), Some("/etc/passwd"));
        assert_eq!(roots.resolve(42, "/data/link", false).as_deref(), Some("/data/link"), "the link itself");
        assert_eq!(roots.resolve(42, "/data/etcdir/passwd", false).as_deref(), Some("/etc/passwd"), "parents resolved");
        assert_eq!(roots.resolve(42, "/data/dangling", true).as_deref(), Some("/etc/new-file"), "a dangling link's target");
        assert_eq!(roots.resolve(42, "/data/plain", true).as_deref(), Some("/data/plain"));
        assert_eq!(roots.resolve(43, "/data/link", true), None, "process gone");
        assert_eq!(NoRoots.resolve(42, "/data/link", true), None);
        let _ = std::fs::remove_dir_all(&proc);
    }
}
