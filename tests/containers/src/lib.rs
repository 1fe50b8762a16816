//! End-to-end container test bed: a private containerd (NRI on, CRI for host-network pods), OCI images
//! built by hand from the host's static busybox, `ctr` helpers and a small blocking CRI client.
//!
//! Everything here needs root, containerd 1.7, runc, busybox-static and bash-static
//! (`tests/containers/install-deps.sh`). Tests call [`require_privileged`] first.
//!
//! Smoke test of the bed itself (as root, about 4 s):
//! `cargo test -p palisade-testbed --test testbed`.

mod cleanup;
pub mod containerd;
pub mod cri;
pub mod ctr;
pub mod error;
pub mod image;
pub mod node;
pub mod palisade;
pub mod process;
pub mod static_bins;

use std::sync::atomic::{AtomicU32, Ordering};

pub use containerd::{Containerd, Options, CRI_NAMESPACE, CTR_NAMESPACE, PAUSE_IMAGE};
pub use cri::{ContainerSpec, CriClient, PodSpec};
pub use ctr::CtrRun;
pub use error::{Error, Result};
pub use image::ImageSpec;
pub use process::CmdOutput;
pub use static_bins::{static_binaries, StaticBinaries};

/// The environment variable that turns a privileged test that cannot run into a skip.
pub const ALLOW_SKIP_ENV: &str = "PALISADE_ALLOW_SKIP_PRIVILEGED";

/// A privileged test that cannot run: panics with `why`, or (only with
/// `PALISADE_ALLOW_SKIP_PRIVILEGED=1`) prints why it skips.
pub fn skip_or_fail(why: &str) {
    if std::env::var(ALLOW_SKIP_ENV).as_deref() == Ok("1") {
        eprintln!("SKIPPED ({ALLOW_SKIP_ENV}=1): {why}");
    } else {
        panic!("privileged test cannot run: {why} (set {ALLOW_SKIP_ENV}=1 to skip)");
    }
}

/// Why the container tests cannot run here, if they cannot: not root, or a program missing.
pub fn missing_prerequisite() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root".into());
    }
    ["containerd", "ctr", "runc", "busybox", "bash-static"]
        .iter()
        .find_map(|p| image::find_program(p).err().map(|e| e.to_string()))
}

/// `true` when the container tests can run; otherwise [`skip_or_fail`] with the reason and `false`.
pub fn require_privileged() -> bool {
    match missing_prerequisite() {
        None => true,
        Some(why) => {
            skip_or_fail(&why);
            false
        }
    }
}

/// `prefix-<pid>-<n>`: a container name no other test (or test process) uses.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}
