//! The field audit: every syscall-source field of the registry, in every argument form, against
//! built events of each kind (exec on the host and in a k8s pod's container, open, create,
//! rename, connect/accept over IPv4, IPv6 and unix sockets, a send, a receive). A field that is `<NA>` on
//! every one of them must be on the registry's documented list of fields `<NA>` by design
//! (`palisade_rules::fields::UNSUPPLIED`), and a listed field must be `<NA>` everywhere: the
//! list is exactly what Palisade does not supply.

use std::collections::{BTreeMap, BTreeSet};

use palisade_ebpf::abi::{fd_kind, FdInfo};
use palisade_hook::MountFact;
use palisade_rules::fields::{unsupplied, ArgKind, UNSUPPLIED};
use palisade_rules::{Extracted, FieldArg, FieldDef, FieldId, FieldRef, FieldSource, Source, Value};

use super::{EventBuilder, EventData};
use crate::containers::{ContainerMeta, ImageRef, PodMeta};
use crate::process::{ProcessTable, Users};
use crate::record::{Caps, ExeImage, Header, Record, SyscallRecord};
use crate::syscalls;

pub(super) const SEC: u64 = 1_000_000_000;
pub(super) const BOOT_TO_WALL: u64 = 1_700_000_000 * SEC;
pub(super) const CGROUP_POD: u64 = 77;

pub(super) fn hdr(pid: u32, ppid: u32, comm: &str, ts_ns: u64, cgroup_id: u64) -> Header {
    let mut h: Header = bytemuck::Zeroable::zeroed();
    h.pid = pid;
    h.tid = pid;
    h.ppid = ppid;
    h.ts_ns = ts_ns;
    h.uid = 0;
    h.loginuid = 1000;
    h.sid = 10;
    h.vpgid = pid;
    h.pgid = pid;
    h.cgroup_id = cgroup_id;
    h.comm[..comm.len()].copy_from_slice(comm.as_bytes());
    h
}

pub(super) fn exec(h: Header, path: &str, argv: &[&str], vpid: u32) -> Record {
    Record::Exec {
        hdr: h,
        filename: path.to_owned(),
        argv: argv.iter().map(|a| (*a).to_owned()).collect(),
        args_truncated: false,
        tty: 34_816,
        cwd: "/root".into(),
        exe_flags: 0,
        vpid,
        image: ExeImage { ino: 4242, ctime_ns: (BOOT_TO_WALL - 100 * SEC) as i64, mtime_ns: (BOOT_TO_WALL - 200 * SEC) as i64 },
        caps: Caps { inheritable: 0, permitted: 1 << 21, effective: 1 << 21 },
        env: None,
    }
}

pub(super) fn fork(parent: Header, child: u32, vpid: u32) -> Record {
    Record::Fork { hdr: parent, child_pid: child, child_tid: child, child_vpid: vpid }
}

/// A syscall of `event` by `h`'s task.
pub(super) fn call(h: Header, event: &str, ret: i64, args: [u64; 6], strings: [Option<&str>; 2], fd: FdInfo, fd_path: Option<&str>) -> Record {
    let sys = syscalls::for_event(event).next().unwrap_or_else(|| panic!("{event} is in the table"));
    Record::Syscall(Box::new(SyscallRecord::of(h, sys.nr, ret, args, strings, fd, fd_path)))
}

pub(super) fn file_fd(num: i32, mode: u32) -> FdInfo {
    let mut fd: FdInfo = bytemuck::Zeroable::zeroed();
    fd.kind = fd_kind::FILE;
    fd.num = num;
    fd.i_mode = mode;
    fd.ino = 1234;
    fd
}

fn inet_fd(v6: bool, local: ([u8; 16], u16), remote: ([u8; 16], u16)) -> FdInfo {
    let mut fd: FdInfo = bytemuck::Zeroable::zeroed();
    fd.kind = fd_kind::INET;
    fd.num = 4;
    fd.family = if v6 { 10 } else { 2 };
    fd.protocol = 6;
    (fd.laddr, fd.lport) = local;
    (fd.raddr, fd.rport) = remote;
    fd
}

fn v4(a: [u8; 4]) -> [u8; 16] {
    let mut b = [0; 16];
    b[..4].copy_from_slice(&a);
    b
}

