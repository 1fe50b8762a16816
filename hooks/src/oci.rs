//! The one reader of an OCI runtime spec (a bundle's `config.json`, or the spec containerd keeps
//! in a container record): the hook, the `palisade-runc` wrapper and the daemon's containerd
//! source all read the same fields the same way through [`RuntimeSpec`].
//!
//! Lenient about what it does not read, strict about what it does:
//! - unknown fields are ignored, missing ones and `null` (Go writes `null` for nil slices and
//!   maps) read as empty;
//! - a field it reads with the wrong JSON type is an error. runc decodes the same file with Go's
//!   `encoding/json`, which refuses it too, so no container that could start is turned away.
//!
//! Reading never rewrites: the wrapper changes a spec as a `serde_json::Value`, so everything it
//! does not touch is written back as it was. This crate stays serde-only (see the crate docs).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The capability whose presence in the bounding set makes a container count as privileged
/// (what Falco's `container.privileged` approximates).
const PRIVILEGED_CAP: &str = "CAP_SYS_ADMIN";

/// The fields of a runtime spec Palisade reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RuntimeSpec {
    /// `ociVersion`.
    #[serde(deserialize_with = "nullable")]
    pub oci_version: String,
    /// `annotations`.
    #[serde(deserialize_with = "nullable")]
    pub annotations: BTreeMap<String, String>,
    /// `hostname`.
    #[serde(deserialize_with = "nullable")]
    pub hostname: String,
    /// `root`.
    #[serde(deserialize_with = "nullable")]
    pub root: Root,
    /// `mounts`, in order.
    #[serde(deserialize_with = "nullable")]
    pub mounts: Vec<Mount>,
    /// `process`.
    #[serde(deserialize_with = "nullable")]
    pub process: Process,
    /// `linux`.
    #[serde(deserialize_with = "nullable")]
    pub linux: Linux,
}

impl RuntimeSpec {
    /// Reads a spec from its JSON text.
    pub fn from_slice(json: &[u8]) -> Result<RuntimeSpec, serde_json::Error> {
        serde_json::from_slice(json)
    }

    /// Reads a spec already parsed as JSON (the wrapper keeps the `Value` to rewrite it).
    pub fn from_value(spec: &serde_json::Value) -> Result<RuntimeSpec, serde_json::Error> {
        RuntimeSpec::deserialize(spec)
    }

    /// `CAP_SYS_ADMIN` is in `process.capabilities.bounding`.
    pub fn privileged(&self) -> bool {
        self.process.capabilities.bounding.iter().any(|c| c == PRIVILEGED_CAP)
    }
}

/// `root`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Root {
    /// The rootfs, often relative to the bundle (`rootfs`).
    #[serde(deserialize_with = "nullable")]
    pub path: String,
    #[serde(deserialize_with = "nullable")]
    pub readonly: bool,
}

/// One entry of `mounts`. Also the mount the hook protocol carries
/// ([`crate::MountFact`]), hence `Serialize`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mount {
    /// The path inside the container.
    #[serde(deserialize_with = "nullable")]
    pub destination: String,
    #[serde(deserialize_with = "nullable")]
    pub source: String,
    /// `type` (`bind`, `proc`, `tmpfs`, ...); empty when the spec leaves it out.
    #[serde(rename = "type", deserialize_with = "nullable")]
    pub kind: String,
    /// `rbind`, `ro`, `nosuid`, ...
    #[serde(deserialize_with = "nullable")]
    pub options: Vec<String>,
}

/// `process`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Process {
    #[serde(deserialize_with = "nullable")]
    pub args: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub capabilities: Capabilities,
}

/// `process.capabilities`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    #[serde(deserialize_with = "nullable")]
    pub bounding: Vec<String>,
}

/// `linux`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Linux {
    /// `cgroupsPath` as the runtime is asked to create it (`/default/<id>` for ctr;
    /// `kubepods-...:cri-containerd:<id>` with the systemd driver).
    #[serde(rename = "cgroupsPath", deserialize_with = "nullable")]
    pub cgroups_path: String,
}

/// `null` → `T::default()`.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_missing_and_null_fields_read_as_empty() {
        let s = RuntimeSpec::from_slice(
            br#"{"ociVersion":"1.0.2","annotations":null,"mounts":null,"process":{"args":null,"user":{"uid":0}},
                 "root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"pid"}]},"vm":{"x":1}}"#,
        )
        .expect("lenient");
        assert_eq!(s.oci_version, "1.0.2");
        assert_eq!(s.root, Root { path: "rootfs".into(), readonly: false });
        assert!(s.annotations.is_empty() && s.mounts.is_empty() && s.process.args.is_empty());
        assert_eq!(s.linux.cgroups_path, "");
        assert!(!s.privileged());
    }

    #[test]
    fn a_read_field_of_the_wrong_type_is_an_error() {
        let e = RuntimeSpec::from_slice(br#"{"root":{"readonly":"yes"}}"#).expect_err("bool");
        assert!(e.to_string().starts_with("invalid type: string \"yes\", expected a boolean"), "{e}");
        let e = RuntimeSpec::from_value(&serde_json::json!({"process": {"args": "sh"}})).expect_err("list");
        assert!(e.to_string().starts_with("invalid type: string \"sh\", expected a sequence"), "{e}");
    }

    #[test]
    fn a_mount_goes_on_the_wire_with_the_spec_names() {
        let m = Mount { destination: "/d".into(), source: "/s".into(), kind: "bind".into(), options: vec!["ro".into()] };
        let wire = serde_json::to_string(&m).expect("encode");
        assert_eq!(wire, r#"{"destination":"/d","source":"/s","type":"bind","options":["ro"]}"#);
        assert_eq!(serde_json::from_str::<Mount>(&wire).expect("decode"), m);
    }

    #[test]
    fn a_mount_without_type_or_options() {
        let s = RuntimeSpec::from_value(&serde_json::json!({"mounts": [{"destination": "/data", "source": "/srv"}]}))
            .expect("spec");
        assert_eq!(
            s.mounts,
            [Mount { destination: "/data".into(), source: "/srv".into(), kind: String::new(), options: vec![] }]
        );
    }
}
