//! Privileged: Falco's own stock `falco.yaml`, unchanged but for its rules paths (rewritten in a
//! temporary copy), starts `palisade run -c`. The daemon serves Falco's `/healthz` from the
//! file's `webserver` section, raises Falco's rule on `cat /etc/shadow` to stdout and syslog, prints exactly one warning per key that does not apply (the
//! golden list below, with where each key is written), prints them again — once each — on a
//! SIGHUP reload, and stops cleanly on SIGINT.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use common::{privileged, shared, Daemon};
use nix::sys::signal::{kill, Signal};
use serde_json::Value;

/// The warnings for Falco 0.44's stock falco.yaml: the key, and its `line:col` in the file.
const GOLDEN: &[(&str, &str)] = &[
    ("engine", "441:1"),
    ("plugins[container]", "595:1"),
    ("plugins_hostinfo", "622:1"),
    ("outputs_queue.capacity", "748:3"),
    ("http_output.keep_alive", "886:3"),
    ("http_output.max_consecutive_timeouts", "888:3"),
    ("libs_logger", "1008:1"),
    ("output_timeout", "1044:1"),
    ("syscall_event_timeouts", "1061:1"),
    ("syscall_event_drops.threshold", "1103:3"),
    ("falco_libs", "1367:1"),
];

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The stock file with `/etc/falco/...` rules paths pointing at the shared Falco rules (the
/// local file and rules.d: empty ones in `dir`, as Falco's packages install them).
fn stock_copy(dir: &std::path::Path) -> PathBuf {
    let text = std::fs::read_to_string(shared().join("falco/config/falco.yaml")).expect("stock falco.yaml");
    std::fs::write(dir.join("falco_rules.local.yaml"), "").expect("local rules");
    std::fs::create_dir_all(dir.join("rules.d")).expect("rules.d");
    let rules = shared().join("falco/rules/falco_rules.yaml");
    let rewritten = text
        .replace("/etc/falco/falco_rules.yaml", &rules.display().to_string())
        .replace("/etc/falco/falco_rules.local.yaml", &dir.join("falco_rules.local.yaml").display().to_string())
        .replace("  - /etc/falco/rules.d", &format!("  - {}", dir.join("rules.d").display()));
    assert_ne!(text, rewritten, "the stock file names /etc/falco rules paths");
    let path = dir.join("falco.yaml");
    std::fs::write(&path, rewritten).expect("copy");
    path
}

/// `key -> [line:col ...]` of the "configuration key not applied" lines in JSON `stderr`.
fn warnings(stderr: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in stderr.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
        if v.pointer("/fields/message").and_then(Value::as_str) != Some("configuration key not applied") {
            continue;
        }
        let field = |k: &str| v.pointer(&format!("/fields/{k}")).and_then(Value::as_str).unwrap_or_default().to_owned();
        assert_eq!(v["level"], "WARN", "{line}");
        assert!(!field("reason").is_empty(), "a warning says why: {line}");
        let at = field("at");
        let position = at.strip_prefix("falco.yaml:").or_else(|| at.rsplit_once("/falco.yaml:").map(|(_, p)| p));
        out.entry(field("key")).or_default().push(position.unwrap_or(&at).to_owned());
    }
    out
}

fn golden(times: usize) -> BTreeMap<String, Vec<String>> {
    GOLDEN.iter().map(|(k, at)| ((*k).to_owned(), vec![(*at).to_owned(); times])).collect()
}

fn healthz(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the webserver");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("request");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

/// Starts the daemon on `config` with a free webserver port. The port is free when picked but
/// may be taken by another test's server before the daemon binds it: only then (the daemon
/// says the address is in use) another port is tried, at most three times.
fn start(dir: &std::path::Path, config: &std::path::Path) -> (Daemon, u16) {
    for attempt in 1..=3 {
        let port = TcpListener::bind("0.0.0.0:0").expect("bind").local_addr().expect("addr").port();
        let extra: Vec<String> = [
            "-c",
            &config.display().to_string(),
            "--log-format",
            "json",
            "-o",
            &format!("webserver.listen_port={port}"),
            "-o",
            &format!("syslog_output.socket={}", dir.join("log").display()),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        match std::panic::catch_unwind(|| Daemon::start_with(&extra, &[])) {
            Ok(daemon) => return (daemon, port),
            Err(panic) => {
                let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
                if attempt == 3 || !text.to_ascii_lowercase().contains("in use") {
                    std::panic::resume_unwind(panic);
                }
            }
        }
    }
    unreachable!("the third attempt returns or panics")
}

#[test]
fn falcos_stock_falco_yaml_starts_palisade_with_exactly_the_expected_warnings() {
    if !privileged() {
        return;
    }
    let scratch = Scratch(std::env::temp_dir().join(format!("palisade-falco-yaml-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&scratch.0);
    std::fs::create_dir_all(&scratch.0).expect("scratch");
    let config = stock_copy(&scratch.0);
    // The file enables syslog_output: a socket of our own stands for /dev/log. The webserver
    // (enabled by the file) gets a free port: tests run side by side.
    let syslog = UnixDatagram::bind(scratch.0.join("log")).expect("syslog socket");
    let (daemon, port) = start(&scratch.0, &config);
    let answer = healthz(port);
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with(r#"{"status": "ok"}"#), "{answer}");

    // The file's rules and outputs at work, as for a Falco user: stdout (JSON here, with its
    // output_fields) and syslog both get Falco's rule.
    let cat = std::process::Command::new("cat").arg("/etc/shadow").output().expect("cat");
    assert!(cat.status.success());
    syslog.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut received = Vec::new();
    while !received.iter().any(|d: &String| d.contains("Sensitive file opened for reading by non-trusted program")) {
        let mut datagram = vec![0; 65536];
        let n = syslog.recv(&mut datagram).unwrap_or_else(|e| panic!("no alert on the syslog socket ({e}): {received:?}"));
        received.push(String::from_utf8_lossy(&datagram[..n]).into_owned());
    }

    kill(daemon.pid(), Signal::SIGHUP).expect("SIGHUP");
    daemon.wait_for_stderr("\"reloaded\"", 1);
    let out = daemon.stop();
    assert_eq!(warnings(&out.stderr), golden(2), "one warning per key at start, again at the reload:\n{}", out.stderr);
    let read = out.alerts.iter().find(|a| a["rule"] == "Read sensitive file untrusted" && a["output_fields"]["fd.name"] == "/etc/shadow");
    assert!(read.is_some_and(|a| a["output_fields"]["proc.name"] == "cat"), "{}", out.stdout);
    assert!(out.stderr.contains("rules file loaded") && out.stderr.contains("falco_rules.yaml"), "{}", out.stderr);
    assert!(!out.stderr.contains("built-in Palisade rules"), "the file's rules, not the defaults");
    drop(syslog);
}
