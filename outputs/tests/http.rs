//! The http output against a real HTTP/1.1 server on 127.0.0.1, plain and TLS (CA-verified,
//! insecure, mutual), a refused connection, and one alert through http, file and program.

mod common;

use std::time::Duration;

use common::{
    alert, closed_port, connect_refused, quiet, read_lines, wait_for, Behaviour, LogCapture, Pki, Server,
};
use palisade_outputs::{
    FileSettings, HttpSettings, OutputKind, Outputs, ProgramSettings, Settings, DEFAULT_USER_AGENT,
};

fn http(url: String) -> HttpSettings {
    HttpSettings { url, ..HttpSettings::default() }
}

fn start(http: HttpSettings) -> Outputs {
    Outputs::start(Settings { http: Some(http), ..quiet() }).expect("outputs start")
}

#[test]
fn posts_falco_json_in_order() {
    let server = Server::start(None, Behaviour::Answer(200));
    let outputs = start(http(format!("http://127.0.0.1:{}/", server.port)));
    for n in 0..5 {
        outputs.send(alert(n));
    }
    for n in 0..5 {
        let request = server.next();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/");
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.headers.iter().filter(|(n, _)| n == "content-type").count(), 1);
        assert_eq!(request.header("user-agent"), Some(DEFAULT_USER_AGENT));
        assert_eq!(request.body, alert(n).json.as_bytes(), "alert {n}");
    }
    let stats = outputs.stop();
    let http = stats.get(OutputKind::Http).expect("http stats");
    assert_eq!((http.delivered, http.failed, http.dropped, http.depth), (5, 0, 0, 0));
}

#[test]
fn custom_user_agent_and_path() {
    let server = Server::start(None, Behaviour::Answer(204));
    let mut settings = http(format!("http://127.0.0.1:{}/falco/events", server.port));
    settings.user_agent = "falcosecurity/falco".into();
    let outputs = start(settings);
    outputs.send(alert(1));
    let request = server.next();
    assert_eq!(request.path, "/falco/events");
    assert_eq!(request.header("user-agent"), Some("falcosecurity/falco"));
    assert_eq!(outputs.stop().get(OutputKind::Http).expect("http").delivered, 1);
}

#[test]
fn error_status_is_a_failure() {
    let server = Server::start(None, Behaviour::Answer(500));
    let outputs = start(http(format!("http://127.0.0.1:{}/", server.port)));
    outputs.send(alert(1));
    outputs.send(alert(2));
    server.next();
    server.next();
    let stats = outputs.stop();
    let http = stats.get(OutputKind::Http).expect("http");
    assert_eq!((http.delivered, http.failed), (0, 2));
}

#[test]
fn refused_connection_is_counted_and_does_not_block() {
    let port = closed_port();
    assert!(connect_refused(port));
    let outputs = start(http(format!("http://127.0.0.1:{port}/")));
    for n in 0..10 {
        outputs.send(alert(n));
    }
    wait_for("10 failures", || outputs.stats().get(OutputKind::Http).is_some_and(|h| h.failed == 10));
    let stats = outputs.stop();
    let http = stats.get(OutputKind::Http).expect("http");
    assert_eq!((http.delivered, http.failed, http.dropped), (0, 10, 0));
}

#[test]
fn https_with_ca_cert() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).expect("write ca");
    let server = Server::start(Some(pki.server_config(false)), Behaviour::Answer(200));

    let mut settings = http(format!("https://127.0.0.1:{}/", server.port));
    settings.ca_cert = Some(ca);
    let outputs = start(settings);
    outputs.send(alert(7));
    assert_eq!(server.next().body, alert(7).json.as_bytes());
    assert_eq!(outputs.stop().get(OutputKind::Http).expect("http").delivered, 1);
}

