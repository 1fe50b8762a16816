//! The bounded FIFO between `Outputs::send` and one output's worker, with its counters.
//!
//! The worker peeks at the front, delivers it, then pops it ([`AlertQueue::finish`]), so the alert
//! in flight keeps its slot: `capacity` bounds everything accepted and unfinished, and `depth`
//! (the queue's length) counts it.

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
    /// The worker holds the front and has not finished it.
    in_flight: bool,
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
                in_flight: false,
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

    /// Enqueues, or counts a drop when full or closed. Never waits for room.
    pub(crate) fn push(&self, msg: &Arc<Message>) {
        let report = {
            let mut state = self.lock();
            if state.items.len() < self.capacity && state.deadline.is_none() {
                state.items.push_back(Arc::clone(msg));
                None
            } else {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                state.drops.hit(1, Instant::now())
            }
        };
        match report {
            None => self.ready.notify_one(),
            Some(dropped) => warn!(
                output = %self.kind,
                dropped,
                total_dropped = self.dropped.load(Ordering::Relaxed),
                capacity = self.capacity,
                "output queue full, alerts dropped"
            ),
        }
    }

    /// The next alert to deliver, oldest first; `None` once closed and drained, or when the
    /// deadline has passed (what is left is then counted as dropped).
    pub(crate) fn next(&self) -> Option<Arc<Message>> {
        let mut state = self.lock();
        loop {
            if let Some(deadline) = state.deadline {
                if Instant::now() >= deadline {
                    self.abandon_locked(&mut state);
                    return None;
                }
            }
            if let Some(front) = state.items.front() {
                let front = Arc::clone(front);
                state.in_flight = true;
                return Some(front);
            }
            state = match state.deadline {
                None => self.ready.wait(state).unwrap_or_else(PoisonError::into_inner),
                Some(_) => return None,
            };
        }
    }

    /// Ends the delivery of the alert `next` returned.
    pub(crate) fn finish(&self, delivered: bool) {
        let mut state = self.lock();
        if state.in_flight {
            state.items.pop_front();
            state.in_flight = false;
        }
        let counter = if delivered { &self.delivered } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
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
        let keep = usize::from(state.in_flight);
        let abandoned = state.items.len().saturating_sub(keep);
        state.items.truncate(keep);
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
        let depth = self.lock().items.len();
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

    #[test]
    fn in_flight_alert_keeps_its_slot() {
        let queue = AlertQueue::new(OutputKind::File, 2);
        queue.push(&msg(1));
        queue.push(&msg(2));
        let first = queue.next().expect("an alert");
        assert_eq!(first.line, "1");
        queue.push(&msg(3)); // full: 1 in flight, 2 queued
        assert_eq!(queue.stats().dropped, 1);
        queue.finish(true);
        queue.push(&msg(4));
        assert_eq!(queue.next().expect("an alert").line, "2");
        queue.finish(false);
        assert_eq!(queue.next().expect("an alert").line, "4");
        queue.finish(true);
        let stats = queue.stats();
        assert_eq!((stats.delivered, stats.failed, stats.dropped, stats.depth), (2, 1, 1, 0));
    }

    #[test]
    fn close_drains_then_past_deadline_drops() {
        let queue = AlertQueue::new(OutputKind::Http, 8);
        for n in 0..3 {
            queue.push(&msg(n));
        }
        queue.close(Instant::now() + Duration::from_secs(60));
        queue.push(&msg(9)); // refused once closed
        assert_eq!(queue.next().expect("an alert").line, "0");
        queue.finish(true);
        queue.close(Instant::now()); // the deadline only moves earlier
        assert!(queue.next().is_none());
        let stats = queue.stats();
        assert_eq!((stats.delivered, stats.dropped, stats.depth), (1, 3, 0));
    }

    #[test]
    fn abandon_keeps_the_alert_in_flight() {
        let queue = AlertQueue::new(OutputKind::Program, 4);
        for n in 0..4 {
            queue.push(&msg(n));
        }
        let _in_flight = queue.next().expect("an alert");
        queue.abandon();
        assert_eq!(queue.stats().depth, 1);
        assert_eq!(queue.stats().dropped, 3);
        queue.finish(false);
        assert_eq!(queue.stats().depth, 0);
    }
}
