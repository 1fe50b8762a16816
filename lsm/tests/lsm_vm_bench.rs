//! The overhead of BPF-LSM enforcement on a container's own work, measured inside the QEMU
//! guest (lsm-vm-check `bench`, see its bench.rs): open/close and spawn+exec loops with no
//! programs, with the programs attached but the cgroup unarmed, and in a cgroup armed in
//! enforce mode. Under TCG absolute times mean nothing: only the in-guest ratios are reported
//! (BENCHMARKS.md, "BPF-LSM enforcement overhead (QEMU guest)").
//!
//! A benchmark, not a timed test: ignored by default, and it asserts only that every sample
//! was taken and that the armed loops were never denied nor reported. Run (root):
//!
//! ```sh
//! cargo test -p palisade-lsm --test lsm_vm_bench -- --ignored --nocapture
//! ```
//!
//! `PALISADE_LSM_BENCH_ROUNDS` (default 5) sets the rounds. `PALISADE_LSM_BENCH_CLOCK`:
//! `icount` (default) runs QEMU with `-icount`, so the guest's clock counts executed guest
//! instructions (1 ns each): deterministic, immune to the host's load, but blind to what an
//! instruction costs (cache misses, indirect-branch mitigations); `wall` uses the guest's
//! ordinary clock, which under TCG follows the host and its noise.

mod guest;

use std::time::Duration;

const LOOPS: [&str; 3] = ["open_read", "open_write", "spawn_exec"];

#[test]
#[ignore = "a benchmark (~2-4 min under TCG): run with --ignored"]
fn bpf_lsm_enforcement_overhead_in_the_guest() {
    let rounds: u32 = std::env::var("PALISADE_LSM_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let icount = match std::env::var("PALISADE_LSM_BENCH_CLOCK").as_deref() {
        Ok("icount") | Err(_) => true,
        Ok("wall") => false,
        Ok(other) => panic!("PALISADE_LSM_BENCH_CLOCK={other:?}: icount or wall"),
    };
    let append = format!("lsmvm.mode=bench lsmvm.rounds={rounds}");
    let options = guest::Options {
        name: "lsm-vm-bench",
        append: &append,
        timeout: Duration::from_secs(120 + 90 * u64::from(rounds)),
        release: true,
        icount,
        extra: Vec::new(),
    };
    let Some(boot) = guest::boot(&options) else { return };
    guest::step_ok(&boot, "bench");

    let samples = boot.console.matches("LSMVM bench-sample ").count();
    assert_eq!(samples, (rounds as usize) * 3 * LOOPS.len(), "samples; console in {}", boot.log.display());
    let checks: Vec<&guest::Line> = boot.lines.iter().filter(|l| l.kind == "bench-decisions").collect();
    assert_eq!(checks.len(), rounds as usize, "one decision check per round");
    for c in &checks {
        assert_eq!((c.get("count"), c.get("drops")), ("0", "0"), "the armed loops only do allowed things: {:?}", c.fields);
    }

    let unit = if icount { "guest instructions/iter" } else { "guest ns/iter (TCG wall clock)" };
    eprintln!("\n{rounds} rounds, medians (min-max) in {unit}");
    eprintln!("ratios: of the medians; in brackets the median (min-max) of the per-round ratios");
    eprintln!("\n| loop | none | attached | armed | attached / none | armed / none | armed / attached |");
    eprintln!("|---|---|---|---|---|---|---|");
    for name in LOOPS {
        let s = boot
            .lines
            .iter()
            .find(|l| l.kind == "bench" && l.get("loop") == name)
            .unwrap_or_else(|| panic!("no summary for {name}; console in {}", boot.log.display()));
        let keys = ["none", "attached", "armed", "attached_ratio", "armed_ratio", "armed_vs_attached", "paired_attached", "paired_armed", "paired_armed_vs_attached"];
        for key in keys {
            let v: f64 = s.get(key).parse().unwrap_or(f64::NAN);
            assert!(v.is_finite() && v > 0.0, "{name}: {key}={}", s.get(key));
        }
        let ratio = |key: &str| format!("{} [{} ({})]", s.get(key), s.get(&format!("paired_{}", key.trim_end_matches("_ratio"))), s.get(&format!("paired_{}_range", key.trim_end_matches("_ratio"))));
        eprintln!(
            "| {name} | {} ({}) | {} ({}) | {} ({}) | {} | {} | {} |",
            s.get("none"),
            s.get("none_range"),
            s.get("attached"),
            s.get("attached_range"),
            s.get("armed"),
            s.get("armed_range"),
            ratio("attached_ratio"),
            ratio("armed_ratio"),
            ratio("armed_vs_attached")
        );
    }
    eprintln!("console: {}", boot.log.display());
}
