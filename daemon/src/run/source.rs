//! Where the daemon's loop gets kernel records from, as a trait so the loop runs without a
//! kernel: [`Kernel`] in production, a scripted source in the loop's tests.
//!
//! The loop makes four calls into the kernel side and no other: wait for records (or the
//! drain interval), drain what is there, read the drop counter, and reconfigure what is
//! captured (at start and on reload). Scope changes and BPF-LSM decisions go through the
//! registry's own seams ([`crate::containers::CgroupScope`], the kernel enforcer).

use std::time::Duration;

use crate::kernel::{Capture, Kernel};

/// A stream of ring-buffer records, as the kernel programs write them.
pub trait RecordSource {
    /// Returns when records may be ready, at the latest after `timeout`.
    fn wait(&mut self, timeout: Duration) -> Result<(), String>;
    /// Hands every record ready now to `f`, in order; returns how many.
    fn drain(&mut self, f: &mut dyn FnMut(&[u8])) -> usize;
    /// Records lost so far (the ring buffer was full), a running total.
    fn drops(&self) -> u64;
    /// What to capture from now on (the ruleset's and the profiles' needs).
    fn configure(&mut self, capture: &Capture) -> Result<(), String>;
}

impl RecordSource for Kernel {
    fn wait(&mut self, timeout: Duration) -> Result<(), String> {
        Kernel::wait(self, timeout).map_err(|e| e.to_string())
    }

    fn drain(&mut self, f: &mut dyn FnMut(&[u8])) -> usize {
        Kernel::drain(self, f)
    }

    fn drops(&self) -> u64 {
        Kernel::drops(self)
    }

    fn configure(&mut self, capture: &Capture) -> Result<(), String> {
        Kernel::configure(self, capture).map_err(|e| e.to_string())
    }
}
