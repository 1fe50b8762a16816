//! Helpers shared by the integration tests: alerts, settings, polling with a deadline, a log
//! capture, and a hand-parsed HTTP/1.1 server (plain or TLS) on 127.0.0.1.

#![allow(dead_code, reason = "each test binary uses a part of the helpers")]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use palisade_outputs::{Message, Settings};

/// A Falco-shaped alert; the line is its JSON, so every output carries the same bytes.
pub(crate) fn alert(n: usize) -> Message {
    let json = format!(
        r#"{{"hostname":"h","output":"alert {n} \"quoted\" ünïcode","priority":"Warning","rule":"Test rule","source":"syscall","tags":["t"],"time":"2026-01-01T00:00:00.000000000Z","output_fields":{{"evt.num":{n}}}}}"#
    );
    Message { line: json.clone(), json, priority: 4 }
}

/// No output enabled (stdout off), queue of 64.
pub(crate) fn quiet() -> Settings {
    Settings { queue_capacity: 64, stdout: false, ..Settings::default() }
}

/// Polls `cond` until it holds; panics after 10 s so a test never hangs.
pub(crate) fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

pub(crate) fn read_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect()
}

/// Everything `tracing` logs in this test binary, from any thread. A process-wide subscriber:
/// scoped ones (`with_default`) lose events when other threads race to register callsites.
#[derive(Clone, Default)]
pub(crate) struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    pub(crate) fn global() -> &'static LogCapture {
        static LOGS: OnceLock<LogCapture> = OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = LogCapture::default();
            let writer = logs.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::DEBUG)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
            logs
        })
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One request as the test server read it.
#[derive(Debug)]
pub(crate) struct Request {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
#[derive(Clone, Copy)]
pub(crate) enum Behaviour {
    Answer(u16),
    /// Reads the request, never answers (keeps the connection open).
    Stall,
}

pub(crate) struct Server {
    pub port: u16,
    pub requests: Receiver<Request>,
}

impl Server {
    /// Serves on 127.0.0.1 (TLS with `tls`), each connection in its own thread, forever.
    pub(crate) fn start(tls: Option<Arc<rustls::ServerConfig>>, behaviour: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (tx, requests) = mpsc::channel();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let tx = tx.clone();
                let tls = tls.clone();
                thread::spawn(move || {
                    let _ = match tls {
                        None => serve(stream, &tx, behaviour),
                        Some(config) => match rustls::ServerConnection::new(config) {
                            Ok(conn) => serve(rustls::StreamOwned::new(conn, stream), &tx, behaviour),
                            Err(_) => Ok(()),
                        },
                    };
                });
            }
        });
        Server { port, requests }
    }

    pub(crate) fn next(&self) -> Request {
        self.requests.recv_timeout(Duration::from_secs(10)).expect("a request within 10 s")
    }
}

fn serve<S: Read + Write>(stream: S, tx: &Sender<Request>, behaviour: Behaviour) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut start = String::new();
        if reader.read_line(&mut start)? == 0 {
            return Ok(());
        }
        let mut parts = start.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let _ = tx.send(Request { method, path, headers, body });
        match behaviour {
            Behaviour::Answer(status) => {
                let out = reader.get_mut();
                write!(out, "HTTP/1.1 {status} Whatever\r\ncontent-length: 2\r\n\r\nok")?;
                out.flush()?;
            }
            Behaviour::Stall => loop {
                thread::sleep(Duration::from_secs(3600));
            },
        }
    }
}

/// A CA, a server certificate for 127.0.0.1 it signed, and a client certificate it signed.
pub(crate) struct Pki {
    pub ca_pem: String,
    pub server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub server_key: rustls::pki_types::PrivateKeyDer<'static>,
    pub client_cert_pem: String,
    pub client_key_pem: String,
    pub ca_der: rustls::pki_types::CertificateDer<'static>,
}

impl Pki {
    pub(crate) fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().expect("ca key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "palisade test ca");
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let server_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("server params");
        let server_cert = server_params.signed_by(&server_key, &issuer).expect("server cert");

        let client_key = KeyPair::generate().expect("client key");
        let client_params = CertificateParams::new(vec!["client.test".to_string()]).expect("client params");
        let client_cert = client_params.signed_by(&client_key, &issuer).expect("client cert");

        Pki {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().clone(),
            server_chain: vec![server_cert.der().clone()],
            server_key: rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
        }
    }

    /// A TLS server config; with `client_auth`, clients must present a certificate of the CA.
    pub(crate) fn server_config(&self, client_auth: bool) -> Arc<rustls::ServerConfig> {
        let builder = rustls::ServerConfig::builder();
        let builder = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca_der.clone()).expect("ca root");
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        Arc::new(
            builder
                .with_single_cert(self.server_chain.clone(), self.server_key.clone_key())
                .expect("server config"),
        )
    }
}

/// Returns a port on 127.0.0.1 where nothing listens.
pub(crate) fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

pub(crate) fn connect_refused(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_err()
}
