use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::*;
use crate::containers::mode_authority::ModeAuthority;
use crate::containers::lsm::{PolicyBuilder, PolicyInput};
use palisade_lsm::ContainerPolicy;

/// Both halves of arming from the createRuntime hook, the lock held throughout (the daemon's
/// path, [`super::arm`], releases it while the policy is built).
fn arm(reg: &mut Registry, id: &str, pid: u32) -> Result<String, String> {
    match reg.begin_arm(id, pid, Stage::CreateRuntime)? {
        Begun::Armed(mode) => Ok(mode),
        Begun::Kernel(job) => {
            let policy = job.build();
            reg.finish_arm(job, policy)
        }
    }
}

/// Records what the registry asked the kernel to do.
#[derive(Clone, Default)]
struct FakeScope(Arc<Mutex<Vec<(bool, u64)>>>);

impl CgroupScope for FakeScope {
    fn track(&mut self, id: u64) -> Result<(), String> {
        self.0.lock().map_err(|e| e.to_string())?.push((true, id));
        Ok(())
    }
    fn untrack(&mut self, id: u64) -> Result<(), String> {
        self.0.lock().map_err(|e| e.to_string())?.push((false, id));
        Ok(())
    }
    fn watch_untracked(&mut self, _on: bool) -> Result<(), String> {
        Ok(())
    }
    fn tracked(&self) -> Vec<u64> {
        let mut set = std::collections::BTreeSet::new();
        for (track, id) in self.0.lock().map(|l| l.clone()).unwrap_or_default() {
            if track {
                set.insert(id);
            } else {
                set.remove(&id);
            }
        }
        set.into_iter().collect()
    }
}

/// A fake /proc and cgroup2 mount with one container process, pid 42, in /default/web.
struct Fixture {
    dir: PathBuf,
    scope: FakeScope,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("palisade-registry-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("proc/42/root/etc")).expect("mkdir");
        std::fs::create_dir_all(dir.join("cg/default/web")).expect("mkdir");
        std::fs::write(dir.join("proc/42/cgroup"), "0::/default/web\n").expect("write");
        std::fs::write(dir.join("proc/42/root/etc/passwd"), "root:x:0:0::/:/bin/sh\nwww:x:33:33::/:/bin/sh\n")
            .expect("write");
        Fixture { dir, scope: FakeScope::default() }
    }

    fn registry(&self) -> Registry {
        let cgroups = Cgroups::new(self.dir.join("cg"), self.dir.join("proc"));
        Registry::new(Box::new(self.scope.clone()), cgroups, self.dir.join("proc"))
    }

