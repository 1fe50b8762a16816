//! What the daemon asks containerd itself (`palisade-containerd`): the image of a container
//! whose OCI spec does not name it (`ctr run` writes no image annotation), and, at start, every
//! running container, so a restarted daemon re-arms what it was watching.
//!
//! containerd may be down or restarting: the client connects lazily, and a failed call drops
//! the connection so the next call reconnects. A lookup failure never fails a container; the
//! container is watched without the fields it would have given.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use palisade_containerd::{Client, ContainerRecord};

use super::registry::{self, Facts, SharedRegistry, Source, Stage};
use super::{cri_annotations as cri, PodMeta};

/// Bounds each call: a hook waits for the image lookup before the container may start.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Containerd {
    socket: PathBuf,
    client: Mutex<Option<Client>>,
}

impl Containerd {
    pub fn new(socket: PathBuf) -> Containerd {
        Containerd { socket, client: Mutex::new(None) }
    }

    fn with_client<T>(&self, f: impl FnOnce(&Client) -> Result<T, palisade_containerd::ContainerdError>) -> Option<T> {
        let mut guard = self.client.lock().ok()?;
        if guard.is_none() {
            match Client::connect(&self.socket, CALL_TIMEOUT) {
                Ok(c) => *guard = Some(c),
                Err(e) => {
                    tracing::debug!(error = %e, "containerd unreachable");
                    return None;
                }
            }
        }
        match f(guard.as_ref()?) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(error = %e, "containerd call failed");
                *guard = None;
                None
            }
        }
    }

    /// Whether containerd answered the last call (a failed call drops the connection).
    pub fn reachable(&self) -> bool {
        self.client.lock().is_ok_and(|c| c.is_some())
    }

    /// The image reference containerd recorded for the container, if it knows it.
    pub fn image(&self, namespace: &str, id: &str) -> Option<String> {
        self.with_client(|c| c.container(namespace, id))
            .flatten()
            .map(|r| r.image)
            .filter(|i| !i.is_empty())
    }

    /// Registers and arms every container with a live task; returns how many were armed.
    pub fn recover(&self, registry: &SharedRegistry) -> usize {
        let Some(running) = self.with_client(Client::running) else { return 0 };
        let mut armed = 0;
        for r in running {
            let id = r.record.id.clone();
            let Ok(mut reg) = registry.lock() else { return armed };
            reg.report(&id, facts(&r.record), Source::Containerd);
            drop(reg);
            // Running: the runtime's setup is long over.
            match registry::arm(registry, &id, r.pid, Stage::SetUp) {
                Ok(_) => armed += 1,
                Err(e) => tracing::warn!(container_id = %id, error = %e, "recovering a running container failed"),
            }
        }
        armed
    }
}

/// What a containerd record says about a container (CRI ones carry their pod in annotations).
fn facts(r: &ContainerRecord) -> Facts {
    let a = |k: &str| r.spec.annotations.get(k).cloned().unwrap_or_default();
    let pod = (!a(cri::SANDBOX_NAME).is_empty()).then(|| PodMeta {
        name: a(cri::SANDBOX_NAME),
        namespace: a(cri::SANDBOX_NAMESPACE),
        uid: a(cri::SANDBOX_UID),
        labels: Default::default(),
    });
    let image = if a(cri::IMAGE_NAME).is_empty() { r.image.clone() } else { a(cri::IMAGE_NAME) };
    Facts {
        name: a(cri::CONTAINER_NAME),
        image,
        namespace: r.namespace.clone(),
        pod,
        labels: Default::default(),
        mounts: r.spec.mounts.clone(),
        privileged: Some(r.spec.privileged),
        rootfs: None,
        mode_annotation: r.spec.annotations.get(palisade_profiles::MODE_ANNOTATION).cloned(),
        ..Facts::default()
    }
}
