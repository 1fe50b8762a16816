//! Profile decisions computed in user space from the detection events: what the container's
//! per-image profile would deny (`deny_shells`, `deny_package_managers`, `exec.deny/allow`,
//! `immutable`). In audit mode this is the report ("would have denied"); until a kernel
//! enforcement backend arms the container, enforce mode reports the same with
//! `enforced: false`, so nothing claims a block that did not happen.
//!
//! Alerts: rule `Palisade enforcement`, source `syscall`, priority Warning, Falco's JSON plus
//! `enforced` and `profile` keys, the container fields and the target.

use std::path::{Path, PathBuf};

use palisade_rules::alert::Alert;
use palisade_rules::output::FieldValue;
use serde_json::Value as Json;

use crate::containers::ContainerMeta;
use crate::event::EventData;

/// The rule name of profile decisions.
pub const RULE: &str = "Palisade enforcement";

/// What the profile of `meta` says about event `data`, as an alert; `None` when it allows it.
pub fn judge(data: &EventData, meta: &ContainerMeta, hostname: &str) -> Option<Alert> {
    let profile = meta.profile.as_deref()?;
    if !profile.denies_anything() {
        return None;
    }
    let p = &data.process;
    let (action, target, reason) = if data.type_name == "execve" && data.call.is_none() {
        let denial = profile.check_exec(&p.exepath, None).err()?;
        ("exec", p.exepath.clone(), denial.to_string())
    } else {
        let path = data.call.as_ref()?.written_path()?;
        let mounts: Vec<PathBuf> = meta.mounts.iter().map(|m| PathBuf::from(&m.destination)).collect();
        if profile.write_allowed(Path::new(path), &mounts) {
            return None;
        }
        ("write", path.to_owned(), "immutable: outside the declared mounts and allow_write".into())
    };
    let text = |s: &str| FieldValue::Text(s.to_owned());
    let output = format!(
        "Palisade would deny {action} of {target} ({reason}) | profile={} mode={} process={} command={} container_id={} container_name={} image={}",
        profile.name,
        meta.mode,
        p.comm,
        p.cmdline(),
        meta.short_id(),
        meta.name,
        meta.image.full,
    );
    Some(Alert {
        time_ns: data.time_ns,
        rule: RULE.into(),
        priority: "Warning",
        source: "syscall",
        output,
        output_fields: vec![
            ("palisade.action".into(), text(action)),
            ("palisade.target".into(), text(&target)),
            ("palisade.reason".into(), text(&reason)),
            ("proc.name".into(), text(&p.comm)),
            ("proc.cmdline".into(), text(&p.cmdline())),
            ("container.id".into(), text(meta.short_id())),
            ("container.name".into(), text(&meta.name)),
            ("container.image.repository".into(), text(&meta.image.repository)),
        ],
        tags: vec!["palisade".into(), "enforcement".into()],
        hostname: hostname.to_owned(),
        extra: vec![
            ("enforced".into(), Json::Bool(false)),
            ("profile".into(), Json::String(profile.name.clone())),
            ("mode".into(), Json::String(meta.mode.to_string())),
        ],
    })
}
