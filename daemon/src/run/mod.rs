//! The daemon's event loop as a type: [`Daemon`] owns what the loop owns (the rules, the
//! process table, the evaluator, the alert sink, the captures, the reload state, the
//! housekeeping clock) and reads records from a [`RecordSource`], so the loop is tested with
//! a scripted source, without root or a kernel (`tests.rs`). `palisade run` builds the real
//! pieces ([`Parts`]) and calls [`Daemon::run`].
//!
//! The kernel writes records without waking us (waking a reader per event costs more than
//! the event itself, see shared/notes/performance.md); we drain every [`DRAIN_INTERVAL`].
//!
//! Invariant (reload): the new configuration, rules, profiles and outputs are built completely
//! first; only if all are good do they replace the running ones, between two drains
//! ([`Daemon::step`]), so no record is lost or evaluated half by the old and half by the new
//! rules. A bad file, or an output that cannot start, leaves everything as it was and is
//! reported (a logged error, `palisade_reloads_total{result="error"}`, an internal alert); a
//! reload never stops the daemon.
//!
//! Invariant (alerts): the alerts of one drain are collected and handed to the outputs in one
//! call ([`AlertSink::send_batch`]: one lock and at most one wake-up per output queue), in the
//! order they were raised; a long drain hands them over every [`ALERT_BATCH`] alerts so the
//! outputs start writing while the loop evaluates.
//!
//! Invariant (captures): a capture is started and ended only between two drains, so its file
//! holds exactly the records drained while it ran.
//!
//! Invariant (handover): once `stop` is seen, a daemon whose detection is pinned
//! ([`RecordSource::hands_over`], [`crate::kernel::pins`]) reads no more kernel records: it
//! finishes what it read (evaluated, the alerts sent to the outputs, which flush at
//! [`Daemon::finish`]) and returns. What it did not read stays in the pinned ring buffer for
//! the next daemon, so a record is alerted by exactly one of the two. An unpinned daemon's
//! ring goes with it: it drains once more, so what arrived before the signal still counts.

pub mod reload;
pub mod source;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use palisade_capture::recording::session::{Captures, DaemonFacts};
use palisade_events::containers::ContainerMeta;
use palisade_events::event::EventBuilder;
use palisade_events::pipeline::{Emitted, Evaluator};
use palisade_events::process::{ProcessTable, Users};
use palisade_events::promotion::Tally;
use palisade_metrics::{MatchContainer, Metrics, RuleMatch};
use palisade_rules::alert::Alert;
use palisade_rules::Ruleset;

use crate::alert_sink::{AlertBatch, AlertSink, DropReporter, Origin};
use crate::capture::Plan;
use crate::config::{Config, SyscallBudget};
use crate::containers::hook_server::{self, control::Control};
use crate::containers::{mode_authority, Backend, SharedRegistry};
use crate::k8s_audit::AuditSource;
use crate::kernel::budget_report::{kernel_conf, BudgetReporter};
use crate::kernel::{decode, Record};
use crate::rules_load;

pub use source::RecordSource;

/// How long records may wait in the ring buffer before we read them.
pub const DRAIN_INTERVAL: Duration = Duration::from_millis(10);
/// Alerts collected before a drain hands them to the outputs, at most.
pub const ALERT_BATCH: usize = 512;
/// How often metrics, status and watched files are refreshed, and drops checked.
pub const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(1);

/// Reads the configuration again (file, then the command line's overrides), for a reload.
pub type ConfigLoader = Box<dyn FnMut() -> Result<Config, String>>;

/// Why the loop stopped before a signal asked it to.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The record source failed (polling the ring buffer).
    #[error("reading kernel records: {0}")]
    Source(String),
}

/// What a run did, printed when it stops.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Ring-buffer records read (decodable or not).
    pub records: u64,
    /// Events evaluated (syscall and k8s_audit).
    pub events: u64,
    /// Alerts sent (rules, profile decisions, refusals).
    pub alerts: u64,
}

