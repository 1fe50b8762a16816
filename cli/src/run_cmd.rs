//! `palisade run`: read the configuration, load the rules and the kernel programs, turn kernel
//! records into Falco events, evaluate, and send alerts to the configured outputs until
//! SIGINT/SIGTERM. SIGHUP (and, with `watch_config_files`, a change to the configuration or a
//! rules file) reloads. The signal handlers are installed before the rules load: SIGINT/SIGTERM
//! during loading ends it promptly (exit status 128 + signal, "interrupted" on stderr).
//!
//! The kernel writes records without waking us (waking a reader per event costs more than
//! the event itself, see shared/notes/performance.md); the loop ([`Daemon`]) drains every
//! [`palisade_daemon::run::DRAIN_INTERVAL`].
//! Events are evaluated for the processes of registered containers (the hook socket and NRI
//! register them) and, with host monitoring on, for every other process too.
//!
//! Reload: the new configuration and rules are built completely first; only if both are good
//! do they replace the running ones, between two drains, so no record is lost or evaluated
//! half by the old and half by the new rules. A bad file leaves everything as it was and is
//! reported (stderr, `palisade_reloads_total{result="error"}`). Sockets (hook, NRI, containerd)
//! keep their start-up settings until a restart; the web server (webserver, k8s-audit webhook)
//! takes the new ones (see `palisade_daemon::webserver`), and a reload whose TLS or token files
//! cannot be read, or whose new address cannot be bound, is refused.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use nix::time::{clock_gettime, ClockId};
use palisade_capture::recording::session::Captures;
use palisade_daemon::alert_sink::AlertSink;
use palisade_daemon::config::{self, Config};
use palisade_daemon::containers::cgroup::Cgroups;
use palisade_daemon::containers::containerd::Containerd;
use palisade_daemon::containers::mode_authority::ModeAuthority;
use palisade_daemon::containers::nri::NriRegistry;
use palisade_daemon::containers::registry::state as registry_state;
use palisade_daemon::containers::{hook_server, Registry, SharedRegistry};
use palisade_daemon::k8s_audit::AuditSource;
use palisade_daemon::kernel::Kernel;
use palisade_daemon::mounts;
use palisade_daemon::rules_load::{self, LoadedRules, RulesLoadError};
use palisade_daemon::run::reload::print_warnings;
use palisade_daemon::run::{Daemon, Parts};
use palisade_daemon::{capture, enforcement, profile_set, webserver};
use palisade_events::event::EventBuilder;
use palisade_events::pipeline::Evaluator;
use palisade_events::process::{ProcessTable, Users};
use palisade_hook::DaemonStatus;
use palisade_metrics::Metrics;

/// Where the configuration is read from when `-c` is not given (absent: built-in defaults).
const DEFAULT_CONFIG: &str = "/etc/palisade/palisade.yaml";

