//! The open-event prefilter derived from the upstream Falco rules: what it lets through, and
//! that it never drops an open event some upstream rule matches.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use palisade_rules::condition::ast::{Expr, Operand, Rhs};
use palisade_rules::prefilter::{open_interest, OpenInterest, PathInterest};
use palisade_rules::testing::MapEvent;
use palisade_rules::{Loader, Rule, RuleMatching, Ruleset, Source, Value};

const SYSCALL_FILES: [&str; 3] =
    ["rules/falco_rules.yaml", "rules/falco-incubating_rules.yaml", "rules/falco-sandbox_rules.yaml"];

/// The upstream rule whose `fd.name contains "id_rsa"` has no exact/prefix/basename/comm form;
/// only its `fd.nameraw` traversal check keeps it from forcing every read through.
const TRAVERSAL: &str = "Directory traversal monitored file read";

const OPEN_TYPES: [&str; 4] = ["open", "openat", "openat2", "creat"];

fn upstream() -> Ruleset {
    let dir = common::falco_dir();
    let mut l = Loader::new();
    for f in SYSCALL_FILES {
        l.add_file(dir.join(f)).expect("read rules file");
    }
    let loaded = l.compile();
    let errors: Vec<String> = loaded.report.errors().map(|d| d.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut rs = loaded.ruleset.expect("ruleset");
    rs.set_rule_matching(RuleMatching::All);
    rs
}

fn is_open_rule(r: &Rule) -> bool {
    r.event_types.names().iter().any(|n| OPEN_TYPES.contains(n))
}

fn sizes(p: &PathInterest) -> String {
    format!(
        "all={} exact={} prefixes={} basenames={} comms={}",
        p.all,
        p.exact.len(),
        p.prefixes.len(),
        p.basenames.len(),
        p.comms.len()
    )
}

fn reads(oi: &OpenInterest, path: &str, comm: &str) -> bool {
    oi.matches(path, path, comm, true, false)
}

#[test]
fn upstream_interest() {
    let mut rs = upstream();
    let oi = open_interest(&rs);
    println!("all rules: read {}; write {}", sizes(&oi.read), sizes(&oi.write));
    // Writes stay wide: `fd.name endswith release_agent`, `fd.directory = /` ... cannot be
    // narrowed to exact paths, prefixes or names. Reads are narrow: the traversal rule's
    // `fd.name contains "id_rsa"` is bounded by its `fd.nameraw contains '../'`.
    assert!(!oi.read.all && oi.read.raw_dotdot && oi.write.all, "{:?}", oi.read);
    assert!(reads(&oi, "/etc/shadow", "cat") && oi.matches("/etc/foo", "/etc/foo", "w1", false, true));
    assert!(!reads(&oi, "/etc/hostname", "w1"), "a loop of reads of /etc/hostname must not reach user space");
    assert!(oi.matches("/etc/hostname", "/tmp/../etc/hostname", "w1", true, false), "traversal");

    // Without the one rule that forces all reads, the read side is narrow.
    assert_eq!(rs.set_enabled_where(false, |r| r.name == TRAVERSAL), 1);
    let oi = open_interest(&rs);
    println!("without '{TRAVERSAL}': read {}; write {}", sizes(&oi.read), sizes(&oi.write));
    println!("read: {:?}", oi.read);
    assert!(!oi.read.all, "{:?}", oi.read);
    assert!(!reads(&oi, "/etc/hostname", "w1"), "a loop of reads of /etc/hostname must not reach user space");
    assert!(!reads(&oi, "/usr/lib/x86_64-linux-gnu/liblzma.so.5", "w1"));
    assert!(reads(&oi, "/etc/shadow", "w1"), "Read sensitive file untrusted");
    assert!(reads(&oi, "/etc/pam.d/sshd", "w1"), "sensitive_files: fd.directory in (/etc/pam.d)");
    assert!(reads(&oi, "/usr/lib/x86_64-linux-gnu/liblzma.so.5", "sshd"), "Backdoored library (contains, by comm)");
    assert!(reads(&oi, "/home/u/.ssh/id_rsa", "w1"), "Read ssh information");
    assert!(reads(&oi, "/root/.ssh/id_rsa", "w1"), "Read ssh information");
    assert!(reads(&oi, "/proc/1/environ", "w1"), "Read environment variable from /proc files");
    assert!(oi.matches("/etc/foo", "/etc/foo", "w1", false, true), "Write below etc");
    assert!(oi.matches("/etc/hostname", "/etc/hostname", "w1", true, true), "O_RDWR of /etc is a write below etc");
}

/// A small deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

/// Paths that reach the rules' interesting cases: every path-like constant of the open rules'
/// checks on `fd.*` fields, turned into concrete paths (itself, below it, as a file name),
/// plus common and random paths.
fn interesting_paths(rs: &Ruleset) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = [
        "/etc/hostname",
        "/etc/shadow",
        "/etc/passwd",
        "/etc/foo",
        "/etc/pam.d/sshd",
        "/etc/sudoers.d/x",
        "/etc/cron.d/job",
        "/etc/apt/sources.list",
        "/home/u/.ssh/id_rsa",
        "/home/u/.ssh/authorized_keys",
        "/root/.ssh/id_rsa",
        "/root/.ssh/authorized_keys",
        "/root/.bashrc",
        "/root/x",
        "/proc/1/environ",
        "/proc/self/environ",
        "/usr/lib/x86_64-linux-gnu/liblzma.so.5",
        "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.0",
        "/var/log/syslog",
        "/var/log/auth.log",
        "/dev/sda",
        "/dev/null",
        "/dev/mem",
        "/dev/foo",
        "/bin/ls",
        "/usr/bin/x",
        "/var/lib/rpm/Packages",
        "/tmp/x",
        "/tmp/id_rsa",
        "/x",
        "/release_agent",
        "/sys/fs/cgroup/release_agent",
        "/host/etc/shadow",
        "/home/u/.bash_history",
        "/home/u/.zsh_history",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let concrete = |v: &str| v.replace(['*', '?'], "x").replace(['[', ']'], "");
    for r in rs.active_rules(Source::Syscall).filter(|r| is_open_rule(r)) {
        r.condition.walk(&mut |e| {
            let Expr::Check(c) = e else { return };
            let Operand::Field(f) = &c.lhs else { return };
            let items: Vec<&String> = match &c.rhs {
                Rhs::Value(v) => vec![v],
                Rhs::List(vs) => vs.iter().collect(),
                _ => return,
            };
            for v in items.into_iter().map(|v| concrete(v)) {
                let v = v.trim_end_matches('/');
                match f.name.as_str() {
                    "fd.name" | "fd.nameraw" | "fd.directory" if v.starts_with('/') => {
                        out.extend([v.to_owned(), format!("{v}/f"), format!("{v}x"), format!("{v}/sub/f")]);
                    }
                    "fd.name" | "fd.nameraw" | "fd.filename" if !v.is_empty() => {
                        let v = v.trim_start_matches('/');
                        out.extend(["/tmp/", "/etc/", "/root/", "/home/u/.ssh/"].map(|d| format!("{d}{v}")));
                    }
                    _ => {}
                }
            }
        });
    }
    let segments = [
        "etc", "usr", "lib", "home", "u", ".ssh", "tmp", "var", "log", "proc", "1", "dev", "root", "bin", "shadow",
        "id_rsa", "cron.d", "environ",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..100 {
        let depth = 1 + rng.next() % 4;
        out.insert((0..depth).map(|_| format!("/{}", rng.pick(&segments))).collect());
    }
    out.retain(|p| p.starts_with('/') && !p.contains("//"));
    out
}

/// libsinsp's `fd.directory` and `fd.filename` of a file.
fn dir_and_file(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) if path.len() > 1 => ("/", &path[1..]),
        Some(pos) if pos < path.len() - 1 => (&path[..pos], &path[pos + 1..]),
        _ => (path, path),
    }
}

