//! The audit webhook endpoint: `POST /k8s-audit` (path configurable) with an `EventList` or a
//! single `Event` as JSON, as kube-apiserver's `--audit-webhook-config-file` backend sends them.
//!
//! HTTP/1.1 written on std sockets (as the metrics server is) because the needs are narrow and
//! a well-kept blocking server crate that bounds threads, headers and bodies does not exist:
//! keep-alive connections (the API server reuses them), `Content-Length` bodies only (what Go's
//! client sends for its buffered batches; chunked bodies get 411), headers ≤ 16 KiB, bodies ≤
//! [`MAX_BODY`], at most [`MAX_CONNECTIONS`] connections at once (more are answered 503 and
//! closed), a read deadline per request. Answers: 200 when the batch was queued (bad items are
//! counted and logged, the good ones kept), 400 for a body that is not an audit payload, 404
//! and 405 elsewhere, 503 when the event loop is [`QUEUE_WAIT`] behind.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_k8saudit::{parse_payload, AuditEvent};

pub const MAX_CONNECTIONS: usize = 32;
pub const MAX_HEAD: usize = 16 * 1024;
pub const MAX_BODY: usize = 64 * 1024 * 1024;
/// How long a request may take to arrive, and a connection may sit idle between requests.
pub const READ_DEADLINE: Duration = Duration::from_secs(30);
/// How long a batch may wait for room in the event loop's queue before 503.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
#[error("k8s audit endpoint {addr}: {source}")]
pub struct EndpointError {
    addr: String,
    source: std::io::Error,
}

/// Counters of the endpoint.
#[derive(Debug, Default)]
pub struct EndpointStats {
    pub requests: AtomicU64,
    pub events: AtomicU64,
    pub bad_items: AtomicU64,
    pub rejected: AtomicU64,
}

pub struct Endpoint {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub stats: Arc<EndpointStats>,
}

