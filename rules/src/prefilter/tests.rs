//! Each leaf kind and combinator, on one-rule rulesets; every case is also checked for
//! soundness against the evaluator over a grid of open events.

use std::collections::BTreeSet;

use super::domain::{and, or, Alt, PathSet, ACC_READ_ONLY};
use super::{open_interest, OpenInterest, PathInterest};
use crate::fields::Source;
use crate::testing::MapEvent;
use crate::value::Value;
use crate::{Loader, Priority, RuleMatching, Ruleset};

fn ruleset(yaml: &str) -> Ruleset {
    let mut l = Loader::new();
    l.add_str("rules.yaml", yaml);
    let loaded = l.compile();
    let errors: Vec<String> = loaded.report.errors().map(|d| d.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut rs = loaded.ruleset.expect("ruleset");
    rs.set_rule_matching(RuleMatching::All);
    rs
}

fn rule(cond: &str) -> String {
    format!("- rule: r\n  desc: d\n  condition: >-\n    {cond}\n  output: o\n  priority: WARNING\n")
}

const PATHS: &[&str] = &[
    "/etc/shadow",
    "/etc/hostname",
    "/etc",
    "/etcx",
    "/etc/pam.d",
    "/etc/pam.d/sshd",
    "/root/.ssh",
    "/root/.ssh/id_rsa",
    "/home/u/.ssh/id_rsa",
    "/a",
    "/b/c",
    "/bz",
    "/x",
    "/opt/app/x/conf",
    "/usr/bin/ls",
    "/tmp/id_rsa",
    "/proc/1/environ",
    "/dev/null",
    "/",
    "/a/b/",
];
const COMMS: &[&str] = &["cat", "sshd", "bash", "a-very-long-process-name", "c1", "c2", "c3"];

/// `fd.directory` and `fd.filename` of a file, as libsinsp derives them from its path.
fn dir_and_file(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(pos) if pos != 0 && pos < path.len() - 1 => (&path[..pos], &path[pos + 1..]),
        Some(pos) if pos != 0 => (path, path),
        Some(_) => ("/", if path.len() > 1 { &path[1..] } else { path }),
        None => ("/", "/"),
    }
}

fn event(ty: &str, path: &str, comm: &str, read: bool, write: bool) -> MapEvent {
    let (dir, file) = dir_and_file(path);
    let mut e = MapEvent::new(Source::Syscall);
    e.set_str("evt.type", ty)
        .set_str("fd.name", path)
        .set_str("fd.directory", dir)
        .set_str("fd.filename", file)
        .set_str("proc.name", comm)
        .set("evt.is_open_read", vec![Value::Bool(read)])
        .set("evt.is_open_write", vec![Value::Bool(write)]);
    e
}

/// Every grid event some rule matches passes the interest (`creat` as a write, mode 3 as both);
/// returns how many matched.
fn assert_sound(rs: &Ruleset, oi: &OpenInterest) -> usize {
    let mut matched = 0;
    let mut out = Vec::new();
    for ty in ["open", "openat", "openat2", "creat"] {
        for (r, w) in [(true, false), (false, true), (true, true), (false, false)] {
            let (kr, kw) = match (ty, r, w) {
                ("creat", ..) => (false, true),
                (_, false, false) => (true, true),
                _ => (r, w),
            };
            for path in PATHS {
                for comm in COMMS {
                    rs.evaluate(Source::Syscall, &event(ty, path, comm, r, w), &mut out);
                    if !out.is_empty() {
                        matched += 1;
                        assert!(oi.matches(path, path, comm, kr, kw), "{ty} {path} {comm} r={r} w={w} dropped: {oi:?}");
                    }
                }
            }
        }
    }
    matched
}