/// The pieces a [`Daemon`] is built from. `palisade run` builds the real ones.
pub struct Parts<S> {
    pub source: S,
    pub config: Config,
    /// The configuration file, watched with `watch_config_files`.
    pub config_path: Option<PathBuf>,
    pub reload_config: ConfigLoader,
    /// Shared with the k8s_audit worker, which is handed each reloaded ruleset.
    pub rules: Arc<Ruleset>,
    pub rule_files: Vec<PathBuf>,
    pub plan: Plan,
    pub registry: SharedRegistry,
    pub backend: Option<Backend>,
    pub hooks: Arc<hook_server::Context>,
    pub captures: Captures,
    pub metrics: Arc<Metrics>,
    pub audit: Option<AuditSource>,
    pub table: ProcessTable,
    pub users: Users,
    pub builder: EventBuilder,
    pub evaluator: Evaluator,
    pub hostname: String,
    pub boot_to_wall: u64,
    /// Set by SIGINT/SIGTERM: the loop reads records once more (or, handing over, not at all),
    /// sends what it read, and returns.
    pub stop: Arc<AtomicBool>,
    /// Set by SIGHUP (and by a watched file's change): reload between two drains.
    pub hup: Arc<AtomicBool>,
    /// When the daemon started (`palisade status`'s uptime).
    pub started: Instant,
}

/// The running daemon's event loop. See the module documentation for its invariants.
pub struct Daemon<S> {
    p: Parts<S>,
    /// Always `Some` but while the outputs restart on reload.
    sink: Option<AlertSink>,
    /// Alerts of the current drain not handed to the sink yet.
    batch: AlertBatch,
    facts: DaemonFacts,
    stats: Stats,
    drops: DropReporter,
    last_housekeeping: Instant,
    watched: Vec<PathBuf>,
    watched_mtimes: Vec<Option<SystemTime>>,
    reloads: u64,
    reload_errors: u64,
    /// Per-container syscall budget drops.
    budget: BudgetReporter,
    /// The `syscall_budget` the kernel runs with (a reload changing it is applied at the next
    /// housekeeping).
    budget_applied: SyscallBudget,
    /// The audit worker's evaluated events already counted in `stats`.
    audit_evaluated: u64,
    /// The web server, when the daemon serves one ([`Daemon::with_web`]): a reload applies
    /// the new web settings to it.
    web: Option<crate::webserver::Web>,
}

/// Wall-clock ns now.
fn wall_ns() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Modification times of the watched files, to notice edits (`watch_config_files`).
fn mtimes(files: &[PathBuf]) -> Vec<Option<SystemTime>> {
    files.iter().map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok()).collect()
}

/// Counts a profile decision of container `c`: its metric, and its container's promotion
/// report (`palisade profiles report`).
fn count_decision(control: &Control, metrics: &Metrics, c: &ContainerMeta, d: &palisade_events::would_deny::Decision) {
    metrics.decision(c.profile_name(), d.enforced);
    if let Ok(mut reports) = control.reports.lock() {
        reports
            .entry(c.full_id.clone())
            .or_insert_with(|| Tally::new(c.profile_name(), c.mode.as_str()))
            .record(d, &c.full_id, &c.name);
    }
}

/// What the Falco-named metric families count of a rule's alert from container `c`.
fn rule_match<'a>(alert: &'a Alert, c: Option<&'a ContainerMeta>) -> RuleMatch<'a> {
    let pod = c.and_then(|c| c.pod.as_ref());
    RuleMatch {
        rule: &alert.rule,
        priority: alert.priority,
        source: alert.source,
        tags: &alert.tags,
        hostname: &alert.hostname,
        container: c.map(|c| MatchContainer {
            id: &c.full_id,
            k8s_ns_name: pod.map_or("", |p| p.namespace.as_str()),
            k8s_pod_name: pod.map_or("", |p| p.name.as_str()),
        }),
    }
}

fn facts_of(hostname: &str, boot_to_wall: u64, rule_files: &[PathBuf], config: &Config) -> DaemonFacts {
    DaemonFacts {
        hostname: hostname.to_owned(),
        boot_to_wall_ns: boot_to_wall,
        rules_files: rule_files.iter().map(|f| f.display().to_string()).collect(),
        host_monitoring: config.host_monitoring,
    }
}

