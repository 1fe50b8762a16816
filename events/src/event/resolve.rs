//! Resolving a path the way the kernel did for a process in a container: symlinks followed
//! inside the process's root (`/proc/PID/root`), absolute link targets taken relative to that
//! root, never the host's (`palisade_lsm::policy::resolve_walk`).
//!
//! The judge runs after the call returned (records are drained in batches), so a link may have
//! changed in between, and a short-lived process (`chmod` in a script) is often gone already.
//! Every process of a container shares its root, so the lookup then goes through another
//! candidate — the caller passes the actor and its parent — provided that process is in the
//! same cgroup as the event (a reused pid, or a parent outside the container, would resolve in
//! the wrong root). When no candidate is left, [`Roots::resolve`] answers `None` and the caller
//! reports the path as the call named it (lexically absolute).

use std::path::{Path, PathBuf};

/// Who a path is resolved for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The calling process.
    pub pid: u32,
    /// Its parent: the fallback when the caller has exited.
    pub ppid: u32,
    /// The container's init: the next fallback (every process of a container shares its root).
    pub init: u32,
    /// The event's cgroup (v2 id): a candidate must still be in it; 0 = not checked.
    pub cgroup_id: u64,
}

/// Looks paths up in a process's view of the file tree.
pub trait Roots: std::fmt::Debug + Send + Sync {
    /// `path` (absolute, as `actor` sees it) with its symlinks resolved: the last component
    /// too when `follow`, else only its parent directories. `None` when no process of the
    /// actor's container is left to look through, or a component cannot be read.
    fn resolve(&self, actor: &Actor, path: &str, follow: bool) -> Option<String>;

    /// Whether the host's view of a container (its rootfs, its bind sources) may be read when
    /// no process is left ([`resolve_on_host`]): the live daemon, not a replay elsewhere.
    fn on_host(&self) -> bool {
        false
    }
}

/// Resolves nothing: replays and tests without the processes of the recording.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRoots;

impl Roots for NoRoots {
    fn resolve(&self, _actor: &Actor, _path: &str, _follow: bool) -> Option<String> {
        None
    }
}

/// Resolves in `PROC/PID/root`, checking cgroups under `CGROUP` (the daemon: `/proc` and
/// `/sys/fs/cgroup`; tests: tempdirs laid out the same way).
#[derive(Debug, Clone)]
pub struct ProcRoots {
    proc: PathBuf,
    cgroup: PathBuf,
}

impl ProcRoots {
    /// Roots under `proc`, cgroups under `cgroup`.
    pub fn new(proc: impl Into<PathBuf>, cgroup: impl Into<PathBuf>) -> ProcRoots {
        ProcRoots { proc: proc.into(), cgroup: cgroup.into() }
    }

    /// The live system's: `/proc`, and the cgroup2 hierarchy wherever it is mounted
    /// (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on hybrid hosts).
    pub fn live() -> ProcRoots {
        let cgroup = crate::containers::cgroup::Cgroups::discover(Path::new("/proc"))
            .map_or_else(|_| PathBuf::from("/sys/fs/cgroup"), |c| c.mount().to_owned());
        ProcRoots::new("/proc", cgroup)
    }

    /// Whether `pid` is (still) in the cgroup v2 whose id (directory inode) is `id`.
    fn in_cgroup(&self, pid: u32, id: u64) -> bool {
        let cgroups = crate::containers::cgroup::Cgroups::new(self.cgroup.clone(), self.proc.clone());
        cgroups.of_pid(pid).is_ok_and(|c| c.id == id)
    }

    /// The root directory of the first candidate that is alive and in the actor's cgroup.
    fn root_of(&self, actor: &Actor) -> Option<PathBuf> {
        [actor.pid, actor.ppid, actor.init].into_iter().filter(|pid| *pid != 0).find_map(|pid| {
            let root = self.proc.join(pid.to_string()).join("root");
            // Followed, not just present: an exited process not yet reaped (a zombie) keeps
            // its /proc entry, but its root can no longer be walked, and a walk through it
            // would find no link and leave the path unresolved.
            let alive = std::fs::metadata(&root).is_ok();
            (alive && (actor.cgroup_id == 0 || self.in_cgroup(pid, actor.cgroup_id))).then_some(root)
        })
    }
}

/// `path` resolved without any process of the container: through its root filesystem and
/// the spec's bind mounts as the host sees them (a container whose last process is gone, the
/// usual end of a short-lived `ctr run`). A component beneath a mount the host cannot look into
/// (a tmpfs, `/proc`) ends the walk there: what is left is taken as named. `None` after 40
/// links or when a link cannot be read.
pub fn resolve_on_host(rootfs: &Path, mounts: &[palisade_hook::MountFact], path: &str, follow: bool) -> Option<String> {
    if rootfs.as_os_str().is_empty() {
        return None;
    }
    // The host path of a container path, or None beneath a mount with no host source.
    let host_of = |container: &str| -> Option<PathBuf> {
        let mount = mounts
            .iter()
            .filter(|m| m.destination.starts_with('/') && Path::new(container).starts_with(&m.destination))
            .max_by_key(|m| m.destination.len());
        match mount {
            Some(m) if m.kind == "bind" || m.options.iter().any(|o| o == "bind" || o == "rbind") => {
                let rest = Path::new(container).strip_prefix(&m.destination).ok()?;
                Some(Path::new(&m.source).join(rest))
            }
            Some(_) => None,
            None => Some(rootfs.join(container.trim_start_matches('/'))),
        }
    };
    palisade_lsm::policy::resolve_walk(path, follow, host_of)
}


