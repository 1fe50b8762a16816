//! The Landlock backend, daemon side: the `palisade-init` policy (format version 2) of a
//! container whose profile is enforced while BPF-LSM is unavailable, and the changes
//! `palisade-runc` makes to its spec. `palisade-runc` asks for both before `runc create`,
//! writes the policy beside the bundle (bind-mounted read-only) and starts the entrypoint and
//! every `runc exec` process under `palisade-init`, which applies it and executes the original
//! program. Only confining policies are written: audited containers are not wrapped.
//!
//! From a profile to a policy (paths as the container sees them; `palisade-init` resolves them
//! in the container's mount namespace):
//! - `write_beneath`: with `immutable`, the destinations of the spec's mounts (volumes, `/proc`,
//!   `/dev`, `/sys`, …), `allow_write` and the runtime's pseudo-files; without it, `/`.
//! - `execute`: `/`, or with `exec.allow` the files it matches plus the ELF interpreters (the
//!   kernel opens `ld.so` for execution too). With `/`, also each W^X exception that lies
//!   beneath a `no_execute` subtree (granted inside it).
//! - `deny_execute`: every file of the image the profile denies, found by [`image_scan`]
//!   anywhere in the image, under all its names, hard links and same-bytes copies; plus every
//!   literal `exec.deny` path.
//! - `no_execute` (W^X, with `immutable`): every writable place — the spec's writable mounts,
//!   `allow_write`, `/dev/shm` — except beneath `immutable.allow_writable_exec`. Mounts of kind
//!   [`PSEUDO_KINDS`] are left out: they hold no regular file a process can write and then run
//!   (and `/proc/self/exe`, which re-executing programs use, lives there).
//!
//! The spec ([`SpecChanges`], with `immutable`): a read-only root, `allow_write` as writable
//! binds of the rootfs's own directories, and `noexec` on every writable place but the
//! exceptions. Why a read-only root rather than Landlock alone: Landlock has no right for
//! metadata, so chmod, chown, utimes, setxattr of image files would succeed; with `root.readonly`
//! the VFS refuses every change to an image file (`EROFS`: write, create, truncate, unlink,
//! rename, link, chmod, chown, xattrs, times, mknod) before any LSM is asked, the detection side
//! reports each `EROFS` as a decision, and Landlock stays the second wall and the exec judge.
//!
//! What Landlock cannot express (BPF-LSM can): it grants by file, never by the name a file is
//! executed as, so denying `sh` on a busybox image denies every applet linked to the same file;
//! it cannot tie a shell to the scripts it may interpret, so `exec.allow_scripts` leaves the
//! shells executable; it does not see `mmap(PROT_EXEC)`, so an executable `ld.so` runs any
//! readable ELF (`ld.so /bin/bash`), a denied one included; and a policy is fixed when the
//! process starts (profile changes apply to new containers and new `exec`s).

use std::path::{Path, PathBuf};

use palisade_hook::{MountFact, SpecChanges};
use palisade_profiles::{catalog, Profile, RUNTIME_WRITABLE};
use serde_json::{json, Value};

use super::image_scan::{self, DenyKind, ImageScan, ScanError};

/// Where images keep programs, searched for the files `exec.allow` admits.
const PROGRAM_DIRS: &[&str] = &["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"];
/// Where images keep their ELF interpreters.
const LOADER_DIRS: &[&str] = &["/lib", "/lib64", "/usr/lib", "/usr/lib64"];
/// Entries read per directory at most: a policy is built before every enforced container starts.
const MAX_DIR_ENTRIES: usize = 20_000;
/// Mount kinds that are no writable place for W^X: pseudo filesystems whose files are not
/// regular files a process can create and then execute.
pub const PSEUDO_KINDS: &[&str] = &["proc", "sysfs", "cgroup", "cgroup2", "mqueue", "devpts"];
/// The runtime's writable directories (of [`RUNTIME_WRITABLE`]) where regular files can be
/// created: writable places for W^X even when the spec does not mount them.
const RUNTIME_WRITABLE_DIRS: &[&str] = &["/dev/shm"];

