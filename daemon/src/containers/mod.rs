//! Containers: the registry fed by the OCI hook and the NRI plugin, keyed by container id and by
//! cgroup id, and the metadata the `container.*` / `k8s.*` fields read.

pub mod containerd;
pub mod hook_server;
pub mod landlock;
pub mod lsm;
pub mod mode_authority;
pub mod nri;
pub mod podman;
pub mod podman_bolt;
pub mod registry;

pub use palisade_events::containers::{cgroup, cri_annotations, image_scan, mount_fact, Backend, ContainerMeta, Engine, ImageRef, PodMeta};
pub use registry::{Registry, SharedRegistry};
