//! `palisade run`: load the rules and the kernel programs, turn kernel records into Falco
//! events, evaluate, and print alerts until SIGINT/SIGTERM.
//!
//! The kernel writes records without waking us (waking a reader per event costs more than
//! the event itself, see shared/notes/performance.md); we drain every [`DRAIN_INTERVAL`].
//! Events are evaluated for the processes of registered containers (the hook socket and NRI
//! register them) and, with host monitoring on, for every other process too.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use nix::time::{clock_gettime, ClockId};
use palisade::capture;
use palisade::containers::cgroup::Cgroups;
use palisade::containers::containerd::Containerd;
use palisade::containers::nri::NriRegistry;
use palisade::containers::{hook_server, Registry, SharedRegistry};
use palisade::event::EventBuilder;
use palisade::kernel::{decode, Kernel, Record};
use palisade::mounts;
use palisade::process::{ProcessTable, Users};
use palisade_rules::alert::Alert;
use palisade_rules::output::OutputFormat;
use palisade_rules::{Loader, Priority, RuleMatching, Ruleset, Source};

/// How long records may wait in the ring buffer before we read them.
const DRAIN_INTERVAL: Duration = Duration::from_millis(10);
/// Appended to every alert (Falco's `append_output`), so each says which container it is from.
const CONTAINER_OUTPUT: &str = "container_id=%container.id container_name=%container.name \
     container_image_repository=%container.image.repository container_image_tag=%container.image.tag \
     k8s_ns_name=%k8s.ns.name k8s_pod_name=%k8s.pod.name";
/// How often lost records are reported (Falco's `syscall_event_drops`).
const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(10);

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
    /// Watch processes outside registered containers (the host) too. With `off`, only
    /// containers armed through the hook or NRI are watched, and the host costs near nothing.
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    host_monitoring: String,
    /// Where `palisade-hook` and `palisade containers` reach the daemon.
    #[arg(long, default_value = "/run/palisade/hook.sock", value_name = "PATH")]
    hook_socket: PathBuf,
    /// containerd's NRI socket: the daemon registers there as an NRI plugin (and reconnects
    /// whenever containerd restarts) to learn CRI containers with their pods.
    #[arg(long, default_value = "/var/run/nri/nri.sock", value_name = "PATH")]
    nri_socket: PathBuf,
    /// containerd's API socket: asked for the image of containers whose spec does not name it,
    /// and at start for the running containers to re-arm.
    #[arg(long, default_value = "/run/containerd/containerd.sock", value_name = "PATH")]
    containerd_socket: PathBuf,
}

/// Nanoseconds to add to the kernel's boot-time clock to get wall-clock time.
fn boot_to_wall_offset() -> u64 {
    let ns = |c| clock_gettime(c).map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64).unwrap_or(0);
    ns(ClockId::CLOCK_REALTIME).saturating_sub(ns(ClockId::CLOCK_BOOTTIME))
}

fn load_rules(args: &RunArgs) -> anyhow::Result<Ruleset> {
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
    Ok(rules)
}

/// What a run did, printed when it stops.
#[derive(Debug, Default)]
struct Stats {
    records: u64,
    events: u64,
    alerts: u64,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(&args)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing signal handlers")?;
    }
    let (mounted, failed) = mounts::ensure();
    for m in mounted {
        eprintln!("palisade: mounted {m}");
    }
    for f in failed {
        eprintln!("palisade: warning: could not mount {f}");
    }

    let mut kernel = Kernel::load().context("loading the kernel programs (root and kernel BTF are required)")?;
    let plan = capture::plan(&rules);
    kernel.configure(&plan.capture).context("configuring the kernel programs")?;
    let mut scope = kernel.take_scope().context("the kernel's scope maps")?;
    scope.watch_untracked(args.host_monitoring == "on").context("setting the kernel's scope")?;
    let cgroups = Cgroups::discover(Path::new("/proc")).context("finding the cgroup v2 hierarchy")?;
    let registry = Registry::new(Box::new(scope), cgroups, PathBuf::from("/proc")).shared();
    let containerd = Arc::new(Containerd::new(args.containerd_socket.clone()));
    let recovered = containerd.recover(&registry);
    if recovered > 0 {
        eprintln!("palisade: re-armed {recovered} running containers known to containerd");
    }
    hook_server::spawn(&args.hook_socket, SharedRegistry::clone(&registry), containerd)?;
    let nri_config = palisade_nri::PluginConfig { socket: args.nri_socket.clone(), ..Default::default() };
    let nri = palisade_nri::spawn(nri_config, Arc::new(NriRegistry(SharedRegistry::clone(&registry))))
        .context("starting the NRI plugin")?;
    let mut table = ProcessTable::new(Path::new("/proc"));
    let seeded = table.seed();
    let users = Users::load(Path::new("/"));
    let hostname = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
    let mut builder = EventBuilder::new(boot_to_wall_offset());
    eprintln!(
        "palisade: {} rules active, {} processes known, {} syscalls captured ({}); watching (Ctrl-C stops)",
        rules.active_count(),
        seeded,
        plan.capture.syscalls.len(),
        plan.summary,
    );

    let container_output = OutputFormat::compile(CONTAINER_OUTPUT, Source::Syscall)
        .map_err(|e| anyhow::anyhow!("container output format: {}", e.message))?;
    let mut stats = Stats::default();
    let mut matches = Vec::new();
    let mut reported_drops = 0u64;
    let mut last_drop_check = Instant::now();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    loop {
        kernel.wait(DRAIN_INTERVAL)?;
        let stopping = stop.load(Ordering::Relaxed);
        kernel.drain(|bytes| {
            stats.records += 1;
            let rec = match decode(bytes) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("palisade: undecodable kernel record: {e:?}");
                    return;
                }
            };
            if let Record::Exit { hdr, .. } = &rec {
                if hdr.pid == hdr.tid {
                    if let Ok(mut r) = registry.lock() {
                        r.process_exited(hdr.pid);
                    }
                }
            }
            let Some(data) = builder.build(rec, &mut table) else { return };
            stats.events += 1;
            let container = registry.lock().ok().and_then(|r| r.lookup(data.cgroup_id));
            let event = data.view(&table, &users, container.as_deref());
            rules.evaluate(Source::Syscall, &event, &mut matches);
            for rule in &matches {
                stats.alerts += 1;
                let mut alert = Alert::new(rule, &event, data.time_ns, &hostname);
                alert.append_output(&container_output, &event);
                let line = if args.json { alert.to_json(true, true).to_string() } else { alert.to_text() };
                let _ = writeln!(out, "{line}");
            }
        });
        let _ = out.flush();
        if last_drop_check.elapsed() >= DROP_REPORT_INTERVAL {
            last_drop_check = Instant::now();
            let drops = kernel.drops();
            if drops > reported_drops {
                eprintln!("palisade: syscall event drops: {} records lost (total {drops})", drops - reported_drops);
                reported_drops = drops;
            }
        }
        if stopping {
            break; // after one more drain: what arrived before the signal still counts
        }
    }
    if let Err(e) = nri.stop() {
        eprintln!("palisade: NRI plugin: {e}");
    }
    eprintln!(
        "palisade: stopped: records={} events={} alerts={} drops={}",
        stats.records,
        stats.events,
        stats.alerts,
        kernel.drops()
    );
    Ok(ExitCode::SUCCESS)
}
