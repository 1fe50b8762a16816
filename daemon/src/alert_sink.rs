//! Where alerts go: the configured outputs (`palisade-outputs`, a bounded queue that never
//! blocks the event loop) in Falco's text or JSON form, and the `syscall_event_drops` reports.

use std::time::Instant;

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
            ca_cert: path(&c.http_output.ca_cert),
            ca_path: path(&c.http_output.ca_path),
            mtls: c.http_output.mtls,
            client_cert: path(&c.http_output.client_cert),
            client_key: path(&c.http_output.client_key),
        }),
        syslog: c.syslog_output.enabled.then(|| SyslogSettings { socket: c.syslog_output.socket.clone() }),
    }
}

/// The running outputs and how alerts are rendered for them.
pub struct AlertSink {
    outputs: Outputs,
    json_output: bool,
    include_output: bool,
    include_tags: bool,
}

impl AlertSink {
    pub fn start(c: &Config) -> Result<AlertSink, OutputError> {
        Ok(AlertSink {
            outputs: Outputs::start(output_settings(c))?,
            json_output: c.json_output,
            include_output: c.json_include_output_property,
            include_tags: c.json_include_tags_property,
        })
    }

    /// Never blocks: a full queue counts the alert as dropped.
    pub fn send(&self, alert: &Alert) {
        let json = alert.to_json(self.include_output, self.include_tags).to_string();
        let line = if self.json_output { json.clone() } else { alert.to_text() };
        self.outputs.send(Message { line, json, priority: severity(alert.priority) });
    }

    /// Exports the outputs' counters.
    pub fn report(&self, metrics: &Metrics) {
        publish(&self.outputs.stats(), metrics);
    }

    /// Alerts dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.outputs.stats().dropped()
    }

    /// After a reload: new outputs when their settings changed (the old ones drain first).
    pub fn restart_if_changed(self, old: &Config, new: &Config) -> Result<AlertSink, OutputError> {
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
            return Ok(AlertSink {
                json_output: new.json_output,
                include_output: new.json_include_output_property,
                include_tags: new.json_include_tags_property,
                ..self
            });
        }
        let fresh = AlertSink::start(new)?;
        self.stop();
        Ok(fresh)
    }

    /// Drains and stops the outputs; returns how many alerts were dropped in all.
    pub fn stop(self) -> u64 {
        self.outputs.stop().dropped()
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn severities_follow_syslog() {
        let s = super::severity;
        assert_eq!((s("Emergency"), s("Warning"), s("Informational"), s("Debug"), s("nonsense")), (0, 4, 6, 7, 7));
    }
}