#[derive(Debug, Args, Clone)]
pub(crate) struct RunArgs {
    /// The configuration file: palisade.yaml, or Falco's own falco.yaml (keys that do not apply
    /// are accepted with one warning each). Default: /etc/palisade/palisade.yaml if it exists,
    /// else built-in defaults (alerts to stdout only). With no rules_files and no -r, the rules
    /// are /etc/palisade/rules.d if it exists, else Palisade's built-in default rules.
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
    /// Remove Palisade's pinned kernel programs when the daemon stops cleanly: detection's
    /// (with --pin-root), and with the BPF-LSM backend the LSM programs, which otherwise stay
    /// pinned under /sys/fs/bpf/palisade and keep enforcing through a crash, an upgrade or a
    /// restart. `palisade detach` removes them later.
    #[arg(long)]
    detach_on_exit: bool,
    /// Hand detection over across restarts: pin its programs, links and maps beneath DIR (on
    /// the bpffs, in `detect-v<ABI>`), adopting what an earlier daemon pinned there. While no
    /// daemon runs the programs keep watching and records wait in the pinned ring buffer (`ring_buffer_mib`;
    /// what does not fit is counted as dropped); the next daemon alerts them first. The
    /// installed service and the Helm chart run with /sys/fs/bpf/palisade. Without it (the
    /// default for a daemon run by hand) detection ends with the daemon and nothing stays in
    /// the kernel. `palisade detach` removes the pins.
    #[arg(long, value_name = "DIR", default_value = "",
          value_parser = clap::builder::TypedValueParser::map(clap::builder::OsStringValueParser::new(), PathBuf::from))]
    pin_root: PathBuf,
    /// How the daemon's own messages are written to stderr: `text` or `json` (one object a
    /// line); shorthand for -o log_format=....
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Write the daemon's pid here once it serves, as Falco's --pidfile (`kill -1 $(cat FILE)`
    /// reloads); removed at a clean stop. An empty value writes none.
    #[arg(long, value_name = "FILE", default_value = crate::pidfile::DEFAULT_PIDFILE)]
    pidfile: PathBuf,
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
        if let Some(f) = &self.log_format {
            overrides.push(format!("log_format={f}"));
        }
        let mut config = match self.config_path() {
            Some(path) => config::load(&path, &overrides)?,
            None => config::parse("", "(built-in defaults)", &overrides)?,
        };
        if !self.files.is_empty() {
            config.rules_files = self.files.clone();
        }
        config.with_default_rules(Path::new(config::INSTALLED_RULES_DIR));
        Ok(config)
    }
}

/// The configuration's warnings (Falco keys accepted but not applied), one line each: at start
/// and after every reload that read the files again.
fn log_config_warnings(config: &Config) {
    for w in &config.warnings {
        tracing::warn!(key = %w.key, at = w.at.as_deref().unwrap_or("-o"), reason = %w.reason, "configuration key not applied");
    }
}

/// Says which rules are loaded (the built-in ones, when nothing names any).
fn log_rules_source(config: &Config, files: &[PathBuf]) {
    if config.builtin_rules {
        tracing::info!(
            rules = config::BUILTIN_RULES_NAME,
            "no rules configured (no rules_files, no -r, no {}): loaded the built-in Palisade rules",
            config::INSTALLED_RULES_DIR
        );
    }
    for f in files {
        tracing::info!(file = %f.display(), "rules file loaded");
    }
}

/// A stop signal came while the rules were loading: nothing was started, so there is nothing
/// to drain. The exit status is 128 + the signal's number (143 for SIGTERM, 130 for SIGINT),
/// as a shell reports a command a signal ended: not success (the daemon never ran), not a
/// configuration error (2).
fn interrupted(signal: &AtomicUsize) -> ExitCode {
    let sig = signal.load(Ordering::Relaxed);
    let name = if sig == signal_hook::consts::SIGINT as usize { "SIGINT" } else { "SIGTERM" };
    tracing::warn!(signal = name, "interrupted while loading the rules; not started");
    eprintln!("palisade: interrupted by {name} while loading the rules; not started");
    ExitCode::from(128 + sig.clamp(1, 127) as u8)
}

/// Nanoseconds to add to the kernel's boot-time clock to get wall-clock time.
fn boot_to_wall_offset() -> u64 {
    let ns = |c| clock_gettime(c).map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64).unwrap_or(0);
    ns(ClockId::CLOCK_REALTIME).saturating_sub(ns(ClockId::CLOCK_BOOTTIME))
}

