//! `palisade replay --source k8s_audit`: a file of audit events evaluated offline with the
//! upstream k8s audit rules prints exactly the expected alerts and a per-rule summary.

mod common;

use std::process::Command;

#[test]
fn replays_audit_event_files() {
    let shared = common::shared();
    let traces = shared.join("falco/traces/falco_legacy/trace_files/k8s_audit");
    let dir = std::env::temp_dir().join(format!("palisade-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    // JSON lines, as --audit-log-path writes them: a privileged pod, an ordinary one, and a
    // line that is not an event.
    let mut text = String::new();
    for f in ["create_nginx_pod_privileged.json", "create_nginx_pod_unprivileged.json"] {
        text.push_str(std::fs::read_to_string(traces.join(f)).expect("trace").trim_end());
        text.push('\n');
    }
    text.push_str("{\"kind\":\"Pod\"}\n");
    let file = dir.join("audit.log");
    std::fs::write(&file, text).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["replay", "--source", "k8s_audit", "--json", "-r"])
        .arg(shared.join("falco/k8saudit/k8s_audit_rules.yaml"))
        .arg(&file)
        .output()
        .expect("run palisade replay");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let alerts: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).expect("alert JSON")).collect();
    let rules: Vec<&str> = alerts.iter().filter_map(|a| a["rule"].as_str()).collect();
    assert_eq!(rules, ["Create Privileged Pod"], "{stdout}");
    assert_eq!(alerts[0]["source"], "k8s_audit");
    assert!(stderr.contains("line 3"), "the bad line is named: {stderr}");
    assert!(stderr.contains("replayed 2 events (1 unreadable items)"), "{stderr}");
    assert!(stderr.contains("     1  Create Privileged Pod"), "{stderr}");
}
