//! The NRI plugin's view of containers, fed into the registry (the protocol is `palisade-nri`).
//!
//! NRI reports CRI containers with their pod (name, namespace, uid, labels) before they exist
//! (CreateContainer: no process, no cgroup yet) and again at start, when the init process is
//! there: that is when NRI arms a container the hook has not armed already. Synchronize, on
//! every (re)connection, re-delivers the running containers, which is how a restarted daemon
//! recovers them.

use palisade_nri::{Container, Handler, Pod};

use super::registry::{self, Facts, SharedRegistry, Source, Stage};
use super::{cri_annotations, mount_fact, PodMeta};

/// containerd's namespace for CRI containers (NRI does not say it).
const CRI_NAMESPACE: &str = "k8s.io";
/// NRI's `ContainerState` values for containers that have a process.
const CREATED: i32 = 1;
const PAUSED: i32 = 2;
const RUNNING: i32 = 3;

pub struct NriRegistry(pub SharedRegistry);

fn facts(pod: Option<&Pod>, c: &Container) -> Facts {
    Facts {
        name: c.name.clone(),
        image: c.annotations.get(cri_annotations::IMAGE_NAME).cloned().unwrap_or_default(),
        namespace: CRI_NAMESPACE.to_owned(),
        pod: pod.map(|p| PodMeta {
            name: p.name.clone(),
            namespace: p.namespace.clone(),
            uid: p.uid.clone(),
            labels: p.labels.clone(),
        }),
        labels: c.labels.clone(),
        mounts: c.mounts.iter().map(|m| mount_fact(&m.destination, &m.source, &m.kind, &m.options)).collect(),
        privileged: None,
        rootfs: None,
        mode_annotation: c
            .annotations
            .get(palisade_profiles::MODE_ANNOTATION)
            .or_else(|| pod.and_then(|p| p.annotations.get(palisade_profiles::MODE_ANNOTATION)))
            .cloned(),
        ..Facts::default()
    }
}

impl NriRegistry {
    /// NRI reports containers once runc is done with them (start, or already running):
    /// everything applies at once.
    fn arm(&self, pod: Option<&Pod>, c: &Container) {
        let Ok(mut reg) = self.0.lock() else { return };
        reg.report(&c.id, facts(pod, c), Source::Nri);
        drop(reg);
        if c.pid > 0 {
            if let Err(e) = registry::arm(&self.0, &c.id, c.pid, Stage::SetUp) {
                tracing::error!(container_id = %c.id, pid = c.pid, error = %e, "NRI: arming failed");
            }
        }
    }
}

impl Handler for NriRegistry {
    fn configured(&self, runtime_name: &str, runtime_version: &str) {
        tracing::info!(runtime_name, runtime_version, "NRI: registered with the runtime");
    }

    fn synchronize(&self, pods: &[Pod], containers: &[Container]) {
        tracing::info!(pods = pods.len(), containers = containers.len(), "NRI: synchronize");
        for c in containers.iter().filter(|c| matches!(c.state, CREATED | PAUSED | RUNNING)) {
            let pod = pods.iter().find(|p| p.id == c.pod_sandbox_id);
            self.arm(pod, c);
        }
    }

    fn create_container(&self, pod: &Pod, c: &Container) -> Result<(), String> {
        if let Ok(mut reg) = self.0.lock() {
            reg.report(&c.id, facts(Some(pod), c), Source::Nri);
        }
        Ok(())
    }

    fn start_container(&self, pod: &Pod, c: &Container) {
        self.arm(Some(pod), c);
    }

    fn stop_container(&self, _pod: &Pod, c: &Container) {
        if let Ok(mut reg) = self.0.lock() {
            reg.stopped(&c.id);
        }
    }

    fn remove_container(&self, pod: &Pod, c: &Container) {
        self.stop_container(pod, c);
    }
}
