//! Falco's metric names beside Palisade's own: the families Falco's Prometheus endpoint
//! (`webserver.prometheus_metrics_enabled` with `metrics.enabled`) serves, with the same names,
//! types and label names (Falco's `userspace/falco/falco_metrics.cpp` and libs'
//! `metrics_collector.cpp` name them), so dashboards and alerting rules written for Falco work
//! on Palisade unchanged; and Falcosidekick's per-alert counter, the family of the Falco stack
//! that carries the pod of an alert.
//!
//! | family | type | labels | Palisade's value |
//! |---|---|---|---|
//! | `falcosecurity_falco_rules_matches_total` | counter | `rule_name`, `priority` (Falco's number: Emergency 0 … Debug 7), `source`, `tag_<tag>="true"` per rule tag (label names sanitized as libs does) | rule matches of the syscall and k8s_audit sources, as `palisade_alerts_total` minus Palisade's internal alerts; one series per rule × priority (Falco: per rule); the tags are those of the rule's first match |
//! | `falcosecurity_falcosidekick_falco_events_total` | counter | `hostname`, `rule`, `priority` (Falcosidekick's number: Debug 1 … Emergency 8), `priority_raw`, `source`, `k8s_ns_name`, `k8s_pod_name` | the same matches, by pod (empty pod labels outside Kubernetes); what Falcosidekick counts for each alert Falco sends it |
//! | `falcosecurity_scap_n_evts_total` | counter | | syscall events decoded (`palisade_events_total` without the k8s_audit source) |
//! | `falcosecurity_scap_n_drops_total` | counter | | `palisade_kernel_drops_total` (ring buffer full) |
//! | `falcosecurity_falco_outputs_queue_num_drops_total` | counter | | `palisade_outputs_dropped_total` |
//! | `falcosecurity_falco_version_info` | info | `version` | Palisade's version |
//! | `falcosecurity_falco_sha256_rules_files_info`, `falcosecurity_falco_sha256_config_files_info` | gauge (1) | `file_name` (the base name), `sha256` | the rules files and the configuration file loaded, at the start and the last successful reload |
//! | `falcosecurity_evt_hostname_info` | info | `hostname` | the host name |
//! | `falcosecurity_falco_kernel_release_info` | info | `kernel_release` | `uname -r` |
//! | `falcosecurity_scap_engine_name_info` | info | `engine_name`, `evt_source` | `palisade_ebpf`, `syscall` (Falco: `modern_bpf`, `kmod`, …) |
//! | `falcosecurity_falco_start_timestamp_nanoseconds` | gauge | | when the metrics started (the daemon's start) |
//! | `falcosecurity_falco_reload_timestamp_nanoseconds` | gauge | | the last successful reload (the start until then) |
//! | `falcosecurity_falco_host_boot_timestamp_nanoseconds` | gauge | | the host's boot time (`/proc/stat` `btime`) |
//! | `falcosecurity_falco_host_num_cpus_total` | gauge | | online CPUs (Falco names this gauge with `_total` too) |
//! | `falcosecurity_falco_duration_seconds_total` | counter | | seconds since the start |
//! | `falcosecurity_falco_cpu_usage_ratio` | gauge | | the daemon's CPU time over its run time (one CPU = 1) |
//! | `falcosecurity_falco_memory_rss_bytes`, `falcosecurity_falco_memory_vsz_bytes` | gauge | | the daemon's resident and virtual memory |
//!
//! Not exposed, because Palisade has no such value: `falcosecurity_scap_n_drops_buffer_total
//! {dir,drop}` (Palisade's ring buffer counts drops in one total, not per syscall category),
//! `falcosecurity_scap_n_drops_scratch_map_total` and the other kernel counters of libscap's
//! drivers, the per-CPU counters, libbpf's program statistics, the thread-table state counters
//! (`falcosecurity_scap_n_threads_total`, …), plugin metrics, jemalloc statistics; and the
//! digests of `config_files` drop-ins (only the main configuration file is listed).
//!
//! Falco's `rules_matches` has no pod or container label, so it has none here either: the pod
//! of an alert is in Falcosidekick's family, as in a Falco + Falcosidekick deployment.
//! Container labels (`container_id`, `container_name`) are in neither by default
//! (Falcosidekick adds them only with `prometheus.extralabels`), so Palisade adds none: their
//! cardinality would follow every container start. Falco writes its `_info` families with type
//! `gauge`; here they are OpenMetrics `info`, which Prometheus stores under the same series names.
//!
//! Cardinality: `rules_matches` is bounded by rules × priorities like `palisade_alerts_total`.
//! `falco_events` adds the pod: a series per rule × priority × pod that alerted, removed once no
//! container of that pod is known to the daemon any more ([`Metrics::retain_containers`]); series
//! outside pods share the pod-less labels and stay. Both are capped at
//! [`MAX_SERIES_PER_FAMILY`] (then the overflow series).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};

