//! Helpers shared by the conformance tests: where the shared Falco corpus lives.

use std::path::PathBuf;

/// `../shared/falco` beside the checkout (override with `PALISADE_SHARED`).
pub(crate) fn falco_dir() -> PathBuf {
    let shared = std::env::var_os("PALISADE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("falco");
    assert!(dir.is_dir(), "the Falco corpus is missing at {} (set PALISADE_SHARED)", dir.display());
    dir
}
