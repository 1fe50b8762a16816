//! Privileged, end to end: `palisade run` with Falco's three syscall rule files, unmodified,
//! raises exactly the named upstream rule for an action written from the rule's condition,
//! with the right `proc.name`, `fd.name` / `proc.cmdline` / `evt.arg.*` and `user.name`, and
//! nothing of that rule for a benign control action next to it. Actions follow Falco's event
//! generator where it has one (shared/falco/conformance/event_generator_actions.md).
//!
//! Needs root and a kernel with BTF; fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.
//! "Execution from /dev/shm" is covered by run_exec.rs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Run a command; it must start (its exit status is the action's business: `ln` over a
/// cross-device link fails, and the rule fires on the attempt).
fn run(dir: &Path, program: &str, args: &[&str]) {
    Command::new(program).args(args).current_dir(dir).status().unwrap_or_else(|e| panic!("run {program}: {e}"));
}

/// A scratch directory with a unique name, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let p = std::env::temp_dir().join(format!("palisade-rules-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("scratch dir");
        Scratch(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn file(&self, name: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, "x").expect("scratch file");
        p.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One expectation: an alert of `rule` whose output fields include every pair in `fields`.
struct Expect {
    rule: &'static str,
    fields: Vec<(&'static str, String)>,
}

fn field_matches(alert: &Value, key: &str, want: &str) -> bool {
    match &alert["output_fields"][key] {
        Value::String(s) => s == want,
        Value::Number(n) => n.to_string() == want,
        _ => false,
    }
}

fn matching<'a>(alerts: &'a [Value], e: &Expect) -> Vec<&'a Value> {
    alerts
        .iter()
        .filter(|a| a["rule"] == e.rule && e.fields.iter().all(|(k, v)| field_matches(a, k, v)))
        .collect()
}

fn root_fields(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = pairs.iter().map(|(k, val)| (*k, val.to_string())).collect();
    v.push(("user.name", "root".into()));
    v
}

