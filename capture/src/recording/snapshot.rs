//! The JSON frames of a capture: who captured ([`Meta`]), the host's users ([`UserLists`]),
//! containers ([`CapturedContainer`]) and the end ([`End`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use palisade_hook::MountFact;
use serde::{Deserialize, Serialize};

use palisade_events::containers::{Backend, ContainerMeta, Engine, ImageRef, PodMeta};
use palisade_events::process::Users;

/// The `META` frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Meta {
    /// The daemon's version.
    pub palisade_version: String,
    /// The host's name (alerts carry it as `hostname`).
    pub hostname: String,
    /// Add to a record's boot-clock timestamp to get wall-clock ns.
    pub boot_to_wall_ns: u64,
    /// Wall-clock ns when the capture started.
    pub started_ns: u64,
    /// The container the capture is limited to (full id); empty: everything the daemon saw.
    pub container: String,
    /// The daemon's rules files (what decided which events exist in the capture).
    pub rules_files: Vec<String>,
    /// Whether the daemon watched host processes.
    pub host_monitoring: bool,
}

/// The `USERS` frame: `[[uid, name], ...]` and `[[gid, name], ...]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserLists {
    pub users: Vec<(u32, String)>,
    pub groups: Vec<(u32, String)>,
}

impl From<&Users> for UserLists {
    fn from(u: &Users) -> UserLists {
        let (users, groups) = u.lists();
        UserLists { users, groups }
    }
}

impl From<UserLists> for Users {
    fn from(u: UserLists) -> Users {
        Users::from_lists(u.users, u.groups)
    }
}

/// The `CONTAINER` frame: what the rules and the profile judge read of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CapturedContainer {
    /// The cgroup v2 id its records carry.
    pub cgroup_id: u64,
    pub id: String,
    pub name: String,
    pub image: ImageRef,
    pub namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodMeta>,
    pub labels: BTreeMap<String, String>,
    pub mounts: Vec<MountFact>,
    pub privileged: bool,
    /// The container's own users and groups.
    pub users: UserLists,
    pub start_ns: u64,
    /// The profile it ran under, as text the profile loader reads ([`palisade_profiles::Profile::to_text`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `audit` or `enforce`.
    pub mode: String,
    /// `landlock`, `bpf-lsm`, or absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforced_by: Option<String>,
    pub judged_in_kernel: bool,
    /// The image's denied programs by path (its whole-image scan), as
    /// [`palisade_events::containers::image_scan::DeniedPrograms::to_entries`] writes them; absent when
    /// the image was not scanned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied_programs: Option<Vec<(String, String)>>,
    /// Its engine (`container.type`) when not containerd: `podman`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

/// A container frame that cannot be turned back into the daemon's metadata.
#[derive(Debug, thiserror::Error)]
#[error("container {id}: {what}")]
pub struct ContainerError {
    pub id: String,
    pub what: String,
}

impl CapturedContainer {
    /// The frame for `meta`, whose records carry `cgroup_id`.
    pub fn new(cgroup_id: u64, meta: &ContainerMeta) -> CapturedContainer {
        CapturedContainer {
            cgroup_id,
            id: meta.full_id.clone(),
            name: meta.name.clone(),
            image: meta.image.clone(),
            namespace: meta.namespace.clone(),
            pod: meta.pod.clone(),
            labels: meta.labels.clone(),
            mounts: meta.mounts.clone(),
            privileged: meta.privileged,
            users: UserLists::from(&meta.users),
            start_ns: meta.start_ns,
            profile: meta.profile.as_ref().map(|p| p.to_text()),
            mode: meta.mode.to_string(),
            enforced_by: meta.enforced_by.map(|b| b.as_str().to_owned()),
            judged_in_kernel: meta.judged_in_kernel,
            denied_programs: meta.denied_programs.as_ref().map(|d| d.to_entries()),
            engine: (meta.engine != Engine::Containerd).then(|| meta.engine.as_str().to_owned()),
        }
    }

