//! Where alerts go: the configured outputs (`palisade-outputs`, a bounded queue that never
//! blocks the event loop) in Falco's text or JSON form, after the aggregation of identical
//! alerts ([`aggregate`]), and the `syscall_event_drops` reports.

pub mod aggregate;
mod falco_render;
#[cfg(test)]
mod tests;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

pub use aggregate::Origin;
use aggregate::Aggregator;

use crate::config::{Config, DropAction, SyscallEventDrops};
use palisade_metrics::Metrics;
use palisade_outputs::{FileSettings, OutputError, HttpSettings, Message, Outputs, ProgramSettings, Settings, Stats, SyslogSettings};
use palisade_rules::alert::Alert;
use palisade_rules::Priority;

/// The outputs part of a configuration.
fn output_settings(c: &Config) -> Settings {
    let path = |s: &str| (!s.is_empty()).then(|| std::path::PathBuf::from(s));
    Settings {
        queue_capacity: c.outputs_queue.capacity,
        stdout: c.stdout_output.enabled,
        file: c
            .file_output
            .enabled
            .then(|| FileSettings { path: c.file_output.filename.clone(), keep_alive: c.file_output.keep_alive }),
        program: c.program_output.enabled.then(|| ProgramSettings {
            command: c.program_output.program.clone(),
            keep_alive: c.program_output.keep_alive,
        }),
        http: c.http_output.enabled.then(|| HttpSettings {
            url: c.http_output.url.clone(),
            user_agent: c.http_output.user_agent.clone(),
            insecure: c.http_output.insecure,
            ca_cert: path(&c.http_output.ca_cert).or_else(|| path(&c.http_output.ca_bundle)),
            ca_path: path(&c.http_output.ca_path),
            mtls: c.http_output.mtls,
            client_cert: path(&c.http_output.client_cert),
            client_key: path(&c.http_output.client_key),
        }),
        syslog: c.syslog_output.enabled.then(|| SyslogSettings { socket: c.syslog_output.socket.clone() }),
    }
}

/// How alerts are rendered: the configuration's part that is not the outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Render {
    json_output: bool,
    include_output: bool,
    include_tags: bool,
    falco: falco_render::FalcoRender,
}

impl Render {
    fn of(c: &Config) -> Render {
        Render {
            json_output: c.json_output,
            include_output: c.json_include_output_property,
            include_tags: c.json_include_tags_property,
            falco: falco_render::FalcoRender::of(c),
        }
    }

    /// The outputs' message: only the forms the outputs read, each rendered once.
    fn message(self, alert: &Alert, needs_json: bool) -> Message {
        let mut line = String::with_capacity(alert.output.len() * 2 + 256);
        let mut json = String::new();
        if self.json_output {
            alert.write_json(&mut line, self.include_output, self.include_tags);
        } else {
            alert.write_text(&mut line);
            if needs_json {
                json.reserve(alert.output.len() * 2 + 256);
                alert.write_json(&mut json, self.include_output, self.include_tags);
            }
        }
        if self.json_output {
            self.falco.apply(alert, None, &mut line);
        } else {
            self.falco.apply(alert, Some(&mut line), &mut json);
        }
        Message { line, json, priority: severity(alert.priority) }
    }
}

/// Alerts collected by the event loop during one drain, handed to [`AlertSink::send_batch`] in
/// one call. Any alert goes in (syscall rules, profile decisions, k8s audit, internal ones).
#[derive(Default)]
pub struct AlertBatch {
    alerts: Vec<(Alert, Origin)>,
}

impl AlertBatch {
    /// Adds `alert`, caused by `origin` (its process and cgroup; the default for none).
    pub fn push(&mut self, alert: Alert, origin: Origin) {
        self.alerts.push((alert, origin));
    }

    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }
}

/// The running outputs, how alerts are rendered for them, and the aggregation of identical
/// alerts in front of them.
///
/// The path of a batch: aggregation (identical alerts folded into counts, summaries of ended
/// windows added), rendering (once per alert, only the forms the outputs read), then one
/// [`Outputs::send_batch`]: one lock and at most one wake-up per output queue for the batch.
pub struct AlertSink {
    outputs: Outputs,
    render: Render,
    /// `None` when `alert_aggregation.enabled` is false. A mutex so `send` keeps taking `&self`;
    /// only the event loop's thread sends, so it is never contended.
    aggregator: Option<Mutex<Aggregator>>,
}

