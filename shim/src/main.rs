//! `palisade-runc`: a runc-compatible wrapper that installs Palisade's OCI hooks.
//!
//! containerd (through `BinaryName`, `ctr run --runc-binary`, or a `runc` first in its `PATH`)
//! calls this exactly as it calls runc. On `create` and `run` the wrapper adds `palisade-hook` as a
//! `createRuntime` hook to the bundle's `config.json` (replaced atomically, never duplicated),
//! then asks the daemon whether the Landlock backend confines the container and, if so, applies
//! the daemon's spec changes (read-only root, writable binds, `noexec`; see [`spec`]) and starts
//! its processes under `palisade-init` (see [`confine`]); every `exec` into such a container gets
//! the same prefix, whatever its argv (also `/.palisade/init ...`). Then it execs the real runc
//! with the same arguments (an `exec` without a process file gets the prefix in its command);
//! every other command is passed through untouched. It never writes to stdout: containerd parses
//! runc's output.
//!
//! A refused container fails with one line naming Palisade and the reason, on stderr and in
//! runc's `--log` file, where containerd reads the runtime's error (see [`report`]):
//! `palisade: container c1 refused: the daemon is unreachable (connect /run/palisade/hook.sock:
//! ...); failure_policy closed`. With `failure_policy: open` a container the daemon cannot be
//! asked about (or whose bundle cannot be changed) starts unconfined, with a warning on stderr;
//! a container the daemon refuses never starts.
//!
//! Environment:
//! - `PALISADE_RUNC`: the real runc (default: the first `runc` in `PATH` that is not this
//!   program, then `/usr/sbin/runc`, `/usr/bin/runc`);
//! - `PALISADE_HOOK`: the hook binary (default: `palisade-hook` beside this program);
//! - `PALISADE_HOOK_CONFIG`: passed to the hook as `--config` and read here for the daemon's
//!   socket and the failure policy (default `/etc/palisade/hook.json`, see `palisade-hook --help`);
//! - `PALISADE_INIT`: the static `palisade-init` (default: beside this program).

mod args;
mod bundle;
mod confine;
mod report;
mod spec;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use confine::Failure;
use palisade_hook::{FailurePolicy, HookConfig};
use report::RuncLog;

fn main() -> ExitCode {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let log = RuncLog::from_argv(&argv);
    let me = std::env::current_exe().ok().and_then(|p| p.canonicalize().ok());
    let Some(runc) = real_runc(me.as_deref()) else {
        log.error("palisade: no real runc found (set PALISADE_RUNC, or put runc in PATH)");
        return ExitCode::from(1);
    };
    if let Some(create) = args::create(&argv) {
        if let Err(e) = install_hooks(&create.bundle, me.as_deref()) {
            if let Some(code) = failed(&log, &create.id, &Failure::Bundle(e)) {
                return code;
            }
        }
        let init = beside_me("PALISADE_INIT", "palisade-init", me.as_deref());
        let confined = hook_config()
            .map_err(Failure::Config)
            .and_then(|hook| confine::prepare(&create.bundle, &create.id, &hook, &init));
        if let Err(failure) = confined {
            if let Some(code) = failed(&log, &create.id, &failure) {
                return code;
            }
        }
    } else if let Some(exec) = args::exec(&argv) {
        // A process that would escape its container's confinement is not started.
        match confine::exec(argv, &exec, &runc) {
            Ok(a) => argv = a,
            Err(e) => {
                log.error(&format!("palisade: exec into container {} refused: {e}", exec.id));
                return ExitCode::from(1);
            }
        }
    }
    let e = Command::new(&runc).args(&argv).exec();
    log.error(&format!("palisade: exec {}: {e}", runc.display()));
    ExitCode::from(1)
}

fn install_hooks(bundle: &Path, me: Option<&Path>) -> Result<(), String> {
    let hook = beside_me("PALISADE_HOOK", "palisade-hook", me);
    let config = std::env::var_os("PALISADE_HOOK_CONFIG").map(PathBuf::from);
    bundle::inject(&bundle.join("config.json"), &hook, config.as_deref())
}

/// `$VAR`, else `name` in this program's directory.
fn beside_me(var: &str, name: &str, me: Option<&Path>) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| me.and_then(Path::parent).map(|d| d.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The hook configuration (`PALISADE_HOOK_CONFIG`, else the default file if present).
fn hook_config() -> Result<HookConfig, String> {
    let explicit = std::env::var_os("PALISADE_HOOK_CONFIG");
    let path = explicit.clone().map(PathBuf::from).unwrap_or_else(|| palisade_hook::DEFAULT_CONFIG_PATH.into());
    HookConfig::load(&path, explicit.is_some()).map_err(|e| e.to_string())
}

/// Whether container `id` still starts after `failure`: `None` when it does (fail-open, with a
/// warning on stderr), else the exit status, after the refusal was reported where containerd
/// reads it. A refusal by the daemon, or an unreadable hook configuration, always refuses.
fn failed(log: &RuncLog, id: &str, failure: &Failure) -> Option<ExitCode> {
    let reason = failure.reason();
    if matches!(failure, Failure::Refused(_) | Failure::Config(_)) {
        log.error(&format!("palisade: container {id} refused: {reason}"));
        return Some(ExitCode::from(1));
    }
    match hook_config().map(|c| c.failure_policy) {
        Ok(FailurePolicy::Open) => {
            eprintln!("palisade: container {id} starts unconfined: {reason}; failure_policy open");
            None
        }
        Ok(FailurePolicy::Closed) => {
            log.error(&format!("palisade: container {id} refused: {reason}; failure_policy closed"));
            Some(ExitCode::from(1))
        }
        Err(e) => {
            log.error(&format!("palisade: container {id} refused: {reason}; and the hook configuration is unusable ({e})"));
            Some(ExitCode::from(1))
        }
    }
}

fn real_runc(me: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PALISADE_RUNC") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let in_path = std::env::split_paths(&path).map(|d| d.join("runc"));
    let fallbacks = ["/usr/sbin/runc", "/usr/bin/runc"].map(PathBuf::from);
    in_path.chain(fallbacks).find(|candidate| {
        let Ok(real) = candidate.canonicalize() else { return false };
        Some(real.as_path()) != me && is_executable(&real)
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
