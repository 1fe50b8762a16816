//! Messages between `palisade-hook` / `palisade containers` and the daemon.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::oci::{Mount as MountFact, RuntimeSpec};

/// Bumped on any incompatible change; the daemon refuses other versions with a clear error.
pub const PROTOCOL_VERSION: u32 = 1;

/// The OCI runtime state a hook receives on stdin (runtime-spec `state.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    #[serde(default)]
    pub oci_version: String,
    pub id: String,
    #[serde(default)]
    pub status: String,
    /// The container's init process; absent in `poststop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    pub bundle: PathBuf,
    #[serde(default, deserialize_with = "crate::oci::nullable")]
    pub annotations: BTreeMap<String, String>,
}

/// What the daemon needs from `config.json` that the OCI state does not carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleFacts {
    /// `root.path`, made absolute against the bundle.
    pub rootfs: PathBuf,
    pub readonly_rootfs: bool,
    pub args: Vec<String>,
    pub hostname: String,
    /// `linux.cgroupsPath` as the runtime was asked to create it.
    pub cgroups_path: String,
    pub mounts: Vec<MountFact>,
    /// `CAP_SYS_ADMIN` in the bounding set: what Falco's `container.privileged` approximates.
    pub privileged: bool,
}

impl BundleFacts {
    /// Reads the facts from `bundle/config.json` (see [`RuntimeSpec`] for what is an error).
    pub fn read(bundle: &Path) -> std::io::Result<BundleFacts> {
        let text = std::fs::read(bundle.join("config.json"))?;
        let spec = RuntimeSpec::from_slice(&text).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        Ok(BundleFacts::from_spec(bundle, spec))
    }

    /// The facts of the runtime spec of the bundle in `bundle`.
    pub fn from_spec(bundle: &Path, spec: RuntimeSpec) -> BundleFacts {
        let privileged = spec.privileged();
        let rootfs = if spec.root.path.is_empty() { PathBuf::new() } else { bundle.join(&spec.root.path) };
        BundleFacts {
            rootfs,
            readonly_rootfs: spec.root.readonly,
            args: spec.process.args,
            hostname: spec.hostname,
            cgroups_path: spec.linux.cgroups_path,
            mounts: spec.mounts,
            privileged,
        }
    }
}

/// The OCI hook stage the hook was called for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// After the runtime created the container (cgroup and init process exist), before the
    /// entrypoint runs: the daemon arms the container before answering.
    CreateRuntime,
    /// After the container was deleted.
    Poststop,
}

/// One request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "camelCase")]
pub enum Request {
    Hook {
        version: u32,
        phase: Phase,
        state: OciState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bundle: Option<Box<BundleFacts>>,
    },
    /// `palisade-runc`, before `runc create`: which enforcement the container needs in its spec.
    /// `state.pid` is absent (nothing runs yet); `bundle` carries the spec's facts.
    Prepare {
        version: u32,
        state: OciState,
        bundle: Box<BundleFacts>,
    },
    /// `palisade containers`.
    ListContainers { version: u32 },
    /// `palisade status`.
    Status { version: u32 },
    /// `palisade capture`: the daemon writes what it sees to `path` (a Palisade capture) until
    /// the client sends another line or closes the connection, or `duration_ms` passes. The
    /// daemon answers [`Reply::CaptureStarted`] at once and [`Reply::CaptureEnded`] at the end.
    Capture {
        version: u32,
        /// Absolute path of the file to create (an existing file is refused).
        path: String,
        /// Only this container's syscalls (full id, unique id prefix, or name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        container: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
    },
    /// `palisade profiles report`: what the container's profile denied or would have denied.
    ProfileReport {
        version: u32,
        /// Full id, unique id prefix, or name.
        container: String,
    },
}

/// What a profile denied, or would have denied in enforce mode, per setting: how a team
/// decides whether a container can go from audit to enforce.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionReport {
    /// The profile judged against (empty: none).
    pub profile: String,
    /// The container's mode while it was judged (empty for a recording).
    #[serde(default)]
    pub mode: String,
    /// Wall-clock ns of the first and last decision (0: none yet).
    pub first_ns: u64,
    pub last_ns: u64,
    /// One entry per profile setting that decided, most frequent first.
    pub settings: Vec<SettingReport>,
}

/// One profile setting's decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingReport {
    /// `deny_shells`, `deny_package_managers`, `exec.deny PATTERN`, `exec.allow`, `immutable`, ...
    pub setting: String,
    /// Actions it decided on.
    pub count: u64,
    /// Of those, how many the kernel refused (enforce mode with a backend).
    pub enforced: u64,
    /// Distinct (action, target) pairs, beyond the examples kept.
    pub distinct_targets: u64,
    /// The first decisions, one per distinct (action, target).
    pub examples: Vec<ReportExample>,
}

