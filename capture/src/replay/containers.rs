//! Containers in a `.scap` capture, the way libsinsp finds them: a thread's container is named
//! by its cgroup paths (`/docker/<id>`, `docker-<id>.scope`, `cri-containerd-<id>.scope`,
//! `crio-<id>.scope`, `libpod-<id>.scope`, `/kubepods/.../<id>`), and the capture's
//! `container` events (`CONTAINER_JSON_E`, or the old `CONTAINER_E`) carry the metadata.
//!
//! Replay keys each container by a non-zero number derived from its id and stores it where the
//! live path has the cgroup id, so events find their container as live events do.

use palisade_hook::MountFact;
use serde_json::Value;

use palisade_events::containers::{mount_fact, ContainerMeta, ImageRef};

/// The replay key of container `id` (FNV-1a of the id; never 0, which means the host).
pub(super) fn key(id: &str) -> u64 {
    let h = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    h.max(1)
}

/// The 12-character container id named by a thread's cgroups (`subsys=path` or paths), if any.
pub(super) fn id_from_cgroups<S: AsRef<str>>(cgroups: &[S]) -> Option<String> {
    cgroups.iter().find_map(|c| {
        let path = c.as_ref().split_once('=').map_or(c.as_ref(), |(_, p)| p);
        let last = path.rsplit('/').next()?;
        let last = last.strip_suffix(".scope").unwrap_or(last);
        let id = ["docker-", "cri-containerd-", "crio-", "libpod-", "containerd-"]
            .iter()
            .find_map(|p| last.strip_prefix(p))
            .unwrap_or(last);
        (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id[..12].to_owned())
    })
}

/// The metadata of a `CONTAINER_JSON_E` payload (`{"container": {...}}`).
pub(super) fn from_json(text: &str) -> Option<ContainerMeta> {
    let v: Value = serde_json::from_str(text).ok()?;
    let c = v.get("container")?;
    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let image = s("image");
    let mut meta = from_parts(&s("id"), &s("name"), &image);
    if !s("imagerepo").is_empty() {
        meta.image.repository = s("imagerepo");
        meta.image.tag = s("imagetag");
    }
    if !s("imagedigest").is_empty() {
        meta.image.digest = s("imagedigest");
    }
    meta.privileged = c.get("privileged").and_then(Value::as_bool).unwrap_or(false);
    if let Some(labels) = c.get("labels").and_then(Value::as_object) {
        meta.labels = labels.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect();
    }
    meta.mounts = c.get("Mounts").and_then(Value::as_array).map(|m| m.iter().filter_map(mount).collect()).unwrap_or_default();
    Some(meta)
}

/// The metadata of an id, a name and an image reference (`CONTAINER_E`).
pub(super) fn from_parts(id: &str, name: &str, image: &str) -> ContainerMeta {
    ContainerMeta { full_id: id.to_owned(), name: name.to_owned(), image: ImageRef::parse(image), ..ContainerMeta::default() }
}

/// A Docker mount (`{"Source", "Destination", "Mode", "RW", ...}`).
fn mount(m: &Value) -> Option<MountFact> {
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default();
    let rw = m.get("RW").and_then(Value::as_bool).unwrap_or(true);
    let options = vec![if rw { "rw" } else { "ro" }.to_owned()];
    Some(mount_fact(m.get("Destination")?.as_str()?, s("Source"), "bind", &options))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "5ea73306803029b0b20a0b5c1f5b1f1a3cc6b0e1e4ff1b1e5b9e0b7bd3b6a9f2";

    #[test]
    fn ids_from_cgroup_paths() {
        for c in [
            format!("cpuset=/docker/{ID}"),
            format!("/system.slice/docker-{ID}.scope"),
            format!("0::/kubepods.slice/kubepods-besteffort.slice/cri-containerd-{ID}.scope"),
            format!("memory=/kubepods/besteffort/pod1234/{ID}"),
            format!("/machine.slice/libpod-{ID}.scope"),
            format!("/kubepods.slice/crio-{ID}.scope"),
        ] {
            assert_eq!(id_from_cgroups(&["cpu=/".to_owned(), c.clone()]), Some("5ea733068030".to_owned()), "{c}");
        }
        for host in ["cpuset=/", "0::/user.slice/user-0.slice/session-1.scope", "cpu=/docker/notanid"] {
            assert_eq!(id_from_cgroups(&[host]), None, "{host}");
        }
    }

    #[test]
    fn docker_metadata() {
        let json = r#"{"container":{"Mounts":[{"Destination":"/data","Source":"/srv","RW":false}],"id":"9dbcbd0c435f",
            "image":"nginx:latest","imagedigest":"sha256:96fb","imagerepo":"nginx","imagetag":"latest",
            "labels":{"maintainer":"NGINX"},"name":"epic_cray","privileged":true,"type":0}}"#;
        let m = from_json(json).expect("container");
        assert_eq!((m.full_id.as_str(), m.name.as_str(), m.privileged), ("9dbcbd0c435f", "epic_cray", true));
        assert_eq!((m.image.repository.as_str(), m.image.tag.as_str(), m.image.digest.as_str()), ("nginx", "latest", "sha256:96fb"));
        assert_eq!(m.labels.get("maintainer").map(String::as_str), Some("NGINX"));
        assert_eq!(m.mounts, vec![mount_fact("/data", "/srv", "bind", &["ro".to_owned()])]);
        let short = from_json(r#"{"container":{"id":"ad8301db070e","image":"nginx:latest","name":"mitm_nginx","type":0}}"#)
            .expect("container");
        assert_eq!((short.image.repository.as_str(), short.image.tag.as_str()), ("nginx", "latest"));
        assert!(from_json("{}").is_none() && from_json("not json").is_none());
        assert_ne!(key("a"), key("b"));
        assert_ne!(key(""), 0);
    }
}