    fn cgroup_id(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(self.dir.join("cg/default/web")).expect("stat").ino()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn hook_state(id: &str, annotations: &[(&str, &str)]) -> OciState {
    OciState {
        oci_version: "1.0.2".into(),
        id: id.into(),
        status: "created".into(),
        pid: Some(42),
        bundle: PathBuf::from(format!("/run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}")),
        annotations: annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

#[test]
fn hook_arms_the_containers_cgroup_and_events_resolve_to_it() {
    let fx = Fixture::new("hook");
    let mut reg = fx.registry();
    let state = hook_state("0123456789abcdef", &[(cri::IMAGE_NAME, "docker.io/library/nginx:1.25")]);
    let bundle = BundleFacts { rootfs: PathBuf::from("/run/b/rootfs"), ..Default::default() };
    reg.report(&state.id, Facts::from_hook(&state, &bundle), Source::Hook);
    assert_eq!(arm(&mut reg, &state.id, 42), Ok("audit".to_owned()));
    assert_eq!(*fx.scope.0.lock().expect("lock"), [(true, fx.cgroup_id())]);
    let meta = reg.lookup(fx.cgroup_id()).expect("resolvable by cgroup id");
    assert_eq!(meta.short_id(), "0123456789ab");
    assert_eq!(meta.image.repository, "docker.io/library/nginx");
    assert_eq!(meta.namespace, "k8s.io");
    assert_eq!(meta.users.user(33), Some("www"), "users come from the container's root");
    let summary = &reg.summaries()[0];
    assert_eq!(summary.rootfs, "/run/b/rootfs");
    assert!(summary.created_ns > 0 && summary.started_ns >= summary.created_ns && summary.stopped_ns == 0);
    // Arming twice (hook after NRI start, or a retried hook) changes nothing.
    assert!(arm(&mut reg, &state.id, 42).is_ok());
    assert_eq!(fx.scope.0.lock().expect("lock").len(), 1);
}

#[test]
fn nri_and_hook_make_one_entry_with_the_richest_metadata() {
    let fx = Fixture::new("dedup");
    let mut reg = fx.registry();
    let pod = PodMeta {
        name: "web-0".into(),
        namespace: "shop".into(),
        uid: "u-1".into(),
        labels: BTreeMap::from([("app".to_string(), "web".to_string())]),
    };
    let nri = Facts { name: "nginx".into(), image: "docker.io/library/nginx:1.25".into(), pod: Some(pod), ..Default::default() };
    reg.report("c1", nri, Source::Nri);
    let state = hook_state(
        "c1",
        &[(cri::CONTAINER_NAME, "nginx"), (cri::SANDBOX_NAME, "web-0"), (cri::SANDBOX_NAMESPACE, "shop")],
    );
    reg.report("c1", Facts::from_hook(&state, &BundleFacts::default()), Source::Hook);
    arm(&mut reg, "c1", 42).expect("arm");
    let list = reg.summaries();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].sources.as_str(), list[0].armed, list[0].pid), ("nri+hook", true, 42));
    assert_eq!(reg.armed_count(), 1);
    let meta = reg.lookup(fx.cgroup_id()).expect("lookup");
    let pod = meta.pod.as_ref().expect("pod");
    assert_eq!(pod.labels.get("app").map(String::as_str), Some("web"), "the hook's pod facts keep NRI's labels");
    assert_eq!((meta.name.as_str(), pod.namespace.as_str()), ("nginx", "shop"));
}

#[test]
fn stopped_leaves_the_scope_but_stays_resolvable_for_the_grace_period() {
    let fx = Fixture::new("stop");
    let mut reg = fx.registry();
    reg.report("c1", Facts::default(), Source::Hook);
    arm(&mut reg, "c1", 42).expect("arm");
    reg.stopped("c1");
    reg.stopped("c1");
    assert_eq!(*fx.scope.0.lock().expect("lock"), [(true, fx.cgroup_id()), (false, fx.cgroup_id())]);
    assert!(reg.lookup(fx.cgroup_id()).is_some(), "late records keep their container");
    assert!(!reg.summaries()[0].armed);
    assert_eq!(reg.armed_count(), 0);
    reg.now_ns = || u64::MAX;
    reg.purge_expired();
    assert!(reg.lookup(fx.cgroup_id()).is_none());
    assert!(reg.summaries().is_empty());
}

#[test]
fn arming_an_unknown_or_vanished_container_is_a_precise_error() {
    let fx = Fixture::new("errors");
    let mut reg = fx.registry();
    assert_eq!(arm(&mut reg, "nope", 42), Err("container nope is not registered".to_string()));
    reg.report("c2", Facts::default(), Source::Hook);
    let e = arm(&mut reg, "c2", 7).expect_err("pid 7 has no cgroup file");
    assert!(e.starts_with("container c2: read ") && e.contains("proc/7/cgroup"), "{e}");
    assert!(fx.scope.0.lock().expect("lock").is_empty());
}

#[test]
fn a_pid_in_the_root_cgroup_is_never_armed() {
    let fx = Fixture::new("rootcg");
    std::fs::create_dir_all(fx.dir.join("proc/7")).expect("mkdir");
    std::fs::write(fx.dir.join("proc/7/cgroup"), "0::/\n").expect("write");
    let lsm = FakeLsm::default();
    let mut reg = hardened_registry(&fx, &lsm);
    report_app(&mut reg, "c1", &[]);
    assert_eq!(arm(&mut reg, "c1", 7), Err("container c1: its init (pid 7) is in the root cgroup; refusing to arm it".to_owned()));
    assert!(fx.scope.0.lock().expect("lock").is_empty(), "the host is not watched");
    assert!(lsm.calls.lock().expect("calls").is_empty(), "nor enforced");
}

#[test]
fn ctr_containers_are_named_by_id_in_their_namespace() {
    let state = OciState { bundle: PathBuf::from("/run/containerd/io.containerd.runtime.v2.task/default/web"), ..hook_state("web", &[]) };
    let f = Facts::from_hook(&state, &BundleFacts { privileged: true, ..Default::default() });
    assert_eq!((f.name.as_str(), f.namespace.as_str(), f.privileged), ("", "default", Some(true)));
    let elsewhere = OciState { bundle: PathBuf::from("/tmp/bundle"), ..hook_state("web", &[]) };
    assert_eq!(Facts::from_hook(&elsewhere, &BundleFacts::default()).namespace, "");
}

#[test]
fn the_init_process_exiting_stops_the_container() {
    let fx = Fixture::new("initexit");
    let mut reg = fx.registry();
    reg.report("c1", Facts::default(), Source::Hook);
    arm(&mut reg, "c1", 42).expect("arm");
    reg.process_exited(43);
    assert!(reg.summaries()[0].armed, "another process's exit changes nothing");
    reg.process_exited(42);
    assert_eq!((reg.summaries()[0].armed, reg.summaries()[0].state.as_str()), (false, "stopped"));
    assert_eq!(fx.scope.0.lock().expect("lock").last(), Some(&(false, fx.cgroup_id())));
}

/// Records what the registry asked of the BPF-LSM backend (policy builds, arming, disarming);
/// refuses to arm when `fail` is set. Its policies read nothing from disk.
#[derive(Clone, Default)]
struct FakeLsm {
    calls: Arc<Mutex<Vec<String>>>,
    fail: bool,
    /// When set: every build records whether this registry's lock was free meanwhile.
    watched: Arc<Mutex<Option<SharedRegistry>>>,
}

impl KernelEnforcer for FakeLsm {
    fn policy_builder(&self) -> PolicyBuilder {
        let (calls, watched) = (Arc::clone(&self.calls), Arc::clone(&self.watched));
        Arc::new(move |input: &PolicyInput<'_>| {
            let lock = match watched.lock().map_err(|e| e.to_string())?.as_ref() {
                Some(r) if r.try_lock().is_ok() => "free",
                Some(_) => "held",
                None => "unwatched",
            };
            calls.lock().map_err(|e| e.to_string())?.push(format!("build {} lock={lock}", input.profile.name));
            Ok(ContainerPolicy {
                mode: if input.mode == palisade_profiles::Mode::Enforce { palisade_lsm::Mode::Enforce } else { palisade_lsm::Mode::Audit },
                deny_shells: input.profile.deny_shells,
                deny_mount: input.profile.immutable.enabled,
                mount_gate: input.mount_gate,
                ..Default::default()
            })
        })
    }
    fn arm(&mut self, cgroup_id: u64, policy: &ContainerPolicy) -> Result<(), String> {
        if self.fail {
            return Err("refused".into());
        }
        let text = format!("arm {cgroup_id} {:?} deny_mount={} gate={:?}", policy.mode, policy.deny_mount, policy.mount_gate);
        self.calls.lock().map_err(|e| e.to_string())?.push(text);
        Ok(())
    }
    fn disarm(&mut self, cgroup_id: u64) {
        if let Ok(mut c) = self.calls.lock() {
            c.push(format!("disarm {cgroup_id}"));
        }
    }
    fn decisions(&mut self) -> Vec<palisade_lsm::Decision> {
        Vec::new()
    }
    fn armed(&self) -> Vec<u64> {
        let mut set = std::collections::BTreeSet::new();
        for call in self.calls.lock().map(|c| c.clone()).unwrap_or_default() {
            let mut words = call.split(' ');
            match (words.next(), words.next().and_then(|w| w.parse::<u64>().ok())) {
                (Some("arm"), Some(id)) => set.insert(id),
                (Some("disarm"), Some(id)) => set.remove(&id),
                _ => false,
            };
        }
        set.into_iter().collect()
    }
    fn detach(self: Box<Self>) -> Result<(), String> {
        Ok(())
    }
}

