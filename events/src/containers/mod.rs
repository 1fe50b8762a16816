//! What the rules read of a container: its metadata (`container.*`, `k8s.*` fields), its image
//! reference, the enforcement backend, its cgroup id, and the image scan of the programs its
//! profile denies. The daemon's registry (fed by the OCI hook, NRI and containerd) fills these;
//! replays rebuild them from a capture's snapshot.

pub mod cgroup;
pub mod image_scan;

use std::collections::BTreeMap;

use palisade_hook::MountFact;

use crate::process::Users;

/// A container image reference split as Falco splits it, unqualified (`nginx` stays `nginx`):
/// what `container.image.*` fields show. Profile matching uses the Docker-qualified form,
/// `palisade_profiles::reference::CanonicalRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageRef {
    /// As given: `docker.io/library/nginx:1.25`.
    pub full: String,
    /// `docker.io/library/nginx`.
    pub repository: String,
    /// `1.25`; empty when the reference has none.
    pub tag: String,
    /// `sha256:...`; empty when the reference has none.
    pub digest: String,
    /// The image's id in its engine's store (`container.image.id`; podman's 64-hex image id);
    /// empty when the engine did not say.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
}

impl ImageRef {
    /// `[registry[:port]/]path[:tag][@digest]`: the tag is after the last `:` that follows the
    /// last `/` (a registry port is not a tag).
    pub fn parse(reference: &str) -> ImageRef {
        let (name, digest) = match reference.split_once('@') {
            Some((n, d)) => (n, d),
            None => (reference, ""),
        };
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], &name[last_slash + i + 1..]),
            None => (name, ""),
        };
        ImageRef { full: reference.to_owned(), repository: repository.into(), tag: tag.into(), digest: digest.into(), id: String::new() }
    }
}

/// The pod of a CRI container.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PodMeta {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub labels: BTreeMap<String, String>,
}

/// What the rules read of a container; shared (`Arc`) between the registry and events.
#[derive(Debug, Clone, Default)]
pub struct ContainerMeta {
    pub full_id: String,
    pub name: String,
    pub image: ImageRef,
    /// containerd namespace (`default` for ctr, `k8s.io` for CRI).
    pub namespace: String,
    pub pod: Option<PodMeta>,
    pub labels: BTreeMap<String, String>,
    pub mounts: Vec<MountFact>,
    pub privileged: bool,
    /// Users and groups of the container's own root filesystem.
    pub users: Users,
    /// Wall-clock ns when the container was armed (Falco's `container.start_ts`).
    pub start_ns: u64,
    /// The per-image profile that applies (chosen when the container is armed).
    pub profile: Option<std::sync::Arc<palisade_profiles::Profile>>,
    /// The container's mode: the `palisade.io/mode` annotation, else the profile's, else the
    /// configured `mode`.
    pub mode: palisade_profiles::Mode,
    /// The kernel mechanism that blocks what the profile denies; `None`: decisions are only
    /// reported (audit mode, or no backend could confine the container).
    pub enforced_by: Option<Backend>,
    /// Armed in the BPF-LSM programs (audit or enforce): the kernel judges its actions and
    /// reports its decisions, user space does not judge them again.
    pub judged_in_kernel: bool,
    /// The programs of the image the profile denies, by every path they have (hard links and
    /// same-bytes copies included), from the whole-image scan: user space judges the execs of
    /// a container it judges by file identity, not only by name. `None`: not scanned.
    pub denied_programs: Option<std::sync::Arc<image_scan::DeniedPrograms>>,
    /// Its root filesystem on the host (the bundle's rootfs); empty when unknown.
    pub rootfs: std::path::PathBuf,
    /// Its init process (host pid), once armed; 0 before.
    pub init_pid: u32,
    /// The engine that made it (Falco's `container.type`).
    pub engine: Engine,
}

/// The engine that made a container, named as Falco's container plugin names it in
/// `container.type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Engine {
    /// containerd (`ctr`, CRI): the default of every source but podman's.
    #[default]
    Containerd,
    /// podman (libpod), recognised by its `io.container.manager: libpod` annotation.
    Podman,
}

impl Engine {
    /// The engine [`Engine::as_str`] names.
    pub fn from_name(name: &str) -> Option<Engine> {
        [Engine::Containerd, Engine::Podman].into_iter().find(|e| e.as_str() == name)
    }

    /// `containerd` or `podman`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Containerd => "containerd",
            Engine::Podman => "podman",
        }
    }
}

/// An enforcement backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `palisade-init` confines the container's processes with a Landlock ruleset.
    Landlock,
    /// Palisade's LSM programs deny by the container's cgroup.
    BpfLsm,
}

impl Backend {
    /// The backend [`Backend::as_str`] names.
    pub fn from_name(name: &str) -> Option<Backend> {
        [Backend::Landlock, Backend::BpfLsm].into_iter().find(|b| b.as_str() == name)
    }

    /// `landlock` or `bpf-lsm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Landlock => "landlock",
            Backend::BpfLsm => "bpf-lsm",
        }
    }
}

impl ContainerMeta {
    /// The name of the profile it runs under; empty before one is chosen.
    pub fn profile_name(&self) -> &str {
        self.profile.as_ref().map_or("", |p| p.name.as_str())
    }

    /// Falco's short id: the first 12 characters.
    pub fn short_id(&self) -> &str {
        self.full_id.get(..12).unwrap_or(&self.full_id)
    }
}

/// A declared mount, whoever reported it (NRI, containerd's record, the bundle).
pub fn mount_fact(destination: &str, source: &str, kind: &str, options: &[String]) -> MountFact {
    MountFact { destination: destination.into(), source: source.into(), kind: kind.into(), options: options.to_vec() }
}

/// CRI annotations containerd writes into every CRI container's OCI spec.
pub mod cri_annotations {
    pub const CONTAINER_TYPE: &str = "io.kubernetes.cri.container-type";
    pub const CONTAINER_NAME: &str = "io.kubernetes.cri.container-name";
    pub const IMAGE_NAME: &str = "io.kubernetes.cri.image-name";
    pub const SANDBOX_NAME: &str = "io.kubernetes.cri.sandbox-name";
    pub const SANDBOX_NAMESPACE: &str = "io.kubernetes.cri.sandbox-namespace";
    pub const SANDBOX_UID: &str = "io.kubernetes.cri.sandbox-uid";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_like_falco() {
        let cases = [
            ("docker.io/library/nginx:1.25", "docker.io/library/nginx", "1.25", ""),
            ("nginx", "nginx", "", ""),
            ("localhost:5000/team/app", "localhost:5000/team/app", "", ""),
            ("localhost:5000/team/app:v2", "localhost:5000/team/app", "v2", ""),
            ("quay.io/a/b:1@sha256:abcd", "quay.io/a/b", "1", "sha256:abcd"),
            ("busybox@sha256:ef01", "busybox", "", "sha256:ef01"),
        ];
        for (reference, repository, tag, digest) in cases {
            let i = ImageRef::parse(reference);
            assert_eq!((i.repository.as_str(), i.tag.as_str(), i.digest.as_str()), (repository, tag, digest), "{reference}");
            assert_eq!(i.full, reference);
        }
    }

    #[test]
    fn short_id_is_twelve_characters() {
        let m = ContainerMeta { full_id: "0123456789abcdef0123".into(), ..Default::default() };
        assert_eq!(m.short_id(), "0123456789ab");
        let m = ContainerMeta { full_id: "web".into(), ..Default::default() };
        assert_eq!(m.short_id(), "web");
    }
}
