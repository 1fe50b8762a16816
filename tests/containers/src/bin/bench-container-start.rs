//! Container start latency with and without Palisade's runc wrapper + OCI hook.
//!
//! `ctr run --rm busybox NAME /bin/true`, alternating plain runc and `--runc-binary
//! palisade-runc` (whose hook waits until the running daemon has armed the container), in
//! interleaved pairs whose order flips every round; prints the medians and their difference.
//! Root only. Build the binaries first, in the same profile:
//!
//! ```sh
//! cargo build --release -p palisade -p palisade-hook -p palisade-runc
//! cargo run --release -p palisade-testbed --bin bench-container-start -- 30
//! ```

use std::time::{Duration, Instant};

use palisade_testbed::palisade::{Binaries, Daemon, DaemonDir, DaemonOptions};
use palisade_testbed::{image, Containerd, CtrRun, Options, CTR_NAMESPACE};

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(v: &mut [Duration], p: usize) -> Duration {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)]
}

/// The median of the numbers following `key` in the daemon's debug log lines.
fn median_field(log: &str, key: &str) -> Option<u64> {
    let mut v: Vec<u64> =
        log.lines().filter_map(|l| l.split(key).nth(1)?.split_whitespace().next()?.parse().ok()).collect();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(30);
    if !nix::unistd::geteuid().is_root() {
        return Err("run as root".into());
    }
    let bins = Binaries::locate()?;
    let dir = DaemonDir::new()?;
    let containerd = Containerd::start(Options {
        env: dir.wrapper_env(&bins),
        ..Default::default()
    })?;
    let shared = std::env::var_os("PALISADE_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let rules = vec![shared.join("falco/rules/falco_rules.yaml")];
    let options = DaemonOptions { rules, host_monitoring: false, nri_socket: None, containerd_socket: Some(containerd.socket()), options: Vec::new() };
    let daemon = Daemon::start(&bins, &options, &dir)?;
    containerd.import(&image::busybox("docker.io/library/busybox:1.36"), CTR_NAMESPACE)?;

    let run = |wrapped: bool, i: usize| -> Result<Duration, Box<dyn std::error::Error>> {
        let name = format!("bench-{}-{i}-{}", std::process::id(), if wrapped { "w" } else { "p" });
        let mut r = CtrRun::new("docker.io/library/busybox:1.36", &name, &["/bin/true"]);
        if wrapped {
            r.runc_binary = Some(bins.runc_wrapper.clone());
        }
        let start = Instant::now();
        let out = containerd.ctr_run(&r)?;
        let took = start.elapsed();
        if !out.success() {
            return Err(format!("ctr run {name}: {}", out.stderr).into());
        }
        Ok(took)
    };
    // Warm-up: first runs pay for page cache and shim start-up.
    run(false, usize::MAX - 1)?;
    run(true, usize::MAX)?;
    let (mut plain, mut wrapped) = (Vec::new(), Vec::new());
    for i in 0..runs {
        if i % 2 == 0 {
            plain.push(run(false, i)?);
            wrapped.push(run(true, i)?);
        } else {
            wrapped.push(run(true, i)?);
            plain.push(run(false, i)?);
        }
    }
    let armed = dir.hook_log().matches("armed").count();
    let out = daemon.stop()?;
    let (p50, w50) = (median(&mut plain), median(&mut wrapped));
    let (p90, w90) = (percentile(&mut plain, 90), percentile(&mut wrapped, 90));
    println!("ctr run --rm busybox /bin/true, {runs} interleaved pairs");
    println!("  plain runc:               median {:7.1} ms   p90 {:7.1} ms", ms(p50), ms(p90));
    println!("  palisade-runc + hook:     median {:7.1} ms   p90 {:7.1} ms", ms(w50), ms(w90));
    println!("  difference of medians:    {:+7.1} ms  (ratio {:.3})", ms(w50) - ms(p50), w50.as_secs_f64() / p50.as_secs_f64());
    println!("  containers armed by the hook: {armed} (expected {})", runs + 1);
    if let Some(us) = median_field(&out.stderr, "elapsed_us=") {
        println!("  daemon time per hook request (PALISADE_LOG=debug): median {us} µs");
    }
    if let Some(us) = median_field(&out.stderr, "lookup_us=") {
        println!("  of which containerd image lookup: median {us} µs");
    }
    let stopped = out.stderr.lines().find(|l| l.contains("stopped:")).unwrap_or_default();
    println!("  daemon: {stopped}");
    Ok(())
}
