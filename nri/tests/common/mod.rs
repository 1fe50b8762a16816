//! Shared piece of the privileged NRI tests: a handler that records its calls.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use palisade_nri::{Container, Handler, Pod};

/// One recorded handler callback.
#[derive(Debug, Clone)]
#[allow(dead_code, reason = "each test binary reads different fields")]
pub(crate) enum Call {
    Configured {
        runtime: String,
        version: String,
    },
    Synchronize {
        pods: Vec<Pod>,
        containers: Vec<Container>,
    },
    Create {
        pod: Pod,
        container: Container,
    },
    Start {
        pod: Pod,
        container: Container,
    },
    Stop {
        pod: Pod,
        container: Container,
    },
    Remove {
        pod: Pod,
        container: Container,
    },
}

/// Records every callback; refuses containers whose name starts with `refuse`.
#[derive(Default)]
pub(crate) struct Recorder {
    calls: Mutex<Vec<Call>>,
    changed: Condvar,
}

#[allow(dead_code, reason = "each test binary uses different helpers")]
impl Recorder {
    fn push(&self, call: Call) {
        self.calls.lock().expect("lock").push(call);
        self.changed.notify_all();
    }

    pub(crate) fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("lock").clone()
    }

    /// Waits until `done` holds for the recorded calls; panics with them after `timeout`.
    pub(crate) fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[Call]) -> bool,
    ) -> Vec<Call> {
        let deadline = Instant::now() + timeout;
        let mut calls = self.calls.lock().expect("lock");
        while !done(&calls) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out after {timeout:?} waiting for {what}; calls: {calls:#?}"
            );
            calls = self.changed.wait_timeout(calls, left).expect("lock").0;
        }
        calls.clone()
    }
}

impl Handler for Recorder {
    fn configured(&self, runtime: &str, version: &str) {
        self.push(Call::Configured {
            runtime: runtime.into(),
            version: version.into(),
        });
    }
    fn synchronize(&self, pods: &[Pod], containers: &[Container]) {
        self.push(Call::Synchronize {
            pods: pods.to_vec(),
            containers: containers.to_vec(),
        });
    }
    fn create_container(&self, pod: &Pod, container: &Container) -> Result<(), String> {
        self.push(Call::Create {
            pod: pod.clone(),
            container: container.clone(),
        });
        if container.name.starts_with("refuse") {
            Err(format!("palisade refuses container {}", container.name))
        } else {
            Ok(())
        }
    }
    fn start_container(&self, pod: &Pod, container: &Container) {
        self.push(Call::Start {
            pod: pod.clone(),
            container: container.clone(),
        });
    }
    fn stop_container(&self, pod: &Pod, container: &Container) {
        self.push(Call::Stop {
            pod: pod.clone(),
            container: container.clone(),
        });
    }
    fn remove_container(&self, pod: &Pod, container: &Container) {
        self.push(Call::Remove {
            pod: pod.clone(),
            container: container.clone(),
        });
    }
}
