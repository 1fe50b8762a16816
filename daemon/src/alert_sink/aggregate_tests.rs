//! The aggregation of identical alerts, with a clock the tests move.

use super::*;

fn alert(output: &str, time_ns: u64) -> Alert {
    Alert {
        time_ns,
        rule: "Storm".into(),
        priority: "Warning",
        source: "syscall",
        output: output.into(),
        output_fields: vec![("fd.name".into(), FieldValue::Text("/etc/shadow".into()))],
        tags: vec!["t".into()],
        hostname: "h".into(),
        extra: vec![],
    }
}

const P1: Origin = Origin { pid: 100, cgroup_id: 7 };
const P2: Origin = Origin { pid: 200, cgroup_id: 7 };

fn outputs(out: &[Alert]) -> Vec<&str> {
    out.iter().map(|a| a.output.as_str()).collect()
}

#[test]
fn the_first_is_emitted_at_once_the_rest_counted_into_one_summary() {
    let t0 = Instant::now();
    let mut agg = Aggregator::new(Duration::from_secs(1));
    let mut out = Vec::new();
    for n in 0..1000u64 {
        agg.offer(alert("open /etc/shadow", 1_000_000_000 + n * 1_000_000), P1, t0 + Duration::from_micros(n), &mut out);
    }
    assert_eq!(outputs(&out), ["open /etc/shadow"], "one line at once, nothing delayed");
    assert_eq!(agg.pending(), 999);
    agg.expire(t0 + Duration::from_millis(999), &mut out);
    assert_eq!(out.len(), 1, "the window is still running");
    agg.expire(t0 + Duration::from_secs(1), &mut out);
    assert_eq!(out.len(), 2);
    let summary = &out[1];
    assert_eq!(summary.output, "open /etc/shadow (repeated 999 more times in 0.999s)");
    assert_eq!((summary.rule.as_str(), summary.priority, summary.source), ("Storm", "Warning", "syscall"));
    assert_eq!(summary.tags, ["t"]);
    assert_eq!(
        summary.output_fields,
        [
            ("fd.name".to_owned(), FieldValue::Text("/etc/shadow".into())),
            (REPEATED_FIELD.to_owned(), FieldValue::Number(999)),
        ]
    );
    assert_eq!(summary.time_ns, 1_000_000_000 + 999 * 1_000_000, "the time of the last one");
    assert_eq!(agg.take_counts(), Counts { folded: 999, summaries: 1 });
    assert_eq!(agg.pending(), 0);
    // The key starts over: the next one is emitted at once again.
    agg.offer(alert("open /etc/shadow", 5), P1, t0 + Duration::from_secs(2), &mut out);
    assert_eq!(out.len(), 3);
    assert_eq!(out[2].output, "open /etc/shadow");
}

#[test]
fn different_processes_outputs_or_fields_are_never_merged() {
    let t0 = Instant::now();
    let mut agg = Aggregator::new(Duration::from_secs(1));
    let mut out = Vec::new();
    agg.offer(alert("a", 1), P1, t0, &mut out);
    agg.offer(alert("a", 2), P2, t0, &mut out);
    agg.offer(alert("b", 3), P1, t0, &mut out);
    let mut other_field = alert("a", 4);
    other_field.output_fields[0].1 = FieldValue::Text("/etc/gshadow".into());
    agg.offer(other_field, P1, t0, &mut out);
    let mut other_rule = alert("a", 5);
    other_rule.rule = "Other".into();
    agg.offer(other_rule, P1, t0, &mut out);
    assert_eq!(out.len(), 5, "five distinct alerts, all emitted at once");
    agg.offer(alert("a", 6), P1, t0, &mut out);
    assert_eq!(out.len(), 5);
    agg.flush(&mut out);
    assert_eq!(outputs(&out[5..]), ["a (repeated 1 more times in 0.000s)"]);
    assert_eq!(agg.take_counts(), Counts { folded: 1, summaries: 1 });
}

#[test]
fn a_window_without_repeats_ends_silently() {
    let t0 = Instant::now();
    let mut agg = Aggregator::new(Duration::from_millis(10));
    let mut out = Vec::new();
    agg.offer(alert("once", 1), P1, t0, &mut out);
    agg.expire(t0 + Duration::from_secs(1), &mut out);
    agg.flush(&mut out);
    assert_eq!(outputs(&out), ["once"]);
}

#[test]
fn a_repeat_after_its_window_ended_gets_the_summary_first() {
    let t0 = Instant::now();
    let mut agg = Aggregator::new(Duration::from_millis(10));
    let mut out = Vec::new();
    agg.offer(alert("x", 1), P1, t0, &mut out);
    agg.offer(alert("x", 2), P1, t0, &mut out);
    agg.offer(alert("x", 3), P1, t0 + Duration::from_millis(20), &mut out);
    assert_eq!(outputs(&out), ["x", "x (repeated 1 more times in 0.000s)", "x"]);
}

#[test]
fn beyond_the_key_limit_alerts_pass_through() {
    let t0 = Instant::now();
    let mut agg = Aggregator::new(Duration::from_secs(1));
    let mut out = Vec::new();
    for n in 0..=MAX_KEYS as u32 {
        agg.offer(alert("k", 1), Origin { pid: n, cgroup_id: 0 }, t0, &mut out);
    }
    // The last key found no room: its repeat is emitted, not held.
    agg.offer(alert("k", 2), Origin { pid: MAX_KEYS as u32, cgroup_id: 0 }, t0, &mut out);
    assert_eq!(out.len(), MAX_KEYS + 2);
    assert_eq!(agg.take_counts().folded, 0);
}
