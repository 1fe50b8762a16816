use std::path::PathBuf;

use palisade_hook::{OciState, Phase, Reply, Request, PROTOCOL_VERSION};

use super::*;
use crate::containers::cgroup::Cgroups;
use crate::containers::registry::{CgroupScope, Registry};

struct NoScope;

impl CgroupScope for NoScope {
    fn track(&mut self, _: u64) -> Result<(), String> {
        Ok(())
    }
    fn untrack(&mut self, _: u64) -> Result<(), String> {
        Ok(())
    }
    fn watch_untracked(&mut self, _: bool) -> Result<(), String> {
        Ok(())
    }
}

/// A daemon context whose /proc has no processes: every arming fails.
pub(super) fn context(fail_closed: bool) -> Context {
    enforcing(fail_closed, None, palisade_profiles::ProfileSet::default())
}

/// A context whose profiles are `profiles`, enforced by `backend`.
fn enforcing(fail_closed: bool, backend: Option<Backend>, profiles: palisade_profiles::ProfileSet) -> Context {
    let empty = std::env::temp_dir().join("palisade-hook-server-test-no-proc");
    let registry = Registry::new(Box::new(NoScope), Cgroups::new(empty.clone(), empty.clone()), empty)
        .with_profiles(std::sync::Arc::new(profiles), palisade_profiles::Mode::Enforce)
        .shared();
    let control = Arc::new(super::control::Control::new().0);
    Context { registry, containerd: None, status: Mutex::new(DaemonStatus::default()), fail_closed, backend, control, socket: Arc::default() }
}

/// An image with a shell in a bin directory and one outside them.
fn image() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tmp");
    for f in ["bin/bash", "opt/tools/bash"] {
        let host = root.path().join(f);
        std::fs::create_dir_all(host.parent().expect("parent")).expect("mkdir");
        std::fs::write(host, f.as_bytes()).expect("file");
    }
    root
}

fn prepare(image: &str) -> Request {
    prepare_in(image, std::path::Path::new("/nonexistent/rootfs"))
}

fn prepare_in(image: &str, rootfs: &std::path::Path) -> Request {
    let mut annotations = std::collections::BTreeMap::new();
    annotations.insert("io.kubernetes.cri.image-name".to_owned(), image.to_owned());
    Request::Prepare {
        version: PROTOCOL_VERSION,
        state: OciState {
            oci_version: "1.0.2".into(),
            id: "c1".into(),
            status: "creating".into(),
            pid: None,
            bundle: PathBuf::from("/run/b"),
            annotations,
        },
        bundle: Box::new(palisade_hook::BundleFacts {
            rootfs: rootfs.to_owned(),
            mounts: vec![crate::containers::mount_fact("/data", "/srv", "bind", &[])],
            ..Default::default()
        }),
    }
}

fn hardened() -> palisade_profiles::ProfileSet {
    palisade_profiles::ProfileSet::from_texts(&[(
        "p.yaml",
        "name: hardened\nmatch: {images: ['app:*']}\ndeny_shells: true\nimmutable: {enabled: true}\n---\n\
         name: shells\nmatch: {images: ['sh:*']}\nmode: enforce\ndeny_shells: true\n",
    )])
    .expect("profiles")
}

fn create(pid: Option<u32>) -> Request {
    Request::Hook {
        version: PROTOCOL_VERSION,
        phase: Phase::CreateRuntime,
        state: OciState {
            oci_version: "1.0.2".into(),
            id: "c1".into(),
            status: "created".into(),
            pid,
            bundle: PathBuf::from("/run/b"),
            annotations: Default::default(),
        },
        bundle: None,
    }
}

#[test]
fn a_container_that_cannot_be_armed_is_an_error_or_refused_with_fail_closed() {
    let Reply::Error { message } = answer(create(Some(42)), &context(false)) else { panic!("an error reply") };
    assert!(message.starts_with("container c1: read "), "{message}");
    let Reply::Refused { reason } = answer(create(Some(42)), &context(true)) else { panic!("a refusal") };
    assert!(reason.starts_with("palisade: cannot arm the container (container c1: read ") && reason.ends_with("fail_closed is set"), "{reason}");
}

#[test]
fn malformed_requests_are_errors_never_refusals() {
    let Reply::Error { message } = answer(create(None), &context(true)) else { panic!("an error reply") };
    assert_eq!(message, "container c1: createRuntime state has no pid");
    let Reply::Error { message } = answer(Request::ListContainers { version: 99 }, &context(false)) else { panic!("error") };
    assert_eq!(message, "protocol version 99, this daemon speaks 1");
    assert!(matches!(answer(Request::Status { version: PROTOCOL_VERSION }, &context(false)), Reply::Status { .. }));
}

#[test]
fn prepare_gives_an_enforced_container_its_landlock_policy_and_spec_changes() {
    let ctx = enforcing(false, Some(Backend::Landlock), hardened());
    let root = image();
    let Reply::Prepared { profile, mode, landlock_policy, spec } = answer(prepare_in("app:1", root.path()), &ctx) else {
        panic!("prepared")
    };
    assert_eq!((profile.as_str(), mode.as_str()), ("hardened", "enforce"));
    let policy = landlock_policy.expect("a policy");
    assert!(policy["write_beneath"].as_array().expect("list").contains(&serde_json::json!("/data")), "{policy}");
    assert_eq!(policy["deny_execute"], serde_json::json!(["/bin/bash", "/opt/tools/bash"]));
    assert_eq!(policy["no_execute"], serde_json::json!(["/data", "/dev/shm"]));
    let spec = spec.expect("immutable under Landlock changes the spec");
    assert_eq!(spec, palisade_hook::SpecChanges { readonly_rootfs: true, writable_binds: vec![], noexec: vec!["/data".into()] });
    let meta = ctx.registry.lock().expect("lock").prepare("c1").expect("known");
    assert_eq!(meta.enforced_by, Some(Backend::Landlock));
}

