//! The Landlock backend's part in the wrapper: before `runc create`, ask the daemon whether the
//! container is enforced by Landlock; if so, write its policy beside the bundle, bind-mount
//! `palisade-init` and the policy read-only into the container, apply the daemon's spec changes
//! (read-only root, writable binds, `noexec`; see [`crate::spec`]) and start the entrypoint under
//! `palisade-init`. On `runc exec` into such a container, start the new process under it too
//! (a Landlock domain is inherited, and an exec'd process descends from runc, not from the
//! container's init).
//!
//! Inside the container: `/.palisade/init -- ARGS...`; palisade-init reads only the read-only
//! `/.palisade/policy.json`.
//!
//! Invariant (No forgery): every process of a confined container is prefixed, **whatever its
//! argv** — also one that already starts with `/.palisade/init`. A caller cannot choose its policy
//! that way: the outer palisade-init confines first, and the inner one can only add a layer
//! (Landlock layers only restrict; past 16 the kernel refuses and palisade-init exits 126).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use palisade_hook::{BundleFacts, HookConfig, OciState, Reply, Request, RuntimeSpec, PROTOCOL_VERSION};
use serde_json::{json, Value};

use crate::bundle::write_atomically;

/// Where `palisade-init` appears in the container.
pub(crate) const INIT_IN_CONTAINER: &str = "/.palisade/init";
/// Where the policy appears in the container (the only file palisade-init confines with).
pub(crate) const POLICY_IN_CONTAINER: &str = "/.palisade/policy.json";
/// The policy file, in the bundle directory (removed with the bundle).
pub(crate) const POLICY_IN_BUNDLE: &str = "palisade-policy.json";
/// What a confined process's arguments start with.
const PREFIX: [&str; 2] = [INIT_IN_CONTAINER, "--"];

/// Why a container could not be confined. [`Failure::Refused`] always stops it; the others stop
/// it under `failure_policy: closed`.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The daemon could not be asked (connect, timeout, bad reply).
    Unreachable(String),
    /// The daemon answered with an error: it cannot arm the container.
    CannotArm(String),
    /// The bundle could not be read or changed.
    Bundle(String),
    /// The `palisade-init` binary to mount is not there.
    InitMissing(String),
    /// The hook configuration (socket, failure policy) cannot be read.
    Config(String),
    /// The daemon refuses the container.
    Refused(String),
}

impl Failure {
    /// The reason, as it follows "container X refused: " in the message.
    pub(crate) fn reason(&self) -> String {
        match self {
            Failure::Unreachable(e) => format!("the daemon is unreachable ({e})"),
            Failure::CannotArm(e) => format!("the daemon cannot arm it ({e})"),
            Failure::Bundle(e) => format!("its bundle cannot be changed ({e})"),
            Failure::InitMissing(e) => format!("palisade-init is missing ({e})"),
            Failure::Config(e) => format!("the hook configuration is unusable ({e})"),
            Failure::Refused(e) => format!("the daemon refuses it ({e})"),
        }
    }
}

/// Asks the daemon about container `id` and, when Landlock enforces it, rewrites the bundle.
/// Returns whether the container was confined.
pub(crate) fn prepare(bundle: &Path, id: &str, hook: &HookConfig, init: &Path) -> Result<bool, Failure> {
    let config_json = bundle.join("config.json");
    // Read through the shared reader; rewritten as a `Value` so untouched fields stay as they are.
    let mut spec = read_json(&config_json).map_err(Failure::Bundle)?;
    let facts = RuntimeSpec::from_value(&spec).map_err(|e| Failure::Bundle(format!("{}: {e}", config_json.display())))?;
    let request = Request::Prepare {
        version: PROTOCOL_VERSION,
        state: OciState {
            oci_version: facts.oci_version.clone(),
            id: id.to_owned(),
            status: "creating".into(),
            pid: None,
            bundle: bundle.to_owned(),
            annotations: facts.annotations.clone(),
        },
        bundle: Box::new(BundleFacts::from_spec(bundle, facts)),
    };
    let reply = palisade_hook::request(&hook.socket, &request, Duration::from_millis(hook.timeout_ms))
        .map_err(|e| Failure::Unreachable(e.to_string()))?;
    let (policy, changes) = match reply {
        Reply::Prepared { landlock_policy: Some(policy), spec, .. } => (policy, spec.unwrap_or_default()),
        Reply::Prepared { landlock_policy: None, .. } => return Ok(false),
        Reply::Refused { reason } => return Err(Failure::Refused(reason)),
        Reply::Error { message } => return Err(Failure::CannotArm(message)),
        other => return Err(Failure::Unreachable(format!("unexpected reply: {other:?}"))),
    };
    if !init.is_file() {
        return Err(Failure::InitMissing(format!("{} does not exist; set PALISADE_INIT", init.display())));
    }
    let policy_file = bundle.join(POLICY_IN_BUNDLE);
    crate::spec::apply(&mut spec, bundle, &changes).map_err(Failure::Bundle)?;
    confine_spec(&mut spec, init, &policy_file).map_err(Failure::Bundle)?;
    write_policy(&policy_file, &policy).map_err(Failure::Bundle)?;
    write_atomically(&config_json, &spec).map_err(Failure::Bundle)?;
    Ok(true)
}

