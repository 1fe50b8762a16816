//! Unit tests of the families and their encoding.

use super::*;

fn sample_lines(metrics: &Metrics) -> Vec<String> {
    metrics
        .encode()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn has_line(metrics: &Metrics, expected: &str) -> bool {
    sample_lines(metrics).iter().any(|line| line == expected)
}

#[test]
fn every_family_is_encoded_with_its_type() {
    let metrics = Metrics::new();
    metrics.event("execve");
    metrics.alert("Terminal shell in container", "Notice");
    metrics.decision("default", true);
    metrics.set_kernel_drops(3);
    metrics.set_output_stats("stdout", 4, 1);
    metrics.set_outputs_queue(1, 2, 3);
    metrics.set_containers(5);
    metrics.rules_load_error();
    metrics.reload(true);
    metrics.set_rules_loaded(7);
    let text = metrics.encode();
    for (family, kind) in [
        ("palisade_events", "counter"),
        ("palisade_alerts", "counter"),
        ("palisade_enforcement_decisions", "counter"),
        ("palisade_kernel_drops", "counter"),
        ("palisade_output_delivered", "counter"),
        ("palisade_output_failed", "counter"),
        ("palisade_outputs_queue_depth", "gauge"),
        ("palisade_outputs_queue_capacity", "gauge"),
        ("palisade_outputs_dropped", "counter"),
        ("palisade_containers_tracked", "gauge"),
        ("palisade_rules_load_errors", "counter"),
        ("palisade_reloads", "counter"),
        ("palisade_rules_loaded", "gauge"),
    ] {
        assert!(
            text.contains(&format!("\n# TYPE {family} {kind}\n")),
            "{family} in\n{text}"
        );
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "{family} in\n{text}"
        );
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
    for expected in [
        r#"palisade_events_total{evt_type="execve"} 1"#,
        r#"palisade_alerts_total{rule="Terminal shell in container",priority="Notice"} 1"#,
        r#"palisade_enforcement_decisions_total{profile="default",enforced="true"} 1"#,
        r#"palisade_enforcement_decisions_total{profile="default",enforced="false"} 0"#,
        "palisade_kernel_drops_total 3",
        r#"palisade_output_delivered_total{output="stdout"} 4"#,
        r#"palisade_output_failed_total{output="stdout"} 1"#,
        "palisade_outputs_queue_depth 1",
        "palisade_outputs_queue_capacity 2",
        "palisade_outputs_dropped_total 3",
        "palisade_containers_tracked 5",
        "palisade_rules_load_errors_total 1",
        r#"palisade_reloads_total{result="ok"} 1"#,
        r#"palisade_reloads_total{result="error"} 0"#,
        "palisade_rules_loaded 7",
    ] {
        assert!(
            text.lines().any(|line| line == expected),
            "{expected} in\n{text}"
        );
    }
}

#[test]
fn unlabelled_families_and_reloads_are_encoded_before_any_call() {
    let text = Metrics::new().encode();
    assert!(text.contains("\npalisade_kernel_drops_total 0\n"), "{text}");
    assert!(text.contains("\npalisade_alerts_aggregated_total 0\n"), "{text}");
    assert!(
        text.contains("\npalisade_reloads_total{result=\"error\"} 0\n"),
        "{text}"
    );
    // prometheus-client leaves out a labelled family until it has a series.
    assert!(!text.contains("palisade_events"), "{text}");
}

#[test]
fn label_values_are_escaped() {
    let metrics = Metrics::new();
    metrics.alert(r#"Read sensitive file "untrusted" (v2)"#, "Warning");
    metrics.alert("back\\slash\nnew line", "Critical");
    metrics.event(r#"evt"type"#);
    assert!(has_line(
        &metrics,
        r#"palisade_alerts_total{rule="Read sensitive file \"untrusted\" (v2)",priority="Warning"} 1"#
    ));
    assert!(has_line(
        &metrics,
        r#"palisade_alerts_total{rule="back\\slash\nnew line",priority="Critical"} 1"#
    ));
    assert!(has_line(
        &metrics,
        r#"palisade_events_total{evt_type="evt\"type"} 1"#
    ));
}

#[test]
fn counts_accumulate_per_label_set() {
    let metrics = Metrics::new();
    for _ in 0..3 {
        metrics.event("openat");
    }
    metrics.event("execve");
    metrics.alert("R", "Warning");
    metrics.alert("R", "Warning");
    metrics.alert("R", "Critical");
    metrics.decision("strict", false);
    metrics.decision("strict", false);
    metrics.reload(false);
    assert!(has_line(
        &metrics,
        r#"palisade_events_total{evt_type="openat"} 3"#
    ));
    assert!(has_line(
        &metrics,
        r#"palisade_events_total{evt_type="execve"} 1"#
    ));
    assert!(has_line(
        &metrics,
        r#"palisade_alerts_total{rule="R",priority="Warning"} 2"#
    ));
    assert!(has_line(
        &metrics,
        r#"palisade_alerts_total{rule="R",priority="Critical"} 1"#
    ));
    assert!(has_line(
        &metrics,
        r#"palisade_enforcement_decisions_total{profile="strict",enforced="false"} 2"#
    ));
    assert!(has_line(
        &metrics,
        r#"palisade_reloads_total{result="error"} 1"#
    ));
}

#[test]
fn running_totals_never_go_backwards() {
    let total = RunningTotal::default();
    let mut seen = Vec::new();
    // 10, 15, then the source restarts and counts 3, then 5.
    for observed in [10, 15, 15, 3, 5, 0, 0, 2] {
        total.observe(observed);
        seen.push(total.get());
    }
    assert_eq!(seen, [10, 15, 15, 18, 20, 20, 20, 22]);

    let metrics = Metrics::new();
    metrics.set_kernel_drops(100);
    metrics.set_kernel_drops(40);
    assert!(has_line(&metrics, "palisade_kernel_drops_total 140"));
    metrics.set_output_stats("http", 10, 2);
    metrics.set_output_stats("http", 1, 2);
    assert!(has_line(
        &metrics,
        r#"palisade_output_delivered_total{output="http"} 11"#
    ));
    assert!(has_line(
        &metrics,
        r#"palisade_output_failed_total{output="http"} 2"#
    ));
    metrics.set_outputs_queue(0, 8, 7);
    metrics.set_outputs_queue(0, 8, 9);
    assert!(has_line(&metrics, "palisade_outputs_dropped_total 9"));
}

#[test]
fn gauges_follow_the_last_value_and_saturate() {
    let metrics = Metrics::new();
    metrics.set_containers(9);
    metrics.set_containers(2);
    metrics.set_rules_loaded(u64::MAX);
    assert!(has_line(&metrics, "palisade_containers_tracked 2"));
    assert!(has_line(
        &metrics,
        &format!("palisade_rules_loaded {}", i64::MAX)
    ));
}

#[test]
fn series_beyond_the_cap_share_the_overflow_series() {
    let metrics = Metrics::new();
    for n in 0..MAX_SERIES_PER_FAMILY + 5 {
        metrics.event(&format!("type{n}"));
    }
    metrics.event("type0");
    let lines = sample_lines(&metrics);
    let events = lines
        .iter()
        .filter(|line| line.starts_with("palisade_events_total"))
        .count();
    assert_eq!(events, MAX_SERIES_PER_FAMILY + 1);
    assert!(lines
        .iter()
        .any(|line| line == r#"palisade_events_total{evt_type="type0"} 2"#));
    assert!(lines
        .iter()
        .any(|line| line == r#"palisade_events_total{evt_type="__overflow__"} 5"#));
}

#[test]
fn counts_from_many_threads_add_up() {
    let metrics = Metrics::new();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let metrics = &metrics;
            scope.spawn(move || {
                for n in 0..10_000 {
                    metrics.event(if n % 2 == 0 { "read" } else { "write" });
                    metrics.alert(&format!("rule {}", n % 3), "Notice");
                    if t == 0 && n % 1000 == 0 {
                        let _ = metrics.encode();
                    }
                }
            });
        }
    });
    assert!(has_line(
        &metrics,
        r#"palisade_events_total{evt_type="read"} 20000"#
    ));
    assert!(has_line(
        &metrics,
        r#"palisade_events_total{evt_type="write"} 20000"#
    ));
    let alerts: u64 = sample_lines(&metrics)
        .iter()
        .filter(|line| line.starts_with("palisade_alerts_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(alerts, 40_000);
}

#[test]
fn metrics_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Metrics>();
    shareable::<Arc<Metrics>>();
}

/// The cost of `event()` on a seen event type, single-threaded:
/// `cargo test -p palisade-metrics --release --lib -- --ignored --nocapture event_cost`.
/// On the 2-core build VM (release) about 28 ns: two atomic read-modify-writes for the read lock and
/// one for the counter (each about 9 ns there), the rest hashing and comparing the key.
#[test]
#[ignore = "a measurement, not a check"]
fn event_cost() {
    let metrics = Metrics::new();
    let types = ["execve", "openat", "connect", "clone3"];
    for evt_type in types {
        metrics.event(evt_type);
    }
    let calls = 20_000_000u32;
    let start = std::time::Instant::now();
    for n in 0..calls {
        metrics.event(std::hint::black_box(types[(n % 4) as usize]));
    }
    let elapsed = start.elapsed();
    println!(
        "event(): {:.1} ns/call",
        elapsed.as_nanos() as f64 / f64::from(calls)
    );
}

#[test]
fn budget_drops_are_labelled_by_container_and_forgotten_with_it() {
    let metrics = Metrics::new();
    metrics.budget_drops("c0ffee", "web", 5);
    metrics.budget_drops("c0ffee", "web", 2);
    metrics.budget_drops("host", "host", 1);
    metrics.set_budget_unattributed(4);
    assert!(has_line(&metrics, r#"palisade_syscall_budget_drops_total{container_id="c0ffee",container_name="web"} 7"#));
    assert!(has_line(&metrics, r#"palisade_syscall_budget_drops_total{container_id="host",container_name="host"} 1"#));
    assert!(has_line(&metrics, r#"palisade_syscall_budget_drops_total{container_id="unattributed",container_name="unattributed"} 4"#));
    metrics.forget_budget_container("c0ffee");
    assert!(!metrics.encode().contains("c0ffee"), "the forgotten container's series is gone");
}

#[test]
fn aggregated_alerts_are_counted() {
    let metrics = Metrics::new();
    metrics.alerts_aggregated(41, 1);
    metrics.alerts_aggregated(9, 2);
    assert!(has_line(&metrics, "palisade_alerts_aggregated_total 50"));
    assert!(has_line(&metrics, "palisade_alert_summaries_total 3"));
}

#[test]
fn declared_profiles_have_both_decision_series_at_zero() {
    let metrics = Metrics::new();
    metrics.declare_profiles(["strict", "web"]);
    metrics.decision("web", true);
    metrics.declare_profiles(["web"]);
    let text = metrics.encode();
    assert!(text.contains("palisade_enforcement_decisions_total{profile=\"strict\",enforced=\"false\"} 0\n"), "{text}");
    assert!(text.contains("palisade_enforcement_decisions_total{profile=\"strict\",enforced=\"true\"} 0\n"), "{text}");
    assert!(text.contains("palisade_enforcement_decisions_total{profile=\"web\",enforced=\"true\"} 1\n"), "{text}");
}
