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

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

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
