//! The hook socket's defences, on a server started on a temporary path: the connection cap,
//! the peer check, and refusing to take over a live socket.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_hook::{Reply, Request, PROTOCOL_VERSION};

use super::tests::context;
use super::{spawn, HookServer, HookServerError, SocketOptions};

/// Waits (generously, bounded) until `done` holds.
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn server(dir: &tempfile::TempDir, max_connections: usize) -> (std::path::PathBuf, HookServer) {
    let path = dir.path().join("hook.sock");
    let options = SocketOptions { max_connections, ..SocketOptions::default() };
    let server = spawn(&path, &options, Arc::new(context(false))).expect("spawn");
    (path, server)
}

fn list(path: &std::path::Path) -> Reply {
    palisade_hook::request(path, &Request::ListContainers { version: PROTOCOL_VERSION }, Duration::from_secs(10))
        .expect("a reply")
}

#[test]
fn idle_connections_beyond_the_cap_are_refused_and_a_real_request_succeeds_afterwards() {
    let dir = tempfile::tempdir().expect("tmp");
    let (path, server) = server(&dir, 8);
    let stats = Arc::clone(&server.stats);
    let idle: Vec<UnixStream> = (0..1000).map(|_| UnixStream::connect(&path).expect("connect")).collect();
    wait_for("992 refusals", || stats.refused_busy.load(Ordering::Relaxed) == 992);
    assert_eq!(stats.served.load(Ordering::Relaxed), 8, "only the cap's worth of connections got a thread");
    assert!(stats.active.load(Ordering::Relaxed) <= 8);
    // A refused client is told why.
    let mut reply = String::new();
    let last = idle.last().expect("clients");
    last.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    BufReader::new(last).read_line(&mut reply).expect("refusal");
    let reply: Reply = serde_json::from_str(&reply).expect("json");
    assert_eq!(
        reply,
        Reply::Error {
            message: "refused: the palisade hook socket is serving 8 connections (hook_socket_max_connections)".into()
        }
    );
    // The idle clients go away: their slots come back, and a real request is answered.
    drop(idle);
    wait_for("the slots to be free", || stats.active.load(Ordering::Relaxed) == 0);
    assert!(matches!(list(&path), Reply::Containers { .. }));
    assert_eq!(stats.refused_busy.load(Ordering::Relaxed), 992);
}

/// Run as a child process under another uid by [`a_non_root_peer_is_refused`]: connects to the
/// socket named by the environment and prints the reply. Does nothing in a normal run.
#[test]
fn peer_client_helper() {
    let Some(path) = std::env::var_os("PALISADE_TEST_HOOK_PEER_CLIENT") else { return };
    let reply = palisade_hook::request(
        std::path::Path::new(&path),
        &Request::ListContainers { version: PROTOCOL_VERSION },
        Duration::from_secs(10),
    );
    println!("PEER REPLY: {reply:?}");
}

