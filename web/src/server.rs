//! The server: one small tokio runtime on its own threads ([`RUNTIME_THREADS`]), one accept task
//! per listener, one task per connection served by hyper (HTTP/1.1) under the connection's
//! [`Clock`]. The daemon's event loop stays synchronous and never waits for it.

use std::convert::Infallible;
use std::future::Future;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use palisade_metrics::Metrics;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
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
///
/// Its listeners can be replaced while it runs ([`Server::prepare`], then [`Server::apply`]):
/// the reload of the daemon's web settings.
pub struct Server {
    runtime: Option<Runtime>,
    limits: Limits,
    budget: Arc<Budget>,
    metrics: Arc<Metrics>,
    running: Vec<Running>,
}

/// One listener being served.
struct Running {
    name: String,
    /// As configured (port 0 included): what [`Server::prepare`] matches a new listener on.
    address: String,
    port: u16,
    local: SocketAddr,
    /// What new connections get; an update swaps it, the socket stays.
    current: Arc<RwLock<Arc<Shared>>>,
    accept: JoinHandle<()>,
}

/// New listeners bound by [`Server::prepare`], not serving yet. Dropped unused, their sockets
/// close and the running server is untouched. Invariant: it is applied to the server that
/// prepared it, before any other `apply` (a kept listener is named by its index in `running`).
pub struct Prepared {
    listeners: Vec<(Listener, Binding)>,
}

enum Binding {
    /// A running listener has this address and port: its socket stays, its settings change.
    Kept(usize),
    New(TcpListener, SocketAddr),
}

impl Prepared {
    /// The addresses the new listeners were bound to (none for kept ones).
    pub fn new_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(_, b)| match b {
                Binding::New(_, local) => Some(*local),
                Binding::Kept(_) => None,
            })
            .collect()
    }
}

/// How long [`Server::stop`] lets connection tasks end before abandoning them.
const STOP_GRACE: Duration = Duration::from_millis(500);
/// Back-off after a failed accept (`EMFILE` and the like), rather than spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

fn bind(listener: &Listener) -> Result<(StdListener, SocketAddr), WebError> {
    let socket = StdListener::bind((listener.address.as_str(), listener.port))
        .and_then(|s| s.set_nonblocking(true).map(|()| s))
        .and_then(|s| s.local_addr().map(|a| (s, a)));
    socket.map_err(|source| WebError::Bind { addr: listener.display_addr(), name: listener.name.clone(), source })
}

impl Server {
    /// Binds every listener (an address in use is an error naming it) and serves them.
    pub fn start(listeners: Vec<Listener>, limits: Limits, metrics: Arc<Metrics>) -> Result<Server, WebError> {
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
        let mut server = Server { runtime: Some(runtime), limits, budget, metrics, running: Vec::new() };
        let prepared = server.prepare(listeners)?;
        server.apply(prepared);
        Ok(server)
    }