impl<S: RecordSource> Daemon<S> {
    /// A daemon ready to [`run`](Daemon::run) (the source is already configured), sending
    /// alerts to `sink`.
    pub fn new(mut parts: Parts<S>, sink: AlertSink) -> Daemon<S> {
        let budget_applied = parts.config.syscall_budget.clone();
        apply_budget(&mut parts.source, &budget_applied);
        let facts = facts_of(&parts.hostname, parts.boot_to_wall, &parts.rule_files, &parts.config);
        let drops = DropReporter::new(&parts.config.syscall_event_drops);
        let watched = rules_load::watched_files(parts.config_path.as_deref(), &parts.config, &parts.rule_files);
        let watched_mtimes = mtimes(&watched);
        parts.metrics.set_rules_loaded(parts.rules.rules().len() as u64);
        parts.metrics.set_loaded_files(&parts.rule_files, parts.config_path.as_slice());
        Daemon {
            p: parts,
            sink: Some(sink),
            batch: AlertBatch::default(),
            facts,
            stats: Stats::default(),
            drops,
            last_housekeeping: Instant::now(),
            watched,
            watched_mtimes,
            reloads: 0,
            reload_errors: 0,
            budget: BudgetReporter::new(&budget_applied),
            budget_applied,
            audit_evaluated: 0,
            web: None,
        }
    }

    /// The web server the daemon reloads and stops with itself.
    pub fn with_web(self, web: crate::webserver::Web) -> Daemon<S> {
        Daemon { web: Some(web), ..self }
    }

    /// Loops until SIGINT/SIGTERM (the `stop` flag), then ends the captures (see the handover
    /// invariant for the last records). Call [`finish`](Daemon::finish) after.
    pub fn run(&mut self) -> Result<(), DaemonError> {
        while self.step()? {}
        Ok(())
    }

    /// One turn of the loop: wait, drain, housekeeping when due, reload when asked. Returns
    /// whether to go on (false once `stop` was seen; that turn reads kernel records only when
    /// this daemon does not hand them over).
    pub fn step(&mut self) -> Result<bool, DaemonError> {
        self.p.source.wait(DRAIN_INTERVAL).map_err(DaemonError::Source)?;
        let stopping = self.p.stop.load(Ordering::Relaxed);
        let source = &self.p.source;
        self.p.captures.poll(&self.facts, &self.p.table, &self.p.users, wall_ns(), || source.drops());
        // Stopping with pinned detection: what is still in the ring buffer is left there for
        // the successor, which drains it (the handover invariant).
        if !(stopping && self.p.source.hands_over()) {
            self.drain();
        }
        self.drain_audit();
        self.kernel_decisions();
        self.mode_refusals();
        self.send_batch();
        if let Some(sink) = &self.sink {
            sink.flush_expired();
        }
        if self.last_housekeeping.elapsed() >= HOUSEKEEPING_INTERVAL {
            self.last_housekeeping = Instant::now();
            self.housekeeping();
        }
        if self.p.hup.swap(false, Ordering::Relaxed) && !stopping {
            self.reload();
        }
        if stopping {
            // What was read before the signal is evaluated and sent (above); handing over, the
            // rest is the successor's.
            self.p.captures.end_all("daemon stopping", wall_ns(), self.p.source.drops());
        }
        Ok(!stopping)
    }

    /// What the run did so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The registry the loop reads containers from.
    pub fn registry(&self) -> &SharedRegistry {
        &self.p.registry
    }

    /// Stops the k8s_audit source, optionally detaches the BPF-LSM programs, and stops the
    /// outputs (flushing them). (Detection's pins are removed by the caller, after the kernel
    /// handle in the source is gone: `palisade run --detach-on-exit`.) Returns the run's stats, the kernel drops and the alerts the
    /// outputs dropped.
    pub fn finish(mut self, detach_on_exit: bool) -> (Stats, u64, u64) {
        if let Some(a) = self.p.audit.take() {
            a.stop();
        }
        if detach_on_exit && self.p.backend == Some(Backend::BpfLsm) {
            match self.p.registry.lock().map_err(|e| e.to_string()).and_then(|mut r| r.detach_kernel_enforcer()) {
                Ok(()) => tracing::info!("BPF-LSM programs detached (--detach-on-exit)"),
                Err(e) => tracing::error!(error = %e, "detaching the BPF-LSM programs failed"),
            }
        }
        let dropped = self.sink.take().map_or(0, AlertSink::stop);
        if let Some(web) = self.web.take() {
            web.stop();
        }
        (self.stats, self.p.source.drops(), dropped)
    }

    /// One alert at once, outside the drain's batch (internal alerts).
    fn send(&self, alert: &Alert) {
        if let Some(s) = &self.sink {
            s.send(alert);
        }
    }

    /// Hands the collected alerts to the outputs.
    fn send_batch(&mut self) {
        if let Some(s) = &self.sink {
            s.send_batch(&mut self.batch);
        }
    }