fn hardened_registry(f: &Fixture, lsm: &FakeLsm) -> Registry {
    let set = palisade_profiles::ProfileSet::from_texts(&[(
        "p.yaml",
        "name: hardened\nmatch: {images: ['app:*']}\ndeny_shells: true\n",
    )])
    .expect("profiles");
    f.registry()
        .with_profiles(Arc::new(set), palisade_profiles::Mode::Enforce)
        .with_kernel_enforcer(Box::new(lsm.clone()))
}

fn loosen_anywhere() -> ModeAuthority {
    ModeAuthority { allow_loosen: true, ..Default::default() }
}

fn loosen_in(namespaces: &[&str]) -> ModeAuthority {
    let c = crate::config::ModeAnnotation { allow_loosen: false, loosen_namespaces: namespaces.iter().map(|n| (*n).to_owned()).collect() };
    ModeAuthority::from_config(&c).expect("patterns")
}

#[test]
fn an_annotation_may_not_loosen_an_enforced_profile_by_default_and_is_alerted_once() {
    let f = Fixture::new("mode-refused");
    let lsm = FakeLsm::default();
    let mut reg = hardened_registry(&f, &lsm);
    report_app(&mut reg, "c1", &[("palisade.io/mode", "audit")]);
    assert_eq!(reg.prepare("c1").expect("known").mode, palisade_profiles::Mode::Enforce);
    assert_eq!(arm(&mut reg, "c1", 42), Ok("enforce".to_owned()), "the stricter mode is kept");
    let refusals = reg.take_mode_refusals();
    assert_eq!(refusals.len(), 1, "one alert per container, however often its profile is settled");
    let (r, meta) = &refusals[0];
    assert_eq!((r.requested, r.applied, r.namespace.as_str()), (palisade_profiles::Mode::Audit, palisade_profiles::Mode::Enforce, "k8s.io"));
    assert_eq!((meta.full_id.as_str(), meta.profile_name()), ("c1", "hardened"));
    assert!(reg.take_mode_refusals().is_empty(), "drained");
    // Tightening is always allowed; an unreadable value enforces; neither is a refusal.
    report_app(&mut reg, "c2", &[("palisade.io/mode", "Audit")]);
    assert_eq!(reg.prepare("c2").expect("known").mode, palisade_profiles::Mode::Enforce);
    let mut audit_default = f.registry().with_profiles(Arc::new(palisade_profiles::ProfileSet::default()), palisade_profiles::Mode::Audit);
    report_app(&mut audit_default, "c3", &[("palisade.io/mode", "enforce")]);
    assert_eq!(audit_default.prepare("c3").expect("known").mode, palisade_profiles::Mode::Enforce);
    assert!(reg.take_mode_refusals().is_empty() && audit_default.take_mode_refusals().is_empty());
}

