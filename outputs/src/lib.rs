//! Falco's alert outputs — stdout, file, program, http, syslog — fed by the daemon's event loop
//! without ever blocking it.
//!
//! # Design
//!
//! [`Outputs::send_batch`] wraps each alert of a batch in an `Arc` and offers the batch to one
//! bounded FIFO queue per enabled output; each queue is drained by its own worker thread that
//! delivers to that output alone. A batch costs one short mutex per queue (no I/O, no waiting for
//! room) and at most one wake-up per queue, only when its worker sleeps; [`Outputs::send`] is a
//! batch of one. A worker takes every queued alert at once, and the line outputs (stdout, file,
//! a kept-alive program) write the batch with one write: at an alert storm the cost per alert is
//! a copy of its line, not a lock, a wake-up and a system call.
//!
//! One worker per output rather than Falco's single output thread: a slow or dead http endpoint, a
//! program that stops reading its stdin, or a stalled terminal then delays and drops only its own
//! alerts, while the file and syslog audit trail keeps flowing. The cost is one thread per enabled
//! output (five at most) and one `Arc` clone per alert and output.
//!
//! # Invariants
//!
//! - **Ordering**: each output receives alerts in the order they were sent, within and across
//!   batches (one FIFO queue and one worker per output; a worker finishes one batch before it
//!   takes the next).
//! - **Bounded**: at most `queue_capacity` alerts per output are accepted and unfinished; the
//!   batch being delivered still occupies its slots until its delivery ends.
//! - **Drops are per output**: when an output's queue is full, the alerts of a batch beyond its
//!   room are dropped for that output only and counted in its [`OutputStats::dropped`]; the
//!   other outputs still get them. The
//!   first drop is logged with `tracing::warn!` at once, later ones at most every
//!   [`REPORT_INTERVAL`] with the count since the last report; [`Outputs::stop`] reports the rest.
//! - **Accounting**: for every output, once quiet,
//!   `sent == delivered + failed + dropped + depth` (see [`Stats`]).
//! - **Failures** are counted, logged at most every [`REPORT_INTERVAL`] per output, and never
//!   retried (a keep-alive program is restarted at most once per batch). After a short write,
//!   the alerts wholly written count delivered and the rest failed; alerts a program never read
//!   from its pipe before it was ended move from delivered to failed.
//! - **Stop** drains the queues for at most a timeout ([`DEFAULT_STOP_TIMEOUT`], or the one given
//!   to [`Outputs::stop_within`]), then counts what is left as dropped, kills the process group
//!   of a program output that still holds its worker, and detaches a worker still stuck after a
//!   short grace (an http request ends by its own timeout). A program output's process group is
//!   always ended at stop: nothing it started outlives the daemon.

mod file;
mod http;
mod outputs;
mod program;
mod queue;
mod stdout;
mod syslog;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use file::FileError;
pub use http::{HttpError, DEFAULT_USER_AGENT};
pub use outputs::{Outputs, DEFAULT_STOP_TIMEOUT};
pub use program::ProgramError;
pub use syslog::{SyslogError, DEFAULT_SYSLOG_SOCKET};

/// How often a repeated drop or failure is logged at most, per output.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Falco's `outputs_queue.capacity` default in Palisade (Falco's own 0 = unbounded is refused).
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// Which outputs are enabled and how. `Default`: queue of [`DEFAULT_QUEUE_CAPACITY`], stdout on
/// (Falco's `stdout_output.enabled: true`), every other output off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Alerts each output may hold (queued plus the one being delivered); at least 1.
    pub queue_capacity: usize,
    pub stdout: bool,
    pub file: Option<FileSettings>,
    pub program: Option<ProgramSettings>,
    pub http: Option<HttpSettings>,
    pub syslog: Option<SyslogSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            stdout: true,
            file: None,
            program: None,
            http: None,
            syslog: None,
        }
    }
}

/// Falco's `file_output`: one line per alert appended to `path`, whose directory must exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSettings {
    pub path: PathBuf,
    /// Keep the file open (a renamed file keeps receiving alerts); otherwise open, append and
    /// close for each alert (a renamed file is replaced by a new one at the next alert).
    pub keep_alive: bool,
}

/// Falco's `program_output`: `sh -c COMMAND`, one line per alert on its stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSettings {
    pub command: String,
    /// One long-lived process (restarted, and logged, when it dies); otherwise one process per
    /// alert, whose exit is awaited.
    pub keep_alive: bool,
}

