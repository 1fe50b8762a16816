//! Choosing the enforcement backend at start: BPF-LSM, else Landlock, else none.

use std::path::Path;

use crate::containers::Backend;

/// What confines the containers whose profile is enforced, how `palisade status` says it, and
/// the loaded BPF-LSM programs when they are the backend. BPF-LSM first (probed by loading a
/// program; its programs and maps stay pinned under /sys/fs/bpf/palisade, reused by the next
/// daemon), else Landlock (through `palisade-init`, which `palisade-runc` puts in front of the
/// container's processes), else nothing: enforced profiles are then only reported.
pub fn backend() -> (Option<Backend>, String, Option<palisade_lsm::Enforcer>) {
    let lsm_refusal = match palisade_lsm::probe() {
        Ok(()) => match palisade_lsm::Enforcer::load(Path::new(palisade_lsm::DEFAULT_PIN_ROOT)) {
            Ok(e) => {
                let how = if e.reused() { "reusing the pinned programs" } else { "programs pinned" };
                let text = format!("bpf-lsm ({how} under {})", palisade_lsm::DEFAULT_PIN_ROOT);
                return (Some(Backend::BpfLsm), text, Some(e));
            }
            Err(e) => format!("BPF-LSM probe passed but loading failed: {e}"),
        },
        Err(e) => e.to_string(),
    };
    match palisade_init::enforce::probe() {
        Ok(()) => (Some(Backend::Landlock), "landlock (palisade-init, injected by palisade-runc)".into(), None),
        Err(e) => (None, format!("none: enforced profiles are only reported ({lsm_refusal}; Landlock: {e})"), None),
    }
}
