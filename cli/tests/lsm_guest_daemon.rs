//! The daemon enforcing through BPF-LSM, end to end, in the QEMU guest that boots Debian's 6.1
//! cloud kernel (this host refuses LSM programs): `palisade run` (this crate's binary and its
//! shared libraries, copied into the initramfs) picks the BPF-LSM backend, a container is armed
//! through the hook socket exactly as `palisade-hook` does it at `createRuntime`, and its
//! entrypoint's attacks must fail with EPERM and come back as `Palisade enforcement` alerts with
//! `enforced: true` and `backend: "bpf-lsm"`. Then a rolling restart (SIGTERM, attacks with no
//! daemon running, the daemon started again): enforcement never stops, and the successor, which
//! knows the container only from its state file (no containerd in the guest), reports the
//! decisions of the gap with the container's metadata, exactly one alert each. The guest side
//! is lsm-vm-check's `daemon`
//! (lsm/src/bin/lsm-vm-check/daemon.rs); the QEMU plumbing is lsm/tests/guest/mod.rs.
//!
//! Needs tests/lsm-vm/install-deps.sh, and `strip` (binutils) to keep the initramfs small.
//! Missing pieces fail the test unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.

#[path = "../../lsm/tests/guest/mod.rs"]
mod guest;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

/// The daemon's two starts dominate: ~20 s each under TCG (detection and LSM programs verified
/// and attached by an emulated CPU), ~70 s for the whole guest.
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);

/// The stripped daemon at `dir/palisade`, plus the shared libraries `ldd` names, as
/// (host file, guest path) pairs: the guest runs the host's dynamic binary unchanged.
fn daemon_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let bin = Path::new(env!("CARGO_BIN_EXE_palisade"));
    std::fs::create_dir_all(dir).expect("work dir");
    let stripped = dir.join("palisade");
    let status = Command::new("strip").arg("-o").arg(&stripped).arg(bin).status().expect("run strip (binutils)");
    assert!(status.success(), "strip {}: {status}", bin.display());
    let mut files = vec![(stripped, "/palisade".to_owned())];
    let ldd = Command::new("ldd").arg(bin).output().expect("run ldd");
    assert!(ldd.status.success(), "ldd {}", bin.display());
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = line.split("=>").last().and_then(|s| s.split_whitespace().next()).filter(|p| p.starts_with('/'));
        if let Some(path) = path {
            let real = std::fs::canonicalize(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            files.push((real, path.to_owned()));
        }
    }
    files
}

/// The JSON documents the guest printed as `LSMVMJSON <kind> <json>`.
fn json_lines(console: &str, kind: &str) -> Vec<Value> {
    let prefix = format!("LSMVMJSON {kind} ");
    console
        .lines()
        .filter_map(|l| l.find(&prefix).map(|i| l[i + prefix.len()..].trim_end_matches('\r')))
        .map(|j| serde_json::from_str(j).unwrap_or_else(|e| panic!("{kind}: {e}: {j}")))
        .collect()
}

/// (phase, case, expected `key=value` fields of its `LSMVM case` line).
type Case = (&'static str, &'static str, &'static [(&'static str, &'static str)]);

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("<absent>")
}

