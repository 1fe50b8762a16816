//! `palisade containers`: the daemon's tracked containers.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use palisade_hook::{Reply, Request, PROTOCOL_VERSION};

#[derive(Debug, Args)]
pub(crate) struct ContainersArgs {
    /// The daemon's socket (`hook_socket` in its configuration).
    #[arg(long, default_value = "/run/palisade/hook.sock", value_name = "PATH")]
    socket: PathBuf,
    /// One JSON object per container instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: ContainersArgs) -> anyhow::Result<ExitCode> {
    let reply = palisade_hook::request(&args.socket, &Request::ListContainers { version: PROTOCOL_VERSION }, Duration::from_secs(5))
        .with_context(|| format!("asking the daemon at {} (is `palisade run` running?)", args.socket.display()))?;
    let containers = match reply {
        Reply::Containers { containers } => containers,
        Reply::Error { message } => bail!("the daemon says: {message}"),
        other => bail!("unexpected reply from the daemon: {other:?}"),
    };
    if args.json {
        for c in &containers {
            println!("{}", serde_json::to_string(c)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<14} {:<20} {:<36} {:<9} {:<6} {:<6} {:<8} {:>8}", "CONTAINER", "NAME", "IMAGE", "SOURCE", "MODE", "ARMED", "STATE", "PID");
    for c in &containers {
        let id = c.id.get(..12).unwrap_or(&c.id);
        println!(
            "{:<14} {:<20} {:<36} {:<9} {:<6} {:<6} {:<8} {:>8}",
            id, c.name, c.image, c.sources, c.mode, if c.armed { "yes" } else { "no" }, c.state, c.pid
        );
    }
    Ok(ExitCode::SUCCESS)
}
