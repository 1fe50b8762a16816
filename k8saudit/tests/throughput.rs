//! Micro-benchmark: events per second of evaluating the upstream `k8s_audit_rules.yaml`
//! over the legacy suite's sample audit events, looped. Ignored by default; run with
//! `cargo test --release -p palisade-k8saudit --test throughput -- --ignored --nocapture`.

mod common;

use std::time::{Duration, Instant};

use palisade_k8saudit::{parse_payload, AuditEvent};

use palisade_rules::{RuleMatching, Ruleset, Source};

const RUN_FOR: Duration = Duration::from_secs(2);

/// Every event of every sample trace, with the raw bytes of each trace.
fn samples() -> (Vec<AuditEvent>, Vec<Vec<u8>>) {
    let dir = common::legacy_dir().join("trace_files/k8s_audit");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut events = Vec::new();
    let mut raw = Vec::new();
    for p in paths {
        events.extend(common::read_trace(&p).0);
        raw.push(std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display())));
    }
    (events, raw)
}

/// Run `pass` (which handles `per_pass` events) repeatedly for [`RUN_FOR`]; events/s.
fn rate(per_pass: usize, mut pass: impl FnMut() -> usize) -> (f64, usize) {
    let start = Instant::now();
    let mut events = 0;
    let mut alerts = 0;
    while start.elapsed() < RUN_FOR {
        alerts += pass();
        events += per_pass;
    }
    (events as f64 / start.elapsed().as_secs_f64(), alerts)
}

fn evaluate_all(rules: &Ruleset, events: &[AuditEvent]) -> usize {
    let mut hits = Vec::new();
    let mut alerts = 0;
    for e in events {
        rules.evaluate(Source::K8sAudit, e, &mut hits);
        alerts += hits.len();
    }
    alerts
}

#[test]
#[ignore = "benchmark; run with --release --ignored --nocapture"]
fn upstream_rules_events_per_second() {
    let mut rules = common::load_rules(&[common::falco_dir().join("k8saudit/k8s_audit_rules.yaml")], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let (events, raw) = samples();
    let active = rules.active_rules(Source::K8sAudit).count();
    eprintln!("{} sample events from {} traces", events.len(), raw.len());

    for matching in [RuleMatching::First, RuleMatching::All] {
        rules.set_rule_matching(matching);
        let (eps, alerts) = rate(events.len(), || evaluate_all(&rules, &events));
        eprintln!("evaluate ({matching:?}, {active} rules): {eps:.0} events/s ({alerts} alerts)");
    }

    rules.set_rule_matching(RuleMatching::First);
    let (eps, _) = rate(events.len(), || {
        raw.iter().map(|bytes| evaluate_all(&rules, &parse_payload(bytes).0)).sum()
    });
    eprintln!("parse + evaluate (First): {eps:.0} events/s");
    assert!(eps > 0.0);
}
