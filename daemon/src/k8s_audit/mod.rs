//! The `k8s_audit` event source: audit events from the API server's webhook ([`endpoint`]) and
//! from audit log files ([`follow`]), handed to the event loop over a bounded channel.
//!
//! Events are parsed on the receiving threads (`palisade-k8saudit`) and evaluated by the event
//! loop, like syscall events, so both sources share the rules, outputs and metrics. The channel
//! is bounded: when the loop falls behind, the webhook answers 503 after a short wait (the API
//! server's webhook backend retries with backoff) and the file follower waits; nothing is
//! dropped silently.

pub mod endpoint;
pub mod follow;

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use crate::config::Config;

pub use palisade_k8saudit::AuditEvent;

/// Batches of parsed events waiting for the event loop (batches, not events: one webhook POST
/// is one send).
pub const QUEUE_BATCHES: usize = 1024;

/// The receiving end of the audit source, drained by the event loop.
pub struct AuditQueue {
    pub tx: SyncSender<Vec<AuditEvent>>,
    pub rx: Receiver<Vec<AuditEvent>>,
}

impl AuditQueue {
    pub fn new() -> AuditQueue {
        let (tx, rx) = sync_channel(QUEUE_BATCHES);
        AuditQueue { tx, rx }
    }
}

impl Default for AuditQueue {
    fn default() -> Self {
        AuditQueue::new()
    }
}

/// The `k8s_audit` source's receivers, when enabled.
pub struct AuditSource {
    /// The batches the event loop drains.
    pub queue: AuditQueue,
    endpoint: endpoint::Endpoint,
    follower: Option<std::thread::JoinHandle<()>>,
}

impl AuditSource {
    /// Starts the webhook endpoint and the file follower when `k8s_audit.enabled`.
    pub fn start(config: &Config, stop: &Arc<AtomicBool>) -> Result<Option<AuditSource>, endpoint::EndpointError> {
        let c = &config.k8s_audit;
        if !c.enabled {
            return Ok(None);
        }
        let queue = AuditQueue::new();
        let endpoint =
            endpoint::Endpoint::start(&c.listen_address, c.listen_port, &c.endpoint, queue.tx.clone())?;
        let follower = (!c.files.is_empty())
            .then(|| follow::spawn(c.files.clone(), queue.tx.clone(), Arc::clone(stop)));
        tracing::info!(address = %endpoint.local_addr(), path = %c.endpoint, "k8s audit events accepted");
        Ok(Some(AuditSource { queue, endpoint, follower }))
    }

    /// Stops the endpoint and waits for the follower.
    pub fn stop(self) {
        self.endpoint.stop();
        drop(self.queue);
        if let Some(f) = self.follower {
            let _ = f.join();
        }
    }
}
