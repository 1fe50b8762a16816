//! `palisade-hook`: the OCI hook that registers a container with the Palisade daemon.
//!
//! Installed by `palisade-runc` (or a hooks.d file) as `createRuntime` and `poststop` hooks. It
//! reads the OCI state from stdin, sends it (with the bundle's `config.json` facts) to the daemon
//! and, at `createRuntime`, waits until the daemon has armed the container's cgroup. It exits 0
//! unless the daemon refuses the container, or the daemon is unreachable and the failure policy is
//! `closed`. It logs to its log file and to stderr only on failure: runc shows a failing hook's
//! stderr (containerd then reports it), so that one line names Palisade and the reason:
//! `palisade: container c1 refused: the daemon is unreachable (connect /run/palisade/hook.sock:
//! ...); failure_policy closed`. stdout is never written.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use palisade_hook::{BundleFacts, FailurePolicy, HookConfig, OciState, Phase, Reply, Request, PROTOCOL_VERSION};

const USAGE: &str = "\
usage: palisade-hook [--config FILE] <create-runtime|poststop>

OCI hook for Palisade. Reads the OCI container state on stdin and registers the container
with the Palisade daemon; at create-runtime it waits until the daemon has armed the container.

  --config FILE   hook settings (JSON: socket, timeout_ms, failure_policy open|closed, log_file);
                  default /etc/palisade/hook.json, defaults when that file is absent
A daemon that is not listening (restarting) is tried again until timeout_ms has passed.
Exit status: 0, or 1 when the daemon refuses the container, or when it cannot be reached
and failure_policy is closed.";

fn main() -> ExitCode {
    let mut config_path: Option<PathBuf> = None;
    let mut phase = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config_path = args.next().map(PathBuf::from),
            "create-runtime" | "createRuntime" => phase = Some(Phase::CreateRuntime),
            "poststop" => phase = Some(Phase::Poststop),
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unexpected argument {other:?}")),
        }
    }
    let Some(phase) = phase else { return usage_error("missing the hook stage") };
    let explicit = config_path.is_some();
    let config_path = config_path.unwrap_or_else(|| PathBuf::from(palisade_hook::DEFAULT_CONFIG_PATH));
    let config = match HookConfig::load(&config_path, explicit) {
        Ok(c) => c,
        Err(e) => {
            // Without a readable config there is no failure policy to follow: fail, loudly.
            eprintln!("palisade: container refused: the hook configuration is unusable ({e})");
            return ExitCode::FAILURE;
        }
    };
    let outcome = run(phase, &config);
    let log = |line: &str| log_line(&config.log_file, line);
    match outcome {
        Ok(done) => {
            log(&done);
            ExitCode::SUCCESS
        }
        Err(Failure::Refused(msg)) => {
            let msg = format!("palisade: {msg}");
            log(&msg);
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
        Err(Failure::Unreachable { id, reason }) => match config.failure_policy {
            FailurePolicy::Open => {
                log(&format!("palisade: container {id} continues unmonitored: {reason}; failure_policy open"));
                ExitCode::SUCCESS
            }
            FailurePolicy::Closed => {
                let msg = format!("palisade: container {id} refused: {reason}; failure_policy closed");
                log(&msg);
                eprintln!("{msg}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Why the hook did not end with "armed".
enum Failure {
    /// The daemon answered and refuses the container: "container ID refused: REASON".
    Refused(String),
    /// The daemon could not be asked, or did not answer sensibly: the failure policy decides.
    Unreachable { id: String, reason: String },
}

fn run(phase: Phase, config: &HookConfig) -> Result<String, Failure> {
    let unknown = |reason: String| Failure::Unreachable { id: "(unknown id)".into(), reason };
    let mut stdin = Vec::new();
    std::io::stdin()
        .read_to_end(&mut stdin)
        .map_err(|e| unknown(format!("cannot read the OCI state on stdin ({e})")))?;
    let state: OciState = serde_json::from_slice(&stdin)
        .map_err(|e| unknown(format!("the OCI state on stdin is malformed ({e})")))?;
    let id = state.id.clone();
    let refused = |reason: String| Failure::Unreachable { id: id.clone(), reason };
    let bundle = match phase {
        Phase::CreateRuntime => Some(BundleFacts::read(&state.bundle).map(Box::new).map_err(|e| {
            refused(format!("its bundle cannot be read ({}/config.json: {e})", state.bundle.display()))
        })?),
        Phase::Poststop => None,
    };
    let req = Request::Hook { version: PROTOCOL_VERSION, phase, state, bundle };
    let timeout = Duration::from_millis(config.timeout_ms);
    match palisade_hook::request(&config.socket, &req, timeout) {
        Ok(Reply::Armed { container_id, mode }) => Ok(format!("{container_id}: armed, mode {mode}")),
        Ok(Reply::Ok) => Ok(format!("{id}: {phase:?} acknowledged")),
        Ok(Reply::Refused { reason }) => {
            Err(Failure::Refused(format!("container {id} refused: the daemon refuses it ({reason})")))
        }
        Ok(Reply::Error { message }) => Err(refused(format!("the daemon cannot arm it ({message})"))),
        Ok(other) => Err(refused(format!("the daemon is unreachable (unexpected reply {other:?})"))),
        Err(e) => Err(refused(format!("the daemon is unreachable ({e})"))),
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("palisade-hook: {msg}\n{USAGE}");
    ExitCode::from(2)
}

/// Appends one line to the log file; a log that cannot be written is not a reason to fail a
/// container, so errors go to stderr only.
fn log_line(path: &Path, line: &str) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let entry = format!("{}.{:03} pid={} {line}\n", now.as_secs(), now.subsec_millis(), std::process::id());
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(entry.as_bytes()));
    if let Err(e) = written {
        eprintln!("palisade-hook: log {}: {e}", path.display());
    }
}
