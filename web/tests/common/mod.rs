//! Helpers of the server tests: a raw HTTP/1.1 client over std sockets (the server's parser is
//! hyper; the client is deliberately dumb so a test controls every byte), a recording webhook
//! handler, and a test PKI.

#![allow(dead_code, reason = "each test file uses part of the helpers")]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use palisade_metrics::Metrics;
use palisade_web::{Answer, Busy, Limits, Listener, Reply, Routes, Server, Webhook, WebhookBody, WebhookHandler};

pub(crate) struct Answered {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answered {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Parses one response from `raw` (Content-Length bodies).
pub(crate) fn parse(raw: &[u8]) -> Answered {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no response head in {text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{status_line}"));
    let headers = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
        .collect();
    Answered { status, headers, body: body.to_owned() }
}

/// Sends `request` on a new connection from the default address and reads until close.
pub(crate) fn exchange(addr: SocketAddr, request: &[u8]) -> Answered {
    let mut stream = TcpStream::connect(addr).expect("connect");
    exchange_on(&mut stream, request)
}

pub(crate) fn exchange_on(stream: &mut TcpStream, request: &[u8]) -> Answered {
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    stream.write_all(request).expect("send request");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse(&raw)
}

pub(crate) fn get(addr: SocketAddr, path: &str) -> Answered {
    exchange(addr, format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes())
}

pub(crate) fn post_request(path: &str, body: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n{extra_headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub(crate) fn post(addr: SocketAddr, path: &str, body: &str) -> Answered {
    exchange(addr, &post_request(path, body, ""))
}

/// A connection to `addr` from the local address `from` (e.g. 127.0.0.2: another client).
pub(crate) fn connect_from(from: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.bind(&SocketAddr::new(from, 0).into()).expect("bind the client address");
    socket.connect(&addr.into()).expect("connect");
    socket.into()
}

/// A webhook handler that records the bodies and answers at once: 200 for a body starting with
/// `{`, 400 otherwise; `busy` makes it refuse every body (a full queue).
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) bodies: Mutex<Vec<Vec<u8>>>,
    pub(crate) busy: bool,
}

impl WebhookHandler for Recorder {
    fn submit(&self, body: WebhookBody, reply: Reply) -> Result<(), Busy> {
        if self.busy {
            return Err(Busy);
        }
        let answer = if body.starts_with(b"{") { Answer::Accepted } else { Answer::Invalid };
        self.bodies.lock().expect("bodies").push(body.to_vec());
        reply.send(answer);
        Ok(())
    }
}

pub(crate) fn webhook(handler: Arc<Recorder>) -> Webhook {
    Webhook { path: "/k8s-audit".into(), bearer_token: None, require_client_cert: false, handler }
}

/// A server with one plain listener on 127.0.0.1 (any free port) serving `routes`.
pub(crate) fn serve(routes: Routes, limits: Limits) -> (Server, SocketAddr, Arc<Metrics>) {
    let metrics = Metrics::new();
    let listener = Listener { name: "test".into(), address: "127.0.0.1".into(), port: 0, tls: None, routes };
    let server = Server::start(vec![listener], limits, Arc::clone(&metrics)).expect("server starts");
    let addr = server.local_addrs()[0];
    (server, addr, metrics)
}

/// Every route: /healthz, /metrics and the webhook with `handler`.
pub(crate) fn all_routes(metrics: Option<Arc<Metrics>>, handler: Arc<Recorder>) -> Routes {
    Routes { healthz: Some(palisade_web::HEALTHZ_PATH.into()), metrics, webhook: Some(webhook(handler)) }
}

/// The value of the sample line `name{labels}` in an exposition.
pub(crate) fn sample(metrics: &Metrics, line_start: &str) -> Option<f64> {
    metrics
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(line_start).and_then(|rest| rest.trim().parse().ok()))
}
