//! `palisade-bench`, run as a developer runs it: its help, and each benchmark on small counts
//! with exact exit codes and the lines it prints. The rates are not asserted (they are what the
//! tool measures); the work done (events, alerts) is, because it is deterministic.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The shared test inputs (`PALISADE_SHARED` overrides `../../shared`, beside the checkout).
fn shared() -> PathBuf {
    std::env::var_os("PALISADE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade-bench")).args(args).output().expect("run palisade-bench")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One rule that fires on the stream's `cat /etc/shadow` event (one in container, one on the
/// host per cycle of 18 events).
const SHADOW_RULE: &str = "\
- rule: Shadow opened
  desc: a process opened /etc/shadow
  condition: evt.type = openat and fd.name = /etc/shadow
  output: \"shadow opened by %proc.name (container=%container.id)\"
  priority: WARNING
";

fn rule_file(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, text).expect("write rules");
    path.to_str().expect("utf-8 path").to_owned()
}

#[test]
fn help_lists_the_four_benchmarks_and_each_has_help() {
    let top = bench(&["--help"]);
    assert_eq!(top.status.code(), Some(0), "{}", stderr(&top));
    let text = stdout(&top);
    for sub in ["rules", "overhead", "k8s-audit", "replay"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(sub)), "no {sub} in:\n{text}");
        let help = bench(&[sub, "--help"]);
        assert_eq!(help.status.code(), Some(0), "{sub}: {}", stderr(&help));
        assert!(stdout(&help).contains("--rules-file <FILE>"), "{sub}:\n{}", stdout(&help));
    }
    assert!(stdout(&bench(&["overhead", "--help"])).contains("--daemon <PATH>"));
    // No subcommand is a usage error (clap's exit code 2), not a silent success.
    assert_eq!(bench(&[]).status.code(), Some(2));
}

#[test]
fn rules_counts_the_alerts_of_every_round_with_and_without_the_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = rule_file(&dir, SHADOW_RULE);
    let out = bench(&["rules", "-r", &rules, "--events", "1800", "--rounds", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], "rules: 1 active of 1 loaded; stream of 18 distinct events, 1800 per round, 1 rounds");
    // 100 cycles of the stream, two /etc/shadow opens per cycle: 200 alerts, index on or off.
    assert!(lines[1].starts_with("index  on:") && lines[1].ends_with(", 200 alerts per round"), "{text}");
    assert!(lines[2].starts_with("index off:") && lines[2].ends_with(", 200 alerts per round"), "{text}");
    assert!(lines[3].starts_with("index speed-up: "), "{text}");
}

#[test]
fn rules_refuses_zero_rounds_and_broken_rule_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = rule_file(&dir, SHADOW_RULE);
    let zero = bench(&["rules", "-r", &rules, "--rounds", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    assert_eq!(stderr(&zero).trim(), "palisade-bench: --rounds and --events must be at least 1");

    let broken = rule_file(&dir, "- rule: Broken\n  desc: d\n  condition: evt.type = (\n  output: o\n  priority: WARNING\n");
    let out = bench(&["rules", "-r", &broken, "--events", "10", "--rounds", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).ends_with("palisade-bench: rules have errors\n"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());

    let missing = bench(&["rules", "-r", "/nonexistent/rules.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).starts_with("palisade-bench: cannot read /nonexistent/rules.yaml"), "{}", stderr(&missing));
}

#[test]
fn replay_reads_the_whole_synthetic_capture_in_both_formats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = rule_file(&dir, SHADOW_RULE);
    let scap = bench(&["replay", "-r", &rules, "--events", "2000", "--rounds", "1"]);
    assert_eq!(scap.status.code(), Some(0), "{}", stderr(&scap));
    assert!(stdout(&scap).starts_with("replay: ") && stdout(&scap).ends_with(" events/s (median of 1 rounds, one thread)\n"));
    // The capture is built to at least the asked count (whole syscalls and fork/exec groups).
    assert!(stderr(&scap).contains("round 0: 2004 events (1985 evaluated, 0 alerts)"), "{}", stderr(&scap));

    let ours = bench(&["replay", "--format", "palisade", "-r", &rules, "--events", "2000", "--rounds", "1"]);
    assert_eq!(ours.status.code(), Some(0), "{}", stderr(&ours));
    assert!(stdout(&ours).starts_with("replay (Palisade capture): "), "{}", stdout(&ours));
    assert!(stderr(&ours).contains("round 0: 2000 records ("), "{}", stderr(&ours));

    let bad = bench(&["replay", "--format", "pcap", "-r", &rules]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn k8s_audit_posts_every_event_through_the_endpoint() {
    let falco = shared().join("falco");
    let rules = falco.join("k8saudit/k8s_audit_rules.yaml");
    let events = falco.join("traces/falco_legacy/trace_files/k8s_audit");
    assert!(events.is_dir(), "missing {} (set PALISADE_SHARED)", events.display());
    let out = bench(&[
        "k8s-audit",
        "-r",
        rules.to_str().expect("utf-8"),
        "--events-dir",
        events.to_str().expect("utf-8"),
        "--events",
        "400",
        "--batch",
        "100",
        "--clients",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("k8s audit: 400 events (51 samples, batches of 100, 2 clients) in "), "{text}");
    // Every event is evaluated once with `rule_matching: first`, so the alerts are a function of
    // the four bodies posted (samples 0..100, 1..101, 2..102, 3..103, cycled over the 51).
    assert!(text.contains(" events/s; 361 alerts ("), "{text}");

    // A zero batch would divide by zero; zero clients would wait 30 s for events never sent.
    for (flag, value) in [("--batch", "0"), ("--clients", "0"), ("--events", "0")] {
        let out = bench(&["k8s-audit", "-r", rules.to_str().expect("utf-8"), "--events-dir", events.to_str().expect("utf-8"), flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert_eq!(stderr(&out).trim(), "palisade-bench: --events, --batch and --clients must be at least 1");
    }

    let empty = tempfile::tempdir().expect("tempdir");
    let none = bench(&["k8s-audit", "-r", rules.to_str().expect("utf-8"), "--events-dir", empty.path().to_str().expect("utf-8")]);
    assert_eq!(none.status.code(), Some(2));
    assert_eq!(stderr(&none).trim(), format!("palisade-bench: no events in {}", empty.path().display()));
}

#[test]
fn overhead_names_the_daemon_it_could_not_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = rule_file(&dir, SHADOW_RULE);
    let out = bench(&[
        "overhead",
        "-r",
        &rules,
        "--rounds",
        "1",
        "--open-iterations",
        "10",
        "--exec-iterations",
        "2",
        "--daemon",
        "/nonexistent/palisade",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("palisade-bench: cannot start the daemon /nonexistent/palisade: "),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}