    /// The daemon's metadata again: the profile re-read from its text.
    pub fn into_meta(self) -> Result<ContainerMeta, ContainerError> {
        let err = |what: String| ContainerError { id: self.id.clone(), what };
        let profile = match &self.profile {
            Some(text) => {
                let set = palisade_profiles::ProfileSet::from_texts(&[("capture", text)]).map_err(|e| {
                    err(format!("its profile does not load: {}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))
                })?;
                let p = set.profiles().first().cloned().ok_or_else(|| err("its profile is empty".into()))?;
                Some(Arc::new(p))
            }
            None => None,
        };
        let mode = self.mode.parse().map_err(|e| err(format!("mode {:?}: {e}", self.mode)))?;
        let engine = match &self.engine {
            Some(e) => Engine::from_name(e).ok_or_else(|| err(format!("unknown engine {e:?}")))?,
            None => Engine::Containerd,
        };
        let enforced_by = match &self.enforced_by {
            Some(b) => Some(Backend::from_name(b).ok_or_else(|| err(format!("unknown backend {b:?}")))?),
            None => None,
        };
        let denied_programs = match self.denied_programs {
            Some(entries) => {
                Some(Arc::new(palisade_events::containers::image_scan::DeniedPrograms::from_entries(entries).map_err(err)?))
            }
            None => None,
        };
        Ok(ContainerMeta {
            denied_programs,
            // Host facts of the recording machine: a replay resolves nothing on this host.
            rootfs: std::path::PathBuf::new(),
            init_pid: 0,
            full_id: self.id,
            name: self.name,
            image: self.image,
            namespace: self.namespace,
            pod: self.pod,
            labels: self.labels,
            mounts: self.mounts,
            privileged: self.privileged,
            users: self.users.into(),
            start_ns: self.start_ns,
            profile,
            mode,
            enforced_by,
            judged_in_kernel: self.judged_in_kernel,
            engine,
        })
    }
}

/// The `END` frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct End {
    /// Wall-clock ns when the capture ended.
    pub ended_ns: u64,
    /// `duration`, `stopped` (the client asked or went away), `daemon stopping`, or an error.
    pub reason: String,
    /// `RECORD` frames written.
    pub records: u64,
    /// Records the kernel could not deliver to the daemon while capturing (ring buffer full):
    /// missing from the capture as from the daemon's own view.
    pub kernel_drops: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_with_its_profile_survives_the_round_trip() {
        let text = "name: hardened\nmatch:\n  images: [\"hardened:*\"]\nmode: enforce\ndeny_shells: true\n\
                    immutable:\n  enabled: true\n  allow_write: [/var/cache/app]\n";
        let set = palisade_profiles::ProfileSet::from_texts(&[("p.yaml", text)]).expect("profile");
        let meta = ContainerMeta {
            full_id: "0123456789abcdef".into(),
            name: "web".into(),
            image: ImageRef { id: "edf7c2ad".into(), ..ImageRef::parse("docker.io/library/hardened:1") },
            namespace: "default".into(),
            pod: Some(PodMeta { name: "p".into(), namespace: "ns".into(), uid: "u".into(), labels: [("a".into(), "b".into())].into() }),
            labels: [("l".into(), "v".into())].into(),
            mounts: vec![palisade_events::containers::mount_fact("/data", "/srv/data", "bind", &["rw".into()])],
            privileged: true,
            users: Users::from_lists([(0, "root".into()), (101, "app".into())], [(0, "root".into())]),
            start_ns: 17,
            profile: Some(Arc::new(set.profiles()[0].clone())),
            mode: palisade_profiles::Mode::Enforce,
            enforced_by: Some(Backend::Landlock),
            judged_in_kernel: false,
            rootfs: std::path::PathBuf::new(),
            init_pid: 0,
            engine: Engine::Podman,
            denied_programs: Some(Arc::new(
                palisade_events::containers::image_scan::DeniedPrograms::from_entries(vec![("/opt/bash".into(), "shell".into())])
                    .expect("entries"),
            )),
        };
        let frame = CapturedContainer::new(4242, &meta);
        let json = serde_json::to_string(&frame).expect("json");
        let back: CapturedContainer = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, frame);
        let again = back.into_meta().expect("meta");
        assert_eq!((again.full_id.as_str(), again.name.as_str(), &again.image), (meta.full_id.as_str(), "web", &meta.image));
        assert_eq!((again.pod.as_ref(), &again.labels, &again.mounts), (meta.pod.as_ref(), &meta.labels, &meta.mounts));
        assert_eq!((again.privileged, again.start_ns, again.mode, again.enforced_by), (true, 17, meta.mode, meta.enforced_by));
        assert_eq!((again.users.user(101), again.users.group(0)), (Some("app"), Some("root")));
        assert_eq!(again.denied_programs, meta.denied_programs, "judged by identity in replay too");
        assert_eq!(again.engine, Engine::Podman, "container.type in replay too");
        let p = again.profile.expect("profile");
        assert_eq!((p.name.as_str(), p.deny_shells, &p.immutable), ("hardened", true, &meta.profile.as_ref().expect("p").immutable));
    }

    #[test]
    fn a_bad_profile_or_mode_is_named() {
        let c = CapturedContainer { id: "c1".into(), mode: "audit".into(), profile: Some("name: [".into()), ..Default::default() };
        let e = c.into_meta().expect_err("bad profile").to_string();
        assert!(e.starts_with("container c1: its profile does not load: capture:2:1: YAML:"), "{e}");
        let c = CapturedContainer { id: "c2".into(), mode: "block".into(), ..Default::default() };
        assert!(c.into_meta().expect_err("bad mode").to_string().starts_with("container c2: mode \"block\""));
    }
}
