//! The state file: a successor registry rebuilt from it (live containers armed again, exited
//! ones kept for their records), files it must ignore, and the kernel reconciled against it.

use super::*;
use crate::containers::registry::state::{self, StateFile, StateRecovery, STATE_VERSION};

const PROFILES: &str = "name: hardened\nmatch: {images: ['app:*']}\ndeny_shells: true\n";

/// A registry as the daemon builds it, on `fx`'s cgroup tree and /proc, with its own kernel
/// doubles (a successor starts with the kernel's state, not its predecessor's handles).
fn daemon_registry(fx: &Fixture, scope: &FakeScope, lsm: &FakeLsm) -> Registry {
    let set = palisade_profiles::ProfileSet::from_texts(&[("p.yaml", PROFILES)]).expect("profiles");
    let cgroups = Cgroups::new(fx.dir.join("cg"), fx.dir.join("proc"));
    Registry::new(Box::new(scope.clone()), cgroups, fx.dir.join("proc"))
        .with_profiles(Arc::new(set), palisade_profiles::Mode::Enforce)
        .with_kernel_enforcer(Box::new(lsm.clone()))
        .with_state_file(state_file(fx))
}

/// c1 (`web` of pod shop/web-0, image app:1) reported by the hook and armed in enforce mode.
fn predecessor_with_web(fx: &Fixture) -> Registry {
    let mut reg = daemon_registry(fx, &FakeScope::default(), &FakeLsm::default());
    let pod = [(cri::CONTAINER_NAME, "web"), (cri::SANDBOX_NAME, "web-0"), (cri::SANDBOX_NAMESPACE, "shop")];
    report_app(&mut reg, "c1", &pod);
    assert_eq!(arm(&mut reg, "c1", 42), Ok("enforce".to_owned()));
    reg
}

fn state_file(fx: &Fixture) -> StateFile {
    StateFile::for_socket(&fx.dir.join("run/hook.sock"))
}

fn saved_ids(fx: &Fixture) -> Vec<String> {
    let saved = state_file(fx).read().expect("readable").expect("written");
    saved.into_iter().map(|c| c.id).collect()
}

#[test]
fn an_armed_container_is_armed_again_by_a_successor_with_its_metadata() {
    let fx = Fixture::new("state-roundtrip");
    drop(predecessor_with_web(&fx));
    let (scope, lsm) = (FakeScope::default(), FakeLsm::default());
    let shared = daemon_registry(&fx, &scope, &lsm).shared();
    let recovery = state::recover(&shared);
    assert_eq!(recovery, StateRecovery { read: true, rearmed: 1, exited: 0, failed: 0 });
    let cg = fx.cgroup_id();
    assert_eq!(scope.tracked(), [cg], "back in the kernel's scope");
    // Armed again as containerd's recovery does: the runtime's setup is over, no mount gate.
    let calls = ["build hardened lock=unwatched".to_owned(), format!("arm {cg} Enforce deny_mount=false gate=None")];
    assert_eq!(*lsm.calls.lock().expect("calls"), calls);
    let mut reg = shared.lock().expect("lock");
    let meta = reg.lookup(cg).expect("resolvable by cgroup id");
    let pod = meta.pod.as_ref().expect("pod");
    assert_eq!((meta.full_id.as_str(), meta.name.as_str(), pod.name.as_str(), pod.namespace.as_str()), ("c1", "web", "web-0", "shop"));
    assert_eq!((meta.image.full.as_str(), meta.namespace.as_str()), ("app:1", "k8s.io"));
    assert_eq!((meta.profile_name(), meta.mode, meta.enforced_by), ("hardened", palisade_profiles::Mode::Enforce, Some(Backend::BpfLsm)));
    assert!(meta.judged_in_kernel);
    assert_eq!((meta.init_pid, meta.users.user(33)), (42, Some("www")), "its init still runs: users read again");
    let s = &reg.summaries()[0];
    assert_eq!((s.sources.as_str(), s.armed, s.state.as_str(), s.pid), ("hook", true, "running", 42));
    // Its init is known again: its exit stops it, and the file forgets it.
    reg.process_exited(42);
    assert_eq!(reg.summaries()[0].state, "stopped");
    assert!(saved_ids(&fx).is_empty());
}

