//! Errors of the containerd client: each names the socket, or the call with its namespace and container.

use std::path::PathBuf;
use std::time::Duration;

use crate::spec::SpecError;

/// What went wrong talking to containerd.
#[derive(Debug, thiserror::Error)]
pub enum ContainerdError {
    /// The socket could not be connected to (missing, refused, not containerd's), or the client's
    /// runtime could not be built.
    #[error("connect to containerd at {}: {source}", socket.display())]
    Connect {
        /// containerd's gRPC socket.
        socket: PathBuf,
        /// The underlying failure (the innermost I/O error when there is one).
        #[source]
        source: std::io::Error,
    },
    /// containerd answered a call with an error status.
    #[error("containerd: {what}: {code:?}: {message}")]
    Rpc {
        /// The call and its subject: `get container "web" in namespace "default"`.
        what: String,
        /// The containerd namespace of the call; `None` for calls outside namespaces.
        namespace: Option<String>,
        /// The gRPC status code.
        code: tonic::Code,
        /// containerd's status message.
        message: String,
    },
    /// A container record's OCI spec could not be decoded.
    #[error("container {namespace}/{id}: {source}")]
    Spec {
        /// The container's namespace.
        namespace: String,
        /// The container id.
        id: String,
        /// What is wrong with the spec.
        #[source]
        source: SpecError,
    },
    /// containerd did not answer (or the socket did not accept) in time.
    #[error("containerd: {what}: no answer within {after:?}")]
    Timeout {
        /// What was attempted: `connect to /run/containerd/containerd.sock`, `list tasks in namespace "k8s.io"`.
        what: String,
        /// The containerd namespace of the call, if any.
        namespace: Option<String>,
        /// The deadline that passed.
        after: Duration,
    },
}

impl ContainerdError {
    /// The gRPC status code, for [`ContainerdError::Rpc`].
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            ContainerdError::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// The innermost `io::Error` in `err`'s source chain, copied; otherwise the whole chain as one message.
pub(crate) fn io_cause(err: &(dyn std::error::Error + 'static)) -> std::io::Error {
    let mut chain = Vec::new();
    let mut innermost_io = None;
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            innermost_io = Some(std::io::Error::new(io.kind(), io.to_string()));
        }
        chain.push(e.to_string());
        cur = e.source();
    }
    innermost_io.unwrap_or_else(|| {
        chain.dedup();
        std::io::Error::other(chain.join(": "))
    })
}
