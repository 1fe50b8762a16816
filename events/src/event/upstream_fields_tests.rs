//! Upstream Falco rules that read fields Palisade used to leave `<NA>`, loaded from Falco's own
//! files (`../shared/falco/rules`) and run on built events: `proc.env` (the GLIBC_TUNABLES and
//! HTTP_PROXY rules), `evt.is_open_exec` (container drift by open+create) and the
//! `fd.sip.name` names Falco resolves from conditions (`k8s_api_server`).

use std::path::PathBuf;

use palisade_rules::{Loader, Ruleset, Source};

use super::registry_audit_tests::{call, exec, file_fd, fork, hdr, pod_container, users, FakeProc, BOOT_TO_WALL, CGROUP_POD, SEC};
use super::EventBuilder;
use crate::containers::ContainerMeta;
use crate::process::ProcessTable;
use crate::record::Record;

fn falco_rules() -> PathBuf {
    let shared = std::env::var_os("PALISADE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("falco/rules");
    assert!(dir.is_dir(), "the Falco rules are missing at {} (set PALISADE_SHARED)", dir.display());
    dir
}

/// Falco's three syscall rule files, with the (disabled) open+create drift rule enabled.
fn upstream() -> Ruleset {
    let mut loader = Loader::new();
    for f in ["falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"] {
        loader.add_file(falco_rules().join(f)).expect("a Falco rules file");
    }
    loader.add_str(
        "enable.yaml",
        "- rule: Container Drift Detected (open+create)\n  enabled: true\n  override:\n    enabled: replace\n",
    );
    let loaded = loader.compile();
    loaded.ruleset.unwrap_or_else(|| panic!("{:?}", loaded.report.diagnostics))
}

/// A fake `/proc` where process `pid` (forked at `forked_s`) has environment `env`.
fn proc_with_env(pid: u32, forked_s: u64, env: &str) -> FakeProc {
    let root = std::env::temp_dir().join(format!("palisade-upstream-proc-{}-{pid}", std::process::id()));
    let dir = root.join(pid.to_string());
    std::fs::create_dir_all(&dir).expect("fake /proc");
    let zeros = "0 ".repeat(14);
    std::fs::write(dir.join("stat"), format!("{pid} (x) S 1 {pid} {pid} 0 {zeros}{} 0 0", forked_s * 100)).expect("stat");
    std::fs::write(dir.join("environ"), env.replace(' ', "\0")).expect("environ");
    FakeProc(root)
}

/// The rules `last` raises once `before` built the table (a live table over `proc`).
fn raised(ruleset: &Ruleset, proc: &FakeProc, before: Vec<Record>, last: Record, container: Option<&ContainerMeta>) -> Vec<String> {
    let mut table = ProcessTable::new(&proc.0);
    let mut b = EventBuilder::new(BOOT_TO_WALL);
    for r in before {
        let _ = b.build(r, &mut table);
    }
    let data = b.build(last, &mut table).expect("an event");
    let users = users();
    let mut out = Vec::new();
    ruleset.evaluate(Source::Syscall, &data.view(&table, &users, container), &mut out);
    out.iter().map(|r| r.name.clone()).collect()
}

#[test]
fn environment_rules_fire_on_the_processes_environment() {
    let rules = upstream();
    let shell = || vec![exec(hdr(10, 1, "bash", SEC, 0), "/bin/bash", &["bash"], 10), fork(hdr(10, 1, "bash", 2 * SEC, 0), 30, 30)];
    let su = exec(hdr(30, 10, "su", 3 * SEC, 0), "/usr/bin/su", &["su", "--help"], 30);
    let tunables = proc_with_env(30, 2, "PATH=/usr/bin GLIBC_TUNABLES=glibc.tune.elision.enable=1");
    let got = raised(&rules, &tunables, shell(), su.clone(), None);
    assert!(got.iter().any(|r| r == "Potential Local Privilege Escalation via Environment Variables Misuse"), "{got:?}");
    let plain = proc_with_env(30, 2, "PATH=/usr/bin LANG=C");
    let got = raised(&rules, &plain, shell(), su, None);
    assert!(!got.iter().any(|r| r.starts_with("Potential Local Privilege")), "{got:?}");

    // A process gone before its record is read: the kernel's copy of its environment.
    let mut short = exec(hdr(30, 10, "su", 3 * SEC, 0), "/usr/bin/su", &["su", "--help"], 30);
    if let Record::Exec { env, .. } = &mut short {
        *env = Some(vec!["GLIBC_TUNABLES=glibc.malloc.mxfast=x".into()]);
    }
    let got = raised(&rules, &proc_with_env(31, 2, ""), shell(), short, None);
    assert!(got.iter().any(|r| r == "Potential Local Privilege Escalation via Environment Variables Misuse"), "{got:?}");

    let curl = exec(hdr(30, 10, "curl", 3 * SEC, 0), "/usr/bin/curl", &["curl", "http://example.com"], 30);
    let proxied = proc_with_env(30, 2, "HTTP_PROXY=http://10.0.0.9:3128 PATH=/usr/bin");
    let got = raised(&rules, &proxied, shell(), curl, None);
    assert!(got.iter().any(|r| r == "Program run with disallowed http proxy env"), "{got:?}");
}

#[test]
fn drift_by_open_create_fires_on_an_executable_mode() {
    let rules = upstream();
    let none = proc_with_env(1, 1, "");
    let sh = hdr(107, 100, "sh", 5 * SEC, CGROUP_POD);
    let before = || vec![fork(hdr(100, 90, "sh", 4 * SEC, CGROUP_POD), 107, 7), exec(sh, "/bin/sh", &["sh"], 7)];
    let create = |mode: u64| {
        let mut h = sh;
        h.ts_ns = 6 * SEC;
        call(h, "openat", 3, [(-100i64) as u64, 0, 0o1101, mode, 0, 0], [Some("/tmp/dropper"), None], file_fd(3, 0o100_000 | mode as u32), Some("/tmp/dropper"))
    };
    let pod = pod_container();
    let got = raised(&rules, &none, before(), create(0o755), Some(&pod));
    assert!(got.iter().any(|r| r == "Container Drift Detected (open+create)"), "{got:?}");
    let got = raised(&rules, &none, before(), create(0o644), Some(&pod));
    assert!(!got.iter().any(|r| r.starts_with("Container Drift")), "{got:?}");
}

#[test]
fn names_compared_in_conditions_are_resolved() {
    // The stable rule "Contact K8S API Server From Container" matches by name.
    let domains = palisade_rules::fields::condition_domains(&upstream());
    assert!(domains.contains("kubernetes.default.svc.cluster.local"), "{domains:?}");

    // A rule in the same style, on a name this host resolves.
    super::dns::resolve(&std::collections::BTreeSet::from(["localhost".to_owned()]));
    let mut loader = Loader::new();
    loader.add_str(
        "t.yaml",
        "- macro: api_server\n  condition: (fd.sip.name=\"localhost\")\n\
         - rule: Contact API Server\n  desc: d\n  condition: evt.type = connect and api_server\n  output: \"%fd.sip.name %fd.name\"\n  priority: NOTICE\n",
    );
    let rules = loader.compile().ruleset.expect("rules");
    let none = proc_with_env(2, 1, "");
    let cat = hdr(20, 10, "cat", 5 * SEC, 0);
    let connect = |ip: [u8; 4]| {
        let mut fd: palisade_ebpf::abi::FdInfo = bytemuck::Zeroable::zeroed();
        fd.kind = palisade_ebpf::abi::fd_kind::INET;
        fd.num = 4;
        fd.family = 2;
        fd.protocol = 6;
        fd.laddr[..4].copy_from_slice(&[10, 0, 0, 2]);
        fd.lport = 40_000;
        fd.raddr[..4].copy_from_slice(&ip);
        fd.rport = 443;
        call(cat, "connect", 0, [4, 0, 16, 0, 0, 0], [None, None], fd, None)
    };
    let before = || vec![exec(hdr(20, 10, "cat", 4 * SEC, 0), "/bin/cat", &["cat"], 20)];
    assert_eq!(raised(&rules, &none, before(), connect([127, 0, 0, 1]), None), ["Contact API Server"]);
    assert!(raised(&rules, &none, before(), connect([1, 2, 3, 4]), None).is_empty());
}
