//! Profile decisions computed in user space from the detection events: what the container's
//! per-image profile denies (`deny_shells`, `deny_package_managers`, `exec.deny/allow`,
//! `immutable`, W^X).
//!
//! - The action succeeded: in audit mode this is the report ("would have denied"); in enforce
//!   mode it means no backend stopped it. Either way `enforced: false`: nothing claims a block
//!   that did not happen.
//! - The action failed with a refusal errno in a container a backend confines: the kernel
//!   refused it, `enforced: true`, with the errno. Refusals are `EACCES` (Landlock, `noexec`),
//!   `EPERM` (capabilities, Landlock's mount denial), `EROFS` (the read-only root the Landlock
//!   backend gives immutable containers: every write path, chmod, chown, truncate, xattr,
//!   times, mknod, link, symlink) and, for `rename`/`link`, `EXDEV` (Landlock refuses a
//!   reparenting that would gain rights with it; the VFS refuses links across mounts). Every
//!   other failure (`ENOENT`, `EEXIST`...) decided nothing.
//!
//! W^X (immutable profiles): an exec of a program beneath a writable place — a writable spec
//! mount (volumes, tmpfs `/dev`, `/run`, `/dev/shm`), `allow_write`, the runtime's `/dev/shm`
//! and `/dev/mqueue` — or, for a successful exec, of a file written into the root filesystem
//! (its overlay upper layer, which audit mode leaves writable) is a decision unless the program
//! is beneath `allow_writable_exec`. Refused execs are judged on the program the kernel would
//! have run (the path resolved), by name on the path as named. An executable mapping (`mmap`
//! with `PROT_EXEC` of such a file, the `ld.so FILE` trick) is judged the same way (action
//! `mmap`): the `noexec` writable mounts refuse it with `EPERM`; ia32 mappings and `mprotect`
//! to `PROT_EXEC` are not seen in user space.
//!
//! Invariant: one event (one syscall) yields at most one decision: an exec is judged by name
//! first (shell, package manager, `exec.deny`/`exec.allow`), W^X only when the name passes; a
//! call with two targets (`rename`, `link`) names the first denied one. The targets are the
//! files the kernel acted on ([`crate::event::change`]): fd paths as the kernel resolved them,
//! other paths resolved in the container's view with [`Roots`] (symlinks followed where the
//! call follows them), so a write through `/data/link -> /etc/passwd` is a decision on
//! `/etc/passwd`. When the process is gone its paths stay as the call named them.
//!
//! Alerts: rule `Palisade enforcement`, source `syscall`, priority Warning, Falco's JSON plus
//! `enforced`, `profile`, `mode` (and `backend`) keys, the container fields and the target.

use std::path::{Path, PathBuf};

use palisade_rules::alert::Alert;
use palisade_rules::output::FieldValue;
use serde_json::Value as Json;

use crate::containers::{Backend, ContainerMeta};
use crate::event::change::Target;
use crate::event::resolve::{resolve_on_host, Actor, NoRoots, Roots};
use crate::event::EventData;
use crate::process::Process;

/// The rule name of profile decisions.
pub const RULE: &str = "Palisade enforcement";

/// One profile decision.
#[derive(Debug)]
pub struct Decision {
    /// The `Palisade enforcement` alert.
    pub alert: Alert,
    /// Whether the kernel refused the action (else it happened).
    pub enforced: bool,
    /// The profile setting that denies it: `deny_shells`, `deny_package_managers`,
    /// `exec.deny PATTERN`, `exec.allow`, `exec (not from the image)`, `immutable`.
    pub setting: String,
    /// `exec`, `write`, `truncate`, `chmod`, `chown`, `rename`, `mount`, ... (user space), or
    /// the BPF-LSM hook's action (`open_write`, `unlink`, `mount`, ...).
    pub action: String,
    /// The file (or mount point) acted on.
    pub target: String,
    /// Who acted: the command line (user-space decisions) or `pid=N` (BPF-LSM decisions).
    pub process: String,
}

