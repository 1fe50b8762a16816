//! TLS for a listener (rustls, ring provider): a certificate chain and its private key in PEM
//! files, and optionally a client CA bundle for mutual TLS. Every error names the file that is
//! missing, unreadable or wrong, so a bad setting fails the daemon's start (or is refused on
//! reload) with a message an operator can act on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The PEM files of a TLS listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain (leaf first).
    pub cert: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1); may be the same file as `cert` (Falco's
    /// `webserver.ssl_certificate` holds both).
    pub key: PathBuf,
    /// CA certificates that sign accepted client certificates; set, clients authenticate with a
    /// certificate (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

/// Whether a listener demands a client certificate in the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientCerts {
    /// The handshake fails without a valid client certificate (a listener serving only the
    /// webhook).
    Required,
    /// A client certificate is verified if sent; routes that need one refuse requests without
    /// it (a listener that also serves `/healthz`, which a kubelet probes without one).
    Optional,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: no PEM certificate found", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{}: {message}", path.display())]
    Pem { path: PathBuf, message: String },
    #[error("{}: no PEM private key found", path.display())]
    NoKey { path: PathBuf },
    #[error("{}: client CA: {message}", path.display())]
    ClientCa { path: PathBuf, message: String },
    #[error("{} and {}: {message}", cert.display(), key.display())]
    Config { cert: PathBuf, key: PathBuf, message: String },
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_owned(), source })
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { path: path.to_owned(), message: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: path.to_owned() });
    }
    Ok(certs)
}

impl TlsFiles {
    /// Reads the files and builds the rustls configuration (HTTP/1.1 only, TLS 1.2 and 1.3).
    pub fn load(&self, client_certs: ClientCerts) -> Result<Arc<ServerConfig>, TlsError> {
        let chain = certificates(&self.cert)?;
        let key_pem = read(&self.key)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => TlsError::NoKey { path: self.key.clone() },
            other => TlsError::Pem { path: self.key.clone(), message: other.to_string() },
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config_error =
            |message: String| TlsError::Config { cert: self.cert.clone(), key: self.key.clone(), message };
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error(e.to_string()))?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let ca_error = |message: String| TlsError::ClientCa { path: ca.clone(), message };
                let mut roots = RootCertStore::empty();
                for cert in certificates(ca)? {
                    roots.add(cert).map_err(|e| ca_error(e.to_string()))?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = match client_certs {
                    ClientCerts::Required => verifier,
                    ClientCerts::Optional => verifier.allow_unauthenticated(),
                };
                builder.with_client_cert_verifier(verifier.build().map_err(|e| ca_error(e.to_string()))?)
            }
        };
        let mut config = builder.with_single_cert(chain, key).map_err(|e| config_error(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
