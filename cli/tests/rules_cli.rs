//! The `palisade rules` commands, run as a user runs them: exit codes and exact output lines.

use std::path::PathBuf;
use std::process::{Command, Output};

fn falco() -> PathBuf {
    let shared = std::env::var_os("PALISADE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    shared.join("falco")
}

fn palisade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade")).args(args).output().expect("run palisade")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn temp_rules(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("palisade-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write rules");
    p
}

#[test]
fn validate_upstream_files_in_order() {
    let f = falco();
    let files = ["rules/falco_rules.yaml", "rules/falco-incubating_rules.yaml", "rules/falco-sandbox_rules.yaml"];
    let mut args = vec!["rules".to_owned(), "validate".to_owned()];
    for file in files {
        args.push("-r".into());
        args.push(f.join(file).display().to_string());
    }
    let out = palisade(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out).lines().next(), Some("loaded 93 rules, 315 macros, 118 lists: 0 errors, 0 warnings"));
}

#[test]
fn validate_takes_a_directory_as_run_does() {
    // Falco's rules directory: its files in name order (falco-incubating, falco-sandbox,
    // falco_rules: '-' sorts before '_'), a non-YAML file ignored.
    let out = palisade(&["rules", "validate", "-r", falco().join("rules").to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out).lines().next(), Some("loaded 93 rules, 315 macros, 118 lists: 0 errors, 0 warnings"));
    let empty = temp_rules("not-rules.txt", "").parent().expect("dir").join("empty-dir");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let out = palisade(&["rules", "validate", "-r", empty.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2), "a directory without rules files is an error");
}

#[test]
fn validate_reports_file_line_column_and_rule_and_fails() {
    let p = temp_rules(
        "broken.yaml",
        "- macro: m\n  condition: proc.name = x\n\n- rule: Bad field\n  desc: d\n  condition: m and proc.nme = cat\n  output: o %proc.name\n  priority: WARNING\n",
    );
    let out = palisade(&["rules", "validate", "-r", p.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(text.lines().next(), Some("loaded 1 rules, 1 macros, 0 lists: 1 errors, 0 warnings"), "{text}");
    let expected = format!(
        "{}:6:20: error: filter_check called with nonexistent field proc.nme; did you mean 'proc.name'? (rule 'Bad field')",
        p.display()
    );
    assert_eq!(text.lines().nth(1), Some(expected.as_str()), "{text}");
}

#[test]
fn validate_reports_yaml_syntax_errors_with_position() {
    let p = temp_rules("syntax.yaml", "- rule: x\n  desc: [unclosed\n");
    let out = palisade(&["rules", "validate", "-r", p.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let line = text.lines().nth(1).unwrap_or_default();
    assert!(line.starts_with(&format!("{}:", p.display())) && line.contains("error: invalid YAML"), "{text}");
}

#[test]
fn check_condition_prints_the_canonical_form() {
    let out = palisade(&["rules", "check-condition", "evt.type=open and proc.name in (ash, bash)"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "(evt.type = open and proc.name in (ash, bash))\n");

    let out = palisade(&["rules", "check-condition", "evt.type=open and"]);
    assert_eq!(out.status.code(), Some(1));

    // A type error is only caught without --parse-only.
    let out = palisade(&["rules", "check-condition", "evt.rawtime contains 1"]);
    assert_eq!(out.status.code(), Some(1));
    let out = palisade(&["rules", "check-condition", "--parse-only", "evt.rawtime contains 1"]);
    assert_eq!(out.status.code(), Some(0));

    let out = palisade(&["rules", "check-condition", "--source", "k8s_audit", "ka.verb = create"]);
    assert_eq!(out.status.code(), Some(0));
    let out = palisade(&["rules", "check-condition", "--source", "k8s_audit", "proc.name = cat"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn show_prints_the_expanded_condition() {
    let p = temp_rules(
        "show.yaml",
        "- list: shells\n  items: [ash, bash]\n- macro: spawned\n  condition: evt.type = execve\n- rule: R\n  desc: d\n  condition: spawned and proc.name in (shells)\n  output: o\n  priority: INFO\n",
    );
    let out = palisade(&["rules", "show", "-r", p.to_str().expect("utf8"), "R"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "(evt.type = execve and proc.name in (ash, bash))\n");
}

#[test]
fn list_and_fields() {
    let f = falco().join("k8saudit/k8s_audit_rules.yaml");
    let out = palisade(&["rules", "list", "-r", f.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 48);
    assert!(text.lines().any(|l| l.starts_with("Create Privileged Pod\tWarning\tk8s_audit\tenabled\t")), "{text}");

    let out = palisade(&["rules", "fields", "--source", "syscall"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.lines().any(|l| l.starts_with("proc.aname[N]\tCHARBUF\t")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("evt.rawtime\tABSTIME\t")));
    // The fields <NA> by design say so, with the reason; the others do not.
    let line = |name: &str| text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name}: {text}")).to_owned();
    assert!(line("evt.buffer\t").contains("\tData buffer carried by I/O events such as read or sendto. Always <NA> in Palisade: Palisade does not copy I/O data buffers"), "{}", line("evt.buffer\t"));
    assert!(line("evt.around[N] (required)\t").contains("Always <NA> in Palisade: Filter-only field"));
    assert!(!line("proc.env[KEY]\t").contains("<NA>"));
    assert!(!line("fd.sip.name\t").contains("<NA>"));
}

/// A YAML alias bomb (nine levels of nine aliases: ~387 million nodes) fails fast with the
/// file, line and column of the alias where the expansion budget ran out (the first `*f` in
/// list g's items); it used to hang while memory grew by ~0.5 GB/s.
#[test]
fn validate_refuses_an_alias_bomb() {
    let mut text = String::from("- list: a\n  items: &a [x, x, x, x, x, x, x, x, x]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().zip(["b", "c", "d", "e", "f", "g", "h", "i"]) {
        let items = vec![format!("*{prev}"); 9].join(", ");
        text.push_str(&format!("- list: {name}\n  items: &{name} [{items}]\n"));
    }
    let p = temp_rules("bomb.yaml", &text);
    let started = std::time::Instant::now();
    let out = palisade(&["rules", "validate", "-r", p.to_str().expect("utf8")]);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let budget = 1_000_000 + text.len();
    let expected = format!(
        "{}:14:14: error: invalid YAML: alias expansion exceeds the limit of {budget} nodes for this document \
         (anchors and aliases nested to expand exponentially?)",
        p.display()
    );
    assert!(stdout(&out).lines().any(|l| l == expected), "{}", stdout(&out));
}
