//! Privileged, end to end (issue 17, "alert storm"): `palisade run` with Falco's stable and
//! incubating rules, while two processes of one cgroup open `/etc/shadow` in a loop (each open
//! alerts "Read sensitive file untrusted"). A process of another cgroup reads `/etc/shadow`
//! five times and a process of the flooding cgroup does `chmod u+s`: every one of those is
//! alerted; the flood's excess is dropped in the kernel by the cgroup's budget, counted and
//! reported (`palisade status`, the `Palisade internal: syscall event budget exceeded` alert),
//! and the shared ring buffer loses nothing.
//!
//! Before per-cgroup budgets, the flood filled the ring buffer: reads of other cgroups were
//! lost with the flood's records (kernel drops), and nothing said whose flood it was.
//!
//! Needs root and a kernel with BTF; fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{cgroup2_root, shared, skip_or_fail, Daemon, TestCgroup};
use serde_json::Value;

const READS: usize = 5;

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn status(daemon: &Daemon) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["status", "--json", "--socket"])
        .arg(daemon.socket())
        .output()
        .expect("palisade status");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("status JSON")
}

fn host_budget_drops(status: &Value) -> u64 {
    status["budget_drops"]
        .as_array()
        .and_then(|l| l.iter().find(|d| d["container_id"] == "host"))
        .and_then(|d| d["drops"].as_u64())
        .unwrap_or(0)
}

/// The budget drops `palisade status` lists for host cgroup `id`.
fn cgroup_drops(status: &Value, id: u64) -> u64 {
    status["budget_drops"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["cgroups"].as_array().into_iter().flatten())
        .find(|c| c["cgroup_id"] == id)
        .and_then(|c| c["drops"].as_u64())
        .unwrap_or(0)
}

fn field(alert: &Value, key: &str) -> String {
    match &alert["output_fields"][key] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn a_flood_in_one_cgroup_hides_no_other_action() {
    if !common::privileged() {
        return;
    }
    let Some(root) = cgroup2_root() else { return skip_or_fail("no cgroup2 mount") };
    if !Path::new("/bin/busybox").exists() {
        return skip_or_fail("no /bin/busybox");
    }
    let pid = std::process::id();
    let scratch = Scratch(std::env::temp_dir().join(format!("palisade-storm-{pid}")));
    let _ = std::fs::remove_dir_all(&scratch.0);
    std::fs::create_dir_all(&scratch.0).expect("scratch");
    // dash under another name: shells are trusted readers of sensitive files in Falco's rules,
    // "flooder" is not, so each of its opens alerts as in the storm.
    let flooder = scratch.0.join("flooder");
    std::fs::copy("/bin/dash", &flooder).or_else(|_| std::fs::copy("/bin/sh", &flooder)).expect("copy dash");
    let target = scratch.0.join("setuid-target");
    std::fs::write(&target, "x").expect("target");
    let alerts_file = scratch.0.join("alerts.json");

    let rules = ["falco_rules.yaml", "falco-incubating_rules.yaml"].map(|f| shared().join("falco/rules").join(f));
    let mut extra: Vec<String> = Vec::new();
    for o in [
        "stdout_output.enabled=false".to_owned(),
        "file_output.enabled=true".to_owned(),
        format!("file_output.filename={}", alerts_file.display()),
        "outputs_queue.capacity=100000".to_owned(),
        "syscall_budget.rate=2000".to_owned(),
        "syscall_budget.burst=2000".to_owned(),
    ] {
        extra.push("-o".into());
        extra.push(o);
    }
    let daemon = Daemon::start_with(&extra, &rules);
    let flood = TestCgroup::new(&root, &format!("palisade-storm-flood-{pid}"));
    let quiet = TestCgroup::new(&root, &format!("palisade-storm-quiet-{pid}"));
    let mut flooders: Vec<Child> =
        (0..2).map(|_| flood.spawn(&flooder, "while :; do : < /etc/shadow; done")).collect();
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..READS {
        let status = quiet.spawn(Path::new("/bin/sh"), "exec cat /etc/shadow > /dev/null").wait().expect("cat");
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(100));
    }
    let chmod = flood.spawn(Path::new("/bin/sh"), &format!("exec /bin/busybox chmod u+s {}", target.display())).wait();
    assert!(chmod.expect("chmod").success());
    // The budget drops are in the status after a housekeeping round.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut s = status(&daemon);
    while host_budget_drops(&s) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        s = status(&daemon);
    }
    for f in &mut flooders {
        let _ = f.kill();
        let _ = f.wait();
    }
    std::thread::sleep(Duration::from_millis(1200)); // one more housekeeping round
    let s = status(&daemon);
    let out = daemon.stop();
    let text = std::fs::read_to_string(&alerts_file).expect("alerts file");
    let alerts: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();

    assert!(host_budget_drops(&s) > 0, "the flood went over its budget, reported for the host: {s}");
    assert!(cgroup_drops(&s, flood.id()) > 0, "the flooding cgroup's drops: {s}");
    assert_eq!(cgroup_drops(&s, quiet.id()), 0, "the quiet cgroup dropped nothing: {s}");
    assert_eq!(s["kernel_drops"], 0, "the shared ring buffer lost nothing: {s}");
    assert_eq!(s["outputs_dropped"], 0, "{s}");
    let reads: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["rule"] == "Read sensitive file untrusted" && field(a, "proc.name") == "cat")
        .collect();
    assert_eq!(reads.len(), READS, "every read of the quiet cgroup alerted\n{}", out.stderr);
    for a in &reads {
        assert_eq!((field(a, "fd.name"), field(a, "proc.cmdline")), ("/etc/shadow".into(), "cat /etc/shadow".into()));
    }
    let setuid: Vec<&Value> = alerts.iter().filter(|a| a["rule"] == "Set Setuid or Setgid bit").collect();
    assert_eq!(setuid.len(), 1, "the flooding cgroup's chmod u+s alerted\n{}", out.stderr);
    assert_eq!(field(setuid[0], "proc.name"), "busybox");
    assert_eq!(field(setuid[0], "evt.arg.filename"), target.display().to_string());
    assert!(
        alerts.iter().any(|a| a["rule"] == "Read sensitive file untrusted" && field(a, "proc.name") == "flooder"),
        "the flood itself is alerted within its budget"
    );
    let budget: Vec<&Value> =
        alerts.iter().filter(|a| a["rule"] == "Palisade internal: syscall event budget exceeded").collect();
    assert!(!budget.is_empty(), "a budget alert\n{}", out.stderr);
    assert_eq!((field(budget[0], "container.id"), field(budget[0], "container.name")), ("host".into(), "host".into()));
    assert!(budget[0]["output_fields"]["n_drops"].as_u64().is_some_and(|n| n > 0), "{}", budget[0]);
}