#[test]
fn https_with_ca_path() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("README"), "not a certificate").expect("write");
    std::fs::write(dir.path().join("test-ca.pem"), &pki.ca_pem).expect("write ca");
    let server = Server::start(Some(pki.server_config(false)), Behaviour::Answer(200));

    let mut settings = http(format!("https://127.0.0.1:{}/", server.port));
    settings.ca_path = Some(dir.path().to_path_buf());
    let outputs = start(settings);
    outputs.send(alert(1));
    server.next();
    assert_eq!(outputs.stop().get(OutputKind::Http).expect("http").delivered, 1);
}

#[test]
fn https_unknown_ca_fails_unless_insecure() {
    let pki = Pki::new();
    let server = Server::start(Some(pki.server_config(false)), Behaviour::Answer(200));
    let url = format!("https://127.0.0.1:{}/", server.port);

    // Mozilla's roots do not know the test CA.
    let logs = LogCapture::global();
    let outputs = start(http(url.clone()));
    outputs.send(alert(1));
    wait_for("a failure", || outputs.stats().failed() == 1);
    let text = logs.text();
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert_eq!(outputs.stop().get(OutputKind::Http).expect("http").delivered, 0);
    assert!(server.requests.try_recv().is_err(), "no request got through");

    let mut settings = http(url);
    settings.insecure = true;
    let outputs = start(settings);
    outputs.send(alert(2));
    assert_eq!(server.next().body, alert(2).json.as_bytes());
    assert_eq!(outputs.stop().get(OutputKind::Http).expect("http").delivered, 1);
}

#[test]
fn https_mutual_tls() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    let cert = dir.path().join("client.crt");
    let key = dir.path().join("client.key");
    std::fs::write(&ca, &pki.ca_pem).expect("write ca");
    std::fs::write(&cert, &pki.client_cert_pem).expect("write cert");
    std::fs::write(&key, &pki.client_key_pem).expect("write key");
    let server = Server::start(Some(pki.server_config(true)), Behaviour::Answer(200));
    let mut settings = http(format!("https://127.0.0.1:{}/", server.port));
    settings.ca_cert = Some(ca);
    settings.client_cert = Some(cert);
    settings.client_key = Some(key);

    // Certificates configured but mtls off: none is presented, the server refuses (the client sees
    // the server's alert or a broken pipe, depending on timing).
    let outputs = start(settings.clone());
    outputs.send(alert(1));
    wait_for("a failure", || outputs.stats().failed() == 1);
    outputs.stop();
    assert!(server.requests.try_recv().is_err(), "no request got through");

    settings.mtls = true;
    let outputs = start(settings);
    outputs.send(alert(2));
    assert_eq!(server.next().body, alert(2).json.as_bytes());
    assert_eq!(outputs.stop().get(OutputKind::Http).expect("http").delivered, 1);
}

#[test]
fn same_bytes_reach_http_file_and_program() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("events.json");
    let piped = dir.path().join("piped.json");
    let server = Server::start(None, Behaviour::Answer(200));
    let settings = Settings {
        file: Some(FileSettings { path: file.clone(), keep_alive: true }),
        program: Some(ProgramSettings { command: format!("cat >> '{}'", piped.display()), keep_alive: true }),
        http: Some(http(format!("http://127.0.0.1:{}/", server.port))),
        ..quiet()
    };
    let outputs = Outputs::start(settings).expect("outputs start");
    for n in 0..3 {
        outputs.send(alert(n));
    }
    let bodies: Vec<Vec<u8>> = (0..3).map(|_| server.next().body).collect();
    let stats = outputs.stop_within(Duration::from_secs(5));
    for output in &stats.outputs {
        assert_eq!((output.delivered, output.failed), (3, 0), "{:?}", output.output);
    }
    let mut expected = Vec::new();
    for body in &bodies {
        expected.extend_from_slice(body);
        expected.push(b'\n');
    }
    assert_eq!(std::fs::read(&file).expect("file"), expected);
    assert_eq!(std::fs::read(&piped).expect("piped"), expected);
    assert_eq!(read_lines(&file).len(), 3);
}
