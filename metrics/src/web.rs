//! The daemon's web server: Falco's `webserver` (`/healthz`, and `/metrics` when
//! `prometheus_metrics_enabled`).
//!
//! Falco binds `0.0.0.0:8765` by default, so this port is reachable by anything on the node's
//! network and its resource use must not depend on the client. It is plain blocking std I/O with
//! fixed bounds: one accept thread, [`WORKERS`] worker threads behind a queue of [`QUEUE`]
//! connections (further connections are closed at once), one request per connection
//! (`Connection: close`), a request head of at most [`MAX_REQUEST_HEAD`] bytes parsed by `httparse`,
//! and [`REQUEST_DEADLINE`] for a request to arrive and its response to leave. A slow or hostile
//! client can delay a scrape by that deadline; it cannot grow the daemon's threads, file descriptors
//! or memory. (tiny_http 0.12, the usual small choice, spawns a thread per connection without
//! timeouts, reads header lines without a length limit, and its accept thread panics on `EMFILE`.)

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use parking_lot::Mutex;

use crate::metrics::{Metrics, OPENMETRICS_CONTENT_TYPE};

/// Threads serving requests.
pub const WORKERS: usize = 2;
/// Accepted connections waiting for a worker; beyond this they are closed unanswered.
pub const QUEUE: usize = 32;
/// Largest request line plus headers read; a larger one is answered 431.
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// Time for one request to arrive and its response to be written.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// How often blocked threads look at the stop flag, which bounds [`WebServer::stop`]'s wait.
const POLL_INTERVAL_MS: u16 = 100;
const POLL_INTERVAL: Duration = Duration::from_millis(POLL_INTERVAL_MS as u64);
const MAX_HEADERS: usize = 32;

/// Falco's `/healthz` body.
pub const HEALTHZ_BODY: &str = r#"{"status": "ok"}"#;

/// Falco's `webserver` settings this server honours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSettings {
    /// Address to bind; default `0.0.0.0` (Falco's). A host name is resolved.
    pub listen_address: String,
    /// Port to bind; default 8765 (Falco's); 0 picks a free one.
    pub listen_port: u16,
    /// Serve `/metrics`; default false (Falco's).
    pub prometheus_metrics_enabled: bool,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            listen_address: "0.0.0.0".to_owned(),
            listen_port: 8765,
            prometheus_metrics_enabled: false,
        }
    }
}

impl WebSettings {
    /// `address:port`, with brackets around an IPv6 address.
    fn display_addr(&self) -> String {
        if self.listen_address.contains(':') {
            format!("[{}]:{}", self.listen_address, self.listen_port)
        } else {
            format!("{}:{}", self.listen_address, self.listen_port)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot start the web server on {addr}")]
    Start {
        addr: String,
        #[source]
        source: io::Error,
    },
}

/// A running web server; [`WebServer::stop`] (or dropping it) shuts it down.
pub struct WebServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl WebServer {
    /// Binds `settings`' address and serves on background threads: `GET /healthz` → 200 with
    /// [`HEALTHZ_BODY`] (`application/json`); `GET /metrics` → [`Metrics::encode`] with
    /// [`OPENMETRICS_CONTENT_TYPE`] when `prometheus_metrics_enabled`, else 404; any other path →
    /// 404; any other method → 405.
    pub fn start(settings: &WebSettings, metrics: Arc<Metrics>) -> Result<WebServer, WebError> {
        let display = settings.display_addr();
        let bound = TcpListener::bind((settings.listen_address.as_str(), settings.listen_port))
            .and_then(|listener| {
                listener.set_nonblocking(true)?;
                let addr = listener.local_addr()?;
                Ok((listener, addr))
            });
        let (listener, addr) = bound.map_err(|source| WebError::Bind {
            addr: display.clone(),
            source,
        })?;
        let mut server = WebServer {
            addr,
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::with_capacity(WORKERS + 1),
        };
        let routes = Arc::new(Routes {
            metrics,
            metrics_enabled: settings.prometheus_metrics_enabled,
        });
        let (queue, waiting) = sync_channel::<Accepted>(QUEUE);
        let waiting = Arc::new(Mutex::new(waiting));
        let spawned = (0..WORKERS)
            .try_for_each(|n| {
                let (waiting, routes, stop) =
                    (waiting.clone(), routes.clone(), server.stop.clone());
                let worker = thread::Builder::new()
                    .name(format!("palisade-web-{n}"))
                    .spawn(move || serve_connections(&waiting, &routes, &stop))?;
                server.threads.push(worker);
                Ok(())
            })
            .and_then(|()| {
                let stop = server.stop.clone();
                let acceptor = thread::Builder::new()
                    .name("palisade-web".to_owned())
                    .spawn(move || accept_connections(&listener, &queue, &stop, addr))?;
                server.threads.push(acceptor);
                Ok(())
            });
        // On failure the queue's sender is gone (never moved into an acceptor, or dropped with the
        // closure that failed to spawn), so dropping `server` joins workers that are already
        // leaving.
        spawned.map_err(|source| WebError::Start {
            addr: addr.to_string(),
            source,
        })?;
        tracing::info!(%addr, metrics = settings.prometheus_metrics_enabled, "web server listening");
        Ok(server)
    }

    /// The bound address (the port the system picked when `listen_port` was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, abandons requests in progress and joins the threads (within about
    /// 100 ms plus the time to finish writing one buffer).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!(addr = %self.addr, "a web server thread panicked");
            }
        }
    }
}

