//! The daemon's HTTP surfaces, from the configuration to `palisade-web` listeners: Falco's
//! `webserver` (`/healthz`, `/metrics`) and the k8s-audit webhook.
//!
//! One listener when `webserver` and `k8s_audit` have the same address and port (one port to
//! open, one TLS setting, which must then agree), else one listener each, served by the same
//! server code and runtime. Each listener has its own connection slots, so a flood on the
//! webhook's port cannot take `/healthz`'s slots when they are apart. On a shared listener with
//! client certificates configured, the handshake accepts clients without one (the kubelet's
//! probe of `/healthz`) and the webhook route refuses them (401); on a webhook-only listener the
//! handshake itself refuses them.
//!
//! TLS and token files are read when the server starts: a missing or bad file is a start error
//! naming it. A reload applies new settings ([`Web::prepare`], [`Web::apply`]) the way the
//! outputs are swapped: the new listeners are built first — files read, new addresses bound —
//! and a failure refuses the whole reload while the running server keeps serving; then they
//! replace the old ones. A listener whose address and port stay keeps its socket (no gap in
//! `/healthz`) and takes the new routes, token and certificates for new connections; the old
//! settings' connections finish the request in flight and close. Unchanged settings (the
//! `webserver` and `k8s_audit` sections and the bytes of the files they name) touch nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use palisade_metrics::Metrics;
use palisade_web::{
    ClientCerts, Limits, Listener, Prepared, Routes, Server, TlsError, TlsFiles, Token, WebError, Webhook, WebhookHandler,
};

use crate::config::{Config, K8sAudit, Webserver};

