//! The byte budget of webhook bodies held at once ([`crate::limits::MAX_BUFFERED_BODY_BYTES`]).
//! A request reserves bytes as its body arrives; the reservation travels with the body to the
//! audit worker and is given back when the body is dropped there, so the budget covers bodies
//! being received and bodies waiting in the worker's queue alike.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    used: AtomicUsize,
}

/// Bytes taken from a [`Budget`]; given back on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Arc<Budget> {
        Arc::new(Budget { limit, used: AtomicUsize::new(0) })
    }

    /// An empty reservation to grow with [`Reservation::grow`].
    pub(crate) fn reserve(self: &Arc<Self>) -> Reservation {
        Reservation { budget: Arc::clone(self), bytes: 0 }
    }

    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

impl Reservation {
    /// Takes `bytes` more; false (and nothing taken) when the budget has not that much left.
    pub(crate) fn grow(&mut self, bytes: usize) -> bool {
        let budget = &self.budget;
        let took = budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|after| *after <= budget.limit)
            })
            .is_ok();
        if took {
            self.bytes += bytes;
        }
        took
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
