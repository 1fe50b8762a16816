//! `palisade`: the Palisade daemon and command line.
//!
//! `palisade run` watches the host; `palisade rules ...` validates and inspects rule files.
//! The benchmarks live in the separate `palisade-bench` tool (bench/), which is not installed.

mod capture_cmd;
mod containers_cmd;
mod detach_cmd;
mod logging;
mod pidfile;
mod rules_cmd;
mod profiles_cmd;
mod replay_cmd;
mod run_cmd;
mod status_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc, not glibc's malloc: the alert path allocates per alert (text, fields) and frees
/// on the output threads, where glibc's malloc cost a third of the path (BENCHMARKS.md, "Alert
/// path"). Falco likewise links jemalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Palisade — runs Falco rules on containers, and can block what they detect.
///
/// Rule files are Falco's, unmodified: point `-r` at falco_rules.yaml (and friends) and
/// Palisade loads them with Falco's semantics.
#[derive(Debug, Parser)]
#[command(name = "palisade", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Watch containers (and the host) and print alerts for the loaded rules (root; kernel with BTF).
    Run(run_cmd::RunArgs),
    /// Validate, inspect and test Falco rule files.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),
    /// List the containers the running daemon tracks: source (nri/hook), mode, armed state.
    Containers(containers_cmd::ContainersArgs),
    /// Validate per-image enforcement profiles, and show which one an image gets.
    #[command(subcommand)]
    Profiles(profiles_cmd::ProfilesCommand),
    /// Evaluate recorded events offline (Palisade and .scap captures, k8s audit event files):
    /// alerts, counts, and with --profile what a profile would have denied.
    Replay(replay_cmd::ReplayArgs),
    /// Record what the running daemon sees into a file, for `palisade replay`.
    Capture(capture_cmd::CaptureArgs),
    /// The running daemon: version, uptime, rules, containers, drops, kernel LSMs, backend.
    Status(status_cmd::StatusArgs),
    /// Remove Palisade's pinned kernel programs and maps (detection and BPF-LSM), e.g. to uninstall.
    ///
    /// `palisade run` pins BPF-LSM's programs, and with `--pin-root` (the installed service, the
    /// Helm chart) detection's, on the bpffs so that they outlive the daemon: while no daemon
    /// runs (a restart, an upgrade, a crash), detection keeps writing records into a pinned ring
    /// buffer for the next daemon, and BPF-LSM keeps enforcing the armed containers.
    /// Stopping the daemon therefore does not remove them. This command does: run it when
    /// uninstalling, after the daemon has stopped. From then on nothing is detected or enforced
    /// until a daemon starts again; records still waiting in the ring buffer are discarded.
    ///
    /// It refuses while a daemon answers on its hook socket (stop it first, or stop it with
    /// `palisade run --detach-on-exit`, which removes the pins itself).
    Detach(detach_cmd::DetachArgs),
    /// Print the version and the Falco engine version whose rule language is implemented.
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Diagnostics (container armed/stopped, warnings) go to stderr; PALISADE_LOG filters them
    // (`PALISADE_LOG=debug`, default `info`). Alerts go to stdout. `run` sets logging up from
    // its configuration (log_level, log_stderr, log_syslog, log_format).
    if !matches!(cli.command, Command::Run(_)) {
        logging::init_default();
    }
    let result = match cli.command {
        Command::Run(args) => run_cmd::run(args),
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Containers(args) => containers_cmd::run(args),
        Command::Status(args) => status_cmd::run(args),
        Command::Detach(args) => detach_cmd::run(args),
        Command::Replay(args) => replay_cmd::run(args),
        Command::Capture(args) => capture_cmd::run(args),
        Command::Profiles(cmd) => profiles_cmd::run(cmd),
        Command::Version => {
            println!(
                "palisade {} (Falco rules engine version {})",
                env!("CARGO_PKG_VERSION"),
                palisade_rules::loader::ENGINE_VERSION
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("palisade: {e:#}");
            ExitCode::from(2)
        }
    }
}