use crate::falco_labels::{
    falco_priority, sidekick_priority, tag_labels, EngineLabels, EventLabels, FileLabels,
    MatchLabels, OneLabel,
};
use crate::host::{unix_ns, HostFacts, Process};
use crate::labels::{Fnv1a, LabelValue, SeriesCache, MAX_SERIES_PER_FAMILY, OVERFLOW};
use crate::Metrics;

/// Most priorities one rule's matches are counted under (as `palisade_alerts_total`).
const MAX_PRIORITIES_PER_RULE: usize = 16;

/// One rule match as Falco's and Falcosidekick's families count it.
#[derive(Clone, Copy, Debug)]
pub struct RuleMatch<'a> {
    /// The rule's name.
    pub rule: &'a str,
    /// Its priority's name (`Warning`, ...).
    pub priority: &'a str,
    /// Its source (`syscall`, `k8s_audit`).
    pub source: &'a str,
    /// Its tags.
    pub tags: &'a [String],
    /// The host name the alert carries.
    pub hostname: &'a str,
    /// The container the event came from; `None` for the host and for sources without one.
    pub container: Option<MatchContainer<'a>>,
}

/// The container of a [`RuleMatch`].
#[derive(Clone, Copy, Debug)]
pub struct MatchContainer<'a> {
    /// Its full id: the key [`Metrics::retain_containers`] forgets it by.
    pub id: &'a str,
    /// Its pod's namespace (`k8s.ns.name`); empty outside a pod.
    pub k8s_ns_name: &'a str,
    /// Its pod's name (`k8s.pod.name`); empty outside a pod.
    pub k8s_pod_name: &'a str,
}

/// The Falco-named families, in a registry of their own (their names do not start with
/// `palisade_`), encoded after Palisade's.
pub(crate) struct FalcoFamilies {
    pub(crate) registry: Registry,
    matches: Family<MatchLabels, Counter>,
    /// Rule -> priority -> [its `palisade_alerts_total` series, its `rules_matches` series]:
    /// one lookup counts both.
    matches_by_rule: SeriesCache<SeriesCache<[Counter; 2]>>,
    events: Family<EventLabels, Counter>,
    /// Container id (empty: no container) -> its `events` series by rule and priority.
    event_series: Mutex<EventSeries>,
    pub(crate) n_evts: Counter,
    reload_ts: Gauge,
    rules_files: Family<FileLabels, Gauge>,
    config_files: Family<FileLabels, Gauge>,
}

/// FNV-1a maps (see `labels::Fnv1a`): the keys are rule names and container ids. Whoever
/// starts containers may choose their ids, but this map holds only containers the daemon
/// knows, and [`MAX_SERIES_PER_FAMILY`] bounds it, so colliding ids cost their owner little
/// more than slower lookups.
type FnvMap<V> = HashMap<Box<str>, V, BuildHasherDefault<Fnv1a>>;

#[derive(Default)]
struct EventSeries {
    by_container: FnvMap<ContainerSeries>,
    /// Entries (container × rule × priority) held: an upper bound of the family's series
    /// (containers of one pod share theirs), compared with the cap.
    made: usize,
}

struct ContainerSeries {
    /// `(k8s_ns_name, k8s_pod_name)`.
    pod: (Box<str>, Box<str>),
    /// Rule -> its series, one per priority.
    by_rule: FnvMap<Vec<PrioritySeries>>,
}

/// A priority's name, and the labels and handle of its series.
type PrioritySeries = (Box<str>, EventLabels, Counter);

