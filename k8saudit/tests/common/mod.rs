//! Helpers shared by the integration tests: where the shared Falco corpus lives, and loading
//! audit traces and rules.

use std::path::{Path, PathBuf};

use palisade_k8saudit::{parse_payload, AuditEvent};
use palisade_rules::{Loader, Ruleset};

/// `shared/falco`: `$PALISADE_SHARED/falco`, else `../../shared/falco` from this crate.
pub(crate) fn falco_dir() -> PathBuf {
    let shared = std::env::var_os("PALISADE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("falco");
    assert!(dir.is_dir(), "the Falco corpus is missing at {} (set PALISADE_SHARED)", dir.display());
    dir
}

/// The legacy regression suite's directory.
pub(crate) fn legacy_dir() -> PathBuf {
    falco_dir().join("traces/falco_legacy")
}

/// Every event of an audit trace file, and the payload errors as text.
pub(crate) fn read_trace(path: &Path) -> (Vec<AuditEvent>, Vec<String>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let (events, errors) = parse_payload(&bytes);
    (events, errors.iter().map(ToString::to_string).collect())
}

/// A textual change to a rule file before loading: file name, text to find (it must be
/// there), replacement.
pub(crate) type Rewrite = (&'static str, &'static str, &'static str);

/// Compile rule files (in order), applying `rewrites`; `Err` carries the loader's errors.
pub(crate) fn load_rules(files: &[PathBuf], rewrites: &[Rewrite]) -> Result<Ruleset, String> {
    let mut loader = Loader::new();
    for f in files {
        let mut text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("read {}: {e}", f.display()));
        for (file, from, to) in rewrites {
            if f.file_name().is_some_and(|n| n == *file) {
                assert!(text.contains(from), "{}: rewrite target {from:?} not found", f.display());
                text = text.replace(from, to);
            }
        }
        loader.add_str(&f.display().to_string(), &text);
    }
    let loaded = loader.compile();
    let errors: Vec<String> = loaded.report.errors().map(ToString::to_string).collect();
    match loaded.ruleset {
        Some(rules) if errors.is_empty() => Ok(rules),
        _ => Err(format!("rules do not load: {}", errors.join("; "))),
    }
}