pub(super) fn pod_container() -> ContainerMeta {
    ContainerMeta {
        full_id: "4f3a9b2c1d0e5f6a7b8c9d0e1f2a3b4c".into(),
        name: "web".into(),
        image: ImageRef::parse("docker.io/library/nginx:1.25@sha256:0123456789abcdef"),
        namespace: "k8s.io".into(),
        pod: Some(PodMeta {
            name: "web-0".into(),
            namespace: "shop".into(),
            uid: "0b7c6a9e-uid".into(),
            labels: BTreeMap::from([("app".into(), "web".into())]),
        }),
        labels: BTreeMap::from([("app".into(), "web".into())]),
        mounts: vec![
            MountFact { destination: "/proc".into(), source: "proc".into(), kind: "proc".into(), options: vec![] },
            MountFact { destination: "/host/etc".into(), source: "/etc".into(), kind: "bind".into(), options: vec!["rbind".into(), "ro".into()] },
        ],
        privileged: true,
        start_ns: BOOT_TO_WALL + SEC,
        ..ContainerMeta::default()
    }
}

/// Users with home directories and shells, as `/etc/passwd` has them.
pub(super) fn users() -> Users {
    Users::parse(
        "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/zsh\n",
        "root:x:0:\nalice:x:1000:\n",
    )
}

/// A fake `/proc`, removed when dropped.
pub(super) struct FakeProc(pub(super) std::path::PathBuf);

