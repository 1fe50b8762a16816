//! The cost of enforcement inside a container: the same loops (open+close for reading, open for
//! writing beneath an `allow_write` directory, fork+exec+wait) in three containers of the same
//! image, run in interleaved rounds whose order rotates:
//!
//! - `plain`: plain runc, not watched by Palisade (the baseline);
//! - `audit`: through the wrapper, watched, profile reported only (an image whose profile says
//!   `mode: audit`);
//! - `enforce`: through the wrapper, watched, confined by Landlock (`palisade-init`, read-only
//!   root, W^X).
//!
//! Then the cost of starting a container (`ctr run --rm` of the probe doing nothing), in the same
//! three variants, for the small image and for a large one (50,000 more files: the daemon scans
//! the whole image for shells and package managers before an enforced container starts).
//!
//! Prints each loop's median ns/iteration and the ratios to `plain`. Root only:
//!
//! ```sh
//! cargo build --release -p palisade -p palisade-hook -p palisade-runc -p palisade-testbed
//! ./target/release/bench-enforcement 5
//! ```

use palisade_testbed::palisade::{Binaries, Daemon, DaemonDir, DaemonOptions};
use palisade_testbed::{image, Containerd, CtrRun, Options, CTR_NAMESPACE};

const PROFILE: &str = "name: hardened\nmatch:\n  images: [\"hardened:*\", \"large:*\"]\nmode: enforce\n\
    deny_shells: true\ndeny_package_managers: true\n\
    immutable:\n  enabled: true\n  allow_write: [/var/cache/app]\n---\n\
    name: hardened-audit\nmatch:\n  images: [\"hardened-audit:*\", \"large-audit:*\"]\nmode: audit\n\
    deny_shells: true\ndeny_package_managers: true\n\
    immutable:\n  enabled: true\n  allow_write: [/var/cache/app]\n";

/// Files added to the large image.
const LARGE_FILES: usize = 50_000;

const LOOPS: [&str; 3] =
    ["bench-open 200000 /etc/passwd", "bench-open-write 200000 /var/cache/app/f", "bench-exec 1000 /usr/local/bin/probe"];
