//! Falco's `http_output`: one `POST` per alert, body exactly the alert's JSON object,
//! `Content-Type: application/json` — what Falcosidekick's `POST /` reads.
//!
//! Blocking `ureq` over rustls (ring). Connections are pooled and reused; each alert gets one
//! attempt bounded by [`CONNECT_TIMEOUT`] and [`REQUEST_TIMEOUT`], and a non-2xx answer or a
//! transport error is a failure (counted, logged rate-limited, never retried). Proxies come from
//! the usual `HTTPS_PROXY`/`NO_PROXY` variables, as with Falco's libcurl.
//!
//! Trust: `ca_cert` and the PEM files of `ca_path` replace the default roots, which are Mozilla's
//! (bundled, so the trust does not depend on what the host or container image ships). Every TLS
//! file is read and parsed at start so a bad path fails the start, naming the file.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ureq::http::{HeaderValue, Uri};
use ureq::tls::{parse_pem, Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
use ureq::Agent;

use crate::outputs::Sink;
use crate::{HttpSettings, Message};

/// Sent unless configured otherwise. Palisade names itself rather than posing as Falco: receivers
/// (Falcosidekick included) read the body and ignore the agent, and an honest agent tells an
/// operator's proxy logs which tool posted.
pub const DEFAULT_USER_AGENT: &str = concat!("palisade/", env!("CARGO_PKG_VERSION"));

/// Bound on establishing a connection (TCP and TLS).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on one whole request, answer included.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of an answer read (to reuse the connection, and quoted in errors).
const ANSWER_LIMIT: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("http output: invalid url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("http output: invalid user agent {0:?}")]
    UserAgent(String),
    #[error("http output: cannot read {what} {path}: {source}")]
    Read { what: &'static str, path: PathBuf, source: io::Error },
    #[error("http output: cannot parse {what} {path}: {source}")]
    Pem { what: &'static str, path: PathBuf, source: ureq::Error },
    #[error("http output: {what} {path} holds no PEM certificate")]
    NoCertificate { what: &'static str, path: PathBuf },
    #[error("http output: client_key {0} holds no PEM private key")]
    NoKey(PathBuf),
    #[error("http output: mtls is enabled but {0} is not set")]
    MtlsMissing(&'static str),
    #[error("http output: POST {url}: {source}")]
    Request { url: String, source: ureq::Error },
    #[error("http output: POST {url}: answered {status} {answer:?}")]
    Status { url: String, status: u16, answer: String },
}

pub(crate) struct HttpSink {
    agent: Agent,
    url: String,
    user_agent: HeaderValue,
}

impl HttpSink {
    pub(crate) fn new(settings: &HttpSettings) -> Result<Self, HttpError> {
        let url = settings.url.clone();
        let uri: Uri = url
            .parse()
            .map_err(|e: ureq::http::uri::InvalidUri| HttpError::Url {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(HttpError::Url { url, reason: "the scheme must be http or https".into() }),
        };
        if uri.host().is_none() {
            return Err(HttpError::Url { url, reason: "no host".into() });
        }
        let user_agent = HeaderValue::from_str(&settings.user_agent)
            .map_err(|_| HttpError::UserAgent(settings.user_agent.clone()))?;
        // The TLS files are checked even for an http:// URL: a wrong path shows at once.
        let tls = tls_config(settings)?;
        if !https && settings.insecure {
            tracing::debug!(url, "insecure has no effect on an http url");
        }
        let config = Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build();
        Ok(HttpSink { agent: config.new_agent(), url, user_agent })
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, HttpError> {
    fs::read(path).map_err(|source| HttpError::Read { what, path: path.to_path_buf(), source })
}

/// The certificates of one PEM file (other PEM sections are skipped).
fn certificates(what: &'static str, path: &Path, pem: &[u8]) -> Result<Vec<Certificate<'static>>, HttpError> {
    let mut certs = Vec::new();
    for item in parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(source) => return Err(HttpError::Pem { what, path: path.to_path_buf(), source }),
        }
    }
    Ok(certs)
}

fn tls_config(settings: &HttpSettings) -> Result<TlsConfig, HttpError> {
    let mut roots = Vec::new();
    if let Some(path) = &settings.ca_cert {
        let certs = certificates("ca_cert", path, &read("ca_cert", path)?)?;
        if certs.is_empty() {
            return Err(HttpError::NoCertificate { what: "ca_cert", path: path.clone() });
        }
        roots.extend(certs);
    }
    if let Some(dir) = &settings.ca_path {
        let entries = fs::read_dir(dir)
            .map_err(|source| HttpError::Read { what: "ca_path", path: dir.clone(), source })?;
        let before = roots.len();
        for entry in entries {
            let path = entry
                .map_err(|source| HttpError::Read { what: "ca_path", path: dir.clone(), source })?
                .path();
            if path.is_file() {
                // Like OpenSSL's CApath, files that are not PEM certificates are passed over.
                if let Ok(certs) = certificates("ca_path file", &path, &read("ca_path file", &path)?) {
                    roots.extend(certs);
                }
            }
        }
        if roots.len() == before {
            return Err(HttpError::NoCertificate { what: "ca_path", path: dir.clone() });
        }
    }
    let mut builder = TlsConfig::builder().disable_verification(settings.insecure);
    if !roots.is_empty() {
        builder = builder.root_certs(RootCerts::from(roots));
    }
    if settings.mtls {
        let cert_path = settings.client_cert.as_ref().ok_or(HttpError::MtlsMissing("client_cert"))?;
        let key_path = settings.client_key.as_ref().ok_or(HttpError::MtlsMissing("client_key"))?;
        let chain = certificates("client_cert", cert_path, &read("client_cert", cert_path)?)?;
        if chain.is_empty() {
            return Err(HttpError::NoCertificate { what: "client_cert", path: cert_path.clone() });
        }
        let key_pem = read("client_key", key_path)?;
        let key = private_key(key_path, &key_pem)?;
        builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    Ok(builder.build())
}

fn private_key(path: &Path, pem: &[u8]) -> Result<PrivateKey<'static>, HttpError> {
    for item in parse_pem(pem) {
        match item {
            Ok(PemItem::PrivateKey(key)) => return Ok(key),
            Ok(_) => {}
            Err(source) => {
                return Err(HttpError::Pem { what: "client_key", path: path.to_path_buf(), source });
            }
        }
    }
    Err(HttpError::NoKey(path.to_path_buf()))
}

impl Sink for HttpSink {
    type Error = HttpError;

    fn deliver(&mut self, msg: &Message) -> Result<(), HttpError> {
        let request = |source| HttpError::Request { url: self.url.clone(), source };
        let mut response = self
            .agent
            .post(&self.url)
            .header("user-agent", self.user_agent.clone())
            .header("content-type", "application/json")
            .send(msg.json())
            .map_err(request)?;
        let status = response.status().as_u16();
        // Reading the answer lets the connection go back to the pool.
        let answer = response.body_mut().with_config().limit(ANSWER_LIMIT).lossy_utf8(true).read_to_string();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            let answer = answer.unwrap_or_default().chars().take(200).collect();
            Err(HttpError::Status { url: self.url.clone(), status, answer })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> HttpSettings {
        HttpSettings { url: url.to_string(), ..HttpSettings::default() }
    }

    #[test]
    fn refuses_bad_urls() {
        for url in ["", "ftp://host/", "not a url", "/relative"] {
            let err = HttpSink::new(&settings(url)).err().expect("an error");
            assert!(matches!(err, HttpError::Url { .. }), "{url}: {err}");
        }
    }

    #[test]
    fn names_missing_tls_files() {
        let mut s = settings("https://127.0.0.1:1/");
        s.ca_cert = Some("/nonexistent/ca.pem".into());
        let err = HttpSink::new(&s).err().expect("an error").to_string();
        assert!(err.starts_with("http output: cannot read ca_cert /nonexistent/ca.pem"), "{err}");

        let mut s = settings("https://127.0.0.1:1/");
        s.mtls = true;
        let err = HttpSink::new(&s).err().expect("an error").to_string();
        assert_eq!(err, "http output: mtls is enabled but client_cert is not set");
    }

    #[test]
    fn refuses_files_without_certificates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        fs::write(&empty, "no pem here\n").expect("write");
        let mut s = settings("https://127.0.0.1:1/");
        s.ca_cert = Some(empty);
        let err = HttpSink::new(&s).err().expect("an error");
        assert!(matches!(err, HttpError::NoCertificate { what: "ca_cert", .. }), "{err}");

        let mut s = settings("https://127.0.0.1:1/");
        s.ca_path = Some(dir.path().to_path_buf());
        let err = HttpSink::new(&s).err().expect("an error");
        assert!(matches!(err, HttpError::NoCertificate { what: "ca_path", .. }), "{err}");
    }

    #[test]
    fn refuses_control_characters_in_user_agent() {
        let mut s = settings("http://127.0.0.1:1/");
        s.user_agent = "bad\nagent".into();
        assert!(matches!(HttpSink::new(&s), Err(HttpError::UserAgent(_))));
    }
}