#[test]
fn upstream_rules_fire_on_their_actions_and_not_on_controls() {
    if !common::privileged() {
        return;
    }
    let scratch = Scratch::new();
    let dir = scratch.0.clone();
    let d = dir.display().to_string();
    let marker = format!("palisade-{}", std::process::id());
    let etc_file = format!("/etc/{marker}");
    let dev_file = format!("/dev/{marker}");
    let log_file = format!("/var/log/{marker}.log");
    std::fs::create_dir_all("/var/log").expect("/var/log");
    // Created without O_TRUNC, so creating it is no log clearing itself.
    std::fs::OpenOptions::new().create(true).append(true).open(&log_file).expect("log file");
    let history = scratch.file(".bash_history");
    let notes = scratch.file("notes.txt");
    let shred_me = scratch.file("secret.bin");
    let setuid_file = scratch.file("tool");
    let plain_file = scratch.file("plain");
    let nc = scratch.path("nc");
    std::fs::copy("/bin/true", &nc).expect("nc stand-in");
    // A program run from /dev/shm, and the same program run from the scratch dir.
    let shm_exe = format!("/dev/shm/{marker}");
    std::fs::copy("/bin/true", &shm_exe).expect("copy to /dev/shm");
    let tmp_exe = scratch.path(&marker);
    std::fs::copy("/bin/true", &tmp_exe).expect("copy to scratch");

    let daemon = common::Daemon::start(&common::upstream_rule_files());
    // Actions, each next to its control.
    run(&dir, "cat", &["/etc/shadow"]);
    run(&dir, "cat", &["/etc/hostname"]);
    run(&dir, "touch", &[&etc_file]);
    run(&dir, "touch", &[&format!("{d}/not-etc")]);
    run(&dir, "ln", &["-s", "/etc/shadow", &format!("{d}/shadow-link")]);
    run(&dir, "ln", &["-s", "/etc/hostname", &format!("{d}/hostname-link")]);
    run(&dir, "ln", &["/etc/shadow", &format!("{d}/shadow-hard")]);
    run(&dir, "ln", &["/etc/hostname", &format!("{d}/hostname-hard")]);
    run(&dir, "cp", &["/dev/null", &log_file]);
    run(&dir, "cp", &["/dev/null", &format!("{d}/app.log")]);
    run(&dir, "rm", &[&history]);
    run(&dir, "rm", &[&notes]);
    run(&dir, "chmod", &["u+s", &setuid_file]);
    run(&dir, "chmod", &["0755", &plain_file]);
    run(&dir, "find", &[&d, "-name", "id_rsa"]);
    run(&dir, "find", &[&d, "-name", "notes"]);
    run(&dir, "grep", &["-r", "aws_secret_access_key", &d]);
    run(&dir, "grep", &["-r", "hello", &d]);
    run(&dir, "shred", &["-u", &shred_me]);
    run(&dir, "touch", &[&dev_file]);
    run(&dir, "cat", &["/tmp/../../etc/passwd"]);
    run(&dir, "cat", &["/etc/passwd"]);
    run(&dir, nc.to_str().expect("utf-8"), &["-e", "/bin/sh", "127.0.0.1", "4444"]);
    run(&dir, &shm_exe, &[]);
    run(&dir, tmp_exe.to_str().expect("utf-8"), &[]);
    let out = daemon.stop();
    let _ = std::fs::remove_file(&shm_exe);
    let _ = std::fs::remove_file(&etc_file);
    let _ = std::fs::remove_file(&dev_file);
    let _ = std::fs::remove_file(&log_file);
    assert!(out.stderr.contains("drops=0"), "records were lost:\n{}", out.stderr);

    let alerts = &out.alerts;
    let expectations = [
        Expect { rule: "Read sensitive file untrusted", fields: root_fields(&[("proc.name", "cat"), ("fd.name", "/etc/shadow")]) },
        Expect { rule: "Write below etc", fields: root_fields(&[("proc.name", "touch"), ("fd.name", &etc_file)]) },
        Expect {
            rule: "Create Symlink Over Sensitive Files",
            fields: root_fields(&[("proc.name", "ln"), ("evt.arg.target", "/etc/shadow")]),
        },
        Expect {
            rule: "Create Hardlink Over Sensitive Files",
            fields: root_fields(&[("proc.name", "ln"), ("evt.arg.oldpath", "/etc/shadow")]),
        },
        Expect { rule: "Clear Log Activities", fields: root_fields(&[("proc.name", "cp"), ("fd.name", &log_file)]) },
        Expect {
            rule: "Delete or rename shell history",
            fields: root_fields(&[("proc.name", "rm"), ("evt.arg.name", &history)]),
        },
        Expect {
            rule: "Set Setuid or Setgid bit",
            fields: root_fields(&[("proc.name", "chmod"), ("evt.arg.filename", &setuid_file)]),
        },
        Expect {
            rule: "Search Private Keys or Passwords",
            fields: root_fields(&[("proc.name", "find"), ("proc.cmdline", &format!("find {d} -name id_rsa"))]),
        },
        Expect {
            rule: "Find AWS Credentials",
            fields: root_fields(&[("proc.name", "grep"), ("proc.cmdline", &format!("grep -r aws_secret_access_key {d}"))]),
        },
        Expect {
            rule: "Remove Bulk Data from Disk",
            fields: root_fields(&[("proc.name", "shred"), ("proc.cmdline", &format!("shred -u {shred_me}"))]),
        },
        Expect { rule: "Create files below dev", fields: root_fields(&[("proc.name", "touch"), ("fd.name", &dev_file)]) },
        Expect {
            rule: "Execution from /dev/shm",
            fields: root_fields(&[("proc.name", &marker[..marker.len().min(15)]), ("proc.exepath", &shm_exe)]),
        },
        Expect {
            rule: "Directory traversal monitored file read",
            fields: root_fields(&[("proc.name", "cat"), ("fd.name", "/etc/passwd"), ("fd.nameraw", "/tmp/../../etc/passwd")]),
        },
    ];
    let mut failures = Vec::new();
    for e in &expectations {
        let hits = matching(alerts, e);
        if hits.len() != 1 {
            failures.push(format!("{}: {} alerts with {:?}", e.rule, hits.len(), e.fields));
        }
    }
    // Controls: none of these rules fired for anything but its action.
    let action_hits: usize = expectations.iter().map(|e| matching(alerts, e).len()).sum();
    let rule_names: Vec<&str> = expectations.iter().map(|e| e.rule).collect();
    let ours = |a: &&Value| {
        let text = a["output"].as_str().unwrap_or_default();
        ["/etc/shadow", "/etc/hostname", "/etc/passwd", &d, &marker].iter().any(|s| text.contains(s))
    };
    let ours_of_these_rules =
        alerts.iter().filter(ours).filter(|a| rule_names.iter().any(|r| a["rule"] == *r)).count();
    if ours_of_these_rules != action_hits {
        failures.push(format!("{} alerts of these rules beyond the actions' {action_hits}", ours_of_these_rules));
    }
    // On the host, netcat with -e is no container RCE.
    if alerts.iter().any(|a| a["rule"] == "Netcat Remote Code Execution in Container") {
        failures.push("Netcat Remote Code Execution in Container fired on the host".into());
    }
    let ours_all: Vec<&Value> = alerts.iter().filter(ours).collect();
    assert!(failures.is_empty(), "{}\nour alerts:\n{ours_all:#?}", failures.join("\n"));
}
