//! The daemon's one HTTP server, on hyper (HTTP/1.1) and rustls: Falco's `webserver`
//! (`GET /healthz`, `GET /metrics` when `prometheus_metrics_enabled`) and the k8s-audit webhook,
//! on one listener when their addresses coincide or on several listeners of the same server.
//!
//! Every listener is bounded whatever its clients do ([`limits`]): request heads
//! ([`MAX_HEADER_BYTES`], 431), webhook bodies ([`MAX_BODY_BYTES`], 413) and the bodies held at
//! once ([`MAX_BUFFERED_BODY_BYTES`], 503), one deadline per request from its first byte to its
//! response ([`REQUEST_DEADLINE`], heads within [`HEADER_READ_TIMEOUT`]) rather than per read, idle
//! keep-alive connections ([`KEEPALIVE_IDLE`]), connections in all ([`MAX_CONNECTIONS`]) and per
//! client address ([`MAX_CONNECTIONS_PER_CLIENT`]). It replaced two hand-written servers: one
//! buffered a header line without limit, and forty clients sending a byte every five seconds
//! made every webhook POST and `/healthz` fail.
//!
//! ```no_run
//! use palisade_metrics::Metrics;
//! use palisade_web::{Limits, Listener, Routes, Server, HEALTHZ_PATH};
//!
//! let metrics = Metrics::new();
//! let routes = Routes { healthz: Some(HEALTHZ_PATH.into()), metrics: Some(metrics.clone()), webhook: None };
//! let listener = Listener { name: "webserver".into(), address: "127.0.0.1".into(), port: 8765, tls: None, routes };
//! let server = Server::start(vec![listener], Limits::default(), metrics)?;
//! server.stop();
//! # Ok::<(), palisade_web::WebError>(())
//! ```

mod budget;
mod clock;
pub mod limits;
mod routes;
mod server;
mod slots;
mod tls;

pub use budget::Reservation;
pub use limits::{
    Limits, HEADER_READ_TIMEOUT, KEEPALIVE_IDLE, MAX_BODY_BYTES, MAX_BUFFERED_BODY_BYTES, MAX_CONNECTIONS,
    MAX_CONNECTIONS_PER_CLIENT, MAX_HEADERS, MAX_HEADER_BYTES, REQUEST_DEADLINE, RUNTIME_NICE, RUNTIME_THREADS,
};
pub use routes::{Answer, Busy, Reply, Routes, Token, Webhook, WebhookBody, WebhookHandler, HEALTHZ_BODY, HEALTHZ_PATH, RETRY_AFTER_SECS};
pub use server::{Listener, Prepared, Server, WebError};
pub use slots::Refusal;
pub use tls::{ClientCerts, TlsError, TlsFiles};
