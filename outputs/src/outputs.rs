//! [`Outputs`]: the queues, their worker threads, start and stop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use crate::file::FileSink;
use crate::http::HttpSink;
use crate::program::ProgramSink;
use crate::queue::{AlertQueue, RateLimit};
use crate::stdout::StdoutSink;
use crate::syslog::SyslogSink;
use crate::{Message, OutputError, OutputKind, Settings, Stats, REPORT_INTERVAL};

/// Alerts a worker delivers in one batch at most, so one huge backlog does not become one
/// huge write buffer (the rest waits for the next batch, in order).
pub(crate) const MAX_BATCH: usize = 4096;

/// How long [`Outputs::stop`] lets the workers drain their queues.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// After the drain timeout and the abort of stuck deliveries, how long `stop` still waits before
/// it detaches a worker.
const ABORT_GRACE: Duration = Duration::from_millis(500);

/// Interrupts a delivery that blocks (kills a program output's process).
pub(crate) type Abort = Box<dyn Fn() + Send + Sync>;

/// What became of one batch: `delivered + failed` is the batch's length; `error` is the last
/// failure, for the log.
pub(crate) struct Delivery<E> {
    pub(crate) delivered: u64,
    pub(crate) failed: u64,
    pub(crate) error: Option<E>,
}

impl<E> Delivery<E> {
    /// Delivers each alert of `batch` with `deliver`, in order, counting each result (the
    /// last error kept).
    pub(crate) fn each(batch: &[Arc<Message>], mut deliver: impl FnMut(&Message) -> Result<(), E>) -> Delivery<E> {
        let mut result = Delivery { delivered: 0, failed: 0, error: None };
        for msg in batch {
            match deliver(msg) {
                Ok(()) => result.delivered += 1,
                Err(e) => {
                    result.failed += 1;
                    result.error = Some(e);
                }
            }
        }
        result
    }
}

/// One output's transport, driven by its worker thread.
pub(crate) trait Sink: Send + 'static {
    type Error: std::fmt::Display;

    /// Delivers one alert.
    fn deliver(&mut self, msg: &Message) -> Result<(), Self::Error>;

    /// Delivers a batch, in order; called in the order alerts were sent. By default one
    /// [`Sink::deliver`] per alert; the line outputs override it with one write per batch.
    fn deliver_batch(&mut self, batch: &[Arc<Message>]) -> Delivery<Self::Error> {
        Delivery::each(batch, |msg| self.deliver(msg))
    }

    /// Releases the transport (end of the worker). Returns how many alerts counted delivered
    /// the output never took after all (a program ended with them unread in its pipe).
    fn close(&mut self) -> u64 {
        0
    }

    /// How `stop` interrupts a delivery stuck past its timeout, if it can.
    fn abort_handle(&self) -> Option<Abort> {
        None
    }
}

struct Worker {
    queue: Arc<AlertQueue>,
    thread: Option<JoinHandle<()>>,
    abort: Option<Abort>,
}

/// The running outputs. Dropping it without [`Outputs::stop`] closes the queues without waiting:
/// the workers drain for [`DEFAULT_STOP_TIMEOUT`] on their own and exit.
pub struct Outputs {
    sent: AtomicU64,
    workers: Vec<Worker>,
    /// The http output is enabled: it posts `Message::json`.
    needs_json: bool,
}

impl Outputs {
    /// Validates every enabled output (file directory, TLS files, syslog socket, program spawn
    /// when kept alive), then starts one worker thread per output. Nothing is started on error.
    pub fn start(settings: Settings) -> Result<Outputs, OutputError> {
        if settings.queue_capacity == 0 {
            return Err(OutputError::ZeroCapacity);
        }
        // Built before any thread starts; the program is last since keep-alive spawns it.
        let file = settings.file.as_ref().map(FileSink::new).transpose()?;
        let http = settings.http.as_ref().map(HttpSink::new).transpose()?;
        let syslog = settings.syslog.as_ref().map(SyslogSink::new).transpose()?;
        let program = settings.program.as_ref().map(ProgramSink::new).transpose()?;

        let mut outputs = Outputs { sent: AtomicU64::new(0), workers: Vec::new(), needs_json: http.is_some() };
        let capacity = settings.queue_capacity;
        if settings.stdout {
            outputs.spawn(OutputKind::Stdout, capacity, StdoutSink)?;
        }
        if let Some(sink) = file {
            outputs.spawn(OutputKind::File, capacity, sink)?;
        }
        if let Some(sink) = program {
            outputs.spawn(OutputKind::Program, capacity, sink)?;
        }
        if let Some(sink) = http {
            outputs.spawn(OutputKind::Http, capacity, sink)?;
        }
        if let Some(sink) = syslog {
            outputs.spawn(OutputKind::Syslog, capacity, sink)?;
        }
        if outputs.workers.is_empty() {
            warn!("no alert output is enabled");
        }
        Ok(outputs)
    }