#[derive(Debug, thiserror::Error)]
pub enum WebSetupError {
    #[error("{setting}: {source}")]
    Tls {
        setting: &'static str,
        #[source]
        source: TlsError,
    },
    #[error("k8s_audit.bearer_token_file: reading {}: {source}", path.display())]
    Token { path: PathBuf, source: std::io::Error },
    #[error("k8s_audit.bearer_token_file: {} holds no token", path.display())]
    EmptyToken { path: PathBuf },
    #[error(transparent)]
    Start(#[from] WebError),
}

/// Shape checks of the settings (files are read by [`check`] and at start).
pub fn validate(c: &Config) -> Result<(), String> {
    let (w, k) = (&c.webserver, &c.k8s_audit);
    if w.enabled && w.ssl_enabled && w.ssl_certificate.as_os_str().is_empty() {
        return Err("webserver.ssl_certificate: required when webserver.ssl_enabled".into());
    }
    if !k.enabled {
        return Ok(());
    }
    if !k.endpoint.starts_with('/') {
        return Err(format!("k8s_audit.endpoint: {:?} must start with /", k.endpoint));
    }
    if k.ssl_enabled && k.ssl_certificate.as_os_str().is_empty() {
        return Err("k8s_audit.ssl_certificate: required when k8s_audit.ssl_enabled".into());
    }
    if !k.ssl_enabled && !k.ssl_client_ca.as_os_str().is_empty() {
        return Err("k8s_audit.ssl_client_ca: client certificates need k8s_audit.ssl_enabled".into());
    }
    if shared(c) {
        let same = w.ssl_enabled == k.ssl_enabled
            && (!w.ssl_enabled || (w.ssl_certificate == k.ssl_certificate && key_of(c) == w.ssl_certificate));
        if !same {
            return Err(format!(
                "k8s_audit: listens on webserver's {}:{}, so their TLS settings must agree \
                 (k8s_audit.ssl_enabled/ssl_certificate/ssl_private_key vs webserver.ssl_enabled/ssl_certificate)",
                k.listen_address, k.listen_port
            ));
        }
    }
    Ok(())
}

/// Whether the webhook shares webserver's listener.
fn shared(c: &Config) -> bool {
    c.webserver.enabled
        && c.k8s_audit.enabled
        && c.webserver.listen_address == c.k8s_audit.listen_address
        && c.webserver.listen_port == c.k8s_audit.listen_port
}

/// The webhook's key file (its certificate file when not set).
fn key_of(c: &Config) -> PathBuf {
    let k = &c.k8s_audit;
    if k.ssl_private_key.as_os_str().is_empty() {
        k.ssl_certificate.clone()
    } else {
        k.ssl_private_key.clone()
    }
}

fn non_empty(p: &Path) -> Option<PathBuf> {
    (!p.as_os_str().is_empty()).then(|| p.to_owned())
}

fn read_token(path: &Path) -> Result<Token, WebSetupError> {
    let text = std::fs::read(path).map_err(|source| WebSetupError::Token { path: path.to_owned(), source })?;
    Token::from_file_text(&text).ok_or_else(|| WebSetupError::EmptyToken { path: path.to_owned() })
}

/// The listeners `c` asks for; reads the TLS and token files. The webhook route is added only
/// with a `handler`.
pub fn listeners(
    c: &Config,
    metrics: &Arc<Metrics>,
    handler: Option<Arc<dyn WebhookHandler>>,
) -> Result<Vec<Listener>, WebSetupError> {
    let (w, k) = (&c.webserver, &c.k8s_audit);
    let mut out = Vec::new();
    let share = shared(c);
    if w.enabled {
        let files = w.ssl_enabled.then(|| TlsFiles {
            cert: w.ssl_certificate.clone(),
            key: w.ssl_certificate.clone(),
            client_ca: if share && k.ssl_enabled { non_empty(&k.ssl_client_ca) } else { None },
        });
        let tls = files
            .map(|f| f.load(ClientCerts::Optional))
            .transpose()
            .map_err(|source| WebSetupError::Tls { setting: "webserver.ssl_certificate", source })?;
        let routes = Routes {
            healthz: Some(c.webserver.k8s_healthz_endpoint.clone()),
            metrics: w.prometheus_metrics_enabled.then(|| Arc::clone(metrics)),
            webhook: None,
        };
        let name = if share { "webserver+k8s_audit" } else { "webserver" };
        out.push(Listener { name: name.into(), address: w.listen_address.clone(), port: w.listen_port, tls, routes });
    }
    if k.enabled {
        let bearer_token = non_empty(&k.bearer_token_file).map(|p| read_token(&p)).transpose()?;
        let client_ca = non_empty(&k.ssl_client_ca);
        let webhook = handler.map(|handler| Webhook {
            path: k.endpoint.clone(),
            bearer_token,
            require_client_cert: client_ca.is_some(),
            handler,
        });
        if share {
            if let Some(listener) = out.last_mut() {
                listener.routes.webhook = webhook;
            }
        } else {
            let files = k.ssl_enabled.then(|| TlsFiles { cert: k.ssl_certificate.clone(), key: key_of(c), client_ca });
            let tls = files
                .map(|f| f.load(ClientCerts::Required))
                .transpose()
                .map_err(|source| WebSetupError::Tls { setting: "k8s_audit.ssl_certificate", source })?;
            let routes = Routes { healthz: None, metrics: None, webhook };
            out.push(Listener { name: "k8s_audit".into(), address: k.listen_address.clone(), port: k.listen_port, tls, routes });
        }
    }
    Ok(out)
}

/// Reads the TLS and token files of `c` as a start would: for a reload, which is refused when
/// one is bad.
pub fn check(c: &Config) -> Result<(), WebSetupError> {
    listeners(c, &Metrics::new(), None).map(drop)
}

/// The daemon's web server and the settings it runs with, so that a reload can apply new ones.
pub struct Web {
    /// `None` when neither `webserver` nor `k8s_audit` is enabled.
    server: Option<Server>,
    applied: WebSettings,
    metrics: Arc<Metrics>,
    /// The k8s-audit worker's, when it runs (started with the daemon).
    handler: Option<Arc<dyn WebhookHandler>>,
}

/// What the web server is built from: the two sections and the files they name, by content (a
/// new token or certificate in the same file is a change).
#[derive(PartialEq)]
struct WebSettings {
    webserver: Webserver,
    k8s_audit: K8sAudit,
    files: Vec<Option<Vec<u8>>>,
}

impl WebSettings {
    fn of(c: &Config) -> WebSettings {
        let (w, k) = (&c.webserver, &c.k8s_audit);
        let paths = [&w.ssl_certificate, &k.ssl_certificate, &k.ssl_private_key, &k.ssl_client_ca, &k.bearer_token_file];
        let files = paths.iter().map(|p| non_empty(p).and_then(|p| std::fs::read(p).ok())).collect();
        WebSettings { webserver: w.clone(), k8s_audit: k.clone(), files }
    }
}

/// A reload's web settings, built and bound but not serving yet ([`Web::prepare`]). Dropped
/// unused (another part of the reload failed), the new sockets close and nothing changed.
pub struct PreparedWeb {
    settings: WebSettings,
    change: Change,
}

enum Change {
    /// No listener before, some now.
    Start(Server),
    /// New listeners for the running server.
    Replace(Prepared),
    /// No listener now.
    Stop,
    /// None before or after (only the settings' record changes).
    Nothing,
}

impl Web {
    /// Starts the server for `c` (none when neither `webserver` nor `k8s_audit` is enabled).
    pub fn start(c: &Config, metrics: &Arc<Metrics>, handler: Option<Arc<dyn WebhookHandler>>) -> Result<Web, WebSetupError> {
        let applied = WebSettings::of(c);
        let server = start(c, metrics, handler.clone())?;
        Ok(Web { server, applied, metrics: Arc::clone(metrics), handler })
    }

