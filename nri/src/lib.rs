//! A containerd NRI plugin: palisade sees, and may refuse, every container the CRI plugin creates.
//!
//! NRI (`nri.pkg.api.v1alpha1`, as spoken by containerd 1.7) runs two ttrpc connections over one
//! unix socket, multiplexed ([`mux`]): on conn 1 the runtime calls our Plugin service, on conn 2 we
//! call its Runtime service. No Rust NRI crate exists, so the three layers are here: the mux
//! framing, the bit of ttrpc NRI needs ([`ttrpc`]) and NRI's messages ([`api`]).
//!
//! The sequence on each connection: we call RegisterPlugin{name, index}; the runtime calls
//! Configure (we answer with our event subscription), then Synchronize with the pods and
//! containers that already exist, then one call per subscribed lifecycle event. How the calls map
//! to [`Handler`] methods:
//!
//! | NRI call (v0.6)                      | Handler method         |
//! |--------------------------------------|------------------------|
//! | `Configure`                          | [`Handler::configured`] |
//! | `Synchronize`                        | [`Handler::synchronize`] |
//! | `CreateContainer`                    | [`Handler::create_container`] (an `Err` refuses it) |
//! | `StateChange(START_CONTAINER)`       | [`Handler::start_container`] |
//! | `StopContainer` (or `StateChange(STOP_CONTAINER)`) | [`Handler::stop_container`] |
//! | `StateChange(REMOVE_CONTAINER)`      | [`Handler::remove_container`] |
//! | `UpdateContainer`, `Shutdown`        | answered, no callback  |
//! | anything else                        | ttrpc `Unimplemented`  |
//!
//! Newer runtimes (NRI ≥ 0.12) try dedicated StartContainer/RemoveContainer RPCs first and fall
//! back to StateChange on `Unimplemented`, so the table holds for them too.
//!
//! Measured with containerd 1.7.24 (NRI v0.6.1, cgroupfs driver) and CRI pods:
//! - CreateContainer comes with `pid` 0, `state` 0 and `cgroups_path` `/k8s.io/<container id>`
//!   (the systemd driver would give `<slice>:cri-containerd:<id>`); the pod carries its sandbox
//!   pid. StartContainer (a StateChange) carries the container's pid with `state` 1 (created);
//!   StopContainer the pid with `state` 3; RemoveContainer pid 0 with `state` 4.
//! - A refused CreateContainer fails the CRI call with `PermissionDenied` and "failed to get NRI
//!   adjustment for container: rpc error: code = PermissionDenied desc = <our message>"; containerd
//!   then sends StopContainer and RemoveContainer for the container it never made.
//! - After a restart (SIGKILL or SIGTERM alike: 1.7 sends no Shutdown), Synchronize lists running
//!   containers with their pid and `state` 3.
//!
//! Fail-open or fail-closed: a CreateContainer request we cannot decode, or a handler panic while
//! judging one, refuses the container (logged at error level). While the plugin is not connected
//! (containerd restarting, before registration) containerd creates containers without asking us:
//! NRI plugins cannot make that fail closed; Synchronize reports what started meanwhile.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub mod api;
pub mod mux;
mod plugin;
mod session;
pub mod ttrpc;

pub use plugin::{run, spawn, PluginHandle};

/// Where and as whom the plugin registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginConfig {
    /// The runtime's NRI socket (containerd's `socket_path`).
    pub socket: PathBuf,
    /// Plugin name shown in the runtime's logs.
    pub name: String,
    /// Two-digit invocation index: plugins are called in ascending order.
    pub index: String,
}

impl Default for PluginConfig {
    /// `/var/run/nri/nri.sock`, `palisade`, `10`.
    fn default() -> Self {
        Self {
            socket: PathBuf::from("/var/run/nri/nri.sock"),
            name: "palisade".into(),
            index: "10".into(),
        }
    }
}

/// A pod sandbox as NRI describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pod {
    pub id: String,
    pub name: String,
    pub uid: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub pid: u32,
}

/// A container mount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mount {
    pub destination: String,
    /// The mount type (NRI's field `type`).
    pub kind: String,
    pub source: String,
    pub options: Vec<String>,
}

/// A container as NRI describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub pod_sandbox_id: String,
    pub name: String,
    /// NRI's `ContainerState`: 0 unknown, 1 created, 2 paused, 3 running, 4 stopped.
    pub state: i32,
    pub labels: BTreeMap<String, String>,
    /// Includes `io.kubernetes.cri.image-name` for CRI containers.
    pub annotations: BTreeMap<String, String>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub mounts: Vec<Mount>,
    /// 0 until the container has started.
    pub pid: u32,
    /// The OCI `linux.cgroupsPath`.
    pub cgroups_path: String,
}

/// What palisade does with NRI's events.
///
/// Called from the plugin task; implementations must be quick (they take a lock and return). A
/// panic is caught and logged; in `create_container` it refuses the container.
pub trait Handler: Send + Sync + 'static {
    /// The runtime configured the plugin (once per connection, before `synchronize`).
    fn configured(&self, _runtime_name: &str, _runtime_version: &str) {}
    /// The pods and containers that exist when the plugin (re)connects.
    fn synchronize(&self, pods: &[Pod], containers: &[Container]);
    /// Err(message) refuses the container: containerd fails its creation with the message.
    fn create_container(&self, pod: &Pod, container: &Container) -> Result<(), String>;
    /// The container's process runs: `container.pid` is set.
    fn start_container(&self, pod: &Pod, container: &Container);
    /// Also called, with pid 0, for a container whose creation failed (refused ones included).
    fn stop_container(&self, pod: &Pod, container: &Container);
    /// Also called for a container whose creation failed (refused ones included); pid is 0.
    fn remove_container(&self, pod: &Pod, container: &Container);
}

/// A framing or encoding error on the NRI connection.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error(transparent)]
    Mux(#[from] mux::MuxError),
    #[error(transparent)]
    Ttrpc(#[from] ttrpc::TtrpcError),
}

/// Errors of the NRI plugin.
#[derive(Debug, thiserror::Error)]
pub enum NriError {
    #[error("cannot connect to NRI socket {path}: {source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("NRI connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("NRI protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("invalid NRI plugin index {0:?}: must be two digits")]
    InvalidIndex(String),
    #[error("runtime did not answer RegisterPlugin within {0:?}")]
    RegistrationTimeout(Duration),
    #[error("runtime refused to register plugin {index}-{name} (code {code}): {message}")]
    RegistrationRefused {
        name: String,
        index: String,
        code: i32,
        message: String,
    },
    #[error("cannot start the NRI plugin thread: {0}")]
    Thread(std::io::Error),
    #[error("the NRI plugin thread panicked")]
    ThreadPanicked,
}

#[cfg(test)]
mod tests;
