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
    let empty = std::env::temp_dir().join("palisade-hook-server-test-no-proc");
    let registry = Registry::new(Box::new(NoScope), Cgroups::new(empty.clone(), empty.clone()), empty).shared();
    Context { registry, containerd: None, status: Mutex::new(DaemonStatus::default()), fail_closed }
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
