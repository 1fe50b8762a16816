//! The daemon's [`SpecChanges`] applied to a runtime spec: a read-only root, the writable places
//! as bind mounts of themselves, and `noexec` on the writable mounts.
//!
//! Why the VFS and not only Landlock: Landlock has no right for metadata (chmod, chown, utimes,
//! xattrs), so an immutable image is made immutable by a read-only root, where every change to an
//! image file fails with `EROFS` before any LSM is asked; the paths that must stay writable become
//! bind mounts. `noexec` on those mounts backs up the policy's `no_execute` (W^X) and also stops
//! `mmap(PROT_EXEC)` of a file there, which Landlock cannot see (the `ld.so FILE` trick).
//!
//! Invariants:
//! - a writable bind's source is inside the container's own rootfs: the path is absolute, has no
//!   `..`, and no component of it inside the image is a symbolic link (an image could otherwise
//!   point a bind at the host's `/`); a symlink is refused, never followed;
//! - nothing is duplicated when the wrapper runs twice on one bundle;
//! - `noexec` never lands on `/.palisade/*` (palisade-init must stay executable).

use std::path::{Component, Path, PathBuf};

use palisade_hook::SpecChanges;
use serde_json::{json, Value};

/// The options of a writable bind (plus `noexec` when the daemon lists it).
const BIND_OPTIONS: [&str; 4] = ["rbind", "rw", "nosuid", "nodev"];

/// Applies `changes` to `spec`, whose bundle directory is `bundle`. Creates the writable binds'
/// directories in the rootfs when missing.
pub(crate) fn apply(spec: &mut Value, bundle: &Path, changes: &SpecChanges) -> Result<(), String> {
    let root_path = spec["root"]["path"].as_str().unwrap_or_default().to_owned();
    if changes.readonly_rootfs {
        let root = spec
            .get_mut("root")
            .and_then(Value::as_object_mut)
            .ok_or("config.json: `root` is not an object")?;
        root.insert("readonly".into(), json!(true));
    }
    let noexec: Vec<String> = changes.noexec.iter().map(|d| normalize(d)).collect::<Result<_, _>>()?;
    if let Some(d) = noexec.iter().find(|d| is_palisade(d)) {
        return Err(format!("noexec {d}: palisade-init's own mounts stay executable"));
    }
    let mut binds = Vec::new();
    if !changes.writable_binds.is_empty() {
        if root_path.is_empty() {
            return Err("config.json: `root.path` is missing; writable binds need the rootfs".into());
        }
        let rootfs = bundle.join(&root_path);
        for path in &changes.writable_binds {
            let destination = normalize(path)?;
            if is_palisade(&destination) || destination == "/" {
                return Err(format!("writable bind {path}: not a place that can be made writable"));
            }
            let source = directory_in_rootfs(&rootfs, &destination)?;
            let mut options: Vec<Value> = BIND_OPTIONS.iter().map(|o| json!(o)).collect();
            if noexec.contains(&destination) {
                options.push(json!("noexec"));
            }
            binds.push(json!({
                "destination": destination,
                "type": "bind",
                "source": source.to_string_lossy(),
                "options": options,
            }));
        }
    }
    let root = spec.as_object_mut().ok_or("config.json is not a JSON object")?;
    let mounts = root.entry("mounts").or_insert_with(|| json!([]));
    let mounts = mounts.as_array_mut().ok_or("config.json: `mounts` is not a list")?;
    for bind in binds {
        if !mounts.iter().any(|m| m["destination"] == bind["destination"] && m["source"] == bind["source"]) {
            mounts.push(bind);
        }
    }
    for destination in &noexec {
        let mut found = false;
        for m in mounts.iter_mut() {
            let Some(d) = m["destination"].as_str().map(str::to_owned) else { continue };
            if normalize(&d).ok().as_deref() != Some(destination.as_str()) {
                continue;
            }
            found = true;
            let options = m
                .as_object_mut()
                .ok_or("config.json: a mount is not an object")?
                .entry("options")
                .or_insert_with(|| json!([]));
            let options = options.as_array_mut().ok_or_else(|| format!("config.json: mount {d}: `options` is not a list"))?;
            if !options.iter().any(|o| o == "noexec") {
                options.push(json!("noexec"));
            }
        }
        if !found {
            return Err(format!("noexec {destination}: the spec has no mount there"));
        }
    }
    Ok(())
}

fn is_palisade(destination: &str) -> bool {
    destination == "/.palisade" || destination.starts_with("/.palisade/")
}

