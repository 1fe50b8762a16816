//! `palisade replay` on `.scap` captures: Falco's legacy regression cases (from
//! `shared/falco/traces/regression_cases.json`) whose capture is in the corpus and which state
//! `detect_counts` must give exactly Falco's per-rule counts. Cases that need a Falco option
//! or field Palisade lacks are listed in [`EXPECTED_FAILURES`] with the reason; the list is
//! itself asserted, so fixing one forces updating it.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// (case, why it cannot match yet). Empty: every case passes.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

/// Falco's legacy regression cases whose `.scap` trace is in the corpus.
fn scap_cases() -> Vec<Value> {
    let text = std::fs::read_to_string(common::shared().join("falco/traces/regression_cases.json")).expect("cases");
    let doc: Value = serde_json::from_str(&text).expect("json");
    let Value::Array(cases) = doc["cases"].clone() else { panic!("regression_cases.json: no cases list") };
    cases
        .into_iter()
        .filter(|c| c["trace_in_corpus"] == true && c["trace_file"].as_str().is_some_and(|f| f.ends_with(".scap")))
        .collect()
}

fn legacy() -> PathBuf {
    common::shared().join("falco/traces/falco_legacy")
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

/// The per-rule counts `palisade replay` prints on stderr.
fn counts(stderr: &str) -> BTreeMap<String, u64> {
    let summary = stderr.lines().skip_while(|l| !l.starts_with("replayed ")).skip(1);
    summary
        .filter_map(|l| {
            let (n, rule) = l.trim_start().split_once("  ")?;
            Some((rule.to_owned(), n.trim().parse().ok()?))
        })
        .collect()
}

fn replay(args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_palisade")).arg("replay").args(args).output().expect("run palisade replay")
}

/// `palisade replay`'s arguments for a case: its rules files (Falco's own rules when it names
/// none), tags, priority and capture.
fn case_args(case: &Value) -> Vec<String> {
    let mut args = Vec::new();
    let files = strings(&case["rules_file"]);
    for f in &files {
        args.extend(["-r".to_owned(), legacy().join(f).display().to_string()]);
    }
    if files.is_empty() {
        args.extend(["-r".to_owned(), common::shared().join("falco/rules/falco_rules.yaml").display().to_string()]);
    }
    for t in strings(&case["disable_tags"]) {
        args.extend(["-T".to_owned(), t]);
    }
    for t in strings(&case["run_tags"]) {
        args.extend(["-t".to_owned(), t]);
    }
    if let Some(p) = case["priority"].as_str() {
        args.extend(["--priority".to_owned(), p.to_lowercase()]);
    }
    args.push(legacy().join(case["trace_file"].as_str().unwrap_or_default()).display().to_string());
    args
}

/// Run one case; `Err` says how the counts differ.
fn run_case(case: &Value) -> Result<(), String> {
    let out = replay(&case_args(case));
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("exit {}: {stderr}", out.status));
    }
    let got = counts(&stderr);
    let mut diffs = Vec::new();
    for want in case["detect_counts"].as_array().into_iter().flatten() {
        for (rule, n) in want.as_object().into_iter().flatten() {
            let (want_n, got_n) = (n.as_u64().unwrap_or(0), got.get(rule).copied().unwrap_or(0));
            if want_n != got_n {
                diffs.push(format!("{rule}: want {want_n}, got {got_n}"));
            }
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

#[test]
fn legacy_regression_cases_with_counts() {
    let cases: Vec<Value> = scap_cases().into_iter().filter(|c| c.get("detect_counts").is_some()).collect();
    assert_eq!(cases.len(), 16, "the .scap cases with detect_counts");
    let (mut passed, mut failed) = (Vec::new(), BTreeMap::new());
    for case in &cases {
        let name = case["test"].as_str().unwrap_or_default().to_owned();
        match run_case(case) {
            Ok(()) => passed.push(name),
            Err(why) => {
                failed.insert(name, why);
            }
        }
    }
    eprintln!("{} of {} .scap regression cases pass", passed.len(), cases.len());
    let expected: BTreeMap<&str, &str> = EXPECTED_FAILURES.iter().copied().collect();
    let unexpected: Vec<_> = failed.iter().filter(|(n, _)| !expected.contains_key(n.as_str())).collect();
    assert!(unexpected.is_empty(), "failing cases not in EXPECTED_FAILURES: {unexpected:#?}");
    let fixed: Vec<_> = expected.keys().filter(|n| !failed.contains_key(**n)).collect();
    assert!(fixed.is_empty(), "cases in EXPECTED_FAILURES that now pass (update the list): {fixed:?}");
}

/// (case, why it cannot match yet) for [`legacy_regression_cases_with_detect_flags`].
const EXPECTED_DETECT_FAILURES: &[(&str, &str)] = &[];

/// Falco's name of a `detect_level` as alerts print it.
fn priority_name(level: &str) -> String {
    match level.to_ascii_uppercase().as_str() {
        "INFO" => "Informational".to_owned(),
        other => {
            let mut c = other.chars();
            c.next().map_or_else(String::new, |f| f.to_string() + &c.as_str().to_ascii_lowercase())
        }
    }
}

/// Run one `detect: true/false` case as Falco's legacy harness judges it: with `detect: false`
/// no alert at all; with `detect: true` at least one alert at each `detect_level`.
fn run_detect_case(case: &Value) -> Result<(), String> {
    let mut args = vec!["--json".to_owned()];
    args.extend(case_args(case));
    let out = replay(&args);
    if !out.status.success() {
        return Err(format!("exit {}: {}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    let alerts: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|a| (a["rule"].as_str().unwrap_or_default().to_owned(), a["priority"].as_str().unwrap_or_default().to_owned()))
        .collect();
    if case["detect"] == false {
        return if alerts.is_empty() { Ok(()) } else { Err(format!("want no alert, got {alerts:?}")) };
    }
    let missing: Vec<String> = strings(&case["detect_level"])
        .iter()
        .map(|l| priority_name(l))
        .filter(|want| !alerts.iter().any(|(_, p)| p == want))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("no alert at {missing:?}; got {alerts:?}"))
    }
}

#[test]
fn legacy_regression_cases_with_detect_flags() {
    // The cases that say only whether (and at which priorities) Falco alerts, with no option
    // beyond rules, tags and priority (conf files, output formats and the like are tested
    // where those options are).
    let basic = ["trace_file", "run_tags", "rules_file", "detect_level", "suite", "test", "disable_tags", "trace_in_corpus", "detect", "priority"];
    let cases: Vec<Value> = scap_cases()
        .into_iter()
        .filter(|c| c.get("detect").is_some() && c.as_object().is_some_and(|o| o.keys().all(|k| basic.contains(&k.as_str()))))
        .collect();
    assert_eq!(cases.len(), 50, "the .scap cases with detect flags only");
    let mut failed = BTreeMap::new();
    for case in &cases {
        if let Err(why) = run_detect_case(case) {
            failed.insert(case["test"].as_str().unwrap_or_default().to_owned(), why);
        }
    }
    eprintln!("{} of {} .scap detect cases pass", cases.len() - failed.len(), cases.len());
    let expected: BTreeMap<&str, &str> = EXPECTED_DETECT_FAILURES.iter().copied().collect();
    let unexpected: Vec<_> = failed.iter().filter(|(n, _)| !expected.contains_key(n.as_str())).collect();
    assert!(unexpected.is_empty(), "failing cases not in EXPECTED_DETECT_FAILURES: {unexpected:#?}");
    let fixed: Vec<_> = expected.keys().filter(|n| !failed.contains_key(**n)).collect();
    assert!(fixed.is_empty(), "cases in EXPECTED_DETECT_FAILURES that now pass (update the list): {fixed:?}");
}

#[test]
fn json_alerts_and_explicit_source() {
    let out = replay(&[
        "--source".into(),
        "syscall".into(),
        "--json".into(),
        "-r".into(),
        legacy().join("rules/syscalls.yaml").display().to_string(),
        legacy().join("trace_files/syscall.scap").display().to_string(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let alerts: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).expect("alert JSON")).collect();
    assert_eq!(alerts.len(), 4, "{stdout}");
    let open = alerts.iter().find(|a| a["rule"] == "detect_open").expect("detect_open");
    assert_eq!(open["source"], "syscall");
    assert_eq!(open["output_fields"]["fd.name"], "/dev/null");
}

#[test]
fn malformed_captures_name_the_byte_offset() {
    let raw = std::fs::read(legacy().join("trace_files/cat_write.scap")).expect("capture");
    let plain = palisade_scap::Capture::from_bytes(raw, 1 << 30).expect("decompress");
    let dir = std::env::temp_dir().join(format!("palisade-replay-scap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let cut = dir.join("cut.scap");
    std::fs::write(&cut, &plain.bytes()[..plain.bytes().len() / 2]).expect("write");
    let out = replay(&["-r".into(), legacy().join("rules/single_rule.yaml").display().to_string(), cut.display().to_string()]);
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a cut capture fails");
    assert!(stderr.contains("at byte ") && stderr.contains("truncated"), "{stderr}");
}

#[test]
fn threads_belong_to_the_container_their_cgroups_name() {
    // write_tmp_test.scap: a docker nginx container (a CONTAINER_JSON event, threads whose
    // cgroups are /docker/<id>) where bash writes /tmp/test; the host's processes stay host.
    let dir = std::env::temp_dir().join(format!("palisade-replay-containers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let rules = dir.join("rules.yaml");
    std::fs::write(
        &rules,
        "- rule: open in container\n  desc: t\n  condition: evt.type in (open, openat) and evt.dir = < and container.id != host\n  \
         output: \"%container.id %container.name %container.image.repository %container.image.tag %container.privileged %proc.name %fd.name %user.name\"\n  \
         priority: INFO\n",
    )
    .expect("rules");
    let out = replay(&[
        "--json".into(),
        "-r".into(),
        rules.display().to_string(),
        legacy().join("older/trace_files/psp/write_tmp_test.scap").display().to_string(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let alerts: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("alert JSON")).collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let f = &alerts[0]["output_fields"];
    let got: Vec<&str> = ["container.id", "container.name", "container.image.repository", "container.image.tag", "proc.name", "fd.name", "user.name"]
        .iter()
        .map(|k| f[*k].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(got, ["697956520d89", "hopeful_taussig", "nginx", "latest", "bash", "/tmp/test", "root"], "{f}");
    assert_eq!(f["container.privileged"], "false");
}

#[test]
fn profile_report_of_a_scap_capture() {
    // The same capture judged under a profile for its nginx image: bash's write to /tmp/test
    // would be denied by immutability; nothing in it is a shell exec (bash was already running).
    let dir = std::env::temp_dir().join(format!("palisade-replay-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let profile = dir.join("nginx.yaml");
    std::fs::write(&profile, "name: nginx-locked\nmatch:\n  images: [\"nginx:*\"]\nimmutable:\n  enabled: true\ndeny_shells: true\n")
        .expect("profile");
    let args = |json: bool| {
        let mut a = vec!["--profile".to_owned(), profile.display().to_string()];
        if json {
            a.push("--json".into());
        }
        a.push(legacy().join("older/trace_files/psp/write_tmp_test.scap").display().to_string());
        a
    };
    let out = replay(&args(true));
    let text = replay(&args(false));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("one JSON report");
    assert_eq!(report["profile"], "nginx-locked");
    let settings = report["settings"].as_array().expect("settings");
    assert_eq!(settings.len(), 1, "{report}");
    assert_eq!((&settings[0]["setting"], &settings[0]["count"]), (&Value::from("immutable"), &Value::from(1)));
    let e = &settings[0]["examples"][0];
    let got: Vec<&str> = ["action", "target", "process", "container_id", "container_name"].iter().map(|k| e[*k].as_str().unwrap_or("?")).collect();
    assert_eq!(got, ["write", "/tmp/test", "command=bash", "697956520d89", "hopeful_taussig"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("profile nginx-locked: 1 action(s) denied or would be denied, by 1 setting(s)\n"), "{text}");
    assert!(text.contains("write /tmp/test x1 by command=bash in hopeful_taussig (697956520d89)"), "{text}");
}