/// One decision, as an example.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportExample {
    pub time_ns: u64,
    pub container_id: String,
    pub container_name: String,
    /// `exec`, `write`, ...
    pub action: String,
    pub target: String,
    /// `command=...` or `pid=N`.
    pub process: String,
    /// How many decisions had this action and target.
    pub count: u64,
}

/// The running daemon, as `palisade status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub version: String,
    pub uptime_s: u64,
    /// The configuration file read (empty: built-in defaults).
    pub config: String,
    pub rules_files: Vec<String>,
    pub rules_loaded: u64,
    pub rules_active: u64,
    pub reloads: u64,
    pub reload_errors: u64,
    pub host_monitoring: bool,
    pub containers_tracked: u64,
    pub events: u64,
    pub alerts: u64,
    pub kernel_drops: u64,
    pub outputs_dropped: u64,
    /// `/sys/kernel/security/lsm`, or why it could not be read.
    pub kernel_lsms: String,
    /// Whether BPF-LSM is in the kernel's LSM list (loading is probed by the enforcement backend).
    pub bpf_lsm_listed: bool,
    /// What enforces: `none (detection only)` until an enforcement backend is armed.
    pub enforcement_backend: String,
    /// Per container, syscall records the kernel did not write because its cgroup was over
    /// its budget (`syscall_budget`), most first. Absent from older daemons.
    #[serde(default)]
    pub budget_drops: Vec<BudgetDrops>,
    /// Records over budget the kernel could not attribute to a cgroup (its table was full).
    #[serde(default)]
    pub budget_drops_unattributed: u64,
    /// Hook socket connections refused: `max_connections` were being served.
    #[serde(default)]
    pub hook_refused_busy: u64,
    /// Hook socket connections refused for their peer (not root, not `hook_socket_group`).
    #[serde(default)]
    pub hook_refused_peer: u64,
    /// Detection's kernel side as the daemon found it at start: pinned or not, and what it
    /// adopted from the previous daemon (records waiting, drops before it). Absent from older
    /// daemons.
    #[serde(default)]
    pub detection: String,
    /// Records the kernel dropped before this daemon started (the pinned counter's total then:
    /// during an earlier daemon or while none ran); `kernel_drops` counts from there.
    #[serde(default)]
    pub kernel_drops_inherited: u64,
}

/// One container's syscall budget drops, as `palisade status` shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetDrops {
    /// Full container id, or `host` (cgroups of no tracked container).
    pub container_id: String,
    pub container_name: String,
    /// Records dropped since the daemon started.
    pub drops: u64,
    /// The same per cgroup v2 id, most first (at most 8: the host has many cgroups).
    #[serde(default)]
    pub cgroups: Vec<CgroupDrops>,
}

/// One cgroup's syscall budget drops.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupDrops {
    pub cgroup_id: u64,
    pub drops: u64,
}

/// A tracked container, as `palisade containers` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    /// Who reported it, `+`-joined: `nri`, `hook`, `containerd` (recovered at daemon start).
    pub sources: String,
    pub mode: String,
    /// The per-image profile (empty until armed).
    #[serde(default)]
    pub profile: String,
    pub armed: bool,
    pub cgroup_id: u64,
    pub pid: u32,
    pub state: String,
    /// The container's root filesystem on the host (from its bundle); empty when unknown.
    #[serde(default)]
    pub rootfs: String,
    /// Wall-clock ns: first reported, armed, stopped (0: not yet).
    #[serde(default)]
    pub created_ns: u64,
    #[serde(default)]
    pub started_ns: u64,
    #[serde(default)]
    pub stopped_ns: u64,
}

/// The changes `palisade-runc` makes to the runtime spec of a container the Landlock backend
/// confines, besides starting its processes under `palisade-init`. The daemon decides them from
/// the profile and the spec's mounts; the wrapper applies them as given.
///
/// Why a read-only root: Landlock has no right for metadata (chmod, chown, utimes, xattrs), so
/// an immutable image is made immutable by the VFS itself. With `root.readonly` every change to
/// an image file fails with `EROFS` before any LSM is asked, and the paths that must stay
/// writable become bind mounts of themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecChanges {
    /// Set `root.readonly` (immutable profiles).
    #[serde(default)]
    pub readonly_rootfs: bool,
    /// Container paths on the root filesystem that stay writable (`allow_write` entries not
    /// beneath a spec mount): each becomes a read-write bind mount of the rootfs's own directory
    /// (`<rootfs>/<path>`, created as a directory when missing) onto itself.
    #[serde(default)]
    pub writable_binds: Vec<String>,
    /// Mount destinations (spec mounts and `writable_binds`) that get the `noexec` option: the
    /// writable places of an immutable container, unless the profile lists them as
    /// `immutable.allow_writable_exec` (W^X).
    #[serde(default)]
    pub noexec: Vec<String>,
}

