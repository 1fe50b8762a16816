//! Falco's legacy regression suite, `falco -V` cases (`validate_rules_file` in
//! `../shared/falco/traces/regression_cases.json`): the same files load or fail. The first
//! error names the same item type, item name and message, and the expected warnings appear.
//!
//! The suite predates some message rewordings in today's Falco. Our loader speaks today's
//! wording, so `RENAMED` maps each legacy message to its current form, with the reason.

mod common;

use palisade_rules::loader::{Diagnostic, ItemKind};
use palisade_rules::Loader;
use serde_json::Value as Json;

/// Legacy message → today's message (and why they differ).
const RENAMED: &[(&str, &str, &str)] = &[
    ("Macro has 'append' key but no macro by that name already exists",
     "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists",
     "reworded when `override` was added"),
    ("List has 'append' key but no list by that name already exists",
     "List uses 'append' or 'override.items: append' but no list by that name already exists",
     "reworded when `override` was added"),
    ("Rule has 'append' key but no rule by that name already exists",
     "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists",
     "reworded when `override` was added"),
    ("Can't decode YAML scalar value",
     "Unable to parse engine version",
     "today's reader falls back to a semver string before failing"),
    ("yaml-cpp: error at line 1, column 11: illegal map value",
     "invalid YAML",
     "the YAML parser's own wording; we prefix ours with 'invalid YAML' and give line:col"),
    ("Rules require engine version 9999999, but engine version is",
     "Rules require engine version 0.9999999.0, but engine version is",
     "a bare integer N means version 0.N.0, and today's message prints it so"),
    ("invalid formatting token not_a_real_field",
     "invalid formatting token %not_a_real_field",
     "we quote the token as written"),
];

fn kind_name(d: &Diagnostic) -> &'static str {
    match &d.location.item {
        None => "rules content",
        Some((ItemKind::Item, _)) => "rules content item",
        Some((k, _)) => k.name(),
    }
}

fn item_name(d: &Diagnostic) -> &str {
    d.location.item.as_ref().map_or("", |(_, n)| n.as_str())
}

fn message_matches(got: &str, want: &str, contains: bool) -> bool {
    let want = RENAMED.iter().find(|(old, _, _)| *old == want).map_or(want, |(_, new, _)| new);
    if contains || RENAMED.iter().any(|(_, new, _)| *new == want) {
        got.contains(want)
    } else {
        got == want || got.starts_with(&format!("{want};"))
    }
}

#[test]
fn falco_validate_cases() {
    let falco = common::falco_dir();
    let doc: Json = serde_json::from_str(
        &std::fs::read_to_string(falco.join("traces/regression_cases.json")).expect("read"),
    )
    .expect("json");
    let legacy = falco.join("traces/falco_legacy");
    let mut failures = Vec::new();
    let mut n = 0;
    for case in doc["cases"].as_array().expect("cases") {
        let Some(files) = case.get("validate_rules_file") else { continue };
        let files: Vec<&str> = match files {
            Json::String(s) => vec![s.as_str()],
            Json::Array(a) => a.iter().map(|f| f.as_str().expect("file")).collect(),
            _ => panic!("unexpected validate_rules_file"),
        };
        n += 1;
        let name = case["test"].as_str().expect("test");
        let mut loader = Loader::new();
        for f in &files {
            loader.add_file(legacy.join(f)).expect("read rules file");
        }
        let loaded = loader.compile();
        let errors: Vec<&Diagnostic> = loaded.report.errors().collect();
        let warnings: Vec<&Diagnostic> = loaded.report.warnings().collect();
        let show = || loaded.report.diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n    ");
        match case.get("validate_errors").and_then(Json::as_array) {
            Some(want) if !want.is_empty() => {
                let w = &want[0];
                let (msg, contains) = match w.get("message") {
                    Some(m) => (m.as_str().expect("message"), false),
                    None => (w["message_contains"].as_str().expect("message_contains"), true),
                };
                let hit = errors.iter().any(|d| {
                    kind_name(d) == w["item_type"].as_str().unwrap_or_default()
                        && item_name(d) == w["item_name"].as_str().unwrap_or_default()
                        && message_matches(&d.message, msg, contains)
                });
                if !hit {
                    failures.push(format!("{name}: expected error {w}\n    got:\n    {}", show()));
                }
                // Files that must validate on their own carry no error.
                for ok in case.get("validate_ok").and_then(Json::as_array).into_iter().flatten() {
                    let ok = ok.as_str().expect("file");
                    if errors.iter().any(|d| d.location.file.ends_with(ok)) {
                        failures.push(format!("{name}: {ok} should have no error\n    {}", show()));
                    }
                }
            }
            _ => {
                if !errors.is_empty() {
                    failures.push(format!("{name}: expected no error\n    {}", show()));
                }
            }
        }
        for w in case.get("validate_warnings").and_then(Json::as_array).into_iter().flatten() {
            let msg = w["message"].as_str().expect("message");
            let hit = warnings.iter().any(|d| {
                item_name(d) == w["item_name"].as_str().unwrap_or_default() && message_matches(&d.message, msg, false)
            });
            if !hit {
                failures.push(format!("{name}: expected warning {w}\n    got:\n    {}", show()));
            }
        }
    }
    eprintln!("legacy validate cases: {n}");
    assert_eq!(n, 43);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