    fn spawn<S: Sink>(&mut self, kind: OutputKind, capacity: usize, sink: S) -> Result<(), OutputError> {
        let queue = Arc::new(AlertQueue::new(kind, capacity));
        let abort = sink.abort_handle();
        let worker_queue = Arc::clone(&queue);
        let thread = thread::Builder::new()
            .name(format!("output-{kind}"))
            .spawn(move || run(sink, &worker_queue))
            .map_err(|source| OutputError::Thread { output: kind, source })?;
        debug!(output = %kind, capacity, "output started");
        self.workers.push(Worker { queue, thread: Some(thread), abort });
        Ok(())
    }

    /// Whether an enabled output reads [`Message::json`] (http); without, the caller may leave
    /// it empty and render only the line.
    pub fn needs_json(&self) -> bool {
        self.needs_json
    }

    /// Offers one alert to every output: [`Outputs::send_batch`] of one.
    pub fn send(&self, msg: Message) {
        self.send_batch(vec![msg]);
    }

    /// Offers the alerts, in order, to every output: one lock and at most one wake-up per
    /// output. An output whose queue fills drops the rest of the batch for itself alone
    /// (counted and reported). Never waits for an output.
    pub fn send_batch(&self, batch: Vec<Message>) {
        if batch.is_empty() {
            return;
        }
        self.sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let batch: Vec<Arc<Message>> = batch.into_iter().map(Arc::new).collect();
        for worker in &self.workers {
            worker.queue.push_batch(&batch);
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            sent: self.sent.load(Ordering::Relaxed),
            outputs: self.workers.iter().map(|w| w.queue.stats()).collect(),
        }
    }

    /// [`Outputs::stop_within`] with [`DEFAULT_STOP_TIMEOUT`].
    pub fn stop(self) -> Stats {
        self.stop_within(DEFAULT_STOP_TIMEOUT)
    }

    /// Lets the workers drain their queues for at most `timeout`, then drops what is left
    /// (counted), aborts deliveries that still block (a program output's process is killed),
    /// waits a short grace and detaches a worker still stuck (logged). Returns the final counters.
    pub fn stop_within(mut self, timeout: Duration) -> Stats {
        let deadline = Instant::now() + timeout;
        for worker in &self.workers {
            worker.queue.close(deadline);
        }
        wait_until(&self.workers, deadline);
        for worker in &self.workers {
            if is_running(worker) {
                worker.queue.abandon();
                if let Some(abort) = &worker.abort {
                    warn!(output = %worker.queue.kind(), "delivery still blocked at stop, aborting it");
                    abort();
                }
            }
        }
        wait_until(&self.workers, Instant::now() + ABORT_GRACE);
        for worker in &mut self.workers {
            if let Some(thread) = worker.thread.take() {
                if thread.is_finished() {
                    if thread.join().is_err() {
                        warn!(output = %worker.queue.kind(), "output worker panicked");
                    }
                } else {
                    warn!(output = %worker.queue.kind(), "output worker still blocked at stop, detached");
                }
            }
            worker.queue.report_pending_drops();
        }
        self.stats()
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        let deadline = Instant::now() + DEFAULT_STOP_TIMEOUT;
        for worker in &self.workers {
            if worker.thread.is_some() {
                worker.queue.close(deadline);
            }
        }
    }
}

/// The daemon may share `&Outputs` between threads.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<Outputs>();
};

fn is_running(worker: &Worker) -> bool {
    worker.thread.as_ref().is_some_and(|t| !t.is_finished())
}

fn wait_until(workers: &[Worker], deadline: Instant) {
    while workers.iter().any(is_running) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(2));
    }
}

/// A worker: takes every queued alert at once and delivers the batch, in order, until the queue
/// is closed and drained (or its deadline passed).
fn run<S: Sink>(mut sink: S, queue: &AlertQueue) {
    let kind = queue.kind();
    let mut failures = RateLimit::new(REPORT_INTERVAL);
    let mut batch = Vec::new();
    while queue.next_batch(&mut batch) {
        for chunk in batch.chunks(MAX_BATCH) {
            let result = sink.deliver_batch(chunk);
            if let Some(error) = &result.error {
                if let Some(failures) = failures.hit(result.failed, Instant::now()) {
                    warn!(output = %kind, %error, failures, "alert delivery failed");
                }
            } else if result.failed > 0 {
                failures.hit(result.failed, Instant::now());
            }
            queue.finish_batch(result.delivered, result.failed);
        }
        batch.clear();
    }
    let unread = sink.close();
    if unread > 0 {
        queue.undeliver(unread);
        warn!(output = %kind, unread, "alerts left unread by the output at stop, counted failed");
    }
    let failures = failures.take_pending();
    if failures > 0 {
        warn!(output = %kind, failures, "alert delivery failed");
    }
    debug!(output = %kind, "output stopped");
}
