//! The cost of enforcement inside a container: the same loops (open+close for reading, open for
//! writing beneath an `allow_write` directory, fork+exec+wait) in three containers of the same
//! image, run in interleaved rounds whose order rotates:
//!
//! - `plain`: plain runc, not watched by Palisade (the baseline);
//! - `audit`: through the wrapper, watched, profile reported only (`palisade.io/mode=audit`);
//! - `enforce`: through the wrapper, watched, confined by Landlock (`palisade-init`).
//!
//! Prints each loop's median ns/iteration and the ratios to `plain`. Root only:
//!
//! ```sh
//! cargo build --release -p palisade -p palisade-hook -p palisade-runc -p palisade-testbed
//! ./target/release/bench-enforcement 5
//! ```

use palisade_testbed::palisade::{Binaries, Daemon, DaemonDir, DaemonOptions};
use palisade_testbed::{image, Containerd, CtrRun, Options, CTR_NAMESPACE};

const PROFILE: &str = "name: hardened\nmatch:\n  images: [\"hardened:*\"]\nmode: enforce\n\
    deny_shells: true\ndeny_package_managers: true\n\
    immutable:\n  enabled: true\n  allow_write: [/var/cache/app]\n";

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
    containerd.import(&image::hardened(&statics.probe)?, CTR_NAMESPACE)?;

    let run = |variant: &str, i: usize| -> Result<Vec<f64>, Box<dyn std::error::Error>> {
        let name = format!("bench-enf-{}-{i}-{variant}", std::process::id());
        let mut r = CtrRun::new("docker.io/library/hardened:1", &name, &[]);
        r.args = std::iter::once("/usr/local/bin/probe").chain(LOOPS).map(String::from).collect();
        if variant != "plain" {
            r.runc_binary = Some(bins.runc_wrapper.clone());
        }
        if variant == "audit" {
            r.annotations = vec!["palisade.io/mode=audit".into()];
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
    drop(daemon);
    let _ = std::fs::remove_dir_all(&profiles);
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