/// The daemon's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "camelCase")]
pub enum Reply {
    /// The container is tracked; at `createRuntime`, its cgroup is in the kernel's scope.
    Armed { container_id: String, mode: String },
    /// Acknowledged (`poststop`).
    Ok,
    /// The answer to [`Request::Prepare`]: the container's profile and mode and, when the
    /// Landlock backend enforces it, the `palisade-init` policy (JSON, see `palisade-init --help`)
    /// the wrapper must start the container's processes under.
    Prepared {
        profile: String,
        mode: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        landlock_policy: Option<serde_json::Value>,
        /// How the wrapper changes the spec of a container the Landlock backend confines
        /// (present only with `landlock_policy`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spec: Option<SpecChanges>,
    },
    /// Policy refuses the container: the hook fails whatever its failure policy.
    Refused { reason: String },
    Containers { containers: Vec<ContainerSummary> },
    Status { status: Box<DaemonStatus> },
    /// The capture file is open and the first frames written.
    CaptureStarted {
        path: String,
        /// The container it is limited to (full id), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        container: Option<String>,
    },
    /// The capture is complete.
    CaptureEnded {
        records: u64,
        bytes: u64,
        kernel_drops: u64,
        /// `duration`, `stopped`, `daemon stopping`, or the write error that ended it.
        reason: String,
    },
    /// The answer to [`Request::ProfileReport`].
    Report {
        container_id: String,
        container_name: String,
        image: String,
        report: Box<PromotionReport>,
    },
    /// The request could not be served (bad version, unreadable cgroup, ...).
    Error { message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_without_budget_drops_still_parses() {
        // What a daemon from before per-cgroup budgets sends.
        let mut old = serde_json::to_value(DaemonStatus::default()).expect("json");
        let map = old.as_object_mut().expect("object");
        map.remove("budget_drops");
        map.remove("budget_drops_unattributed");
        map.remove("hook_refused_busy");
        map.remove("hook_refused_peer");
        let s: DaemonStatus = serde_json::from_value(old).expect("old status");
        assert!(s.budget_drops.is_empty() && s.budget_drops_unattributed == 0);
    }

    #[test]
    fn facts_from_a_runc_spec() {
        let spec = serde_json::json!({
            "ociVersion": "1.0.2",
            "process": {"args": ["/bin/sh", "-c", "true"],
                        "capabilities": {"bounding": ["CAP_CHOWN", "CAP_SYS_ADMIN"]}},
            "root": {"path": "rootfs", "readonly": true},
            "hostname": "web",
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                       {"destination": "/data", "type": "bind", "source": "/srv/data",
                        "options": ["rbind", "ro"]}],
            "linux": {"cgroupsPath": "/default/web"}
        });
        let f = BundleFacts::from_spec(Path::new("/run/b"), RuntimeSpec::from_value(&spec).expect("spec"));
        assert_eq!(f.rootfs, PathBuf::from("/run/b/rootfs"));
        assert!(f.readonly_rootfs && f.privileged);
        assert_eq!(f.args, ["/bin/sh", "-c", "true"]);
        assert_eq!((f.hostname.as_str(), f.cgroups_path.as_str()), ("web", "/default/web"));
        assert_eq!(f.mounts[1].options, ["rbind", "ro"]);
        assert_eq!(f.mounts[1].kind, "bind");
    }

    #[test]
    fn absolute_root_path_stays_absolute() {
        let spec = serde_json::json!({"root": {"path": "/var/lib/rootfs"}});
        let f = BundleFacts::from_spec(Path::new("/run/b"), RuntimeSpec::from_value(&spec).expect("spec"));
        assert_eq!(f.rootfs, PathBuf::from("/var/lib/rootfs"));
        assert!(!f.privileged);
    }

    #[test]
    fn state_from_runc_stdin() {
        let s: OciState = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","id":"abc","status":"created","pid":42,"bundle":"/b",
                "annotations":{"io.kubernetes.cri.image-name":"nginx:1.25"}}"#,
        )
        .expect("parse");
        assert_eq!((s.id.as_str(), s.pid), ("abc", Some(42)));
        let line = serde_json::to_string(&Request::Hook {
            version: PROTOCOL_VERSION,
            phase: Phase::CreateRuntime,
            state: s,
            bundle: None,
        })
        .expect("encode");
        assert!(line.starts_with(r#"{"request":"hook","version":1,"phase":"createRuntime""#), "{line}");
    }
}
