//! `palisade capture` → `palisade replay`: a container scenario recorded by the running daemon
//! and replayed offline raises the very alerts the daemon raised live (every JSON field: rule,
//! time, output, output_fields, the profile decisions), and `replay --profile` /
//! `palisade profiles report` tell what an enforce-mode profile would have denied.
//!
//! Root only (containerd, runc, BPF). `PALISADE_ALLOW_SKIP_PRIVILEGED=1` turns "cannot run"
//! into a loud skip.

mod scenario;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::time::Duration;

use palisade_testbed::palisade::{replay, Binaries, Daemon, DaemonDir, DaemonOptions};
use palisade_testbed::{image, Containerd, CtrRun, Options, CTR_NAMESPACE};
use scenario::{alerts_of, upstream_rules, ACTIONS};
use serde_json::Value;

/// The debian image's profile while the scenario runs: audit mode, so every action happens and
/// the daemon reports what it would deny.
const AUDIT_PROFILE: &str = "name: debian-audit\nmatch:\n  images: [\"debian:*\"]\nmode: audit\n\
    deny_package_managers: true\n";

/// The profile a team considers enforcing: what would it have broken?
const CANDIDATE_PROFILE: &str = "name: debian-locked\nmatch:\n  images: [\"debian:*\"]\nmode: enforce\n\
    deny_shells: true\ndeny_package_managers: true\nimmutable:\n  enabled: true\n  allow_write: [/tmp]\n";

/// A directory removed at the end of the test.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The (setting, action, target, count) examples of a promotion report.
fn examples(report: &Value) -> BTreeSet<(String, String, String, u64)> {
    let mut out = BTreeSet::new();
    for s in report["settings"].as_array().into_iter().flatten() {
        for e in s["examples"].as_array().into_iter().flatten() {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            out.insert((text(&s["setting"]), text(&e["action"]), text(&e["target"]), e["count"].as_u64().unwrap_or(0)));
        }
    }
    out
}

fn tuple(setting: &str, action: &str, target: &str, count: u64) -> (String, String, String, u64) {
    (setting.to_owned(), action.to_owned(), target.to_owned(), count)
}

