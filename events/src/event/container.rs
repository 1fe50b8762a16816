//! `container.*` and `k8s.*` fields, from the registry's [`ContainerMeta`] (libsinsp's
//! container and k8s filterchecks). Outside containers `container.id`, `container.full_id`
//! and `container.name` are `host`, `container.type` is `host`, the rest is missing.
//!
//! In a known container, a mount looked up by a path or index it does not have is not a
//! missing value, as in libsinsp: `container.mount[...]` is `none` and `container.mount.*[...]`
//! is `N/A`. Falco's `sensitive_mount` macro (`not container.mount.dest[/proc*] in
//! ("<NA>","N/A")`) depends on it: a missing value there would make every container "mount"
//! `/proc`.

use std::collections::BTreeMap;

use palisade_hook::MountFact;
use palisade_rules::eval::ops::glob_match;
use palisade_rules::{Extracted, FieldRef, Value};

use super::{num, owned, s};
use crate::containers::ContainerMeta;

/// The field's value at event time `time_ns` (wall clock), or `None` when `field` is not a
/// container field.
pub fn extract<'a>(meta: Option<&'a ContainerMeta>, field: &FieldRef, time_ns: u64) -> Option<Extracted<'a>> {
    if !field.name.starts_with("container.") && !field.name.starts_with("k8s.") {
        return None;
    }
    let Some(m) = meta else {
        return Some(match field.name {
            "container.id" | "container.full_id" | "container.name" | "container.type" => s("host"),
            _ => Extracted::Missing,
        });
    };
    let key = field.arg.as_ref().map(|a| a.key());
    let nonempty = |v: &'a str| if v.is_empty() { Extracted::Missing } else { s(v) };
    let pod = m.pod.as_ref();
    Some(match field.name {
        "container.id" => s(m.short_id()),
        "container.full_id" => s(&m.full_id),
        "container.name" => s(&m.name),
        "container.type" => s(m.engine.as_str()),
        "container.image.id" => nonempty(&m.image.id),
        "container.image" => nonempty(&m.image.full),
        "container.image.repository" => nonempty(&m.image.repository),
        "container.image.tag" => nonempty(&m.image.tag),
        "container.image.digest" => nonempty(&m.image.digest),
        "container.privileged" => Extracted::One(Value::Bool(m.privileged)),
        "container.start_ts" => num(field.ty, m.start_ns as i64),
        "container.mounts" => owned(m.mounts.iter().map(mount_text).collect::<Vec<_>>().join(",")),
        "container.duration" if m.start_ns > 0 => num(field.ty, time_ns.saturating_sub(m.start_ns) as i64),
        "container.mount" => mount(m, key.as_deref(), By::Source).map_or(s("none"), |mt| owned(mount_text(mt))),
        "container.mount.dest" => mount(m, key.as_deref(), By::Source).map_or(s(NO_MOUNT), |mt| s(&mt.destination)),
        "container.mount.source" => mount(m, key.as_deref(), By::Dest).map_or(s(NO_MOUNT), |mt| s(&mt.source)),
        "container.mount.mode" => mount(m, key.as_deref(), By::Source).map_or(s(NO_MOUNT), |_| s("")),
        "container.mount.rdwr" => {
            mount(m, key.as_deref(), By::Source).map_or(s(NO_MOUNT), |mt| s(if read_only(mt) { "false" } else { "true" }))
        }
        "container.mount.propagation" => mount(m, key.as_deref(), By::Source).map_or(s(NO_MOUNT), |mt| s(propagation(mt))),
        "container.label" => key.and_then(|k| m.labels.get(k.as_ref())).map_or(Extracted::Missing, |v| s(v)),
        "container.labels" => owned(pairs(&m.labels)),
        "k8s.pod.name" => pod.map_or(Extracted::Missing, |p| s(&p.name)),
        "k8s.ns.name" => pod.map_or(Extracted::Missing, |p| s(&p.namespace)),
        "k8s.pod.uid" | "k8s.pod.id" => pod.map_or(Extracted::Missing, |p| s(&p.uid)),
        "k8s.pod.label" => pod.and_then(|p| p.labels.get(key?.as_ref())).map_or(Extracted::Missing, |v| s(v)),
        "k8s.pod.labels" => pod.map_or(Extracted::Missing, |p| owned(pairs(&p.labels))),
        _ => Extracted::Missing,
    })
}

/// libsinsp's value of a `container.mount.*[...]` field naming no mount of a known container.
const NO_MOUNT: &str = "N/A";

enum By {
    Source,
    Dest,
}

/// A mount by index, or by a (glob) path matched against its source or destination.
fn mount<'a>(m: &'a ContainerMeta, key: Option<&str>, by: By) -> Option<&'a MountFact> {
    let key = key?;
    if let Ok(i) = key.parse::<usize>() {
        return m.mounts.get(i);
    }
    m.mounts.iter().find(|mt| {
        let path = match by {
            By::Source => &mt.source,
            By::Dest => &mt.destination,
        };
        glob_match(key.as_bytes(), path.as_bytes(), false)
    })
}

fn read_only(m: &MountFact) -> bool {
    m.options.iter().any(|o| o == "ro")
}

fn propagation(m: &MountFact) -> &str {
    const KINDS: [&str; 6] = ["rprivate", "private", "rshared", "shared", "rslave", "slave"];
    m.options.iter().map(String::as_str).find(|o| KINDS.contains(o)).unwrap_or("rprivate")
}