    /// First half of a reload to `c`: reads its files and binds its new addresses, touching
    /// nothing running (`None`: the settings did not change). An error refuses the reload.
    pub fn prepare(&self, c: &Config) -> Result<Option<PreparedWeb>, WebSetupError> {
        let settings = WebSettings::of(c);
        if settings == self.applied {
            return Ok(None);
        }
        let mut listeners = listeners(c, &self.metrics, self.handler.clone())?;
        if c.k8s_audit.enabled && self.handler.is_none() {
            // The audit worker starts with the daemon: without it the webhook has no route,
            // and a port answering 404 to every POST would look like a working webhook.
            tracing::warn!("k8s_audit.enabled by a reload takes effect at the next restart");
            listeners.retain(|l| l.routes.healthz.is_some() || l.routes.metrics.is_some() || l.routes.webhook.is_some());
        }
        let change = match (&self.server, listeners.is_empty()) {
            (Some(_), true) => Change::Stop,
            (Some(server), false) => Change::Replace(server.prepare(listeners)?),
            (None, true) => Change::Nothing,
            (None, false) => Change::Start(Server::start(listeners, Limits::default(), Arc::clone(&self.metrics))?),
        };
        Ok(Some(PreparedWeb { settings, change }))
    }

    /// Second half: serves the prepared listeners and stops the others (cannot fail).
    pub fn apply(&mut self, prepared: PreparedWeb) {
        match prepared.change {
            Change::Start(server) => self.server = Some(server),
            Change::Replace(listeners) => {
                if let Some(server) = &mut self.server {
                    server.apply(listeners);
                }
            }
            Change::Stop => {
                if let Some(server) = self.server.take() {
                    server.stop();
                }
            }
            Change::Nothing => {}
        }
        self.applied = prepared.settings;
    }

    /// The addresses served now.
    pub fn local_addrs(&self) -> Vec<std::net::SocketAddr> {
        self.server.as_ref().map(Server::local_addrs).unwrap_or_default()
    }

    /// Closes every listener and connection.
    pub fn stop(self) {
        if let Some(server) = self.server {
            server.stop();
        }
    }
}

/// Starts the server for `c` (none when neither `webserver` nor `k8s_audit` is enabled).
pub fn start(
    c: &Config,
    metrics: &Arc<Metrics>,
    handler: Option<Arc<dyn WebhookHandler>>,
) -> Result<Option<Server>, WebSetupError> {
    let listeners = listeners(c, metrics, handler)?;
    if listeners.is_empty() {
        return Ok(None);
    }
    Ok(Some(Server::start(listeners, Limits::default(), Arc::clone(metrics))?))
}

#[cfg(test)]
#[path = "webserver_tests.rs"]
mod tests;
