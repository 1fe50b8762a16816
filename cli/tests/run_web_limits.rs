//! Privileged: the HTTP surfaces of a real `palisade run` (issue 17's hostile clients) — the
//! k8s-audit webhook and `/healthz` stay available under 60 slow connections from another
//! address, a 200 MB request head does not grow the daemon, an oversized body is 413, and the
//! webhook binds 127.0.0.1 unless configured. Each of these failed with the hand-written servers.

mod common;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use common::{Daemon, HEALTHZ, free_port, http_status};

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));


fn connect_from(from: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.bind(&SocketAddr::new(from, 0).into()).expect("bind the client address");
    socket.connect(&addr.into()).expect("connect");
    socket.into()
}


fn post(body: &str) -> Vec<u8> {
    format!(
        "POST /k8s-audit HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const EVENT_LIST: &str = r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}"#;

fn vm_rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("daemon status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// A daemon with `webserver` on 127.0.0.1 and the webhook at its default address; the two
/// ports and the daemon.
fn daemon() -> Option<(Daemon, SocketAddr, SocketAddr)> {
    if !common::privileged() {
        return None;
    }
    let (web_port, audit_port) = (free_port(), free_port());
    let options = [
        "webserver.enabled=true".to_string(),
        "webserver.listen_address=127.0.0.1".into(),
        format!("webserver.listen_port={web_port}"),
        "k8s_audit.enabled=true".into(),
        format!("k8s_audit.listen_port={audit_port}"),
    ];
    let extra: Vec<String> = options.iter().flat_map(|o| ["-o".to_string(), o.clone()]).collect();
    let rules = common::shared().join("falco/k8saudit/k8s_audit_rules.yaml");
    let daemon = Daemon::start_with(&extra, &[rules]);
    let web: SocketAddr = ([127, 0, 0, 1], web_port).into();
    let audit: SocketAddr = ([127, 0, 0, 1], audit_port).into();
    // The webhook may come up a moment after "watching".
    for _ in 0..50 {
        if TcpStream::connect(audit).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(http_status(web, HEALTHZ), 200);
    assert_eq!(http_status(audit, &post(EVENT_LIST)), 200);
    Some((daemon, web, audit))
}

/// The webhook binds 127.0.0.1 unless configured (0.0.0.0 would also answer on 127.0.0.2).
#[test]
fn the_webhook_binds_loopback_by_default() {
    let Some((daemon, _, audit)) = daemon() else { return };
    let elsewhere = TcpStream::connect((Ipv4Addr::new(127, 0, 0, 2), audit.port()));
    drop(daemon.stop());
    assert!(elsewhere.is_err(), "the webhook must not listen beyond 127.0.0.1 unless configured");
}

/// Slowloris from another address: 60 connections to each port sending a byte now and then;
/// /healthz and a real POST from 127.0.0.1 still get 200.
#[test]
fn slow_connections_from_one_address_leave_healthz_and_the_webhook_available() {
    let Some((daemon, web, audit)) = daemon() else { return };
    let mut slow: Vec<TcpStream> = (0..60).flat_map(|_| [connect_from(ATTACKER, web), connect_from(ATTACKER, audit)]).collect();
    for byte in [b"P", b"O"] {
        for s in &mut slow {
            let _ = s.write_all(byte);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let health = http_status(web, HEALTHZ);
    let posted = http_status(audit, &post(EVENT_LIST));
    drop(slow);
    drop(daemon.stop());
    assert_eq!(health, 200, "/healthz during the slow connections");
    assert_eq!(posted, 200, "a real POST during the slow connections");
}

/// A 200 MB request head: the daemon stops reading it and does not grow by its size; a body
/// beyond 64 MiB is 413 before it is sent.
#[test]
fn a_header_bomb_does_not_grow_the_daemon_and_big_bodies_are_413() {
    let Some((daemon, web, audit)) = daemon() else { return };
    let big = format!("POST /k8s-audit HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{{", 64 * 1024 * 1024 + 1);
    assert_eq!(http_status(audit, big.as_bytes()), 413);

    let before = vm_rss_kib(daemon.pid().as_raw());
    let mut bomb = TcpStream::connect(audit).expect("connect");
    bomb.set_write_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let _ = bomb.write_all(b"POST /k8s-audit HTTP/1.1\r\nX-Bomb: ");
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0usize;
    while sent < 200 * 1024 * 1024 {
        match bomb.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let grown_mib = vm_rss_kib(daemon.pid().as_raw()).saturating_sub(before) / 1024;
    drop(bomb);
    let health = http_status(web, HEALTHZ);
    drop(daemon.stop());
    assert!(sent < 64 * 1024 * 1024, "the daemon kept reading a request head: {} MiB accepted", sent >> 20);
    assert!(grown_mib < 32, "the daemon grew by {grown_mib} MiB during a {} MiB request head", sent >> 20);
    assert_eq!(health, 200, "still serving");
}