    /// The bound addresses, in the order of the listeners given to [`Server::start`] (or to
    /// the last [`Server::apply`]).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.running.iter().map(|r| r.local).collect()
    }

    /// First half of a replacement of the listeners by `listeners`: binds those whose address
    /// and port no running listener has. Nothing running changes, so an error (an address in
    /// use, named) leaves the server serving as it was.
    pub fn prepare(&self, listeners: Vec<Listener>) -> Result<Prepared, WebError> {
        let _entered = self.runtime.as_ref().map(Runtime::enter);
        let mut out = Vec::with_capacity(listeners.len());
        for listener in listeners {
            let kept = self.running.iter().position(|r| r.address == listener.address && r.port == listener.port);
            let binding = match kept {
                Some(i) => Binding::Kept(i),
                None => {
                    let (socket, local) = bind(&listener)?;
                    let socket = TcpListener::from_std(socket).map_err(|source| WebError::Bind {
                        addr: local.to_string(),
                        name: listener.name.clone(),
                        source,
                    })?;
                    Binding::New(socket, local)
                }
            };
            out.push((listener, binding));
        }
        Ok(Prepared { listeners: out })
    }

    /// Second half: serves `prepared`'s listeners and stops the others. A kept listener's
    /// socket stays open (no gap for its clients) and new connections get the new settings;
    /// the connections of replaced settings and of stopped listeners finish the request in
    /// flight, within its deadline, and close (hyper's graceful shutdown).
    pub fn apply(&mut self, prepared: Prepared) {
        let Some(runtime) = &self.runtime else { return };
        let _entered = runtime.enter();
        let mut old: Vec<Option<Running>> = std::mem::take(&mut self.running).into_iter().map(Some).collect();
        for (listener, binding) in prepared.listeners {
            let fresh = |slots: Arc<Slots>| {
                Arc::new(Shared {
                    slots,
                    tls: listener.tls.clone().map(TlsAcceptor::from),
                    routes: listener.routes.clone(),
                    limits: self.limits,
                    budget: Arc::clone(&self.budget),
                    metrics: Arc::clone(&self.metrics),
                    closing: watch::Sender::new(false),
                })
            };
            let running = match binding {
                Binding::Kept(i) => {
                    let Some(mut running) = old.get_mut(i).and_then(Option::take) else { continue };
                    let shared = {
                        let mut current = running.current.write().unwrap_or_else(PoisonError::into_inner);
                        let shared = fresh(Arc::clone(&current.slots));
                        std::mem::replace(&mut *current, shared)
                    };
                    shared.closing.send_replace(true);
                    running.name = listener.name.clone();
                    running
                }
                Binding::New(socket, local) => {
                    let shared = fresh(Slots::new(self.limits.max_connections, self.limits.max_connections_per_client));
                    let current = Arc::new(RwLock::new(shared));
                    let accept = runtime.spawn(accept(socket, local, Arc::clone(&current)));
                    Running { name: listener.name.clone(), address: listener.address.clone(), port: listener.port, local, current, accept }
                }
            };
            tracing::info!(
                addr = %running.local,
                name = %listener.name,
                tls = listener.tls.is_some(),
                healthz = listener.routes.healthz.as_deref(),
                metrics = listener.routes.metrics.is_some(),
                webhook = listener.routes.webhook.as_ref().map(|w| w.path.as_str()),
                "web server listening"
            );
            self.running.push(running);
        }
        for stopped in old.into_iter().flatten() {
            // The accept task owns the socket: aborted, it closes it.
            stopped.accept.abort();
            stopped.current.read().unwrap_or_else(PoisonError::into_inner).closing.send_replace(true);
            tracing::info!(addr = %stopped.local, name = %stopped.name, "web server stopped listening");
        }
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

/// What every connection of one listener's settings shares.
struct Shared {
    slots: Arc<Slots>,
    tls: Option<TlsAcceptor>,
    routes: Routes,
    limits: Limits,
    budget: Arc<Budget>,
    metrics: Arc<Metrics>,
    /// Set when these settings are replaced or the listener stops: its connections finish
    /// the request in flight and close.
    closing: watch::Sender<bool>,
}

async fn accept(socket: TcpListener, local: SocketAddr, current: Arc<RwLock<Arc<Shared>>>) {
    loop {
        let (stream, peer) = match socket.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(addr = %local, %error, "web server cannot accept");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let shared = Arc::clone(&current.read().unwrap_or_else(PoisonError::into_inner));
        match shared.slots.take(peer.ip()) {
            Ok(slot) => {
                tokio::spawn(connection(stream, peer, slot, shared));
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
    let began = Arc::new(Notify::new());
    let begins = Arc::clone(&began);
    let service = service_fn(move |request| {
        let (cx, clock) = (Arc::clone(&cx), Arc::clone(&clock));
        begins.notify_one();
        async move {
            clock.handling();
            let response = routes::handle(request, &cx).await;
            clock.handled();
            Ok::<_, Infallible>(response)
        }
    });
    let mut closing = shared.closing.subscribe();
    let connection = http1::Builder::new()
        // hyper buffers at most this much of a head and answers 431 beyond it.
        .max_buf_size(shared.limits.max_header_bytes.max(8192))
        .max_headers(shared.limits.max_headers)
        // Our clock times heads, requests and idle connections; hyper's own header timer would
        // also run while a keep-alive connection is idle.
        .header_read_timeout(None)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = async { drop(closing.wait_for(|closing| *closing).await) } => {
            // Replaced settings or a stopped listener: once the connection has begun a request
            // (a stored permit when it did before), hyper answers the request in flight (its
            // deadline still runs) and closes, and an idle keep-alive connection closes now. One
            // accepted just before, with no request yet, gets its first request answered.
            tokio::select! {
                served = connection.as_mut() => served,
                () = began.notified() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            }
        }
    };
    if let Err(error) = served {
        tracing::debug!(%error, "connection ended with an error");
    }
}