impl FalcoFamilies {
    /// The families; `kernel_drops` and `outputs_dropped` are Palisade's own counters, also
    /// registered here under Falco's names.
    pub(crate) fn new(kernel_drops: Counter, outputs_dropped: Counter) -> FalcoFamilies {
        let mut registry = Registry::with_prefix("falcosecurity");
        let start = SystemTime::now();
        let facts = HostFacts::read();
        let matches = Family::<MatchLabels, Counter>::default();
        let events = Family::<EventLabels, Counter>::default();
        let n_evts = Counter::default();
        let (rules_files, config_files) = (
            Family::<FileLabels, Gauge>::default(),
            Family::<FileLabels, Gauge>::default(),
        );
        let reload_ts = Gauge::default();
        reload_ts.set(unix_ns(start));
        let start_ts = Gauge::<i64>::default();
        start_ts.set(unix_ns(start));
        {
            let falco = registry.sub_registry_with_prefix("falco");
            falco.register(
                "sha256_rules_files_info",
                "The rules files loaded, by digest",
                rules_files.clone(),
            );
            falco.register(
                "sha256_config_files_info",
                "The configuration files loaded, by digest",
                config_files.clone(),
            );
            falco.register(
                "rules_matches",
                "Rule matches, by rule (Falco's rules_counters)",
                matches.clone(),
            );
            falco.register(
                "outputs_queue_num_drops",
                "Alerts dropped because the outputs queue was full",
                outputs_dropped,
            );
            falco.register(
                "version",
                "Palisade's version",
                Info::new(OneLabel(
                    "version",
                    LabelValue::new(env!("CARGO_PKG_VERSION")),
                )),
            );
            falco.register(
                "kernel_release",
                "The kernel release",
                Info::new(OneLabel(
                    "kernel_release",
                    LabelValue::new(&facts.kernel_release),
                )),
            );
            falco.register(
                "start_timestamp_nanoseconds",
                "When the daemon started, ns since the epoch",
                start_ts,
            );
            falco.register(
                "reload_timestamp_nanoseconds",
                "The last successful reload (else the start), ns since the epoch",
                reload_ts.clone(),
            );
            let boot = Gauge::<i64>::default();
            boot.set(facts.boot_ns);
            falco.register(
                "host_boot_timestamp_nanoseconds",
                "When the host booted, ns since the epoch",
                boot,
            );
            let cpus = Gauge::<i64>::default();
            cpus.set(facts.num_cpus);
            falco.register("host_num_cpus_total", "Online CPUs of the host", cpus);
            falco.register_collector(Box::new(Process {
                start: Instant::now(),
            }));
        }
        {
            let scap = registry.sub_registry_with_prefix("scap");
            scap.register("n_evts", "Syscall events decoded", n_evts.clone());
            scap.register(
                "n_drops",
                "Events the kernel programs dropped (ring buffer full)",
                kernel_drops,
            );
            let engine = EngineLabels {
                engine_name: "palisade_ebpf",
                evt_source: "syscall",
            };
            scap.register(
                "engine_name",
                "The event source's engine",
                Info::new(engine),
            );
        }
        registry.sub_registry_with_prefix("evt").register(
            "hostname",
            "The host name",
            Info::new(OneLabel("hostname", LabelValue::new(&facts.hostname))),
        );
        registry.sub_registry_with_prefix("falcosidekick").register(
            "falco_events",
            "Alerts of rule matches, by rule and pod (as Falcosidekick counts the alerts it receives)",
            events.clone(),
        );
        FalcoFamilies {
            registry,
            matches,
            matches_by_rule: SeriesCache::new(MAX_SERIES_PER_FAMILY),
            events,
            event_series: Mutex::new(EventSeries::default()),
            n_evts,
            reload_ts,
            rules_files,
            config_files,
        }
    }

    /// Counts `m` in `palisade_alerts_total` (whose series `alert_series` makes) and
    /// `falcosecurity_falco_rules_matches_total`.
    fn count_match(&self, m: &RuleMatch<'_>, alert_series: impl FnOnce(&str, &str) -> Counter) {
        self.matches_by_rule.with(
            m.rule,
            |rule, by_priority| {
                by_priority.with(
                    m.priority,
                    |_, [alert, matched]| {
                        alert.inc();
                        matched.inc();
                    },
                    |priority| {
                        let matched = self.matches.get_or_create_owned(&MatchLabels {
                            rule_name: LabelValue::new(rule),
                            priority: falco_priority(priority).unwrap_or(u8::MAX),
                            source: LabelValue::new(if rule == OVERFLOW {
                                OVERFLOW
                            } else {
                                m.source
                            }),
                            tags: if rule == OVERFLOW || priority == OVERFLOW {
                                tag_labels(&[])
                            } else {
                                tag_labels(m.tags)
                            },
                        });
                        [alert_series(rule, priority), matched]
                    },
                )
            },
            |_| SeriesCache::new(MAX_PRIORITIES_PER_RULE),
        );
    }

