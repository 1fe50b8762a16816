//! The server: one small tokio runtime on its own threads ([`RUNTIME_THREADS`]), one accept task
//! per listener, one task per connection served by hyper (HTTP/1.1) under the connection's
//! [`Clock`]. The daemon's event loop stays synchronous and never waits for it.

use std::convert::Infallible;
use std::future::Future;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use palisade_metrics::Metrics;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio_rustls::TlsAcceptor;

use crate::budget::Budget;
use crate::clock::{Clock, Clocked};
use crate::limits::{Limits, RUNTIME_NICE, RUNTIME_THREADS};
use crate::routes::{self, Context, Routes};
use crate::slots::{Slot, Slots};

/// One address the server listens on, and what it serves there.
#[derive(Clone)]
pub struct Listener {
    /// For logs: `webserver`, `k8s_audit`, or both joined by `+`.
    pub name: String,
    pub address: String,
    /// 0 picks a free port ([`Server::local_addrs`] tells which).
    pub port: u16,
    /// Serve HTTPS with this configuration.
    pub tls: Option<Arc<ServerConfig>>,
    pub routes: Routes,
}

impl Listener {
    fn display_addr(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot listen on {addr} ({name})")]
    Bind {
        addr: String,
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the web server's runtime")]
    Runtime(#[source] std::io::Error),
}

/// A running server; [`Server::stop`] (or dropping it) closes every listener and connection.
pub struct Server {
    runtime: Option<Runtime>,
    addrs: Vec<SocketAddr>,
}

/// How long [`Server::stop`] lets connection tasks end before abandoning them.
const STOP_GRACE: Duration = Duration::from_millis(500);
/// Back-off after a failed accept (`EMFILE` and the like), rather than spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

impl Server {
    /// Binds every listener (an address in use is an error naming it) and serves them.
    pub fn start(listeners: Vec<Listener>, limits: Limits, metrics: Arc<Metrics>) -> Result<Server, WebError> {
        let mut bound = Vec::with_capacity(listeners.len());
        for listener in listeners {
            let addr = listener.display_addr();
            let socket = StdListener::bind((listener.address.as_str(), listener.port))
                .and_then(|s| s.set_nonblocking(true).map(|()| s))
                .and_then(|s| s.local_addr().map(|a| (s, a)));
            let (socket, local) = socket.map_err(|source| WebError::Bind { addr, name: listener.name.clone(), source })?;
            bound.push((listener, socket, local));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(RUNTIME_THREADS)
            .thread_name("palisade-web")
            .on_thread_start(|| {
                // Per thread on Linux: the event loop keeps its priority.
                if let Err(error) = rustix::process::nice(RUNTIME_NICE) {
                    tracing::warn!(%error, "cannot lower the web server's priority");
                }
            })
            .enable_io()
            .enable_time()
            .build()
            .map_err(WebError::Runtime)?;
        let budget = Budget::new(limits.max_buffered_body_bytes);
        let mut addrs = Vec::with_capacity(bound.len());
        for (listener, socket, local) in bound {
            let _entered = runtime.enter();
            let socket = TcpListener::from_std(socket).map_err(|source| WebError::Bind {
                addr: local.to_string(),
                name: listener.name.clone(),
                source,
            })?;
            tracing::info!(
                addr = %local,
                name = %listener.name,
                tls = listener.tls.is_some(),
                healthz = listener.routes.healthz,
                metrics = listener.routes.metrics.is_some(),
                webhook = listener.routes.webhook.as_ref().map(|w| w.path.as_str()),
                "web server listening"
            );
            let shared = Arc::new(Shared {
                slots: Slots::new(limits.max_connections, limits.max_connections_per_client),
                tls: listener.tls.map(TlsAcceptor::from),
                routes: listener.routes,
                limits,
                budget: Arc::clone(&budget),
                metrics: Arc::clone(&metrics),
            });
            runtime.spawn(accept(socket, local, shared));
            addrs.push(local);
        }
        Ok(Server { runtime: Some(runtime), addrs })
    }

    /// The bound addresses, in the order of the listeners given to [`Server::start`].
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stops listening and ends every connection.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(STOP_GRACE);
        }
    }
}

/// What every connection of one listener shares.
struct Shared {
    slots: Arc<Slots>,
    tls: Option<TlsAcceptor>,
    routes: Routes,
    limits: Limits,
    budget: Arc<Budget>,
    metrics: Arc<Metrics>,
}

async fn accept(socket: TcpListener, local: SocketAddr, shared: Arc<Shared>) {
    loop {
        let (stream, peer) = match socket.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(addr = %local, %error, "web server cannot accept");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        match shared.slots.take(peer.ip()) {
            Ok(slot) => {
                tokio::spawn(connection(stream, peer, slot, Arc::clone(&shared)));
            }
            Err(refusal) => {
                // Closed unanswered: answering costs the same as serving.
                shared.metrics.web_connection_refused(refusal.label());
                tracing::debug!(addr = %local, %peer, reason = refusal.label(), "connection refused");
            }
        }
    }
}

/// Runs `work` until it ends or the clock's deadline passes (`None`, counted before `work` and
/// its connection are dropped). The deadline is read again whenever the clock's phase changes.
async fn until_deadline<F: Future>(clock: &Clock, metrics: &Metrics, work: F) -> Option<F::Output> {
    tokio::pin!(work);
    loop {
        let deadline = clock.deadline();
        tokio::select! {
            out = &mut work => return Some(out),
            () = clock.changed() => {}
            () = tokio::time::sleep_until(deadline) => {
                if clock.deadline() <= tokio::time::Instant::now() {
                    metrics.web_deadline_closed(clock.phase_name());
                    return None;
                }
            }
        }
    }
}

async fn connection(stream: TcpStream, peer: SocketAddr, slot: Slot, shared: Arc<Shared>) {
    let _slot = slot;
    let _ = stream.set_nodelay(true);
    let clock = Clock::new(shared.limits);
    let io = Clocked::new(stream, Arc::clone(&clock));
    let served = until_deadline(&clock, &shared.metrics, async {
        match &shared.tls {
            None => serve(io, false, &clock, &shared).await,
            Some(acceptor) => match acceptor.accept(io).await {
                Ok(tls) => {
                    let client_cert = tls.get_ref().1.peer_certificates().is_some_and(|c| !c.is_empty());
                    serve(tls, client_cert, &clock, &shared).await
                }
                Err(error) => tracing::debug!(%peer, %error, "TLS handshake failed"),
            },
        }
    })
    .await;
    if served.is_none() {
        tracing::debug!(%peer, phase = clock.phase_name(), "connection closed at its deadline");
    }
}

async fn serve<S>(io: S, client_cert: bool, clock: &Arc<Clock>, shared: &Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cx = Arc::new(Context {
        routes: shared.routes.clone(),
        limits: shared.limits,
        budget: Arc::clone(&shared.budget),
        metrics: Arc::clone(&shared.metrics),
        client_cert,
    });
    let clock = Arc::clone(clock);
    let service = service_fn(move |request| {
        let (cx, clock) = (Arc::clone(&cx), Arc::clone(&clock));
        async move {
            clock.handling();
            let response = routes::handle(request, &cx).await;
            clock.handled();
            Ok::<_, Infallible>(response)
        }
    });
    let served = http1::Builder::new()
        // hyper buffers at most this much of a head and answers 431 beyond it.
        .max_buf_size(shared.limits.max_header_bytes.max(8192))
        .max_headers(shared.limits.max_headers)
        // Our clock times heads, requests and idle connections; hyper's own header timer would
        // also run while a keep-alive connection is idle.
        .header_read_timeout(None)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service)
        .await;
    if let Err(error) = served {
        tracing::debug!(%error, "connection ended with an error");
    }
}