impl Roots for ProcRoots {
    fn on_host(&self) -> bool {
        true
    }

    fn resolve(&self, actor: &Actor, path: &str, follow: bool) -> Option<String> {
        let root = self.root_of(actor)?;
        palisade_lsm::policy::resolve_walk(path, follow, |c| Some(root.join(c.trim_start_matches('/'))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    /// `PROC/pid/root` holding a small tree, and `PROC/pid/cgroup` naming `cgroup`.
    fn process(proc: &Path, pid: u32, cgroup: &str) -> PathBuf {
        let root = proc.join(pid.to_string()).join("root");
        std::fs::create_dir_all(root.join("etc")).expect("etc");
        std::fs::create_dir_all(root.join("data")).expect("data");
        std::fs::write(root.join("etc/passwd"), "root:x:0:0").expect("passwd");
        std::fs::write(proc.join(pid.to_string()).join("cgroup"), format!("0::{cgroup}\n")).expect("cgroup");
        root
    }

    #[test]
    fn links_resolve_inside_the_process_root() {
        let base = std::env::temp_dir().join(format!("palisade-roots-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (proc, cgroups) = (base.join("proc"), base.join("cgroup"));
        std::fs::create_dir_all(cgroups.join("ctr")).expect("cgroup dir");
        let id = std::fs::metadata(cgroups.join("ctr")).expect("cgroup").ino();
        let root = process(&proc, 42, "/ctr");
        // An absolute target is the container's /etc/passwd, not the host's.
        symlink("/etc/passwd", root.join("data/link")).expect("link");
        symlink("/etc", root.join("data/etcdir")).expect("dir link");
        symlink("/etc/new-file", root.join("data/dangling")).expect("dangling");
        let roots = ProcRoots::new(&proc, &cgroups);
        let me = Actor { pid: 42, ppid: 1, init: 0, cgroup_id: id };
        assert_eq!(roots.resolve(&me, "/data/link", true).as_deref(), Some("/etc/passwd"));
        assert_eq!(roots.resolve(&me, "/data/link", false).as_deref(), Some("/data/link"), "the link itself");
        assert_eq!(roots.resolve(&me, "/data/etcdir/passwd", false).as_deref(), Some("/etc/passwd"), "parents resolved");
        assert_eq!(roots.resolve(&me, "/data/dangling", true).as_deref(), Some("/etc/new-file"), "a dangling link's target");
        assert_eq!(roots.resolve(&me, "/data/plain", true).as_deref(), Some("/data/plain"));

        // The actor (43) exited: its parent (42) in the same cgroup resolves for it.
        let gone = Actor { pid: 43, ppid: 42, init: 0, cgroup_id: id };
        assert_eq!(roots.resolve(&gone, "/data/link", true).as_deref(), Some("/etc/passwd"));
        // A parent in another cgroup (a reused pid, the runtime on the host) does not.
        let host = process(&proc, 44, "/host");
        symlink("/somewhere", host.join("data/link")).expect("host link");
        std::fs::create_dir_all(cgroups.join("host")).expect("host cgroup");
        assert_eq!(roots.resolve(&Actor { pid: 43, ppid: 44, init: 0, cgroup_id: id }, "/data/link", true), None);
        assert_eq!(roots.resolve(&Actor { pid: 43, ppid: 0, init: 0, cgroup_id: id }, "/data/link", true), None, "nobody left");
        assert_eq!(NoRoots.resolve(&me, "/data/link", true), None);
        // Nobody left, but the container's init is alive: it resolves for the actor.
        assert_eq!(roots.resolve(&Actor { pid: 43, ppid: 0, init: 42, cgroup_id: id }, "/data/link", true).as_deref(), Some("/etc/passwd"));
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn without_a_process_paths_resolve_through_the_rootfs_and_the_bind_mounts() {
        let base = std::env::temp_dir().join(format!("palisade-resolve-host-{}", std::process::id()));
        let (rootfs, volume) = (base.join("rootfs"), base.join("volume"));
        for d in [rootfs.join("etc"), rootfs.join("usr/lib"), volume.clone()] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        symlink("/etc/passwd", volume.join("link")).expect("link");
        symlink("../usr/lib", rootfs.join("etc/lib")).expect("relative link");
        symlink("/run/x", volume.join("to-tmpfs")).expect("tmpfs link");
        let mounts = vec![
            crate::containers::mount_fact("/data", &volume.display().to_string(), "bind", &["rbind".to_owned()]),
            crate::containers::mount_fact("/run", "tmpfs", "tmpfs", &[]),
        ];
        let r = |p: &str, follow: bool| resolve_on_host(&rootfs, &mounts, p, follow);
        assert_eq!(r("/data/link", true).as_deref(), Some("/etc/passwd"), "a link in a volume into the image");
        assert_eq!(r("/data/link", false).as_deref(), Some("/data/link"), "the link itself");
        assert_eq!(r("/etc/lib/x", true).as_deref(), Some("/usr/lib/x"));
        assert_eq!(r("/data/to-tmpfs/y", true).as_deref(), Some("/run/x/y"), "beneath a tmpfs: as named");
        assert_eq!(resolve_on_host(Path::new(""), &mounts, "/data/link", true), None, "no rootfs known");
        let _ = std::fs::remove_dir_all(&base);
    }
}
