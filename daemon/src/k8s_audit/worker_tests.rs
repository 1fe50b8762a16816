//! The worker alone: parsing answers, bad items counted, alerts built with the current rules.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes_body::body;
use palisade_metrics::Metrics;
use palisade_rules::Loader;
use palisade_web::{Answer, Reply, WebhookBody};

use super::*;

mod bytes_body {
    use palisade_web::WebhookBody;

    pub(super) fn body(text: &str) -> WebhookBody {
        WebhookBody::unbudgeted(text.as_bytes().to_vec().into())
    }
}

pub(crate) fn audit_event(id: &str) -> String {
    format!(
        "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":\"{id}\",\"stage\":\"ResponseComplete\",\
         \"verb\":\"get\",\"user\":{{\"username\":\"u\"}},\"stageTimestamp\":\"2026-11-23T08:00:00.000000Z\"}}"
    )
}

pub(crate) fn event_list(ids: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = ids.map(|id| audit_event(&id)).collect();
    format!("{{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[{}]}}", items.join(","))
}

fn rules(name: &str) -> Arc<Ruleset> {
    let mut loader = Loader::new();
    let text = format!(
        "- rule: {name}\n  desc: t\n  condition: ka.verb = get\n  output: \"id=%ka.auditid\"\n  priority: WARNING\n  source: k8s_audit\n"
    );
    loader.add_str("audit.yaml", &text);
    Arc::new(loader.compile().ruleset.expect("rules compile"))
}

fn submit(worker: &AuditWorker, text: &str) -> Answer {
    let (reply, answer) = Reply::pair();
    assert!(worker.handler().submit(body(text), reply).is_ok(), "queued");
    answer.blocking_recv().expect("answered")
}

fn take_until(worker: &AuditWorker, n: usize) -> Vec<Alert> {
    let mut got = Vec::new();
    let give_up = Instant::now() + Duration::from_secs(30);
    while got.len() < n {
        assert!(Instant::now() < give_up, "only {} of {n} alerts", got.len());
        worker.take_alerts(ALERTS_PER_DRAIN, |a| got.push(a));
        std::thread::sleep(Duration::from_millis(5));
    }
    got
}

#[test]
fn bodies_are_answered_after_parsing_and_bad_items_counted() {
    let metrics = Metrics::new();
    let worker = AuditWorker::start(rules("Audit get"), Arc::clone(&metrics), "h".into()).expect("worker");
    assert_eq!(submit(&worker, "not json"), Answer::Invalid);
    let mixed = format!("{{\"kind\":\"EventList\",\"items\":[{},17,{}]}}", audit_event("a"), audit_event("b"));
    assert_eq!(submit(&worker, &mixed), Answer::Accepted);
    let alerts = take_until(&worker, 2);
    let ids: Vec<&str> = alerts.iter().map(|a| a.output.as_str()).collect();
    assert_eq!(ids, ["id=a", "id=b"]);
    assert!(alerts.iter().all(|a| a.rule == "Audit get" && a.source == "k8s_audit"));
    let text = metrics.encode();
    assert!(text.contains("palisade_k8s_audit_bad_lines_total{source=\"webhook\"} 1\n"), "{text}");
    assert!(text.contains("palisade_k8s_audit_rejected_total{reason=\"invalid\"} 1\n"), "{text}");
    assert_eq!(worker.evaluated(), 2);
    worker.stop();
}

#[test]
fn the_worker_evaluates_with_the_rules_it_was_last_given() {
    let worker = AuditWorker::start(rules("Old"), Metrics::new(), "h".into()).expect("worker");
    assert_eq!(submit(&worker, &event_list(["1".to_string()].into_iter())), Answer::Accepted);
    assert_eq!(take_until(&worker, 1)[0].rule, "Old");
    worker.set_rules(rules("New"));
    assert_eq!(submit(&worker, &event_list(["2".to_string()].into_iter())), Answer::Accepted);
    assert_eq!(take_until(&worker, 1)[0].rule, "New");
    worker.stop();
}

/// A full queue refuses at once (the server answers 503); nothing waits.
#[test]
fn a_full_queue_refuses_without_waiting() {
    let worker = AuditWorker::start(rules("R"), Metrics::new(), "h".into()).expect("worker");
    // Jobs that produce alerts nobody takes: the alerts channel fills, the worker waits, its
    // queue fills behind it.
    let big = event_list((0..ALERT_QUEUE + 10).map(|i| i.to_string()));
    let handler = worker.handler();
    let mut refused = false;
    for _ in 0..(QUEUE_JOBS + 8) {
        let (reply, _answer) = Reply::pair();
        if handler.submit(body(&big), reply).is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "the queue is bounded");
    worker.stop();
}

#[test]
fn webhook_body_derefs_to_its_bytes() {
    let b: WebhookBody = body("{}");
    assert_eq!(&*b, b"{}");
}
