//! The BPF-LSM backend, daemon side: when the kernel accepts LSM programs, every container whose
//! profile denies something is armed in the kernel when its cgroup is known (audit or enforce:
//! the kernel then judges, and user space no longer does), and disarmed when it stops. The
//! kernel's decisions come back through [`KernelEnforcer::decisions`].
//!
//! From a profile to a [`ContainerPolicy`]: the rootfs superblock (stat of the bundle's rootfs
//! before the container runs), the identities of every file of the image the profile denies
//! (shells, package managers, `exec.deny` matches, found anywhere in the image with their hard
//! links and same-bytes copies by [`image_scan`]), `allow_write` plus the runtime's
//! pseudo-files. With `immutable`, W^X: no exec or `PROT_EXEC` mapping of files in writable
//! places (`deny_writable_exec`), except beneath `immutable.allow_writable_exec`. Volumes need no
//! entry: writes to any other superblock than the rootfs are the container's mounts.
//! `immutable` also denies mounts (a mount hides or replaces the image's files without writing
//! them): from the moment the container's init execs its entrypoint when armed from the
//! `createRuntime` hook (runc still mounts masked and read-only paths after the hook), at once
//! when armed later.
//!
//! Building a policy reads the whole image (a stat per entry, see [`image_scan`]): the
//! registry does it without holding its lock ([`PolicyBuilder`]), then installs the result
//! with [`KernelEnforcer::arm`], a few map updates.

use std::path::Path;
use std::sync::Arc;

use palisade_ebpf::enforce_abi::kernel_dev;
use palisade_lsm::{ContainerPolicy, Decision, Enforcer, ExecIdentity, ExecKind};
use palisade_profiles::{Mode, Profile, RUNTIME_WRITABLE};

use super::image_scan::{self, DenyKind};

/// What a container's kernel policy is built from.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    /// The container's profile.
    pub profile: &'a Profile,
    /// Its mode.
    pub mode: Mode,
    /// Its root filesystem as the daemon sees it (the bundle's rootfs).
    pub rootfs: &'a Path,
    /// The init whose exec starts mount denial ([`ContainerPolicy::mount_gate`]).
    pub mount_gate: Option<u32>,
}

