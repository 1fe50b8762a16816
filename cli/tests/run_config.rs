//! Privileged: `palisade run` driven by a configuration file — every output delivers the same
//! alert JSON (stdout, file, program, http to a local server, syslog to a local socket), the
//! webserver serves /healthz and /metrics, SIGHUP and watched files reload (a broken file is
//! refused and the old rules keep working), and `-o` overrides work.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use common::{Daemon, free_port};
use nix::sys::signal::{kill, Signal};
use serde_json::Value;

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("palisade-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch");
        Scratch(d)
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

/// A rules file with one rule named `name` that fires when `marker` is opened.
fn marker_rule(path: &Path, name: &str, marker: &Path) {
    let text = format!(
        "- rule: {name}\n  desc: test\n  condition: evt.type in (open, openat, openat2) and fd.name = \"{}\"\n  \
         output: \"marker read by %proc.name (file=%fd.name)\"\n  priority: WARNING\n  tags: [test]\n",
        marker.display()
    );
    std::fs::write(path, text).expect("rules file");
}

fn read_marker(marker: &Path) {
    assert!(Command::new("cat").arg(marker).output().expect("cat").status.success());
}

/// A one-shot-per-connection HTTP server on 127.0.0.1 collecting POST bodies.
fn http_server() -> (u16, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let mut reader = BufReader::new(conn);
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = reader.get_mut().write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if tx.send((head, String::from_utf8_lossy(&body).into_owned())).is_err() {
                break;
            }
        }
    });
    (port, rx)
}

/// GET `path` from 127.0.0.1:`port`: (status line, body).
fn get(port: u16, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the webserver");
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("response");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}