impl Endpoint {
    /// Binds `address:port` and serves `path` on a thread, sending batches to `queue`.
    pub fn start(address: &str, port: u16, path: &str, queue: SyncSender<Vec<AuditEvent>>) -> Result<Endpoint, EndpointError> {
        let addr = format!("{address}:{port}");
        let listener = TcpListener::bind(&addr).map_err(|source| EndpointError { addr: addr.clone(), source })?;
        let local = listener.local_addr().map_err(|source| EndpointError { addr: addr.clone(), source })?;
        listener.set_nonblocking(true).map_err(|source| EndpointError { addr, source })?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(EndpointStats::default());
        let (stop2, stats2, path) = (Arc::clone(&stop), Arc::clone(&stats), path.to_owned());
        let thread = std::thread::spawn(move || accept(listener, &path, &queue, &stop2, &stats2));
        tracing::info!(addr = %local, "k8s audit endpoint listening");
        Ok(Endpoint { addr: local, stop, thread: Some(thread), stats })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept(listener: TcpListener, path: &str, queue: &SyncSender<Vec<AuditEvent>>, stop: &AtomicBool, stats: &Arc<EndpointStats>) {
    let open = Arc::new(AtomicUsize::new(0));
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                if open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
                    let _ = respond(&mut stream, 503, "too many connections", false);
                    continue;
                }
                open.fetch_add(1, Ordering::Relaxed);
                let (open, queue, stats, path) = (Arc::clone(&open), queue.clone(), Arc::clone(stats), path.to_owned());
                std::thread::spawn(move || {
                    let _ = stream.set_nonblocking(false);
                    serve(stream, &path, &queue, &stats);
                    open.fetch_sub(1, Ordering::Relaxed);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                tracing::warn!(error = %e, "k8s audit endpoint: accept failed");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// One connection: requests until the client closes, an error, or `Connection: close`.
fn serve(stream: TcpStream, path: &str, queue: &SyncSender<Vec<AuditEvent>>, stats: &EndpointStats) {
    let _ = stream.set_read_timeout(Some(READ_DEADLINE));
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    loop {
        let head = match read_head(&mut reader) {
            Ok(Some(h)) => h,
            Ok(None) => return,
            Err((code, why)) => {
                let _ = respond(&mut writer, code, why, false);
                return;
            }
        };
        stats.requests.fetch_add(1, Ordering::Relaxed);
        let keep = head.keep_alive;
        let (code, msg) = if head.target.split('?').next() != Some(path) {
            (404, "not found")
        } else if head.method != "POST" {
            (405, "only POST")
        } else if head.chunked {
            (411, "Content-Length required")
        } else if head.length > MAX_BODY {
            (413, "body too large")
        } else {
            let mut body = vec![0; head.length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            deliver(&body, queue, stats)
        };
        if respond(&mut writer, code, msg, keep && code < 500).is_err() || !keep || code >= 500 || code == 413 || code == 411 {
            return;
        }
    }
}

fn deliver(body: &[u8], queue: &SyncSender<Vec<AuditEvent>>, stats: &EndpointStats) -> (u16, &'static str) {
    let (events, errors) = parse_payload(body);
    if events.is_empty() && !errors.is_empty() {
        tracing::warn!(error = %errors[0], "k8s audit endpoint: not an audit payload");
        return (400, "not an audit payload");
    }
    if !errors.is_empty() {
        let before = stats.bad_items.fetch_add(errors.len() as u64, Ordering::Relaxed);
        // The first bad item is logged, then one line per 1000 (the counter has them all).
        if before == 0 || before / 1000 != (before + errors.len() as u64) / 1000 {
            tracing::warn!(bad = errors.len(), total_bad = before + errors.len() as u64, first = %errors[0], "k8s audit endpoint: items that are not audit events were skipped");
        }
    }
    let n = events.len() as u64;
    let deadline = Instant::now() + QUEUE_WAIT;
    let mut batch = events;
    loop {
        match queue.try_send(batch) {
            Ok(()) => {
                stats.events.fetch_add(n, Ordering::Relaxed);
                return (200, "ok");
            }
            Err(TrySendError::Full(b)) if Instant::now() < deadline => {
                batch = b;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => {
                stats.rejected.fetch_add(n, Ordering::Relaxed);
                return (503, "event loop busy");
            }
        }
    }
}

struct Head {
    method: String,
    target: String,
    length: usize,
    chunked: bool,
    keep_alive: bool,
}

/// The request line and headers; `Ok(None)` when the client closed between requests.
fn read_head(reader: &mut BufReader<TcpStream>) -> Result<Option<Head>, (u16, &'static str)> {
    let mut total = 0;
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) | Err(_) => return Ok(None),
        Ok(n) => total += n,
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err((400, "bad request line"));
    };
    let mut head = Head {
        method: method.to_owned(),
        target: target.to_owned(),
        length: 0,
        chunked: false,
        keep_alive: version == "HTTP/1.1",
    };
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => return Err((400, "incomplete headers")),
            Ok(n) => total += n,
        }
        if total > MAX_HEAD {
            return Err((431, "headers too large"));
        }
        let h = h.trim_end();
        if h.is_empty() {
            return Ok(Some(head));
        }
        let Some((name, value)) = h.split_once(':') else { return Err((400, "bad header")) };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => head.length = value.parse().map_err(|_| (400, "bad Content-Length"))?,
            "transfer-encoding" => head.chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" if value.eq_ignore_ascii_case("close") => head.keep_alive = false,
            "connection" if value.eq_ignore_ascii_case("keep-alive") => head.keep_alive = true,
            _ => {}
        }
    }
}

fn respond(w: &mut TcpStream, code: u16, msg: &str, keep_alive: bool) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let body = format!("{msg}\n");
    let connection = if keep_alive { "keep-alive" } else { "close" };
    // One write: with Nagle, a response in pieces waits for the client's delayed ACK.
    let response = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n{body}",
        body.len()
    );
    w.write_all(response.as_bytes())
}
