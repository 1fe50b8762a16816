//! Palisade's metrics and its small web server.
//!
//! [`Metrics`] holds the daemon's Prometheus families (listed with their labels and cardinality in
//! the `metrics` module docs) and encodes them as OpenMetrics text. [`WebServer`] is Falco's
//! `webserver`: `GET /healthz` always, `GET /metrics` when `prometheus_metrics_enabled`.
//!
//! ```no_run
//! use palisade_metrics::{Metrics, WebServer, WebSettings};
//!
//! let metrics = Metrics::new();
//! let settings = WebSettings { prometheus_metrics_enabled: true, ..WebSettings::default() };
//! let server = WebServer::start(&settings, metrics.clone())?;
//! metrics.event("execve");
//! metrics.alert("Terminal shell in container", "Notice");
//! server.stop();
//! # Ok::<(), palisade_metrics::WebError>(())
//! ```

mod labels;
mod metrics;
mod web;

pub use labels::{MAX_SERIES_PER_FAMILY, OVERFLOW};
pub use metrics::{Metrics, OPENMETRICS_CONTENT_TYPE};
pub use web::{
    WebError, WebServer, WebSettings, HEALTHZ_BODY, MAX_REQUEST_HEAD, QUEUE, REQUEST_DEADLINE,
    WORKERS,
};
