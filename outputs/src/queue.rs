//! The bounded FIFO between `Outputs::send_batch` and one output's worker, with its counters.
//!
//! The worker takes every queued alert at once ([`AlertQueue::next_batch`]), delivers the batch,
//! then ends it ([`AlertQueue::finish_batch`]), so the alerts in flight keep their slots:
//! `capacity` bounds everything accepted and unfinished, and `depth` (queued plus in flight)
//! counts it.
//!
//! Wake-ups: a push wakes the worker only when it sleeps on the condvar (`waiting`), so a
//! batch costs one lock and at most one wake-up, and a busy worker costs the sender none.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing::warn;

use crate::{Message, OutputKind, OutputStats, REPORT_INTERVAL};

/// Lets a repeated event through at once, then at most once per interval, with the number of
/// events since the last one let through.
#[derive(Debug)]
pub(crate) struct RateLimit {
    interval: Duration,
    last: Option<Instant>,
    pending: u64,
}

impl RateLimit {
    pub(crate) fn new(interval: Duration) -> Self {
        RateLimit { interval, last: None, pending: 0 }
    }

    /// Notes `n` events; returns how many to report if a report is due now.
    pub(crate) fn hit(&mut self, n: u64, now: Instant) -> Option<u64> {
        self.pending += n;
        let due = self.last.is_none_or(|last| now.duration_since(last) >= self.interval);
        if due && self.pending > 0 {
            self.last = Some(now);
            Some(std::mem::take(&mut self.pending))
        } else {
            None
        }
    }

    /// Events not reported yet, now counted as reported.
    pub(crate) fn take_pending(&mut self) -> u64 {
        std::mem::take(&mut self.pending)
    }
}

struct State {
    items: VecDeque<Arc<Message>>,
    /// Alerts the worker took with `next_batch` and has not finished.
    in_flight: usize,
    /// The worker sleeps on `ready`: a push must wake it.
    waiting: bool,
    /// Set by `close`: drain until then, drop the rest after.
    deadline: Option<Instant>,
    drops: RateLimit,
}