/// Writes the policy palisade-init will accept: root-owned (the wrapper runs as root), mode 0644,
/// so not writable by group or others; the read-only bind mount does the rest.
fn write_policy(path: &Path, policy: &Value) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    write_atomically(path, policy)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

/// Adds the read-only mounts (once) and the `palisade-init` prefix (always) to a runtime spec.
fn confine_spec(spec: &mut Value, init: &Path, policy: &Path) -> Result<(), String> {
    let root = spec.as_object_mut().ok_or("config.json is not a JSON object")?;
    let mounts = root.entry("mounts").or_insert_with(|| json!([]));
    let mounts = mounts.as_array_mut().ok_or("config.json: `mounts` is not a list")?;
    for (destination, source) in [(INIT_IN_CONTAINER, init), (POLICY_IN_CONTAINER, policy)] {
        if !mounts.iter().any(|m| m["destination"] == destination) {
            mounts.push(json!({
                "destination": destination,
                "type": "bind",
                "source": source.to_string_lossy(),
                "options": ["rbind", "ro", "nosuid", "nodev"],
            }));
        }
    }
    let args = spec
        .pointer_mut("/process/args")
        .and_then(Value::as_array_mut)
        .ok_or("config.json: `process.args` is not a list")?;
    prefix(args);
    Ok(())
}

/// Puts `/.palisade/init --` before `args`, whatever they are (see the module's invariant).
fn prefix(args: &mut Vec<Value>) {
    args.splice(0..0, PREFIX.map(Value::from));
}

/// For `runc exec` into a Landlock-confined container: the process starts under
/// `palisade-init` too. Returns the (possibly changed) argv; a process file is rewritten in
/// place. A container runc cannot describe, or one that is not confined, is left alone.
pub(crate) fn exec(argv: Vec<OsString>, exec: &crate::args::Exec, runc: &Path) -> Result<Vec<OsString>, String> {
    let Some(bundle) = bundle_of(runc, &exec.global, &exec.id) else { return Ok(argv) };
    if !bundle.join(POLICY_IN_BUNDLE).is_file() {
        return Ok(argv);
    }
    match &exec.process_file {
        Some(file) => {
            let mut process = read_json(file)?;
            let args = process
                .get_mut("args")
                .and_then(Value::as_array_mut)
                .ok_or_else(|| format!("{}: `args` is not a list", file.display()))?;
            prefix(args);
            write_atomically(file, &process)?;
            Ok(argv)
        }
        None if exec.command_at < argv.len() => {
            let mut argv = argv;
            argv.splice(exec.command_at..exec.command_at, PREFIX.map(OsString::from));
            Ok(argv)
        }
        None => Ok(argv),
    }
}

/// The bundle of container `id`, from `runc state` with the same global flags (`--root`).
fn bundle_of(runc: &Path, global: &[OsString], id: &str) -> Option<PathBuf> {
    let out = Command::new(runc).args(global).arg("state").arg(id).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let state: Value = serde_json::from_slice(&out.stdout).ok()?;
    state["bundle"].as_str().map(PathBuf::from)
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_gets_the_mounts_once_and_the_prefix_always() {
        let mut spec = json!({"process": {"args": ["/.palisade/init", "--", "nginx"]},
                              "mounts": [{"destination": "/proc", "type": "proc"}]});
        for _ in 0..2 {
            confine_spec(&mut spec, Path::new("/usr/local/bin/palisade-init"), Path::new("/run/b/palisade-policy.json"))
                .expect("confine");
        }
        assert_eq!(
            spec["process"]["args"],
            json!(["/.palisade/init", "--", "/.palisade/init", "--", "/.palisade/init", "--", "nginx"])
        );
        let mounts = spec["mounts"].as_array().expect("list");
        assert_eq!(mounts.len(), 3);
        assert_eq!(mounts[1]["source"], "/usr/local/bin/palisade-init");
        assert_eq!(mounts[2]["destination"], "/.palisade/policy.json");
        assert_eq!(mounts[2]["options"], json!(["rbind", "ro", "nosuid", "nodev"]));
    }

    #[test]
    fn a_spec_without_process_args_is_an_error() {
        let e = confine_spec(&mut json!({}), Path::new("/i"), Path::new("/p")).expect_err("no args");
        assert_eq!(e, "config.json: `process.args` is not a list");
    }
}
