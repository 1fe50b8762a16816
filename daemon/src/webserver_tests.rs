//! From configuration to listeners: defaults, sharing, validation and files named in errors.

use std::sync::Arc;

use palisade_metrics::Metrics;
use palisade_web::{Answer, Busy, Reply, WebhookBody, WebhookHandler};

use super::*;
use crate::config::parse;

struct Nobody;

impl WebhookHandler for Nobody {
    fn submit(&self, _body: WebhookBody, reply: Reply) -> Result<(), Busy> {
        reply.send(Answer::Accepted);
        Ok(())
    }
}

fn config(yaml: &str) -> Result<Config, String> {
    parse(yaml, "test.yaml", &[]).map_err(|e| e.to_string())
}

fn listeners_of(c: &Config) -> Result<Vec<Listener>, String> {
    listeners(c, &Metrics::new(), Some(Arc::new(Nobody))).map_err(|e| e.to_string())
}

/// The webhook binds loopback unless configured (it bound 0.0.0.0: any pod could post).
#[test]
fn the_webhook_binds_loopback_by_default() {
    let c = config("k8s_audit: {enabled: true}\n").expect("config");
    assert_eq!(c.k8s_audit.listen_address, "127.0.0.1");
    let l = listeners_of(&c).expect("listeners");
    assert_eq!(l.len(), 1);
    assert_eq!((l[0].address.as_str(), l[0].port, l[0].name.as_str()), ("127.0.0.1", 9765, "k8s_audit"));
    assert!(l[0].tls.is_none() && l[0].routes.healthz.is_none());
    assert_eq!(l[0].routes.webhook.as_ref().map(|w| w.path.as_str()), Some("/k8s-audit"));
}

#[test]
fn same_address_and_port_share_one_listener_else_two() {
    let shared = config(
        "webserver: {enabled: true, listen_address: 127.0.0.1, listen_port: 9100, prometheus_metrics_enabled: true}\n\
         k8s_audit: {enabled: true, listen_port: 9100}\n",
    )
    .expect("config");
    let l = listeners_of(&shared).expect("listeners");
    assert_eq!(l.len(), 1);
    assert!(l[0].routes.healthz.as_deref() == Some("/healthz") && l[0].routes.metrics.is_some() && l[0].routes.webhook.is_some());
    assert_eq!(l[0].name, "webserver+k8s_audit");
    let apart = config("webserver: {enabled: true, listen_port: 9100}\nk8s_audit: {enabled: true}\n").expect("config");
    let l = listeners_of(&apart).expect("listeners");
    assert_eq!(l.iter().map(|l| (l.name.as_str(), l.port)).collect::<Vec<_>>(), [("webserver", 9100), ("k8s_audit", 9765)]);
    assert!(l[0].routes.webhook.is_none() && l[1].routes.metrics.is_none());
}

#[test]
fn tls_and_auth_settings_are_checked() {
    let e = config("k8s_audit: {enabled: true, ssl_enabled: true}\n").expect_err("no certificate");
    assert!(e.contains("k8s_audit.ssl_certificate: required"), "{e}");
    let e = config("k8s_audit: {enabled: true, ssl_client_ca: /ca.pem}\n").expect_err("mTLS without TLS");
    assert!(e.contains("k8s_audit.ssl_client_ca"), "{e}");
    let e = config("webserver: {enabled: true, listen_address: 127.0.0.1, listen_port: 9765}\nk8s_audit: {enabled: true, ssl_enabled: true, ssl_certificate: /x.pem}\n")
        .expect_err("shared listener, different TLS");
    assert!(e.contains("TLS settings must agree"), "{e}");
    let e = config("k8s_audit: {enabled: true, endpoint: k8s-audit}\n").expect_err("relative endpoint");
    assert!(e.contains("must start with /"), "{e}");
}

/// Missing or bad files are errors naming them, at start and in `check` (a reload's refusal).
#[test]
fn bad_tls_and_token_files_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.pem");
    let c = config(&format!("k8s_audit: {{enabled: true, ssl_enabled: true, ssl_certificate: {}}}\n", missing.display()))
        .expect("config");
    let e = check(&c).expect_err("missing certificate").to_string();
    assert!(e.contains("missing.pem") && e.contains("k8s_audit.ssl_certificate"), "{e}");
    let e = start(&c, &Metrics::new(), None).err().expect("start fails").to_string();
    assert!(e.contains("missing.pem"), "{e}");

    let token = dir.path().join("token");
    std::fs::write(&token, "\n").expect("write");
    let c = config(&format!("k8s_audit: {{enabled: true, bearer_token_file: {}}}\n", token.display())).expect("config");
    let e = check(&c).expect_err("empty token").to_string();
    assert!(e.contains("holds no token") && e.contains(&token.display().to_string()), "{e}");
    std::fs::write(&token, "t0ken\n").expect("write");
    check(&c).expect("a token file with a token");
    let l = listeners_of(&c).expect("listeners");
    assert!(l[0].routes.webhook.as_ref().is_some_and(|w| w.bearer_token.is_some()));

    let webserver = config("webserver: {enabled: true, ssl_enabled: true, ssl_certificate: /nonexistent/palisade.pem}\n").expect("config");
    let e = check(&webserver).expect_err("missing webserver certificate").to_string();
    assert!(e.contains("/nonexistent/palisade.pem") && e.contains("webserver.ssl_certificate"), "{e}");
}

/// A reload rebuilds the web server only when its settings or files change: the same sections
/// and files are no change (no rebind), a new token in the same file is one, a new port too.
#[test]
fn a_reload_changes_the_server_only_when_its_settings_or_files_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "one\n").expect("write");
    let free = || std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let (port, other) = (free(), free());
    let yaml = |port: u16| {
        format!(
            "webserver: {{enabled: true, listen_address: 127.0.0.1, listen_port: {port}}}\n\
             k8s_audit: {{enabled: true, listen_port: {port}, bearer_token_file: {}}}\n",
            token.display()
        )
    };
    let c = config(&yaml(port)).expect("config");
    let handler: Arc<dyn WebhookHandler> = Arc::new(Nobody);
    let mut web = Web::start(&c, &Metrics::new(), Some(handler)).expect("start");
    assert_eq!(web.local_addrs(), [std::net::SocketAddr::from(([127, 0, 0, 1], port))]);
    assert!(web.prepare(&c).expect("prepare").is_none(), "unchanged settings are no change");
    std::fs::write(&token, "two\n").expect("write");
    let update = web.prepare(&c).expect("prepare").expect("a new token is a change");
    web.apply(update);
    assert!(web.prepare(&c).expect("prepare").is_none(), "applied");
    assert_eq!(web.local_addrs(), [std::net::SocketAddr::from(([127, 0, 0, 1], port))], "the same socket");
    let moved = config(&yaml(other)).expect("config");
    let update = web.prepare(&moved).expect("prepare").expect("a new port is a change");
    web.apply(update);
    assert_eq!(web.local_addrs(), [std::net::SocketAddr::from(([127, 0, 0, 1], other))]);
    let off = config("webserver: {enabled: false}\n").expect("config");
    let update = web.prepare(&off).expect("prepare").expect("disabled is a change");
    web.apply(update);
    assert!(web.local_addrs().is_empty());
    web.stop();
}