#[test]
fn the_file_holds_only_armed_containers() {
    let fx = Fixture::new("state-bounded");
    let mut reg = predecessor_with_web(&fx);
    report_app(&mut reg, "c2", &[]);
    assert_eq!(saved_ids(&fx), ["c1"], "a reported container is saved once armed");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(state_file(&fx).path()).expect("state file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "root's only");
    reg.stopped("c1");
    assert!(saved_ids(&fx).is_empty(), "a stopped one leaves the file at once");
}

#[test]
fn a_corrupt_or_other_version_file_is_ignored_and_the_registry_starts_empty() {
    let fx = Fixture::new("state-bad");
    let run = fx.dir.join("run");
    std::fs::create_dir_all(&run).expect("run dir");
    let file = run.join("hook.containers.json");
    let other = format!(r#"{{"version":{},"containers":[{{"id":"c9"}}]}}"#, STATE_VERSION + 1);
    for text in ["{\"version\":1,\"containers\":[{\"id\":", "not json", "{\"version\":1}", other.as_str()] {
        std::fs::write(&file, text).expect("write");
        let (scope, lsm) = (FakeScope::default(), FakeLsm::default());
        let shared = daemon_registry(&fx, &scope, &lsm).shared();
        assert_eq!(state::recover(&shared), StateRecovery::default(), "{text}");
        assert!(shared.lock().expect("lock").summaries().is_empty(), "{text}");
        assert!(scope.tracked().is_empty() && lsm.calls.lock().expect("calls").is_empty(), "{text}");
    }
    let e = state_file(&fx).read().expect_err("another version");
    assert_eq!(e.to_string(), format!("{}: state format version {}, this daemon reads version 1", file.display(), STATE_VERSION + 1));
    std::fs::remove_file(&file).expect("rm");
    let shared = daemon_registry(&fx, &FakeScope::default(), &FakeLsm::default()).shared();
    assert!(!state::recover(&shared).read, "no file: a first start, nothing to reconcile against");
}

#[test]
fn a_container_whose_cgroup_went_away_is_not_armed_but_resolves_until_its_grace_ends() {
    let fx = Fixture::new("state-exited");
    drop(predecessor_with_web(&fx));
    let cg = fx.cgroup_id();
    std::fs::remove_dir(fx.dir.join("cg/default/web")).expect("the container's cgroup is removed");
    let (scope, lsm) = (FakeScope::default(), FakeLsm::default());
    let shared = daemon_registry(&fx, &scope, &lsm).shared();
    assert_eq!(state::recover(&shared), StateRecovery { read: true, rearmed: 0, exited: 1, failed: 0 });
    assert!(scope.tracked().is_empty() && lsm.calls.lock().expect("calls").is_empty(), "nothing armed");
    let mut reg = shared.lock().expect("lock");
    let meta = reg.lookup(cg).expect("the gap's records keep their container");
    assert_eq!((meta.name.as_str(), meta.profile_name()), ("web", "hardened"));
    assert_eq!((reg.summaries()[0].state.as_str(), reg.armed_count()), ("stopped", 0));
    assert!(saved_ids(&fx).is_empty(), "an exited container is not saved again");
    reg.now_ns = || u64::MAX;
    reg.purge_expired();
    assert!(reg.lookup(cg).is_none() && reg.summaries().is_empty(), "forgotten after the grace period");
}

#[test]
fn a_container_whose_init_exited_is_not_armed_though_its_empty_cgroup_remains() {
    let fx = Fixture::new("state-init-gone");
    drop(predecessor_with_web(&fx));
    // The runtime keeps the cgroup until the container is deleted; its init is gone.
    std::fs::remove_dir_all(fx.dir.join("proc/42")).expect("the init exits");
    let (scope, lsm) = (FakeScope::default(), FakeLsm::default());
    let shared = daemon_registry(&fx, &scope, &lsm).shared();
    assert_eq!(state::recover(&shared), StateRecovery { read: true, rearmed: 0, exited: 1, failed: 0 });
    assert!(scope.tracked().is_empty() && lsm.calls.lock().expect("calls").is_empty(), "nothing armed");
    let reg = shared.lock().expect("lock");
    assert_eq!(reg.lookup(fx.cgroup_id()).expect("kept for its records").name, "web");
    assert_eq!(reg.summaries()[0].state, "stopped");
}

#[test]
fn reconciling_removes_exactly_the_kernel_entries_no_container_claims() {
    let fx = Fixture::new("state-reconcile");
    drop(predecessor_with_web(&fx));
    let cg = fx.cgroup_id();
    // The kernel as the predecessors left it: c1's cgroup and two of stopped containers in the
    // scope, c1's policy and one of a stopped container in the BPF-LSM maps.
    let scope = FakeScope::default();
    scope.0.lock().expect("scope").extend([(true, cg), (true, 7001), (true, 7002)]);
    let lsm = FakeLsm::default();
    lsm.calls.lock().expect("calls").extend([format!("arm {cg} Enforce deny_mount=false gate=None"), "arm 7003 Enforce deny_mount=false gate=None".to_owned()]);
    let shared = daemon_registry(&fx, &scope, &lsm).shared();
    assert_eq!(state::recover(&shared).rearmed, 1);
    let done = shared.lock().expect("lock").reconcile_kernel();
    assert_eq!(done, Reconciled { untracked: 2, disarmed: 1 });
    assert_eq!(scope.tracked(), [cg]);
    assert_eq!(lsm.armed(), [cg]);
    assert_eq!(lsm.calls.lock().expect("calls").last(), Some(&"disarm 7003".to_owned()));
    assert_eq!(shared.lock().expect("lock").reconcile_kernel(), Reconciled::default(), "idempotent");
}

#[test]
fn containerd_recovering_a_restored_container_merges_its_facts_without_arming_twice() {
    let fx = Fixture::new("state-merge");
    drop(predecessor_with_web(&fx));
    let (scope, lsm) = (FakeScope::default(), FakeLsm::default());
    let shared = daemon_registry(&fx, &scope, &lsm).shared();
    assert_eq!(state::recover(&shared).rearmed, 1);
    // What `Containerd::recover` does next for a container it lists.
    let facts = Facts { image: "app:1@sha256:abcd".into(), namespace: "k8s.io".into(), ..Default::default() };
    shared.lock().expect("lock").report("c1", facts, Source::Containerd);
    assert_eq!(crate::containers::registry::arm(&shared, "c1", 42, Stage::SetUp), Ok("enforce".to_owned()));
    let reg = shared.lock().expect("lock");
    let meta = reg.lookup(fx.cgroup_id()).expect("armed");
    assert_eq!((meta.image.digest.as_str(), meta.name.as_str()), ("sha256:abcd", "web"), "containerd's facts win, the rest stays");
    assert_eq!(reg.summaries()[0].sources, "hook+containerd");
    assert_eq!(lsm.calls.lock().expect("calls").len(), 2, "built and armed once, by the state file's recovery");
    assert_eq!(scope.tracked(), [fx.cgroup_id()]);
}
