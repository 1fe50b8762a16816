//! Which cgroups the kernel programs watch: the armed containers' cgroups (`TRACKED_CGROUPS`),
//! and every other cgroup only when host monitoring is on (`SCOPE`).
//!
//! Events of an unwatched cgroup cost the programs one or two map lookups and never reach user
//! space: this is what keeps the host's workloads cheap when only containers are monitored.

use aya::maps::{Array, HashMap, MapData};
use palisade_ebpf::abi::ScopeConf;

use super::KernelError;

/// The scope maps, taken out of the loaded object so the container registry can own them.
pub struct Scope {
    tracked: HashMap<MapData, u64, u32>,
    conf: Array<MapData, [u8; 8]>,
}

fn map_err(name: &'static str) -> impl Fn(aya::maps::MapError) -> KernelError {
    move |e| KernelError::Map { name, detail: e.to_string() }
}

impl Scope {
    pub(super) fn new(tracked: HashMap<MapData, u64, u32>, conf: Array<MapData, [u8; 8]>) -> Scope {
        Scope { tracked, conf }
    }

    /// Watch (or stop watching) every cgroup not tracked: the host and unknown containers.
    pub fn watch_untracked(&mut self, on: bool) -> Result<(), KernelError> {
        let conf = ScopeConf { untracked: u32::from(on), _pad: 0 };
        self.conf.set(0, bytemuck::cast::<_, [u8; 8]>(conf), 0).map_err(map_err("SCOPE"))
    }

    /// Start watching `cgroup_id` (a container armed).
    pub fn track(&mut self, cgroup_id: u64) -> Result<(), KernelError> {
        self.tracked.insert(cgroup_id, 0, 0).map_err(map_err("TRACKED_CGROUPS"))
    }

    /// Stop watching `cgroup_id`; forgetting an unknown id is not an error.
    pub fn untrack(&mut self, cgroup_id: u64) -> Result<(), KernelError> {
        match self.tracked.remove(&cgroup_id) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(e) => Err(map_err("TRACKED_CGROUPS")(e)),
        }
    }

    /// The cgroup ids watched now.
    pub fn tracked(&self) -> Vec<u64> {
        self.tracked.keys().filter_map(Result::ok).collect()
    }
}
