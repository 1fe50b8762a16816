//! Palisade's metrics: [`Metrics`] holds the daemon's Prometheus families (listed with their
//! labels and cardinality in the `metrics`, `sources` and `falco` module docs: Palisade's own
//! names, and Falco's for the same facts) and encodes them as
//! OpenMetrics text. The HTTP server that serves them (`/metrics`) is `palisade-web`.
//!
//! ```
//! use palisade_metrics::Metrics;
//!
//! let metrics = Metrics::new();
//! metrics.event("execve");
//! metrics.alert("Terminal shell in container", "Notice");
//! assert!(metrics.encode().contains("palisade_events_total{evt_type=\"execve\"} 1"));
//! ```

mod falco;
mod falco_labels;
mod host;
mod labels;
mod metrics;
mod sources;

pub use labels::{MAX_SERIES_PER_FAMILY, OVERFLOW};
pub use falco::{MatchContainer, RuleMatch};
pub use metrics::{Metrics, OPENMETRICS_CONTENT_TYPE};
