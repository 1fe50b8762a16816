//! Statically linked binaries that run inside test containers (whose images have no libc):
//! `palisade-init` (the Landlock backend's shim) and `palisade-probe` (the test attacker).
//! Built once per test process with cargo, `-C target-feature=+crt-static` and an explicit
//! `--target` (so the flag stays off build scripts and proc macros), into `target/static`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// Paths of the static builds.
#[derive(Debug, Clone)]
pub struct StaticBinaries {
    pub init: PathBuf,
    pub probe: PathBuf,
}

/// Builds (or finds up to date) the static binaries.
pub fn static_binaries() -> Result<StaticBinaries> {
    static BUILT: OnceLock<std::result::Result<StaticBinaries, String>> = OnceLock::new();
    BUILT.get_or_init(|| build().map_err(|e| e.to_string())).clone().map_err(Error::Invalid)
}

fn build() -> Result<StaticBinaries> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let rustc = Command::new("rustc").arg("-vV").output().map_err(|e| Error::io("rustc -vV", e))?;
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .ok_or_else(|| Error::Invalid("rustc -vV names no host target".into()))?;
    let target_dir = workspace.join("target/static");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
        .args(["build", "--locked", "-q", "-p", "palisade-init", "-p", "palisade-probe", "--target", &host])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env_remove("CARGO_TARGET_DIR");
    let out = crate::process::run(&mut cmd, None, std::time::Duration::from_secs(900))?;
    if !out.success() {
        return Err(Error::Invalid(format!("static build failed:\n{}", out.stderr)));
    }
    let dir = target_dir.join(&host).join("debug");
    Ok(StaticBinaries { init: dir.join("palisade-init"), probe: dir.join("palisade-probe") })
}
