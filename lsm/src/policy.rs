//! What one container may do, in the terms the kernel programs check: file identities that
//! must not run, writable prefixes of the otherwise immutable rootfs, and switches.
//!
//! Identities are (superblock device, inode) pairs as the kernel sees the container's files.
//! For an overlay rootfs whose layers share one filesystem (containerd's snapshotters), stat(2)
//! of the merged tree returns exactly the overlay inode's `i_ino` and the overlay superblock's
//! device, and keeps returning them after a copy-up: [`ContainerPolicy::deny_exec_from_rootfs`]
//! stats the merged rootfs the daemon sees at the OCI bundle's root path.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use palisade_ebpf::enforce_abi::{self, kernel_dev, AllowKey, ExecKey, Policy};

/// Why a policy cannot be built or armed.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// An allow_write prefix is not a usable absolute path.
    #[error("allow_write prefix {prefix:?}: {why}")]
    Prefix {
        /// The prefix as given.
        prefix: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Immutability, exec_only_image or W^X needs the rootfs superblock.
    #[error("policy needs rootfs_dev (the rootfs superblock's device) for immutable, exec_only_image or deny_writable_exec")]
    NoRootfsDev,
    /// The rootfs (or a file in it) could not be examined.
    #[error("stat {path}: {source}")]
    Stat {
        /// The path on the host.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Audit reports what would be denied; enforce denies it too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Never deny; report would-deny decisions (`enforced: false`).
    #[default]
    Audit,
    /// Deny with `EPERM` and report.
    Enforce,
}

/// Why an executable is denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExecKind {
    /// A shell: denied when [`ContainerPolicy::deny_shells`] is set.
    Shell,
    /// A package manager: denied when [`ContainerPolicy::deny_package_managers`] is set.
    PackageManager,
    /// Always denied.
    Denied,
}

impl ExecKind {
    fn abi(self) -> u32 {
        match self {
            ExecKind::Shell => enforce_abi::reason::SHELL,
            ExecKind::PackageManager => enforce_abi::reason::PACKAGE_MANAGER,
            ExecKind::Denied => enforce_abi::reason::EXEC_DENIED,
        }
    }
}

/// A file by identity: the kernel's device of its superblock and its inode number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExecIdentity {
    /// Kernel `s_dev` (see [`kernel_dev`]).
    pub dev: u32,
    /// Inode number.
    pub ino: u64,
    /// What it is.
    pub kind: ExecKind,
}

/// One container's enforcement policy, as [`crate::Enforcer::arm`] takes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerPolicy {
    /// Audit or enforce.
    pub mode: Mode,
    /// Deny identities of kind [`ExecKind::Shell`].
    pub deny_shells: bool,
    /// Deny identities of kind [`ExecKind::PackageManager`].
    pub deny_package_managers: bool,
    /// Deny writes to the rootfs superblock outside [`ContainerPolicy::allow_write`].
    pub immutable: bool,
    /// Deny exec of files not on the rootfs superblock or in its overlay upper layer.
    ///
    /// Kept beside [`ContainerPolicy::deny_writable_exec`] rather than folded into it: it is
    /// the stricter rule (it also refuses programs on read-only volumes, and has no path
    /// exceptions) and covers exec only, so a profile that wants "the image's programs and
    /// nothing else" keeps that meaning. The daemon arms W^X (`immutable`), not this.
    pub exec_only_image: bool,
    /// W^X: deny the exec, and `PROT_EXEC` mappings (`mmap`, `mprotect`), of files in the
    /// container's writable places: files created or copied up in the rootfs after the container
    /// started, and files on any writable mount other than the rootfs (volumes, tmpfs `/dev`,
    /// `/run`, `/dev/shm`), except beneath [`ContainerPolicy::allow_writable_exec`].
    pub deny_writable_exec: bool,
    /// Absolute container paths exempt from [`ContainerPolicy::deny_writable_exec`] (the
    /// profile's `immutable.allow_writable_exec`).
    pub allow_writable_exec: Vec<String>,
    /// Deny mount(2) and move_mount(2) from the container, from [`ContainerPolicy::mount_gate`]
    /// on.
    pub deny_mount: bool,
    /// When mount denial starts. `Some(tgid)`: when that process (the container's init) execs
    /// its entrypoint; until then mounts in the cgroup pass. Arming from the runtime's
    /// `createRuntime` hook needs it: runc still mounts after the hook (masked and read-only
    /// paths after pivot_root) and execs the entrypoint last. `None`: at once (a container
    /// armed after it started).
    pub mount_gate: Option<u32>,
    /// Kernel `s_dev` of the rootfs mount's superblock ([`rootfs_dev`]).
    pub rootfs_dev: u32,
    /// Absolute paths, as the container sees them, beneath which rootfs writes are allowed.
    pub allow_write: Vec<String>,
    /// Executables denied by identity.
    pub deny_exec: Vec<ExecIdentity>,
}