#[test]
fn a_listed_namespace_may_loosen_and_a_reload_changes_who_may() {
    let f = Fixture::new("mode-ns");
    let lsm = FakeLsm::default();
    let mut reg = hardened_registry(&f, &lsm).with_mode_authority(loosen_in(&["k8s.*"]));
    report_app(&mut reg, "c1", &[("palisade.io/mode", "audit")]);
    assert_eq!(reg.prepare("c1").expect("known").mode, palisade_profiles::Mode::Audit);
    // A pod is judged by its Kubernetes namespace, not containerd's k8s.io.
    let pod = [("palisade.io/mode", "audit"), ("io.kubernetes.cri.sandbox-name", "web"), ("io.kubernetes.cri.sandbox-namespace", "prod")];
    report_app(&mut reg, "c2", &pod);
    assert_eq!(reg.prepare("c2").expect("known").mode, palisade_profiles::Mode::Enforce);
    reg.set_mode_authority(loosen_in(&["prod"]));
    report_app(&mut reg, "c3", &pod);
    assert_eq!(reg.prepare("c3").expect("known").mode, palisade_profiles::Mode::Audit);
    let refused: Vec<String> = reg.take_mode_refusals().iter().map(|(r, m)| format!("{} {}", m.full_id, r.namespace)).collect();
    assert_eq!(refused, ["c2 prod"]);
}

fn report_app(reg: &mut Registry, id: &str, annotations: &[(&str, &str)]) {
    let mut a: Vec<(&str, &str)> = vec![("io.kubernetes.cri.image-name", "app:1")];
    a.extend_from_slice(annotations);
    reg.report(id, Facts::from_hook(&hook_state(id, &a), &Default::default()), Source::Hook);
}

