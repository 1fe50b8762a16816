//! The audit worker: parses and evaluates k8s audit events on its own thread, off the syscall
//! event loop (one 58 MB webhook POST evaluated on the loop once stopped it draining the ring
//! buffer: 30,000 kernel drops, syscall alerts lost).
//!
//! In: a bounded queue of [`Job`]s — webhook bodies (the web server's [`WebhookHandler`] only
//! `try_send`s: a full queue is answered 503 with `Retry-After`, counted as
//! `palisade_k8s_audit_rejected_total{reason="queue_full"}`) and batches of followed log lines
//! (the follower waits for room). Out: a bounded channel of built alerts that the event loop
//! forwards to the outputs at most [`ALERTS_PER_DRAIN`] per drain, so audit alerts never crowd
//! syscall alerts out and the loop never waits for audit work. When that channel is full the
//! worker waits, its queue fills, and the webhook answers 503: nothing is dropped uncounted.
//!
//! Rules: the loop hands every reloaded ruleset to [`AuditWorker::set_rules`]; the worker takes
//! the current one per batch, so a batch is evaluated by one ruleset.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use palisade_k8saudit::{parse_payload, AuditEvent};
use palisade_metrics::Metrics;
use palisade_rules::alert::Alert;
use palisade_rules::{Ruleset, Source};
use palisade_web::{Answer, Busy, Reply, WebhookBody, WebhookHandler};

/// Jobs waiting for the worker. A webhook body is at most 64 MiB and the web server's body
/// budget bounds what the queued bodies hold together; 64 batches of 400 events are seconds of
/// a busy API server.
pub const QUEUE_JOBS: usize = 64;
/// Built alerts waiting for the event loop.
pub const ALERT_QUEUE: usize = 4096;
/// Audit alerts the event loop forwards per drain (every 10 ms: up to 25,600 a second): a quarter
/// of the default outputs queue (1024), so one drain's audit alerts always leave room for syscall
/// alerts, and a flood of audit alerts takes a bounded share of the outputs.
pub const ALERTS_PER_DRAIN: usize = 256;
/// Time the event loop spends forwarding audit alerts per drain, at most (a fifth of the drain
/// interval). Sending an alert costs the loop microseconds (rendering, queueing): 512 of them
/// took longer than a drain interval, and the ring buffer overflowed under a syscall load while
/// audit alerts were forwarded (`palisade-bench k8s-audit --daemon`).
pub const FORWARD_TIME_PER_DRAIN: Duration = Duration::from_millis(2);
/// Alerts forwarded between two looks at the clock.
const FORWARD_CHUNK: usize = 16;
/// The worker thread's nice increment: audit parsing is bulk work, and on a busy machine the
/// syscall event loop (nice 0) must get the CPU first, or the ring buffer overflows while a big
/// batch is parsed (the kernel scheduler, not the loop, was then what made drops).
pub const WORKER_NICE: i32 = 10;
/// How often a waiting worker looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// Work for the audit worker.
pub enum Job {
    /// A webhook POST body, answered once parsed.
    Webhook(WebhookBody, Reply),
    /// Events of followed audit log lines (already parsed by the follower).
    Events(Vec<AuditEvent>),
}

/// The web server's side of the queue.
pub struct Queue(SyncSender<Job>);

impl WebhookHandler for Queue {
    fn submit(&self, body: WebhookBody, reply: Reply) -> Result<(), Busy> {
        self.0.try_send(Job::Webhook(body, reply)).map_err(|_| Busy)
    }
}

/// The running worker thread and the event loop's end of its alerts.
pub struct AuditWorker {
    jobs: SyncSender<Job>,
    alerts: Receiver<Alert>,
    rules: Arc<Mutex<Arc<Ruleset>>>,
    evaluated: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct Worker {
    jobs: Receiver<Job>,
    alerts: SyncSender<Alert>,
    rules: Arc<Mutex<Arc<Ruleset>>>,
    evaluated: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    hostname: String,
}

impl AuditWorker {
    /// Starts the worker with `rules`.
    pub fn start(rules: Arc<Ruleset>, metrics: Arc<Metrics>, hostname: String) -> std::io::Result<AuditWorker> {
        let (jobs_tx, jobs) = sync_channel(QUEUE_JOBS);
        let (alerts_tx, alerts) = sync_channel(ALERT_QUEUE);
        let rules = Arc::new(Mutex::new(rules));
        let evaluated = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            jobs,
            alerts: alerts_tx,
            rules: Arc::clone(&rules),
            evaluated: Arc::clone(&evaluated),
            stop: Arc::clone(&stop),
            metrics,
            hostname,
        };
        let thread = std::thread::Builder::new().name("palisade-audit".into()).spawn(move || worker.run())?;
        Ok(AuditWorker { jobs: jobs_tx, alerts, rules, evaluated, stop, thread: Some(thread) })
    }

