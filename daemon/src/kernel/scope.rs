//! Which cgroups the kernel programs watch: the armed containers' cgroups (`TRACKED_CGROUPS`),
//! and every other cgroup only when host monitoring is on (`SCOPE`).
//!
//! Events of an unwatched cgroup cost the programs one or two map lookups and never reach user
//! space: this is what keeps the host's workloads cheap when only containers are monitored.
//! In front of the `TRACKED_CGROUPS` hash map, `TRACKED_SLOTS` counts the tracked cgroups per
//! hash slot (a counting filter): a cgroup whose slot count is 0 is not tracked, which the
//! programs learn from an inlined array lookup instead of a hash lookup.
//!
//! Invariant (one writer, the owner of this value): a slot is counted up before its cgroup is
//! inserted and down after it is removed, so a tracked cgroup's slot is never 0.
//!
//! The syscall-exit program is attached exactly while something is in scope (host monitoring
//! on, or at least one tracked cgroup): attached before `track` or `watch_untracked(true)`
//! returns (a container's first instruction comes after its cgroup is armed), detached when
//! the last cgroup leaves with host monitoring off. A host without armed containers and
//! without host monitoring then pays nothing per syscall.
//!
//! With pinned maps ([`super::pins`]) the scope outlives the daemon: the programs go on
//! watching the same cgroups while no daemon runs, and a successor's `Scope` starts from the
//! tracked cgroups, slot counts, switch and attachment it finds (whoever owns it then untracks
//! cgroups no container claims any more, see [`Scope::tracked`]).

use aya::maps::{Array, HashMap, MapData};
use palisade_ebpf::abi::ScopeConf;

use super::{KernelError, SysExit};

/// `PALISADE_CGROUP_SLOTS` (maps.h).
pub const CGROUP_SLOTS: u32 = 65536;

/// The `TRACKED_SLOTS` slot of a cgroup id, as `cgroup_slot()` in maps.h computes it.
pub fn cgroup_slot(cgroup_id: u64) -> u32 {
    (cgroup_id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48) as u32
}

/// The scope maps, taken out of the loaded object so the container registry can own them,
/// and the syscall-exit program's attachment, which follows them.
pub struct Scope {
    tracked: HashMap<MapData, u64, u32>,
    slots: Array<MapData, u32>,
    conf: Array<MapData, [u8; 8]>,
    sys_exit: SysExit,
    untracked: bool,
    own_tgid: u32,
    count: usize,
}

fn map_err(name: &'static str) -> impl Fn(aya::maps::MapError) -> KernelError {
    move |e| KernelError::Map { name, detail: e.to_string() }
}

impl Scope {
    pub(super) fn new(
        tracked: HashMap<MapData, u64, u32>,
        slots: Array<MapData, u32>,
        conf: Array<MapData, [u8; 8]>,
        sys_exit: SysExit,
    ) -> Scope {
        // Pinned maps keep what a previous daemon wrote (the tracked cgroups, their slot
        // counts, the host-monitoring switch): this scope starts from it, and `sys_exit`
        // already says whether the program is attached, so `follow` agrees with the kernel.
        let count = tracked.keys().filter(Result::is_ok).count();
        let adopted = conf.get(&0, 0).map(bytemuck::cast::<[u8; 8], ScopeConf>).unwrap_or_default();
        Scope { tracked, slots, conf, sys_exit, untracked: adopted.untracked != 0, own_tgid: adopted.own_tgid, count }
    }

    /// Attach the syscall-exit program when something is in scope, detach it otherwise.
    fn follow(&mut self) -> Result<(), KernelError> {
        self.sys_exit.set(self.untracked || self.count > 0)
    }

    /// Whether the syscall-exit program is attached now.
    pub fn syscalls_attached(&self) -> bool {
        self.sys_exit.attached()
    }

