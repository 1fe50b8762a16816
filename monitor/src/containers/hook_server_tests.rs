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
fn context(fail_closed: bool) -> Context {
    enforcing(fail_closed, None, palisade_profiles::ProfileSet::default())
}

/// A context whose profiles are `profiles`, enforced by `backend`.
fn enforcing(fail_closed: bool, backend: Option<Backend>, profiles: palisade_profiles::ProfileSet) -> Context {
    let empty = std::env::temp_dir().join("palisade-hook-server-test-no-proc");
    let registry = Registry::new(Box::new(NoScope), Cgroups::new(empty.clone(), empty.clone()), empty)
        .with_profiles(std::sync::Arc::new(profiles), palisade_profiles::Mode::Enforce)
        .shared();
    let control = Arc::new(crate::control::Control::new().0);
    Context { registry, containerd: None, status: Mutex::new(DaemonStatus::default()), fail_closed, backend, control }
}

fn prepare(image: &str) -> Request {
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
            rootfs: PathBuf::from("/nonexistent/rootfs"),
            mounts: vec![crate::containers::mount_fact("/data", "/srv", "bind", &[])],
            ..Default::default()
        }),
    }
}

fn hardened() -> palisade_profiles::ProfileSet {
    palisade_profiles::ProfileSet::from_texts(&[(
        "p.yaml",
        "name: hardened\nmatch: {images: ['app:*']}\ndeny_shells: true\nimmutable: {enabled: true}\n",
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
    assert!(reason.starts_with("cannot arm the container (container c1: read ") && reason.ends_with("fail_closed is set"), "{reason}");
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
fn prepare_gives_an_enforced_container_its_landlock_policy() {
    let ctx = enforcing(false, Some(Backend::Landlock), hardened());
    let Reply::Prepared { profile, mode, landlock_policy, .. } = answer(prepare("app:1"), &ctx) else { panic!("prepared") };
    assert_eq!((profile.as_str(), mode.as_str()), ("hardened", "enforce"));
    let policy = landlock_policy.expect("a policy");
    assert!(policy["write_beneath"].as_array().expect("list").contains(&serde_json::json!("/data")), "{policy}");
    let meta = ctx.registry.lock().expect("lock").prepare("c1").expect("known");
    assert_eq!(meta.enforced_by, Some(Backend::Landlock));
}

#[test]
fn prepare_without_denials_or_in_audit_mode_confines_nothing() {
    let ctx = enforcing(false, Some(Backend::Landlock), hardened());
    let Reply::Prepared { profile, landlock_policy, .. } = answer(prepare("other:1"), &ctx) else { panic!("prepared") };
    assert_eq!((profile.as_str(), landlock_policy), ("default", None));
    let mut audit = prepare("app:1");
    if let Request::Prepare { state, .. } = &mut audit {
        state.annotations.insert("palisade.io/mode".into(), "audit".into());
    }
    let Reply::Prepared { mode, landlock_policy, .. } = answer(audit, &ctx) else { panic!("prepared") };
    assert_eq!((mode.as_str(), landlock_policy), ("audit", None));
}

#[test]
fn an_enforced_profile_without_a_backend_is_refused_only_with_fail_closed() {
    let Reply::Refused { reason } = answer(prepare("app:1"), &enforcing(true, None, hardened())) else { panic!("refused") };
    assert_eq!(reason, "profile hardened is enforced and no enforcement backend works on this node; fail_closed is set");
    let Reply::Prepared { landlock_policy, .. } = answer(prepare("app:1"), &enforcing(false, None, hardened())) else {
        panic!("prepared")
    };
    assert_eq!(landlock_policy, None);
}