    /// The web server's handler for webhook bodies.
    pub fn handler(&self) -> Arc<dyn WebhookHandler> {
        Arc::new(Queue(self.jobs.clone()))
    }

    /// The followers' sender (they block while the queue is full).
    pub fn sender(&self) -> SyncSender<Job> {
        self.jobs.clone()
    }

    /// Evaluates the next batches with `rules`.
    pub fn set_rules(&self, rules: Arc<Ruleset>) {
        *self.rules.lock().unwrap_or_else(PoisonError::into_inner) = rules;
    }

    /// Events evaluated so far.
    pub fn evaluated(&self) -> u64 {
        self.evaluated.load(Ordering::Relaxed)
    }

    /// Built alerts for at most [`FORWARD_TIME_PER_DRAIN`] and [`ALERTS_PER_DRAIN`], without
    /// waiting; `true` in the second place when more were waiting (the budget was spent).
    pub fn forward_alerts(&self, mut f: impl FnMut(Alert)) -> (usize, bool) {
        let started = std::time::Instant::now();
        let mut taken = 0;
        while taken < ALERTS_PER_DRAIN {
            let (n, more) = self.take_alerts(FORWARD_CHUNK.min(ALERTS_PER_DRAIN - taken), &mut f);
            taken += n;
            if !more {
                return (taken, false);
            }
            if started.elapsed() >= FORWARD_TIME_PER_DRAIN {
                return (taken, true);
            }
        }
        (taken, true)
    }

    /// At most `budget` built alerts, without waiting; `true` in the second place when more
    /// may be waiting (the budget was spent).
    pub fn take_alerts(&self, budget: usize, mut f: impl FnMut(Alert)) -> (usize, bool) {
        let mut taken = 0;
        while taken < budget {
            match self.alerts.try_recv() {
                Ok(alert) => {
                    f(alert);
                    taken += 1;
                }
                Err(_) => return (taken, false),
            }
        }
        (taken, true)
    }

    /// Stops the thread (jobs still queued are abandoned; their webhook clients see the
    /// connection end).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the audit worker panicked");
            }
        }
    }
}

impl Worker {
    fn run(self) {
        // Per thread on Linux: only this thread yields to the others.
        if let Err(error) = rustix::process::nice(WORKER_NICE) {
            tracing::warn!(%error, "cannot lower the audit worker's priority");
        }
        while !self.stop.load(Ordering::Relaxed) {
            let job = match self.jobs.recv_timeout(POLL) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let events = match job {
                Job::Webhook(body, reply) => match self.parse(&body) {
                    Some(events) => {
                        drop(body); // give its bytes back to the server's budget now
                        reply.send(Answer::Accepted);
                        events
                    }
                    None => {
                        reply.send(Answer::Invalid);
                        continue;
                    }
                },
                Job::Events(events) => events,
            };
            let rules = Arc::clone(&self.rules.lock().unwrap_or_else(PoisonError::into_inner));
            let mut matches = Vec::new();
            for mut event in events {
                let num = self.evaluated.fetch_add(1, Ordering::Relaxed) + 1;
                event.set_num(num);
                self.metrics.event("k8s_audit");
                rules.evaluate(Source::K8sAudit, &event, &mut matches);
                for rule in &matches {
                    let alert = Alert::new(rule, &event, event.time_ns(), &self.hostname);
                    if !self.deliver(alert) {
                        return;
                    }
                }
            }
        }
    }

    /// A webhook body's events; `None` when it is not an audit payload at all. Items that are
    /// not audit events are counted and skipped, the others kept.
    fn parse(&self, body: &[u8]) -> Option<Vec<AuditEvent>> {
        let (events, errors) = parse_payload(body);
        if events.is_empty() && !errors.is_empty() {
            self.metrics.k8s_audit_rejected("invalid");
            tracing::warn!(error = %errors[0], "k8s audit webhook: not an audit payload");
            return None;
        }
        if !errors.is_empty() {
            self.metrics.k8s_audit_bad_lines("webhook", errors.len() as u64);
            tracing::warn!(bad = errors.len(), kept = events.len(), first_error = %errors[0], "k8s audit webhook: items that are not audit events skipped");
        }
        Some(events)
    }

    /// Waits for room in the alerts channel; false when stopping or the loop is gone.
    fn deliver(&self, mut alert: Alert) -> bool {
        loop {
            match self.alerts.try_send(alert) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    if self.stop.load(Ordering::Relaxed) {
                        return false;
                    }
                    alert = back;
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "worker_tests.rs"]
pub(crate) mod tests;
