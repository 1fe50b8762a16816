//! `palisade replay`: evaluate recorded events offline and print their alerts and a per-rule
//! summary. Today: files of Kubernetes audit events (`--source k8s_audit`: an `EventList`, an
//! `Event`, or JSON lines as `--audit-log-path` writes).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use palisade_rules::alert::Alert;
use palisade_rules::{Loader, Priority, RuleMatching, Source};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A rules file; repeat to load several in order.
    #[arg(short = 'r', long = "rules-file", required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The event source of FILE.
    #[arg(long, default_value = "k8s_audit", value_parser = ["k8s_audit", "syscall"])]
    source: String,
    /// Print alerts as Falco JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Only alert for rules at least this severe.
    #[arg(long, default_value = "debug")]
    priority: Priority,
    /// `first` or `all` matching rules per event.
    #[arg(long, default_value = "first", value_parser = ["first", "all"])]
    rule_matching: String,
    /// The recording.
    file: PathBuf,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    if args.source == "syscall" {
        bail!("replaying syscall captures (.scap) is not built yet; --source k8s_audit replays audit events");
    }
    let mut loader = Loader::new();
    for f in &args.files {
        loader.add_file(f).with_context(|| format!("cannot read rules file {}", f.display()))?;
    }
    let loaded = loader.compile();
    for d in &loaded.report.diagnostics {
        eprintln!("{d}");
    }
    let Some(mut rules) = loaded.ruleset else { bail!("the rules files have errors") };
    rules.set_min_priority(args.priority);
    rules.set_rule_matching(if args.rule_matching == "all" { RuleMatching::All } else { RuleMatching::First });
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let (events, errors) = palisade_k8saudit::parse_payload(&bytes);
    for e in &errors {
        eprintln!("{}: {e}", args.file.display());
    }
    let hostname = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut matches = Vec::new();
    for event in &events {
        rules.evaluate(Source::K8sAudit, event, &mut matches);
        for rule in &matches {
            *counts.entry(rule.name.clone()).or_default() += 1;
            let alert = Alert::new(rule, event, event.time_ns(), &hostname);
            println!("{}", if args.json { alert.to_json(true, true).to_string() } else { alert.to_text() });
        }
    }
    eprintln!("replayed {} events ({} unreadable items) from {}", events.len(), errors.len(), args.file.display());
    for (rule, n) in &counts {
        eprintln!("  {n:>6}  {rule}");
    }
    Ok(ExitCode::SUCCESS)
}