/// libsinsp's `source:dest:mode:rdrw:propagation`.
fn mount_text(m: &MountFact) -> String {
    format!("{}:{}::{}:{}", m.source, m.destination, !read_only(m), propagation(m))
}

fn pairs(labels: &BTreeMap<String, String>) -> String {
    labels.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containers::{ImageRef, PodMeta};
    use palisade_rules::{FieldArg, FieldType};

    fn field(name: &'static str, arg: Option<&str>) -> FieldRef {
        FieldRef {
            id: palisade_rules::FieldId(0),
            name,
            ty: FieldType::Str,
            arg: arg.map(|a| a.parse().map_or(FieldArg::Key(a.to_string()), FieldArg::Index)),
        }
    }

    fn text(e: Extracted<'_>) -> Option<String> {
        match e {
            Extracted::One(Value::Str(b)) => Some(String::from_utf8_lossy(&b).into_owned()),
            Extracted::One(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        }
    }

    fn meta() -> ContainerMeta {
        ContainerMeta {
            full_id: "4f3a9b2c1d0e5f6a7b8c".into(),
            name: "web".into(),
            image: ImageRef::parse("docker.io/library/nginx:1.25"),
            pod: Some(PodMeta {
                name: "web-0".into(),
                namespace: "shop".into(),
                uid: "uid-1".into(),
                labels: BTreeMap::from([("app".into(), "web".into()), ("tier".into(), "front".into())]),
            }),
            mounts: vec![
                MountFact { destination: "/proc".into(), source: "proc".into(), kind: "proc".into(), options: vec![] },
                MountFact {
                    destination: "/var/run/docker.sock".into(),
                    source: "/run/docker.sock".into(),
                    kind: "bind".into(),
                    options: vec!["rbind".into(), "ro".into()],
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn host_events() {
        let get = |n| text(extract(None, &field(n, None), 0).expect("container field"));
        assert_eq!(get("container.id").as_deref(), Some("host"));
        assert_eq!(get("container.name").as_deref(), Some("host"));
        assert_eq!(get("container.image.repository"), None);
        assert_eq!(get("k8s.ns.name"), None);
        assert!(extract(None, &field("proc.name", None), 0).is_none());
    }

    #[test]
    fn container_and_pod_fields() {
        let m = meta();
        let get = |n, a| text(extract(Some(&m), &field(n, a), 0).expect("container field"));
        assert_eq!(get("container.id", None).as_deref(), Some("4f3a9b2c1d0e"));
        assert_eq!(get("container.full_id", None).as_deref(), Some("4f3a9b2c1d0e5f6a7b8c"));
        assert_eq!(get("container.image", None).as_deref(), Some("docker.io/library/nginx:1.25"));
        assert_eq!(get("container.image.repository", None).as_deref(), Some("docker.io/library/nginx"));
        assert_eq!(get("container.image.tag", None).as_deref(), Some("1.25"));
        assert_eq!(get("container.image.digest", None), None);
        assert_eq!(get("container.privileged", None).as_deref(), Some("false"));
        assert_eq!(get("k8s.pod.name", None).as_deref(), Some("web-0"));
        assert_eq!(get("k8s.ns.name", None).as_deref(), Some("shop"));
        assert_eq!(get("k8s.pod.uid", None).as_deref(), Some("uid-1"));
        assert_eq!(get("k8s.pod.label", Some("app")).as_deref(), Some("web"));
        assert_eq!(get("k8s.pod.labels", None).as_deref(), Some("app:web, tier:front"));
    }

    #[test]
    fn the_engine_is_the_type_and_the_image_id_is_known_when_the_engine_says_it() {
        let m = meta();
        let get = |m: &ContainerMeta, n| text(extract(Some(m), &field(n, None), 0).expect("container field"));
        assert_eq!(get(&m, "container.type").as_deref(), Some("containerd"));
        assert_eq!(get(&m, "container.image.id"), None);
        let image = ImageRef { id: "edf7c2ad173c".into(), ..ImageRef::parse("localhost/app:v1") };
        let podman = ContainerMeta { engine: crate::containers::Engine::Podman, image, ..meta() };
        assert_eq!(get(&podman, "container.type").as_deref(), Some("podman"));
        assert_eq!(get(&podman, "container.image.id").as_deref(), Some("edf7c2ad173c"));
    }

    #[test]
    fn mounts_by_source_glob_or_index() {
        let m = meta();
        let get = |n, a| text(extract(Some(&m), &field(n, a), 0).expect("container field"));
        assert_eq!(get("container.mount.dest", Some("/run/docker.sock")).as_deref(), Some("/var/run/docker.sock"));
        assert_eq!(get("container.mount.dest", Some("/run/*")).as_deref(), Some("/var/run/docker.sock"));
        assert_eq!(get("container.mount.dest", Some("/var/lib/kubelet")).as_deref(), Some("N/A"));
        assert_eq!(get("container.mount.source", Some("/var/run/docker.sock")).as_deref(), Some("/run/docker.sock"));
        assert_eq!(get("container.mount.dest", Some("0")).as_deref(), Some("/proc"));
        assert_eq!(get("container.mount.rdwr", Some("/run/docker.sock")).as_deref(), Some("false"));
        assert_eq!(
            get("container.mounts", None).as_deref(),
            Some("proc:/proc::true:rprivate,/run/docker.sock:/var/run/docker.sock::false:rprivate")
        );
    }
}
