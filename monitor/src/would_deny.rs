//! Profile decisions computed in user space from the detection events: what the container's
//! per-image profile denies (`deny_shells`, `deny_package_managers`, `exec.deny/allow`,
//! `immutable`).
//!
//! - The action succeeded: in audit mode this is the report ("would have denied"); in enforce
//!   mode it means no backend stopped it. Either way `enforced: false`: nothing claims a block
//!   that did not happen.
//! - The action failed with `EACCES`/`EPERM` in a container a backend confines (Landlock
//!   answers `EACCES`): the kernel refused it, `enforced: true`, with the errno.
//!
//! Alerts: rule `Palisade enforcement`, source `syscall`, priority Warning, Falco's JSON plus
//! `enforced`, `profile`, `mode` (and `backend`) keys, the container fields and the target.

use std::path::{Path, PathBuf};

use palisade_rules::alert::Alert;
use palisade_rules::output::FieldValue;
use serde_json::Value as Json;

use crate::containers::{Backend, ContainerMeta};
use crate::event::EventData;

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
    /// `exec`, `write`, or the BPF-LSM hook's action (`open`, `unlink`, `mount`, ...).
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

/// The setting for an immutability decision.
const IMMUTABLE: &str = "immutable";

/// What the profile of `meta` says about event `data`; `None` when it allows it.
pub fn judge(data: &EventData, meta: &ContainerMeta, hostname: &str) -> Option<Decision> {
    let profile = meta.profile.as_deref()?;
    if !profile.denies_anything() || meta.judged_in_kernel {
        return None;
    }
    let p = &data.process;
    let refused = |res: i64| meta.enforced_by.is_some() && (res == -i64::from(libc_errno::EACCES) || res == -i64::from(libc_errno::EPERM));
    let (action, target, reason, res, setting) = match &data.call {
        None if data.type_name == "execve" => {
            let denial = profile.check_exec(&p.exepath, None).err()?;
            ("exec", p.exepath.clone(), denial.to_string(), 0, exec_setting(&denial))
        }
        None => return None,
        Some(call) if data.is_failed_exec() => {
            let path = call.exec_attempt()?;
            let denial = profile.check_exec(path, None).err()?;
            if !refused(data.res) {
                return None;
            }
            ("exec", path.to_owned(), denial.to_string(), data.res, exec_setting(&denial))
        }
        Some(call) => {
            if data.res < 0 && !refused(data.res) {
                return None;
            }
            let mounts: Vec<PathBuf> = meta.mounts.iter().map(|m| PathBuf::from(&m.destination)).collect();
            let path = call.attempted_writes().into_iter().find(|w| !profile.write_allowed(Path::new(w), &mounts))?;
            let reason = "immutable: outside the declared mounts and allow_write".into();
            ("write", path.to_owned(), reason, data.res.min(0), IMMUTABLE.to_owned())
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
            "Palisade {verb} {action} of {target} ({reason}) | profile={profile} mode={} process={comm} {} container_id={} container_name={} image={}",
            meta.mode,
            process.2,
            meta.short_id(),
            meta.name,
            meta.image.full,
        );
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
    pub const EPERM: i32 = 1;
    pub const EACCES: i32 = 13;
}

/// `SUCCESS`, `EACCES`, `EPERM`, or the number, as Falco renders `evt.res`.
fn errno_name(res: i64) -> String {
    match -res {
        0 => "SUCCESS".into(),
        1 => "EPERM".into(),
        13 => "EACCES".into(),
        n => format!("E{n}"),
    }
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
        setting: match d.reason {
            palisade_lsm::Reason::Shell => "deny_shells".into(),
            palisade_lsm::Reason::PackageManager => "deny_package_managers".into(),
            palisade_lsm::Reason::ExecDenied => "exec.deny".into(),
            palisade_lsm::Reason::NotFromImage => "exec (not from the image)".into(),
            palisade_lsm::Reason::Immutable | palisade_lsm::Reason::WritableExec => IMMUTABLE.into(),
        },
    };
    verdict.decision(meta, hostname)
}
