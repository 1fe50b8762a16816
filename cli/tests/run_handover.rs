//! Privileged: the real daemon hands detection over to its successor. A daemon pinned under a
//! test pin root alerts a read, stops; a read done while no daemon runs is alerted by the next
//! daemon, which adopted the pins (exact rule and process names, each read alerted exactly
//! once); `palisade detach` then removes the pins.
//!
//! Isolation: `palisade run --pin-root DIR` with a root of this test's own (the installed
//! service and the chart use /sys/fs/bpf/palisade; the other tests' daemons pin nothing).
//!
//! Needs root, a bpffs at /sys/fs/bpf and kernel BTF; fails otherwise unless
//! PALISADE_ALLOW_SKIP_PRIVILEGED=1.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{privileged, Daemon};

const RULE: &str = "Handover marker read";

/// A pin root of this test's own, removed on drop.
struct PinRoot(PathBuf);

impl Drop for PinRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The alerts of `RULE`, by proc.name.
fn readers(alerts: &[serde_json::Value]) -> Vec<String> {
    alerts
        .iter()
        .filter(|a| a["rule"] == RULE)
        .map(|a| a["output_fields"]["proc.name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn read_with(program: &str, marker: &Path) {
    assert!(Command::new(program).arg(marker).output().expect(program).status.success());
}

#[test]
fn a_read_while_no_daemon_runs_is_alerted_by_the_next_daemon() {
    if !privileged() {
        return;
    }
    let pid = std::process::id();
    let root = PinRoot(PathBuf::from(format!("/sys/fs/bpf/palisade-test-run-{pid}")));
    let scratch = std::env::temp_dir().join(format!("palisade-run-handover-{pid}"));
    std::fs::create_dir_all(&scratch).expect("scratch");
    let marker = scratch.join("marker");
    std::fs::write(&marker, "x").expect("marker");
    let rules = scratch.join("rules.yaml");
    std::fs::write(
        &rules,
        format!(
            "- rule: {RULE}\n  desc: test\n  condition: evt.type in (open, openat, openat2) and fd.name = \"{}\"\n  \
             output: \"marker read by %proc.name\"\n  priority: WARNING\n",
            marker.display()
        ),
    )
    .expect("rules");
    let extra = ["--pin-root".to_owned(), root.0.display().to_string(), "-o".to_owned(), "host_monitoring=true".to_owned()];

    let first = Daemon::start_with(&extra, std::slice::from_ref(&rules));
    read_with("cat", &marker);
    let out = first.stop();
    assert!(out.stderr.contains("palisade: detection: pinned under"), "{}", out.stderr);
    assert_eq!(readers(&out.alerts), ["cat"], "{}", out.stdout);

    // No daemon runs: the pinned programs go on writing into the pinned ring buffer.
    read_with("head", &marker);

    let second = Daemon::start_with(&extra, std::slice::from_ref(&rules));
    let status = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["status", "--json", "--socket"])
        .arg(second.socket())
        .output()
        .expect("palisade status");
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status json");
    let detection = status["detection"].as_str().unwrap_or_default();
    assert!(detection.starts_with("adopted pinned detection programs under"), "{status}");
    assert!(!detection.contains(": 0 records waiting"), "the gap's records waited: {detection}");
    let refused = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["detach", "--socket"])
        .arg(second.socket())
        .arg("--pin-root")
        .arg(&root.0)
        .output()
        .expect("palisade detach");
    assert!(!refused.status.success(), "detach refuses under a running daemon");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("another palisade daemon is running"));
    let out = second.stop();
    assert!(out.stderr.contains("palisade: detection: adopted pinned detection programs"), "{}", out.stderr);
    assert_eq!(readers(&out.alerts), ["head"], "the gap's read, once, and not the first daemon's again: {}", out.stdout);

    let dir = root.0.join(format!("detect-v{}", palisade_ebpf::abi::ABI_VERSION));
    assert!(dir.exists(), "the pins outlive the daemon");
    let detach = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["detach", "--socket"])
        .arg(scratch.join("no-daemon.sock"))
        .arg("--pin-root")
        .arg(&root.0)
        .output()
        .expect("palisade detach");
    let stdout = String::from_utf8_lossy(&detach.stdout);
    assert!(detach.status.success(), "{stdout}{}", String::from_utf8_lossy(&detach.stderr));
    assert!(stdout.contains(&format!("removed detection pins: {}", dir.display())), "{stdout}");
    assert!(!dir.exists(), "detach removed the pins");
    assert!(!root.0.exists(), "and the emptied root");
    let _ = std::fs::remove_dir_all(&scratch);
}
