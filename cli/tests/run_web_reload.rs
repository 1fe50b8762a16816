//! Privileged: a reload of a real `palisade run` applies its web settings (issue 17, "nothing
//! kills the daemon on reload" and one HTTP server). A new `webserver.listen_port` answers
//! `/healthz` and the old port refuses connections; a new webhook token is required at once; a
//! port already taken refuses the whole reload (the internal alert names the `webserver` stage)
//! while the old port keeps answering; an unchanged web configuration is not rebound (every
//! `/healthz` during the reload answers). Before, web settings took effect only at a restart.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Daemon, HEALTHZ, free_port, http_status};
use nix::sys::signal::{kill, Signal};


fn local(port: u16) -> SocketAddr {
    ([127, 0, 0, 1], port).into()
}


const EVENT_LIST: &str = r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}"#;

/// A webhook POST of an empty EventList with `token` as its bearer token.
fn post(token: &str) -> Vec<u8> {
    format!(
        "POST /k8s-audit HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{EVENT_LIST}",
        EVENT_LIST.len()
    )
    .into_bytes()
}

/// Waits (at most 20 s) until `addr` answers `/healthz` with `want`; returns the last status.
fn healthz_becomes(addr: SocketAddr, want: u16) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = http_status(addr, HEALTHZ);
        if got == want || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits (at most 20 s) until nothing listens on `addr` any more.
fn refuses_connections(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("palisade-web-reload-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The configuration file: `/healthz` on `web_port`, the webhook on `audit_port` with the
/// token in `token_file`.
fn write_config(config: &Path, web_port: u16, audit_port: u16, token_file: &Path) {
    let yaml = format!(
        "watch_config_files: false\n\
         webserver: {{enabled: true, listen_address: 127.0.0.1, listen_port: {web_port}}}\n\
         k8s_audit: {{enabled: true, listen_port: {audit_port}, bearer_token_file: {}}}\n",
        token_file.display()
    );
    std::fs::write(config, yaml).expect("config");
}

/// A daemon on `config`, once both ports answer.
fn start(config: &Path, web: SocketAddr, audit: SocketAddr) -> Daemon {
    let rules = common::shared().join("falco/k8saudit/k8s_audit_rules.yaml");
    let daemon = Daemon::start_with(&["-c".into(), config.display().to_string()], &[rules]);
    assert_eq!(healthz_becomes(web, 200), 200, "/healthz at start");
    for _ in 0..100 {
        if TcpStream::connect(audit).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    daemon
}

#[test]
fn a_reload_moves_the_web_server_and_requires_the_new_token() {
    if !common::privileged() {
        return;
    }
    let dir = Scratch::new("move");
    let (config, token) = (dir.path("palisade.yaml"), dir.path("token"));
    let (old_port, new_port, audit_port) = (free_port(), free_port(), free_port());
    std::fs::write(&token, "old-token\n").expect("token");
    write_config(&config, old_port, audit_port, &token);
    let audit = local(audit_port);
    let daemon = start(&config, local(old_port), audit);
    assert_eq!(http_status(audit, &post("old-token")), 200, "the configured token");
    assert_eq!(http_status(audit, &post("new-token")), 401, "another token");

    std::fs::write(&token, "new-token\n").expect("token");
    write_config(&config, new_port, audit_port, &token);
    kill(daemon.pid(), Signal::SIGHUP).expect("SIGHUP");
    let moved = healthz_becomes(local(new_port), 200);
    let old_closed = refuses_connections(local(old_port));
    let (new_token, old_token) = (http_status(audit, &post("new-token")), http_status(audit, &post("old-token")));
    let out = daemon.stop();
    assert_eq!(moved, 200, "/healthz on the new listen_port after SIGHUP\n{}", out.stderr);
    assert!(old_closed, "the old listen_port {old_port} still accepts connections\n{}", out.stderr);
    assert_eq!(new_token, 200, "the new token, on the webhook's unchanged port\n{}", out.stderr);
    assert_eq!(old_token, 401, "the old token after the reload\n{}", out.stderr);
    assert!(!out.alerts.iter().any(|a| a["rule"] == "Palisade internal: reload refused"), "{}", out.stderr);
}

#[test]
fn a_reload_to_a_taken_port_is_refused_and_an_unchanged_one_is_not_rebound() {
    if !common::privileged() {
        return;
    }
    let dir = Scratch::new("taken");
    let (config, token) = (dir.path("palisade.yaml"), dir.path("token"));
    let (port, audit_port) = (free_port(), free_port());
    std::fs::write(&token, "a-token\n").expect("token");
    write_config(&config, port, audit_port, &token);
    let web = local(port);
    let daemon = start(&config, web, local(audit_port));

    // An unchanged web configuration: /healthz answers throughout the reload.
    let (stop, asked, failed) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let prober = {
        let (stop, asked, failed) = (Arc::clone(&stop), Arc::clone(&asked), Arc::clone(&failed));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                asked.fetch_add(1, Ordering::Relaxed);
                if http_status(web, HEALTHZ) != 200 {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    kill(daemon.pid(), Signal::SIGHUP).expect("SIGHUP");
    daemon.wait_for_stderr("reloaded", 1);
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    prober.join().expect("prober");

    // Another socket holds the new port: the reload is refused whole, the old port serves.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken_port = taken.local_addr().expect("addr").port();
    write_config(&config, taken_port, audit_port, &token);
    kill(daemon.pid(), Signal::SIGHUP).expect("SIGHUP");
    daemon.wait_for_stderr("reload refused", 1);
    let health = http_status(web, HEALTHZ);
    let out = daemon.stop();
    drop(taken);
    assert!(asked.load(Ordering::Relaxed) > 0);
    assert_eq!(failed.load(Ordering::Relaxed), 0, "/healthz failed during an unchanged reload\n{}", out.stderr);
    assert_eq!(health, 200, "the old port after the refused reload\n{}", out.stderr);
    let refusals: Vec<_> = out.alerts.iter().filter(|a| a["rule"] == "Palisade internal: reload refused").collect();
    assert_eq!(refusals.len(), 1, "{}", out.stderr);
    assert_eq!(refusals[0]["output_fields"]["palisade.stage"], "webserver", "{}", refusals[0]);
    let error = refusals[0]["output_fields"]["palisade.error"].as_str().unwrap_or_default();
    assert!(error.contains(&format!("127.0.0.1:{taken_port}")), "the error names the address: {error}");
}
