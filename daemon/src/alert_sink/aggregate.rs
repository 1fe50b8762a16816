//! Identical-alert aggregation (`alert_aggregation`): an alert storm becomes one alert at once
//! and one summary with the count, instead of a flood that fills the outputs' queues and pushes
//! the distinct alerts out.
//!
//! Identical means the same rule, priority, source, output text, output fields, tags, host and
//! extra keys — everything but the time — and the same [`Origin`] (process and cgroup), so two
//! processes doing the same thing are never merged even when the rule's output does not name
//! them.
//!
//! Invariants:
//! - **Distinct alerts are never delayed**: the first alert of a key is emitted at once and opens
//!   a window of `window`; only the identical alerts inside that window are held, as a count.
//! - **Nothing is lost without a count**: when the window ends, if identical alerts occurred, one
//!   summary alert is emitted — the first alert with `(repeated N more times in Xs)` appended to
//!   its output and the number in the output field [`REPEATED_FIELD`] — and the key starts over.
//!   [`Aggregator::flush`] emits every pending summary (stop, reload).
//! - **Bounded**: at most [`MAX_KEYS`] windows are open; beyond, alerts pass through unaggregated
//!   (emitted, so nothing is lost either).

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use palisade_rules::alert::Alert;
use palisade_rules::output::FieldValue;

/// The output field of a summary alert holding how many identical alerts it stands for.
pub const REPEATED_FIELD: &str = "palisade.repeated";

/// Windows open at once at most.
pub const MAX_KEYS: usize = 65_536;

/// Who caused an alert: identical alerts of different processes or cgroups are never merged.
/// Alerts with no process (internal ones) have the default, zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Origin {
    /// Process id (tgid).
    pub pid: u32,
    pub cgroup_id: u64,
}

struct Window {
    /// The first alert, emitted at once; the summary is built from it.
    first: Alert,
    origin: Origin,
    ends: Instant,
    /// Identical alerts held since the first one.
    repeated: u64,
    /// Event time of the last identical alert.
    last_time_ns: u64,
}

/// Counters since the last [`Aggregator::take_counts`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Alerts held and counted into a summary.
    pub folded: u64,
    /// Summary alerts emitted.
    pub summaries: u64,
}

pub struct Aggregator {
    window: Duration,
    /// Open windows by key hash (a collision shares the bucket; equality decides).
    open: HashMap<u64, Vec<Window>>,
    /// Keys in the order their windows end (the window length is fixed, so that is the order
    /// they were opened in).
    ends: VecDeque<(Instant, u64)>,
    len: usize,
    counts: Counts,
}

/// FNV-1a: the key is hashed for every alert of a storm, and SipHash's flood resistance buys
/// nothing here (the table is bounded by [`MAX_KEYS`], and a collision only costs a comparison).
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The hash of what makes alerts identical. The output text carries the rule's fields, so the
/// rest is left to [`identical`] on a hit.
fn key_hash(alert: &Alert, origin: Origin) -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    origin.hash(&mut h);
    alert.rule.hash(&mut h);
    alert.output.hash(&mut h);
    h.finish()
}

/// Everything but the time.
fn identical(a: &Alert, b: &Alert) -> bool {
    a.rule == b.rule
        && a.priority == b.priority
        && a.source == b.source
        && a.output == b.output
        && a.output_fields == b.output_fields
        && a.tags == b.tags
        && a.hostname == b.hostname
        && a.extra == b.extra
}

impl Aggregator {
    pub fn new(window: Duration) -> Aggregator {
        Aggregator { window, open: HashMap::new(), ends: VecDeque::new(), len: 0, counts: Counts::default() }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Holds `alert` if an identical one opened a window still running at `now` (counted);
    /// otherwise pushes it to `out` and opens a window for it.
    pub fn offer(&mut self, alert: Alert, origin: Origin, now: Instant, out: &mut Vec<Alert>) {
        let hash = key_hash(&alert, origin);
        let held = self.open.get_mut(&hash).and_then(|b| b.iter_mut().find(|w| w.origin == origin && identical(&w.first, &alert)));
        if let Some(w) = held {
            if now < w.ends {
                w.repeated += 1;
                w.last_time_ns = w.last_time_ns.max(alert.time_ns);
                self.counts.folded += 1;
                return;
            }
            // Its window ended: its summary comes before the alert that starts the next one.
            self.expire(now, out);
        }
        if self.len >= MAX_KEYS {
            out.push(alert);
            return;
        }
        let ends = now + self.window;
        let window = Window { first: alert.clone(), origin, ends, repeated: 0, last_time_ns: alert.time_ns };
        out.push(alert);
        self.open.entry(hash).or_default().push(window);
        self.ends.push_back((ends, hash));
        self.len += 1;
    }

    /// Closes the windows ended at `now`, pushing a summary for each that held alerts.
    pub fn expire(&mut self, now: Instant, out: &mut Vec<Alert>) {
        while let Some(&(ends, hash)) = self.ends.front() {
            if ends > now {
                break;
            }
            self.ends.pop_front();
            self.close(hash, |w| w.ends <= now, out);
        }
    }

    /// Closes every window, pushing the pending summaries (stop, reload).
    pub fn flush(&mut self, out: &mut Vec<Alert>) {
        while let Some((_, hash)) = self.ends.pop_front() {
            self.close(hash, |_| true, out);
        }
    }

    /// Alerts held right now, not yet in a summary.
    pub fn pending(&self) -> u64 {
        self.open.values().flatten().map(|w| w.repeated).sum()
    }

    /// Counters since the last call.
    pub fn take_counts(&mut self) -> Counts {
        std::mem::take(&mut self.counts)
    }

    /// Adds counters not reported yet (of an aggregator this one replaces).
    pub fn add_counts(&mut self, counts: Counts) {
        self.counts.folded += counts.folded;
        self.counts.summaries += counts.summaries;
    }

    fn close(&mut self, hash: u64, done: impl Fn(&Window) -> bool, out: &mut Vec<Alert>) {
        let Some(bucket) = self.open.get_mut(&hash) else { return };
        // The oldest window of the bucket is the one this entry of `ends` stands for.
        let Some(i) = bucket.iter().position(&done) else { return };
        let w = bucket.remove(i);
        if bucket.is_empty() {
            self.open.remove(&hash);
        }
        self.len -= 1;
        if w.repeated > 0 {
            self.counts.summaries += 1;
            out.push(summary(w));
        }
    }
}

/// The first alert, with the count of those held after it.
fn summary(w: Window) -> Alert {
    let mut alert = w.first;
    let span = Duration::from_nanos(w.last_time_ns.saturating_sub(alert.time_ns));
    alert.output = format!("{} (repeated {} more times in {:.3}s)", alert.output, w.repeated, span.as_secs_f64());
    alert.output_fields.retain(|(k, _)| k != REPEATED_FIELD);
    alert.output_fields.push((REPEATED_FIELD.to_owned(), FieldValue::Number(i128::from(w.repeated))));
    alert.time_ns = w.last_time_ns;
    alert
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