/// Builds a container's kernel policy; reads the image, so it is called without the registry
/// lock. [`policy`] for the real backend; tests substitute one that reads nothing.
pub type PolicyBuilder = Arc<dyn Fn(&PolicyInput<'_>) -> Result<ContainerPolicy, String> + Send + Sync>;

/// Where the registry arms containers in the kernel. A trait so the registry's logic is
/// tested without a kernel that accepts LSM programs.
pub trait KernelEnforcer: Send {
    /// How this backend builds a container's policy (run outside the registry lock).
    fn policy_builder(&self) -> PolicyBuilder;
    /// Arms `cgroup_id` with `policy` (built by [`KernelEnforcer::policy_builder`]).
    fn arm(&mut self, cgroup_id: u64, policy: &ContainerPolicy) -> Result<(), String>;
    /// Removes `cgroup_id`'s policy.
    fn disarm(&mut self, cgroup_id: u64);
    /// The decisions the kernel made since the last call.
    fn decisions(&mut self) -> Vec<Decision>;
    /// The cgroups with a policy in the kernel now: after a restart, the pinned policies a
    /// predecessor installed ([`crate::containers::Registry::reconcile_kernel`]).
    fn armed(&self) -> Vec<u64>;
    /// Removes the programs and their pins: nothing is enforced any more.
    fn detach(self: Box<Self>) -> Result<(), String>;
}

/// The policy the kernel applies for `input.profile` in `input.mode`.
pub fn policy(input: &PolicyInput<'_>) -> Result<ContainerPolicy, String> {
    let PolicyInput { profile, mode, rootfs, mount_gate } = *input;
    let scan = image_scan::scan(rootfs, profile, image_scan::MAX_ENTRIES).map_err(|e| e.to_string())?;
    let deny_exec = scan
        .identities()
        .into_iter()
        .map(|(dev, ino, kind)| ExecIdentity {
            dev: kernel_dev(dev),
            ino,
            kind: match kind {
                DenyKind::Denied => ExecKind::Denied,
                DenyKind::Shell => ExecKind::Shell,
                DenyKind::PackageManager => ExecKind::PackageManager,
            },
        })
        .collect();
    let mut allow_write: Vec<String> = profile.immutable.allow_write.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    allow_write.extend(RUNTIME_WRITABLE.iter().map(|s| (*s).to_owned()));
    Ok(ContainerPolicy {
        mode: match mode {
            Mode::Audit => palisade_lsm::Mode::Audit,
            Mode::Enforce => palisade_lsm::Mode::Enforce,
        },
        deny_shells: profile.deny_shells,
        deny_package_managers: profile.deny_package_managers,
        immutable: profile.immutable.enabled,
        exec_only_image: false,
        deny_writable_exec: profile.immutable.enabled,
        allow_writable_exec: profile.immutable.allow_writable_exec.iter().map(|p| p.to_string_lossy().into_owned()).collect(),
        deny_mount: profile.immutable.enabled,
        mount_gate,
        rootfs_dev: palisade_lsm::rootfs_dev(rootfs).map_err(|e| e.to_string())?,
        allow_write,
        deny_exec,
    })
}

impl KernelEnforcer for Enforcer {
    fn policy_builder(&self) -> PolicyBuilder {
        Arc::new(policy)
    }

    fn arm(&mut self, cgroup_id: u64, policy: &ContainerPolicy) -> Result<(), String> {
        Enforcer::arm(self, cgroup_id, policy).map(drop).map_err(|e| e.to_string())
    }

    fn disarm(&mut self, cgroup_id: u64) {
        if let Err(e) = Enforcer::disarm(self, cgroup_id) {
            tracing::warn!(cgroup_id, error = %e, "BPF-LSM disarm failed");
        }
    }

    fn decisions(&mut self) -> Vec<Decision> {
        Enforcer::decisions(self)
            .into_iter()
            .filter_map(|d| d.map_err(|e| tracing::warn!(error = %e, "undecodable BPF-LSM decision")).ok())
            .collect()
    }

    fn armed(&self) -> Vec<u64> {
        Enforcer::armed(self)
            .map_err(|e| tracing::warn!(error = %e, "listing the BPF-LSM policies failed"))
            .map(|a| a.into_iter().map(|(cgroup_id, _)| cgroup_id).collect())
            .unwrap_or_default()
    }

    fn detach(self: Box<Self>) -> Result<(), String> {
        self.unpin_all().map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_profiles::ProfileSet;

    #[test]
    fn a_profile_becomes_the_kernel_policy_of_its_image() {
        let root = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(root.path().join("bin")).expect("mkdir");
        std::fs::write(root.path().join("bin/busybox"), b"").expect("busybox");
        std::os::unix::fs::symlink("busybox", root.path().join("bin/sh")).expect("sh");
        std::fs::create_dir_all(root.path().join("usr/bin")).expect("mkdir");
        std::fs::write(root.path().join("usr/bin/apt-get"), b"").expect("apt-get");
        std::fs::create_dir_all(root.path().join("opt/tools")).expect("mkdir");
        std::fs::write(root.path().join("opt/tools/bash"), b"bash").expect("a shell outside the bin directories");
        let set = ProfileSet::from_texts(&[(
            "p.yaml",
            "name: p\nmatch: {images: ['x:*']}\ndeny_shells: true\ndeny_package_managers: true\n\
             immutable: {enabled: true, allow_write: [/var/cache/app, /tmp], allow_writable_exec: [/tmp/jit]}\n",
        )])
        .expect("profile");
        let input = PolicyInput { profile: set.get("p").expect("p"), mode: Mode::Enforce, rootfs: root.path(), mount_gate: Some(42) };
        let p = policy(&input).expect("policy");
        assert_eq!(p.mode, palisade_lsm::Mode::Enforce);
        assert!(p.deny_shells && p.deny_package_managers && p.immutable);
        assert!(p.deny_mount, "immutable denies mounts");
        assert_eq!(p.mount_gate, Some(42), "from the init's exec on");
        assert!(p.allow_write.contains(&"/var/cache/app".to_owned()) && p.allow_write.contains(&"/dev/null".to_owned()));
        assert!(p.deny_writable_exec, "W^X with immutable");
        assert_eq!(p.allow_writable_exec, ["/tmp/jit"]);
        // /bin/sh and /bin/busybox are one file: one identity, a shell; /opt/tools/bash another
        // shell; apt-get a package manager.
        let kinds: Vec<palisade_lsm::ExecKind> = p.deny_exec.iter().map(|i| i.kind).collect();
        assert_eq!(kinds.len(), 3, "{:?}", p.deny_exec);
        assert!(kinds.contains(&palisade_lsm::ExecKind::Shell) && kinds.contains(&palisade_lsm::ExecKind::PackageManager));
        assert_eq!(p.rootfs_dev, palisade_lsm::rootfs_dev(root.path()).expect("dev"));
    }

    #[test]
    fn mounts_are_denied_only_with_immutable_and_at_once_without_a_gate() {
        let root = tempfile::tempdir().expect("tmp");
        let set = ProfileSet::from_texts(&[("p.yaml", "name: p\nmatch: {images: ['x:*']}\ndeny_shells: true\n")]).expect("profile");
        let input = PolicyInput { profile: set.get("p").expect("p"), mode: Mode::Audit, rootfs: root.path(), mount_gate: None };
        let p = policy(&input).expect("policy");
        assert!(!p.deny_mount && !p.immutable && !p.deny_writable_exec && p.mount_gate.is_none());
        assert_eq!(p.mode, palisade_lsm::Mode::Audit);
    }
}
