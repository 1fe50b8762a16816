//! Adding Palisade's hook to a bundle's `config.json`: `createRuntime` only. The daemon learns
//! that a container stopped from its init process's exit (it watches the container's cgroup),
//! so a `poststop` hook would only add a process start to every container's teardown.
//!
//! The file is rewritten through a temporary file in the same directory and `rename(2)`, so runc
//! reads either the old or the new spec, never half of one. A hook already pointing at the same
//! binary for the same stage is left alone: a wrapper called twice (or a hooks.d file plus the
//! wrapper) registers the container once.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

/// Seconds runc gives the hook before killing it; the hook's own deadline is shorter.
const HOOK_TIMEOUT_SECONDS: u64 = 10;

pub(crate) fn inject(config_json: &Path, hook: &Path, hook_config: Option<&Path>) -> Result<(), String> {
    let text = std::fs::read(config_json).map_err(|e| format!("read {}: {e}", config_json.display()))?;
    let mut spec: Value =
        serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", config_json.display()))?;
    if !add_hooks(&mut spec, hook, hook_config)? {
        return Ok(());
    }
    write_atomically(config_json, &spec)
}

/// Replaces `path` with `value` through a temporary file in the same directory and
/// `rename(2)`: readers see the old or the new content, never half of one.
pub(crate) fn write_atomically(path: &Path, value: &Value) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.palisade-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        serde_json::to_writer(&mut f, value)?;
        f.flush()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("rewrite {}: {e}", path.display())
    })
}

/// Adds the hook to `spec`; `false` when it was already there.
fn add_hooks(spec: &mut Value, hook: &Path, hook_config: Option<&Path>) -> Result<bool, String> {
    let root = spec.as_object_mut().ok_or("config.json is not a JSON object")?;
    let hooks = root.entry("hooks").or_insert_with(|| json!({}));
    let hooks = hooks.as_object_mut().ok_or("config.json: `hooks` is not an object")?;
    let path = hook.to_string_lossy();
    let mut changed = false;
    for (stage, arg) in [("createRuntime", "create-runtime")] {
        let list = hooks.entry(stage).or_insert_with(|| json!([]));
        let list = list.as_array_mut().ok_or_else(|| format!("config.json: `hooks.{stage}` is not a list"))?;
        if list.iter().any(|h| h["path"].as_str() == Some(&path)) {
            continue;
        }
        let mut args = vec![json!("palisade-hook")];
        if let Some(c) = hook_config {
            args.extend([json!("--config"), json!(c.to_string_lossy())]);
        }
        args.push(json!(arg));
        list.push(json!({"path": path, "args": args, "timeout": HOOK_TIMEOUT_SECONDS}));
        changed = true;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_both_stages_once_and_keeps_existing_hooks() {
        let mut spec = json!({"ociVersion": "1.0.2",
            "hooks": {"createRuntime": [{"path": "/usr/bin/other"}]}});
        let hook = Path::new("/usr/local/bin/palisade-hook");
        assert!(add_hooks(&mut spec, hook, Some(Path::new("/etc/p.json"))).expect("add"));
        assert!(!add_hooks(&mut spec, hook, None).expect("again"));
        let create = spec["hooks"]["createRuntime"].as_array().expect("list");
        assert_eq!(create.len(), 2);
        assert_eq!(create[0]["path"], "/usr/bin/other");
        assert_eq!(create[1]["args"], json!(["palisade-hook", "--config", "/etc/p.json", "create-runtime"]));
        assert_eq!(spec["hooks"]["poststop"], json!(null), "stops are seen in the kernel, not by a hook");
        assert_eq!(spec["ociVersion"], "1.0.2");
    }

    #[test]
    fn a_spec_that_is_not_an_object_is_an_error() {
        let e = add_hooks(&mut json!([1]), Path::new("/h"), None).expect_err("not an object");
        assert_eq!(e, "config.json is not a JSON object");
        let e = add_hooks(&mut json!({"hooks": {"createRuntime": 3}}), Path::new("/h"), None).expect_err("bad list");
        assert_eq!(e, "config.json: `hooks.createRuntime` is not a list");
    }
}
