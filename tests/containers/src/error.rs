//! The one error type of the test bed: every variant says what failed and carries the evidence
//! (a command's stderr, the tail of containerd's log, a gRPC status message).

use std::path::PathBuf;
use std::time::Duration;

/// What went wrong in the test bed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A command ran and failed.
    #[error("{what} failed ({status})\nstderr: {stderr}\nstdout: {stdout}")]
    Command {
        /// The command line.
        what: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed on stderr.
        stderr: String,
        /// What it printed on stdout.
        stdout: String,
    },
    /// A command or a wait did not finish in time.
    #[error("{what}: timed out after {after:?}{detail}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long we waited.
        after: Duration,
        /// Extra evidence (output so far, log tail), empty or starting with a newline.
        detail: String,
    },
    /// containerd itself failed (did not start, exited, did not stop).
    #[error("containerd ({dir}): {what}\n--- containerd log tail ---\n{log_tail}")]
    Containerd {
        /// Its private directory.
        dir: PathBuf,
        /// What failed.
        what: String,
        /// The last lines of its log.
        log_tail: String,
    },
    /// A required program or file is missing.
    #[error("missing {what}: {hint}")]
    Missing {
        /// What is missing.
        what: String,
        /// How to get it.
        hint: String,
    },
    /// A CRI call failed; `message` is the gRPC status message (e.g. an NRI plugin's refusal).
    #[error("CRI {rpc}: {code:?}: {message}")]
    Cri {
        /// The RPC name (`CreateContainer`).
        rpc: &'static str,
        /// The gRPC status code.
        code: tonic::Code,
        /// The gRPC status message.
        message: String,
    },
    /// The CRI connection could not be set up.
    #[error("CRI connect {socket}: {message}")]
    CriConnect {
        /// The socket path.
        socket: PathBuf,
        /// Why.
        message: String,
    },
    /// Unexpected data (JSON, image spec).
    #[error("{0}")]
    Invalid(String),
}

/// The test bed's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] with `what` as context.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io { what: what.into(), source }
    }
}
