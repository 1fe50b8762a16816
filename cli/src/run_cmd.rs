//! `palisade run`: read the configuration, load the rules and the kernel programs, turn kernel
//! records into Falco events, evaluate, and send alerts to the configured outputs until
//! SIGINT/SIGTERM. SIGHUP (and, with `watch_config_files`, a change to the configuration or a
//! rules file) reloads.
//!
//! The kernel writes records without waking us (waking a reader per event costs more than
//! the event itself, see shared/notes/performance.md); we drain every [`DRAIN_INTERVAL`].
//! Events are evaluated for the processes of registered containers (the hook socket and NRI
//! register them) and, with host monitoring on, for every other process too.
//!
//! Reload: the new configuration and rules are built completely first; only if both are good
//! do they replace the running ones, between two drains, so no record is lost or evaluated
//! half by the old and half by the new rules. A bad file leaves everything as it was and is
//! reported (stderr, `palisade_reloads_total{result="error"}`). Sockets (hook, NRI, containerd)
//! and the webserver keep their start-up settings until a restart.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::Args;
use nix::time::{clock_gettime, ClockId};
use palisade_daemon::k8s_audit::AuditSource;
use palisade_daemon::{capture, enforcement, profile_set};
use palisade_daemon::config::{self, Config};
use palisade_daemon::containers::cgroup::Cgroups;
use palisade_daemon::containers::containerd::Containerd;
use palisade_daemon::containers::nri::NriRegistry;
use palisade_daemon::containers::mode_authority::{self, ModeAuthority};
use palisade_daemon::containers::{hook_server, Backend, Registry, SharedRegistry};
use palisade_events::event::EventBuilder;
use palisade_daemon::containers::ContainerMeta;
use palisade_daemon::kernel::{decode, Kernel, Record};
use palisade_events::pipeline::{Emitted, Evaluator};
use palisade_events::promotion::Tally;
use palisade_capture::recording::session::{Captures, DaemonFacts};
use palisade_daemon::mounts;
use palisade_events::process::{ProcessTable, Users};
use palisade_daemon::rules_load::{self, LoadedRules};
use palisade_hook::DaemonStatus;
use palisade_metrics::Metrics;
use palisade_rules::alert::Alert;
use palisade_rules::Source;

use palisade_daemon::alert_sink::{self, AlertSink};

/// How long records may wait in the ring buffer before we read them.
const DRAIN_INTERVAL: Duration = Duration::from_millis(10);
/// How often metrics, status and watched files are refreshed, and drops checked.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(1);
/// Where the configuration is read from when `-c` is not given (absent: built-in defaults).
const DEFAULT_CONFIG: &str = "/etc/palisade/palisade.yaml";

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// The configuration file (Falco-shaped YAML: rules_files, outputs, webserver, ...).
    /// Default: /etc/palisade/palisade.yaml if it exists, else built-in defaults (alerts to
    /// stdout only).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Override a configuration key, as Falco's -o: `-o json_output=true`,
    /// `-o webserver.listen_port=9000`, `-o rules_files[]=FILE`, `-o host_monitoring=false`.
    /// Repeatable; applied in order, over the file.
    #[arg(short = 'o', long = "option", value_name = "KEY=VALUE")]
    options: Vec<String>,
    /// A rules file or directory; repeat to load several in order. Replaces `rules_files`.
    #[arg(short = 'r', long = "rules-file", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print alerts as Falco JSON (shorthand for -o json_output=true).
    #[arg(long)]
    json: bool,
    /// Only alert for rules at least this severe (shorthand for -o priority=P).
    #[arg(long, value_name = "P")]
    priority: Option<String>,
    /// `first` or `all` matching rules per event (shorthand for -o rule_matching=...).
    #[arg(long, value_name = "M")]
    rule_matching: Option<String>,
    /// With the BPF-LSM backend: remove Palisade's LSM programs when the daemon stops cleanly.
    /// Default: they stay pinned under /sys/fs/bpf/palisade and keep enforcing the armed
    /// containers through a crash, an upgrade or a restart (the next daemon reuses them).
    #[arg(long)]
    detach_on_exit: bool,
}

