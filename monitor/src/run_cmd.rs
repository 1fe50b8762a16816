//! `palisade run`: load the rules and the kernel programs, turn kernel records into Falco
//! events, evaluate, and print alerts until SIGINT/SIGTERM.
//!
//! This stage watches process execution (execve); file, network and other syscalls arrive
//! with the next kernel programs. Events are evaluated for every process on the host.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use nix::time::{clock_gettime, ClockId};
use palisade::event::KernelEvent;
use palisade::kernel::{decode, Kernel, Record};
use palisade::process::{ProcessTable, Users};
use palisade_rules::alert::Alert;
use palisade_rules::{event_types, Loader, Priority, RuleMatching, Source};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A rules file; repeat to load several in order.
    #[arg(short = 'r', long = "rules-file", required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print alerts as Falco JSON (one object per line) instead of text.
    #[arg(long)]
    json: bool,
    /// Only alert for rules at least this severe (emergency ... debug).
    #[arg(long, default_value = "debug")]
    priority: Priority,
    /// Report only the first matching rule per event, or all of them.
    #[arg(long, default_value = "first", value_parser = ["first", "all"])]
    rule_matching: String,
}

/// Nanoseconds to add to the kernel's boot-time clock to get wall-clock time.
fn boot_to_wall_offset() -> u64 {
    let ns = |c| clock_gettime(c).map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64).unwrap_or(0);
    ns(ClockId::CLOCK_REALTIME).saturating_sub(ns(ClockId::CLOCK_BOOTTIME))
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut loader = Loader::new();
    for f in &args.files {
        loader.add_file(f).with_context(|| format!("cannot read rules file {}", f.display()))?;
    }
    let loaded = loader.compile();
    for d in &loaded.report.diagnostics {
        eprintln!("{d}");
    }
    let Some(mut rules) = loaded.ruleset else { bail!("the rules files have errors; nothing started") };
    rules.set_min_priority(args.priority);
    rules.set_rule_matching(args.rule_matching.parse().unwrap_or(RuleMatching::First));

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing signal handlers")?;
    }

    let mut kernel = Kernel::load().context("loading the kernel programs (root and kernel BTF are required)")?;
    let mut table = ProcessTable::new(Path::new("/proc"));
    let seeded = table.seed();
    let users = Users::load(Path::new("/"));
    let hostname = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
    let offset = boot_to_wall_offset();
    let execve = event_types::code("execve").context("execve event type")?;
    eprintln!(
        "palisade: {} rules active, {} processes known; watching (Ctrl-C stops)",
        rules.active_count(),
        seeded
    );

    let mut matches = Vec::new();
    let mut num = 0u64;
    let mut reported_drops = 0u64;
    let mut last_drop_check = Instant::now();
    let mut out = std::io::stdout().lock();
    while !stop.load(Ordering::Relaxed) {
        kernel.wait(Duration::from_millis(100))?;
        kernel.drain(|bytes| {
            let rec = match decode(bytes) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("palisade: undecodable kernel record: {e:?}");
                    return;
                }
            };
            let is_exec = matches!(rec, Record::Exec { .. });
            let Some(process) = table.apply(&rec).cloned() else { return };
            if !is_exec {
                return;
            }
            let Record::Exec { hdr, .. } = &rec else { return };
            num += 1;
            let event = KernelEvent {
                type_code: execve,
                type_name: "execve",
                num,
                time_ns: hdr.ts_ns + offset,
                res: 0,
                tid: hdr.tid,
                process: &process,
                table: &table,
                users: &users,
            };
            rules.evaluate(Source::Syscall, &event, &mut matches);
            for rule in &matches {
                let alert = Alert::new(rule, &event, event.time_ns, &hostname);
                let line = if args.json { alert.to_json(true, true).to_string() } else { alert.to_text() };
                use std::io::Write as _;
                let _ = writeln!(out, "{line}");
            }
            use std::io::Write as _;
            let _ = out.flush();
        });
        if last_drop_check.elapsed() >= Duration::from_secs(10) {
            last_drop_check = Instant::now();
            let drops = kernel.drops();
            if drops > reported_drops {
                eprintln!("palisade: syscall event drops: {} records lost (total {drops})", drops - reported_drops);
                reported_drops = drops;
            }
        }
    }
    eprintln!("palisade: stopping ({} events evaluated, {} drops)", num, kernel.drops());
    Ok(ExitCode::SUCCESS)
}