#[test]
fn a_non_root_peer_is_refused() {
    if !nix::unistd::geteuid().is_root() {
        // Never skipped silently: a run without root must say it allows that.
        assert!(
            std::env::var_os("PALISADE_ALLOW_SKIP_PRIVILEGED").is_some(),
            "the peer check test runs a client as nobody: it needs root (set PALISADE_ALLOW_SKIP_PRIVILEGED=1 to skip)"
        );
        eprintln!("skipped: the peer check test needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let (path, server) = server(&dir, 8);
    // The file mode keeps others out already; loosened by hand, the peer check still holds.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod socket");
    let stdout = as_nobody(&path);
    assert!(
        stdout.contains(r#"PEER REPLY: Ok(Error { message: "refused: uid 65534 may not use the palisade hook socket" })"#),
        "{stdout}"
    );
    assert_eq!(server.stats.refused_peer.load(Ordering::Relaxed), 1);
    assert_eq!(server.stats.served.load(Ordering::Relaxed), 0, "a refused peer takes no thread");
    // Root is still served.
    assert!(matches!(list(&path), Reply::Containers { .. }));
    // With hook_socket_group naming nobody's group, nobody is served through the file's
    // group permission (0660) alone.
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let path = dir.path().join("hook.sock");
    let options = SocketOptions { max_connections: 8, group: "65534".into(), ..SocketOptions::default() };
    let _server = spawn(&path, &options, Arc::new(context(false))).expect("spawn");
    assert_eq!(std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o660);
    let stdout = as_nobody(&path);
    assert!(stdout.contains("PEER REPLY: Ok(Containers { containers: [] })"), "{stdout}");
}

/// Runs [`peer_client_helper`] as uid and gid 65534 against `path`; its output.
fn as_nobody(path: &std::path::Path) -> String {
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "containers::hook_server::defences_tests::peer_client_helper", "--nocapture", "--test-threads=1"])
        .env("PALISADE_TEST_HOOK_PEER_CLIENT", path)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run the client as nobody");
    format!("stdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_second_server_on_a_live_socket_fails_and_the_first_still_answers() {
    let dir = tempfile::tempdir().expect("tmp");
    let (path, _first) = server(&dir, 8);
    let Err(e) = spawn(&path, &SocketOptions::default(), Arc::new(context(false))) else {
        panic!("a second server must not take over a live socket")
    };
    assert!(matches!(e, HookServerError::InUse { .. }));
    assert!(matches!(super::ensure_not_running(&path), Err(HookServerError::InUse { .. })), "the early check agrees");
    assert_eq!(
        e.to_string(),
        format!(
            "hook socket {}: another palisade daemon is running (it answers on this socket); stop it or set hook_socket to another path",
            path.display()
        )
    );
    assert!(matches!(list(&path), Reply::Containers { .. }));
}

#[test]
fn a_stale_socket_is_replaced() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("hook.sock");
    // A socket file nobody accepts on (its listener is gone), as a crashed daemon leaves it.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    assert!(path.exists());
    super::ensure_not_running(&path).expect("a stale socket is no running daemon");
    let server = spawn(&path, &SocketOptions::default(), Arc::new(context(false))).expect("a stale socket is replaced");
    assert!(matches!(list(&path), Reply::Containers { .. }));
    assert_eq!(server.stats.served.load(Ordering::Relaxed), 1);
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn an_oversized_request_is_dropped_and_its_slot_given_back() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tmp");
    let (path, server) = server(&dir, 1);
    let mut big = UnixStream::connect(&path).expect("connect");
    // More than MAX_REQUEST_BYTES without a newline: the daemon stops reading and closes.
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0u64;
    while sent <= super::MAX_REQUEST_BYTES + 64 * 1024 {
        if big.write_all(&chunk).is_err() {
            break; // closed by the daemon
        }
        sent += chunk.len() as u64;
    }
    wait_for("the slot to be free", || server.stats.active.load(Ordering::Relaxed) == 0);
    let mut reply = String::new();
    big.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let _ = BufReader::new(&big).read_line(&mut reply);
    assert_eq!(reply, "", "no reply to an oversized request");
    // The only slot is free again: a real request is answered.
    assert!(matches!(list(&path), Reply::Containers { .. }));
}

#[test]
fn a_request_trickled_a_byte_at_a_time_is_cut_off_at_the_whole_request_deadline() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("hook.sock");
    let options = SocketOptions { max_connections: 1, request_timeout: Duration::from_millis(300), ..SocketOptions::default() };
    let server = spawn(&path, &options, Arc::new(context(false))).expect("spawn");
    let mut slow = UnixStream::connect(&path).expect("connect");
    // A byte every 20 ms: each read is quick, the request never ends. A per-read timeout would
    // keep this slot forever; the whole-request deadline frees it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.stats.served.load(Ordering::Relaxed) == 0 || server.stats.active.load(Ordering::Relaxed) > 0 {
        assert!(Instant::now() < deadline, "the trickling client still holds its slot");
        if slow.write_all(b"{").is_err() {
            break; // closed by the daemon
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_for("the slot to be free", || server.stats.active.load(Ordering::Relaxed) == 0);
    assert!(matches!(list(&path), Reply::Containers { .. }), "the only slot serves again");
}
