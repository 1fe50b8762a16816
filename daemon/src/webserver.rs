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
//! naming it. A reload reads them again ([`check`]) and is refused if one is bad; the running
//! server keeps its start-up settings until a restart.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use palisade_metrics::Metrics;
use palisade_web::{ClientCerts, Limits, Listener, Routes, Server, TlsError, TlsFiles, Token, WebError, Webhook, WebhookHandler};

use crate::config::Config;

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
            healthz: true,
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
            let routes = Routes { healthz: false, metrics: None, webhook };
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