#[test]
fn bpf_lsm_arms_containers_whose_profile_denies_and_disarms_them_at_stop() {
    let f = Fixture::new("lsm");
    let lsm = FakeLsm::default();
    let mut reg = hardened_registry(&f, &lsm);
    report_app(&mut reg, "c1", &[]);
    assert_eq!(arm(&mut reg, "c1", 42), Ok("enforce".to_owned()));
    let meta = reg.lookup(f.cgroup_id()).expect("armed");
    assert!(meta.judged_in_kernel);
    assert_eq!(meta.enforced_by, Some(Backend::BpfLsm));
    reg.stopped("c1");
    let cg = f.cgroup_id();
    let calls = [
        "build hardened lock=unwatched".to_owned(),
        format!("arm {cg} Enforce deny_mount=false gate=Some(42)"),
        format!("disarm {cg}"),
    ];
    assert_eq!(*lsm.calls.lock().expect("calls"), calls);
}

#[test]
fn bpf_lsm_audit_is_judged_in_the_kernel_but_enforces_nothing() {
    let f = Fixture::new("lsm-audit");
    let lsm = FakeLsm::default();
    let mut reg = hardened_registry(&f, &lsm).with_mode_authority(loosen_anywhere());
    report_app(&mut reg, "c1", &[("palisade.io/mode", "audit")]);
    assert_eq!(arm(&mut reg, "c1", 42), Ok("audit".to_owned()));
    let meta = reg.lookup(f.cgroup_id()).expect("armed");
    assert!(meta.judged_in_kernel && meta.enforced_by.is_none());
}

#[test]
fn an_enforced_container_bpf_lsm_cannot_arm_is_an_error_an_audited_one_falls_back() {
    let f = Fixture::new("lsm-fail");
    let lsm = FakeLsm { fail: true, ..Default::default() };
    let mut reg = hardened_registry(&f, &lsm);
    report_app(&mut reg, "c1", &[]);
    assert_eq!(arm(&mut reg, "c1", 42), Err("container c1: profile hardened (enforce, backend bpf-lsm): arming failed: refused".to_owned()));
    let mut reg = hardened_registry(&f, &lsm).with_mode_authority(loosen_anywhere());
    report_app(&mut reg, "c2", &[("palisade.io/mode", "audit")]);
    assert_eq!(arm(&mut reg, "c2", 42), Ok("audit".to_owned()));
    assert!(!reg.lookup(f.cgroup_id()).expect("armed").judged_in_kernel, "judged in user space instead");
}

fn immutable_registry(f: &Fixture, lsm: &FakeLsm) -> SharedRegistry {
    let set = palisade_profiles::ProfileSet::from_texts(&[(
        "p.yaml",
        "name: ro\nmatch: {images: ['app:*']}\nimmutable: {enabled: true}\n",
    )])
    .expect("profiles");
    f.registry()
        .with_profiles(Arc::new(set), palisade_profiles::Mode::Enforce)
        .with_kernel_enforcer(Box::new(lsm.clone()))
        .shared()
}

#[test]
fn the_image_is_read_without_the_registry_lock_and_installed_with_it() {
    let f = Fixture::new("lsm-lock");
    let lsm = FakeLsm::default();
    let shared = immutable_registry(&f, &lsm);
    *lsm.watched.lock().expect("watched") = Some(Arc::clone(&shared));
    report_app(&mut shared.lock().expect("lock"), "c1", &[]);
    assert_eq!(super::arm(&shared, "c1", 42, Stage::CreateRuntime), Ok("enforce".to_owned()));
    let cg = f.cgroup_id();
    let calls = ["build ro lock=free".to_owned(), format!("arm {cg} Enforce deny_mount=true gate=Some(42)")];
    assert_eq!(*lsm.calls.lock().expect("calls"), calls);
    let meta = shared.lock().expect("lock").lookup(cg).expect("armed");
    assert!(meta.judged_in_kernel && meta.enforced_by == Some(Backend::BpfLsm));
    // Armed again (NRI after the hook): nothing is built or installed twice.
    assert_eq!(super::arm(&shared, "c1", 42, Stage::SetUp), Ok("enforce".to_owned()));
    assert_eq!(lsm.calls.lock().expect("calls").len(), 2);
    *lsm.watched.lock().expect("watched") = None; // the registry holds the fake: break the cycle
}

