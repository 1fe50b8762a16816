//! Per-cgroup syscall budgets (`budget.h`): the kernel side's maps, and the [`BudgetLedger`]
//! that turns the kernel's per-cgroup running totals into per-container drops.
//!
//! The kernel counts, per cgroup id, the budgeted records it did not write (`BUDGET_DROPS`, a
//! running total). The daemon reads the whole map at housekeeping; the ledger keeps the last
//! total seen per cgroup, so each round yields the new drops, attributed to the container that
//! owns the cgroup (host cgroups and cgroups of containers not tracked are `host`).
//!
//! Invariant (nothing lost unread): the daemon deletes a cgroup's kernel entry only after its
//! total stayed the same for [`IDLE_ROUNDS`] rounds, and then forgets its last total (the
//! kernel starts it again from 0). A drop landing between that round's read and the delete
//! would be lost: that needs the cgroup to drop again exactly then after a minute without any,
//! which the delete window (microseconds) makes negligible; it is the only loss. When the map
//! is full, the kernel counts drops in `BUDGET_STATS[UNATTRIBUTED]` instead, reported as such.

use std::collections::{BTreeMap, HashMap};

use aya::maps::{Array, HashMap as BpfHashMap, MapData, PerCpuArray};

use palisade_ebpf::abi::{BudgetConf, BUDGET_NEW_BUCKETS, BUDGET_UNATTRIBUTED};

use super::KernelError;

/// Rounds (housekeeping seconds) a cgroup's total must stay unchanged before its kernel entry
/// is deleted, making room for other cgroups.
pub const IDLE_ROUNDS: u32 = 60;

/// The container name and id of records from cgroups that belong to no tracked container.
pub const HOST: &str = "host";

/// What the kernel counted, read at one housekeeping round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BudgetCounts {
    /// Per cgroup id: records dropped over budget, a running total since the entry was made.
    pub per_cgroup: Vec<(u64, u64)>,
    /// Drops that found `BUDGET_DROPS` full (a running total).
    pub unattributed: u64,
    /// Buckets created (a running total; beyond the LRU's size, some were evicted).
    pub new_buckets: u64,
}

/// The budget maps of the loaded object.
///
/// Pinned maps ([`super::pins`]) come with the totals an earlier daemon saw (and reported):
/// they are the baseline, subtracted from what [`BudgetMaps::counts`] returns, so a successor
/// reports only the drops counted after it started. A cgroup's baseline goes with its entry
/// ([`BudgetMaps::forget`]).
pub(super) struct BudgetMaps {
    conf: Array<MapData, [u64; 5]>,
    drops: BpfHashMap<MapData, u64, u64>,
    stats: PerCpuArray<MapData, u64>,
    baseline: HashMap<u64, u64>,
    unattributed_base: u64,
    new_buckets_base: u64,
}

impl BudgetMaps {
    pub(super) fn new(
        conf: Array<MapData, [u64; 5]>,
        drops: BpfHashMap<MapData, u64, u64>,
        stats: PerCpuArray<MapData, u64>,
    ) -> BudgetMaps {
        BudgetMaps { conf, drops, stats, baseline: HashMap::new(), unattributed_base: 0, new_buckets_base: 0 }
    }

    /// Takes what the maps hold now as the baseline (inherited pinned maps).
    pub(super) fn inherit(&mut self) {
        let now = self.raw_counts();
        self.baseline = now.per_cgroup.into_iter().collect();
        self.unattributed_base = now.unattributed;
        self.new_buckets_base = now.new_buckets;
    }

    pub(super) fn set(&mut self, conf: BudgetConf) -> Result<(), KernelError> {
        self.conf
            .set(0, bytemuck::cast::<_, [u64; 5]>(conf), 0)
            .map_err(|e| KernelError::Map { name: "BUDGET_CONF", detail: e.to_string() })
    }

    pub(super) fn counts(&self) -> BudgetCounts {
        let raw = self.raw_counts();
        BudgetCounts {
            per_cgroup: raw
                .per_cgroup
                .into_iter()
                .map(|(cgroup, total)| (cgroup, total.saturating_sub(self.baseline.get(&cgroup).copied().unwrap_or(0))))
                .collect(),
            unattributed: raw.unattributed.saturating_sub(self.unattributed_base),
            new_buckets: raw.new_buckets.saturating_sub(self.new_buckets_base),
        }
    }