/// `path` as a canonical container path (`/a/b`); refuses relative paths and `..`.
fn normalize(path: &str) -> Result<String, String> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(format!("{path:?}: not an absolute container path"));
    }
    let mut out = String::new();
    for c in p.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => {
                out.push('/');
                out.push_str(&n.to_string_lossy());
            }
            Component::ParentDir | Component::Prefix(_) => {
                return Err(format!("{path:?}: `..` is not allowed in a container path"))
            }
        }
    }
    Ok(if out.is_empty() { "/".into() } else { out })
}

/// `<rootfs><destination>`, every component checked without following links and the missing
/// ones created as directories (mode 0755).
fn directory_in_rootfs(rootfs: &Path, destination: &str) -> Result<PathBuf, String> {
    let mut at = rootfs.to_path_buf();
    for name in destination.split('/').filter(|n| !n.is_empty()) {
        at.push(name);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let inside = at.strip_prefix(rootfs).map(|p| format!("/{}", p.display())).unwrap_or_default();
                return Err(format!(
                    "writable bind {destination}: {inside} is a symbolic link in the image; refusing to follow it"
                ));
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(format!("writable bind {destination}: {} is not a directory", at.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new()
                    .mode(0o755)
                    .create(&at)
                    .map_err(|e| format!("writable bind {destination}: mkdir {}: {e}", at.display()))?;
            }
            Err(e) => return Err(format!("writable bind {destination}: {}: {e}", at.display())),
        }
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(readonly: bool, binds: &[&str], noexec: &[&str]) -> SpecChanges {
        SpecChanges {
            readonly_rootfs: readonly,
            writable_binds: binds.iter().map(|s| s.to_string()).collect(),
            noexec: noexec.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn bundle() -> (PathBuf, Value) {
        let dir = std::env::temp_dir().join(format!("palisade-spec-{}-{:?}", std::process::id(), std::thread::current().id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rootfs/var/cache")).expect("mkdir");
        let spec = json!({"root": {"path": "rootfs"}, "process": {"args": ["sh"]},
            "mounts": [{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid"]},
                       {"destination": "/proc", "type": "proc"}]});
        (dir, spec)
    }

    #[test]
    fn binds_readonly_and_noexec_once() {
        let (dir, mut spec) = bundle();
        let c = changes(true, &["/var/cache/app", "/data/"], &["/dev/shm", "/var/cache/app"]);
        for _ in 0..2 {
            apply(&mut spec, &dir, &c).expect("apply");
        }
        assert_eq!(spec["root"], json!({"path": "rootfs", "readonly": true}));
        let rootfs = dir.join("rootfs");
        assert_eq!(
            spec["mounts"],
            json!([
                {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec"]},
                {"destination": "/proc", "type": "proc"},
                {"destination": "/var/cache/app", "type": "bind", "source": rootfs.join("var/cache/app").to_str(),
                 "options": ["rbind", "rw", "nosuid", "nodev", "noexec"]},
                {"destination": "/data", "type": "bind", "source": rootfs.join("data").to_str(),
                 "options": ["rbind", "rw", "nosuid", "nodev"]},
            ])
        );
        assert!(rootfs.join("var/cache/app").is_dir() && rootfs.join("data").is_dir());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn escapes_are_refused_precisely() {
        let (dir, mut spec) = bundle();
        std::os::unix::fs::symlink("/etc", dir.join("rootfs/var/cache/evil")).expect("symlink");
        let e = apply(&mut spec, &dir, &changes(false, &["/var/cache/evil/x"], &[])).expect_err("symlink");
        assert_eq!(e, "writable bind /var/cache/evil/x: /var/cache/evil is a symbolic link in the image; refusing to follow it");
        assert!(!Path::new("/etc/x").exists());
        let e = apply(&mut spec, &dir, &changes(false, &["/var/../etc"], &[])).expect_err("dotdot");
        assert_eq!(e, "\"/var/../etc\": `..` is not allowed in a container path");
        let e = apply(&mut spec, &dir, &changes(false, &["tmp"], &[])).expect_err("relative");
        assert_eq!(e, "\"tmp\": not an absolute container path");
        let e = apply(&mut spec, &dir, &changes(false, &[], &["/.palisade/init"])).expect_err("palisade");
        assert_eq!(e, "noexec /.palisade/init: palisade-init's own mounts stay executable");
        let e = apply(&mut spec, &dir, &changes(false, &[], &["/run"])).expect_err("no mount");
        assert_eq!(e, "noexec /run: the spec has no mount there");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