#[test]
fn every_output_delivers_the_same_alert_and_metrics_are_served() {
    if !common::privileged() {
        return;
    }
    let dir = Scratch::new("outputs");
    let marker = dir.path("marker");
    std::fs::write(&marker, "x").expect("marker");
    marker_rule(&dir.path("rules.yaml"), "Marker read", &marker);
    let syslog = UnixDatagram::bind(dir.path("log.sock")).expect("syslog socket");
    syslog.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let (http_port, posts) = http_server();
    let web_port = free_port();
    let config = dir.path("palisade.yaml");
    std::fs::write(
        &config,
        format!(
            "rules_files: [{rules}]\njson_output: true\n\
             file_output: {{enabled: true, keep_alive: false, filename: {file}}}\n\
             program_output: {{enabled: true, keep_alive: true, program: \"cat >> {prog}\"}}\n\
             http_output: {{enabled: true, url: \"http://127.0.0.1:{http_port}/\"}}\n\
             syslog_output: {{enabled: true, socket: {sock}}}\n\
             webserver: {{enabled: true, listen_address: 127.0.0.1, listen_port: {web_port}, prometheus_metrics_enabled: true}}\n\
             watch_config_files: false\nnri: {{enabled: false}}\n",
            rules = dir.path("rules.yaml").display(),
            file = dir.path("events.json").display(),
            prog = dir.path("program.json").display(),
            sock = dir.path("log.sock").display(),
        ),
    )
    .expect("config");
    // `-c` after the defaults' `-c /dev/null`: the last one wins.
    let daemon = Daemon::start_with(&["-c".into(), config.display().to_string()], &[]);
    read_marker(&marker);
    std::thread::sleep(Duration::from_millis(1500)); // a housekeeping round publishes metrics

    let (status, body) = get(web_port, "/healthz");
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", r#"{"status": "ok"}"#));
    let (status, metrics) = get(web_port, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(metrics.contains(r#"palisade_alerts_total{rule="Marker read",priority="Warning"} 1"#), "{metrics}");
    assert!(metrics.lines().any(|l| l.starts_with(r#"palisade_events_total{evt_type="openat"}"#)), "{metrics}");
    assert!(metrics.contains("palisade_output_delivered_total{output=\"http\"} 1"), "{metrics}");

    let mut datagram = vec![0u8; 65536];
    let n = syslog.recv(&mut datagram).expect("a syslog message");
    let message = String::from_utf8_lossy(&datagram[..n]).into_owned();
    let (head, post) = posts.recv_timeout(Duration::from_secs(10)).expect("an http POST");
    let out = daemon.stop();

    let alert = out.alerts.iter().find(|a| a["rule"] == "Marker read").expect("the alert on stdout");
    let line = serde_json::to_string(alert).expect("json");
    assert_eq!(alert["output_fields"]["proc.name"], "cat");
    let stdout_line = out.stdout.lines().find(|l| l.contains("Marker read")).expect("stdout line");
    assert_eq!(std::fs::read_to_string(dir.path("events.json")).expect("file output").trim_end(), stdout_line);
    assert_eq!(std::fs::read_to_string(dir.path("program.json")).expect("program output").trim_end(), stdout_line);
    assert_eq!(post, stdout_line, "http body is the Falco JSON");
    assert!(head.starts_with("POST / HTTP/1.1"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "{head}");
    // user.warning = 1*8 + 4
    assert!(message.starts_with("<12>palisade["), "{message}");
    assert!(message.ends_with(stdout_line), "{message}");
    let parsed: Value = serde_json::from_str(stdout_line).expect("json");
    assert_eq!(serde_json::to_string(&parsed).expect("json"), line);
}

#[test]
fn sighup_reloads_and_a_broken_file_keeps_the_running_rules() {
    if !common::privileged() {
        return;
    }
    let dir = Scratch::new("reload");
    let marker = dir.path("marker");
    std::fs::write(&marker, "x").expect("marker");
    let rules = dir.path("rules.yaml");
    marker_rule(&rules, "First name", &marker);
    let pidfile = dir.path("palisade.pid");
    let daemon = Daemon::start_with(
        &["-o".into(), "watch_config_files=false".into(), "--pidfile".into(), pidfile.display().to_string()],
        std::slice::from_ref(&rules),
    );
    read_marker(&marker);
    marker_rule(&rules, "Second name", &marker);
    // As a Falco user reloads: kill -1 $(cat the pid file).
    let pid: i32 = std::fs::read_to_string(&pidfile).expect("pid file").trim().parse().expect("a pid");
    assert_eq!(pid, daemon.pid().as_raw());
    kill(nix::unistd::Pid::from_raw(pid), Signal::SIGHUP).expect("SIGHUP");
    daemon.wait_for_stderr("reloaded", 1);
    read_marker(&marker);
    std::fs::write(&rules, "- rule: Broken\n  desc: d\n  condition: evt.type = = open\n  output: o\n  priority: WARNING\n")
        .expect("broken rules");
    kill(daemon.pid(), Signal::SIGHUP).expect("SIGHUP");
    daemon.wait_for_stderr("reload refused", 1);
    read_marker(&marker);
    std::thread::sleep(Duration::from_millis(1100)); // a housekeeping round updates the status
    let status = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["status", "--json", "--socket"])
        .arg(daemon.socket())
        .output()
        .expect("palisade status");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let status: Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    assert_eq!((status["reloads"].as_u64(), status["reload_errors"].as_u64()), (Some(1), Some(1)), "{status}");
    assert_eq!(status["rules_loaded"], 1);
    // The backend is what this kernel allows: BPF-LSM when it loads LSM programs, else Landlock.
    let backend = status["enforcement_backend"].as_str().unwrap_or_default();
    let expected = if palisade_lsm::probe().is_ok() {
        "bpf-lsm ("
    } else if palisade_init::enforce::probe().is_ok() {
        "landlock (palisade-init, injected by palisade-runc)"
    } else {
        "none: enforced profiles are only reported ("
    };
    assert!(backend.starts_with(expected), "{backend:?} should start with {expected:?}");
    let out = daemon.stop();
    assert!(!pidfile.exists(), "the pid file is removed at a clean stop");
    let names: Vec<&str> = out.alerts.iter().filter_map(|a| a["rule"].as_str()).collect();
    assert_eq!(names, ["First name", "Second name", "Palisade internal: reload refused", "Second name"], "{}", out.stderr);
    let refusal = out.stderr.lines().skip_while(|l| !l.contains("reload refused")).take(3).collect::<Vec<_>>().join("\n");
    assert!(refusal.contains(&format!("{}:3:", rules.display())) && refusal.contains("rule 'Broken'"), "{refusal}");
}

#[test]
fn a_changed_rules_file_reloads_by_itself_when_watched() {
    if !common::privileged() {
        return;
    }
    let dir = Scratch::new("watch");
    let marker = dir.path("marker");
    std::fs::write(&marker, "x").expect("marker");
    let rules = dir.path("rules.yaml");
    marker_rule(&rules, "Before edit", &marker);
    let daemon = Daemon::start(std::slice::from_ref(&rules));
    std::thread::sleep(Duration::from_millis(1100)); // a later mtime than the one it loaded
    marker_rule(&rules, "After edit", &marker);
    daemon.wait_for_stderr("reloaded", 1);
    read_marker(&marker);
    let out = daemon.stop();
    let names: Vec<&str> = out.alerts.iter().filter_map(|a| a["rule"].as_str()).collect();
    assert_eq!(names, ["After edit"]);
}

#[test]
fn overrides_change_format_and_priority() {
    if !common::privileged() {
        return;
    }
    let dir = Scratch::new("overrides");
    let marker = dir.path("marker");
    std::fs::write(&marker, "x").expect("marker");
    let rules = dir.path("rules.yaml");
    marker_rule(&rules, "Marker read", &marker);

    let text = Daemon::start_with(&["-o".into(), "json_output=false".into()], std::slice::from_ref(&rules));
    read_marker(&marker);
    let out = text.stop();
    let line = out.stdout.lines().find(|l| l.contains("marker read by cat")).expect("a text alert");
    assert!(line.contains(": Warning marker read by cat") && !line.starts_with('{'), "{line}");

    let strict = Daemon::start_with(&["-o".into(), "priority=error".into()], std::slice::from_ref(&rules));
    read_marker(&marker);
    let out = strict.stop();
    assert!(out.alerts.iter().all(|a| a["rule"] != "Marker read"), "a Warning rule under priority=error");

    let bad = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["run", "-c", "/dev/null", "-o", "webserver.listen_prot=1", "-r"])
        .arg(&rules)
        .output()
        .expect("run");
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("webserver.listen_prot: unknown field `listen_prot`"), "{stderr}");
}