/// The profile setting behind an exec denial.
fn exec_setting(denial: &palisade_profiles::ExecDenial) -> String {
    use palisade_profiles::ExecDenial;
    match denial {
        ExecDenial::Shell => "deny_shells".into(),
        ExecDenial::PackageManager => "deny_package_managers".into(),
        ExecDenial::Denied(p) => format!("exec.deny {p}"),
        ExecDenial::NotAllowed => "exec.allow".into(),
    }
}

/// The setting for an immutability decision (W^X included).
const IMMUTABLE: &str = "immutable";

/// The reason of a W^X decision.
pub const WX_REASON: &str = "W^X: executable written in a writable place";

/// Mount types that are writable but hold no files a process could have written and run:
/// not writable places for W^X.
const NOT_FILE_STORES: [&str; 6] = ["proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue"];

/// Runtime-provided writable directories that are places a process can write a program to,
/// whether or not the spec lists them as mounts.
const RUNTIME_WRITABLE_DIRS: [&str; 2] = ["/dev/shm", "/dev/mqueue"];

/// Where a process of `meta` can write files: its writable spec mounts (volumes, tmpfs
/// `/dev`, `/run`, `/dev/shm`...), `allow_write`, and the runtime's writable directories.
fn writable_places(meta: &ContainerMeta, allow_write: &[PathBuf]) -> Vec<PathBuf> {
    let mounts = meta
        .mounts
        .iter()
        .filter(|m| !m.options.iter().any(|o| o == "ro") && !NOT_FILE_STORES.contains(&m.kind.as_str()))
        .map(|m| PathBuf::from(&m.destination));
    mounts.chain(allow_write.iter().cloned()).chain(RUNTIME_WRITABLE_DIRS.iter().map(PathBuf::from)).collect()
}

/// The denial of an exec of `named` (or of the file it resolves to) by file identity: a hard
/// link or same-bytes copy of a denied program anywhere in the image, found by the container's
/// whole-image scan.
fn by_identity(meta: &ContainerMeta, named: &str, resolved: Option<&str>) -> Result<(), palisade_profiles::ExecDenial> {
    let Some(programs) = meta.denied_programs.as_deref() else { return Ok(()) };
    match programs.get(named).or_else(|| resolved.and_then(|r| programs.get(r))) {
        Some((denial, _)) => Err(denial.clone()),
        None => Ok(()),
    }
}

/// Whether running `program` breaks W^X in `meta`'s immutable profile: it lies beneath a
/// writable place and not beneath an `allow_writable_exec` entry.
fn breaks_wx(program: &str, meta: &ContainerMeta, profile: &palisade_profiles::Profile) -> bool {
    let path = Path::new(program);
    wx_forbidden(program, profile) && writable_places(meta, &profile.immutable.allow_write).iter().any(|w| path.starts_with(w))
}

/// Whether an immutable profile forbids running a program written at `program` (not beneath
/// `allow_writable_exec`).
fn wx_forbidden(program: &str, profile: &palisade_profiles::Profile) -> bool {
    let imm = &profile.immutable;
    imm.enabled && !imm.allow_writable_exec.iter().any(|a| Path::new(program).starts_with(a))
}

/// Whether `p` is still the container runtime setting the container up. The runtime's mounts
/// (the root, /proc, masked and read-only paths) and the mount points and device nodes it
/// creates happen inside the container's cgroup after it was armed, by runc's init before it
/// execs the entrypoint; the BPF-LSM side gates mounts on the init's exec for the same reason.
/// None of it is the container acting: no decision. Until then the init runs runc itself: named `runc` (or
/// `runc:[N:...]`), from runc's own binary, which runc re-executes through an fd or
/// `/proc/self/exe` (runc 1.1 on this host: comm `runc`, exe `/dev/fd/6`, measured), or by a
/// path whose name starts with `runc` (a memfd copy `memfd:runc_cloned...` in other versions).
/// A contained process looks like this only by renaming itself and either executing a program
/// through an fd or chrooting away from its own binary (known limit: such a process's mounts --
/// refused by Landlock anyway -- go unreported; the BPF-LSM gate on the init's exec has no such
/// gap), which in a container with the usual tmpfs `/dev` is itself a W^X decision
/// (`/dev/fd/N` lies beneath a writable mount).
fn is_runtime_setup(p: &Process) -> bool {
    let exe = p.exepath.as_str();
    let base = Path::new(exe).file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let self_exec = exe == "/proc/self/exe" || exe.starts_with("/dev/fd/") || exe.starts_with("/proc/self/fd/");
    // After pivot_root runc's init runs a binary outside the container's root: the kernel
    // spells that path `/` (measured: runc 1.1.5 under containerd, comm `runc:[2:INIT]`).
    let outside_root = exe == "/";
    p.comm.starts_with("runc") && (self_exec || outside_root || base.starts_with("runc") || exe.contains("memfd:runc"))
}