pub(crate) fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let config_path = args.config_path();
    let config = args.load_config()?;
    crate::logging::init(&config);
    log_config_warnings(&config);
    // A second daemon stops here, before it loads anything beside the running one.
    hook_server::ensure_not_running(&config.hook_socket)?;
    // Signals first: loading a large rule set takes seconds, and SIGTERM must stop it.
    let stop = Arc::new(AtomicBool::new(false));
    let signal = Arc::new(AtomicUsize::new(0));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing signal handlers")?;
        signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize).context("installing signal handlers")?;
    }
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup)).context("installing SIGHUP")?;
    tracing::info!(rules_files = config.rules_files.len(), "loading the rules");
    let loaded = match rules_load::load_until(&config, &stop) {
        Err(RulesLoadError::Interrupted) => return Ok(interrupted(&signal)),
        loaded => loaded?,
    };
    print_warnings(&loaded);
    log_rules_source(&config, &loaded.files);
    let LoadedRules { ruleset: rules, files: rule_files, .. } = loaded;
    let (mounted, failed) = mounts::ensure();
    for m in mounted {
        tracing::info!(filesystem = %m, "mounted");
    }
    for f in failed {
        tracing::warn!(filesystem = %f, "could not mount");
    }

    let metrics = Metrics::new();
    metrics.set_rules_loaded(rules.rules().len() as u64);
    let rules = Arc::new(rules);
    let hostname = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
    // The audit worker and the web server (webhook, /healthz, /metrics) run on their own
    // threads; the event loop only forwards the worker's alerts.
    let audit_stop = Arc::new(AtomicBool::new(false));
    let audit = AuditSource::start(&config, &rules, &metrics, &hostname, &audit_stop)
        .context("starting the k8s audit worker")?;
    let web = webserver::Web::start(&config, &metrics, audit.as_ref().map(AuditSource::handler))?;
    let sink = AlertSink::start(&config)?;

    if args.pin_root.as_os_str().is_empty() {
        let root = Path::new(palisade_daemon::kernel::pins::DEFAULT_PIN_ROOT);
        for dir in palisade_daemon::kernel::pins::dirs(root) {
            tracing::warn!(pin_dir = %dir.display(), "an earlier daemon's detection programs are still pinned and running: `palisade run --pin-root {}` adopts them, `palisade detach` removes them", root.display());
        }
    }
    let ring = config.ring_buffer_mib;
    let mut kernel = if args.pin_root.as_os_str().is_empty() { Kernel::load_sized(ring) } else { Kernel::load_pinned(&args.pin_root, ring) }
        .context("loading the kernel programs (root and kernel BTF are required)")?;
    let detection = kernel.handover().clone();
    eprintln!("palisade: detection: {detection}");
    let detection_pins = detection.pin_dir.clone();
    let profiles = Arc::new(profile_set::load(&config)?);
    metrics.declare_profiles(profiles.profiles().iter().map(|p| p.name.as_str()));
    let mut plan = capture::plan(&rules);
    capture::with_profile_needs(&mut plan, &profiles);
    kernel.configure(&plan.capture).context("configuring the kernel programs")?;
    let mut scope = kernel.take_scope().context("the kernel's scope maps")?;
    scope.exclude_process(std::process::id()).context("setting the kernel's scope")?;
    scope.watch_untracked(config.host_monitoring).context("setting the kernel's scope")?;
    let cgroups = Cgroups::discover(Path::new("/proc")).context("finding the cgroup v2 hierarchy")?;
    let (backend, backend_text, lsm) = enforcement::backend();
    eprintln!("palisade: enforcement backend: {backend_text}");
    let mut registry = Registry::new(Box::new(scope), cgroups, PathBuf::from("/proc"))
        .with_profiles(Arc::clone(&profiles), profile_set::global_mode(&config))
        .with_mode_authority(ModeAuthority::from_config(&config.mode_annotation).map_err(anyhow::Error::msg)?)
        .with_state_file(registry_state::StateFile::for_socket(&config.hook_socket));
    if let Some(lsm) = lsm {
        registry = registry.with_kernel_enforcer(Box::new(lsm));
    }
    let registry = registry.shared();
    // What the previous daemon armed first (podman's and hook-only containers, the metadata
    // of those that exited meanwhile), then containerd's facts over it, then the kernel.
    let restored = registry_state::recover(&registry);
    let containerd = Containerd::new(config.containerd_socket.clone());
    let recovered = containerd.recover(&registry);
    if recovered > 0 {
        tracing::info!(containers = recovered, "re-armed the running containers known to containerd");
    }
    registry_state::reconcile(&registry, &restored, containerd.reachable());
    let status = Mutex::new(DaemonStatus {
        version: env!("CARGO_PKG_VERSION").into(),
        config: config_path.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        enforcement_backend: backend_text,
        detection: detection.to_string(),
        kernel_drops_inherited: detection.drops_inherited,
        ..crate::status_cmd::kernel_facts()
    });
    let (control, capture_requests) = hook_server::control::Control::new();
    let control = Arc::new(control);
    let captures = Captures::new(capture_requests);
    let hooks = Arc::new(hook_server::Context {
        registry: SharedRegistry::clone(&registry),
        containerd: Some(containerd),
        status,
        fail_closed: config.fail_closed,
        backend,
        control: Arc::clone(&control),
        socket: Arc::default(),
    });
    hook_server::spawn(&config.hook_socket, &hook_server::SocketOptions::from_config(&config), Arc::clone(&hooks))?;
    // Falco logs a pid file it cannot write and runs on: so do we.
    let _pidfile = (!args.pidfile.as_os_str().is_empty())
        .then(|| crate::pidfile::PidFile::write(&args.pidfile))
        .and_then(|w| w.map_err(|e| tracing::error!(path = %args.pidfile.display(), error = %e, "cannot write the pid file")).ok());
    let nri = if config.nri.enabled {
        let nri_config = palisade_nri::PluginConfig { socket: config.nri.socket_path.clone(), ..Default::default() };
        Some(
            palisade_nri::spawn(nri_config, Arc::new(NriRegistry(SharedRegistry::clone(&registry))))
                .context("starting the NRI plugin")?,
        )
    } else {
        None
    };
    let mut table = ProcessTable::new(Path::new("/proc"));
    let seeded = table.seed();
    let (users, users_root) = Users::load_host(Path::new("/proc"));
    tracing::info!(root = %users_root.display(), users = users.lists().0.len(), "host users read");
    let boot_to_wall = boot_to_wall_offset();
    let builder = EventBuilder::new(boot_to_wall);
    eprintln!(
        "palisade: {} rules active, {} processes known, {} syscalls captured ({}); watching (Ctrl-C stops)",
        rules.active_count(),
        seeded,
        plan.capture.syscalls.len(),
        plan.summary,
    );

    let reload_args = args.clone();
    let parts = Parts {
        source: kernel,
        config,
        config_path,
        reload_config: Box::new(move || {
            let config = reload_args.load_config().map_err(|e| format!("{e:#}"))?;
            log_config_warnings(&config);
            Ok(config)
        }),
        rules,
        rule_files,
        plan,
        registry,
        backend,
        hooks,
        captures,
        metrics,
        audit,
        table,
        users,
        builder,
        evaluator: Evaluator::live(hostname.clone()),
        hostname,
        boot_to_wall,
        stop,
        hup,
        started,
    };
    let mut daemon = Daemon::new(parts, sink).with_web(web);
    let ran = daemon.run();
    if let Some(nri) = nri {
        if let Err(e) = nri.stop() {
            tracing::error!(error = %e, "stopping the NRI plugin");
        }
    }
    audit_stop.store(true, Ordering::Relaxed);
    let (stats, drops, dropped) = daemon.finish(args.detach_on_exit);
    if let Some(dir) = detection_pins.filter(|_| args.detach_on_exit) {
        match palisade_daemon::kernel::pins::remove_dir(&dir) {
            Ok(pins) => tracing::info!(pin_dir = %dir.display(), pins, "detection programs detached (--detach-on-exit)"),
            Err(e) => tracing::error!(error = %e, "detaching the detection programs failed"),
        }
    }
    ran?;
    eprintln!(
        "palisade: stopped: records={} events={} alerts={} drops={drops} outputs_dropped={dropped}",
        stats.records, stats.events, stats.alerts,
    );
    Ok(ExitCode::SUCCESS)
}
