//! Falco's rule-loader unit tests (`../shared/falco/conformance/rule_loader_cases.json`),
//! replayed against our loader. Each case holds rule-file YAML and the upstream gtest
//! assertion lines; this harness interprets the assertion forms it knows and fails on any
//! mismatch. Forms it cannot interpret (internal JSON descriptions, YAML snippets) are
//! listed by name in `NOT_INTERPRETED` with the reason, and the test fails if a case uses a
//! form that is neither interpreted nor listed.

mod common;

use palisade_rules::loader::{check_plugin_requirements, collector::messages, ExtraOutput, LoadOptions, Severity};
use palisade_rules::{Loaded, Loader};
use serde_json::Value as Json;

/// Assertion forms we do not interpret, with why.
const NOT_INTERPRETED: &[(&str, &str)] = &[
    ("ASSERT_VALIDATION_STATUS", "Falco's JSON-schema validation of the YAML; our reader validates shapes itself"),
    ("[\"lists\"]", "Falco's internal describe-rules JSON of list items"),
    ("[\"macros\"]", "Falco's internal describe-rules JSON"),
    ("[\"rules\"].size()", "Falco's internal describe-rules JSON"),
    ("snippet", "Falco's context snippet text; our diagnostics carry file:line:col and the source line"),
    ("[\"context\"]", "Falco's context snippet text"),
    ("get_compiled_rule_formatted_fields", "extra output fields (append_output with fields) are configured by the daemon, not the loader"),
    ("output.find", "checks a helper's output string; %container.info removal is asserted through get_compiled_rule_output"),
];

/// The `add_extra_output_format` calls the upstream test fixtures make before loading
/// (test_extra_output.cpp), which the case file does not carry.
fn extra_outputs(case: &str) -> Vec<ExtraOutput> {
    let e = |format: &str, tags: &[&str], rule: &str| ExtraOutput {
        source: String::new(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        rule: rule.into(),
        format: format.into(),
    };
    match case {
        "extra_format_all" => vec![e("evt.type=%evt.type", &[], "")],
        "extra_format_by_rule" => vec![e("evt.type=%evt.type", &[], "legit_rule")],
        "extra_format_by_tag_rule" => vec![
            e("extra 1", &["tag1"], ""),
            e("extra 2", &[], "another_rule"),
            e("extra 3", &["tag1", "tag2"], ""),
        ],
        _ => Vec::new(),
    }
}

/// C++ string literals in `s`, adjacent literals concatenated (`"a " "b"` → `a b`).
fn cpp_strings(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    let mut last_end = None;
    while i < b.len() {
        if b[i] == b'"' {
            let raw_start = i;
            let mut v = Vec::new();
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                    v.push(match b[i] {
                        b'n' => b'\n',
                        b't' => b'\t',
                        c => c,
                    });
                } else {
                    v.push(b[i]);
                }
                i += 1;
            }
            let text = String::from_utf8(v).expect("utf8");
            let adjacent = last_end.is_some_and(|e: usize| s[e..raw_start].trim().is_empty());
            match out.last_mut() {
                Some(prev) if adjacent => prev.push_str(&text),
                _ => out.push(text),
            }
            i += 1;
            last_end = Some(i);
        } else {
            i += 1;
        }
    }
    out
}

fn constant(name: &str) -> Option<&'static str> {
    Some(match name {
        "WARNING_APPEND" => messages::WARNING_APPEND,
        "WARNING_ENABLED" => messages::WARNING_ENABLED,
        "WARNING_NO_EVTTYPE" => "Rule matches too many evt.type values",
        "ERROR_OVERRIDE_APPEND" => messages::ERROR_OVERRIDE_APPEND,
        "ERROR_NO_PREVIOUS_MACRO" => messages::ERROR_NO_PREVIOUS_MACRO,
        "ERROR_NO_PREVIOUS_LIST" => messages::ERROR_NO_PREVIOUS_LIST,
        "ERROR_NO_PREVIOUS_RULE_APPEND" => messages::ERROR_NO_PREVIOUS_RULE_APPEND,
        "ERROR_NO_PREVIOUS_RULE_REPLACE" => messages::ERROR_NO_PREVIOUS_RULE_REPLACE,
        _ => return None,
    })
}

fn message_arg(a: &str, fn_name: &str) -> String {
    let start = a.find(fn_name).expect("call") + fn_name.len() + 1;
    let inner = &a[start..];
    let inner = &inner[..inner.find(')').map_or(inner.len(), |i| i)];
    let inner = inner.trim();
    if let Some(c) = constant(inner) {
        return c.to_owned();
    }
    cpp_strings(&a[start..]).into_iter().next().unwrap_or_else(|| panic!("no message in {a}"))
}

fn expects_true(a: &str) -> bool {
    a.starts_with("ASSERT_TRUE") || a.starts_with("EXPECT_TRUE")
}

fn load(yaml: &str) -> Loaded {
    let mut l = Loader::new();
    l.add_str("rules.yaml", yaml);
    l.compile()
}

fn has_message(loaded: &Loaded, sev: Severity, needle: &str) -> bool {
    loaded.report.diagnostics.iter().any(|d| d.severity == sev && d.message.contains(needle))
}

