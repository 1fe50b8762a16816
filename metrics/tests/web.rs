//! The web server over real sockets: a raw HTTP/1.1 client and a parser of the text exposition.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_metrics::{Metrics, WebError, WebServer, WebSettings, MAX_REQUEST_HEAD};

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Sends `request` as is and reads the reply until the server closes the connection.
fn exchange(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request).expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read reply");
    let raw = String::from_utf8(raw).expect("utf-8 reply");
    let (head, body) = raw.split_once("\r\n\r\n").expect("reply head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status = status_line[9..12].parse().expect("status code");
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (key, value) = line.split_once(':').expect("header");
            (key.to_owned(), value.trim().to_owned())
        })
        .collect();
    let reply = Reply {
        status,
        headers,
        body: body.to_owned(),
    };
    let length: usize = reply
        .header("content-length")
        .expect("length")
        .parse()
        .expect("number");
    assert_eq!(length, reply.body.len());
    reply
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes(),
    )
}

/// One sample: metric name and label pairs (unescaped).
type Series = (String, Vec<(String, String)>);

/// Parses the samples of a text exposition, checking its structure on the way.
fn parse_exposition(text: &str) -> BTreeMap<Series, f64> {
    assert!(text.ends_with("# EOF\n"), "{text}");
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').expect("sample value");
        let value: f64 = value.parse().expect("number");
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), Vec::new()),
            Some((name, rest)) => (name.to_owned(), parse_labels(rest)),
        };
        assert!(
            samples.insert((name, labels), value).is_none(),
            "duplicate {line}"
        );
    }
    samples
}

/// Parses `k="v",k2="v2"}` with `\\`, `\"` and `\n` escapes.
fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let mut chars = text.chars();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "{text}");
        let mut value = String::new();
        loop {
            match chars.next().expect("closing quote") {
                '"' => break,
                '\\' => value.push(match chars.next().expect("escape") {
                    'n' => '\n',
                    other @ ('\\' | '"') => other,
                    other => panic!("bad escape \\{other} in {text}"),
                }),
                '\n' => panic!("raw line feed in {text}"),
                c => value.push(c),
            }
        }
        labels.push((key, value));
        match chars.next() {
            Some(',') => continue,
            Some('}') => break,
            other => panic!("unexpected {other:?} in {text}"),
        }
    }
    assert_eq!(chars.next(), None, "{text}");
    labels
}

fn value(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let key = (
        name.to_owned(),
        labels
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    );
    *samples
        .get(&key)
        .unwrap_or_else(|| panic!("no {key:?} in {samples:?}"))
}

fn start(metrics_enabled: bool) -> (WebServer, Arc<Metrics>) {
    let metrics = Metrics::new();
    let settings = WebSettings {
        listen_address: "127.0.0.1".to_owned(),
        listen_port: 0,
        prometheus_metrics_enabled: metrics_enabled,
    };
    let server = WebServer::start(&settings, metrics.clone()).expect("start");
    (server, metrics)
}

const RULE: &str = "Read sensitive file \"untrusted\" (v2)\\x\nnext";

#[test]
fn metrics_scrape_parses_back_to_the_recorded_values() {
    let (server, metrics) = start(true);
    for _ in 0..3 {
        metrics.event("execve");
    }
    metrics.alert(RULE, "Warning");
    metrics.alert(RULE, "Warning");
    metrics.decision("default", true);
    metrics.set_kernel_drops(50);
    metrics.set_kernel_drops(7);
    metrics.set_output_stats("stdout", 12, 1);
    metrics.set_outputs_queue(3, 1024, 2);
    metrics.set_containers(4);
    metrics.rules_load_error();
    metrics.reload(false);
    metrics.set_rules_loaded(81);

    let reply = get(server.local_addr(), "/metrics");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert_eq!(reply.header("connection"), Some("close"));
    let samples = parse_exposition(&reply.body);
    let expect = [
        ("palisade_events_total", vec![("evt_type", "execve")], 3.0),
        (
            "palisade_alerts_total",
            vec![("rule", RULE), ("priority", "Warning")],
            2.0,
        ),
        (
            "palisade_enforcement_decisions_total",
            vec![("profile", "default"), ("enforced", "true")],
            1.0,
        ),
        (
            "palisade_enforcement_decisions_total",
            vec![("profile", "default"), ("enforced", "false")],
            0.0,
        ),
        ("palisade_kernel_drops_total", vec![], 57.0),
        (
            "palisade_output_delivered_total",
            vec![("output", "stdout")],
            12.0,
        ),
        (
            "palisade_output_failed_total",
            vec![("output", "stdout")],
            1.0,
        ),
        ("palisade_outputs_queue_depth", vec![], 3.0),
        ("palisade_outputs_queue_capacity", vec![], 1024.0),
        ("palisade_outputs_dropped_total", vec![], 2.0),
        ("palisade_containers_tracked", vec![], 4.0),
        ("palisade_alerts_aggregated_total", vec![], 0.0),
        ("palisade_alert_summaries_total", vec![], 0.0),
        ("palisade_rules_load_errors_total", vec![], 1.0),
        ("palisade_reloads_total", vec![("result", "ok")], 0.0),
        ("palisade_reloads_total", vec![("result", "error")], 1.0),
        ("palisade_rules_loaded", vec![], 81.0),
    ];
    for (name, labels, expected) in &expect {
        assert_eq!(
            value(&samples, name, labels),
            *expected,
            "{name} {labels:?}"
        );
    }
    assert_eq!(samples.len(), expect.len(), "{samples:?}");

    // A second scrape sees later increments; a query string is ignored.
    metrics.event("execve");
    let samples = parse_exposition(&get(server.local_addr(), "/metrics?debug=1").body);
    assert_eq!(
        value(&samples, "palisade_events_total", &[("evt_type", "execve")]),
        4.0
    );
    server.stop();
}

