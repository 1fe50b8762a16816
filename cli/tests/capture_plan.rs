//! What the kernel is told to capture for Falco's three syscall rule files: every event type
//! the rules can match has a syscall (or a process tracepoint) behind it, and nothing else is
//! enabled. Unprivileged: only the plan is computed.

mod common;

use std::collections::BTreeSet;

use palisade_daemon::capture::plan;
use palisade_events::syscalls::{by_nr, for_event};
use palisade_ebpf::abi::open_kind;
use palisade_rules::{Loader, Source};

#[test]
fn upstream_event_types_are_all_captured_and_only_they() {
    let mut loader = Loader::new();
    for f in common::upstream_rule_files() {
        loader.add_file(&f).expect("read rules file");
    }
    let mut rules = loader.compile().ruleset.expect("upstream rules load");
    let wanted: BTreeSet<&str> = rules.wanted_event_types(Source::Syscall).names().into_iter().collect();

    // With the disabled rules too: conformance analysis §9 counts 41 referenced event types.
    let disabled: BTreeSet<String> = rules.rules().iter().filter(|r| !r.enabled).map(|r| r.name.clone()).collect();
    rules.set_enabled_where(true, |r| disabled.contains(&r.name));
    let referenced = rules.wanted_event_types(Source::Syscall).names();
    assert_eq!(referenced.len(), 41, "{referenced:?}");
    for event in &referenced {
        assert!(for_event(event).next().is_some(), "no syscall produces {event}");
    }
    rules.set_enabled_where(false, |r| disabled.contains(&r.name));

    let p = plan(&rules);
    let enabled: BTreeSet<&str> =
        p.capture.syscalls.iter().map(|(nr, _)| by_nr(*nr).expect("known syscall").event).collect();
    let from_tracepoints: BTreeSet<&str> = ["execve", "execveat"].into_iter().collect();
    let mut expected: BTreeSet<&str> = wanted.difference(&from_tracepoints).copied().collect();
    // The stable rules print proc.cwd: chdir and fchdir keep it current.
    assert!(palisade_daemon::capture::rules_read(&rules, "proc.cwd"));
    expected.extend(["chdir", "fchdir"]);
    assert_eq!(enabled, expected);
    for (nr, conf) in &p.capture.syscalls {
        let event = by_nr(*nr).expect("known syscall").event;
        let is_open = matches!(event, "open" | "openat" | "openat2" | "creat");
        assert_eq!(conf.open_kind != open_kind::NONE, is_open, "{event}");
        assert_eq!(conf.cwd != 0, matches!(event, "chdir" | "fchdir"), "{event}");
    }
}

/// chdir/fchdir are captured only for rules that read proc.cwd, in a condition or an output.
#[test]
fn cwd_syscalls_only_when_a_rule_reads_proc_cwd() {
    let plan_of = |yaml: &str| {
        let mut loader = Loader::new();
        loader.add_str("test.yaml", yaml);
        let rules = loader.compile().ruleset.expect("rules load");
        let p = plan(&rules);
        p.capture.syscalls.iter().filter_map(|(nr, _)| Some(by_nr(*nr)?.event)).collect::<BTreeSet<&str>>()
    };
    let without = plan_of("- rule: r\n  desc: d\n  condition: evt.type = connect\n  output: o %proc.name\n  priority: INFO\n");
    assert!(!without.contains("chdir") && !without.contains("fchdir"), "{without:?}");
    let output = plan_of("- rule: r\n  desc: d\n  condition: evt.type = connect\n  output: o %proc.cwd\n  priority: INFO\n");
    assert!(output.contains("chdir") && output.contains("fchdir"), "{output:?}");
    let condition =
        plan_of("- rule: r\n  desc: d\n  condition: evt.type = connect and proc.cwd startswith /tmp\n  output: o\n  priority: INFO\n");
    assert!(condition.contains("chdir"), "{condition:?}");
}
