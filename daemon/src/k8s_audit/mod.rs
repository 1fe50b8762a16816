//! The `k8s_audit` event source: audit events from the API server's webhook (served by the
//! daemon's web server, `palisade-web`) and from audit log files ([`follow`]), parsed and
//! evaluated by the [`worker`] off the syscall event loop, which only forwards the worker's
//! alerts (a bounded number per drain). See `worker` for the queues and what happens when they
//! are full: nothing is dropped silently.

pub mod follow;
pub mod worker;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use palisade_metrics::Metrics;
use palisade_rules::Ruleset;
use palisade_web::WebhookHandler;

use crate::config::Config;

pub use palisade_k8saudit::AuditEvent;
pub use worker::{AuditWorker, Job, ALERTS_PER_DRAIN};

/// The `k8s_audit` source when enabled: its worker and the file follower.
pub struct AuditSource {
    pub worker: AuditWorker,
    follower: Option<std::thread::JoinHandle<()>>,
    /// The ruleset last handed to the worker (the loop hands it each reloaded one).
    pub(crate) rules: Arc<Ruleset>,
}

impl AuditSource {
    /// Starts the worker and the file follower when `k8s_audit.enabled`. The webhook is served
    /// by the web server with [`AuditSource::handler`].
    pub fn start(
        config: &Config,
        rules: &Arc<Ruleset>,
        metrics: &Arc<Metrics>,
        hostname: &str,
        stop: &Arc<AtomicBool>,
    ) -> std::io::Result<Option<AuditSource>> {
        let c = &config.k8s_audit;
        if !c.enabled {
            return Ok(None);
        }
        let worker = AuditWorker::start(Arc::clone(rules), Arc::clone(metrics), hostname.to_owned())?;
        let follower = (!c.files.is_empty())
            .then(|| follow::spawn(c.files.clone(), worker.sender(), Arc::clone(stop), Arc::clone(metrics)));
        Ok(Some(AuditSource { worker, follower, rules: Arc::clone(rules) }))
    }

    /// The webhook's handler for the web server.
    pub fn handler(&self) -> Arc<dyn WebhookHandler> {
        self.worker.handler()
    }

    /// Stops the worker and waits for the follower (whose stop flag the caller set).
    pub fn stop(self) {
        self.worker.stop();
        if let Some(f) = self.follower {
            let _ = f.join();
        }
    }
}