#[test]
fn healthz_answers_like_falco() {
    let (server, _) = start(true);
    let reply = get(server.local_addr(), "/healthz");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.body, r#"{"status": "ok"}"#);
    server.stop();
}

#[test]
fn unknown_paths_are_404_and_other_methods_405() {
    let (server, _) = start(true);
    let addr = server.local_addr();
    for path in ["/", "/metricsx", "/healthz/", "/../metrics"] {
        assert_eq!(get(addr, path).status, 404, "{path}");
    }
    let post = exchange(
        addr,
        b"POST /metrics HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET"));
    for method in ["HEAD", "PUT", "DELETE"] {
        let request = format!("{method} /healthz HTTP/1.1\r\nHost: test\r\n\r\n");
        assert_eq!(exchange(addr, request.as_bytes()).status, 405, "{method}");
    }
    server.stop();
}

#[test]
fn malformed_and_oversized_requests_are_refused() {
    let (server, _) = start(true);
    let addr = server.local_addr();
    assert_eq!(exchange(addr, b"GET\0 / HTTP/1.1\r\n\r\n").status, 400);
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nX-Filler: {}\r\n\r\n",
        "a".repeat(MAX_REQUEST_HEAD)
    );
    assert_eq!(exchange(addr, huge.as_bytes()).status, 431);
    // The server still answers afterwards.
    assert_eq!(get(addr, "/healthz").status, 200);
    server.stop();
}

#[test]
fn disabled_metrics_are_404_but_healthz_stays() {
    let (server, metrics) = start(false);
    metrics.event("execve");
    assert_eq!(get(server.local_addr(), "/metrics").status, 404);
    assert_eq!(get(server.local_addr(), "/healthz").status, 200);
    server.stop();
}

#[test]
fn stop_is_prompt_even_with_idle_clients() {
    let (server, _) = start(true);
    let addr = server.local_addr();
    // Clients that connect and never finish a request hold a worker each, and one waits in the
    // queue.
    let idle: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream.write_all(b"GET /metr").expect("partial request");
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(150));
    let began = Instant::now();
    server.stop();
    let took = began.elapsed();
    assert!(took < Duration::from_secs(2), "stop took {took:?}");
    // The listener is closed: the port can be bound again.
    TcpListener::bind(addr).expect("port released after stop");
    drop(idle);
}

#[test]
fn binding_an_address_in_use_names_it() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let settings = WebSettings {
        listen_address: "127.0.0.1".to_owned(),
        listen_port: port,
        prometheus_metrics_enabled: true,
    };
    let error = match WebServer::start(&settings, Metrics::new()) {
        Ok(_) => panic!("bound a port already in use"),
        Err(error) => error,
    };
    assert!(matches!(error, WebError::Bind { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("cannot listen on 127.0.0.1:{port}")
    );
    let source = std::error::Error::source(&error)
        .expect("io error")
        .to_string();
    assert!(source.contains("in use"), "{source}");
}

#[test]
fn falco_defaults() {
    let settings = WebSettings::default();
    assert_eq!(settings.listen_address, "0.0.0.0");
    assert_eq!(settings.listen_port, 8765);
    assert!(!settings.prometheus_metrics_enabled);
}

/// `GET /healthz`, or `None` when the server closed the connection unanswered.
fn try_healthz(addr: SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\n\r\n").ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    String::from_utf8(raw).ok()?.get(9..12)?.parse().ok()
}

#[test]
fn idle_clients_cannot_hold_the_server_beyond_the_deadline() {
    let (server, _) = start(true);
    let addr = server.local_addr();
    let busy = palisade_metrics::WORKERS + palisade_metrics::QUEUE;
    let began = Instant::now();
    let idle: Vec<TcpStream> = (0..busy)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream.write_all(b"GET /hea").expect("partial request");
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // Every worker and queue slot is taken: a further client is closed at once, unanswered.
    assert_eq!(try_healthz(addr), None);
    let answered = loop {
        if try_healthz(addr) == Some(200) {
            break began.elapsed();
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "healthz never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let deadline = palisade_metrics::REQUEST_DEADLINE;
    assert!(
        answered >= deadline - Duration::from_millis(500),
        "{answered:?}"
    );
    assert!(answered < deadline + Duration::from_secs(2), "{answered:?}");
    drop(idle);
    server.stop();
}