impl RunArgs {
    /// The configuration file to read, and whether it was asked for explicitly.
    fn config_path(&self) -> Option<PathBuf> {
        match &self.config {
            Some(p) => Some(p.clone()),
            None => Path::new(DEFAULT_CONFIG).exists().then(|| PathBuf::from(DEFAULT_CONFIG)),
        }
    }

    /// File, then `-o`, then the shorthands and `-r`: CLI > file > defaults.
    fn load_config(&self) -> anyhow::Result<Config> {
        let mut overrides = self.options.clone();
        if self.json {
            overrides.push("json_output=true".into());
        }
        if let Some(p) = &self.priority {
            overrides.push(format!("priority={p}"));
        }
        if let Some(m) = &self.rule_matching {
            overrides.push(format!("rule_matching={m}"));
        }
        let mut config = match self.config_path() {
            Some(path) => config::load(&path, &overrides)?,
            None => config::parse("", "(built-in defaults)", &overrides)?,
        };
        if !self.files.is_empty() {
            config.rules_files = self.files.clone();
        }
        Ok(config)
    }
}

/// Wall-clock ns now.
fn wall_ns() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Counts a profile decision of container `c`: its metric, and its container's promotion
/// report (`palisade profiles report`).
fn count_decision(control: &hook_server::control::Control, metrics: &Metrics, c: &ContainerMeta, d: &palisade_events::would_deny::Decision) {
    metrics.decision(c.profile_name(), d.enforced);
    if let Ok(mut reports) = control.reports.lock() {
        reports
            .entry(c.full_id.clone())
            .or_insert_with(|| Tally::new(c.profile_name(), c.mode.as_str()))
            .record(d, &c.full_id, &c.name);
    }
}

/// Nanoseconds to add to the kernel's boot-time clock to get wall-clock time.
fn boot_to_wall_offset() -> u64 {
    let ns = |c| clock_gettime(c).map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64).unwrap_or(0);
    ns(ClockId::CLOCK_REALTIME).saturating_sub(ns(ClockId::CLOCK_BOOTTIME))
}

fn print_warnings(loaded: &LoadedRules) {
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
}

/// What a run did, printed when it stops.
#[derive(Debug, Default)]
struct Stats {
    records: u64,
    events: u64,
    alerts: u64,
}

