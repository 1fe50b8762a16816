//! The per-connection clock: one deadline for whatever the connection is doing, enforced by a
//! watchdog that closes the connection when it passes.
//!
//! A connection is idle (waiting for the first byte of a request), reading a head (from that
//! first byte), or handling a request (from the same first byte until the handler returned its
//! response). The deadlines run from the phase's start — never reset by a read — so a client
//! sending one byte every few seconds is closed after [`Limits::header_read_timeout`] or
//! [`Limits::request_deadline`], not kept alive forever (the hand-written servers this replaced
//! timed each read). [`Clocked`] sees the bytes arrive; the service marks start and end of
//! handling.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::limits::Limits;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle { since: Instant },
    Head { started: Instant },
    Handling { started: Instant },
}

/// What a connection is doing and since when.
#[derive(Debug)]
pub(crate) struct Clock {
    phase: Mutex<Phase>,
    limits: Limits,
    /// Wakes the watchdog when the phase (so the deadline) changes.
    changed: Notify,
}

impl Clock {
    pub(crate) fn new(limits: Limits) -> Arc<Clock> {
        Arc::new(Clock { phase: Mutex::new(Phase::Idle { since: Instant::now() }), limits, changed: Notify::new() })
    }

    fn with<R>(&self, f: impl FnOnce(&mut Phase) -> R) -> R {
        f(&mut self.phase.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Sets the phase and wakes the watchdog if it changed.
    fn set(&self, next: impl FnOnce(Phase) -> Phase) {
        let changed = self.with(|phase| {
            let new = next(*phase);
            let changed = new != *phase;
            *phase = new;
            changed
        });
        if changed {
            self.changed.notify_one();
        }
    }

    /// Resolves when the phase changes (or changed since the last call).
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Bytes arrived: an idle connection starts a request.
    fn bytes_arrived(&self) {
        self.set(|phase| match phase {
            Phase::Idle { .. } => Phase::Head { started: Instant::now() },
            other => other,
        });
    }

    /// The head is complete and the handler runs (a pipelined request whose bytes were already
    /// buffered starts now).
    pub(crate) fn handling(&self) {
        self.set(|phase| match phase {
            Phase::Idle { .. } => Phase::Handling { started: Instant::now() },
            Phase::Head { started } | Phase::Handling { started } => Phase::Handling { started },
        });
    }

    /// The handler returned its response: the connection is idle again.
    pub(crate) fn handled(&self) {
        self.set(|_| Phase::Idle { since: Instant::now() });
    }

    /// When the connection must be closed unless its phase changes first.
    pub(crate) fn deadline(&self) -> Instant {
        self.with(|phase| match *phase {
            Phase::Idle { since } => since + self.limits.keepalive_idle,
            Phase::Head { started } => started + self.limits.header_read_timeout,
            Phase::Handling { started } => started + self.limits.request_deadline,
        })
    }

    /// The phase's name, for the log line of a closed connection.
    pub(crate) fn phase_name(&self) -> &'static str {
        self.with(|phase| match phase {
            Phase::Idle { .. } => "idle",
            Phase::Head { .. } => "head",
            Phase::Handling { .. } => "request",
        })
    }
}

/// A byte stream that tells its [`Clock`] when bytes arrive. It sits under TLS, so a slow
/// handshake counts against the deadline too.
pub(crate) struct Clocked<S> {
    inner: S,
    clock: Arc<Clock>,
}

impl<S> Clocked<S> {
    pub(crate) fn new(inner: S, clock: Arc<Clock>) -> Self {
        Clocked { inner, clock }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Clocked<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.bytes_arrived();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Clocked<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