/// The errnos a confining backend (or the read-only root it sets up) refuses with.
fn is_refusal(res: i64, action: &str) -> bool {
    match i32::try_from(-res).unwrap_or(0) {
        libc_errno::EACCES | libc_errno::EPERM | libc_errno::EROFS => true,
        libc_errno::EXDEV => matches!(action, "rename" | "link"),
        _ => false,
    }
}

/// What the profile of `meta` says about event `data`; `None` when it allows it. Paths are
/// judged as the call named them (replays, whose processes are gone): see [`judge_in`].
pub fn judge(data: &EventData, meta: &ContainerMeta, hostname: &str) -> Option<Decision> {
    judge_in(data, meta, hostname, &NoRoots)
}

/// [`judge`], resolving paths in the process's root through `roots` (the daemon).
pub fn judge_in(data: &EventData, meta: &ContainerMeta, hostname: &str, roots: &dyn Roots) -> Option<Decision> {
    let profile = meta.profile.as_deref()?;
    if !profile.denies_anything() || meta.judged_in_kernel {
        return None;
    }
    let p = &data.process;
    let confined = meta.enforced_by.is_some();
    let actor = Actor { pid: p.pid, ppid: p.ppid, init: meta.init_pid, cgroup_id: data.cgroup_id };
    // Through a live process of the container, else (all gone) through its rootfs and bind
    // mounts on the host, else as named.
    let resolve = |t: &Target| {
        if t.by_kernel {
            t.path.clone()
        } else {
            roots
                .resolve(&actor, &t.path, t.follow)
                .or_else(|| roots.on_host().then(|| resolve_on_host(&meta.rootfs, &meta.mounts, &t.path, t.follow)).flatten())
                .unwrap_or_else(|| t.path.clone())
        }
    };
    let wx = || (WX_REASON.to_owned(), IMMUTABLE.to_owned());
    let (action, target, (reason, setting), res) = match &data.call {
        None if data.type_name == "execve" => {
            // `exepath` is the program as the caller named it: by name on that, W^X on the file
            // it is (a link in the image may point into a volume).
            match profile.check_exec(&p.exepath, None).and_then(|()| by_identity(meta, &p.exepath, None)) {
                Err(denial) => ("exec", p.exepath.clone(), (denial.to_string(), exec_setting(&denial)), 0),
                Ok(()) if !profile.immutable.enabled => return None,
                Ok(()) => {
                    let program = resolve(&Target { path: p.exepath.clone(), by_kernel: false, follow: true });
                    if breaks_wx(&program, meta, profile) {
                        ("exec", program, wx(), 0)
                    } else if breaks_wx(&p.exepath, meta, profile)
                        // A file written into the root filesystem (its overlay upper layer):
                        // in audit mode the root is writable, a writable place too.
                        || (p.exe_upper_layer && wx_forbidden(&p.exepath, profile))
                    {
                        ("exec", p.exepath.clone(), wx(), 0)
                    } else {
                        return None;
                    }
                }
            }
        }
        None => return None,
        Some(call) if data.is_failed_exec() => {
            if !(confined && is_refusal(data.res, "exec")) {
                return None;
            }
            let named = call.exec_attempt()?;
            let program = resolve(&Target { path: named.to_owned(), by_kernel: false, follow: true });
            // By name as the caller named it (`/bin/sh` may be a link to a multi-call binary),
            // then W^X on the file it is.
            match profile.check_exec(named, None).and_then(|()| by_identity(meta, named, Some(&program))) {
                Err(denial) => ("exec", named.to_owned(), (denial.to_string(), exec_setting(&denial)), data.res),
                Ok(()) if breaks_wx(&program, meta, profile) => ("exec", program, wx(), data.res),
                Ok(()) => return None,
            }
        }
        // The runtime setting the container up (mounts, mount points and device nodes created
        // in the root, before pivot_root on host paths) is not the container acting.
        Some(_) if is_runtime_setup(p) => return None,
        Some(call) if data.type_name == "mmap" => {
            // `ld.so /dev/shm/bash` runs a program without exec'ing it: its mapping is the
            // exec. A noexec mount refuses it with EPERM; Landlock does not see mappings.
            let file = call.exec_mapping()?;
            if (data.res < 0 && !(confined && is_refusal(data.res, "mmap"))) || !breaks_wx(&file, meta, profile) {
                return None;
            }
            ("mmap", file, wx(), data.res.min(0))
        }
        Some(call) => {
            let change = call.change()?;
            if !profile.immutable.enabled || (data.res < 0 && !(confined && is_refusal(data.res, change.action))) {
                return None;
            }
            let target = if change.action == "mount" {
                resolve(&change.targets[0])
            } else {
                let mounts: Vec<PathBuf> = meta.mounts.iter().map(|m| PathBuf::from(&m.destination)).collect();
                change.targets.iter().map(resolve).find(|t| !profile.write_allowed(Path::new(t), &mounts))?
            };
            let reason = if change.action == "mount" {
                "immutable: no mounts once the container runs".to_owned()
            } else {
                "immutable: outside the declared mounts and allow_write".to_owned()
            };
            (change.action, target, (reason, IMMUTABLE.to_owned()), data.res.min(0))
        }
    };
    let enforced = res < 0;
    let verdict = Verdict {
        time_ns: data.time_ns,
        action,
        target: &target,
        reason: &reason,
        res,
        enforced,
        backend: meta.enforced_by,
        profile: &profile.name,
        comm: &p.comm,
        process: ("proc.cmdline", FieldValue::Text(p.cmdline()), format!("command={}", p.cmdline())),
        setting,
    };
    Some(verdict.decision(meta, hostname))
}