/// A connection and its deadline, which runs from the accept so that time spent queued counts:
/// a burst of idle clients is gone after one [`REQUEST_DEADLINE`], not one per worker round.
struct Accepted {
    stream: TcpStream,
    deadline: Instant,
}

fn accept_connections(
    listener: &TcpListener,
    queue: &SyncSender<Accepted>,
    stop: &AtomicBool,
    addr: SocketAddr,
) {
    let timeout = PollTimeout::from(POLL_INTERVAL_MS);
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%addr, %error, "web server cannot poll its socket");
                thread::sleep(POLL_INTERVAL);
                continue;
            }
        }
        match listener.accept() {
            Ok((stream, peer)) => match queue.try_send(Accepted {
                stream,
                deadline: Instant::now() + REQUEST_DEADLINE,
            }) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    tracing::debug!(%addr, %peer, "web server busy, connection closed");
                }
                Err(TrySendError::Disconnected(_)) => return,
            },
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => {
                // EMFILE and the like: back off rather than spin or give up.
                tracing::warn!(%addr, %error, "web server cannot accept");
                thread::sleep(POLL_INTERVAL);
            }
        }
    }
}

fn serve_connections(waiting: &Mutex<Receiver<Accepted>>, routes: &Routes, stop: &AtomicBool) {
    loop {
        // Wait with a timeout so that a worker holding the lock notices `stop` even if the acceptor
        // is still alive; the acceptor's exit disconnects the queue as well.
        let next = waiting.lock().recv_timeout(POLL_INTERVAL);
        match next {
            Ok(accepted) => {
                if let Err(error) = serve(accepted, routes, stop) {
                    tracing::debug!(%error, "web request abandoned");
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

struct Routes {
    metrics: Arc<Metrics>,
    metrics_enabled: bool,
}

struct Response {
    status: &'static str,
    content_type: &'static str,
    allow_get: bool,
    body: String,
}

impl Response {
    fn new(status: &'static str, content_type: &'static str, body: impl Into<String>) -> Self {
        Response {
            status,
            content_type,
            allow_get: false,
            body: body.into(),
        }
    }

    fn text(status: &'static str, body: &str) -> Self {
        Response::new(status, "text/plain; charset=utf-8", format!("{body}\n"))
    }

    fn to_bytes(&self) -> Vec<u8> {
        let allow = if self.allow_get { "Allow: GET\r\n" } else { "" };
        let head = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n",
            self.status,
            self.content_type,
            self.body.len()
        );
        let mut bytes = Vec::with_capacity(head.len() + self.body.len());
        bytes.extend_from_slice(head.as_bytes());
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}

impl Routes {
    fn respond(&self, method: &str, target: &str) -> Response {
        if method != "GET" {
            let mut response = Response::text("405 Method Not Allowed", "method not allowed");
            response.allow_get = true;
            return response;
        }
        let path = target.split_once('?').map_or(target, |(path, _)| path);
        match path {
            "/healthz" => Response::new("200 OK", "application/json", HEALTHZ_BODY),
            "/metrics" if self.metrics_enabled => {
                Response::new("200 OK", OPENMETRICS_CONTENT_TYPE, self.metrics.encode())
            }
            _ => Response::text("404 Not Found", "not found"),
        }
    }
}

/// Reads one request head, writes the response and closes the connection.
fn serve(accepted: Accepted, routes: &Routes, stop: &AtomicBool) -> io::Result<()> {
    let Accepted {
        mut stream,
        deadline,
    } = accepted;
    keep_going(stop, deadline)?;
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(POLL_INTERVAL))?;
    stream.set_write_timeout(Some(POLL_INTERVAL))?;
    let mut head = vec![0u8; MAX_REQUEST_HEAD];
    let mut len = 0;
    let response = loop {
        if len == head.len() {
            break Response::text(
                "431 Request Header Fields Too Large",
                "request head too large",
            );
        }
        match stream.read(&mut head[len..]) {
            Ok(0) => return Ok(()),
            Ok(n) => len += n,
            Err(error) if is_timeout(&error) => {
                keep_going(stop, deadline)?;
                continue;
            }
            Err(error) => return Err(error),
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head[..len]) {
            Ok(httparse::Status::Complete(_)) => {
                break routes.respond(
                    request.method.unwrap_or_default(),
                    request.path.unwrap_or_default(),
                )
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                break Response::text("431 Request Header Fields Too Large", "too many headers")
            }
            Err(_) => break Response::text("400 Bad Request", "bad request"),
        }
    };
    write_all(&mut stream, &response.to_bytes(), stop, deadline)?;
    // Close gracefully: a close with unread input (a request body we did not want) makes the
    // kernel send RST, which can destroy the response before the client reads it.
    stream.shutdown(Shutdown::Write)?;
    let linger = Instant::now() + POLL_INTERVAL * 2;
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while Instant::now() < linger.min(deadline) && drained < 64 * 1024 {
        match stream.read(&mut sink) {
            Ok(0) => break,
            Ok(n) => drained += n,
            Err(error) if is_timeout(&error) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

fn write_all(
    stream: &mut TcpStream,
    mut bytes: &[u8],
    stop: &AtomicBool,
    deadline: Instant,
) -> io::Result<()> {
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(error) if is_timeout(&error) => keep_going(stop, deadline)?,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Errors out when the server stops or the request's deadline has passed.
fn keep_going(stop: &AtomicBool, deadline: Instant) -> io::Result<()> {
    if stop.load(Ordering::Relaxed) {
        return Err(io::Error::other("web server stopping"));
    }
    if Instant::now() >= deadline {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "request deadline passed",
        ));
    }
    Ok(())
}