fn lock(m: &Mutex<Aggregator>) -> MutexGuard<'_, Aggregator> {
    // No panic while held leaves it inconsistent: every update is a few counters and pushes.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AlertSink {
    pub fn start(c: &Config) -> Result<AlertSink, OutputError> {
        Ok(AlertSink { outputs: Outputs::start(output_settings(c))?, render: Render::of(c), aggregator: aggregator(c) })
    }

    /// One alert with no origin (an internal alert): a batch of one, same path as
    /// [`AlertSink::send_batch`]. Never blocks: a full queue counts the alert as dropped.
    pub fn send(&self, alert: &Alert) {
        let mut batch = AlertBatch::default();
        batch.push(alert.clone(), Origin::default());
        self.send_batch(&mut batch);
    }

    /// Sends and empties `batch`, in order, with the summaries of the aggregation windows that
    /// ended. Never blocks: an output whose queue is full counts what it cannot take as dropped.
    pub fn send_batch(&self, batch: &mut AlertBatch) {
        match &self.aggregator {
            // Rendered from the batch itself: no second vector of alerts (at 512 alerts of
            // ~200 bytes, allocating and freeing one per batch cost more than the copy saved).
            None => self.emit(batch.alerts.iter().map(|(a, _)| a)),
            Some(aggregator) => {
                let now = Instant::now();
                let mut alerts = Vec::new();
                {
                    let mut aggregator = lock(aggregator);
                    aggregator.expire(now, &mut alerts);
                    for (alert, origin) in batch.alerts.drain(..) {
                        aggregator.offer(alert, origin, now, &mut alerts);
                    }
                }
                self.emit(alerts.iter());
            }
        }
        batch.alerts.clear();
    }

    /// Emits the summaries of the aggregation windows ended by now (called every loop turn, so
    /// a summary is not held until the next alert).
    pub fn flush_expired(&self) {
        if let Some(aggregator) = &self.aggregator {
            let mut alerts = Vec::new();
            lock(aggregator).expire(Instant::now(), &mut alerts);
            self.emit(alerts.iter());
        }
    }

    /// Emits every pending summary (before a stop or a swap of the outputs).
    fn flush_all(&self) {
        if let Some(aggregator) = &self.aggregator {
            let mut alerts = Vec::new();
            lock(aggregator).flush(&mut alerts);
            self.emit(alerts.iter());
        }
    }

    fn emit<'a>(&self, alerts: impl ExactSizeIterator<Item = &'a Alert>) {
        if alerts.len() == 0 {
            return;
        }
        let needs_json = self.outputs.needs_json();
        self.outputs.send_batch(alerts.map(|a| self.render.message(a, needs_json)).collect());
    }

    /// Exports the outputs' counters and the aggregation's.
    pub fn report(&self, metrics: &Metrics) {
        publish(&self.outputs.stats(), metrics);
        if let Some(aggregator) = &self.aggregator {
            let counts = lock(aggregator).take_counts();
            metrics.alerts_aggregated(counts.folded, counts.summaries);
        }
    }

    /// Alerts dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.outputs.stats().dropped()
    }

    /// First half of a reload: starts the outputs `new` asks for, if they differ from `old`'s
    /// (`None`: the running ones stay). Nothing running is touched, so an error leaves the
    /// sink as it was; a refused reload drops the result (its outputs stop).
    pub fn prepare(&self, old: &Config, new: &Config) -> Result<Option<StartedOutputs>, OutputError> {
        let outputs = |c: &Config| {
            (
                c.stdout_output.clone(),
                c.file_output.clone(),
                c.program_output.clone(),
                c.http_output.clone(),
                c.syslog_output.clone(),
                c.outputs_queue.clone(),
            )
        };
        if outputs(old) == outputs(new) {
            return Ok(None);
        }
        Outputs::start(output_settings(new)).map(|o| Some(StartedOutputs(o)))
    }

    /// Second half of a reload: `c`'s rendering and aggregation, and the outputs `prepare`
    /// started, if any. The pending summaries go to the old outputs, which then drain and stop.
    pub fn swap(self, c: &Config, fresh: Option<StartedOutputs>) -> AlertSink {
        let sink = self.with_aggregation(c);
        match fresh {
            None => sink,
            Some(StartedOutputs(outputs)) => {
                sink.flush_all();
                let AlertSink { outputs: old, render, aggregator } = sink;
                old.stop();
                AlertSink { outputs, render, aggregator }
            }
        }
    }

    /// The same outputs with `c`'s rendering and aggregation; a changed aggregation first emits
    /// the pending summaries (its counters carry over).
    fn with_aggregation(self, c: &Config) -> AlertSink {
        let render = Render::of(c);
        let unchanged = match &self.aggregator {
            None => !c.alert_aggregation.enabled,
            Some(a) => c.alert_aggregation.enabled && lock(a).window() == c.alert_aggregation.window,
        };
        if unchanged {
            return AlertSink { render, ..self };
        }
        self.flush_all();
        let mut fresh = aggregator(c);
        if let (Some(old), Some(new)) = (&self.aggregator, &mut fresh) {
            let counts = lock(old).take_counts();
            lock(new).add_counts(counts);
        }
        // Turned off: the counters since the last report go with the old one (the summaries
        // were emitted, with their counts).
        AlertSink { render, aggregator: fresh, ..self }
    }

    /// Emits the pending summaries, drains and stops the outputs; returns how many alerts
    /// were dropped in all.
    pub fn stop(self) -> u64 {
        self.flush_all();
        self.outputs.stop().dropped()
    }
}

