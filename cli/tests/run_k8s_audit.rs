//! Privileged: the `k8s_audit` source of a running daemon with the upstream
//! `k8s_audit_rules.yaml` — audit events POSTed to its webhook endpoint (an `EventList`, as
//! kube-apiserver's webhook backend sends) and lines appended to a followed audit log both raise
//! the upstream rules, with `source: k8s_audit` and `ka.*` output fields, through the outputs.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use common::{Daemon, free_port};
use serde_json::Value;

fn trace(name: &str) -> Value {
    let path = common::shared().join("falco/traces/falco_legacy/trace_files/k8s_audit").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The trace files hold one event per line.
    serde_json::from_str(text.lines().find(|l| !l.trim().is_empty()).expect("an event")).expect("event JSON")
}

/// POSTs `body` to the endpoint; returns the status line.
fn post(port: u16, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the audit endpoint");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("response");
    answer.lines().next().unwrap_or_default().to_owned()
}


#[test]
fn webhook_and_followed_log_raise_the_upstream_k8s_audit_rules() {
    if !common::privileged() {
        return;
    }
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("palisade-k8s-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let log = dir.join("audit.log");
    std::fs::write(&log, "").expect("audit log");
    let rules: PathBuf = common::shared().join("falco/k8saudit/k8s_audit_rules.yaml");
    let options = [
        "k8s_audit.enabled=true".to_string(),
        "k8s_audit.listen_address=127.0.0.1".into(),
        format!("k8s_audit.listen_port={port}"),
        format!("k8s_audit.files[]={}", log.display()),
    ];
    let extra: Vec<String> = options.iter().flat_map(|o| ["-o".to_string(), o.clone()]).collect();
    let daemon = Daemon::start_with(&extra, &[rules]);

    let list = serde_json::json!({
        "kind": "EventList",
        "apiVersion": "audit.k8s.io/v1",
        "items": [trace("create_nginx_pod_privileged.json"), trace("create_nginx_pod_unprivileged.json")],
    });
    assert_eq!(post(port, "/k8s-audit", &list.to_string()), "HTTP/1.1 200 OK");
    assert_eq!(post(port, "/k8s-audit", "not json"), "HTTP/1.1 400 Bad Request");
    assert_eq!(post(port, "/elsewhere", "{}"), "HTTP/1.1 404 Not Found");

    // The audit log gets one line (kube-apiserver's --audit-log-path format).
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).expect("open log");
    writeln!(f, "{}", trace("create_nginx_pod_hostnetwork.json")).expect("append");
    drop(f);
    std::thread::sleep(Duration::from_millis(800)); // the follower polls every 200 ms
    let out = daemon.stop();
    let _ = std::fs::remove_dir_all(&dir);

    let of = |rule: &str| -> Vec<&Value> { out.alerts.iter().filter(|a| a["rule"] == rule).collect() };
    let privileged = of("Create Privileged Pod");
    assert_eq!(privileged.len(), 1, "one privileged pod among the two: {:#?}", out.alerts);
    let a = privileged[0];
    assert_eq!(a["source"], "k8s_audit");
    assert_eq!(a["priority"], "Warning");
    assert_eq!(a["output_fields"]["ka.target.namespace"], "default", "{a}");
    assert!(a["output_fields"]["ka.user.name"].is_string(), "{a}");
    assert!(a["time"].as_str().is_some_and(|t| t.starts_with("20")), "evt.time from the event: {a}");
    assert_eq!(of("Create HostNetwork Pod").len(), 1, "from the followed log: {:#?}", out.alerts);
}