/// The interest of one rule, checked for soundness.
fn interest(cond: &str) -> OpenInterest {
    let rs = ruleset(&rule(cond));
    let oi = open_interest(&rs);
    assert_sound(&rs, &oi);
    oi
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn paths(exact: &[&str], prefixes: &[&str], basenames: &[&str]) -> PathInterest {
    PathInterest { exact: set(exact), prefixes: set(prefixes), basenames: set(basenames), ..PathInterest::default() }
}

fn all() -> PathInterest {
    PathInterest { all: true, ..PathInterest::default() }
}

#[test]
fn fd_name_leaves() {
    let oi = interest("evt.type = open and fd.name = /etc/shadow");
    assert_eq!(oi.read, paths(&["/etc/shadow"], &[], &[]));
    assert_eq!(oi.write, oi.read);
    let oi = interest("evt.type = open and fd.name in (/a, /b/c)");
    assert_eq!(oi.read, paths(&["/a", "/b/c"], &[], &[]));
    let oi = interest("evt.type = open and fd.name startswith /b");
    assert_eq!(oi.read, paths(&[], &["/b"], &[]));
    assert!(oi.read.matches("/bz", "/bz", "x"), "raw byte prefix");
    let oi = interest("evt.type = open and fd.name pmatch (/etc/, /opt/*/x, //root//.ssh)");
    assert_eq!(oi.read, paths(&[], &["/etc", "/opt/", "/root/.ssh"], &[]));
    let oi = interest("evt.type = open and fd.name glob '/etc/*.conf'");
    assert_eq!(oi.read, paths(&[], &["/etc/"], &[]));
    let oi = interest("evt.type = open and fd.name glob /etc/shadow");
    assert_eq!(oi.read, paths(&["/etc/shadow"], &[], &[]));
    let oi = interest("evt.type = open and fd.name startswith oneof (/etc, /root)");
    assert_eq!(oi.read, paths(&[], &["/etc", "/root"], &[]));
    let oi = interest("evt.type = open and fd.name = anyof (/a, /x)");
    assert_eq!(oi.read, paths(&["/a", "/x"], &[], &[]));
}

#[test]
fn fd_directory_filename_and_proc_name_leaves() {
    let oi = interest("evt.type = open and fd.directory = /root/.ssh");
    assert_eq!(oi.read, paths(&["/root/.ssh"], &["/root/.ssh/"], &[]));
    assert_eq!(interest("evt.type = open and fd.directory in (/etc, /)").read, all());
    let oi = interest("evt.type = open and fd.directory startswith /etc");
    assert_eq!(oi.read, paths(&[], &["/etc"], &[]));
    let oi = interest("evt.type = open and fd.filename in (id_rsa, shadow)");
    assert_eq!(oi.read, paths(&[], &[], &["id_rsa", "shadow"]));
    assert!(oi.read.matches("/tmp/id_rsa", "/tmp/id_rsa", "x") && !oi.read.matches("/tmp/id_rsa.pub", "/tmp/id_rsa.pub", "x"));
    let oi = interest("evt.type = open and proc.name in (sshd, a-very-long-process-name)");
    let comms = set(&["sshd", "a-very-long-pro"]);
    assert_eq!(oi.read, PathInterest { comms: comms.clone(), ..PathInterest::default() });
    assert!(oi.read.matches("/anything", "/anything", "a-very-long-process-name"));
    assert!(!oi.read.matches("/anything", "/anything", "cat"));
    // With a path constraint the names are dropped: the paths alone are the condition.
    let oi = interest("evt.type = open and proc.name = cat and fd.name = /x");
    assert_eq!(oi.read, paths(&["/x"], &[], &[]));
}

#[test]
fn unconstrained_leaves_let_everything_through() {
    for cond in [
        "fd.name contains /.ssh/",
        "fd.name icontains /etc",
        "fd.name endswith shadow",
        "fd.name iglob '/etc/*'",
        "fd.name regex '/etc/.*'",
        "fd.name exists",
        "fd.name != /x",
        "tolower(fd.name) = /etc/shadow",
        "fd.name = val(fd.nameraw)",
        "fd.nameraw = /etc/shadow",
        "fd.name glob '*shadow'",
        "fd.name startswith /",
        "proc.name startswith ss",
        "proc.name icontains ssh",
        "evt.is_open_read = false",
        "evt.type != execve",
    ] {
        let oi = interest(&format!("evt.type = openat and {cond}"));
        assert_eq!((oi.read.clone(), oi.write.clone()), (all(), all()), "{cond}");
    }
}

#[test]
fn access_mode_selects_the_direction() {
    let oi = interest("evt.type = open and evt.is_open_read = true and fd.name = /a");
    assert_eq!((oi.read, oi.write), (paths(&["/a"], &[], &[]), PathInterest::default()));
    let oi = interest("evt.type = open and evt.is_open_write = true and fd.name = /a");
    assert_eq!((oi.read, oi.write), (PathInterest::default(), paths(&["/a"], &[], &[])));
    // O_RDWR: the kernel checks both directions, one entry suffices.
    let oi = interest("evt.type = open and evt.is_open_read = true and evt.is_open_write = true and fd.name = /a");
    assert_eq!((oi.read, oi.write), (paths(&["/a"], &[], &[]), PathInterest::default()));
    // creat is a write for the kernel, whatever the access mode says.
    let oi = interest("evt.type in (open, creat) and evt.is_open_read = true and fd.name = /a");
    assert_eq!((oi.read.clone(), oi.write), (paths(&["/a"], &[], &[]), oi.read));
    let oi = interest("evt.type = creat and fd.name = /a");
    assert_eq!((oi.read, oi.write), (PathInterest::default(), paths(&["/a"], &[], &[])));
}

#[test]
fn and_or_not() {
    let oi = interest(
        "evt.type = openat and ((evt.is_open_read = true and fd.name = /a) \
         or (evt.is_open_write = true and fd.name startswith /b))",
    );
    assert_eq!((oi.read, oi.write), (paths(&["/a"], &[], &[]), paths(&[], &["/b"], &[])));
    // Intersections: exact ∧ prefix filters, prefix ∧ prefix keeps the longer.
    let oi = interest(
        "evt.type = open and fd.name startswith /etc \
         and (fd.name in (/etc/shadow, /usr/x) or fd.directory in (/etc/pam.d, /root))",
    );
    assert_eq!(oi.read, paths(&["/etc/pam.d", "/etc/shadow"], &["/etc/pam.d/"], &[]));
    assert!(!oi.read.matches("/etc/hostname", "/etc/hostname", "cat"));
    // Negation: only evt.type is complemented, other negated checks constrain nothing.
    assert_eq!(interest("evt.type = open and not fd.name = /x").read, all());
    let oi = interest("not evt.type in (open, openat, openat2) and fd.name = /x");
    assert_eq!((oi.read, oi.write), (PathInterest::default(), paths(&["/x"], &[], &[])));
    let oi = interest("not (evt.type != openat or not fd.name = /x)");
    assert_eq!(oi.read, paths(&["/x"], &[], &[]), "not (a or not b) = not a and b");
    let oi = interest("not (evt.type != openat and fd.name = /x)");
    assert_eq!(oi.read, all(), "not (a and b) = not a or not b");
    let oi = interest("not (evt.type != creat) and fd.name = /x");
    assert_eq!((oi.read, oi.write), (PathInterest::default(), paths(&["/x"], &[], &[])));
    // prefix ∧ basename has no exact form: the subtree is kept.
    let oi = interest("evt.type = open and fd.directory = /root/.ssh and fd.filename = authorized_keys");
    assert_eq!(oi.read, paths(&[], &["/root/.ssh/"], &[]));
    // Contradictions let nothing through.
    let oi = interest("evt.type = open and evt.type = openat and fd.name = /x");
    assert!(oi.read.is_empty() && oi.write.is_empty());
    let oi = interest("evt.type = open and fd.name = /a and fd.name = /x");
    assert!(oi.read.is_empty() && oi.write.is_empty());
}

#[test]
fn wide_disjunctions_are_merged_soundly() {
    // 70 alternatives differing in two dimensions: beyond the cap, merged by union.
    let terms: Vec<String> = (0..70).map(|j| format!("(fd.name = /d{j} and proc.name = c{j})")).collect();
    let oi = interest(&format!("evt.type = open and ({})", terms.join(" or ")));
    assert_eq!(oi.read.exact.len(), 70);
    assert!(oi.read.matches("/d5", "/d5", "zz") && !oi.read.matches("/e", "/e", "c5"));
    // Products too.
    let or =
        |i: usize| (0..9).map(|j| format!("(fd.name startswith /{i}{j} and proc.name = c{j})")).collect::<Vec<_>>();
    let oi = interest(&format!("evt.type = open and ({}) and ({})", or(1).join(" or "), or(2).join(" or ")));
    assert!(oi.read.is_empty(), "disjoint prefixes: {oi:?}");
}

#[test]
fn merging_keeps_every_alternative_covered() {
    let alts: Vec<Alt> = (0..100)
        .map(|j| Alt {
            types: 1 << (j % 4),
            path: Some(PathSet { prefixes: set(&[&format!("/p{j}/")]), ..PathSet::default() }),
            comms: Some(set(&[&format!("c{j}")])),
            ..Alt::any()
        })
        .collect();
    let merged = or(alts[..50].to_vec(), alts[50..].to_vec());
    assert_eq!(merged.len(), 4, "merged by (types, access)");
    let product = and(&merged, &[Alt { access: ACC_READ_ONLY, ..Alt::any() }]);
    let admits = |m: &Alt, j: usize| {
        m.types & (1 << (j % 4)) != 0
            && m.access & ACC_READ_ONLY != 0
            && m.path.as_ref().is_none_or(|p| p.matches(&format!("/p{j}/x")))
            && m.comms.as_ref().is_none_or(|c| c.contains(&format!("c{j}")))
    };
    for j in 0..100 {
        assert!(product.iter().any(|m| admits(m, j)), "alternative {j} lost");
    }
}

#[test]
fn only_active_open_rules_count() {
    let oi = interest("evt.type = execve and proc.name = sshd");
    assert!(oi.read.is_empty() && oi.write.is_empty());
    // No evt.type at all: every type, so every open event is a candidate.
    let oi = interest("proc.name = cat");
    assert_eq!(oi.read.comms, set(&["cat"]));
    let yaml = format!(
        "{}  enabled: false\n{}",
        rule("evt.type = open and fd.name = /a"),
        rule("evt.type = open and fd.name = /b").replace("rule: r", "rule: s").replace("WARNING", "DEBUG")
    );
    let mut rs = ruleset(&yaml);
    assert_eq!(open_interest(&rs).read, paths(&["/b"], &[], &[]));
    rs.set_min_priority(Priority::Informational);
    assert!(open_interest(&rs).read.is_empty());
}

#[test]
fn macros_and_lists_are_expanded() {
    let yaml = format!(
        "- list: keys\n  items: [/etc/shadow, /etc/sudoers]\n\
         - macro: open_read\n  condition: (evt.type in (open,openat,openat2) and evt.is_open_read=true)\n{}",
        rule("open_read and fd.name in (keys)")
    );
    let rs = ruleset(&yaml);
    let oi = open_interest(&rs);
    assert_sound(&rs, &oi);
    assert_eq!((oi.read, oi.write), (paths(&["/etc/shadow", "/etc/sudoers"], &[], &[]), PathInterest::default()));
}
