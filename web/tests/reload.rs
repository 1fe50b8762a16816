//! Replacing a running server's listeners (the daemon's reload of its web settings): a kept
//! address keeps its socket and takes the new settings, a stopped listener closes its socket
//! while its request in flight is still answered, and a taken address refuses the replacement
//! with the running listeners untouched.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{get, post, post_request, exchange};
use palisade_metrics::Metrics;
use palisade_web::{Answer, Busy, Limits, Listener, Reply, Routes, Server, Token, WebError, Webhook, WebhookBody, WebhookHandler};

/// Answers every body after a delay, from its own thread: a request in flight meanwhile.
struct Slow(Duration);

impl WebhookHandler for Slow {
    fn submit(&self, _body: WebhookBody, reply: Reply) -> Result<(), Busy> {
        let delay = self.0;
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            reply.send(Answer::Accepted);
        });
        Ok(())
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn listener(name: &str, port: u16, token: Option<&[u8]>, handler: &Arc<Slow>) -> Listener {
    let webhook = Webhook {
        path: "/k8s-audit".into(),
        bearer_token: token.and_then(Token::from_file_text),
        require_client_cert: false,
        handler: Arc::clone(handler) as Arc<dyn WebhookHandler>,
    };
    let routes = Routes { healthz: Some(palisade_web::HEALTHZ_PATH.into()), metrics: None, webhook: Some(webhook) };
    Listener { name: name.into(), address: "127.0.0.1".into(), port, tls: None, routes }
}

fn refuses_connections(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn replaced_listeners_finish_their_requests_and_kept_ones_keep_their_socket() {
    let slow = Arc::new(Slow(Duration::from_millis(800)));
    let (kept_port, gone_port, new_port) = (free_port(), free_port(), free_port());
    let mut server = Server::start(
        vec![listener("kept", kept_port, None, &slow), listener("gone", gone_port, None, &slow)],
        Limits::default(),
        Metrics::new(),
    )
    .expect("server starts");
    let (kept, gone, new): (SocketAddr, SocketAddr, SocketAddr) =
        (([127, 0, 0, 1], kept_port).into(), ([127, 0, 0, 1], gone_port).into(), ([127, 0, 0, 1], new_port).into());
    // A connection open on the kept socket before the replacement (its accept queue survives).
    let early = TcpStream::connect(kept).expect("connect");
    let in_flight = std::thread::spawn(move || post(gone, "/k8s-audit", "{}").status);
    std::thread::sleep(Duration::from_millis(200));

    // A taken address: refused whole, nothing changes.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken_port = taken.local_addr().expect("addr").port();
    let refused = server.prepare(vec![listener("kept", kept_port, None, &slow), listener("taken", taken_port, None, &slow)]);
    assert!(matches!(refused, Err(WebError::Bind { .. })), "a taken port must refuse the replacement");
    assert_eq!(get(gone, "/healthz").status, 200, "still serving after a refused replacement");

    let prepared = server
        .prepare(vec![listener("kept", kept_port, Some(b"secret\n"), &slow), listener("new", new_port, None, &slow)])
        .expect("prepare");
    assert_eq!(prepared.new_addrs(), [new], "only the new address is bound");
    server.apply(prepared);
    assert_eq!(server.local_addrs(), [kept, new]);

    assert_eq!(in_flight.join().expect("in flight"), 200, "the request in flight on the stopped listener is answered");
    assert!(refuses_connections(gone), "the stopped listener's socket is closed");
    assert_eq!(get(new, "/healthz").status, 200);
    let mut early = early;
    assert_eq!(common::exchange_on(&mut early, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").status, 200);
    assert_eq!(post(kept, "/k8s-audit", "{}").status, 401, "the kept listener requires the new token");
    let authorized = exchange(kept, &post_request("/k8s-audit", "{}", "Authorization: Bearer secret\r\n"));
    assert_eq!(authorized.status, 200);
    drop(taken);
    server.stop();
}