/// The kernel device of the superblock holding `rootfs` (the container's root directory).
pub fn rootfs_dev(rootfs: &Path) -> Result<u32, PolicyError> {
    let meta = std::fs::metadata(rootfs).map_err(|source| PolicyError::Stat { path: rootfs.into(), source })?;
    Ok(kernel_dev(meta.dev()))
}

impl ContainerPolicy {
    /// Identities of `shells`, `package_managers` and `denied` (absolute paths as the container
    /// sees them) in the container root `rootfs`. Symbolic links are followed inside `rootfs`
    /// (an absolute link target is relative to it, never to the host). Paths that do not exist
    /// are skipped (images carry few of the catalogs' shells). A file reached under several
    /// names gets one identity: explicitly denied first, then shell, then package manager.
    pub fn deny_exec_from_rootfs(
        rootfs: &Path,
        shells: &[&str],
        package_managers: &[&str],
        denied: &[String],
    ) -> Result<Vec<ExecIdentity>, PolicyError> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let groups: [(ExecKind, Vec<&str>); 3] = [
            (ExecKind::Denied, denied.iter().map(String::as_str).collect()),
            (ExecKind::Shell, shells.to_vec()),
            (ExecKind::PackageManager, package_managers.to_vec()),
        ];
        for (kind, paths) in groups {
            for path in paths {
                let Some(host) = resolve_in_root(rootfs, path) else { continue };
                let meta = match std::fs::metadata(&host) {
                    Ok(m) if m.is_file() => m,
                    Ok(_) => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(source) => return Err(PolicyError::Stat { path: host, source }),
                };
                let (dev, ino) = (kernel_dev(meta.dev()), meta.ino());
                if seen.insert((dev, ino)) {
                    out.push(ExecIdentity { dev, ino, kind });
                }
            }
        }
        Ok(out)
    }

    /// The kernel's view: the `ENFORCED` value for `policy_id`, checked.
    pub(crate) fn kernel_policy(&self, policy_id: u32) -> Result<Policy, PolicyError> {
        if (self.immutable || self.exec_only_image || self.deny_writable_exec) && self.rootfs_dev == 0 {
            return Err(PolicyError::NoRootfsDev);
        }
        let mut flags = 0;
        for (on, bit) in [
            (self.deny_shells, enforce_abi::flags::DENY_SHELLS),
            (self.deny_package_managers, enforce_abi::flags::DENY_PACKAGE_MANAGERS),
            (self.immutable, enforce_abi::flags::IMMUTABLE),
            (self.exec_only_image, enforce_abi::flags::EXEC_ONLY_IMAGE),
            (self.deny_mount, enforce_abi::flags::DENY_MOUNT),
            (self.deny_writable_exec, enforce_abi::flags::DENY_WRITABLE_EXEC),
        ] {
            if on {
                flags |= bit;
            }
        }
        let mode = match self.mode {
            Mode::Audit => enforce_abi::mode::AUDIT,
            Mode::Enforce => enforce_abi::mode::ENFORCE,
        };
        let mount_gate = self.mount_gate.unwrap_or(0);
        Ok(Policy { mode, flags, rootfs_dev: self.rootfs_dev, policy_id, mount_gate, runtime_mnt_ns: 0 })
    }

    /// The `DENY_EXEC` entries for `policy_id`.
    pub(crate) fn exec_entries(&self, policy_id: u32) -> Vec<(ExecKey, u32)> {
        self.deny_exec
            .iter()
            .map(|id| (ExecKey { policy_id, dev: id.dev, ino: id.ino }, id.kind.abi()))
            .collect()
    }

    /// The `ALLOW_WRITE` keys for `policy_id`, prefixes normalized.
    pub(crate) fn allow_entries(&self, policy_id: u32) -> Result<Vec<AllowKey>, PolicyError> {
        prefix_keys(policy_id, &self.allow_write)
    }

    /// The `ALLOW_WRITABLE_EXEC` keys for `policy_id` (the W^X exceptions), prefixes
    /// normalized like allow_write's.
    pub(crate) fn allow_writable_exec_entries(&self, policy_id: u32) -> Result<Vec<AllowKey>, PolicyError> {
        prefix_keys(policy_id, &self.allow_writable_exec)
    }
}

