//! Reporting per-container syscall budget drops (`syscall_budget.actions`): one housekeeping
//! round reads the kernel's counters through a [`BudgetLedger`], counts the metric per
//! container, and logs or raises the `Palisade internal: syscall event budget exceeded` alert,
//! rate-limited per container like Falco's `syscall_event_drops` (a token bucket). Drops not
//! reported because the bucket was empty are carried into the container's next report, so each
//! alert's `n_drops` says how many records went since the previous one: none are left out.

use std::collections::HashMap;
use std::time::Instant;

use palisade_ebpf::abi::BudgetConf;
use palisade_hook::{BudgetDrops, CgroupDrops};
use palisade_metrics::Metrics;
use palisade_rules::alert::Alert;
use palisade_rules::output::FieldValue;

use super::budget::{BudgetCounts, BudgetLedger, HOST};
use crate::config::{DropAction, SyscallBudget};

/// cgroups listed per container in `palisade status` (the most dropping ones).
const STATUS_CGROUPS: usize = 8;

/// The alert's rule name.
pub const RULE: &str = "Palisade internal: syscall event budget exceeded";

/// The kernel form of the `syscall_budget` configuration.
pub fn kernel_conf(c: &SyscallBudget) -> BudgetConf {
    BudgetConf {
        rate: c.rate,
        burst: c.burst,
        rare_rate: c.rare_rate,
        rare_burst: c.rare_burst,
        enabled: u32::from(c.enabled),
        _pad: 0,
    }
}

#[derive(Debug)]
struct ReportBucket {
    tokens: f64,
    last: Instant,
    /// Drops not reported yet.
    pending: u64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct BudgetReporter {
    config: SyscallBudget,
    ledger: BudgetLedger,
    buckets: HashMap<String, ReportBucket>,
}

impl BudgetReporter {
    pub fn new(config: &SyscallBudget) -> BudgetReporter {
        BudgetReporter { config: config.clone(), ledger: BudgetLedger::default(), buckets: HashMap::new() }
    }

    /// Takes a reloaded configuration (the counts so far are kept).
    pub fn set_config(&mut self, config: &SyscallBudget) {
        self.config = config.clone();
    }

    /// One housekeeping round over the kernel's `counts`. `owner` names the container (full id,
    /// name) of a cgroup (`None`: the host); `known` says whether a container is still tracked.
    /// Returns the alerts to send and the idle cgroups whose kernel entries to delete.
    pub fn round(
        &mut self,
        counts: &BudgetCounts,
        owner: impl Fn(u64) -> Option<(String, String)>,
        known: impl Fn(&str) -> bool,
        metrics: &Metrics,
        hostname: &str,
        now: Instant,
    ) -> (Vec<Alert>, Vec<u64>) {
        let round = self.ledger.round(counts, owner);
        metrics.set_budget_unattributed(self.ledger.unattributed());
        if round.unattributed > 0 {
            tracing::warn!(n_drops = round.unattributed, "syscall budget drops the kernel could not attribute (its table was full)");
        }
        let max_burst = f64::from(self.config.report_max_burst);
        let mut alerts = Vec::new();
        for d in &round.new {
            metrics.budget_drops(&d.id, &d.name, d.new);
            let b = self.buckets.entry(d.id.clone()).or_insert(ReportBucket { tokens: max_burst, last: now, pending: 0 });
            b.pending += d.new;
        }
        for (id, b) in &mut self.buckets {
            b.tokens = (b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * self.config.report_rate).min(max_burst);
            b.last = now;
            if b.pending == 0 || b.tokens < 1.0 {
                continue;
            }
            b.tokens -= 1.0;
            let n_drops = std::mem::take(&mut b.pending);
            let Some(c) = self.ledger.containers().get(id) else { continue };
            for action in &self.config.actions {
                match action {
                    DropAction::Ignore => {}
                    DropAction::Log => tracing::warn!(
                        container_id = %id,
                        container_name = %c.name,
                        n_drops,
                        n_drops_total = c.total,
                        rate = self.config.rate,
                        "syscall event budget exceeded"
                    ),
                    DropAction::Alert => alerts.push(budget_alert(id, &c.name, n_drops, c.total, &self.config, hostname)),
                }
            }
        }
        for gone in self.ledger.retain_containers(known) {
            self.buckets.remove(&gone);
            metrics.forget_budget_container(&gone);
        }
        (alerts, round.idle)
    }

    /// `palisade status`'s per-container list (most drops first) and the unattributed drops.
    pub fn status(&self) -> (Vec<BudgetDrops>, u64) {
        let mut list: Vec<BudgetDrops> = self
            .ledger
            .containers()
            .iter()
            .map(|(id, c)| {
                let mut cgroups: Vec<CgroupDrops> =
                    c.cgroups.iter().map(|(&cgroup_id, &drops)| CgroupDrops { cgroup_id, drops }).collect();
                cgroups.sort_by(|a, b| b.drops.cmp(&a.drops).then(a.cgroup_id.cmp(&b.cgroup_id)));
                cgroups.truncate(STATUS_CGROUPS);
                BudgetDrops { container_id: id.clone(), container_name: c.name.clone(), drops: c.total, cgroups }
            })
            .collect();
        list.sort_by(|a, b| b.drops.cmp(&a.drops).then_with(|| a.container_id.cmp(&b.container_id)));
        (list, self.ledger.unattributed())
    }
}

/// The Falco-style internal alert naming the container (`container.id` is the short id, as in
/// Falco's alerts; `host` for the host).
fn budget_alert(id: &str, name: &str, n_drops: u64, total: u64, c: &SyscallBudget, hostname: &str) -> Alert {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let short = if id == HOST { id } else { id.get(..12).unwrap_or(id) };
    let text = |s: &str| FieldValue::Text(s.to_owned());
    let number = |n: u64| FieldValue::Number(i128::from(n));
    Alert {
        time_ns: now,
        rule: RULE.into(),
        priority: "Critical",
        source: "internal",
        output: format!(
            "{RULE}. container {name} ({short}): {n_drops} syscall records not delivered (total {total}) over its budget of {}/s, burst {}",
            c.rate, c.burst
        ),
        output_fields: vec![
            ("container.id".into(), text(short)),
            ("container.name".into(), text(name)),
            ("n_drops".into(), number(n_drops)),
            ("n_drops_total".into(), number(total)),
            ("budget.rate".into(), number(c.rate)),
            ("budget.burst".into(), number(c.burst)),
        ],
        tags: vec![],
        hostname: hostname.to_owned(),
        extra: vec![],
    }
}

#[cfg(test)]
#[path = "budget_report_tests.rs"]
mod tests;
