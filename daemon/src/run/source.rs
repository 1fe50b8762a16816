//! Where the daemon's loop gets kernel records from, as a trait so the loop runs without a
//! kernel: [`Kernel`] in production, a scripted source in the loop's tests.
//!
//! The loop makes these calls into the kernel side and no other: wait for records (or the
//! drain interval), drain what is there, read the drop counter, reconfigure what is
//! captured (at start and on reload), and set and read the per-cgroup syscall budgets. Scope changes and BPF-LSM decisions go through the
//! registry's own seams ([`crate::containers::CgroupScope`], the kernel enforcer).

use std::time::Duration;

use palisade_ebpf::abi::BudgetConf;

use crate::kernel::{BudgetCounts, Capture, Kernel};

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
    /// The per-cgroup syscall budget from now on. Sources without budgets accept and ignore it.
    fn set_budget(&mut self, _budget: BudgetConf) -> Result<(), String> {
        Ok(())
    }
    /// The per-cgroup budget drop counters (running totals); none for sources without budgets.
    fn budget_counts(&self) -> BudgetCounts {
        BudgetCounts::default()
    }
    /// Deletes the budget counters of idle cgroups ([`crate::kernel::budget`]).
    fn forget_budget_entries(&mut self, _cgroups: &[u64]) {}
    /// Whether records not read outlive this daemon (pinned detection): a stopping daemon
    /// then leaves them to its successor; else it reads them once more before it stops.
    fn hands_over(&self) -> bool {
        false
    }
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

    fn set_budget(&mut self, budget: BudgetConf) -> Result<(), String> {
        Kernel::set_budget(self, budget).map_err(|e| e.to_string())
    }

    fn budget_counts(&self) -> BudgetCounts {
        Kernel::budget_counts(self)
    }

    fn forget_budget_entries(&mut self, cgroups: &[u64]) {
        Kernel::forget_budget_entries(self, cgroups);
    }

    fn hands_over(&self) -> bool {
        self.handover().pin_dir.is_some()
    }
}