    /// Every record ready: the process table, the captures, evaluation, alerts.
    fn drain(&mut self) {
        let Daemon { p, sink, stats, batch, .. } = self;
        let Parts { source, registry, captures, builder, table, users, evaluator, rules, metrics, hooks, .. } = p;
        // Per drain: the matches borrow the ruleset, which a reload may replace.
        let mut matches = Vec::new();
        source.drain(&mut |bytes| {
            stats.records += 1;
            let rec = match decode(bytes) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = ?e, len = bytes.len(), "undecodable kernel record");
                    return;
                }
            };
            if let Record::Exit { hdr, .. } = &rec {
                if hdr.pid == hdr.tid {
                    if let Ok(mut r) = registry.lock() {
                        r.process_exited(hdr.pid);
                    }
                }
            }
            let cgroup_id = rec.header().cgroup_id;
            let lookup = || registry.lock().ok().and_then(|r| r.lookup(cgroup_id));
            // A capture needs the container of every record; evaluation only that of events.
            let captured = captures.is_active().then(|| {
                let c = lookup();
                captures.record(&rec, c.as_ref());
                c
            });
            let Some(data) = builder.build(rec, table) else { return };
            let container = captured.unwrap_or_else(lookup);
            stats.events += 1;
            metrics.event(data.type_name);
            let c = container.as_deref();
            let origin = Origin { pid: data.process.pid, cgroup_id: data.cgroup_id };
            evaluator.evaluate(rules, &data, table, users, c, &mut matches, &mut |emitted| {
                stats.alerts += 1;
                let alert = match emitted {
                    Emitted::Rule { alert, .. } => {
                        metrics.rule_match(&rule_match(&alert, c));
                        alert
                    }
                    Emitted::Decision(d) => {
                        if let Some(c) = c {
                            count_decision(&hooks.control, metrics, c, &d);
                        }
                        d.alert
                    }
                };
                batch.push(alert, origin);
            });
            if batch.len() >= ALERT_BATCH {
                if let Some(s) = sink.as_ref() {
                    s.send_batch(batch);
                }
            }
        });
    }

    /// The k8s_audit worker's alerts, at most `ALERTS_PER_DRAIN` and
    /// `FORWARD_TIME_PER_DRAIN` per drain: the worker parses and evaluates off this loop,
    /// which never waits for it (see `k8s_audit::worker`). A reloaded ruleset is handed to the
    /// worker here.
    fn drain_audit(&mut self) {
        let Some(a) = &mut self.p.audit else { return };
        if !Arc::ptr_eq(&a.rules, &self.p.rules) {
            a.rules = Arc::clone(&self.p.rules);
            a.worker.set_rules(Arc::clone(&self.p.rules));
        }
        let evaluated = a.worker.evaluated();
        self.stats.events += evaluated - self.audit_evaluated;
        self.audit_evaluated = evaluated;
        let (stats, metrics, batch) = (&mut self.stats, &self.p.metrics, &mut self.batch);
        let (_, budget_spent) = a.worker.forward_alerts(|alert| {
            stats.alerts += 1;
            metrics.rule_match(&rule_match(&alert, None));
            batch.push(alert, Origin::default());
        });
        if budget_spent {
            metrics.k8s_audit_budget_spent();
        }
    }

    /// What the BPF-LSM programs denied or would have, as alerts.
    fn kernel_decisions(&mut self) {
        if self.p.backend != Some(Backend::BpfLsm) {
            return;
        }
        let decisions = self.p.registry.lock().map(|mut r| r.kernel_decisions()).unwrap_or_default();
        for (d, meta) in decisions {
            let Some(meta) = meta else {
                tracing::warn!(cgroup_id = d.cgroup_id, action = %d.action, "BPF-LSM decision for an unknown container");
                continue;
            };
            let decision = palisade_events::would_deny::from_kernel(&d, &meta, self.p.boot_to_wall, &self.p.hostname);
            count_decision(&self.p.hooks.control, &self.p.metrics, &meta, &decision);
            self.stats.alerts += 1;
            self.batch.push(decision.alert, Origin { pid: d.pid, cgroup_id: d.cgroup_id });
        }
    }

    /// Refused `palisade.io/mode` loosenings (the hook server settles modes off this loop).
    fn mode_refusals(&mut self) {
        let refusals = self.p.registry.lock().map(|mut r| r.take_mode_refusals()).unwrap_or_default();
        for (refused, meta) in refusals {
            let alert = mode_authority::alert(&refused, &meta, wall_ns(), &self.p.hostname);
            self.p.metrics.alert(&alert.rule, alert.priority);
            self.stats.alerts += 1;
            self.batch.push(alert, Origin::default());
        }
    }

    /// Metrics, drops, the status `palisade status` shows, watched files.
    fn housekeeping(&mut self) {
        let kernel_drops = self.p.source.drops();
        self.p.metrics.set_kernel_drops(kernel_drops);
        let socket = &self.p.hooks.socket;
        let (refused_busy, refused_peer) = (socket.refused_busy.load(Ordering::Relaxed), socket.refused_peer.load(Ordering::Relaxed));
        self.p.metrics.set_hook_socket_refused(refused_busy, refused_peer);
        if let Some(sink) = self.sink.as_mut() {
            self.drops.check(kernel_drops, sink, &self.p.hostname);
            sink.report(&self.p.metrics);
        }
        self.budget_housekeeping();
        let control = &self.p.hooks.control;
        let tracked = self
            .p
            .registry
            .lock()
            .map(|r| {
                control.retain_reports(&r);
                self.p.metrics.retain_containers(|id| r.knows(id));
                r.armed_count()
            })
            .unwrap_or(0);
        self.p.metrics.set_containers(tracked as u64);
        if let Ok(mut s) = self.p.hooks.status.lock() {
            s.uptime_s = self.p.started.elapsed().as_secs();
            s.rules_files = self.p.rule_files.iter().map(|f| f.display().to_string()).collect();
            s.rules_loaded = self.p.rules.rules().len() as u64;
            s.rules_active = self.p.rules.active_count() as u64;
            s.reloads = self.reloads;
            s.reload_errors = self.reload_errors;
            s.host_monitoring = self.p.config.host_monitoring;
            s.events = self.stats.events;
            s.alerts = self.stats.alerts;
            s.kernel_drops = kernel_drops;
            s.outputs_dropped = self.sink.as_ref().map_or(0, AlertSink::dropped);
            (s.hook_refused_busy, s.hook_refused_peer) = (refused_busy, refused_peer);
            (s.budget_drops, s.budget_drops_unattributed) = self.budget.status();
        }
        if self.p.config.watch_config_files && !self.p.hup.load(Ordering::Relaxed) && mtimes(&self.watched) != self.watched_mtimes {
            tracing::info!(files = ?self.watched, "a watched file changed; reloading");
            self.p.hup.store(true, Ordering::Relaxed);
        }
    }

    /// The per-cgroup syscall budgets: a reloaded `syscall_budget` goes to the kernel; the
    /// kernel's drop counters become per-container metrics, alerts and status lines; idle
    /// counters are deleted ([`crate::kernel::budget`]).
    fn budget_housekeeping(&mut self) {
        if self.p.config.syscall_budget != self.budget_applied {
            self.budget_applied = self.p.config.syscall_budget.clone();
            apply_budget(&mut self.p.source, &self.budget_applied);
            self.budget.set_config(&self.budget_applied);
        }
        let counts = self.p.source.budget_counts();
        let registry = &self.p.registry;
        let owner = |cgroup: u64| {
            let meta = registry.lock().ok()?.lookup(cgroup)?;
            Some((meta.full_id.clone(), meta.name.clone()))
        };
        let known = |id: &str| registry.lock().is_ok_and(|r| r.knows(id));
        let (alerts, idle) = self.budget.round(&counts, owner, known, &self.p.metrics, &self.p.hostname, Instant::now());
        for alert in &alerts {
            self.p.metrics.alert(&alert.rule, alert.priority);
            self.stats.alerts += 1;
            self.send(alert);
        }
        if !idle.is_empty() {
            self.p.source.forget_budget_entries(&idle);
        }
    }
}

/// Hands `syscall_budget` to the kernel programs; a failure leaves the previous budget (or none)
/// in place and is logged: the daemon keeps watching.
fn apply_budget<S: RecordSource>(source: &mut S, budget: &SyscallBudget) {
    match source.set_budget(kernel_conf(budget)) {
        Ok(()) => tracing::debug!(enabled = budget.enabled, rate = budget.rate, burst = budget.burst, "syscall budget set"),
        Err(e) => tracing::error!(error = %e, "setting the syscall budget failed; the previous one stays"),
    }
}