    fn raw_counts(&self) -> BudgetCounts {
        let stat = |slot: u32| self.stats.get(&slot, 0).map(|per_cpu| per_cpu.iter().sum()).unwrap_or(0);
        BudgetCounts {
            per_cgroup: self.drops.iter().filter_map(Result::ok).collect(),
            unattributed: stat(BUDGET_UNATTRIBUTED),
            new_buckets: stat(BUDGET_NEW_BUCKETS),
        }
    }

    pub(super) fn forget(&mut self, cgroups: &[u64]) {
        for cgroup in cgroups {
            self.baseline.remove(cgroup);
            if let Err(e) = self.drops.remove(cgroup) {
                tracing::debug!(cgroup_id = cgroup, error = %e, "deleting an idle budget entry");
            }
        }
    }
}

/// A container's budget drops, as `palisade status` and the metric show them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerDrops {
    /// The container's name ([`HOST`] for the host).
    pub name: String,
    /// Drops since the daemon started (or since the container was first seen dropping).
    pub total: u64,
    /// The same per cgroup id (a container has one; the host many: which service flooded).
    pub cgroups: BTreeMap<u64, u64>,
}

/// New drops of one container in one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDrops {
    /// Full container id, or [`HOST`].
    pub id: String,
    /// Its name.
    pub name: String,
    /// Drops since the previous round.
    pub new: u64,
    /// Its total so far.
    pub total: u64,
}

/// What one round found: new drops per container, and the kernel entries to delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// Containers with new drops, by id.
    pub new: Vec<NewDrops>,
    /// New unattributed drops (the kernel's map was full).
    pub unattributed: u64,
    /// cgroups whose kernel entry is idle: delete them ([`BudgetMaps`]), already forgotten here.
    pub idle: Vec<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    total: u64,
    idle: u32,
}

/// The kernel's running totals turned into per-container drops (see the module documentation).
#[derive(Debug, Default)]
pub struct BudgetLedger {
    seen: HashMap<u64, Seen>,
    containers: BTreeMap<String, ContainerDrops>,
    unattributed_seen: u64,
    unattributed: u64,
}

impl BudgetLedger {
    /// Takes one round's `counts`; `owner` names the container of a cgroup id (`None`: the host).
    pub fn round(&mut self, counts: &BudgetCounts, owner: impl Fn(u64) -> Option<(String, String)>) -> Round {
        let mut round = Round::default();
        let mut new: BTreeMap<String, NewDrops> = BTreeMap::new();
        for &(cgroup, total) in &counts.per_cgroup {
            let seen = self.seen.entry(cgroup).or_insert(Seen { total: 0, idle: 0 });
            // A total below the last one: the entry was deleted and made again in between.
            let delta = if total >= seen.total { total - seen.total } else { total };
            seen.total = total;
            if delta == 0 {
                seen.idle += 1;
                if seen.idle >= IDLE_ROUNDS {
                    round.idle.push(cgroup);
                }
                continue;
            }
            seen.idle = 0;
            let (id, name) = owner(cgroup).unwrap_or_else(|| (HOST.to_owned(), HOST.to_owned()));
            let c = self.containers.entry(id.clone()).or_insert_with(|| ContainerDrops { name: name.clone(), ..ContainerDrops::default() });
            c.total += delta;
            *c.cgroups.entry(cgroup).or_default() += delta;
            let e = new.entry(id.clone()).or_insert(NewDrops { id, name, new: 0, total: 0 });
            e.new += delta;
            e.total = c.total;
        }
        for cgroup in &round.idle {
            self.seen.remove(cgroup);
        }
        let present: std::collections::HashSet<u64> = counts.per_cgroup.iter().map(|(c, _)| *c).collect();
        self.seen.retain(|c, _| present.contains(c));
        round.unattributed = counts.unattributed.saturating_sub(self.unattributed_seen);
        self.unattributed_seen = self.unattributed_seen.max(counts.unattributed);
        self.unattributed += round.unattributed;
        round.new = new.into_values().collect();
        round
    }

    /// Forgets the containers `keep` says are gone (never the host); returns their ids.
    pub fn retain_containers(&mut self, keep: impl Fn(&str) -> bool) -> Vec<String> {
        let gone: Vec<String> = self.containers.keys().filter(|id| *id != HOST && !keep(id)).cloned().collect();
        for id in &gone {
            self.containers.remove(id);
        }
        gone
    }

    /// Every container that dropped, by id, with its totals.
    pub fn containers(&self) -> &BTreeMap<String, ContainerDrops> {
        &self.containers
    }

    /// Drops the kernel could not attribute to a cgroup, in total.
    pub fn unattributed(&self) -> u64 {
        self.unattributed
    }
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