const VARIANTS: [&str; 3] = ["plain", "audit", "enforce"];

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(5);
    if !nix::unistd::geteuid().is_root() {
        return Err("run as root".into());
    }
    let statics = palisade_testbed::static_binaries()?;
    let bins = Binaries::locate()?;
    let dir = DaemonDir::new()?;
    let profiles = std::env::temp_dir().join(palisade_testbed::unique_name("bench-profiles"));
    std::fs::create_dir_all(&profiles)?;
    std::fs::write(profiles.join("hardened.yaml"), PROFILE)?;
    let mut env = dir.wrapper_env(&bins);
    env.push(("PALISADE_INIT".into(), statics.init.display().to_string()));
    let containerd = Containerd::start(Options { env, ..Default::default() })?;
    let shared = std::env::var_os("PALISADE_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let rules = vec![shared.join("falco/rules/falco_rules.yaml")];
    let options = DaemonOptions {
        rules,
        host_monitoring: false,
        nri_socket: None,
        containerd_socket: Some(containerd.socket()),
        // The `palisade.io/mode=audit` runs loosen an enforced profile: this node allows it.
        options: vec![format!("profiles_dir={}", profiles.display()), "mode_annotation.allow_loosen=true".into()],
    };
    let daemon = Daemon::start(&bins, &options, &dir)?;
    let hardened = image::hardened(&statics.probe)?;
    containerd.import(&hardened, CTR_NAMESPACE)?;
    containerd.import(&hardened.clone().named("docker.io/library/hardened-audit:1"), CTR_NAMESPACE)?;
    let mut large = hardened.clone().named("docker.io/library/large:1");
    for i in 0..LARGE_FILES {
        large = large.file(&format!("/usr/share/bulk/d{:03}/f{i}", i / 500), format!("{i}\n"), 0o644);
    }
    containerd.import(&large, CTR_NAMESPACE)?;
    containerd.import(&large.named("docker.io/library/large-audit:1"), CTR_NAMESPACE)?;
    let image_of = |variant: &str, base: &str| match variant {
        "audit" => format!("docker.io/library/{base}-audit:1"),
        _ => format!("docker.io/library/{base}:1"),
    };

    let run = |variant: &str, i: usize| -> Result<Vec<f64>, Box<dyn std::error::Error>> {
        let name = format!("bench-enf-{}-{i}-{variant}", std::process::id());
        let mut r = CtrRun::new(&image_of(variant, "hardened"), &name, &[]);
        r.args = std::iter::once("/usr/local/bin/probe").chain(LOOPS).map(String::from).collect();
        if variant != "plain" {
            r.runc_binary = Some(bins.runc_wrapper.clone());
        }
        let out = containerd.ctr_run(&r)?;
        let ns: Vec<f64> = out
            .stdout
            .lines()
            .filter_map(|l| l.trim_end_matches('\r').strip_suffix(" ns")?.rsplit_once(": ")?.1.parse().ok())
            .collect();
        if !out.success() || ns.len() != LOOPS.len() {
            return Err(format!("{variant}: unexpected probe output: {out:?}").into());
        }
        Ok(ns)
    };
    run("enforce", 0)?; // warm-up: page cache, image unpacked
    let mut samples = vec![vec![Vec::new(); LOOPS.len()]; VARIANTS.len()];
    for round in 0..rounds {
        for k in 0..VARIANTS.len() {
            let v = (round + k) % VARIANTS.len();
            for (l, ns) in run(VARIANTS[v], round)?.into_iter().enumerate() {
                samples[v][l].push(ns);
            }
        }
        eprintln!("round {}/{rounds} done", round + 1);
    }
    // Start cost: `ctr run --rm` of a probe that does nothing, small and large image.
    let start = |variant: &str, base: &str, i: usize| -> Result<f64, Box<dyn std::error::Error>> {
        let name = format!("bench-start-{}-{i}-{variant}-{base}", std::process::id());
        let mut r = CtrRun::new(&image_of(variant, base), &name, &["/usr/local/bin/probe", "exists /"]);
        r.args = vec!["/usr/local/bin/probe".into(), "exists /".into()];
        if variant != "plain" {
            r.runc_binary = Some(bins.runc_wrapper.clone());
        }
        let t = std::time::Instant::now();
        let out = containerd.ctr_run(&r)?;
        if !out.success() {
            return Err(format!("{variant} {base}: {out:?}").into());
        }
        Ok(t.elapsed().as_secs_f64() * 1e3)
    };
    let bases = ["hardened", "large"];
    start("enforce", "large", 0)?; // warm-up
    let mut starts = vec![vec![Vec::new(); VARIANTS.len()]; bases.len()];
    for round in 0..rounds * 4 {
        for (b, base) in bases.iter().enumerate() {
            for k in 0..VARIANTS.len() {
                let v = (round + k) % VARIANTS.len();
                starts[b][v].push(start(VARIANTS[v], base, round)?);
            }
        }
    }
    drop(daemon);
    let _ = std::fs::remove_dir_all(&profiles);
    println!("container start, `ctr run --rm`, {} rounds, median ms (ratio to plain)", rounds * 4);
    for (b, base) in bases.iter().enumerate() {
        let m: Vec<f64> = (0..VARIANTS.len()).map(|v| median(&mut starts[b][v])).collect();
        println!("{base:<45} {:>10.1} {:>10.1} ({:.2}x) {:>10.1} ({:.2}x)", m[0], m[1], m[1] / m[0], m[2], m[2] / m[0]);
    }
    println!("{rounds} rounds, medians in ns per iteration (ratio to plain)");
    println!("{:<45} {:>12} {:>18} {:>18}", "loop", "plain", "audit", "enforce");
    for (l, name) in LOOPS.iter().enumerate() {
        let m: Vec<f64> = (0..VARIANTS.len()).map(|v| median(&mut samples[v][l])).collect();
        println!(
            "{name:<45} {:>12.0} {:>10.0} ({:.2}x) {:>10.0} ({:.2}x)",
            m[0],
            m[1],
            m[1] / m[0],
            m[2],
            m[2] / m[0]
        );
    }
    Ok(())
}
