//! Fuzz the rule-file loader: any bytes as a rules file must load or be rejected with
//! diagnostics, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_rules::Loader;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut loader = Loader::new();
    loader.add_str("fuzz.yaml", text);
    let loaded = loader.compile();
    assert_eq!(loaded.ruleset.is_some(), !loaded.report.has_errors());
});
