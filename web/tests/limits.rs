//! Hostile clients: slow ones (slowloris), many from one address, and requests that trickle.
//! Attackers connect from 127.0.0.2 and the legitimate client from 127.0.0.1, as two hosts.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use palisade_web::{Limits, MAX_CONNECTIONS_PER_CLIENT};

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The attack: 60 connections from one address that send a byte now and then. With the
/// hand-written servers 40 of them made every webhook POST 503 and 60 made /healthz fail.
#[test]
fn sixty_slow_connections_from_one_address_leave_healthz_and_the_webhook_to_others() {
    let recorder = Arc::new(Recorder::default());
    let (_server, addr, metrics) = serve(all_routes(None, Arc::clone(&recorder)), Limits::default());
    let mut slow: Vec<_> = (0..60).map(|_| connect_from(ATTACKER, addr)).collect();
    for round in 0..2 {
        for s in &mut slow {
            // A request head that never ends (writes to a connection the server closed fail).
            let _ = s.write_all(if round == 0 { b"P" } else { b"O" });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut from_client = connect_from(CLIENT, addr);
    let health = exchange_on(&mut from_client, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(health.status, 200);
    let mut from_client = connect_from(CLIENT, addr);
    let posted = exchange_on(&mut from_client, &post_request("/k8s-audit", "{\"kind\":\"EventList\"}", ""));
    assert_eq!(posted.status, 200);
    assert_eq!(recorder.bodies.lock().expect("bodies").len(), 1);
    let refused = 60 - MAX_CONNECTIONS_PER_CLIENT;
    assert_eq!(
        sample(&metrics, "palisade_web_connections_refused_total{reason=\"per_client_limit\"}"),
        Some(refused as f64),
        "beyond its {MAX_CONNECTIONS_PER_CLIENT} slots the attacker's connections were closed at accept"
    );
}

/// Reads until the server closes the connection; panics if it stays open 20 s.
fn wait_closed(stream: &mut std::net::TcpStream, mut trickle: impl FnMut(&mut std::net::TcpStream)) -> Vec<u8> {
    stream.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
    let give_up = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        assert!(Instant::now() < give_up, "the server kept a trickling request open for 20 s");
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => trickle(stream),
            Err(_) => return got,
        }
    }
}

/// A byte every 100 ms does not keep a request alive: the head must be complete within
/// `header_read_timeout` of its first byte, the whole request within `request_deadline`,
/// whatever the reads in between (the hand-written servers timed each read).
#[test]
fn a_trickling_request_is_closed_at_its_deadline_not_kept_alive_by_reads() {
    let limits = Limits {
        header_read_timeout: Duration::from_millis(700),
        request_deadline: Duration::from_millis(1500),
        ..Limits::default()
    };
    let recorder = Arc::new(Recorder::default());
    let (_server, addr, metrics) = serve(all_routes(None, Arc::clone(&recorder)), limits);

    let mut head = connect_from(ATTACKER, addr);
    let mut bytes = b"GET /healthz HTTP/1.1\r\nX-Slow: ".iter().cycle();
    let got = wait_closed(&mut head, |s| {
        let _ = s.write_all(&[*bytes.next().unwrap_or(&b'a')]);
    });
    assert!(got.is_empty(), "closed without an answer: {:?}", String::from_utf8_lossy(&got));

    let mut body = connect_from(ATTACKER, addr);
    body.write_all(b"POST /k8s-audit HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n{").expect("head");
    let got = wait_closed(&mut body, |s| {
        let _ = s.write_all(b" ");
    });
    assert!(got.is_empty(), "closed without an answer: {:?}", String::from_utf8_lossy(&got));
    assert!(recorder.bodies.lock().expect("bodies").is_empty(), "no partial body was handed on");
    let text = metrics.encode();
    assert_eq!(sample(&metrics, "palisade_web_deadline_closed_total{phase=\"head\"}"), Some(1.0), "{text}");
    assert_eq!(sample(&metrics, "palisade_web_deadline_closed_total{phase=\"request\"}"), Some(1.0), "{text}");
    assert_eq!(get(addr, "/healthz").status, 200);
}

/// An idle keep-alive connection is closed after `keepalive_idle`; a connection that never
/// sends a byte too.
#[test]
fn idle_connections_are_closed() {
    let limits = Limits { keepalive_idle: Duration::from_millis(500), ..Limits::default() };
    let (_server, addr, metrics) = serve(all_routes(None, Arc::default()), limits);
    let mut silent = connect_from(ATTACKER, addr);
    assert!(wait_closed(&mut silent, |_| {}).is_empty());
    let mut kept = connect_from(ATTACKER, addr);
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").expect("request");
    let got = wait_closed(&mut kept, |_| {});
    assert_eq!(parse(&got).status, 200, "answered, then closed once idle");
    assert_eq!(sample(&metrics, "palisade_web_deadline_closed_total{phase=\"idle\"}"), Some(2.0));
}

/// Beyond `max_connections` in all, connections are closed at accept, and slots come back.
#[test]
fn the_connection_cap_holds_and_frees() {
    let limits = Limits { max_connections: 4, max_connections_per_client: 4, ..Limits::default() };
    let (_server, addr, metrics) = serve(all_routes(None, Arc::default()), limits);
    let held: Vec<_> = (0..4).map(|_| connect_from(ATTACKER, addr)).collect();
    let mut fifth = connect_from(CLIENT, addr);
    assert!(wait_closed(&mut fifth, |_| {}).is_empty(), "the fifth is closed unanswered");
    assert_eq!(sample(&metrics, "palisade_web_connections_refused_total{reason=\"connection_limit\"}"), Some(1.0));
    drop(held);
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = connect_from(CLIENT, addr);
        let mut raw = Vec::new();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").expect("send");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let _ = s.read_to_end(&mut raw);
        if !raw.is_empty() {
            assert_eq!(parse(&raw).status, 200);
            break;
        }
        assert!(Instant::now() < give_up, "slots never came back");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn stop_is_prompt_with_clients_connected() {
    let (server, addr, _) = serve(all_routes(None, Arc::default()), Limits::default());
    let _idle: Vec<_> = (0..8).map(|_| connect_from(ATTACKER, addr)).collect();
    let started = Instant::now();
    server.stop();
    assert!(started.elapsed() < Duration::from_secs(5), "stop waited {:?}", started.elapsed());
    assert!(std::net::TcpStream::connect(addr).is_err(), "nothing listens after stop");
}