#[test]
fn spec_changes_only_for_landlock_confined_immutable_containers() {
    let root = image();
    let ctx = enforcing(false, Some(Backend::Landlock), hardened());
    let Reply::Prepared { profile, landlock_policy, spec, .. } = answer(prepare_in("sh:1", root.path()), &ctx) else { panic!("prepared") };
    assert_eq!((profile.as_str(), landlock_policy.is_some(), spec), ("shells", true, None), "confined, not immutable");
    let ctx = enforcing(false, Some(Backend::BpfLsm), hardened());
    let Reply::Prepared { landlock_policy, spec, .. } = answer(prepare_in("app:1", root.path()), &ctx) else { panic!("prepared") };
    assert_eq!((landlock_policy, spec), (None, None), "BPF-LSM needs no wrapper");
}

#[test]
fn an_unscannable_image_is_an_error_naming_profile_and_backend_or_refused_with_fail_closed() {
    let Reply::Error { message } = answer(prepare("app:1"), &enforcing(false, Some(Backend::Landlock), hardened())) else {
        panic!("error")
    };
    assert!(
        message.starts_with(
            "palisade: container c1: profile hardened (enforce, backend landlock): cannot build the confinement: image scan: read /nonexistent/rootfs: "
        ),
        "{message}"
    );
    let ctx = enforcing(true, Some(Backend::Landlock), hardened());
    let Reply::Refused { reason } = answer(prepare("app:1"), &ctx) else { panic!("refused") };
    assert!(reason.starts_with("palisade: container c1: profile hardened (enforce, backend landlock)") && reason.ends_with("; fail_closed is set"), "{reason}");
    assert_eq!(ctx.registry.lock().expect("lock").prepare("c1").expect("known").enforced_by, None, "nothing confines it");
}

#[test]
fn prepare_without_denials_or_with_an_allowed_audit_annotation_confines_nothing() {
    let ctx = enforcing(false, Some(Backend::Landlock), hardened());
    let Reply::Prepared { profile, landlock_policy, .. } = answer(prepare("other:1"), &ctx) else { panic!("prepared") };
    assert_eq!((profile.as_str(), landlock_policy), ("default", None));
    let audit = |rootfs: &std::path::Path| {
        let mut r = prepare_in("app:1", rootfs);
        if let Request::Prepare { state, .. } = &mut r {
            state.annotations.insert("palisade.io/mode".into(), "audit".into());
        }
        r
    };
    // By default the annotation may not loosen: still enforced and confined, one refusal.
    let root = image();
    let Reply::Prepared { mode, landlock_policy, .. } = answer(audit(root.path()), &ctx) else { panic!("prepared") };
    assert_eq!((mode.as_str(), landlock_policy.is_some()), ("enforce", true));
    assert_eq!(ctx.registry.lock().expect("lock").take_mode_refusals().len(), 1);
    let ctx = enforcing(false, Some(Backend::Landlock), hardened());
    if let Ok(mut r) = ctx.registry.lock() {
        r.set_mode_authority(crate::containers::mode_authority::ModeAuthority { allow_loosen: true, ..Default::default() });
    }
    let Reply::Prepared { mode, landlock_policy, spec, .. } = answer(audit(root.path()), &ctx) else { panic!("prepared") };
    assert_eq!((mode.as_str(), landlock_policy, spec), ("audit", None, None));
}

#[test]
fn an_enforced_profile_without_a_backend_is_refused_only_with_fail_closed() {
    let ctx = enforcing(true, None, hardened());
    if let Ok(mut s) = ctx.status.lock() {
        s.enforcement_backend = "none: enforced profiles are only reported (BPF-LSM: not in the LSM list; Landlock: ABI 0)".into();
    }
    let Reply::Refused { reason } = answer(prepare("app:1"), &ctx) else { panic!("refused") };
    assert_eq!(
        reason,
        "palisade: container c1: profile hardened is enforced and no enforcement backend works on this node \
         (none: enforced profiles are only reported (BPF-LSM: not in the LSM list; Landlock: ABI 0)); fail_closed is set"
    );
    let Reply::Prepared { landlock_policy, .. } = answer(prepare("app:1"), &enforcing(false, None, hardened())) else {
        panic!("prepared")
    };
    assert_eq!(landlock_policy, None);
}

/// A container's rootfs is read through the hook's root, else pid 1's (the node's, also from
/// the daemon's own pod), else at the path the hook gave.
#[test]
fn the_rootfs_is_read_through_the_hooks_root_or_pid_1s() {
    let proc = tempfile::tempdir().expect("tmp");
    let rootfs = std::path::Path::new("/run/containerd/task/k8s.io/c1/rootfs");
    let under = |pid: &str| proc.path().join(pid).join("root/run/containerd/task/k8s.io/c1/rootfs");
    assert_eq!(node_view(proc.path(), Some(42), rootfs), rootfs, "under neither root: the path itself");
    std::fs::create_dir_all(under("1")).expect("mkdir");
    assert_eq!(node_view(proc.path(), Some(42), rootfs), under("1"));
    std::fs::create_dir_all(under("42")).expect("mkdir");
    assert_eq!(node_view(proc.path(), Some(42), rootfs), under("42"));
    assert_eq!(node_view(proc.path(), None, rootfs), under("1"));
    assert_eq!(node_view(proc.path(), Some(42), std::path::Path::new("rootfs")), PathBuf::from("rootfs"), "a relative path is left alone");
}
