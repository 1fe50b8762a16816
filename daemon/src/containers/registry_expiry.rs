//! Forgetting containers: stopped ones after [`STOPPED_GRACE_NS`], and ones that were reported
//! but never armed after [`UNARMED_TTL_NS`].
//!
//! Why the second: an entry is made by whatever reports a container first (the hook's
//! `Prepare`/`createRuntime`, NRI, containerd), and before this, one whose arming failed, or that
//! was prepared and never started (runc failed, the pod was deleted), stayed forever — the
//! registry grew with every failure. Its runtime never sends `poststop` for a container that
//! never ran, so time is the bound: a container is armed within seconds of being reported
//! (NRI's CreateContainer and the wrapper's `Prepare` come just before `runc create`, whose
//! `createRuntime` hook arms it), two minutes is far beyond that. A late hook for an expired
//! entry simply registers it again.

use super::{Registry, State, STOPPED_GRACE_NS};

/// How long an entry that was never armed is kept.
pub const UNARMED_TTL_NS: u64 = 120_000_000_000;

impl Registry {
    /// Drops stopped containers older than the grace period and never-armed ones older than
    /// [`UNARMED_TTL_NS`]. Called when a container is reported or armed, so the registry's size
    /// is bounded by what was reported within those times.
    pub(super) fn purge_expired(&mut self) {
        let now = (self.now_ns)();
        let expired: Vec<String> = self
            .containers
            .iter()
            .filter(|(_, e)| match e.state {
                State::Stopped => now.saturating_sub(e.stopped_ns) > STOPPED_GRACE_NS,
                State::Created => e.cgroup.is_none() && now.saturating_sub(e.created_ns) > UNARMED_TTL_NS,
                State::Running => false,
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(e) = self.containers.remove(&id) {
                if e.state != State::Stopped {
                    tracing::info!(container_id = %id, "forgot a container that was never armed");
                }
                if let Some(cg) = e.cgroup {
                    self.by_cgroup.remove(&cg.id);
                }
            }
        }
    }
}
