//! The daemon's metric families and their OpenMetrics encoding.
//!
//! | family | type | labels | cardinality |
//! |---|---|---|---|
//! | `palisade_events_total` | counter | `evt_type` | event types the decoder knows (tens) |
//! | `palisade_alerts_total` | counter | `rule`, `priority` | loaded rules × the priorities they had (a rule has one priority; an override or a reload can add a second) |
//! | `palisade_enforcement_decisions_total` | counter | `profile`, `enforced` | profiles × 2 (a loaded profile's two series exist from its load, at 0) |
//! | `palisade_kernel_drops_total` | counter | | 1 |
//! | `palisade_output_delivered_total`, `palisade_output_failed_total` | counter | `output` | configured outputs |
//! | `palisade_outputs_queue_depth`, `palisade_outputs_queue_capacity` | gauge | | 1 |
//! | `palisade_outputs_dropped_total` | counter | | 1 |
//! | `palisade_alerts_aggregated_total` | counter | | 1 |
//! | `palisade_alert_summaries_total` | counter | | 1 |
//! | `palisade_containers_tracked` | gauge | | 1 |
//! | `palisade_rules_load_errors_total` | counter | | 1 |
//! | `palisade_reloads_total` | counter | `result` = `ok` \| `error` | 2 |
//! | `palisade_rules_loaded` | gauge | | 1 |
//! | `palisade_hook_socket_refused_total` | counter | `reason` = `busy` \| `peer` | 2 |
//! | `palisade_syscall_budget_drops_total` | counter | `container_id`, `container_name` | containers that went over their syscall budget and are still known (`host` for the rest; `unattributed` when the kernel's per-cgroup table was full) |
//!
//! Labels are never container ids, process names or file paths: those are unbounded. The one
//! exception, `palisade_syscall_budget_drops_total`, is bounded by its caller: a series exists
//! only for a container that dropped, and is removed when the daemon forgets the container. Each labelled
//! family is further capped at [`MAX_SERIES_PER_FAMILY`](crate::MAX_SERIES_PER_FAMILY) series.
//! A labelled family appears in the encoding once it has a series (prometheus-client skips empty
//! families); `palisade_reloads_total` has both of its series from the start.
//!
//! Falco's names for the same facts (`falcosecurity_falco_rules_matches_total`,
//! `falcosecurity_scap_n_drops_total`, ...) are served after these: see the `falco` module.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::labels::{
    AlertLabels, BudgetLabels, DecisionLabels, EventLabels, LabelValue, OutputLabels, ReloadLabels, SeriesCache,
    MAX_SERIES_PER_FAMILY,
};

/// Most priorities one rule's alerts are counted under before they share the overflow series.
const MAX_PRIORITIES_PER_RULE: usize = 16;

/// The `container_id` and `container_name` of budget drops no cgroup could be named for.
const UNATTRIBUTED: &str = "unattributed";

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The daemon's metrics: a prometheus-client registry and handles to its series.
///
/// All methods take `&self` and are safe to call from any thread. [`Metrics::event`] is on the event
/// loop's path: once an event type has been seen, it is a read-locked hash lookup by `&str` and an
/// atomic add, with no allocation.
pub struct Metrics {
    registry: Registry,
    events: Family<EventLabels, Counter>,
    events_by_type: SeriesCache<Counter>,
    alerts: Family<AlertLabels, Counter>,
    alerts_by_rule: SeriesCache<SeriesCache<Counter>>,
    decisions: Family<DecisionLabels, Counter>,
    decisions_by_profile: SeriesCache<[Counter; 2]>,
    kernel_drops: RunningTotal,
    hook_refused_busy: RunningTotal,
    hook_refused_peer: RunningTotal,
    output_delivered: Family<OutputLabels, Counter>,
    output_failed: Family<OutputLabels, Counter>,
    outputs: Mutex<HashMap<Box<str>, (RunningTotal, RunningTotal)>>,
    outputs_queue_depth: Gauge,
    outputs_queue_capacity: Gauge,
    outputs_dropped: RunningTotal,
    containers_tracked: Gauge,
    alerts_aggregated: Counter,
    alert_summaries: Counter,
    rules_load_errors: Counter,
    reloads_ok: Counter,
    reloads_error: Counter,
    rules_loaded: Gauge,
    budget_drops: Family<BudgetLabels, Counter>,
    /// Container id -> the labels of its `budget_drops` series.
    budget_series: Mutex<HashMap<Box<str>, BudgetLabels>>,
    /// The kernel's running total of unattributed budget drops, last seen.
    budget_unattributed: AtomicU64,
    /// The web server's and the k8s-audit source's families (`sources` module).
    pub(crate) sources: crate::sources::SourceFamilies,
    /// Falco's and Falcosidekick's names (`falco` module).
    pub(crate) falco: crate::falco::FalcoFamilies,
}