/// Outputs started for a reload, not yet in use ([`AlertSink::prepare`]).
pub struct StartedOutputs(Outputs);

impl StartedOutputs {
    /// The reload was refused after all: stop them unused (a program output's group ends).
    pub fn discard(self) {
        self.0.stop();
    }
}

/// The aggregator a configuration asks for.
fn aggregator(c: &Config) -> Option<Mutex<Aggregator>> {
    c.alert_aggregation.enabled.then(|| Mutex::new(Aggregator::new(c.alert_aggregation.window)))
}

/// A priority name as a syslog severity: `Priority` is declared most severe first, Emergency (0)
/// to Debug (7), as syslog numbers them; an unknown name is Debug.
fn severity(priority: &str) -> u8 {
    priority.parse::<Priority>().map_or(7, |p| p as u8)
}

/// Per output delivered/failed; the queue gauges summed over the outputs' queues.
fn publish(stats: &Stats, metrics: &Metrics) {
    for o in &stats.outputs {
        metrics.set_output_stats(o.output.name(), o.delivered, o.failed);
    }
    let depth: usize = stats.outputs.iter().map(|o| o.depth).sum();
    let capacity: usize = stats.outputs.iter().map(|o| o.capacity).sum();
    metrics.set_outputs_queue(depth as u64, capacity as u64, stats.dropped());
}

/// `syscall_event_drops`: when the kernel lost records since the last check, act (log to
/// stderr, and/or alert through the outputs), at most `rate` times per second with bursts of
/// `max_burst` (a token bucket, as Falco).
pub struct DropReporter {
    actions: Vec<DropAction>,
    rate: f64,
    max_burst: f64,
    tokens: f64,
    last: Instant,
    reported: u64,
}

impl DropReporter {
    pub fn new(c: &SyscallEventDrops) -> DropReporter {
        DropReporter {
            actions: c.actions.clone(),
            rate: c.rate,
            max_burst: f64::from(c.max_burst),
            tokens: f64::from(c.max_burst),
            last: Instant::now(),
            reported: 0,
        }
    }

    pub fn check(&mut self, total: u64, sink: &mut AlertSink, hostname: &str) {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.max_burst);
        self.last = now;
        if total <= self.reported || self.tokens < 1.0 {
            return;
        }
        self.tokens -= 1.0;
        let lost = total - self.reported;
        self.reported = total;
        for action in &self.actions {
            match action {
                DropAction::Ignore => {}
                DropAction::Log => tracing::warn!(lost, total, "syscall event drops"),
                DropAction::Alert => sink.send(&drop_alert(lost, total, hostname)),
            }
        }
    }
}

/// Falco's "syscall event drop" internal alert, Palisade-named.
fn drop_alert(lost: u64, total: u64, hostname: &str) -> Alert {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    Alert {
        time_ns: now,
        rule: "Palisade internal: syscall event drop".into(),
        priority: "Critical",
        source: "internal",
        output: format!("Palisade internal: syscall event drop. {lost} records lost (total {total})"),
        output_fields: vec![
            ("n_drops".into(), palisade_rules::output::FieldValue::Number(i128::from(lost))),
            ("n_drops_total".into(), palisade_rules::output::FieldValue::Number(i128::from(total))),
        ],
        tags: vec![],
        hostname: hostname.to_owned(),
        extra: vec![],
    }
}

