//! `bench <rounds>`: what BPF-LSM enforcement costs a container's own work, as ratios inside the
//! guest (under TCG absolute times mean nothing; only ratios measured in one boot compare).
//!
//! Three configurations of the same loops, run in a "container" (a process in a cgroup,
//! chrooted into the overlay rootfs):
//! - `none`: no enforcement programs loaded;
//! - `attached`: the 19 LSM programs attached, the cgroup not armed (every hook looks the
//!   cgroup up and returns: the cost every process on the node pays);
//! - `armed`: the cgroup armed in enforce mode with the daemon's policy shape (immutable with
//!   allow_write and the runtime's pseudo-files, W^X, shells and package managers denied,
//!   mounts).
//!
//! Loops (every operation is allowed in all three, so the armed run also proves nothing is
//! denied or reported): `open_read` = open(`/etc/hostname`, O_RDONLY) + close; `open_write` =
//! open(`/var/cache/app/bench`, O_WRONLY) + close, an allowed write beneath allow_write (the
//! armed path resolves it and looks the prefix up); `spawn_exec` = spawn + execve of the
//! image's static `/bin/busybox true` + wait (Rust's `Command`: clone(CLONE_VM|CLONE_VFORK)).
//!
//! Times come from the guest's clock: under QEMU's `-icount` (lsm_vm_bench.rs' default) it
//! counts executed guest instructions, one nanosecond each; otherwise it follows the host.
//!
//! Rounds alternate the configuration order (none → attached → armed, then the reverse) so
//! drift in the host's load hits every configuration alike; the programs are loaded and
//! unpinned once per round. Each sample is one child process: a tenth of the iterations as
//! warm-up, then the timed loop. Printed: `LSMVM bench-sample ...` per sample and
//! `LSMVM bench loop=... ...` with medians, ranges and ratios at the end.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use palisade_lsm::{Enforcer, Mode};

use crate::{attached_programs, cgroup, ctx, daemon_like_policy, wait_detached, Res, PIN_ROOT, ROOTFS};

const CG_ARMED: &str = "/sys/fs/cgroup/palisade-bench-armed";
const CG_UNARMED: &str = "/sys/fs/cgroup/palisade-bench-unarmed";
/// The loops and their iterations per sample (about a second each under TCG).
const LOOPS: [(&str, u32); 3] = [("open_read", 20_000), ("open_write", 20_000), ("spawn_exec", 200)];
const CONFIGS: [&str; 3] = ["none", "attached", "armed"];
/// Files the loops open, created in the image by the rootfs setup.
pub(crate) const READ_FILE: &str = "/etc/hostname";
pub(crate) const WRITE_FILE: &str = "/var/cache/app/bench";

/// The parent: `rounds` interleaved rounds, then the summary.
pub(crate) fn run(rounds: u32, rootfs_dev: u32) -> Res<()> {
    let (armed_cg, unarmed_cg) = (cgroup(CG_ARMED)?, cgroup(CG_UNARMED)?);
    println!("LSMVM bench-setup rounds={rounds} armed_cgroup={armed_cg} unarmed_cgroup={unarmed_cg}");
    let mut samples: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        let order: Vec<&str> = if round % 2 == 0 { CONFIGS.to_vec() } else { CONFIGS.iter().rev().copied().collect() };
        let mut enforcer: Option<Enforcer> = None;
        for config in order {
            if config == "none" {
                if let Some(e) = enforcer.take() {
                    finish_round(e, round)?;
                }
            } else if enforcer.is_none() {
                let mut e = Enforcer::load(Path::new(PIN_ROOT)).map_err(|e| e.to_string())?;
                e.arm(armed_cg, &daemon_like_policy(Mode::Enforce, rootfs_dev, None)?).map_err(|e| e.to_string())?;
                enforcer = Some(e);
            }
            println!("LSMVM bench-config round={round} config={config} programs={}", attached_programs());
            let cg = if config == "armed" { CG_ARMED } else { CG_UNARMED };
            for (name, iterations) in LOOPS {
                let ns = sample(cg, name, iterations)?;
                println!("LSMVM bench-sample round={round} config={config} loop={name} ns={ns:.0}");
                samples.entry((name, config)).or_default().push(ns);
            }
        }
        if let Some(e) = enforcer.take() {
            finish_round(e, round)?;
        }
    }
    for (name, _) in LOOPS {
        let of = |config: &'static str| samples.get(&(name, config)).map_or(&[][..], Vec::as_slice);
        let [none, attached, armed] = CONFIGS.map(|c| summary(of(c)));
        // The same ratios per round (samples of one round ran minutes apart at most), then
        // their median and range: steadier than ratios of medians when the host's load drifts.
        let paired = |a: &'static str, b: &'static str| summary(&of(a).iter().zip(of(b)).map(|(x, y)| x / y).collect::<Vec<f64>>());
        let (p_attached, p_armed, p_vs) = (paired("attached", "none"), paired("armed", "none"), paired("armed", "attached"));
        println!(
            "LSMVM bench loop={name} rounds={rounds} none={:.0} attached={:.0} armed={:.0} attached_ratio={:.3} armed_ratio={:.3} armed_vs_attached={:.3} none_range={:.0}-{:.0} attached_range={:.0}-{:.0} armed_range={:.0}-{:.0} paired_attached={:.3} paired_attached_range={:.3}-{:.3} paired_armed={:.3} paired_armed_range={:.3}-{:.3} paired_armed_vs_attached={:.3} paired_armed_vs_attached_range={:.3}-{:.3}",
            none.0, attached.0, armed.0,
            attached.0 / none.0, armed.0 / none.0, armed.0 / attached.0,
            none.1, none.2, attached.1, attached.2, armed.1, armed.2,
            p_attached.0, p_attached.1, p_attached.2, p_armed.0, p_armed.1, p_armed.2, p_vs.0, p_vs.1, p_vs.2
        );
    }
    Ok(())
}