/// What the wrapper needs to confine a container under Landlock.
#[derive(Debug, Clone, PartialEq)]
pub struct Confinement {
    /// The `palisade-init` policy (version 2).
    pub policy: Value,
    /// The spec changes; `None` without `immutable`.
    pub spec: Option<SpecChanges>,
    /// Entries the image scan read.
    pub scanned_entries: usize,
    /// The denied programs the scan found, for the user-space judge.
    pub denied_programs: image_scan::DeniedPrograms,
}

/// Scans the image at `rootfs` and builds the policy and spec changes for `profile`.
pub fn confine(profile: &Profile, rootfs: &Path, mounts: &[MountFact]) -> Result<Confinement, ScanError> {
    let scan = image_scan::scan(rootfs, profile, image_scan::MAX_ENTRIES)?;
    if let Some(d) = scan.denied.iter().find(|d| d.path.to_str().is_none()) {
        return Err(ScanError::Unnameable { path: d.path.clone() });
    }
    Ok(Confinement {
        policy: policy(profile, &scan, rootfs, mounts),
        spec: spec_changes(profile, rootfs, mounts),
        scanned_entries: scan.entries,
        denied_programs: image_scan::DeniedPrograms::from_scan(&scan, profile),
    })
}

/// Whether a spec mount is a writable place (W^X): absolute, not `ro`, not a pseudo filesystem.
fn writable_mount(m: &MountFact) -> bool {
    m.destination.starts_with('/') && !m.options.iter().any(|o| o == "ro") && !PSEUDO_KINDS.contains(&m.kind.as_str())
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Whether `path` is `base` or beneath it, component-wise.
fn beneath(path: &str, base: &str) -> bool {
    Path::new(path).starts_with(base)
}

/// Sorts, dedups, and drops entries beneath another entry.
fn outermost(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    let all = v.clone();
    v.retain(|p| !all.iter().any(|o| o != p && beneath(p, o)));
    v
}

/// The `palisade-init` policy (format version 2) for a container running `profile`, whose
/// image at `rootfs` was scanned into `scan` and whose spec declares `mounts`.
pub fn policy(profile: &Profile, scan: &ImageScan, rootfs: &Path, mounts: &[MountFact]) -> Value {
    let write_beneath: Vec<String> = if profile.immutable.enabled {
        let mut w: Vec<String> = mounts.iter().map(|m| m.destination.clone()).filter(|d| d.starts_with('/')).collect();
        w.extend(profile.immutable.allow_write.iter().map(|p| path_text(p)));
        w.extend(RUNTIME_WRITABLE.iter().map(|s| (*s).to_owned()));
        w.sort();
        w.dedup();
        w
    } else {
        vec!["/".to_owned()]
    };
    // Landlock cannot tie a shell to its scripts: with allow_scripts the shells stay executable.
    let shells_denied = profile.deny_shells && profile.exec.allow_scripts.is_empty();
    let mut deny_execute: Vec<String> =
        scan.denied.iter().filter(|d| shells_denied || d.kind != DenyKind::Shell).map(|d| path_text(&d.path)).collect();
    deny_execute.extend(profile.exec.deny.iter().filter(|g| g.is_literal()).map(|g| g.as_str().to_owned()));
    deny_execute.sort();
    deny_execute.dedup();
    let no_execute = if profile.immutable.enabled { no_execute(profile, mounts) } else { Vec::new() };
    let execute: Vec<String> = if profile.exec.allow.is_empty() {
        let mut e = vec!["/".to_owned()];
        // An exception inside a no_execute subtree is granted there (`/tmp/jit` in `/tmp`).
        e.extend(exceptions(profile).into_iter().filter(|x| no_execute.iter().any(|n| n != x && beneath(x, n))));
        e
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
        "version": 2,
        "write_beneath": write_beneath,
        "execute": execute,
        "deny_execute": deny_execute,
        "no_execute": no_execute,
    })
}

/// `immutable.allow_writable_exec`, as text.
fn exceptions(profile: &Profile) -> Vec<String> {
    profile.immutable.allow_writable_exec.iter().map(|p| path_text(p)).collect()
}