/// The process around the event.
struct Profile {
    container: bool,
    tty: u64,
    parent: &'static str,
    failed: bool,
    directory: bool,
    traversal: bool,
}

const PROFILES: [Profile; 4] = [
    Profile { container: false, tty: 34816, parent: "bash", failed: false, directory: false, traversal: false },
    Profile { container: true, tty: 0, parent: "containerd-shim", failed: false, directory: false, traversal: true },
    Profile { container: true, tty: 0, parent: "bash", failed: true, directory: false, traversal: false },
    Profile { container: false, tty: 0, parent: "systemd", failed: false, directory: true, traversal: false },
];

const COMMS: [&str; 14] = [
    "sshd",
    "cat",
    "bash",
    "python",
    "python3",
    "tar",
    "w1",
    "vi",
    "nginx",
    "java",
    "sudo",
    "rpm",
    "dpkg",
    "containerd-shim-runc-v2",
];

/// (`evt.is_open_read`, `evt.is_open_write`, `evt.arg.flags`).
const ACCESS: [(bool, bool, &str); 4] = [
    (true, false, "O_RDONLY"),
    (false, true, "O_WRONLY|O_CREAT|O_TRUNC"),
    (true, true, "O_RDWR"),
    (false, false, "O_CLOEXEC"),
];

/// The path as passed (`fd.nameraw`) for a profile.
fn raw_name(path: &str, p: &Profile) -> String {
    if p.traversal {
        format!("/tmp/x/../..{path}")
    } else {
        path.to_owned()
    }
}

