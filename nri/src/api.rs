//! NRI's protobuf messages (`nri.pkg.api.v1alpha1`), trimmed to what the plugin reads or writes.
//!
//! Written as `prost` structs by hand rather than generated: no build script and no `protoc`, and
//! the trim is visible in review. Protobuf decoding skips fields a struct does not declare, so the
//! structs only carry what we use; every name and tag below is NRI v0.6.1's `pkg/api/api.proto`
//! (the version vendored by containerd 1.7.24: its binary has none of v0.7's `CDIDevice` or
//! `LinuxPids`). These tags have not changed up to v0.12.
//!
//! Replies that we always send without updates (`CreateContainerResponse`,
//! `UpdateContainerResponse`, `StopContainerResponse`) are encoded as [`Empty`]: all their fields
//! are optional or repeated, so an empty message is the same zero bytes.

use std::collections::BTreeMap;

/// Fully qualified name of the service the runtime calls on us.
pub const PLUGIN_SERVICE: &str = "nri.pkg.api.v1alpha1.Plugin";
/// Fully qualified name of the service we call on the runtime.
pub const RUNTIME_SERVICE: &str = "nri.pkg.api.v1alpha1.Runtime";

/// NRI's `Event` enum: what a plugin can subscribe to in [`ConfigureResponse::events`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Event {
    RunPodSandbox = 1,
    StopPodSandbox = 2,
    RemovePodSandbox = 3,
    CreateContainer = 4,
    PostCreateContainer = 5,
    StartContainer = 6,
    PostStartContainer = 7,
    UpdateContainer = 8,
    PostUpdateContainer = 9,
    StopContainer = 10,
    RemoveContainer = 11,
}

impl Event {
    /// The event with NRI number `n`, if it is one.
    pub fn from_i32(n: i32) -> Option<Self> {
        use Event::*;
        const ALL: [Event; 11] = [
            RunPodSandbox,
            StopPodSandbox,
            RemovePodSandbox,
            CreateContainer,
            PostCreateContainer,
            StartContainer,
            PostStartContainer,
            UpdateContainer,
            PostUpdateContainer,
            StopContainer,
            RemoveContainer,
        ];
        ALL.into_iter().find(|e| *e as i32 == n)
    }

    /// This event's bit in an event mask: `1 << (event - 1)`.
    pub const fn bit(self) -> i32 {
        1 << (self as i32 - 1)
    }
}

/// What we subscribe to. Pod events are left out: the handler has no use for them, and each
/// subscribed event is a round trip the runtime waits for.
pub const SUBSCRIBED: [Event; 4] = [
    Event::CreateContainer,
    Event::StartContainer,
    Event::StopContainer,
    Event::RemoveContainer,
];