#[test]
fn the_daemon_enforces_a_hooked_container_through_bpf_lsm_in_a_6_1_guest() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lsm-guest-daemon-files");
    let options = guest::Options {
        name: "lsm-guest-daemon",
        append: "lsmvm.mode=daemon",
        timeout: BOOT_TIMEOUT,
        release: false,
        icount: false,
        extra: daemon_files(&work),
    };
    let Some(boot) = guest::boot(&options) else { return };
    let log = boot.log.display();
    guest::step_ok(&boot, "daemon");
    assert!(boot.console.contains("palisade: enforcement backend: bpf-lsm"), "the daemon chose BPF-LSM; console in {log}");

    // The hook's createRuntime request armed the container in enforce mode; poststop was acknowledged.
    let reply = &json_lines(&boot.console, "hook-reply")[..];
    assert_eq!(reply.len(), 1, "one createRuntime reply; console in {log}");
    assert_eq!((text(&reply[0], "/reply"), text(&reply[0], "/container_id"), text(&reply[0], "/mode")), ("armed", "c1", "enforce"));
    assert_eq!(text(&json_lines(&boot.console, "poststop-reply")[0], "/reply"), "ok");

    // The runtime's mounts before the init's exec pass; the entrypoint's attacks fail with EPERM
    // (the file unchanged, nothing created); writes beneath allow_write and to the volume pass;
    // after poststop the cgroup is disarmed.
    let expected: [Case; 19] = [
        ("daemon", "before_exec_mount", &[("result", "ok")]),
        ("daemon", "before_exec_mount_api", &[("result", "ok"), ("prep", "ok")]),
        ("daemon", "other_exec", &[("result", "ok")]),
        ("daemon", "after_other_exec_mount", &[("result", "ok")]),
        ("daemon", "exec_busybox", &[("result", "errno=1")]),
        ("daemon", "exec_shell", &[("result", "errno=1")]),
        ("daemon", "exec_package_manager", &[("result", "errno=1")]),
        ("daemon", "open_write", &[("result", "errno=1"), ("content", "unchanged")]),
        ("daemon", "create", &[("result", "errno=1"), ("exists", "false")]),
        ("daemon", "mount", &[("result", "errno=1")]),
        ("daemon", "mount_api", &[("result", "errno=1"), ("prep", "ok")]),
        ("daemon", "allow_write_create", &[("result", "ok"), ("exists", "true")]),
        ("daemon", "volume_write", &[("result", "ok")]),
        // No daemon runs: the pinned programs and c1's policy still refuse.
        ("daemon-restart", "exec_shell", &[("result", "errno=1")]),
        ("daemon-restart", "open_write", &[("result", "errno=1"), ("content", "unchanged")]),
        // The successor re-armed c1 from its state file.
        ("daemon-restarted", "exec_shell", &[("result", "errno=1")]),
        ("daemon-restarted", "open_write", &[("result", "errno=1"), ("content", "unchanged")]),
        ("daemon-stopped", "exec_shell", &[("result", "ok")]),
        ("daemon-stopped", "mount", &[("result", "ok")]),
    ];
    let mut failures = Vec::new();
    for (phase, name, want) in expected {
        let case = boot.lines.iter().find(|l| l.kind == "case" && l.get("phase") == phase && l.get("name") == name);
        let Some(case) = case else {
            failures.push(format!("{phase}/{name}: no output"));
            continue;
        };
        for (key, value) in want {
            if case.get(key) != *value {
                failures.push(format!("{phase}/{name}: {key}={} (want {value})", case.get(key)));
            }
        }
    }

    let stops: Vec<(&str, &str)> =
        boot.lines.iter().filter(|l| l.kind == "daemon-stopped").map(|l| (l.get("signal"), l.get("status"))).collect();
    assert_eq!(stops, [("SIGTERM", "0"), ("SIGINT", "0")], "a clean stop at each signal; console in {log}");
    if !boot.console.contains("re-armed a container from the state file") {
        failures.push("the successor did not re-arm c1 from its state file".to_owned());
    }

    // Every alert: the kernel's decisions as Palisade enforcement alerts, and the detection rule's
    // alert for the runtime-side busybox exec: the same container metadata on all. The alerts
    // are split where the first daemon stopped and where the successor had reported the gap.
    let container = boot.lines.iter().find(|l| l.kind == "daemon-container").expect("daemon-container line");
    let init_pid: u64 = container.get("pid").parse().expect("pid");
    let alerts = json_lines(&boot.console, "alert");
    let mark = |at: &str| -> usize {
        let line = boot.lines.iter().find(|l| l.kind == "alert-mark" && l.get("at") == at);
        line.unwrap_or_else(|| panic!("no alert-mark at={at}; console in {log}")).get("count").parse().expect("count")
    };
    let (first, restart) = (mark("first"), mark("restart"));
    assert!(first <= restart && restart <= alerts.len(), "marks {first} {restart} of {} alerts; console in {log}", alerts.len());
    let first_want = [
        ("exec", "/bin/busybox", "shell"),
        ("exec", "/bin/sh", "shell"),
        ("exec", "/bin/apt-get", "package_manager"),
        ("open_write", "/etc/f-write", "immutable"),
        ("create", "/etc/f-new-daemon", "immutable"),
        ("mount", "/mnt", "immutable"),
        ("mount", "/mnt", "immutable"),
    ];
    let restart_want = [("exec", "/bin/sh", "shell"), ("open_write", "/etc/f-write", "immutable")];
    let mut detections = check_alerts("first daemon", &alerts[..first], &first_want, Some(init_pid), &mut failures);
    detections += check_alerts("gap, reported by the successor", &alerts[first..restart], &restart_want, None, &mut failures);
    detections += check_alerts("after the restart", &alerts[restart..], &restart_want, None, &mut failures);
    if detections != 1 {
        failures.push(format!("{detections} 'Busybox in container' alerts, want 1"));
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}\nconsole in {log}", failures.len(), failures.join("\n"));
}

