//! `palisade detach`: remove every pinned kernel program of Palisade (uninstall).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use palisade_daemon::containers::hook_server;
use palisade_daemon::kernel::pins;

/// `palisade detach`'s options (the help text is on the subcommand, in main.rs).
#[derive(Debug, Args)]
pub(crate) struct DetachArgs {
    /// The pin root (`palisade run --pin-root`); the BPF-LSM pins are looked for there too.
    #[arg(long, value_name = "DIR", default_value = pins::DEFAULT_PIN_ROOT)]
    pin_root: PathBuf,
    /// The daemon's socket (`hook_socket` in its configuration): no daemon may answer on it.
    #[arg(long, value_name = "PATH", default_value = "/run/palisade/hook.sock")]
    socket: PathBuf,
}

pub(crate) fn run(args: DetachArgs) -> anyhow::Result<ExitCode> {
    hook_server::ensure_not_running(&args.socket).context("refusing to detach under a running daemon")?;
    let mut removed = 0;
    for dir in pins::dirs(&args.pin_root) {
        let n = pins::remove_dir(&dir).with_context(|| format!("removing {}", dir.display()))?;
        println!("removed detection pins: {} ({n} pins)", dir.display());
        removed += 1;
    }
    for dir in palisade_lsm::remove_all_pins(&args.pin_root).context("removing the BPF-LSM pins")? {
        println!("removed BPF-LSM pins: {}", dir.display());
        removed += 1;
    }
    if removed == 0 {
        println!("nothing pinned under {}", args.pin_root.display());
    }
    // The root itself, when nothing else lives there.
    let _ = std::fs::remove_dir(&args.pin_root);
    Ok(ExitCode::SUCCESS)
}
