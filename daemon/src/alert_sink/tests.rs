//! The sink with a real file output: rendering, batches, aggregation, stop.

use super::*;
use palisade_rules::output::FieldValue;

#[test]
fn severities_follow_syslog() {
    let s = severity;
    assert_eq!((s("Emergency"), s("Warning"), s("Informational"), s("Debug"), s("nonsense")), (0, 4, 6, 7, 7));
}

fn alert(output: &str) -> Alert {
    Alert {
        time_ns: 1_709_210_096_000_000_007,
        rule: "Storm".into(),
        priority: "Warning",
        source: "syscall",
        output: output.into(),
        output_fields: vec![("proc.name".into(), FieldValue::Text("cat".into()))],
        tags: vec![],
        hostname: "h".into(),
        extra: vec![],
    }
}

#[test]
fn each_form_is_rendered_once_and_only_when_read() {
    let a = alert("x");
    let json = a.to_json(true, true).to_string();
    let r = Render { json_output: true, include_output: true, include_tags: true, ..Render::of(&Config::default()) };
    let m = r.message(&a, true);
    assert_eq!((m.line.as_str(), m.json.as_str(), m.json()), (json.as_str(), "", json.as_str()), "the line is the JSON");
    let r = Render { json_output: false, ..r };
    let m = r.message(&a, false);
    assert_eq!((m.line, m.json), (a.to_text(), String::new()), "no http output: no JSON");
    let m = r.message(&a, true);
    assert_eq!((m.line, m.json), (a.to_text(), json));
}

fn config(dir: &std::path::Path, aggregate: bool) -> Config {
    let yaml = format!(
        "json_output: true\nstdout_output: {{enabled: false}}\nfile_output: {{enabled: true, keep_alive: true, filename: {}}}\nalert_aggregation: {{enabled: {aggregate}, window: 1h}}\n",
        dir.join("alerts.json").display()
    );
    crate::config::parse(&yaml, "test", &[]).expect("config")
}

fn written(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("alerts.json")).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
}

#[test]
fn a_storm_is_one_line_at_once_and_a_summary_at_stop_and_nothing_is_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = AlertSink::start(&config(dir.path(), true)).expect("start");
    let storm = Origin { pid: 4242, cgroup_id: 1 };
    let mut batch = AlertBatch::default();
    for _ in 0..500 {
        batch.push(alert("open /etc/shadow"), storm);
    }
    batch.push(alert("chmod u+s /tmp/x"), storm);
    for _ in 0..499 {
        batch.push(alert("open /etc/shadow"), storm);
    }
    sink.send_batch(&mut batch);
    assert!(batch.is_empty());
    let metrics = Metrics::new();
    sink.report(&metrics);
    assert!(metrics.encode().contains("\npalisade_alerts_aggregated_total 998\n"));
    assert_eq!(sink.stop(), 0);
    let lines = written(dir.path());
    let outputs: Vec<&str> = lines.iter().map(|l| l["output_fields"]["proc.name"].as_str().unwrap_or_default()).collect();
    assert_eq!(outputs, ["cat", "cat", "cat"]);
    let rules: Vec<&str> = lines.iter().map(|l| l["rule"].as_str().unwrap_or_default()).collect();
    assert_eq!(rules, ["Storm", "Storm", "Storm"], "Falco's shape kept");
    let texts: Vec<&str> = lines.iter().map(|l| l["output"].as_str().unwrap_or_default()).collect();
    assert!(texts[0].ends_with("Warning open /etc/shadow"), "{texts:?}");
    assert!(texts[1].ends_with("Warning chmod u+s /tmp/x"), "the distinct alert is not delayed: {texts:?}");
    assert!(texts[2].ends_with("Warning open /etc/shadow (repeated 998 more times in 0.000s)"), "{texts:?}");
    assert_eq!(lines[2]["output_fields"][aggregate::REPEATED_FIELD], 998, "the count as a number");
}

#[test]
fn without_aggregation_every_alert_is_a_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = AlertSink::start(&config(dir.path(), false)).expect("start");
    let mut batch = AlertBatch::default();
    for _ in 0..300 {
        batch.push(alert("same"), Origin::default());
    }
    sink.send_batch(&mut batch);
    sink.send(&alert("single"));
    assert_eq!(sink.stop(), 0);
    assert_eq!(written(dir.path()).len(), 301);
}

#[test]
fn a_swap_of_outputs_flushes_the_summaries_into_the_old_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = config(dir.path(), true);
    let sink = AlertSink::start(&old).expect("start");
    for _ in 0..3 {
        sink.send(&alert("again"));
    }
    let other = tempfile::tempdir().expect("tempdir");
    let new = config(other.path(), true);
    let fresh = sink.prepare(&old, &new).expect("the new outputs start");
    assert!(fresh.is_some(), "the file output changed");
    let sink = sink.swap(&new, fresh);
    sink.send(&alert("after"));
    sink.stop();
    let old_lines: Vec<String> = written(dir.path()).iter().map(|l| l["output"].to_string()).collect();
    assert_eq!(old_lines.len(), 2, "{old_lines:?}");
    assert!(old_lines[1].contains("again (repeated 2 more times"), "{old_lines:?}");
    assert_eq!(written(other.path()).len(), 1);
}