impl Metrics {
    /// Makes the registry with every family registered under the `palisade_` prefix.
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("palisade");
        let events = Family::<EventLabels, Counter>::default();
        registry.register("events", "Events decoded, by event type", events.clone());
        let alerts = Family::<AlertLabels, Counter>::default();
        registry.register(
            "alerts",
            "Alerts raised, by rule and priority",
            alerts.clone(),
        );
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "enforcement_decisions",
            "Enforcement decisions, by profile and whether the decision was enforced",
            decisions.clone(),
        );
        let kernel_drops = RunningTotal::default();
        registry.register(
            "kernel_drops",
            "Events the kernel programs dropped (ring buffer full)",
            kernel_drops.counter.clone(),
        );
        let hook_refused = Family::<Vec<(&'static str, &'static str)>, Counter>::default();
        registry.register(
            "hook_socket_refused",
            "Hook socket connections refused: max_connections busy, or a peer not allowed",
            hook_refused.clone(),
        );
        let hook_refused_busy = RunningTotal::new(hook_refused.get_or_create(&vec![("reason", "busy")]).clone());
        let hook_refused_peer = RunningTotal::new(hook_refused.get_or_create(&vec![("reason", "peer")]).clone());
        let output_delivered = Family::<OutputLabels, Counter>::default();
        registry.register(
            "output_delivered",
            "Alerts delivered, by output",
            output_delivered.clone(),
        );
        let output_failed = Family::<OutputLabels, Counter>::default();
        registry.register(
            "output_failed",
            "Alert deliveries that failed, by output",
            output_failed.clone(),
        );
        let outputs_queue_depth = Gauge::default();
        registry.register(
            "outputs_queue_depth",
            "Alerts waiting in the outputs queue",
            outputs_queue_depth.clone(),
        );
        let outputs_queue_capacity = Gauge::default();
        registry.register(
            "outputs_queue_capacity",
            "Capacity of the outputs queue",
            outputs_queue_capacity.clone(),
        );
        let outputs_dropped = RunningTotal::default();
        registry.register(
            "outputs_dropped",
            "Alerts dropped because the outputs queue was full",
            outputs_dropped.counter.clone(),
        );
        let containers_tracked = Gauge::default();
        registry.register(
            "containers_tracked",
            "Containers the daemon tracks",
            containers_tracked.clone(),
        );
        let alerts_aggregated = Counter::default();
        registry.register(
            "alerts_aggregated",
            "Identical alerts not emitted one by one but counted in a summary alert (alert_aggregation)",
            alerts_aggregated.clone(),
        );
        let alert_summaries = Counter::default();
        registry.register(
            "alert_summaries",
            "Summary alerts emitted for identical alerts (alert_aggregation)",
            alert_summaries.clone(),
        );
        let rules_load_errors = Counter::default();
        registry.register(
            "rules_load_errors",
            "Rules files that failed to load",
            rules_load_errors.clone(),
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "reloads",
            "Configuration and rules reloads, by result",
            reloads.clone(),
        );
        let reloads_ok = reloads.get_or_create_owned(&ReloadLabels { result: "ok" });
        let reloads_error = reloads.get_or_create_owned(&ReloadLabels { result: "error" });
        let rules_loaded = Gauge::default();
        registry.register(
            "rules_loaded",
            "Rules loaded and enabled",
            rules_loaded.clone(),
        );

        let budget_drops = Family::<BudgetLabels, Counter>::default();
        registry.register(
            "syscall_budget_drops",
            "Syscall records the kernel did not write because their cgroup was over its budget, by container",
            budget_drops.clone(),
        );
        let sources = crate::sources::SourceFamilies::register(&mut registry);
        let falco = crate::falco::FalcoFamilies::new(kernel_drops.counter.clone(), outputs_dropped.counter.clone());

        Arc::new(Metrics {
            budget_drops,
            budget_series: Mutex::new(HashMap::new()),
            budget_unattributed: AtomicU64::new(0),
            registry,
            events,
            events_by_type: SeriesCache::new(MAX_SERIES_PER_FAMILY),
            alerts,
            alerts_by_rule: SeriesCache::new(MAX_SERIES_PER_FAMILY),
            decisions,
            decisions_by_profile: SeriesCache::new(MAX_SERIES_PER_FAMILY),
            kernel_drops,
            hook_refused_busy,
            hook_refused_peer,
            output_delivered,
            output_failed,
            outputs: Mutex::new(HashMap::new()),
            outputs_queue_depth,
            outputs_queue_capacity,
            outputs_dropped,
            containers_tracked,
            alerts_aggregated,
            alert_summaries,
            rules_load_errors,
            reloads_ok,
            reloads_error,
            rules_loaded,
            sources,
            falco,
        })
    }

    /// Counts one event of `evt_type` (`palisade_events_total{evt_type}`; the syscall events
    /// also in `falcosecurity_scap_n_evts_total`).
    pub fn event(&self, evt_type: &str) {
        if evt_type != "k8s_audit" {
            self.falco.n_evts.inc();
        }
        self.events_by_type.with(
            evt_type,
            |_, counter| counter.inc(),
            |evt_type| {
                self.events.get_or_create_owned(&EventLabels {
                    evt_type: LabelValue::new(evt_type),
                })
            },
        );
    }

    /// Counts one alert (`palisade_alerts_total{rule,priority}`): Palisade's internal alerts;
    /// count a rule's match with [`Metrics::rule_match`].
    pub fn alert(&self, rule: &str, priority: &str) {
        self.alerts_by_rule.with(
            rule,
            |rule, by_priority| {
                by_priority.with(
                    priority,
                    |_, counter| counter.inc(),
                    |priority| self.alert_series(rule, priority),
                )
            },
            |_| SeriesCache::new(MAX_PRIORITIES_PER_RULE),
        );
    }

    /// The `palisade_alerts_total` series of `rule` and `priority`.
    pub(crate) fn alert_series(&self, rule: &str, priority: &str) -> Counter {
        self.alerts.get_or_create_owned(&AlertLabels {
            rule: LabelValue::new(rule),
            priority: LabelValue::new(priority),
        })
    }

    /// Counts one enforcement decision
    /// (`palisade_enforcement_decisions_total{profile,enforced="true|false"}`).
    pub fn decision(&self, profile: &str, enforced: bool) {
        self.decisions_by_profile.with(
            profile,
            |_, [not_enforced, enforced_series]| {
                if enforced {
                    enforced_series.inc()
                } else {
                    not_enforced.inc()
                }
            },
            |profile| self.decision_series(profile),
        );
    }

    /// A profile's `enforced="false"` and `enforced="true"` series.
    fn decision_series(&self, profile: &str) -> [Counter; 2] {
        [false, true].map(|enforced| self.decisions.get_or_create_owned(&DecisionLabels { profile: LabelValue::new(profile), enforced }))
    }

    /// Makes the `palisade_enforcement_decisions_total` series of each profile loaded, at 0 until
    /// its first decision: a dashboard shows "no decisions" for a profile rather than no data.
    /// Series of profiles a reload removed stay (they may have counted decisions).
    pub fn declare_profiles<'a>(&self, profiles: impl IntoIterator<Item = &'a str>) {
        for profile in profiles {
            self.decisions_by_profile.with(profile, |_, _| {}, |profile| self.decision_series(profile));
        }
    }

    /// Sets `palisade_kernel_drops_total` from the kernel programs' running total.
    ///
    /// The exported counter equals `total` as long as `total` only grows. When it goes backwards the
    /// kernel side restarted counting (its maps were recreated, e.g. the programs were reloaded while
    /// the daemon kept running): the new `total` is counted as drops since that restart and added, so
    /// the counter never decreases and no drop is lost. A daemon restart starts a new `Metrics` at 0,
    /// which Prometheus sees as an ordinary counter reset; its first call exports the kernel's total
    /// as is (which, with pinned maps, includes drops from before the restart).
    pub fn set_kernel_drops(&self, total: u64) {
        self.kernel_drops.observe(total);
    }

    /// Sets `palisade_hook_socket_refused_total{reason}` from the hook socket's running totals.
    pub fn set_hook_socket_refused(&self, busy: u64, peer: u64) {
        self.hook_refused_busy.observe(busy);
        self.hook_refused_peer.observe(peer);
    }

    /// Sets `palisade_output_delivered_total{output}` and `palisade_output_failed_total{output}` from
    /// the output's running totals, with [`Metrics::set_kernel_drops`]' handling of a total that goes
    /// backwards.
    pub fn set_output_stats(&self, output: &str, delivered: u64, failed: u64) {
        let mut outputs = self.outputs.lock();
        if !outputs.contains_key(output) {
            let key = if outputs.len() >= MAX_SERIES_PER_FAMILY {
                crate::labels::OVERFLOW
            } else {
                output
            };
            let labels = OutputLabels {
                output: LabelValue::new(key),
            };
            let series = (
                RunningTotal::new(self.output_delivered.get_or_create_owned(&labels)),
                RunningTotal::new(self.output_failed.get_or_create_owned(&labels)),
            );
            outputs.insert(output.into(), series);
        }
        if let Some((delivered_total, failed_total)) = outputs.get(output) {
            delivered_total.observe(delivered);
            failed_total.observe(failed);
        }
    }

    /// Sets the outputs queue gauges and `palisade_outputs_dropped_total` (from the queue's running
    /// total of dropped alerts, handled like [`Metrics::set_kernel_drops`]).
    pub fn set_outputs_queue(&self, depth: u64, capacity: u64, dropped_total: u64) {
        self.outputs_queue_depth.set(gauge_value(depth));
        self.outputs_queue_capacity.set(gauge_value(capacity));
        self.outputs_dropped.observe(dropped_total);
    }

    /// Sets `palisade_containers_tracked`.
    pub fn set_containers(&self, tracked: u64) {
        self.containers_tracked.set(gauge_value(tracked));
    }

    /// Counts `folded` identical alerts counted into summaries instead of emitted, and the
    /// `summaries` emitted for them (`palisade_alerts_aggregated_total`,
    /// `palisade_alert_summaries_total`).
    pub fn alerts_aggregated(&self, folded: u64, summaries: u64) {
        self.alerts_aggregated.inc_by(folded);
        self.alert_summaries.inc_by(summaries);
    }

    /// Counts a rules file that failed to load (`palisade_rules_load_errors_total`).
    pub fn rules_load_error(&self) {
        self.rules_load_errors.inc();
    }

    /// Counts a reload (`palisade_reloads_total{result="ok|error"}`; a successful one also sets
    /// `falcosecurity_falco_reload_timestamp_nanoseconds`).
    pub fn reload(&self, ok: bool) {
        if ok {
            self.reloads_ok.inc();
            self.falco_reloaded();
        } else {
            self.reloads_error.inc();
        }
    }

    /// Sets `palisade_rules_loaded`.
    pub fn set_rules_loaded(&self, n: u64) {
        self.rules_loaded.set(gauge_value(n));
    }

    /// Counts `n` budget drops of a container (`palisade_syscall_budget_drops_total`); `host`
    /// for cgroups of no tracked container.
    pub fn budget_drops(&self, container_id: &str, container_name: &str, n: u64) {
        let mut series = self.budget_series.lock();
        if !series.contains_key(container_id) {
            let (id, name) = if series.len() >= MAX_SERIES_PER_FAMILY {
                (crate::labels::OVERFLOW, crate::labels::OVERFLOW)
            } else {
                (container_id, container_name)
            };
            let labels = BudgetLabels { container_id: LabelValue::new(id), container_name: LabelValue::new(name) };
            series.insert(container_id.into(), labels);
        }
        if let Some(labels) = series.get(container_id) {
            self.budget_drops.get_or_create(labels).inc_by(n);
        }
    }

    /// Removes a forgotten container's `palisade_syscall_budget_drops_total` series.
    pub fn forget_budget_container(&self, container_id: &str) {
        if let Some(labels) = self.budget_series.lock().remove(container_id) {
            if labels.container_id != LabelValue::new(crate::labels::OVERFLOW) {
                self.budget_drops.remove(&labels);
            }
        }
    }

    /// Counts, from the kernel's running total, budget drops it could not attribute to a cgroup
    /// (its table was full) under `container_id="unattributed"` (a series only once they happen).
    pub fn set_budget_unattributed(&self, total: u64) {
        let previous = self.budget_unattributed.swap(total, Ordering::Relaxed);
        let delta = total.checked_sub(previous).unwrap_or(total);
        if delta > 0 {
            self.budget_drops(UNATTRIBUTED, UNATTRIBUTED, delta);
        }
    }

    /// The OpenMetrics text exposition of every family (Palisade's, then Falco's names), ending
    /// in `# EOF`; serve it with [`OPENMETRICS_CONTENT_TYPE`].
    pub fn encode(&self) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::with_capacity(8192);
        // Writing to a String cannot fail and every encoded value fits its type (gauges are
        // saturated to i64 on the way in).
        if let Err(std::fmt::Error) = encode_registry(&mut out, &self.registry)
            .and_then(|()| encode_registry(&mut out, &self.falco.registry))
            .and_then(|()| encode_eof(&mut out))
        {
            tracing::error!("encoding metrics failed");
        }
        out
    }
}

/// Gauges hold `i64`; values beyond it saturate.
fn gauge_value(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A counter fed from a running total kept elsewhere (see [`Metrics::set_kernel_drops`]).
#[derive(Default)]
struct RunningTotal {
    counter: Counter,
    last: AtomicU64,
}

impl RunningTotal {
    fn new(counter: Counter) -> Self {
        RunningTotal {
            counter,
            last: AtomicU64::new(0),
        }
    }

    fn observe(&self, total: u64) {
        let previous = self.last.swap(total, Ordering::Relaxed);
        let delta = total.checked_sub(previous).unwrap_or(total);
        if delta > 0 {
            self.counter.inc_by(delta);
        }
    }

    #[cfg(test)]
    fn get(&self) -> u64 {
        self.counter.get()
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
