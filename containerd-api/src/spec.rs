//! The facts Palisade needs from a container's OCI runtime spec, which containerd stores in the
//! container record as a `google.protobuf.Any` whose value is the spec's JSON
//! (`types.containerd.io/opencontainers/runtime-spec/1/Spec`).
//!
//! The JSON is read by the reader the hook and the wrapper use ([`palisade_hook::RuntimeSpec`]):
//! lenient about what it does not read (unknown and missing fields are fine) and strict about what
//! it does: a spec that is not JSON, or whose fields we read have the wrong type, is an error.

use std::collections::BTreeMap;

use palisade_hook::RuntimeSpec;

use crate::proto::Any;

/// The `type_url` containerd gives the runtime spec (ctr, CRI, nerdctl alike).
pub const SPEC_TYPE_URL: &str = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

/// What Palisade reads from a container's OCI runtime spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecFacts {
    /// `annotations`.
    pub annotations: BTreeMap<String, String>,
    /// `linux.cgroupsPath` as written (`/default/<id>` for ctr; `kubepods-...:cri-containerd:<id>` with
    /// the systemd driver).
    pub cgroups_path: String,
    /// `root.path`: the rootfs, often relative to the bundle (`rootfs`).
    pub rootfs: String,
    /// `mounts`, in order.
    pub mounts: Vec<SpecMount>,
    /// `process.capabilities.bounding` contains `CAP_SYS_ADMIN`.
    pub privileged: bool,
    /// `process.args`.
    pub args: Vec<String>,
}

/// One entry of the spec's `mounts` (the shared reader's type).
pub type SpecMount = palisade_hook::MountFact;

/// Why a spec could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The record carries no spec at all.
    #[error("container record has no spec")]
    Missing,
    /// The `Any` holds something other than an OCI runtime spec.
    #[error("spec has type {0:?}, expected {SPEC_TYPE_URL:?}")]
    WrongType(String),
    /// The value is not the JSON we expect.
    #[error("spec JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Decodes the facts from the record's spec.
pub(crate) fn decode(spec: Option<&Any>) -> Result<SpecFacts, SpecError> {
    let any = spec.ok_or(SpecError::Missing)?;
    // An empty type URL is tolerated: older clients have been seen to leave it out.
    if !any.type_url.is_empty() && !any.type_url.ends_with("runtime-spec/1/Spec") {
        return Err(SpecError::WrongType(any.type_url.clone()));
    }
    decode_json(&any.value)
}

/// Decodes the facts from the spec's JSON.
pub fn decode_json(json: &[u8]) -> Result<SpecFacts, SpecError> {
    let spec = RuntimeSpec::from_slice(json)?;
    let privileged = spec.privileged();
    Ok(SpecFacts {
        annotations: spec.annotations,
        cgroups_path: spec.linux.cgroups_path,
        rootfs: spec.root.path,
        mounts: spec.mounts,
        privileged,
        args: spec.process.args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from what `ctr run -d docker.io/library/nginx:1.25 web` stores in containerd 1.7.
    const CTR_SPEC: &str = r#"{
        "ociVersion": "1.1.0",
        "process": {
            "user": {"uid": 0, "gid": 0, "additionalGids": [10]},
            "args": ["nginx", "-g", "daemon off;"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs"},
        "hostname": "",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/data", "source": "/srv/data", "options": ["rbind", "ro"]}
        ],
        "annotations": {"io.palisade.test": "yes", "org.opencontainers.image.ref.name": "1.25"},
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "cgroupsPath": "/default/web",
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"}],
            "maskedPaths": ["/proc/acpi"],
            "readonlyPaths": ["/proc/bus"]
        }
    }"#;

    fn any(type_url: &str, json: &str) -> Any {
        Any {
            type_url: type_url.into(),
            value: json.as_bytes().to_vec(),
        }
    }

    #[test]
    fn decodes_a_ctr_spec() {
        let facts = decode(Some(&any(SPEC_TYPE_URL, CTR_SPEC))).expect("decodes");
        assert_eq!(facts.args, ["nginx", "-g", "daemon off;"]);
        assert_eq!(facts.cgroups_path, "/default/web");
        assert_eq!(facts.rootfs, "rootfs");
        assert!(!facts.privileged);
        assert_eq!(
            facts
                .annotations
                .get("io.palisade.test")
                .map(String::as_str),
            Some("yes")
        );
        assert_eq!(facts.annotations.len(), 2);
        assert_eq!(facts.mounts.len(), 3);
        assert_eq!(
            facts.mounts[0],
            SpecMount {
                destination: "/proc".into(),
                source: "proc".into(),
                kind: "proc".into(),
                options: vec!["nosuid".into(), "noexec".into(), "nodev".into()],
            }
        );
        // A bind mount may leave `type` out.
        assert_eq!(facts.mounts[2].kind, "");
        assert_eq!(facts.mounts[2].source, "/srv/data");
        assert_eq!(facts.mounts[2].options, ["rbind", "ro"]);
    }

    #[test]
    fn cap_sys_admin_in_bounding_set_is_privileged() {
        let json = CTR_SPEC.replace(
            r#""bounding": ["CAP_CHOWN""#,
            r#""bounding": ["CAP_SYS_ADMIN", "CAP_CHOWN""#,
        );
        assert!(decode_json(json.as_bytes()).expect("decodes").privileged);
        // Only the bounding set counts.
        let json = CTR_SPEC.replace(
            r#""effective": ["CAP_CHOWN""#,
            r#""effective": ["CAP_SYS_ADMIN", "CAP_CHOWN""#,
        );
        assert!(!decode_json(json.as_bytes()).expect("decodes").privileged);
    }

    #[test]
    fn missing_and_null_fields_are_empty() {
        assert_eq!(decode_json(b"{}").expect("decodes"), SpecFacts::default());
        let json = br#"{"annotations": null, "mounts": null, "linux": null, "root": null,
                        "process": {"args": null, "capabilities": null}}"#;
        assert_eq!(decode_json(json).expect("decodes"), SpecFacts::default());
        let json = br#"{"process": {"capabilities": {"bounding": null}}, "mounts": [{"destination": "/x", "options": null}]}"#;
        let facts = decode_json(json).expect("decodes");
        assert_eq!(
            facts.mounts,
            [SpecMount {
                destination: "/x".into(),
                ..SpecMount::default()
            }]
        );
    }

    #[test]
    fn empty_type_url_is_accepted() {
        assert_eq!(
            decode(Some(&any("", CTR_SPEC)))
                .expect("decodes")
                .cgroups_path,
            "/default/web"
        );
    }

    #[test]
    fn rejects_what_is_not_a_spec() {
        assert!(matches!(decode(None), Err(SpecError::Missing)));
        let wrong = any(
            "types.containerd.io/opencontainers/runtime-spec/1/Process",
            "{}",
        );
        let err = decode(Some(&wrong)).expect_err("wrong type");
        assert!(err.to_string().contains("runtime-spec/1/Process"), "{err}");
        assert!(matches!(
            decode(Some(&any(SPEC_TYPE_URL, "not json"))),
            Err(SpecError::Json(_))
        ));
        // A field we read with the wrong type is an error, not silently empty.
        let err = decode_json(br#"{"linux": {"cgroupsPath": 7}}"#).expect_err("wrong field type");
        assert!(err.to_string().contains("spec JSON"), "{err}");
        let err = decode_json(br#"{"annotations": {"a": 1}}"#).expect_err("wrong annotation type");
        assert!(matches!(err, SpecError::Json(_)));
    }
}