/// Whether W^X exempts `place` (it is, or is beneath, an `allow_writable_exec` path).
fn exempt(place: &str, exceptions: &[String]) -> bool {
    exceptions.iter().any(|e| beneath(place, e))
}

/// The subtrees that must not be executable: every writable place but the exceptions.
fn no_execute(profile: &Profile, mounts: &[MountFact]) -> Vec<String> {
    let exceptions = exceptions(profile);
    let mut places: Vec<String> = mounts.iter().filter(|m| writable_mount(m)).map(|m| m.destination.clone()).collect();
    places.extend(profile.immutable.allow_write.iter().map(|p| path_text(p)));
    places.extend(RUNTIME_WRITABLE_DIRS.iter().map(|s| (*s).to_owned()));
    places.retain(|p| !exempt(p, &exceptions));
    outermost(places)
}

/// How `palisade-runc` changes the spec of a Landlock-confined container running `profile`
/// (image at `rootfs`, spec mounts `mounts`); `None` when the profile is not `immutable`.
///
/// `writable_binds`: each `allow_write` path, resolved inside the rootfs (`/var/run` →
/// `/run`), that no spec mount covers; a bind beneath another is dropped unless W^X treats it
/// otherwise (an exception inside a noexec bind stays its own, executable, bind; an exception
/// strictly beneath a bind becomes one). `noexec`: every writable mount and bind but the
/// exceptions. An exception beneath a spec mount that is not its own mount cannot be exempted
/// from that mount's `noexec` (the option is per mount): it is logged and has no effect.
pub fn spec_changes(profile: &Profile, rootfs: &Path, mounts: &[MountFact]) -> Option<SpecChanges> {
    if !profile.immutable.enabled {
        return None;
    }
    let exceptions = exceptions(profile);
    let destinations: Vec<&str> = mounts.iter().map(|m| m.destination.as_str()).filter(|d| d.starts_with('/')).collect();
    let on_mount = |p: &str| destinations.iter().any(|m| beneath(p, m));
    let mut binds: Vec<String> =
        profile.immutable.allow_write.iter().map(|p| resolve(rootfs, p)).filter(|p| !on_mount(p)).collect();
    let strictly_in_bind = |e: &String, binds: &[String]| binds.iter().any(|b| b != e && beneath(e, b));
    let extra: Vec<String> = exceptions.iter().filter(|e| !on_mount(e) && strictly_in_bind(e, &binds)).cloned().collect();
    binds.extend(extra);
    binds.sort();
    binds.dedup();
    let all = binds.clone();
    binds.retain(|p| !all.iter().any(|o| o != p && beneath(p, o) && exempt(o, &exceptions) == exempt(p, &exceptions)));
    let mut noexec: Vec<String> = mounts.iter().filter(|m| writable_mount(m)).map(|m| m.destination.clone()).collect();
    noexec.extend(binds.iter().cloned());
    noexec.retain(|p| !exempt(p, &exceptions));
    noexec.sort();
    noexec.dedup();
    for e in &exceptions {
        let own_place = binds.contains(e) || mounts.iter().any(|m| writable_mount(m) && m.destination == *e);
        if let (false, Some(m)) = (own_place, destinations.iter().find(|m| beneath(e, m))) {
            tracing::warn!(profile = %profile.name, exception = %e, mount = %m, "allow_writable_exec beneath a mount that stays noexec: make it its own mount");
        } else if !own_place && !binds.iter().any(|b| beneath(e, b)) {
            tracing::warn!(profile = %profile.name, exception = %e, "allow_writable_exec names no writable place: nothing to exempt");
        }
    }
    Some(SpecChanges { readonly_rootfs: true, writable_binds: binds, noexec })
}

/// `path` resolved inside `rootfs` (links followed, an absolute target relative to the rootfs),
/// as the container sees it; as given when it cannot be resolved.
fn resolve(rootfs: &Path, path: &Path) -> String {
    let text = path_text(path);
    palisade_lsm::policy::resolve_in_root(rootfs, &text)
        .and_then(|host| host.strip_prefix(rootfs).ok().map(|inside| path_text(&PathBuf::from("/").join(inside))))
        .unwrap_or(text)
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
#[path = "landlock_tests.rs"]
mod tests;
