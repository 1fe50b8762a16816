//! The Landlock backend, daemon side: the `palisade-init` policy of a container whose profile is
//! enforced while BPF-LSM is unavailable. `palisade-runc` asks for it before `runc create`,
//! writes it beside the bundle and starts the entrypoint and every `runc exec` process under
//! `palisade-init`, which applies it and executes the original program.
//!
//! From a profile to a policy (paths as the container sees them; `palisade-init` resolves them
//! in the container's mount namespace):
//! - `write_beneath`: with `immutable`, the destinations of the spec's mounts (volumes, `/proc`,
//!   `/dev`, `/sys`, …), `allow_write` and the runtime's pseudo-files; without it, `/`.
//! - `execute`: `/`, or with `exec.allow` the files it matches plus the ELF interpreters (the
//!   kernel opens `ld.so` for execution too).
//! - `deny_execute`: the shells, package managers and `exec.deny` matches found in the image's
//!   program directories, plus every literal `exec.deny` path.
//!
//! What Landlock cannot express (BPF-LSM can): it grants by file, never by the name a file is
//! executed as, so denying `sh` on a busybox image denies every applet linked to the same file;
//! it cannot tie a shell to the scripts it may interpret, so `exec.allow_scripts` leaves the
//! shells executable; an executable `ld.so` runs any readable ELF (`ld.so FILE`); and a policy
//! is fixed when the process starts (profile changes apply to new containers and new `exec`s).

use std::path::Path;

use palisade_hook::MountFact;
use palisade_profiles::{catalog, Profile, RUNTIME_WRITABLE};
use serde_json::{json, Value};

/// Where images keep programs, searched for the files the profile denies by name.
pub const PROGRAM_DIRS: &[&str] = &["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"];
/// Where images keep their ELF interpreters.
const LOADER_DIRS: &[&str] = &["/lib", "/lib64", "/usr/lib", "/usr/lib64"];
/// Entries read per directory at most: a policy is built before every enforced container starts.
const MAX_DIR_ENTRIES: usize = 20_000;

/// The `palisade-init` policy (format version 1) for a container running `profile`, whose
/// root filesystem is at `rootfs` on the host and whose spec declares `mounts`.
pub fn policy(profile: &Profile, rootfs: &Path, mounts: &[MountFact]) -> Value {
    let write_beneath: Vec<String> = if profile.immutable.enabled {
        let mut w: Vec<String> = mounts.iter().map(|m| m.destination.clone()).filter(|d| d.starts_with('/')).collect();
        w.extend(profile.immutable.allow_write.iter().map(|p| p.to_string_lossy().into_owned()));
        w.extend(RUNTIME_WRITABLE.iter().map(|s| (*s).to_owned()));
        w.sort();
        w.dedup();
        w
    } else {
        vec!["/".to_owned()]
    };
    let shells_denied = profile.deny_shells && profile.exec.allow_scripts.is_empty();
    let denied_by_name = |path: &str| {
        (shells_denied && catalog::is_shell(path))
            || (profile.deny_package_managers && catalog::is_package_manager(path))
            || profile.exec.deny.iter().any(|g| g.matches(path))
    };
    let mut deny_execute = programs(rootfs, PROGRAM_DIRS, denied_by_name);
    deny_execute.extend(profile.exec.deny.iter().filter(|g| g.is_literal()).map(|g| g.as_str().to_owned()));
    deny_execute.sort();
    deny_execute.dedup();
    let execute: Vec<String> = if profile.exec.allow.is_empty() {
        vec!["/".to_owned()]
    } else {
        let allowed = |path: &str| profile.exec.allow.iter().chain(&profile.exec.allow_scripts).any(|g| g.matches(path));
        let mut e = programs(rootfs, PROGRAM_DIRS, allowed);
        e.extend(profile.exec.allow.iter().chain(&profile.exec.allow_scripts).filter(|g| g.is_literal()).map(|g| g.as_str().to_owned()));
        e.extend(programs(rootfs, LOADER_DIRS, |p| catalog::program_name(p).starts_with("ld-")));
        e.sort();
        e.dedup();
        e
    };
    json!({
        "version": 1,
        "mode": "enforce",
        "write_beneath": write_beneath,
        "execute": execute,
        "deny_execute": deny_execute,
    })
}

