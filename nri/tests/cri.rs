//! End to end through containerd's CRI plugin (root): a pod and a container run the way the
//! kubelet would run them, and the plugin sees create, start, stop and remove with the pod's
//! identity, the image and the cgroup; a container it refuses fails CRI CreateContainer with our
//! message.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Call, Recorder};
use palisade_nri::PluginConfig;
use palisade_testbed::cri::{ContainerSpec, CriClient, PodSpec};
use palisade_testbed::{image, unique_name, Containerd, Error, Options, CRI_NAMESPACE};

const IMAGE: &str = "docker.io/library/busybox:1.36";
const IMAGE_ANNOTATION: &str = "io.kubernetes.cri.image-name";
const WAIT: Duration = Duration::from_secs(15);

#[test]
fn cri_container_lifecycle_reaches_the_handler_and_refusal_fails_creation() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let t0 = Instant::now();
    let ctrd = Containerd::start(Options::default()).expect("start containerd");
    ctrd.import(&image::pause(), CRI_NAMESPACE)
        .expect("import pause");
    ctrd.import(&image::busybox(IMAGE), CRI_NAMESPACE)
        .expect("import busybox");

    let recorder = Arc::new(Recorder::default());
    let config = PluginConfig {
        socket: ctrd.nri_socket(),
        ..PluginConfig::default()
    };
    let plugin = palisade_nri::spawn(config, recorder.clone()).expect("spawn plugin");
    recorder.wait_for("Synchronize", WAIT, |c| {
        c.iter().any(|c| matches!(c, Call::Synchronize { .. }))
    });

    let cri = CriClient::connect(&ctrd.socket()).expect("CRI connect");
    let mut pod = PodSpec::new(&unique_name("nri-pod"));
    pod.namespace = "palisade-test".into();
    let pod_id = cri
        .run_pod(&pod)
        .unwrap_or_else(|e| panic!("run pod: {e}\n{}", ctrd.log_tail(30)));

    let spec = ContainerSpec::new("app", IMAGE, &["sleep", "30"]);
    let id = cri
        .create_container(&pod_id, &pod, &spec)
        .unwrap_or_else(|e| panic!("create: {e}\n{}", ctrd.log_tail(30)));
    cri.start_container(&id).expect("start");
    let cri_pid = cri
        .container_status(&id)
        .expect("status")
        .pid
        .expect("pid of a running container");
    cri.stop_container(&id, Duration::from_secs(1))
        .expect("stop");
    cri.remove_container(&id).expect("remove");

    let calls = recorder.wait_for("remove", WAIT, |calls| {
        calls
            .iter()
            .any(|c| matches!(c, Call::Remove { container, .. } if container.id == id))
    });
    let ours: Vec<&Call> = calls
        .iter()
        .filter(|c| match c {
            Call::Create { container, .. }
            | Call::Start { container, .. }
            | Call::Stop { container, .. }
            | Call::Remove { container, .. } => container.id == id,
            _ => false,
        })
        .collect();
    let [Call::Create {
        pod: p,
        container: created,
    }, Call::Start {
        container: started, ..
    }, Call::Stop { .. }, Call::Remove { .. }] = ours[..]
    else {
        panic!("expected create, start, stop, remove of {id}; got {ours:#?}");
    };
    assert_eq!(
        (p.id.as_str(), p.name.as_str()),
        (pod_id.as_str(), pod.name.as_str())
    );
    assert_eq!(
        (p.namespace.as_str(), p.uid.as_str()),
        ("palisade-test", pod.uid.as_str())
    );
    assert_eq!(created.name, "app");
    assert_eq!(created.pod_sandbox_id, pod_id);
    assert_eq!(
        created
            .annotations
            .get(IMAGE_ANNOTATION)
            .map(String::as_str),
        Some(IMAGE)
    );
    assert_eq!(created.args, ["sleep", "30"]);
    assert!(
        created.cgroups_path.ends_with(&id),
        "cgroups_path {:?}",
        created.cgroups_path
    );
    assert_eq!(created.pid, 0, "no process before start");
    assert_eq!(started.pid, cri_pid, "start carries the container's pid");
    assert_eq!(started.cgroups_path, created.cgroups_path);

    // A refusal fails CRI CreateContainer with our message.
    let refused = ContainerSpec::new("refuse-me", IMAGE, &["sleep", "30"]);
    match cri.create_container(&pod_id, &pod, &refused) {
        Err(Error::Cri {
            rpc: "CreateContainer",
            code,
            message,
        }) => {
            assert_eq!(format!("{code:?}"), "PermissionDenied", "{message}");
            assert!(
                message.contains("palisade refuses container refuse-me"),
                "{message}"
            );
        }
        other => panic!("expected the refusal, got {other:?}"),
    }
    let started_refused = recorder
        .calls()
        .iter()
        .any(|c| matches!(c, Call::Start { container, .. } if container.name == "refuse-me"));
    assert!(!started_refused, "a refused container never starts");

    cri.stop_pod(&pod_id).expect("stop pod");
    cri.remove_pod(&pod_id).expect("remove pod");
    plugin.stop().expect("plugin stops cleanly");
    eprintln!("cri lifecycle through NRI: {:?}", t0.elapsed());
}
