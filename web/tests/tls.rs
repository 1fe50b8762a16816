//! TLS (rustls) on a listener: a round trip, mutual TLS refused without a client certificate,
//! and bad files named in the error.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use palisade_metrics::Metrics;
use palisade_web::{ClientCerts, Limits, Listener, Routes, Server, TlsFiles};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

struct Pki {
    dir: tempfile::TempDir,
    ca: CertificateDer<'static>,
    client_chain: Vec<CertificateDer<'static>>,
    client_key: PrivateKeyDer<'static>,
}

impl Pki {
    /// A CA, a server certificate for 127.0.0.1 (cert and key in one file, as Falco's
    /// `ssl_certificate`) and a client certificate, written under a temporary directory.
    fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().expect("ca key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().expect("server key");
        let server = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params").signed_by(&server_key, &issuer).expect("server cert");
        let client_key = KeyPair::generate().expect("client key");
        let client = CertificateParams::new(vec!["apiserver".to_string()]).expect("params").signed_by(&client_key, &issuer).expect("client cert");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("server.pem"), format!("{}{}", server.pem(), server_key.serialize_pem())).expect("write");
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).expect("write");
        Pki {
            dir,
            ca: ca_cert.der().clone(),
            client_chain: vec![client.der().clone()],
            client_key: PrivateKeyDer::from_pem_slice(client_key.serialize_pem().as_bytes()).expect("client key"),
        }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn files(&self, mtls: bool) -> TlsFiles {
        TlsFiles { cert: self.path("server.pem"), key: self.path("server.pem"), client_ca: mtls.then(|| self.path("ca.pem")) }
    }

    fn client(&self, with_cert: bool) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.clone()).expect("root");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots);
        Arc::new(if with_cert {
            builder.with_client_auth_cert(self.client_chain.clone(), self.client_key.clone_key()).expect("client cert")
        } else {
            builder.with_no_client_auth()
        })
    }
}

fn tls_server(pki: &Pki, mtls: bool, routes: Routes, client_certs: ClientCerts) -> (Server, SocketAddr) {
    let tls = pki.files(mtls).load(client_certs).expect("TLS files load");
    let listener = Listener { name: "tls".into(), address: "127.0.0.1".into(), port: 0, tls: Some(tls), routes };
    let server = Server::start(vec![listener], Limits::default(), Metrics::new()).expect("server");
    let addr = server.local_addrs()[0];
    (server, addr)
}

/// One request over TLS; `Err` when the handshake or the exchange fails.
fn tls_exchange(addr: SocketAddr, client: Arc<rustls::ClientConfig>, request: &[u8]) -> Result<Answered, std::io::Error> {
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let conn = rustls::ClientConnection::new(client, name).expect("client");
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(request)?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if raw.is_empty() => return Err(e),
        Err(_) => {}
    }
    if raw.is_empty() {
        return Err(std::io::Error::other("no answer"));
    }
    Ok(parse(&raw))
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

#[test]
fn tls_round_trip_and_plain_http_gets_nothing() {
    let pki = Pki::new();
    let recorder = Arc::new(Recorder::default());
    let (_server, addr) = tls_server(&pki, false, all_routes(None, Arc::clone(&recorder)), ClientCerts::Required);
    let health = tls_exchange(addr, pki.client(false), HEALTHZ).expect("TLS exchange");
    assert_eq!(health.status, 200);
    let posted = tls_exchange(addr, pki.client(false), &post_request("/k8s-audit", "{}", "")).expect("TLS POST");
    assert_eq!(posted.status, 200);
    assert_eq!(recorder.bodies.lock().expect("bodies").len(), 1);
    let mut plain = TcpStream::connect(addr).expect("connect");
    plain.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    plain.write_all(HEALTHZ).expect("send");
    let mut raw = Vec::new();
    let _ = plain.read_to_end(&mut raw);
    assert!(!raw.starts_with(b"HTTP/1.1 200"), "plain HTTP is not served on a TLS listener");
}

/// A webhook-only listener with a client CA refuses the handshake without a client
/// certificate; with one signed by the CA the request goes through.
#[test]
fn mtls_without_a_client_certificate_is_refused() {
    let pki = Pki::new();
    let recorder = Arc::new(Recorder::default());
    let mut hook = webhook(Arc::clone(&recorder));
    hook.require_client_cert = true;
    let routes = Routes { healthz: None, metrics: None, webhook: Some(hook) };
    let (_server, addr) = tls_server(&pki, true, routes, ClientCerts::Required);
    let request = post_request("/k8s-audit", "{}", "");
    assert!(tls_exchange(addr, pki.client(false), &request).is_err(), "no client certificate: refused");
    assert!(recorder.bodies.lock().expect("bodies").is_empty());
    let with_cert = tls_exchange(addr, pki.client(true), &request).expect("mTLS exchange");
    assert_eq!(with_cert.status, 200);
    assert_eq!(recorder.bodies.lock().expect("bodies").len(), 1);
}

/// A listener shared with /healthz accepts handshakes without a client certificate (the
/// kubelet's probe), and the webhook refuses those requests.
#[test]
fn a_shared_listener_probes_without_a_certificate_but_the_webhook_needs_one() {
    let pki = Pki::new();
    let recorder = Arc::new(Recorder::default());
    let mut hook = webhook(Arc::clone(&recorder));
    hook.require_client_cert = true;
    let routes = Routes { healthz: Some(palisade_web::HEALTHZ_PATH.into()), metrics: None, webhook: Some(hook) };
    let (_server, addr) = tls_server(&pki, true, routes, ClientCerts::Optional);
    assert_eq!(tls_exchange(addr, pki.client(false), HEALTHZ).expect("probe").status, 200);
    let request = post_request("/k8s-audit", "{}", "");
    assert_eq!(tls_exchange(addr, pki.client(false), &request).expect("answered").status, 401);
    assert_eq!(tls_exchange(addr, pki.client(true), &request).expect("answered").status, 200);
    assert_eq!(recorder.bodies.lock().expect("bodies").len(), 1);
}

#[test]
fn bad_tls_files_are_errors_naming_the_file() {
    let pki = Pki::new();
    let missing = TlsFiles { cert: pki.path("nope.pem"), key: pki.path("nope.pem"), client_ca: None };
    let error = missing.load(ClientCerts::Required).expect_err("missing file").to_string();
    assert!(error.contains("nope.pem"), "{error}");
    std::fs::write(pki.path("garbage.pem"), "not a certificate\n").expect("write");
    let garbage = TlsFiles { cert: pki.path("garbage.pem"), key: pki.path("server.pem"), client_ca: None };
    let error = garbage.load(ClientCerts::Required).expect_err("garbage").to_string();
    assert!(error.contains("garbage.pem") && error.contains("no PEM certificate"), "{error}");
    std::fs::write(pki.path("cert-only.pem"), std::fs::read_to_string(pki.path("ca.pem")).expect("read")).expect("write");
    let no_key = TlsFiles { cert: pki.path("server.pem"), key: pki.path("cert-only.pem"), client_ca: None };
    let error = no_key.load(ClientCerts::Required).expect_err("no key").to_string();
    assert!(error.contains("cert-only.pem") && error.contains("private key"), "{error}");
    let bad_ca = TlsFiles { client_ca: Some(pki.path("garbage.pem")), ..pki.files(false) };
    let error = bad_ca.load(ClientCerts::Required).expect_err("bad CA").to_string();
    assert!(error.contains("garbage.pem"), "{error}");
    assert!(Path::new(&pki.path("server.pem")).exists());
}