    /// Counts `m` in `falcosecurity_falcosidekick_falco_events_total`.
    fn count_event(&self, m: &RuleMatch<'_>) {
        let mut series = self.event_series.lock();
        let EventSeries { by_container, made } = &mut *series;
        let (id, ns, pod) = m
            .container
            .map_or(("", "", ""), |c| (c.id, c.k8s_ns_name, c.k8s_pod_name));
        if !by_container.contains_key(id) {
            by_container.insert(
                id.into(),
                ContainerSeries {
                    pod: (ns.into(), pod.into()),
                    by_rule: FnvMap::default(),
                },
            );
        }
        let Some(container) = by_container.get_mut(id) else {
            return;
        };
        if let Some(by_priority) = container.by_rule.get(m.rule) {
            if let Some((_, _, counter)) = by_priority.iter().find(|(p, _, _)| &**p == m.priority) {
                counter.inc();
                return;
            }
        }
        let overflow = *made >= MAX_SERIES_PER_FAMILY;
        let labels = if overflow {
            let o = LabelValue::new(OVERFLOW);
            EventLabels {
                hostname: o.clone(),
                rule: o.clone(),
                priority: 0,
                priority_raw: o.clone(),
                source: o.clone(),
                k8s_ns_name: o.clone(),
                k8s_pod_name: o,
            }
        } else {
            *made += 1;
            EventLabels {
                hostname: LabelValue::new(m.hostname),
                rule: LabelValue::new(m.rule),
                priority: sidekick_priority(m.priority),
                priority_raw: LabelValue::new(&m.priority.to_ascii_lowercase()),
                source: LabelValue::new(m.source),
                k8s_ns_name: LabelValue::new(&container.pod.0),
                k8s_pod_name: LabelValue::new(&container.pod.1),
            }
        };
        let counter = self.events.get_or_create_owned(&labels);
        counter.inc();
        if !overflow {
            container.by_rule.entry(m.rule.into()).or_default().push((
                m.priority.into(),
                labels,
                counter,
            ));
        }
    }

    /// Forgets the containers `keep` says are gone, and the `falco_events` series of the pods
    /// none of whose containers is left.
    fn retain_containers(&self, keep: impl Fn(&str) -> bool) {
        let mut series = self.event_series.lock();
        let gone: Vec<Box<str>> = series
            .by_container
            .keys()
            .filter(|id| !id.is_empty() && !keep(id))
            .cloned()
            .collect();
        if gone.is_empty() {
            return;
        }
        let gone: Vec<ContainerSeries> = gone
            .iter()
            .filter_map(|id| series.by_container.remove(id))
            .collect();
        for container in gone {
            let entries = container.by_rule.values().map(Vec::len).sum::<usize>();
            series.made = series.made.saturating_sub(entries);
            // Containers outside pods share the pod-less series with the host: they stay.
            let pod_lives = container.pod.1.is_empty()
                || series.by_container.values().any(|c| c.pod == container.pod);
            if !pod_lives {
                for (_, labels, _) in container.by_rule.values().flatten() {
                    self.events.remove(labels);
                }
            }
        }
    }
}

impl Metrics {
    /// Counts one alert of a rule match: `palisade_alerts_total{rule,priority}`, Falco's
    /// `falcosecurity_falco_rules_matches_total` and Falcosidekick's
    /// `falcosecurity_falcosidekick_falco_events_total` (see the `falco` module).
    pub fn rule_match(&self, m: &RuleMatch<'_>) {
        self.falco
            .count_match(m, |rule, priority| self.alert_series(rule, priority));
        self.falco.count_event(m);
    }

    /// Forgets the `falcosecurity_falcosidekick_falco_events_total` series of pods none of
    /// whose containers `keep` (called with full container ids) keeps.
    pub fn retain_containers(&self, keep: impl Fn(&str) -> bool) {
        self.falco.retain_containers(keep);
    }

    /// Sets `falcosecurity_falco_sha256_rules_files_info` and
    /// `falcosecurity_falco_sha256_config_files_info` to the files loaded (at the start and after
    /// each successful reload); a file that cannot be read is left out.
    pub fn set_loaded_files(&self, rules_files: &[PathBuf], config_files: &[PathBuf]) {
        for (family, files) in [
            (&self.falco.rules_files, rules_files),
            (&self.falco.config_files, config_files),
        ] {
            family.clear();
            for file in files {
                let Ok(bytes) = std::fs::read(file) else {
                    continue;
                };
                let sha256: String = Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let file_name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let labels = FileLabels {
                    file_name: LabelValue::new(&file_name),
                    sha256: LabelValue::new(&sha256),
                };
                family.get_or_create(&labels).set(1);
            }
        }
    }

    /// Sets `falcosecurity_falco_reload_timestamp_nanoseconds` to now (a successful reload).
    pub(crate) fn falco_reloaded(&self) {
        self.falco.reload_ts.set(unix_ns(SystemTime::now()));
    }
}

#[cfg(test)]
#[path = "falco_tests.rs"]
mod tests;