#[test]
fn falco_rule_loader_cases() {
    let path = common::falco_dir().join("conformance/rule_loader_cases.json");
    let doc: Json = serde_json::from_str(&std::fs::read_to_string(&path).expect("read cases")).expect("json");
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 110, "the corpus changed");
    let mut failures = Vec::new();
    let (mut checked, mut canonical, mut load_expectations) = (0, 0, 0);
    for case in cases {
        let name = case["test"].as_str().expect("name");
        let yamls: Vec<&str> = case["yaml"].as_array().expect("yaml").iter().map(|y| y.as_str().expect("str")).collect();
        let asserts: Vec<&str> = case["assertions"].as_array().expect("asserts").iter().map(|a| a.as_str().expect("str")).collect();
        if asserts.iter().any(|a| a.contains("check_requirements(")) {
            let mut next_yaml = yamls.iter();
            for (i, a) in asserts.iter().enumerate() {
                // An empty rules content is written inline as `""`; the others come in order.
                let content = if a.trim_end().trim_end_matches(';').trim_end().ends_with("\"\")) << error << std::endl") || a.contains(", \"\"))") {
                    ""
                } else {
                    next_yaml.next().expect("a yaml per check_requirements")
                };
                let available: Vec<(String, String)> = {
                    let braces = &a[a.find('{').expect("{")..a.find("}}").map_or(a.find('}').expect("}"), |i| i + 1)];
                    let strs = cpp_strings(braces);
                    strs.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect()
                };
                let avail: Vec<(&str, &str)> = available.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                let loaded = load(content);
                let ok = !loaded.report.has_errors()
                    && check_plugin_requirements(&loaded.report.required_plugin_versions, &avail).is_ok();
                checked += 1;
                if ok != expects_true(a) {
                    failures.push(format!("{name}[{i}]: check_requirements expected {}, got {ok}", expects_true(a)));
                }
            }
            continue;
        }
        let mut loader = Loader::with_options(LoadOptions { extra_outputs: extra_outputs(name) });
        for y in &yamls {
            loader.add_str("rules.yaml", y);
        }
        let loaded = loader.compile();
        let ok = !loaded.report.has_errors();
        let diag = || loaded.report.diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n    ");
        for a in &asserts {
            let want_true = expects_true(a) || a.starts_with("ASSERT_EQ") || a.starts_with("EXPECT_EQ");
            let mut check = |cond: bool, what: &str| {
                checked += 1;
                if !cond {
                    failures.push(format!("{name}: {what}\n  assertion: {a}\n    {}", diag()));
                }
            };
            if a.contains("load_rules(") {
                load_expectations += 1;
                check(ok == expects_true(a), &format!("load success {ok}"));
            } else if a.contains("successful()") {
                check(ok == expects_true(a), "successful()");
            } else if a.contains("has_warnings()") {
                let has = loaded.report.warnings().next().is_some();
                check(has == expects_true(a), "has_warnings()");
            } else if a.contains("check_warning_message(") {
                let m = message_arg(a, "check_warning_message");
                check(has_message(&loaded, Severity::Warning, &m) == expects_true(a), &format!("warning containing {m:?}"));
            } else if a.contains("check_error_message(") {
                let m = message_arg(a, "check_error_message");
                check(has_message(&loaded, Severity::Error, &m) == expects_true(a), &format!("error containing {m:?}"));
            } else if a.contains("num_rules_for_ruleset()") {
                let n: usize = a.rsplit(',').next().and_then(|t| t.trim_end_matches([')', ';', ' ']).trim().parse().ok()).expect("count");
                let got = loaded.ruleset.as_ref().map_or(0, |r| r.rules().iter().filter(|r| r.enabled).count());
                check(got == n, &format!("enabled rules {got} != {n}"));
            } else if a.contains("get_compiled_rule_condition(") {
                canonical += 1;
                let s = cpp_strings(a);
                let got = loaded.ruleset.as_ref().and_then(|r| r.rule(&s[0])).map(|r| r.condition.to_string());
                check(got.as_deref() == Some(s[1].as_str()), &format!("canonical condition {got:?}"));
            } else if a.contains("get_compiled_rule_output(") {
                let s = cpp_strings(a);
                let got = loaded.ruleset.as_ref().and_then(|r| r.rule(&s[0])).map(|r| r.output_text.clone());
                check(got.as_deref() == Some(s[1].as_str()), &format!("output {got:?}"));
            } else if a.contains("[\"rules\"][0][\"info\"]") {
                let key = cpp_strings(a)[2].clone();
                let rule = loaded.ruleset.as_ref().and_then(|r| r.rules().first());
                let got = rule.map(|r| match key.as_str() {
                    "condition" => Json::String(r.condition_text.clone()),
                    "output" => Json::String(r.output_text.clone()),
                    "description" => Json::String(r.desc.clone()),
                    "priority" => Json::String(r.priority.name().to_owned()),
                    "capture" => Json::Bool(r.capture),
                    "capture_duration" => Json::from(r.capture_duration),
                    other => panic!("unknown info key {other}"),
                });
                let tail = a.rsplit_once(',').map(|(_, t)| t.trim().trim_end_matches(';').trim_end_matches(')')).expect("tail");
                let want = if let Some(s) = cpp_strings(tail).into_iter().next() {
                    Json::String(s)
                } else if tail == "true" || tail == "false" {
                    Json::Bool(tail == "true")
                } else {
                    Json::from(tail.trim_end_matches('u').parse::<u64>().expect("number"))
                };
                check(got.as_ref() == Some(&want) && want_true, &format!("info.{key} = {got:?}, want {want:?}"));
            } else if let Some((form, _)) = NOT_INTERPRETED.iter().find(|(f, _)| a.contains(f)) {
                let _ = form;
            } else {
                failures.push(format!("{name}: assertion form not interpreted: {a}"));
            }
        }
    }
    eprintln!("rule loader cases: {checked} assertions checked, {canonical} canonical conditions, {load_expectations} load expectations");
    assert_eq!(canonical, 33, "the 33 canonical-condition assertions must all be checked");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