#[test]
fn a_captured_container_replays_with_the_alerts_seen_live() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let bins = Binaries::locate().expect("palisade binaries");
    let dir = DaemonDir::new().expect("daemon dir");
    let work = Scratch(std::env::temp_dir().join(palisade_testbed::unique_name("palisade-capture")));
    let profiles = work.path().join("profiles");
    std::fs::create_dir_all(&profiles).expect("mkdir");
    std::fs::write(profiles.join("debian.yaml"), AUDIT_PROFILE).expect("profile");
    let candidate = work.path().join("candidate.yaml");
    std::fs::write(&candidate, CANDIDATE_PROFILE).expect("candidate");
    let containerd = Containerd::start(Options {
        runc_binary: Some(bins.runc_wrapper.clone()),
        env: dir.wrapper_env(&bins),
        ..Default::default()
    })
    .expect("start containerd");
    let rules = upstream_rules();
    let options = DaemonOptions {
        rules: rules.clone(),
        host_monitoring: true,
        nri_socket: None,
        containerd_socket: Some(containerd.socket()),
        options: vec![format!("profiles_dir={}", profiles.display())],
    };
    let daemon = Daemon::start(&bins, &options, &dir).expect("start palisade");
    containerd.import(&image::debian().expect("debian image"), CTR_NAMESPACE).expect("import debian");

    // Capture A: everything the daemon sees, from before the container exists (its metadata
    // arrives during the capture).
    let whole = work.path().join("whole.palcap");
    let capture_whole = daemon.capture(&whole, None).expect("palisade capture (everything)");
    let web = palisade_testbed::unique_name("web");
    let mut run = CtrRun::new("docker.io/library/debian:12", &web, &["sleep", "300"]);
    run.runc_binary = Some(bins.runc_wrapper.clone());
    run.detach = true;
    run.rm = false;
    let out = containerd.ctr_run(&run).expect("ctr run web");
    assert!(out.success(), "ctr run web: {}", out.stderr);

    // Capture B: the container only, named by its name. An unknown container is refused.
    let limited = work.path().join("web.palcap");
    let refused = daemon.capture(&work.path().join("none.palcap"), Some("no-such-container"));
    assert!(refused.is_err_and(|e| e.to_string().contains("no container \"no-such-container\"")));
    assert!(!work.path().join("none.palcap").exists(), "a refused capture leaves no file");
    let capture_limited = daemon.capture(&limited, Some(&web)).expect("palisade capture --container");
    for action in ACTIONS {
        let out = containerd.ctr_exec(CTR_NAMESPACE, &web, action.args, false).expect("ctr exec");
        assert!(out.success() || action.may_fail, "{}: {}", action.rule, out.stderr);
    }
    // The same secret read on the host: in capture A, not in B.
    assert!(std::process::Command::new("cat").arg("/etc/shadow").output().expect("cat").status.success());
    std::thread::sleep(Duration::from_millis(300)); // a few drains
    let report = daemon.profiles_report(&web).expect("palisade profiles report");
    for (capture, name) in [(capture_limited, "limited"), (capture_whole, "whole")] {
        let printed = capture.stop().unwrap_or_else(|e| panic!("capture {name}: {e}"));
        assert!(printed.contains("capture ended (stopped):") && printed.contains(" 0 kernel drops"), "{name}: {printed}");
    }

    containerd.ctr_rm(CTR_NAMESPACE, &web).expect("rm web");
    let out = daemon.stop().expect("stop palisade");
    assert!(out.stderr.contains("drops=0"), "no record lost:\n{}", out.stderr);

    // Live: every action's rule, and the audit profile's package-manager decision.
    let live: Vec<&Value> = alerts_of(&out.alerts, &web);
    let live_rules: BTreeSet<&str> = live.iter().filter_map(|a| a["rule"].as_str()).collect();
    for action in ACTIONS {
        assert!(live_rules.contains(action.rule), "{} live: {live_rules:?}", action.rule);
    }
    let live_all: BTreeSet<String> = out.alerts.iter().map(Value::to_string).collect();
    let live_web: BTreeSet<String> = live.iter().map(|a| a.to_string()).collect();
    let host_cat = |a: &Value| {
        a["rule"] == "Read sensitive file untrusted" && a["output_fields"]["container.id"] == "host" && a["output_fields"]["proc.name"] == "cat"
    };
    assert!(out.alerts.iter().any(host_cat), "the host's cat alerted live");

    let replay_json = |file: &std::path::Path| {
        let mut args: Vec<&OsStr> = vec![OsStr::new("--json"), OsStr::new("--rule-matching"), OsStr::new("all")];
        for r in &rules {
            args.extend([OsStr::new("-r"), r.as_os_str()]);
        }
        args.push(file.as_os_str());
        replay(&bins, &args).unwrap_or_else(|e| panic!("palisade replay {}: {e}", file.display()))
    };
    // Replay A: every alert was raised live, field for field (time, output, output_fields,
    // profile decisions); the container's alerts are exactly the live ones.
    let (replayed, stderr) = replay_json(&whole);
    assert!(stderr.contains("ended: stopped; 0 kernel drops while capturing"), "{stderr}");
    let replayed_all: BTreeSet<String> = replayed.iter().map(Value::to_string).collect();
    let not_live: Vec<&String> = replayed_all.difference(&live_all).collect();
    assert!(not_live.is_empty(), "replay raised alerts the daemon did not:\n{not_live:#?}");
    let replayed_web: BTreeSet<String> = alerts_of(&replayed, &web).iter().map(|a| a.to_string()).collect();
    assert_eq!(replayed_web, live_web, "the container's alerts, replayed");
    assert!(replayed.iter().any(host_cat), "the host's cat, replayed");

    // Replay B: only the container's events are evaluated; each of its alerts was raised live,
    // and every action's alert (and the profile decision) is there.
    let (replayed, _) = replay_json(&limited);
    assert!(replayed.iter().all(|a| a["output_fields"]["container.name"] == web.as_str()), "only the container's events");
    let limited_set: BTreeSet<String> = replayed.iter().map(Value::to_string).collect();
    assert!(limited_set.is_subset(&live_web), "{:#?}", limited_set.difference(&live_web).collect::<Vec<_>>());
    for action in ACTIONS {
        let live_action: Vec<&&Value> = live.iter().filter(|a| a["rule"] == action.rule).collect();
        assert!(live_action.iter().all(|a| limited_set.contains(&a.to_string())), "{} replayed from B", action.rule);
    }
    let decisions: Vec<&Value> = replayed.iter().filter(|a| a["rule"] == "Palisade enforcement").collect();
    assert_eq!(decisions.len(), 1, "apt-get, judged by the captured audit profile: {decisions:?}");
    assert_eq!((&decisions[0]["profile"], &decisions[0]["enforced"]), (&Value::from("debian-audit"), &Value::from(false)));

    // The daemon's report for the running container: its audit profile's one decision.
    assert_eq!(report["container_name"], web.as_str(), "{report}");
    assert_eq!((&report["report"]["profile"], &report["report"]["mode"]), (&Value::from("debian-audit"), &Value::from("audit")));
    assert_eq!(examples(&report["report"]), BTreeSet::from([tuple("deny_package_managers", "exec", "/usr/bin/apt-get", 1)]), "{report}");

    // What the candidate profile would have denied in the same recording.
    let (lines, stderr) = replay(&bins, &[OsStr::new("--json"), OsStr::new("--profile"), candidate.as_os_str(), limited.as_os_str()])
        .expect("palisade replay --profile");
    assert_eq!(lines.len(), 1, "one report: {lines:?}\n{stderr}");
    let candidate_report = &lines[0];
    assert_eq!(candidate_report["profile"], "debian-locked");
    assert_eq!(
        examples(candidate_report),
        BTreeSet::from([
            tuple("deny_package_managers", "exec", "/usr/bin/apt-get", 1),
            tuple("deny_shells", "exec", "/bin/sh", 2),
            tuple("immutable", "write", "/etc/palisade-dropped", 1),
            tuple("immutable", "write", "/usr/bin/palisade-dropped", 1),
            tuple("immutable", "write", "/var/log/app.log", 1),
            tuple("immutable", "write", "/root/true", 1),
            // W^X: a program written into the root (its upper layer) and run.
            tuple("immutable", "exec", "/root/true", 1),
        ]),
        "{candidate_report}"
    );
}