#[expect(clippy::too_many_arguments, reason = "one event's fields, built in one place")]
fn open_event(ty: &str, path: &str, comm: &str, read: bool, write: bool, flags: &str, p: &Profile, e: &mut MapEvent) {
    let (dir, file) = dir_and_file(path);
    let raw = raw_name(path, p);
    e.set_str("evt.type", ty)
        .set_str("fd.name", path)
        .set_str("fd.nameraw", &raw)
        .set_str("evt.arg.name", &raw)
        .set_str("fd.directory", if p.directory { path } else { dir })
        .set_str("fd.typechar", if p.directory { "d" } else { "f" })
        .set_i64("fd.num", if p.failed { -1 } else { 3 })
        .set_i64("evt.rawres", if p.failed { -2 } else { 3 })
        .set_str("evt.res", if p.failed { "ENOENT" } else { "SUCCESS" })
        .set_str("evt.arg.flags", flags)
        .set("evt.is_open_read", vec![Value::Bool(read)])
        .set("evt.is_open_write", vec![Value::Bool(write)])
        .set_u64("evt.num", 1000)
        .set_str("proc.name", comm)
        .set_str("proc.exe", &format!("/usr/bin/{comm}"))
        .set_str("proc.exepath", &format!("/usr/bin/{comm}"))
        .set_str("proc.cmdline", &format!("{comm} {path}"))
        .set_str("proc.args", path)
        .set_str("proc.pname", p.parent)
        .set_str("proc.pcmdline", p.parent)
        .set("proc.aname", vec![Value::string(p.parent.into()), Value::string("systemd".into())])
        .set_str("proc.aname[1]", p.parent)
        .set_str("proc.aname[2]", "systemd")
        .set_u64("proc.duration", 60_000_000_000)
        .set_u64("proc.tty", p.tty)
        .set_str("user.name", "root")
        .set_u64("user.uid", 0)
        .set_u64("user.loginuid", 1000)
        .set_str("thread.cap_effective", "CAP_SYS_ADMIN CAP_DAC_OVERRIDE")
        .set_str("container.id", if p.container { "3ad7b26ded6d" } else { "host" })
        .set_str("container.image.repository", if p.container { "docker.io/library/debian" } else { "" })
        .set_str("k8s.pod.name", if p.container { "web-0" } else { "" });
    if p.directory {
        e.set("fd.filename", vec![]);
    } else {
        e.set_str("fd.filename", file);
    }
}

/// Every synthetic open event some upstream rule matches passes that rule's own interest (so
/// the union's too); the kernel reports `creat` as a write and access mode 3 as both.
#[test]
fn upstream_interest_is_sound() {
    let mut rs = upstream();
    let active: BTreeSet<String> = rs.active_rules(Source::Syscall).map(|r| r.name.clone()).collect();
    let open_rules: Vec<String> =
        rs.active_rules(Source::Syscall).filter(|r| is_open_rule(r)).map(|r| r.name.clone()).collect();
    let whole = open_interest(&rs);
    let mut per_rule: BTreeMap<String, OpenInterest> = BTreeMap::new();
    for name in &open_rules {
        rs.set_enabled_where(false, |_| true);
        rs.set_enabled_where(true, |r| &r.name == name);
        per_rule.insert(name.clone(), open_interest(&rs));
    }
    rs.set_enabled_where(false, |_| true);
    rs.set_enabled_where(true, |r| active.contains(&r.name));

    let paths = interesting_paths(&rs);
    let mut hits: BTreeMap<String, usize> = BTreeMap::new();
    let (mut events, mut matched) = (0usize, 0usize);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut fired = Vec::new();
    // Every path, process name and access mode; the event type and the process profile vary
    // pseudo-randomly (all four types and profiles occur for every path).
    let cases = paths.iter().flat_map(|p| COMMS.iter().flat_map(move |c| ACCESS.iter().map(move |a| (p, *c, *a))));
    for (path, comm, (read, write, flags)) in cases {
        let ty = rng.pick(&OPEN_TYPES);
        let profile = &PROFILES[(rng.next() % PROFILES.len() as u64) as usize];
        let mut e = MapEvent::new(Source::Syscall);
        open_event(ty, path, comm, read, write, flags, profile, &mut e);
        let (kr, kw) = match (ty, read, write) {
            ("creat", ..) => (false, true),
            (_, false, false) => (true, true),
            _ => (read, write),
        };
        events += 1;
        rs.evaluate(Source::Syscall, &e, &mut fired);
        if fired.is_empty() {
            continue;
        }
        matched += 1;
        let raw = raw_name(path, profile);
        assert!(whole.matches(path, &raw, comm, kr, kw));
        for r in &fired {
            *hits.entry(r.name.clone()).or_default() += 1;
            let oi = per_rule.get(&r.name).unwrap_or_else(|| panic!("{} is not an open rule", r.name));
            assert!(
                oi.matches(path, &raw, comm, kr, kw),
                "'{}' matches {ty} of {path} by {comm} (read={read} write={write}) but its interest drops it: {oi:?}",
                r.name
            );
        }
    }
    println!("{} paths, {events} events, {matched} matched; per rule: {hits:#?}", paths.len());
    assert!(paths.len() > 100, "{}", paths.len());
    assert!(matched > 1000, "only {matched} of {events} events matched a rule");
    assert_eq!(hits.len(), open_rules.len(), "every open rule must fire at least once: {hits:?}");
}
