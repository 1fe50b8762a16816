//! What the server answers: Falco's /healthz and /metrics, the webhook's answers, body limits
//! and authentication.

mod common;

use std::sync::Arc;

use common::*;
use palisade_metrics::Metrics;
use palisade_web::{Limits, Routes, Token, HEALTHZ_BODY, MAX_BODY_BYTES};

#[test]
fn healthz_metrics_and_unknown_paths_like_falco() {
    let metrics = Metrics::new();
    metrics.event("execve");
    let (_server, addr, _) = serve(all_routes(Some(Arc::clone(&metrics)), Arc::default()), Limits::default());
    let health = get(addr, "/healthz");
    assert_eq!((health.status, health.body.as_str()), (200, HEALTHZ_BODY));
    assert_eq!(health.header("content-type"), Some("application/json"));
    let scrape = get(addr, "/metrics");
    assert_eq!(scrape.status, 200);
    assert!(scrape.header("content-type").is_some_and(|t| t.starts_with("application/openmetrics-text")));
    assert!(scrape.body.contains("palisade_events_total{evt_type=\"execve\"} 1\n"), "{}", scrape.body);
    assert_eq!(get(addr, "/elsewhere").status, 404);
    let wrong = post(addr, "/healthz", "{}");
    assert_eq!((wrong.status, wrong.header("allow")), (405, Some("GET")));
    assert_eq!(get(addr, "/k8s-audit").status, 405, "the webhook takes POST only");
}

#[test]
fn metrics_off_is_404_and_healthz_stays() {
    let routes = Routes { healthz: Some(palisade_web::HEALTHZ_PATH.into()), metrics: None, webhook: None };
    let (_server, addr, _) = serve(routes, Limits::default());
    assert_eq!(get(addr, "/metrics").status, 404);
    assert_eq!(get(addr, "/healthz").status, 200);
    assert_eq!(post(addr, "/k8s-audit", "{}").status, 404);
}

/// Falco's `webserver.k8s_healthz_endpoint`: the health check answers on the configured path
/// only.
#[test]
fn the_health_check_answers_on_its_configured_path() {
    let routes = Routes { healthz: Some("/livez".into()), metrics: None, webhook: None };
    let (_server, addr, _) = serve(routes, Limits::default());
    let health = get(addr, "/livez");
    assert_eq!((health.status, health.body.as_str()), (200, HEALTHZ_BODY));
    assert_eq!(get(addr, "/healthz").status, 404);
}

#[test]
fn webhook_answers_what_the_handler_says_and_gets_the_body_whole() {
    let recorder = Arc::new(Recorder::default());
    let (_server, addr, _) = serve(all_routes(None, Arc::clone(&recorder)), Limits::default());
    assert_eq!(post(addr, "/k8s-audit", r#"{"kind":"EventList","items":[]}"#).status, 200);
    assert_eq!(post(addr, "/k8s-audit", "not json").status, 400);
    // Chunked bodies are reassembled.
    let chunked = b"POST /k8s-audit HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n";
    assert_eq!(exchange(addr, chunked).status, 200);
    let bodies = recorder.bodies.lock().expect("bodies").clone();
    assert_eq!(bodies, [br#"{"kind":"EventList","items":[]}"#.to_vec(), b"not json".to_vec(), b"{\"a\":1}".to_vec()]);
}

/// 413 before the body is read when the declared length is beyond the default 64 MiB, and when
/// a chunked body grows beyond the limit; the handler never sees either.
#[test]
fn bodies_beyond_the_limit_are_413() {
    let recorder = Arc::new(Recorder::default());
    let (_server, addr, metrics) = serve(all_routes(None, Arc::clone(&recorder)), Limits::default());
    let head = format!(
        "POST /k8s-audit HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{{",
        MAX_BODY_BYTES + 1
    );
    let big = exchange(addr, head.as_bytes());
    assert_eq!((big.status, big.header("connection")), (413, Some("close")));

    let limits = Limits { max_body_bytes: 1024, ..Limits::default() };
    let (_small, addr, _) = serve(all_routes(None, Arc::clone(&recorder)), limits);
    let chunk = "x".repeat(800);
    let chunked = format!(
        "POST /k8s-audit HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n{chunk}\r\n320\r\n{chunk}\r\n0\r\n\r\n"
    );
    assert_eq!(exchange(addr, chunked.as_bytes()).status, 413);
    assert!(recorder.bodies.lock().expect("bodies").is_empty());
    assert_eq!(sample(&metrics, "palisade_k8s_audit_rejected_total{reason=\"too_large\"}"), Some(1.0));
}

#[test]
fn a_full_queue_is_503_with_retry_after() {
    let recorder = Arc::new(Recorder { busy: true, ..Recorder::default() });
    let (_server, addr, metrics) = serve(all_routes(None, recorder), Limits::default());
    let answer = post(addr, "/k8s-audit", "{}");
    assert_eq!((answer.status, answer.header("retry-after")), (503, Some("1")));
    assert_eq!(sample(&metrics, "palisade_k8s_audit_rejected_total{reason=\"queue_full\"}"), Some(1.0));
}

/// Bodies held at once are bounded: a declared length beyond what the budget has left is 503.
#[test]
fn the_body_budget_is_shared_and_refuses_beyond_it() {
    let limits = Limits { max_buffered_body_bytes: 100, ..Limits::default() };
    let recorder = Arc::new(Recorder::default());
    let (_server, addr, _) = serve(all_routes(None, Arc::clone(&recorder)), limits);
    assert_eq!(post(addr, "/k8s-audit", &format!("{{{}}}", " ".repeat(98))).status, 200, "100 bytes fit");
    assert_eq!(post(addr, "/k8s-audit", &format!("{{{}}}", " ".repeat(99))).status, 503, "101 do not");
    assert_eq!(post(addr, "/k8s-audit", "{}").status, 200, "the first body's bytes came back");
}

#[test]
fn bearer_token_401_unless_it_matches() {
    let recorder = Arc::new(Recorder::default());
    let mut hook = webhook(Arc::clone(&recorder));
    hook.bearer_token = Token::from_file_text(b"s3cret-token\n");
    let routes = Routes { healthz: Some(palisade_web::HEALTHZ_PATH.into()), metrics: None, webhook: Some(hook) };
    let (_server, addr, metrics) = serve(routes, Limits::default());
    let none = post(addr, "/k8s-audit", "{}");
    assert_eq!((none.status, none.header("www-authenticate")), (401, Some("Bearer")));
    let wrong = exchange(addr, &post_request("/k8s-audit", "{}", "Authorization: Bearer s3cret-tokem\r\n"));
    assert_eq!(wrong.status, 401);
    let prefix = exchange(addr, &post_request("/k8s-audit", "{}", "Authorization: Bearer s3cret\r\n"));
    assert_eq!(prefix.status, 401, "a prefix of the token is not the token");
    let right = exchange(addr, &post_request("/k8s-audit", "{}", "Authorization: Bearer s3cret-token\r\n"));
    assert_eq!(right.status, 200);
    assert_eq!(recorder.bodies.lock().expect("bodies").len(), 1, "only the authorized body was handed on");
    assert_eq!(sample(&metrics, "palisade_k8s_audit_rejected_total{reason=\"unauthorized\"}"), Some(3.0));
    assert_eq!(get(addr, "/healthz").status, 200, "probes need no token");
    assert!(Token::from_file_text(b" \n").is_none(), "an empty token file is no token");
}