#[test]
fn mount_denial_waits_for_the_init_exec_only_when_armed_from_create_runtime() {
    let f = Fixture::new("lsm-gate");
    let lsm = FakeLsm::default();
    let shared = immutable_registry(&f, &lsm);
    report_app(&mut shared.lock().expect("lock"), "c1", &[]);
    // NRI start or a recovered container: runc is done, mounts are denied at once.
    assert_eq!(super::arm(&shared, "c1", 42, Stage::SetUp), Ok("enforce".to_owned()));
    let cg = f.cgroup_id();
    assert_eq!(lsm.calls.lock().expect("calls").last(), Some(&format!("arm {cg} Enforce deny_mount=true gate=None")));
}

#[test]
fn a_container_that_stops_while_its_policy_is_built_is_not_armed() {
    let f = Fixture::new("lsm-stop");
    let lsm = FakeLsm::default();
    let shared = immutable_registry(&f, &lsm);
    let mut reg = shared.lock().expect("lock");
    report_app(&mut reg, "c1", &[]);
    let Ok(Begun::Kernel(job)) = reg.begin_arm("c1", 42, Stage::CreateRuntime) else { panic!("kernel arming expected") };
    assert_eq!(reg.summaries()[0].state, "created", "not running before the kernel policy is in");
    reg.stopped("c1");
    let policy = job.build();
    assert_eq!(reg.finish_arm(job, policy), Err("container c1 stopped while it was being armed".to_owned()));
    assert_eq!(*lsm.calls.lock().expect("calls"), ["build ro lock=unwatched"], "nothing installed, nothing to disarm");
    assert!(!reg.lookup(f.cgroup_id()).expect("resolvable").judged_in_kernel);
}

#[test]
fn a_container_never_armed_is_forgotten_after_its_ttl_and_an_armed_one_is_kept() {
    let fx = Fixture::new("expiry");
    let mut reg = fx.registry();
    reg.now_ns = || 1_000;
    reg.report("failed", Facts::default(), Source::Hook);
    // Arming fails: the pid is in no container cgroup (no such process).
    assert!(arm(&mut reg, "failed", 999_999_999).is_err());
    reg.report("running", Facts::default(), Source::Hook);
    arm(&mut reg, "running", 42).expect("arm");
    assert!(reg.knows("failed"), "kept until its ttl");
    reg.now_ns = || 1_000 + UNARMED_TTL_NS + 1;
    // The next report of another container purges.
    reg.report("next", Facts::default(), Source::Nri);
    assert!(!reg.knows("failed"), "a failed arming is not kept forever");
    assert!(reg.knows("running") && reg.lookup(fx.cgroup_id()).is_some(), "an armed container stays");
    assert!(reg.knows("next"));
    let ids: Vec<String> = reg.summaries().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["next", "running"]);
}

#[test]
fn a_podman_containers_engine_image_id_and_digest_reach_its_metadata() {
    let fx = Fixture::new("podman");
    let mut reg = fx.registry();
    let facts = Facts {
        name: "podtest".into(),
        image: "localhost/app:v1".into(),
        image_id: "edf7c2ad".into(),
        image_digest: "sha256:da71".into(),
        labels: BTreeMap::from([("team".to_string(), "blue".to_string())]),
        engine: Some(crate::containers::Engine::Podman),
        ..Default::default()
    };
    reg.report("p1", facts, Source::Hook);
    // A later report without them (a source that does not know) keeps them.
    reg.report("p1", Facts::default(), Source::Hook);
    arm(&mut reg, "p1", 42).expect("arm");
    let meta = reg.lookup(fx.cgroup_id()).expect("lookup");
    assert_eq!((meta.name.as_str(), meta.engine.as_str()), ("podtest", "podman"));
    let i = &meta.image;
    assert_eq!(
        (i.full.as_str(), i.repository.as_str(), i.tag.as_str(), i.id.as_str(), i.digest.as_str()),
        ("localhost/app:v1", "localhost/app", "v1", "edf7c2ad", "sha256:da71")
    );
    assert_eq!(meta.labels.get("team").map(String::as_str), Some("blue"));
}

#[path = "registry_state_tests.rs"]
mod state_tests;