/// After a round's armed samples: nothing may have been decided (every operation was allowed),
/// then the programs go (and are waited for) so the next `none` sample runs without them.
fn finish_round(mut enforcer: Enforcer, round: u32) -> Res<()> {
    let decisions = enforcer.decisions().len();
    println!("LSMVM bench-decisions round={round} count={decisions} drops={}", enforcer.drops());
    enforcer.unpin_all().map_err(|e| e.to_string())?;
    let left = wait_detached();
    if left != 0 {
        return Err(format!("{left} programs still attached after unpinning"));
    }
    Ok(())
}

/// (median, min, max); NaN for no samples.
fn summary(values: &[f64]) -> (f64, f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 };
    (median, v[0], v[v.len() - 1])
}

/// One sample: a child process in `cgroup_path` runs `iterations` of `name`; ns per iteration.
fn sample(cgroup_path: &str, name: &str, iterations: u32) -> Res<f64> {
    let exe = std::env::current_exe().map_err(ctx("current_exe"))?;
    let out = Command::new(exe)
        .args(["loop", cgroup_path, name, &iterations.to_string()])
        .output()
        .map_err(ctx("spawn loop"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let ns = text.lines().find_map(|l| l.strip_prefix("ns_per_iter=")).and_then(|v| v.trim().parse().ok());
    match (out.status.success(), ns) {
        (true, Some(ns)) => Ok(ns),
        _ => Err(format!("loop {name} in {cgroup_path}: {} {}", out.status, text.trim().replace('\n', " | "))),
    }
}

/// The child (subcommand `loop <cgroup> <name> <iterations>`): joins the cgroup, enters a mount
/// namespace of its own, chroots into the rootfs, warms up, times the loop and prints `ns_per_iter=<f64>`.
pub(crate) fn child(cgroup_path: &str, name: &str, iterations: &str) -> Res<()> {
    let iterations: u32 = iterations.parse().map_err(ctx("iterations"))?;
    std::fs::write(format!("{cgroup_path}/cgroup.procs"), std::process::id().to_string()).map_err(ctx("join cgroup"))?;
    // A container's own mount namespace: the initial one is the runtime's, which W^X skips.
    crate::wx::unshare_mount_ns()?;
    std::os::unix::fs::chroot(ROOTFS).map_err(ctx("chroot"))?;
    std::env::set_current_dir("/").map_err(ctx("chdir"))?;
    let body: fn() -> Res<()> = match name {
        "open_read" => || OpenOptions::new().read(true).open(READ_FILE).map(drop).map_err(ctx(READ_FILE)),
        "open_write" => || OpenOptions::new().write(true).open(WRITE_FILE).map(drop).map_err(ctx(WRITE_FILE)),
        "spawn_exec" => || {
            let status = Command::new("/bin/busybox").arg("true").status().map_err(ctx("spawn /bin/busybox"))?;
            status.success().then_some(()).ok_or_else(|| format!("/bin/busybox true: {status}"))
        },
        other => return Err(format!("unknown loop {other}")),
    };
    for _ in 0..iterations / 10 {
        body()?;
    }
    let start = Instant::now();
    for _ in 0..iterations {
        body()?;
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(iterations.max(1));
    println!("ns_per_iter={ns}");
    Ok(())
}