/// Container paths of the entries of `dirs` (in the image at `rootfs`) that `wanted` picks.
/// Symbolic links are listed by their own path and never followed here (their targets are
/// resolved by `palisade-init` inside the container, not against the host).
fn programs(rootfs: &Path, dirs: &[&str], wanted: impl Fn(&str) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for dir in dirs {
        let host_dir = rootfs.join(dir.trim_start_matches('/'));
        // A program directory that is a symlink (`/bin -> usr/bin`) is covered by its target.
        if std::fs::symlink_metadata(&host_dir).map_or(true, |m| !m.is_dir()) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&host_dir) else { continue };
        for entry in entries.take(MAX_DIR_ENTRIES).flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            let path = format!("{dir}/{name}");
            if wanted(&path) {
                found.push(path);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_profiles::ProfileSet;

    fn profile(yaml: &str) -> Profile {
        let set = ProfileSet::from_texts(&[("p.yaml", yaml)]).expect("profile");
        set.get("p").expect("named p").clone()
    }

    fn image() -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("tmp");
        for d in ["bin", "usr/bin", "lib64"] {
            std::fs::create_dir_all(root.path().join(d)).expect("mkdir");
        }
        for f in ["bin/bash", "bin/busybox", "usr/bin/apt-get", "usr/bin/curl", "usr/bin/app", "lib64/ld-linux-x86-64.so.2"] {
            std::fs::write(root.path().join(f), b"").expect("file");
        }
        std::os::unix::fs::symlink("busybox", root.path().join("bin/sh")).expect("symlink");
        root
    }

    fn mount(destination: &str) -> MountFact {
        MountFact { destination: destination.into(), source: String::new(), kind: "bind".into(), options: vec![] }
    }

    #[test]
    fn an_immutable_profile_writes_only_beneath_mounts_allow_write_and_runtime_paths() {
        let root = image();
        let p = profile(
            "name: p\nmatch: {images: ['x:*']}\ndeny_shells: true\ndeny_package_managers: true\n\
             immutable: {enabled: true, allow_write: [/var/cache/app]}\nexec: {deny: ['/usr/bin/curl', '/opt/**']}\n",
        );
        let v = policy(&p, root.path(), &[mount("/proc"), mount("/data"), mount("relative")]);
        let w: Vec<&str> = v["write_beneath"].as_array().expect("list").iter().filter_map(Value::as_str).collect();
        assert!(w.contains(&"/proc") && w.contains(&"/data") && w.contains(&"/var/cache/app") && w.contains(&"/dev/null"), "{w:?}");
        assert!(!w.contains(&"/") && !w.contains(&"relative"), "{w:?}");
        assert_eq!(v["execute"], json!(["/"]));
        assert_eq!(v["deny_execute"], json!(["/bin/bash", "/bin/busybox", "/bin/sh", "/usr/bin/apt-get", "/usr/bin/curl"]));
        assert_eq!((v["version"].as_u64(), v["mode"].as_str()), (Some(1), Some("enforce")));
    }

    #[test]
    fn allow_scripts_keeps_shells_executable_and_exec_allow_adds_the_loader() {
        let root = image();
        let p = profile(
            "name: p\nmatch: {images: ['x:*']}\ndeny_shells: true\n\
             exec: {allow: ['/usr/bin/app'], allow_scripts: ['/entry.sh']}\n",
        );
        let v = policy(&p, root.path(), &[]);
        assert_eq!(v["write_beneath"], json!(["/"]));
        assert_eq!(v["deny_execute"], json!([]));
        assert_eq!(v["execute"], json!(["/entry.sh", "/lib64/ld-linux-x86-64.so.2", "/usr/bin/app"]));
    }
}
