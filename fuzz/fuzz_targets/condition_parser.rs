//! Fuzz the condition parser and compiler: any input must parse or fail with an error (never
//! panic or overflow), and a parsed condition's canonical form must parse to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_rules::condition::parser::{parse_with_depth, LOADER_MAX_DEPTH};
use palisade_rules::eval::compile;
use palisade_rules::Source;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(expr) = parse_with_depth(text, LOADER_MAX_DEPTH) else { return };
    let _ = compile(&expr, Source::Syscall);
    let _ = compile(&expr, Source::K8sAudit);
    let canonical = expr.to_string();
    if let Ok(again) = parse_with_depth(&canonical, LOADER_MAX_DEPTH) {
        assert_eq!(canonical, again.to_string(), "canonical form is not a fixed point");
    }
});
