//! `palisade-bench rule-load`: how the cost of loading rules grows with their number.
//!
//! Not a test: it prints numbers for BENCHMARKS.md. Generated rule files
//! (`palisade_rules::synthetic`, shaped like Falco's: shared macros and lists, one list and
//! macro per few rules, exceptions, appends) of each size are loaded the way `palisade run`
//! does — read + collect, compile, then the daemon's capture plan (event types, open
//! prefilter) — and the time per rule is reported as a ratio to the smallest size, measured in
//! the same run. Near-linear loading keeps the ratio near 1.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use palisade_rules::synthetic::synthetic_rules;
use palisade_rules::Loader;

/// `palisade-bench rule-load`: the sizes to measure.
#[derive(Debug, clap::Args)]
pub(crate) struct RuleLoadArgs {
    /// Numbers of generated rules to load (the first is the baseline of the ratios).
    #[arg(long, value_delimiter = ',', default_values_t = [1_000usize, 10_000, 100_000])]
    pub sizes: Vec<usize>,
    /// Rounds per size (the fastest is reported: load time has no useful noise to average).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

/// The phases of one load.
#[derive(Clone, Copy, Debug, Default)]
struct Phases {
    read: Duration,
    compile: Duration,
    plan: Duration,
}

impl Phases {
    fn total(&self) -> Duration {
        self.read + self.compile + self.plan
    }
}

fn load_once(text: &str, rules: usize) -> anyhow::Result<Phases> {
    let t0 = Instant::now();
    let mut loader = Loader::new();
    loader.add_str("synthetic.yaml", text);
    let t1 = Instant::now();
    let loaded = loader.compile();
    let t2 = Instant::now();
    let errors: Vec<String> = loaded.report.errors().map(ToString::to_string).collect();
    ensure!(errors.is_empty(), "the generated rules have errors: {}", errors.join("\n"));
    let ruleset = loaded.ruleset.context("no ruleset")?;
    ensure!(ruleset.rules().len() == rules, "loaded {} rules, expected {rules}", ruleset.rules().len());
    let plan = palisade_daemon::capture::plan(&ruleset);
    let t3 = Instant::now();
    std::hint::black_box(plan);
    Ok(Phases { read: t1 - t0, compile: t2 - t1, plan: t3 - t2 })
}

pub(crate) fn run(args: RuleLoadArgs) -> anyhow::Result<ExitCode> {
    ensure!(!args.sizes.is_empty() && args.rounds > 0, "give at least one size and one round");
    println!("rule-load: generated rules (palisade_rules::synthetic), fastest of {} rounds", args.rounds);
    println!("| rules | file MiB | read+collect s | compile s | capture plan s | total s | µs/rule | per-rule cost vs {} |", args.sizes[0]);
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut baseline: Option<f64> = None;
    for &n in &args.sizes {
        let text = synthetic_rules(n);
        let mut best: Option<Phases> = None;
        for _ in 0..args.rounds {
            let p = load_once(&text, n)?;
            if best.is_none_or(|b| p.total() < b.total()) {
                best = Some(p);
            }
        }
        let p = best.context("no round ran")?;
        let per_rule = p.total().as_secs_f64() * 1e6 / n as f64;
        let base = *baseline.get_or_insert(per_rule);
        println!(
            "| {n} | {:.1} | {:.3} | {:.3} | {:.3} | {:.3} | {per_rule:.1} | {:.2} |",
            text.len() as f64 / (1024.0 * 1024.0),
            p.read.as_secs_f64(),
            p.compile.as_secs_f64(),
            p.plan.as_secs_f64(),
            p.total().as_secs_f64(),
            per_rule / base,
        );
    }
    Ok(ExitCode::SUCCESS)
}