/// Falco's `http_output`: POST of the alert's JSON object with `Content-Type: application/json`,
/// what Falcosidekick's `POST /` expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// `http://` or `https://` URL.
    pub url: String,
    pub user_agent: String,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// PEM file of trusted CA certificates.
    pub ca_cert: Option<PathBuf>,
    /// Directory of PEM files of trusted CA certificates. With neither `ca_cert` nor `ca_path`,
    /// Mozilla's root certificates (bundled) are trusted.
    pub ca_path: Option<PathBuf>,
    /// Present `client_cert`/`client_key` (PEM) to the server.
    pub mtls: bool,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            url: String::new(),
            user_agent: DEFAULT_USER_AGENT.to_string(),
            insecure: false,
            ca_cert: None,
            ca_path: None,
            mtls: false,
            client_cert: None,
            client_key: None,
        }
    }
}

/// Falco's `syslog_output`: RFC 3164-style datagrams, facility `user`, tag `palisade`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogSettings {
    /// Unix datagram socket of the syslog daemon.
    pub socket: PathBuf,
}

impl Default for SyslogSettings {
    fn default() -> Self {
        SyslogSettings { socket: PathBuf::from(DEFAULT_SYSLOG_SOCKET) }
    }
}

/// One alert as the daemon hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The line for stdout, file, program and syslog (JSON or text per `json_output`), without
    /// its newline (one trailing `\n` is tolerated, never doubled).
    pub line: String,
    /// The alert's JSON object, the http body. Empty when `line` is that object
    /// (`json_output`) or no output reads it ([`Outputs::needs_json`]): rendered once only.
    pub json: String,
    /// Syslog severity: 0 emergency .. 7 debug (larger values are sent as 7).
    pub priority: u8,
}

impl Message {
    /// The JSON object: `json`, or the line when `json` is empty.
    pub fn json(&self) -> &str {
        if self.json.is_empty() {
            &self.line
        } else {
            &self.json
        }
    }
}

/// An output, as named in logs and [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputKind {
    Stdout,
    File,
    Program,
    Http,
    Syslog,
}

impl OutputKind {
    pub fn name(self) -> &'static str {
        match self {
            OutputKind::Stdout => "stdout",
            OutputKind::File => "file",
            OutputKind::Program => "program",
            OutputKind::Http => "http",
            OutputKind::Syslog => "syslog",
        }
    }
}

impl fmt::Display for OutputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Counters of one output and its queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputStats {
    pub output: OutputKind,
    /// Alerts the output accepted.
    pub delivered: u64,
    /// Alerts whose delivery failed (not retried).
    pub failed: u64,
    /// Alerts never attempted: the queue was full, or `stop` ran out of time.
    pub dropped: u64,
    /// Alerts accepted and not finished, the one being delivered included.
    pub depth: usize,
    pub capacity: usize,
}

/// A snapshot of every enabled output. Once quiet, for each output
/// `sent == delivered + failed + dropped + depth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Alerts offered ([`Outputs::send`] counts one, [`Outputs::send_batch`] its length).
    pub sent: u64,
    /// One entry per enabled output, in the order stdout, file, program, http, syslog.
    pub outputs: Vec<OutputStats>,
}

impl Stats {
    pub fn get(&self, output: OutputKind) -> Option<&OutputStats> {
        self.outputs.iter().find(|o| o.output == output)
    }

    /// Dropped alerts summed over the outputs (an alert dropped by two outputs counts twice).
    pub fn dropped(&self) -> u64 {
        self.outputs.iter().map(|o| o.dropped).sum()
    }

    pub fn failed(&self) -> u64 {
        self.outputs.iter().map(|o| o.failed).sum()
    }
}

/// Why the outputs could not start.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("outputs queue capacity must be at least 1 (Falco's 0 = unbounded is not supported)")]
    ZeroCapacity,
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Program(#[from] ProgramError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Syslog(#[from] SyslogError),
    #[error("{output} output: cannot start its worker thread: {source}")]
    Thread { output: OutputKind, source: std::io::Error },
}

impl OutputError {
    /// The output that could not start, if the error is one output's.
    pub fn output(&self) -> Option<OutputKind> {
        match self {
            OutputError::ZeroCapacity => None,
            OutputError::File(_) => Some(OutputKind::File),
            OutputError::Program(_) => Some(OutputKind::Program),
            OutputError::Http(_) => Some(OutputKind::Http),
            OutputError::Syslog(_) => Some(OutputKind::Syslog),
            OutputError::Thread { output, .. } => Some(*output),
        }
    }
}