/// Checks `alerts` (one part of the run) against `want`, the (action, target, reason) of each
/// enforcement alert expected, exactly once each; with `entrypoint`, that the entrypoint itself
/// wrote and mounted and a child of it exec'd. Returns how many detection alerts it held.
fn check_alerts(part: &str, alerts: &[Value], want: &[(&str, &str, &str)], entrypoint: Option<u64>, failures: &mut Vec<String>) -> usize {
    let mut want = want.to_vec();
    let mut detections = 0;
    for a in alerts {
        let field = |k: &str| a.get("output_fields").and_then(|f| f.get(k)).cloned().unwrap_or(Value::Null);
        let container_fields = (field("container.id"), field("container.name"));
        if container_fields != (Value::from("c1"), Value::from("web")) {
            failures.push(format!("{part}: alert without the container's metadata: {a}"));
        }
        match text(a, "/rule") {
            "Busybox in container" => detections += 1,
            "Palisade enforcement" => {
                let key = (text(a, "/output_fields/palisade.action"), text(a, "/output_fields/palisade.target"), text(a, "/output_fields/palisade.reason"));
                match want.iter().position(|w| *w == key) {
                    Some(i) => {
                        want.remove(i);
                    }
                    None => failures.push(format!("{part}: unexpected enforcement alert {key:?}: {a}")),
                }
                let verdict = (a.get("enforced"), text(a, "/backend"), text(a, "/profile"), text(a, "/mode"), text(a, "/priority"), text(a, "/source"));
                if verdict != (Some(&Value::Bool(true)), "bpf-lsm", "app", "enforce", "Warning", "syscall") {
                    failures.push(format!("{part}: enforced/backend/profile/mode/priority/source {verdict:?}: {a}"));
                }
                let process = (field("evt.res"), field("proc.name"), field("container.image.repository"));
                if process != (Value::from("EPERM"), Value::from("lsm-vm-check"), Value::from("app")) {
                    failures.push(format!("{part}: evt.res/proc.name/image {process:?}: {a}"));
                }
                // The entrypoint itself writes and mounts; an exec case runs in a child it forks.
                let pid = field("proc.pid").as_u64().unwrap_or(0);
                if entrypoint.is_some_and(|init_pid| (key.0 == "exec") == (pid == init_pid)) || pid == 0 {
                    failures.push(format!("{part}: proc.pid {pid} (the entrypoint is pid {entrypoint:?}): {a}"));
                }
                // Falco's output: "<time>: <Priority> <text>".
                let says = format!(": Warning Palisade denied {} of {} ({}) | profile=app mode=enforce", key.0, key.1, key.2);
                if !text(a, "/output").contains(&says) {
                    failures.push(format!("{part}: output lacks {says:?}: {}", text(a, "/output")));
                }
            }
            other => failures.push(format!("{part}: unexpected rule {other}: {a}")),
        }
    }
    failures.extend(want.iter().map(|w| format!("{part}: missing enforcement alert {w:?}")));
    detections
}