/// What was decided: the parts of a `Palisade enforcement` alert that depend on who decided
/// (user space from an event, or the BPF-LSM programs).
struct Verdict<'a> {
    time_ns: u64,
    action: &'a str,
    target: &'a str,
    reason: &'a str,
    /// The action's result: 0, or minus the errno the kernel refused it with.
    res: i64,
    enforced: bool,
    backend: Option<Backend>,
    profile: &'a str,
    comm: &'a str,
    /// The field identifying the process beyond its name, and its `key=value` in the output.
    process: (&'static str, FieldValue, String),
    /// The profile setting that denies it.
    setting: String,
}

impl Verdict<'_> {
    fn decision(self, meta: &ContainerMeta, hostname: &str) -> Decision {
        let Verdict { time_ns, action, target, reason, res, enforced, backend, profile, comm, process, setting } = self;
        let verb = if enforced { "denied" } else { "would deny" };
        let text = |s: &str| FieldValue::Text(s.to_owned());
        let output = format!(
            "Palisade {verb} {action} of {target} ({reason}) | profile={profile} mode={} process={comm} {} container_id={} container_name={} image={} k8s_ns_name={} k8s_pod_name={}",
            meta.mode,
            process.2,
            meta.short_id(),
            meta.name,
            meta.image.full,
            meta.pod.as_ref().map_or("<NA>", |p| p.namespace.as_str()),
            meta.pod.as_ref().map_or("<NA>", |p| p.name.as_str()),
        );
        // A pod's fields as rule alerts have them (`k8s.*`; missing outside Kubernetes).
        let pod = |f: fn(&crate::containers::PodMeta) -> &str| meta.pod.as_ref().map_or(FieldValue::Missing, |p| text(f(p)));
        let alert = Alert {
            time_ns,
            rule: RULE.into(),
            priority: "Warning",
            source: "syscall",
            output,
            output_fields: vec![
                ("palisade.action".into(), text(action)),
                ("palisade.target".into(), text(target)),
                ("palisade.reason".into(), text(reason)),
                ("evt.res".into(), text(&errno_name(res))),
                ("proc.name".into(), text(comm)),
                (process.0.into(), process.1),
                ("container.id".into(), text(meta.short_id())),
                ("container.name".into(), text(&meta.name)),
                ("container.image.repository".into(), text(&meta.image.repository)),
                ("k8s.ns.name".into(), pod(|p| &p.namespace)),
                ("k8s.pod.name".into(), pod(|p| &p.name)),
                // Also as top-level keys (`extra`), which Falcosidekick drops: it forwards only
                // Falco's own keys, of which output_fields is one.
                ("palisade.enforced".into(), text(if enforced { "true" } else { "false" })),
                ("palisade.profile".into(), text(profile)),
                ("palisade.mode".into(), text(&meta.mode.to_string())),
                ("palisade.backend".into(), text(backend.map_or("none", |b| b.as_str()))),
            ],
            tags: vec!["palisade".into(), "enforcement".into()],
            hostname: hostname.to_owned(),
            extra: vec![
                ("enforced".into(), Json::Bool(enforced)),
                ("backend".into(), backend.map_or(Json::Null, |b| Json::String(b.as_str().into()))),
                ("profile".into(), Json::String(profile.to_owned())),
                ("mode".into(), Json::String(meta.mode.to_string())),
            ],
        };
        Decision { alert, enforced, setting, action: action.to_owned(), target: target.to_owned(), process: process.2 }
    }
}

