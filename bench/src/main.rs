//! `palisade-bench`: Palisade's benchmarks, kept out of the production `palisade` binary.
//!
//! They are developer tools that print numbers for BENCHMARKS.md, not tests and not something
//! an operator runs: `install.sh` installs named binaries only and this is not one of them.
//! Each subcommand drives the `palisade` library (or, for `overhead`, a built `palisade`
//! binary) exactly as the daemon does, so what it measures is the shipped code.

mod alerts;
mod k8s_audit;
mod k8s_audit_load;
mod overhead;
mod replay;
mod rule_load;
mod rules;
mod storm;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The `palisade` binary's allocator (cli/src/main.rs), so the benchmarks measure what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Palisade's benchmarks: rules-engine throughput, the daemon's overhead on workloads, capture
/// replay and Kubernetes audit throughput. They print numbers (see BENCHMARKS.md); they are
/// not tests and never fail on a slow result, except `overhead` when the daemon dropped records.
///
/// Build and run with `cargo run --release -p palisade-bench -- SUBCOMMAND ...`; a debug build
/// measures the wrong thing. Falco's rule files are in ../shared/falco beside the checkout.
#[derive(Debug, Parser)]
#[command(name = "palisade-bench", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Events per second through the loaded rules on a synthetic mixed event stream (exec,
    /// opens, connect, unwatched syscalls), with the evt.type index on and off; one thread.
    Rules(rules::RulesArgs),
    /// The cost of `palisade run` to the workloads it watches: an open/close loop (W1) and
    /// fork+exec of /bin/true (W2), with and without the daemon, in interleaved rounds (root;
    /// needs a built `palisade` binary, see --daemon).
    Overhead(overhead::OverheadArgs),
    /// Kubernetes audit events per second through the webhook and the rules; with --daemon,
    /// against a real `palisade run` under syscall load (kernel drops, alerted reads).
    K8sAudit(k8s_audit::AuditBenchArgs),
    /// Alerts per second through the rules, the alert sink and a file output on an alert storm
    /// (every event alerts), against the same evaluation without outputs.
    Alerts(alerts::AlertsBenchArgs),
    /// Capture events per second through `palisade replay`'s pipeline (.scap or Palisade
    /// captures built in memory), one thread.
    Replay(replay::ReplayBenchArgs),
    /// Issue 17's alert storm: flooders in one cgroup, a distinct action in another and an
    /// exempt one in the flooding cgroup, without and with per-cgroup syscall budgets (root).
    Storm(storm::StormArgs),
    /// Time to load 1k/10k/100k generated rules (read, compile, capture plan), per rule as a
    /// ratio to the smallest size.
    RuleLoad(rule_load::RuleLoadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The library's diagnostics go to stderr, filtered by PALISADE_LOG as in the daemon; the
    // numbers go to stdout.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PALISADE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = match cli.command {
        Command::Rules(args) => rules::run(args),
        Command::Overhead(args) => overhead::run(args),
        Command::K8sAudit(args) => k8s_audit::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Storm(args) => storm::run(args),
        Command::Alerts(args) => alerts::run(args),
        Command::RuleLoad(args) => rule_load::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("palisade-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}