impl Drop for FakeProc {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The audited events, each named, with its container.
type Events = Vec<(&'static str, EventData, Option<ContainerMeta>)>;

/// A fake `/proc` with the environment, start time and resources of bash (10) and cat (20).
fn proc_root() -> FakeProc {
    let root = std::env::temp_dir().join(format!("palisade-audit-proc-{}-{:?}", std::process::id(), std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&root);
    for (pid, ppid, comm, forked_s, env) in
        [(10u32, 1u32, "bash", 2u64, "HOME=/root\0SHELL=/bin/bash\0"), (20, 10, "cat", 4, "PATH=/usr/bin\0LANG=C.UTF-8\0")]
    {
        let dir = root.join(pid.to_string());
        std::fs::create_dir_all(&dir).expect("fake /proc");
        let zeros = "0 ".repeat(14);
        std::fs::write(dir.join("stat"), format!("{pid} ({comm}) S {ppid} {pid} {pid} 0 {zeros}{} 0 0", forked_s * 100)).expect("stat");
        std::fs::write(dir.join("environ"), env).expect("environ");
        std::fs::write(dir.join("status"), format!("Name:\t{comm}\nThreads:\t1\nVmSize:\t  8000 kB\nVmRSS:\t  2000 kB\nVmSwap:\t 0 kB\n")).expect("status");
        std::fs::write(dir.join("limits"), "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n").expect("limits");
        std::fs::create_dir_all(dir.join("fd")).expect("fd");
        for (fd, to) in [("0", "/dev/pts/0"), ("1", "pipe:[4242]"), ("2", "/dev/pts/0")] {
            let _ = std::os::unix::fs::symlink(to, dir.join("fd").join(fd));
        }
    }
    FakeProc(root)
}

/// The events of the audit, named, after one process history: sshd (1) forks bash (10), which
/// forks cat (20); in a pod, runc's child (100) becomes nginx (vpid 1) and forks sh (vpid 7).
fn events() -> (ProcessTable, Events, FakeProc) {
    let proc = proc_root();
    // As if a condition compared `fd.sip.name` with `localhost` (tests resolve only this name).
    super::dns::resolve(&std::collections::BTreeSet::from(["localhost".to_owned()]));
    let mut table = ProcessTable::new(&proc.0);
    let mut b = EventBuilder::new(BOOT_TO_WALL);
    let sshd = hdr(1, 0, "sshd", SEC, 0);
    let bash = hdr(10, 1, "bash", 3 * SEC, 0);
    let cat = hdr(20, 10, "cat", 5 * SEC, 0);
    let nginx = hdr(100, 90, "nginx", 3 * SEC, CGROUP_POD);
    let sh = hdr(107, 100, "sh", 5 * SEC, CGROUP_POD);
    for r in [
        exec(sshd, "/usr/sbin/sshd", &["/usr/sbin/sshd", "-D"], 1),
        fork(hdr(1, 0, "sshd", 2 * SEC, 0), 10, 10),
        exec(bash, "/bin/bash", &["-bash"], 10),
        fork(hdr(10, 1, "bash", 4 * SEC, 0), 20, 20),
        fork(hdr(90, 1, "runc", 2 * SEC, CGROUP_POD), 100, 1),
        exec(nginx, "/usr/sbin/nginx", &["nginx", "-g", "daemon off;"], 1),
        fork(hdr(100, 90, "nginx", 4 * SEC, CGROUP_POD), 107, 7),
    ] {
        let _ = b.build(r, &mut table);
    }
    let at = |h: Header, s| Header { ts_ns: s * SEC, ..h };
    let mut out = Vec::new();
    let mut add = |name, r, c: Option<ContainerMeta>, table: &mut ProcessTable| {
        let e = b.build(r, table).unwrap_or_else(|| panic!("{name} is an event"));
        out.push((name, e, c));
    };
    add("exec on the host", exec(cat, "/usr/bin/cat", &["cat", "/etc/shadow"], 20), None, &mut table);
    // The shell in the pod is the image's (a lower-layer file), changed after the pod started.
    let mut in_pod = exec(sh, "/bin/sh", &["sh", "-c", "id"], 7);
    if let Record::Exec { image, exe_flags, env, .. } = &mut in_pod {
        image.ctime_ns = (BOOT_TO_WALL + 4 * SEC) as i64;
        *exe_flags = palisade_ebpf::abi::EXE_LOWER_LAYER;
        // The kernel's copy of the environment (no /proc entry: it wins anyway).
        *env = Some(vec!["TERM=xterm".into(), "KUBERNETES_PORT=tcp://10.96.0.1:443".into()]);
    }
    add("exec in a pod", in_pod, Some(pod_container()), &mut table);
    let o_creat_wronly = 0o101;
    add("open", call(at(cat, 6), "openat", 3, [(-100i64) as u64, 0, 0, 0, 0, 0], [Some("/etc/shadow"), None], file_fd(3, 0o100_640), Some("/etc/shadow")), None, &mut table);
    add(
        "create an executable",
        call(at(cat, 7), "openat", 5, [(-100i64) as u64, 0, o_creat_wronly, 0o755, 0, 0], [Some("/tmp/x"), None], file_fd(5, 0o100_755), Some("/tmp/x")),
        None,
        &mut table,
    );
    add("open a directory", call(at(cat, 7), "openat", 6, [(-100i64) as u64, 0, 0o200_000, 0, 0, 0], [Some("/etc"), None], file_fd(6, 0o040_755), Some("/etc")), None, &mut table);
    add("rename", call(at(cat, 8), "renameat", 0, [(-100i64) as u64, 0, (-100i64) as u64, 0, 0, 0], [Some("/tmp/a"), Some("/tmp/b")], bytemuck::Zeroable::zeroed(), None), None, &mut table);
    add("connect ipv4", call(at(cat, 9), "connect", 0, [4, 0, 16, 0, 0, 0], [None, None], inet_fd(false, (v4([10, 0, 0, 2]), 43_454), (v4([1, 2, 3, 4]), 443)), None), None, &mut table);
    let mut six = [0u8; 16];
    six[15] = 1;
    let mut peer = [0u8; 16];
    peer[..2].copy_from_slice(&[0x20, 0x01]);
    add("accept ipv6", call(at(sh, 9), "accept4", 4, [3, 0, 0, 0, 0, 0], [None, None], inet_fd(true, (six, 80), (peer, 51_000)), None), Some(pod_container()), &mut table);
    add("connect localhost", call(at(cat, 9), "connect", 0, [4, 0, 16, 0, 0, 0], [None, None], inet_fd(false, (v4([127, 0, 0, 1]), 43_455), (v4([127, 0, 0, 1]), 6443)), None), None, &mut table);
    let mut unix: FdInfo = bytemuck::Zeroable::zeroed();
    unix.kind = fd_kind::UNIX;
    unix.num = 7;
    unix.family = 1;
    add("connect unix", call(at(cat, 10), "connect", 0, [7, 0, 110, 0, 0, 0], [None, None], unix, Some("/run/containerd/containerd.sock")), None, &mut table);
    add("send", call(at(cat, 11), "sendto", 12, [4, 0, 12, 0, 0, 0], [None, None], inet_fd(false, (v4([10, 0, 0, 2]), 43_454), (v4([1, 2, 3, 4]), 443)), None), None, &mut table);
    add("receive", call(at(cat, 12), "recvfrom", 20, [4, 0, 64, 0, 0, 0], [None, None], inet_fd(false, (v4([10, 0, 0, 2]), 43_454), (v4([1, 2, 3, 4]), 443)), None), None, &mut table);
    (table, out, proc)
}

/// The argument forms a field is audited with: a key or index that names something the
/// events have, for each form the registry accepts.
fn forms(def: &FieldDef) -> Vec<Option<FieldArg>> {
    let key = |k: &str| Some(FieldArg::Key(k.to_owned()));
    let sample = match def.name {
        "evt.arg" | "evt.rawarg" => key("fd"),
        "evt.type.is" => key("openat"),
        "evt.around" => Some(FieldArg::Index((BOOT_TO_WALL / 1_000_000) as i64)),
        "thread.cgroup" => key("cpuacct"),
        "proc.env" | "proc.aenv" => key("HOME"),
        "container.mount" | "container.mount.dest" | "container.mount.mode" | "container.mount.rdwr" | "container.mount.propagation" => key("/etc"),
        "container.mount.source" => key("/host/etc"),
        "fd.types" => Some(FieldArg::Index(3)),
        name if name.ends_with(".label") => key("app"),
        _ => Some(FieldArg::Index(1)),
    };
    match def.arg {
        ArgKind::None => vec![None],
        ArgKind::OptionalIndex | ArgKind::OptionalKey => vec![None, sample],
        ArgKind::RequiredIndex | ArgKind::RequiredKey | ArgKind::DottedOrBracketed => vec![sample],
    }
}

fn shown(e: &Extracted<'_>) -> String {
    let one = |v: &Value<'_>| match v {
        Value::Str(b) | Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => format!("{other:?}"),
    };
    match e {
        Extracted::Missing => "<NA>".into(),
        Extracted::One(v) => one(v),
        Extracted::Many(vs) => vs.iter().map(one).collect::<Vec<_>>().join(","),
    }
}

/// Each audited (field, form) with the events it has a value on.
fn audit() -> BTreeMap<(String, bool), Vec<&'static str>> {
    let (table, events, _proc) = events();
    let users = users();
    let mut seen = BTreeMap::new();
    for (i, def) in Source::Syscall.fields().iter().enumerate() {
        for arg in forms(def) {
            let with_arg = arg.is_some();
            let field = FieldRef { id: FieldId(i as u16), name: def.name, ty: def.ty, arg };
            let on: &mut Vec<&str> = seen.entry((def.name.to_owned(), with_arg)).or_default();
            for (name, e, c) in &events {
                if e.view(&table, &users, c.as_ref()).extract(&field) != Extracted::Missing {
                    on.push(name);
                }
            }
        }
    }
    seen
}

#[test]
fn every_registry_field_has_a_value_or_is_documented_na() {
    let mut undocumented = Vec::new();
    let mut listed_but_supplied = Vec::new();
    for ((name, with_arg), on) in audit() {
        let form = if with_arg { format!("{name}[..]") } else { name.clone() };
        match (on.is_empty(), unsupplied(&name, with_arg)) {
            (true, None) => undocumented.push(form),
            (false, Some(_)) => listed_but_supplied.push(format!("{form} (on {})", on.join(", "))),
            _ => {}
        }
    }
    assert!(
        undocumented.is_empty(),
        "{} fields are <NA> on every event but not on the documented list (rules/src/fields/unsupplied.rs):\n{}",
        undocumented.len(),
        undocumented.join("\n")
    );
    assert!(listed_but_supplied.is_empty(), "listed as <NA> by design but supplied:\n{}", listed_but_supplied.join("\n"));
}

#[test]
fn every_documented_entry_names_registry_fields() {
    let names: BTreeSet<&str> = Source::Syscall.fields().iter().map(|f| f.name).collect();
    for u in UNSUPPLIED {
        assert!(names.iter().any(|n| u.covers(n, true) || u.covers(n, false)), "{} names no field", u.pattern);
        assert!(!u.reason.is_empty(), "{}: no reason", u.pattern);
    }
}

#[test]
fn events_without_an_fd_have_no_fd_fields() {
    // As in libsinsp: an exec has no fd, so every fd.* field is <NA> on it.
    let (table, events, _proc) = events();
    let users = users();
    for (name, e, c) in events.iter().filter(|(n, ..)| n.starts_with("exec")) {
        for (i, def) in Source::Syscall.fields().iter().enumerate().filter(|(_, d)| d.name.starts_with("fd.") || d.name.starts_with("fs.path.")) {
            for arg in forms(def).into_iter().filter(|_| def.name != "fd.types") {
                let field = FieldRef { id: FieldId(i as u16), name: def.name, ty: def.ty, arg };
                let view = e.view(&table, &users, c.as_ref());
                let got = view.extract(&field);
                assert_eq!(got, Extracted::Missing, "{} on {name}: {}", def.name, shown(&got));
            }
        }
    }
}

/// A field by name as a condition names it (`proc.env[LANG]`, `evt.type.is.openat`), shown as
/// text, on the audited event `on`.
fn value(scene: &(ProcessTable, Events, FakeProc), users: &Users, on: &str, name: &str) -> String {
    let (table, events, _) = scene;
    let (base, arg) = match name.split_once('[') {
        Some((b, a)) => (b, Some(a.trim_end_matches(']'))),
        None => (name, None),
    };
    let (id, def, dotted) = Source::Syscall.lookup(base).unwrap_or_else(|| panic!("{name} is registered"));
    let arg = arg.or(dotted).map(|a| a.parse().map_or_else(|_| FieldArg::Key(a.to_owned()), FieldArg::Index));
    let field = FieldRef { id, name: def.name, ty: def.ty, arg };
    let (_, e, c) = events.iter().find(|(n, ..)| *n == on).unwrap_or_else(|| panic!("no event {on}"));
    shown(&e.view(table, users, c.as_ref()).extract(&field))
}

#[test]
fn new_extractors_give_falcos_values() {
    let (scene, users) = (events(), users());
    let secs = |s: u64| format!("Unsigned({})", BOOT_TO_WALL + s * SEC);
    for (on, field, want) in [
        // The environment, from /proc, as libsinsp joins and looks it up.
        ("exec on the host", "proc.env", "PATH=/usr/bin LANG=C.UTF-8".to_owned()),
        ("exec on the host", "proc.env[LANG]", "C.UTF-8".to_owned()),
        ("exec on the host", "proc.env[HOME]", String::new()),
        ("exec on the host", "proc.aenv[HOME]", "/root".to_owned()),
        ("exec on the host", "proc.aenv[1]", "HOME=/root SHELL=/bin/bash".to_owned()),
        ("exec in a pod", "proc.env", "TERM=xterm KUBERNETES_PORT=tcp://10.96.0.1:443".to_owned()),
        ("exec in a pod", "proc.env[KUBERNETES_PORT]", "tcp://10.96.0.1:443".to_owned()),
        ("accept ipv6", "proc.env[TERM]", "xterm".to_owned()),
        // Arguments and lineage.
        ("exec on the host", "proc.cmdnargs", "Unsigned(1)".to_owned()),
        ("exec on the host", "proc.cmdlenargs", "Unsigned(11)".to_owned()),
        ("exec on the host", "proc.exeline", "cat /etc/shadow".to_owned()),
        ("exec on the host", "proc.aargs[2]", "-D".to_owned()),
        ("exec on the host", "proc.loginshellid", "Signed(10)".to_owned()),
        ("exec in a pod", "proc.pvpid", "Signed(1)".to_owned()),
        ("exec in a pod", "thread.vtid", "Signed(7)".to_owned()),
        ("exec in a pod", "proc.is_exe_lower_layer", "Bool(true)".to_owned()),
        ("exec in a pod", "evt.arg.flags", "EXE_LOWER_LAYER".to_owned()),
        ("exec on the host", "proc.is_exe_lower_layer", "Bool(false)".to_owned()),
        ("exec in a pod", "thread.tid", "Signed(107)".to_owned()),
        ("exec in a pod", "proc.pidns_init_start_ts", secs(2)),
        ("exec in a pod", "proc.exe_ino.ctime_duration_pidns_start", format!("Unsigned({})", 2 * SEC)),
        ("exec on the host", "thread.ismain", "Bool(true)".to_owned()),
        ("exec on the host", "thread.nametid", "cat20".to_owned()),
        ("exec on the host", "user.homedir", "/root".to_owned()),
        ("exec on the host", "user.shell", "/bin/bash".to_owned()),
        // Resources, from /proc.
        ("exec on the host", "proc.vmrss", "Unsigned(2000)".to_owned()),
        ("exec on the host", "thread.vmsize.b", format!("Unsigned({})", 8000 * 1024)),
        ("exec on the host", "proc.fdlimit", "Signed(1024)".to_owned()),
        ("exec on the host", "proc.fdopencount", "Unsigned(3)".to_owned()),
        ("exec on the host", "proc.nthreads", "Unsigned(1)".to_owned()),
        ("exec on the host", "proc.stdin.name", "/dev/pts/0".to_owned()),
        ("exec on the host", "proc.stdout.type", "pipe".to_owned()),
        // Event-level.
        ("open", "syscall.type", "openat".to_owned()),
        ("open", "evt.type.is.openat", "Unsigned(1)".to_owned()),
        ("connect ipv4", "evt.type.is[openat]", "Unsigned(0)".to_owned()),
        ("open", "evt.category", "file".to_owned()),
        ("connect ipv4", "evt.category", "net".to_owned()),
        ("exec on the host", "evt.category", "process".to_owned()),
        ("send", "evt.category", "net".to_owned()),
        ("send", "evt.is_io_write", "Bool(true)".to_owned()),
        ("send", "evt.io_dir", "w".to_owned()),
        ("receive", "evt.io_dir", "r".to_owned()),
        ("send", "evt.buflen.net.out", "Unsigned(12)".to_owned()),
        ("send", "evt.buflen.in", "<NA>".to_owned()),
        ("receive", "evt.buflen.in", "Unsigned(20)".to_owned()),
        ("open", "evt.is_io", "Bool(false)".to_owned()),
        ("open", "evt.count.error", "Unsigned(0)".to_owned()),
        ("exec on the host", "evt.time", "22:13:25.000000000".to_owned()),
        ("exec on the host", "evt.time.s", "22:13:25".to_owned()),
        ("exec on the host", "evt.datetime", "2023-11-14 22:13:25.000000000".to_owned()),
        ("exec on the host", "evt.datetime.s", "2023-11-14 22:13:25".to_owned()),
        ("exec on the host", "evt.time.iso8601", "2023-11-14T22:13:25.000000000Z".to_owned()),
        ("exec on the host", "evt.rawtime.s", "Unsigned(1700000005)".to_owned()),
        // Opens, paths and fds.
        ("create an executable", "evt.is_open_exec", "Bool(true)".to_owned()),
        ("open", "evt.is_open_exec", "Bool(false)".to_owned()),
        ("open", "evt.abspath", "/etc/shadow".to_owned()),
        ("open", "fs.path.name", "/etc/shadow".to_owned()),
        ("rename", "fs.path.source", "/tmp/a".to_owned()),
        ("rename", "fs.path.targetraw", "/tmp/b".to_owned()),
        ("rename", "evt.abspath.dst", "/tmp/b".to_owned()),
        ("rename", "fs.path.name", "<NA>".to_owned()),
        ("open", "fd.uid", "203".to_owned()),
        ("open", "fd.ino", "Signed(1234)".to_owned()),
        ("open", "fd.containername", "host:/etc/shadow".to_owned()),
        ("open", "fd.containerdirectory", "host:/etc".to_owned()),
        ("accept ipv6", "fd.containername", "4f3a9b2c1d0e:2001:::51000->::1:80".to_owned()),
        ("accept ipv6", "fd.is_server", "Bool(true)".to_owned()),
        ("connect ipv4", "fd.is_server", "Bool(false)".to_owned()),
        ("connect ipv4", "fd.sproto", "443".to_owned()),
        ("connect ipv4", "fd.cproto", "43454".to_owned()),
        ("connect unix", "fd.sproto", "<NA>".to_owned()),
        // Names only for addresses of names the rules compare with (here: localhost).
        ("connect localhost", "fd.sip.name", "localhost".to_owned()),
        ("connect localhost", "fd.cip.name", "localhost".to_owned()),
        ("connect ipv4", "fd.sip.name", "<NA>".to_owned()),
        ("open", "fd.sip.name", "<NA>".to_owned()),
    ] {
        assert_eq!(value(&scene, &users, on, field), want, "{field} on {on}");
    }
}
