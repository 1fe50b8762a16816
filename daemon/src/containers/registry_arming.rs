//! Arming a container in two halves around the one slow step, so the registry lock (which the
//! event loop takes for every event) is never held while the image is read:
//!
//! 1. [`Registry::begin_arm`], under the lock: the cgroup into the kernel's scope, the profile;
//! 2. [`KernelArming::build`], without it: the BPF-LSM policy (the whole-image scan, a stat per
//!    entry of the rootfs), as `Prepare` builds the Landlock policy;
//! 3. [`Registry::finish_arm`], under the lock again: a few map updates.
//!
//! [`arm`] runs the three. Between 1 and 3 the container may stop, or another source (NRI
//! after the hook) may arm it: `finish_arm` then installs nothing.

use std::path::PathBuf;
use std::sync::Arc;

use palisade_lsm::ContainerPolicy;
use palisade_profiles::{Mode, Profile};

use super::{Registry, SharedRegistry, State};
use crate::containers::lsm::{PolicyBuilder, PolicyInput};
use crate::containers::Backend;

/// When a container is armed, relative to its runtime's setup. Decides when mount denial
/// starts: runc mounts after the `createRuntime` hook (masked and read-only paths after
/// pivot_root) and execs the entrypoint last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// From the `createRuntime` hook: mount denial starts when the container's init (the
    /// state's pid) execs its entrypoint.
    CreateRuntime,
    /// The runtime is done with the container (NRI start and synchronize, containers
    /// recovered from containerd): everything applies at once.
    SetUp,
}

/// What [`Registry::begin_arm`] leaves to do.
#[must_use = "a container with kernel arming pending is not enforced until finish_arm installs it"]
pub enum Begun {
    /// Nothing: armed, in this mode.
    Armed(String),
    /// Its BPF-LSM policy: build it without the lock, then [`Registry::finish_arm`].
    Kernel(KernelArming),
}

/// A container's BPF-LSM arming between the two halves (everything the policy needs, copied
/// out of the registry so it is built without the lock).
pub struct KernelArming {
    id: String,
    cgroup_id: u64,
    profile: Arc<Profile>,
    mode: Mode,
    rootfs: PathBuf,
    mount_gate: Option<u32>,
    builder: PolicyBuilder,
}

impl KernelArming {
    /// The container's kernel policy; reads its image. Call without the registry lock.
    pub fn build(&self) -> Result<ContainerPolicy, String> {
        let input = PolicyInput { profile: &self.profile, mode: self.mode, rootfs: &self.rootfs, mount_gate: self.mount_gate };
        (self.builder)(&input)
    }
}

impl Registry {
    /// The BPF-LSM arming `id` needs, if any: there are programs, its cgroup and profile are
    /// known, the profile denies something and the container is not judged in the kernel yet.
    pub(super) fn kernel_arming(&self, id: &str, stage: Stage) -> Option<KernelArming> {
        let enforcer = self.kernel_enforcer.as_ref()?;
        let entry = self.containers.get(id)?;
        let (cgroup, profile) = (entry.cgroup.as_ref()?, entry.meta.profile.clone()?);
        if entry.meta.judged_in_kernel || !profile.denies_anything() {
            return None;
        }
        Some(KernelArming {
            id: id.to_owned(),
            cgroup_id: cgroup.id,
            profile,
            mode: entry.meta.mode,
            rootfs: entry.rootfs.clone(),
            mount_gate: (stage == Stage::CreateRuntime).then_some(entry.pid),
            builder: enforcer.policy_builder(),
        })
    }

    /// Second half of arming: installs `policy` (the result of `job.build()`) in the BPF-LSM
    /// programs; returns the container's mode. An enforced container that cannot be armed is
    /// an error (the hook then refuses it when `fail_closed` is set); an audited one is judged
    /// in user space instead.
    pub fn finish_arm(&mut self, job: KernelArming, policy: Result<ContainerPolicy, String>) -> Result<String, String> {
        let KernelArming { id, cgroup_id, profile, mode, .. } = job;
        let entry = self.containers.get_mut(&id).ok_or_else(|| format!("container {id} is not registered"))?;
        if entry.state == State::Stopped || entry.cgroup.as_ref().map(|c| c.id) != Some(cgroup_id) {
            return Err(format!("container {id} stopped while it was being armed"));
        }
        if !entry.meta.judged_in_kernel {
            let Some(enforcer) = self.kernel_enforcer.as_mut() else { return Err(format!("container {id}: BPF-LSM detached")) };
            match policy.and_then(|p| enforcer.arm(cgroup_id, &p)) {
                Ok(()) => {
                    let m = Arc::make_mut(&mut entry.meta);
                    m.judged_in_kernel = true;
                    m.enforced_by = (mode == Mode::Enforce).then_some(Backend::BpfLsm);
                    tracing::info!(container_id = %id, cgroup_id, profile = %profile.name, %mode, "armed in BPF-LSM");
                }
                Err(e) if mode == Mode::Enforce => {
                    return Err(format!("container {id}: profile {} (enforce, backend bpf-lsm): arming failed: {e}", profile.name))
                }
                Err(e) => tracing::warn!(container_id = %id, error = %e, "BPF-LSM arming failed; judged in user space"),
            }
        }
        if entry.state == State::Created {
            entry.state = State::Running;
        }
        let mode = entry.mode.clone();
        self.save_state();
        Ok(mode)
    }
}

/// Arms container `id` (the cgroup of `pid`) at `stage`: [`Registry::begin_arm`] and
/// [`Registry::finish_arm`] under the lock, the kernel policy built between them without it.
/// Returns the container's mode.
pub fn arm(registry: &SharedRegistry, id: &str, pid: u32, stage: Stage) -> Result<String, String> {
    let lock = || registry.lock().map_err(|_| "registry unavailable".to_owned());
    let job = match lock()?.begin_arm(id, pid, stage)? {
        Begun::Armed(mode) => return Ok(mode),
        Begun::Kernel(job) => job,
    };
    let t = std::time::Instant::now();
    let policy = job.build();
    tracing::debug!(container_id = id, build_us = t.elapsed().as_micros() as u64, "BPF-LSM policy built");
    lock()?.finish_arm(job, policy)
}
