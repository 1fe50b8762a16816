//! Connection slots of one listener: at most `max_connections` open connections in all and
//! `max_connections_per_client` per client address. A slot is held by a [`Slot`] guard for the
//! life of its connection task and given back when the guard drops (also when the task is
//! cancelled), so the counts can never leak.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Why a connection was refused a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The listener has `max_connections` open.
    Total,
    /// This client address has `max_connections_per_client` open.
    PerClient,
}

impl Refusal {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Total => "connection_limit",
            Refusal::PerClient => "per_client_limit",
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    /// Only addresses with at least one open connection: the map is bounded by `total`.
    per_client: HashMap<IpAddr, usize>,
}

/// The slot table of one listener.
#[derive(Debug)]
pub(crate) struct Slots {
    max_total: usize,
    max_per_client: usize,
    counts: Mutex<Counts>,
}

/// One taken slot; dropping it gives it back.
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<Slots>,
    client: IpAddr,
}

impl Slots {
    pub(crate) fn new(max_total: usize, max_per_client: usize) -> Arc<Slots> {
        Arc::new(Slots { max_total, max_per_client, counts: Mutex::new(Counts::default()) })
    }

    /// Takes a slot for a connection from `client`, or says why not.
    pub(crate) fn take(self: &Arc<Self>, client: IpAddr) -> Result<Slot, Refusal> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.total >= self.max_total {
            return Err(Refusal::Total);
        }
        let mine = counts.per_client.entry(client).or_insert(0);
        if *mine >= self.max_per_client {
            return Err(Refusal::PerClient);
        }
        *mine += 1;
        counts.total += 1;
        Ok(Slot { slots: Arc::clone(self), client })
    }

    /// Open connections (for tests and logs).
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.slots.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(mine) = counts.per_client.get_mut(&self.client) {
            *mine -= 1;
            if *mine == 0 {
                counts.per_client.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
#[path = "slots_tests.rs"]
mod tests;