/// Modification times of the watched files, to notice edits (`watch_config_files`).
fn mtimes(files: &[PathBuf]) -> Vec<Option<SystemTime>> {
    files.iter().map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok()).collect()
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let config_path = args.config_path();
    let mut config = args.load_config()?;
    let loaded = rules_load::load(&config)?;
    print_warnings(&loaded);
    let LoadedRules { ruleset: mut rules, files: mut rule_files, .. } = loaded;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing signal handlers")?;
    }
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup)).context("installing SIGHUP")?;
    let (mounted, failed) = mounts::ensure();
    for m in mounted {
        eprintln!("palisade: mounted {m}");
    }
    for f in failed {
        eprintln!("palisade: warning: could not mount {f}");
    }

    let metrics = Metrics::new();
    metrics.set_rules_loaded(rules.rules().len() as u64);
    let web = if config.webserver.enabled {
        Some(palisade_metrics::WebServer::start(&alert_sink::web_settings(&config), Arc::clone(&metrics))?)
    } else {
        None
    };
    let mut sink = AlertSink::start(&config)?;

    let mut kernel = Kernel::load().context("loading the kernel programs (root and kernel BTF are required)")?;
    let profiles = Arc::new(profile_set::load(&config)?);
    let mut plan = capture::plan(&rules);
    capture::with_profile_needs(&mut plan, &profiles);
    kernel.configure(&plan.capture).context("configuring the kernel programs")?;
    let mut scope = kernel.take_scope().context("the kernel's scope maps")?;
    scope.watch_untracked(config.host_monitoring).context("setting the kernel's scope")?;
    let cgroups = Cgroups::discover(Path::new("/proc")).context("finding the cgroup v2 hierarchy")?;
    let (backend, backend_text, lsm) = enforcement::backend();
    eprintln!("palisade: enforcement backend: {backend_text}");
    let mut registry = Registry::new(Box::new(scope), cgroups, PathBuf::from("/proc"))
        .with_profiles(Arc::clone(&profiles), profile_set::global_mode(&config))
        .with_mode_authority(ModeAuthority::from_config(&config.mode_annotation).map_err(anyhow::Error::msg)?);
    if let Some(lsm) = lsm {
        registry = registry.with_kernel_enforcer(Box::new(lsm));
    }
    let registry = registry.shared();
    let containerd = Containerd::new(config.containerd_socket.clone());
    let recovered = containerd.recover(&registry);
    if recovered > 0 {
        eprintln!("palisade: re-armed {recovered} running containers known to containerd");
    }
    let status = Mutex::new(DaemonStatus {
        version: env!("CARGO_PKG_VERSION").into(),
        config: config_path.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        enforcement_backend: backend_text,
        ..crate::status_cmd::kernel_facts()
    });
    let (control, capture_requests) = hook_server::control::Control::new();
    let control = Arc::new(control);
    let mut captures = Captures::new(capture_requests);
    let hooks = Arc::new(hook_server::Context {
        registry: SharedRegistry::clone(&registry),
        containerd: Some(containerd),
        status,
        fail_closed: config.fail_closed,
        backend,
        control: Arc::clone(&control),
    });
    hook_server::spawn(&config.hook_socket, Arc::clone(&hooks))?;
    let nri = if config.nri.enabled {
        let nri_config = palisade_nri::PluginConfig { socket: config.nri.socket_path.clone(), ..Default::default() };
        Some(
            palisade_nri::spawn(nri_config, Arc::new(NriRegistry(SharedRegistry::clone(&registry))))
                .context("starting the NRI plugin")?,
        )
    } else {
        None
    };
    let audit_stop = Arc::new(AtomicBool::new(false));
    let audit = AuditSource::start(&config, &audit_stop)?;
    let mut table = ProcessTable::new(Path::new("/proc"));
    let seeded = table.seed();
    let users = Users::load(Path::new("/"));
    let hostname = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
    let boot_to_wall = boot_to_wall_offset();
    let mut builder = EventBuilder::new(boot_to_wall);
    eprintln!(
        "palisade: {} rules active, {} processes known, {} syscalls captured ({}); watching (Ctrl-C stops)",
        rules.active_count(),
        seeded,
        plan.capture.syscalls.len(),
        plan.summary,
    );

    let evaluator = Evaluator::live(hostname.clone());
    let facts = |rule_files: &[PathBuf], config: &Config| DaemonFacts {
        hostname: hostname.clone(),
        boot_to_wall_ns: boot_to_wall,
        rules_files: rule_files.iter().map(|f| f.display().to_string()).collect(),
        host_monitoring: config.host_monitoring,
    };
    let mut daemon_facts = facts(&rule_files, &config);
    let mut stats = Stats::default();
    let mut drops = alert_sink::DropReporter::new(&config.syscall_event_drops);
    let mut last_housekeeping = Instant::now();
    let mut watched = rules_load::watched_files(config_path.as_deref(), &rule_files);
    let mut watched_mtimes = mtimes(&watched);
    let (mut reloads, mut reload_errors) = (0u64, 0u64);
    loop {
        kernel.wait(DRAIN_INTERVAL)?;
        let stopping = stop.load(Ordering::Relaxed);
        captures.poll(&daemon_facts, &table, &users, wall_ns(), || kernel.drops());
        // Per drain: the matches borrow the ruleset, which a reload may replace below.
        let mut matches = Vec::new();
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
            let cgroup_id = rec.header().cgroup_id;
            let lookup = || registry.lock().ok().and_then(|r| r.lookup(cgroup_id));
            // A capture needs the container of every record; evaluation only that of events.
            let captured = captures.is_active().then(|| {
                let c = lookup();
                captures.record(&rec, c.as_ref());
                c
            });
            let Some(data) = builder.build(rec, &mut table) else { return };
            let container = captured.unwrap_or_else(lookup);
            stats.events += 1;
            metrics.event(data.type_name);
            let c = container.as_deref();
            evaluator.evaluate(&rules, &data, &table, &users, c, &mut matches, &mut |emitted| {
                stats.alerts += 1;
                match emitted {
                    Emitted::Rule { rule, alert } => {
                        metrics.alert(&rule.name, rule.priority.name());
                        sink.send(&alert);
                    }
                    Emitted::Decision(d) => {
                        if let Some(c) = c {
                            count_decision(&control, &metrics, c, &d);
                        }
                        sink.send(&d.alert);
                    }
                }
            });
        });
        if let Some(a) = &audit {
            while let Ok(batch) = a.queue.rx.try_recv() {
                for mut event in batch {
                    stats.events += 1;
                    event.set_num(stats.events);
                    let event = &event;
                    metrics.event("k8s_audit");
                    rules.evaluate(Source::K8sAudit, event, &mut matches);
                    for rule in &matches {
                        stats.alerts += 1;
                        metrics.alert(&rule.name, rule.priority.name());
                        sink.send(&Alert::new(rule, event, event.time_ns(), &hostname));
                    }
                }
            }
        }

        if backend == Some(Backend::BpfLsm) {
            let decisions = registry.lock().map(|mut r| r.kernel_decisions()).unwrap_or_default();
            for (d, meta) in decisions {
                let Some(meta) = meta else {
                    tracing::warn!(cgroup_id = d.cgroup_id, action = %d.action, "BPF-LSM decision for an unknown container");
                    continue;
                };
                let decision = palisade_events::would_deny::from_kernel(&d, &meta, boot_to_wall, &hostname);
                count_decision(&control, &metrics, &meta, &decision);
                stats.alerts += 1;
                sink.send(&decision.alert);
            }
        }

        // Refused `palisade.io/mode` loosenings (the hook server settles modes off this loop).
        let refusals = registry.lock().map(|mut r| r.take_mode_refusals()).unwrap_or_default();
        for (refused, meta) in refusals {
            let alert = mode_authority::alert(&refused, &meta, wall_ns(), &hostname);
            metrics.alert(&alert.rule, alert.priority);
            stats.alerts += 1;
            sink.send(&alert);
        }

        if last_housekeeping.elapsed() >= HOUSEKEEPING_INTERVAL {
            last_housekeeping = Instant::now();
            let kernel_drops = kernel.drops();
            metrics.set_kernel_drops(kernel_drops);
            drops.check(kernel_drops, &mut sink, &hostname);
            sink.report(&metrics);
            let tracked = registry
                .lock()
                .map(|r| {
                    control.retain_reports(&r);
                    r.armed_count()
                })
                .unwrap_or(0);
            metrics.set_containers(tracked as u64);
            if let Ok(mut s) = hooks.status.lock() {
                s.uptime_s = started.elapsed().as_secs();
                s.rules_files = rule_files.iter().map(|f| f.display().to_string()).collect();
                s.rules_loaded = rules.rules().len() as u64;
                s.rules_active = rules.active_count() as u64;
                s.reloads = reloads;
                s.reload_errors = reload_errors;
                s.host_monitoring = config.host_monitoring;
                s.events = stats.events;
                s.alerts = stats.alerts;
                s.kernel_drops = kernel_drops;
                s.outputs_dropped = sink.dropped();
            }
            if config.watch_config_files && !hup.load(Ordering::Relaxed) {
                let now = mtimes(&watched);
                if now != watched_mtimes {
                    eprintln!("palisade: a watched file changed; reloading");
                    hup.store(true, Ordering::Relaxed);
                }
            }
        }

        if hup.swap(false, Ordering::Relaxed) && !stopping {
            match args.load_config().map_err(|e| format!("{e:#}")).and_then(|c| {
                let loaded = rules_load::load(&c).map_err(|e| e.to_string())?;
                let profiles = profile_set::load(&c).map_err(|e| format!("{e:#}"))?;
                let authority = ModeAuthority::from_config(&c.mode_annotation)?;
                Ok((c, loaded, profiles, authority))
            }) {
                Ok((new_config, loaded, new_profiles, new_authority)) => {
                    print_warnings(&loaded);
                    let new_profiles = Arc::new(new_profiles);
                    let mut new_plan = capture::plan(&loaded.ruleset);
                    capture::with_profile_needs(&mut new_plan, &new_profiles);
                    if let Err(e) = kernel.configure(&new_plan.capture) {
                        reload_errors += 1;
                        metrics.reload(false);
                        eprintln!("palisade: reload refused: configuring the kernel programs: {e}");
                    } else {
                        if new_config != config {
                            sink = sink.restart_if_changed(&config, &new_config)?;
                            if let Ok(mut r) = registry.lock() {
                                r.set_host_monitoring(new_config.host_monitoring);
                            }
                        }
                        if let Ok(mut r) = registry.lock() {
                            r.set_profiles(Arc::clone(&new_profiles), profile_set::global_mode(&new_config));
                            r.set_mode_authority(new_authority);
                        }
                        rules = loaded.ruleset;
                        rule_files = loaded.files;
                        daemon_facts = facts(&rule_files, &new_config);
                        plan = new_plan;
                        config = new_config;
                        reloads += 1;
                        metrics.reload(true);
                        metrics.set_rules_loaded(rules.rules().len() as u64);
                        eprintln!(
                            "palisade: reloaded: {} rules active, {} syscalls captured ({})",
                            rules.active_count(),
                            plan.capture.syscalls.len(),
                            plan.summary
                        );
                    }
                }
                Err(e) => {
                    reload_errors += 1;
                    metrics.reload(false);
                    metrics.rules_load_error();
                    eprintln!("palisade: reload refused, the running configuration and rules stay:\n{e}");
                }
            }
            watched = rules_load::watched_files(config_path.as_deref(), &rule_files);
            watched_mtimes = mtimes(&watched);
        }
        if stopping {
            // After one more drain: what arrived before the signal still counts.
            captures.end_all("daemon stopping", wall_ns(), kernel.drops());
            break;
        }
    }
    if let Some(nri) = nri {
        if let Err(e) = nri.stop() {
            eprintln!("palisade: NRI plugin: {e}");
        }
    }
    audit_stop.store(true, Ordering::Relaxed);
    if let Some(a) = audit {
        a.stop();
    }
    if args.detach_on_exit && backend == Some(Backend::BpfLsm) {
        match registry.lock().map_err(|e| e.to_string()).and_then(|mut r| r.detach_kernel_enforcer()) {
            Ok(()) => eprintln!("palisade: BPF-LSM programs detached (--detach-on-exit)"),
            Err(e) => eprintln!("palisade: detaching the BPF-LSM programs failed: {e}"),
        }
    }
    let dropped = sink.stop();
    if let Some(web) = web {
        web.stop();
    }
    eprintln!(
        "palisade: stopped: records={} events={} alerts={} drops={} outputs_dropped={dropped}",
        stats.records,
        stats.events,
        stats.alerts,
        kernel.drops()
    );
    Ok(ExitCode::SUCCESS)
}
