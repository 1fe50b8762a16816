//! The header bomb: a client sends an endless request head (the issue: a 200 MB header grew the
//! daemon by 205 MB). The server reads at most `MAX_HEADER_BYTES` of it, answers 431 or closes,
//! and its process does not grow by the bomb's size. Alone in its test binary so that the
//! process's resident size is the server's.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use palisade_web::{Limits, MAX_HEADER_BYTES};

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn a_header_bomb_is_refused_after_at_most_the_limit() {
    let (_server, addr, _) = serve(all_routes(None, Arc::default()), Limits::default());
    assert_eq!(get(addr, "/healthz").status, 200);

    // Just over the limit, sent whole: 431.
    let mut over = std::net::TcpStream::connect(addr).expect("connect");
    let head = format!("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n", "a".repeat(MAX_HEADER_BYTES));
    over.write_all(&head.as_bytes()[..MAX_HEADER_BYTES]).expect("send");
    over.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut raw = Vec::new();
    let _ = over.read_to_end(&mut raw);
    assert_eq!(parse(&raw).status, 431);

    // 200 MB: the server stops reading; the writes fail long before the end.
    let before = vm_rss_kib();
    let mut bomb = std::net::TcpStream::connect(addr).expect("connect");
    bomb.set_write_timeout(Some(Duration::from_secs(5))).expect("timeout");
    bomb.write_all(b"GET /healthz HTTP/1.1\r\nX-Bomb: ").expect("head");
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0usize;
    while sent < 200 * 1024 * 1024 {
        match bomb.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let grown_mib = vm_rss_kib().saturating_sub(before) / 1024;
    assert!(sent < 64 * 1024 * 1024, "the server kept reading the bomb: {sent} bytes accepted");
    assert!(grown_mib < 32, "the process grew by {grown_mib} MiB for a {} MiB bomb", sent >> 20);
    assert_eq!(get(addr, "/healthz").status, 200, "still serving");
}