    /// Watch (or stop watching) every cgroup not tracked: the host and unknown containers.
    pub fn watch_untracked(&mut self, on: bool) -> Result<(), KernelError> {
        self.write_conf(on, self.own_tgid)?;
        self.untracked = on;
        self.follow()
    }

    /// Never capture the syscalls of process `tgid` (the daemon's own: `std::process::id()`,
    /// right where the daemon shares the initial pid namespace, as on a node or in a pod with
    /// `hostPID`; elsewhere the ids differ and nothing is excluded). The daemon's process
    /// starts and exits are still captured, and its children's syscalls.
    pub fn exclude_process(&mut self, tgid: u32) -> Result<(), KernelError> {
        self.write_conf(self.untracked, tgid)?;
        self.own_tgid = tgid;
        Ok(())
    }

    fn write_conf(&mut self, untracked: bool, own_tgid: u32) -> Result<(), KernelError> {
        let conf = ScopeConf { untracked: u32::from(untracked), own_tgid };
        self.conf.set(0, bytemuck::cast::<_, [u8; 8]>(conf), 0).map_err(map_err("SCOPE"))
    }

    fn count_slot(&mut self, cgroup_id: u64, up: bool) -> Result<(), KernelError> {
        let slot = cgroup_slot(cgroup_id);
        let n = self.slots.get(&slot, 0).map_err(map_err("TRACKED_SLOTS"))?;
        let n = if up { n.saturating_add(1) } else { n.saturating_sub(1) };
        self.slots.set(slot, n, 0).map_err(map_err("TRACKED_SLOTS"))
    }

    fn is_tracked(&self, cgroup_id: u64) -> bool {
        self.tracked.get(&cgroup_id, 0).is_ok()
    }

    /// Start watching `cgroup_id` (a container armed). Tracking a tracked cgroup again is a
    /// no-op.
    pub fn track(&mut self, cgroup_id: u64) -> Result<(), KernelError> {
        if self.is_tracked(cgroup_id) {
            return Ok(());
        }
        self.count_slot(cgroup_id, true)?;
        if let Err(e) = self.tracked.insert(cgroup_id, 0, 0) {
            self.count_slot(cgroup_id, false)?;
            return Err(map_err("TRACKED_CGROUPS")(e));
        }
        self.count += 1;
        self.follow()
    }

    /// Stop watching `cgroup_id`; forgetting an unknown id is not an error.
    pub fn untrack(&mut self, cgroup_id: u64) -> Result<(), KernelError> {
        match self.tracked.remove(&cgroup_id) {
            Ok(()) => {
                self.count_slot(cgroup_id, false)?;
                self.count = self.count.saturating_sub(1);
                self.follow()
            }
            Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(e) => Err(map_err("TRACKED_CGROUPS")(e)),
        }
    }

    /// The cgroup ids watched now.
    pub fn tracked(&self) -> Vec<u64> {
        self.tracked.keys().filter_map(Result::ok).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_in_range_and_spread_sequential_ids() {
        let slots: std::collections::BTreeSet<u32> = (4000u64..5000).map(cgroup_slot).collect();
        assert!(slots.iter().all(|s| *s < CGROUP_SLOTS));
        assert!(slots.len() > 990, "sequential cgroup inode numbers land in distinct slots: {}", slots.len());
        // The C side: (id * 0x9e3779b97f4a7c15) >> 48, in u64 arithmetic.
        assert_eq!(cgroup_slot(1), 0x9e37);
        assert_eq!(cgroup_slot(0), 0);
    }

    #[test]
    fn the_c_side_computes_the_same_slot() {
        let maps = include_str!("../../../enforcer-ebpf/src/bpf/maps.h");
        assert!(maps.contains("(__u32)((cgroup * 0x9e3779b97f4a7c15ULL) >> 48)"), "cgroup_slot() changed in maps.h");
        assert!(maps.contains(&format!("#define PALISADE_CGROUP_SLOTS {CGROUP_SLOTS}")));
    }
}
