//! `palisade status`: the running daemon's state, over its socket.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use palisade_hook::{DaemonStatus, Reply, Request, PROTOCOL_VERSION};

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The daemon's socket (`hook_socket` in its configuration).
    #[arg(long, default_value = "/run/palisade/hook.sock", value_name = "PATH")]
    socket: PathBuf,
    /// Print the status as one JSON object.
    #[arg(long)]
    json: bool,
}

/// What the kernel offers for enforcement, read once at start.
pub(crate) fn kernel_facts() -> DaemonStatus {
    let (kernel_lsms, bpf_lsm_listed) = match std::fs::read_to_string("/sys/kernel/security/lsm") {
        Ok(list) => {
            let listed = list.trim().split(',').any(|l| l == "bpf");
            (list.trim().to_owned(), listed)
        }
        Err(e) => (format!("unknown (/sys/kernel/security/lsm: {e})"), false),
    };
    DaemonStatus { kernel_lsms, bpf_lsm_listed, ..DaemonStatus::default() }
}

pub(crate) fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let reply = palisade_hook::request(&args.socket, &Request::Status { version: PROTOCOL_VERSION }, Duration::from_secs(5))
        .with_context(|| format!("asking the daemon at {} (is `palisade run` running?)", args.socket.display()))?;
    let s = match reply {
        Reply::Status { status } => *status,
        Reply::Error { message } => bail!("the daemon says: {message}"),
        other => bail!("unexpected reply from the daemon: {other:?}"),
    };
    if args.json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("palisade {} — up {}s", s.version, s.uptime_s);
    println!("config:          {}", if s.config.is_empty() { "(built-in defaults)" } else { &s.config });
    println!("rules:           {} loaded, {} active, from {} files", s.rules_loaded, s.rules_active, s.rules_files.len());
    println!("reloads:         {} ({} refused)", s.reloads, s.reload_errors);
    println!("host monitoring: {}", if s.host_monitoring { "on" } else { "off" });
    println!("containers:      {} tracked", s.containers_tracked);
    println!("events:          {} ({} alerts)", s.events, s.alerts);
    println!("drops:           {} kernel records, {} alerts (outputs queue full)", s.kernel_drops, s.outputs_dropped);
    if s.kernel_drops_inherited > 0 {
        println!("                 {} kernel records dropped before this daemon started", s.kernel_drops_inherited);
    }
    if !s.detection.is_empty() {
        println!("detection:       {}", s.detection);
    }
    println!("hook socket:     {} connections refused busy, {} refused for their peer", s.hook_refused_busy, s.hook_refused_peer);
    if s.budget_drops.is_empty() && s.budget_drops_unattributed == 0 {
        println!("budget drops:    none");
    } else {
        println!("budget drops:    syscall records over their cgroup's budget, per container");
        for d in &s.budget_drops {
            let id = d.container_id.get(..12).unwrap_or(&d.container_id);
            println!("  {:<12} {:<24} {}", id, d.container_name, d.drops);
            if d.container_id == "host" {
                for c in &d.cgroups {
                    println!("    cgroup {:<20} {}", c.cgroup_id, c.drops);
                }
            }
        }
        if s.budget_drops_unattributed > 0 {
            println!("  (unattributed: kernel table full) {}", s.budget_drops_unattributed);
        }
    }
    println!("kernel LSMs:     {} (BPF-LSM {})", s.kernel_lsms, if s.bpf_lsm_listed { "listed" } else { "not listed" });
    println!("enforcement:     {}", s.enforcement_backend);
    Ok(ExitCode::SUCCESS)
}