pub(crate) struct AlertQueue {
    kind: OutputKind,
    capacity: usize,
    state: Mutex<State>,
    ready: Condvar,
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

impl AlertQueue {
    pub(crate) fn new(kind: OutputKind, capacity: usize) -> Self {
        AlertQueue {
            kind,
            capacity,
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity.min(4096)),
                in_flight: 0,
                waiting: false,
                deadline: None,
                drops: RateLimit::new(REPORT_INTERVAL),
            }),
            ready: Condvar::new(),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    pub(crate) fn kind(&self) -> OutputKind {
        self.kind
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock, and every update leaves the state consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Enqueues as many of `batch` as there is room for, in order, and counts the rest as
    /// dropped (all of it once closed). One lock; wakes the worker at most once, and only if it
    /// sleeps. Never waits for room.
    pub(crate) fn push_batch(&self, batch: &[Arc<Message>]) {
        if batch.is_empty() {
            return;
        }
        let (wake, report) = {
            let mut state = self.lock();
            let room = if state.deadline.is_some() {
                0
            } else {
                self.capacity.saturating_sub(state.items.len() + state.in_flight)
            };
            let taken = room.min(batch.len());
            state.items.extend(batch[..taken].iter().cloned());
            let dropped = (batch.len() - taken) as u64;
            let report = if dropped > 0 {
                self.dropped.fetch_add(dropped, Ordering::Relaxed);
                state.drops.hit(dropped, Instant::now())
            } else {
                None
            };
            (taken > 0 && std::mem::take(&mut state.waiting), report)
        };
        if wake {
            self.ready.notify_one();
        }
        if let Some(dropped) = report {
            warn!(
                output = %self.kind,
                dropped,
                total_dropped = self.dropped.load(Ordering::Relaxed),
                capacity = self.capacity,
                "output queue full, alerts dropped"
            );
        }
    }

    /// Moves every queued alert, oldest first, into `batch` (which the worker empties between
    /// batches); they stay counted in `depth` until [`AlertQueue::finish_batch`]. Returns false
    /// once closed and drained, or when the deadline has passed (what is left is then counted
    /// as dropped).
    pub(crate) fn next_batch(&self, batch: &mut Vec<Arc<Message>>) -> bool {
        let mut state = self.lock();
        loop {
            if let Some(deadline) = state.deadline {
                if Instant::now() >= deadline {
                    self.abandon_locked(&mut state);
                    return false;
                }
            }
            if !state.items.is_empty() {
                state.in_flight += state.items.len();
                batch.extend(state.items.drain(..));
                return true;
            }
            if state.deadline.is_some() {
                return false;
            }
            state.waiting = true;
            state = self.ready.wait(state).unwrap_or_else(PoisonError::into_inner);
            state.waiting = false;
        }
    }

    /// Ends the delivery of the batch `next_batch` returned: `delivered` alerts reached the
    /// output, `failed` did not.
    pub(crate) fn finish_batch(&self, delivered: u64, failed: u64) {
        let mut state = self.lock();
        let done = usize::try_from(delivered + failed).unwrap_or(usize::MAX);
        state.in_flight = state.in_flight.saturating_sub(done);
        self.delivered.fetch_add(delivered, Ordering::Relaxed);
        self.failed.fetch_add(failed, Ordering::Relaxed);
    }

    /// Moves `n` alerts counted delivered to failed: the output turned out not to have taken
    /// them (a program ended with them unread in its pipe).
    pub(crate) fn undeliver(&self, n: u64) {
        let n = n.min(self.delivered.load(Ordering::Relaxed));
        self.delivered.fetch_sub(n, Ordering::Relaxed);
        self.failed.fetch_add(n, Ordering::Relaxed);
    }

    /// Refuses new alerts; the worker drains until `deadline`.
    pub(crate) fn close(&self, deadline: Instant) {
        let mut state = self.lock();
        state.deadline = Some(state.deadline.map_or(deadline, |d| d.min(deadline)));
        drop(state);
        self.ready.notify_all();
    }

    /// Counts every alert not in flight as dropped and forgets it.
    pub(crate) fn abandon(&self) {
        let mut state = self.lock();
        self.abandon_locked(&mut state);
    }

    fn abandon_locked(&self, state: &mut State) {
        let abandoned = state.items.len();
        state.items.clear();
        if abandoned > 0 {
            self.dropped.fetch_add(abandoned as u64, Ordering::Relaxed);
            state.drops.hit(abandoned as u64, Instant::now());
        }
    }

    /// Logs the drops not reported yet (at stop).
    pub(crate) fn report_pending_drops(&self) {
        let pending = self.lock().drops.take_pending();
        if pending > 0 {
            warn!(
                output = %self.kind,
                dropped = pending,
                total_dropped = self.dropped.load(Ordering::Relaxed),
                capacity = self.capacity,
                "output queue full, alerts dropped"
            );
        }
    }

    pub(crate) fn stats(&self) -> OutputStats {
        let depth = {
            let state = self.lock();
            state.items.len() + state.in_flight
        };
        OutputStats {
            output: self.kind,
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            depth,
            capacity: self.capacity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: u32) -> Arc<Message> {
        Arc::new(Message { line: n.to_string(), json: String::new(), priority: 4 })
    }

    #[test]
    fn rate_limit_reports_first_then_counts() {
        let mut limit = RateLimit::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(limit.hit(1, t0), Some(1));
        assert_eq!(limit.hit(1, t0 + Duration::from_secs(1)), None);
        assert_eq!(limit.hit(2, t0 + Duration::from_secs(9)), None);
        assert_eq!(limit.hit(1, t0 + Duration::from_secs(10)), Some(4));
        assert_eq!(limit.hit(1, t0 + Duration::from_secs(11)), None);
        assert_eq!(limit.take_pending(), 1);
        assert_eq!(limit.take_pending(), 0);
    }

    fn lines(batch: &[Arc<Message>]) -> Vec<&str> {
        batch.iter().map(|m| m.line.as_str()).collect()
    }

    #[test]
    fn alerts_in_flight_keep_their_slots() {
        let queue = AlertQueue::new(OutputKind::File, 3);
        queue.push_batch(&[msg(1), msg(2)]);
        let mut batch = Vec::new();
        assert!(queue.next_batch(&mut batch));
        assert_eq!(lines(&batch), ["1", "2"], "every queued alert at once, in order");
        queue.push_batch(&[msg(3), msg(4)]); // full: 2 in flight, 1 queued
        assert_eq!((queue.stats().dropped, queue.stats().depth), (1, 3));
        queue.finish_batch(1, 1);
        batch.clear();
        queue.push_batch(&[msg(5)]);
        assert!(queue.next_batch(&mut batch));
        assert_eq!(lines(&batch), ["3", "5"]);
        queue.finish_batch(2, 0);
        let stats = queue.stats();
        assert_eq!((stats.delivered, stats.failed, stats.dropped, stats.depth), (3, 1, 1, 0));
    }

    #[test]
    fn close_drains_then_past_deadline_drops() {
        let queue = AlertQueue::new(OutputKind::Http, 8);
        queue.push_batch(&[msg(0), msg(1), msg(2)]);
        queue.close(Instant::now() + Duration::from_secs(60));
        queue.push_batch(&[msg(9)]); // refused once closed
        let mut batch = Vec::new();
        assert!(queue.next_batch(&mut batch));
        assert_eq!(batch.len(), 3);
        queue.finish_batch(3, 0);
        queue.push_batch(&[msg(10)]);
        queue.close(Instant::now()); // the deadline only moves earlier
        batch.clear();
        assert!(!queue.next_batch(&mut batch));
        let stats = queue.stats();
        assert_eq!((stats.delivered, stats.dropped, stats.depth), (3, 2, 0));
    }

    #[test]
    fn abandon_keeps_the_alerts_in_flight() {
        let queue = AlertQueue::new(OutputKind::Program, 4);
        queue.push_batch(&[msg(0)]);
        let mut batch = Vec::new();
        assert!(queue.next_batch(&mut batch));
        queue.push_batch(&[msg(1), msg(2), msg(3)]);
        queue.abandon();
        assert_eq!((queue.stats().depth, queue.stats().dropped), (1, 3));
        queue.finish_batch(1, 0);
        queue.undeliver(1);
        let stats = queue.stats();
        assert_eq!((stats.delivered, stats.failed, stats.depth), (0, 1, 0));
    }
}