/// The event mask sent in [`ConfigureResponse`] (0x628). Never 0: NRI reads 0 as "everything".
pub const fn event_mask() -> i32 {
    let mut mask = 0;
    let mut i = 0;
    while i < SUBSCRIBED.len() {
        mask |= SUBSCRIBED[i].bit();
        i += 1;
    }
    mask
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Empty {}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct RegisterPluginRequest {
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    #[prost(string, tag = "2")]
    pub plugin_idx: String,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ConfigureRequest {
    #[prost(string, tag = "1")]
    pub config: String,
    #[prost(string, tag = "2")]
    pub runtime_name: String,
    #[prost(string, tag = "3")]
    pub runtime_version: String,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ConfigureResponse {
    #[prost(int32, tag = "2")]
    pub events: i32,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SynchronizeRequest {
    #[prost(message, repeated, tag = "1")]
    pub pods: Vec<PodSandbox>,
    #[prost(message, repeated, tag = "2")]
    pub containers: Vec<Container>,
    /// More parts follow (NRI ≥ 0.10 splits a sync too large for one message; never set by 0.6).
    #[prost(bool, tag = "3")]
    pub more: bool,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SynchronizeResponse {
    /// Echoes the request's `more`: tells the runtime we take split syncs.
    #[prost(bool, tag = "2")]
    pub more: bool,
}

/// The request of CreateContainer, UpdateContainer and StopContainer (UpdateContainer's
/// `linux_resources = 3` is not read).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ContainerRequest {
    #[prost(message, optional, tag = "1")]
    pub pod: Option<PodSandbox>,
    #[prost(message, optional, tag = "2")]
    pub container: Option<Container>,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StateChangeEvent {
    #[prost(int32, tag = "1")]
    pub event: i32,
    #[prost(message, optional, tag = "2")]
    pub pod: Option<PodSandbox>,
    #[prost(message, optional, tag = "3")]
    pub container: Option<Container>,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct PodSandbox {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub uid: String,
    #[prost(string, tag = "4")]
    pub namespace: String,
    #[prost(btree_map = "string, string", tag = "5")]
    pub labels: BTreeMap<String, String>,
    #[prost(btree_map = "string, string", tag = "6")]
    pub annotations: BTreeMap<String, String>,
    #[prost(uint32, tag = "9")]
    pub pid: u32,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Container {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub pod_sandbox_id: String,
    #[prost(string, tag = "3")]
    pub name: String,
    /// NRI's `ContainerState` enum.
    #[prost(int32, tag = "4")]
    pub state: i32,
    #[prost(btree_map = "string, string", tag = "5")]
    pub labels: BTreeMap<String, String>,
    #[prost(btree_map = "string, string", tag = "6")]
    pub annotations: BTreeMap<String, String>,
    #[prost(string, repeated, tag = "7")]
    pub args: Vec<String>,
    #[prost(string, repeated, tag = "8")]
    pub env: Vec<String>,
    #[prost(message, repeated, tag = "9")]
    pub mounts: Vec<Mount>,
    #[prost(message, optional, tag = "11")]
    pub linux: Option<LinuxContainer>,
    #[prost(uint32, tag = "12")]
    pub pid: u32,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Mount {
    #[prost(string, tag = "1")]
    pub destination: String,
    #[prost(string, tag = "2")]
    pub r#type: String,
    #[prost(string, tag = "3")]
    pub source: String,
    #[prost(string, repeated, tag = "4")]
    pub options: Vec<String>,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LinuxContainer {
    #[prost(string, tag = "5")]
    pub cgroups_path: String,
}

impl From<PodSandbox> for crate::Pod {
    fn from(p: PodSandbox) -> Self {
        Self {
            id: p.id,
            name: p.name,
            uid: p.uid,
            namespace: p.namespace,
            labels: p.labels,
            annotations: p.annotations,
            pid: p.pid,
        }
    }
}

impl From<Mount> for crate::Mount {
    fn from(m: Mount) -> Self {
        Self {
            destination: m.destination,
            kind: m.r#type,
            source: m.source,
            options: m.options,
        }
    }
}

impl From<Container> for crate::Container {
    fn from(c: Container) -> Self {
        Self {
            id: c.id,
            pod_sandbox_id: c.pod_sandbox_id,
            name: c.name,
            state: c.state,
            labels: c.labels,
            annotations: c.annotations,
            args: c.args,
            env: c.env,
            mounts: c.mounts.into_iter().map(Into::into).collect(),
            pid: c.pid,
            cgroups_path: c.linux.map(|l| l.cgroups_path).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn event_bits_follow_nri_numbering() {
        assert_eq!(Event::RunPodSandbox.bit(), 1);
        assert_eq!(Event::CreateContainer.bit(), 1 << 3);
        assert_eq!(Event::StartContainer.bit(), 1 << 5);
        assert_eq!(Event::StopContainer.bit(), 1 << 9);
        assert_eq!(Event::RemoveContainer.bit(), 1 << 10);
        assert_eq!(event_mask(), 0x628);
        assert_eq!(Event::from_i32(6), Some(Event::StartContainer));
        assert_eq!(Event::from_i32(0), None);
        assert_eq!(Event::from_i32(12), None);
    }

    #[test]
    fn container_fields_sit_on_nri_tags() {
        // Hand-assembled protobuf: id (1), state (4), a mount (9) with type (2), linux (11) with
        // cgroups_path (5), pid (12), and an unknown hooks field (10) that must be skipped.
        let mut bytes = vec![0x0a, 1, b'c', 0x20, 3];
        bytes.extend([0x4a, 5, 0x12, 3, b'b', b'i', b'n']);
        bytes.extend([0x52, 2, 0x0a, 0]);
        bytes.extend([0x5a, 4, 0x2a, 2, b'/', b'x']);
        bytes.extend([0x60, 42]);
        let c: crate::Container = Container::decode(&bytes[..]).expect("decodes").into();
        assert_eq!((c.id.as_str(), c.state, c.pid), ("c", 3, 42));
        assert_eq!(c.mounts[0].kind, "bin");
        assert_eq!(c.cgroups_path, "/x");
    }

    #[test]
    fn pod_pid_is_tag_9() {
        let pod: crate::Pod = PodSandbox::decode(&[0x12, 1, b'p', 0x48, 7][..])
            .expect("decodes")
            .into();
        assert_eq!((pod.name.as_str(), pod.pid), ("p", 7));
    }
}