/// The errnos a confining backend answers with.
mod libc_errno {
    pub(super) const EPERM: i32 = 1;
    pub(super) const EACCES: i32 = 13;
    pub(super) const EXDEV: i32 = 18;
    pub(super) const EROFS: i32 = 30;
}

/// `SUCCESS`, `EACCES`, `EPERM`, `EXDEV`, `EROFS`, or the number, as Falco renders `evt.res`.
fn errno_name(res: i64) -> String {
    match -res {
        0 => "SUCCESS".into(),
        1 => "EPERM".into(),
        13 => "EACCES".into(),
        18 => "EXDEV".into(),
        30 => "EROFS".into(),
        n => format!("E{n}"),
    }
}

/// The profile setting behind a BPF-LSM reason, by the reason's name: the writes, mounts and
/// W^X (`writable_exec`) are `immutable`, like every reason that is not about a program's name
/// or origin.
fn kernel_setting(reason: palisade_lsm::Reason) -> String {
    match reason.as_str() {
        "shell" => "deny_shells",
        "package_manager" => "deny_package_managers",
        "exec_denied" => "exec.deny",
        "not_from_image" => "exec (not from the image)",
        _ => IMMUTABLE,
    }
    .into()
}

/// The alert of a decision the BPF-LSM programs made for container `meta`.
pub fn from_kernel(d: &palisade_lsm::Decision, meta: &ContainerMeta, boot_to_wall: u64, hostname: &str) -> Decision {
    let target = d.path.clone().unwrap_or_else(|| format!("<unresolved: dev {} ino {}>", d.target.dev, d.target.ino));
    // W^X is part of immutability (armed with it, excepted by immutable.allow_writable_exec):
    // the reason says which rule, the setting which profile key.
    let reason = match d.reason {
        palisade_lsm::Reason::WritableExec => "W^X: executable code from a writable place (volume, tmpfs, or written after the start)",
        other => other.as_str(),
    };
    let verdict = Verdict {
        time_ns: d.ts_ns + boot_to_wall,
        action: d.action.as_str(),
        target: &target,
        reason,
        res: -i64::from(d.errno),
        enforced: d.enforced,
        backend: Some(Backend::BpfLsm),
        profile: meta.profile_name(),
        comm: &d.comm,
        process: ("proc.pid", FieldValue::Number(i128::from(d.pid)), format!("pid={}", d.pid)),
        setting: kernel_setting(d.reason),
    };
    verdict.decision(meta, hostname)
}

#[cfg(test)]
#[path = "would_deny_tests.rs"]
pub(crate) mod tests;