/// LPM-trie keys of `prefixes` for `policy_id`, normalized and deduplicated.
fn prefix_keys(policy_id: u32, prefixes: &[String]) -> Result<Vec<AllowKey>, PolicyError> {
    let mut keys = Vec::new();
    for prefix in prefixes {
        let normal = normalize_prefix(prefix)?;
        let key = AllowKey::for_prefix(policy_id, &normal).ok_or_else(|| PolicyError::Prefix {
            prefix: prefix.clone(),
            why: "longer than the kernel's 247-byte prefix limit",
        })?;
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// The canonical form of an allow_write prefix, as the kernel spells paths: absolute, no empty
/// or `.` components, no trailing `/` (except `/` itself). `..` is refused: the kernel's paths
/// never contain it, so such a prefix could never match what it seems to allow.
pub fn normalize_prefix(prefix: &str) -> Result<String, PolicyError> {
    let err = |why| PolicyError::Prefix { prefix: prefix.to_owned(), why };
    if !prefix.starts_with('/') {
        return Err(err("not an absolute path"));
    }
    if prefix.contains('\0') {
        return Err(err("contains a NUL byte"));
    }
    let mut out = String::new();
    for part in prefix.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(err("contains a '..' component")),
            name => {
                out.push('/');
                out.push_str(name);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// `path` (absolute, as the container sees it) on the host beneath `root`, with symbolic links
/// resolved inside `root`; `None` after 40 links (a loop) or when a component is unreadable.
pub fn resolve_in_root(root: &Path, path: &str) -> Option<PathBuf> {
    let inside = |c: &str| root.join(c.trim_start_matches('/'));
    resolve_walk(path, true, |c| Some(inside(c))).map(|c| inside(&c))
}

/// `path` (absolute, as a container sees it) with its symbolic links resolved, as the container
/// path it names. Each component's link is read at `host_of(container path)`; where `host_of`
/// answers `None` (beneath a mount the host cannot look into) the rest of the path is taken as
/// named. Absolute link targets restart at the container's root, never the host's; the last
/// component is read only with `follow_last` (`lchown`, `unlink`, ... act on the link itself).
/// A component that does not exist is kept as named (a dangling link's target). `None` after 40
/// links (a loop) or when a link cannot be read.
pub fn resolve_walk(path: &str, follow_last: bool, host_of: impl Fn(&str) -> Option<PathBuf>) -> Option<String> {
    let mut pending: Vec<String> = components(path).into_iter().rev().collect();
    let mut resolved: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = format!("/{}", resolved.iter().chain(std::iter::once(&part)).cloned().collect::<Vec<_>>().join("/"));
        // Every component but the last is read; the last one only when following it.
        let read = !pending.is_empty() || follow_last;
        let Some(host) = read.then(|| host_of(&candidate)).flatten() else {
            resolved.push(part);
            if read {
                // Beneath a mount the host cannot see into: the rest as named.
                resolved.extend(pending.drain(..).rev());
            }
            continue;
        };
        match std::fs::read_link(&host) {
            Ok(target) => {
                links += 1;
                if links > 40 {
                    return None;
                }
                let target = target.to_str()?.to_owned();
                if target.starts_with('/') {
                    resolved.clear();
                }
                pending.extend(components(&target).into_iter().rev());
            }
            Err(e) if e.raw_os_error() == Some(22) || e.kind() == std::io::ErrorKind::NotFound => {
                // EINVAL: not a link. Missing: resolved as far as it goes; stat reports it.
                resolved.push(part);
            }
            Err(_) => return None,
        }
    }
    Some(format!("/{}", resolved.join("/")))
}

fn components(path: &str) -> Vec<String> {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => n.to_str().map(str::to_owned),
            Component::ParentDir => Some("..".to_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("palisade-lsm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("tempdir");
        dir
    }

    #[test]
    fn prefixes_are_normalized_like_kernel_paths() {
        assert_eq!(normalize_prefix("/var//cache/./app/").expect("ok"), "/var/cache/app");
        assert_eq!(normalize_prefix("/").expect("ok"), "/");
        assert_eq!(normalize_prefix("///").expect("ok"), "/");
        assert!(normalize_prefix("var/cache").is_err());
        assert!(normalize_prefix("/var/../etc").is_err());
        let msg = normalize_prefix("tmp").expect_err("relative").to_string();
        assert_eq!(msg, "allow_write prefix \"tmp\": not an absolute path");
    }

    #[test]
    fn kernel_policy_sets_flags_and_requires_the_rootfs_device() {
        let mut p = ContainerPolicy { mode: Mode::Enforce, deny_shells: true, immutable: true, ..Default::default() };
        assert!(matches!(p.kernel_policy(1), Err(PolicyError::NoRootfsDev)));
        p.rootfs_dev = 42;
        let k = p.kernel_policy(9).expect("valid");
        assert_eq!(k.mode, enforce_abi::mode::ENFORCE);
        assert_eq!(k.flags, enforce_abi::flags::DENY_SHELLS | enforce_abi::flags::IMMUTABLE);
        assert_eq!((k.rootfs_dev, k.policy_id, k.mount_gate), (42, 9, 0));
        let gated = ContainerPolicy { deny_mount: true, mount_gate: Some(4242), ..p.clone() };
        let k = gated.kernel_policy(9).expect("valid");
        assert_eq!(k.flags & enforce_abi::flags::DENY_MOUNT, enforce_abi::flags::DENY_MOUNT);
        assert_eq!(k.mount_gate, 4242, "the init's tgid opens the gate");
        let audit = ContainerPolicy { deny_package_managers: true, ..Default::default() };
        assert_eq!(audit.kernel_policy(1).expect("valid").mode, enforce_abi::mode::AUDIT);
    }

    #[test]
    fn writable_exec_sets_its_flag_and_its_own_prefixes() {
        let p = ContainerPolicy {
            deny_writable_exec: true,
            allow_writable_exec: vec!["/opt/plugins/".into(), "/opt//plugins".into()],
            allow_write: vec!["/data".into()],
            ..Default::default()
        };
        assert!(matches!(p.kernel_policy(1), Err(PolicyError::NoRootfsDev)), "W^X needs the rootfs superblock");
        let p = ContainerPolicy { rootfs_dev: 7, ..p };
        assert_eq!(p.kernel_policy(1).expect("valid").flags, enforce_abi::flags::DENY_WRITABLE_EXEC);
        let wx = p.allow_writable_exec_entries(4).expect("valid");
        assert_eq!(wx.len(), 1, "equivalent prefixes dedupe");
        assert_eq!(&wx[0].path[..13], b"/opt/plugins/");
        assert_eq!(wx[0].policy_id, 4);
        let w = p.allow_entries(4).expect("valid");
        assert_eq!(&w[0].path[..6], b"/data/", "allow_write keys stay separate");
        let bad = ContainerPolicy { allow_writable_exec: vec!["opt".into()], ..Default::default() };
        assert!(bad.allow_writable_exec_entries(1).is_err());
    }

    #[test]
    fn allow_entries_dedupe_equivalent_prefixes() {
        let p = ContainerPolicy { allow_write: vec!["/data/".into(), "/data".into(), "/x".into()], ..Default::default() };
        let keys = p.allow_entries(3).expect("valid");
        assert_eq!(keys.len(), 2);
        assert_eq!(&keys[0].path[..6], b"/data/");
        let long = ContainerPolicy { allow_write: vec![format!("/{}", "a".repeat(300))], ..Default::default() };
        assert!(long.allow_entries(1).is_err());
    }

    #[test]
    fn identities_follow_links_inside_the_root_and_dedupe() {
        let root = tempdir("ids");
        std::fs::create_dir_all(root.join("bin")).expect("bin");
        std::fs::create_dir_all(root.join("usr/bin")).expect("usr/bin");
        std::fs::write(root.join("bin/busybox"), b"x").expect("busybox");
        std::fs::write(root.join("usr/bin/apt"), b"y").expect("apt");
        std::fs::write(root.join("usr/bin/tool"), b"z").expect("tool");
        // Absolute target: must resolve inside root, not on the host's /bin/busybox.
        symlink("/bin/busybox", root.join("bin/sh")).expect("sh");
        symlink("../../bin/busybox", root.join("usr/bin/ash")).expect("ash");
        symlink("apt", root.join("usr/bin/apt-get")).expect("apt-get");
        let ids = ContainerPolicy::deny_exec_from_rootfs(
            &root,
            &["/bin/sh", "/usr/bin/ash", "/bin/bash"],
            &["/usr/bin/apt-get", "/usr/bin/apt"],
            &["/usr/bin/tool".to_owned()],
        )
        .expect("stat");
        let stat = |p: &str| std::fs::metadata(root.join(p)).expect("meta");
        assert_eq!(ids.len(), 3, "{ids:?}");
        assert_eq!(ids[0].kind, ExecKind::Denied);
        assert_eq!(ids[0].ino, stat("usr/bin/tool").ino());
        assert_eq!((ids[1].kind, ids[1].ino), (ExecKind::Shell, stat("bin/busybox").ino()));
        assert_eq!((ids[2].kind, ids[2].ino), (ExecKind::PackageManager, stat("usr/bin/apt").ino()));
        assert_eq!(ids[1].dev, kernel_dev(stat("bin/busybox").dev()));
        let entries = ContainerPolicy { deny_exec: ids, ..Default::default() }.exec_entries(5);
        assert_eq!(entries[1].1, enforce_abi::reason::SHELL);
        assert_eq!(entries[1].0.policy_id, 5);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn link_loops_resolve_to_nothing() {
        let root = tempdir("loop");
        symlink("b", root.join("a")).expect("a");
        symlink("a", root.join("b")).expect("b");
        assert_eq!(resolve_in_root(&root, "/a"), None);
        assert_eq!(resolve_in_root(&root, "/../../etc/x"), Some(root.join("etc/x")));
        let _ = std::fs::remove_dir_all(&root);
    }
}
