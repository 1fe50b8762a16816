//! Decisions from constructed events: every class of change in both modes, with the exact
//! action, resolved target, `evt.res`, `enforced` and setting; W^X; mounts before the init's
//! exec; one decision per call.

use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::sync::Arc;

use palisade_ebpf::abi::{fd_kind, FdInfo};
use palisade_profiles::{Mode, ProfileSet};
use palisade_rules::output::FieldValue;

use super::*;
use crate::containers::mount_fact;
use crate::event::resolve::ProcRoots;
use crate::event::Call;
use crate::record::SyscallRecord;
use crate::syscalls;

const EACCES: i64 = -13;
const EPERM: i64 = -1;
const ENOENT: i64 = -2;
const EEXIST: i64 = -17;
const EXDEV: i64 = -18;
const EROFS: i64 = -30;
const PID: u32 = 4242;

const PROFILE: &str = "name: locked\nmatch: {images: [\"app:*\"]}\nimmutable:\n  enabled: true\n  allow_write: [/var/cache/app]\n  allow_writable_exec: [/data/tools]\ndeny_shells: true\n";

fn meta(mode: Mode) -> ContainerMeta {
    let set = ProfileSet::from_texts(&[("p.yaml", PROFILE)]).unwrap_or_else(|e| panic!("{e:?}"));
    let profile = set.get("locked").expect("profile").clone();
    let rw = |d: &str, kind: &str| mount_fact(d, d, kind, &["rw".to_owned()]);
    ContainerMeta {
        full_id: "0123456789abcdef".into(),
        name: "app".into(),
        mounts: vec![
            rw("/proc", "proc"),
            rw("/dev", "tmpfs"),
            rw("/dev/shm", "tmpfs"),
            rw("/run", "tmpfs"),
            rw("/data", "bind"),
            rw("/cache", "bind"),
            mount_fact("/etc/hosts", "/x/hosts", "bind", &["ro".to_owned()]),
        ],
        profile: Some(Arc::new(profile)),
        mode,
        enforced_by: (mode == Mode::Enforce).then_some(Backend::Landlock),
        ..ContainerMeta::default()
    }
}

fn process(comm: &str, exepath: &str) -> Process {
    Process { pid: PID, comm: comm.into(), exe: comm.into(), exepath: exepath.into(), args: vec![], ..Process::default() }
}

/// A call `event` by `p` returning `ret`, with its strings (absolute) and the described fd.
/// (Also the pipeline tests' event.)
pub(crate) fn call_by(p: Process, event: &str, ret: i64, args: [u64; 6], strings: [Option<&str>; 2], fd_path: Option<&str>) -> EventData {
    let sys = syscalls::for_event(event).next().unwrap_or_else(|| panic!("{event} is in the table"));
    let mut fd: FdInfo = bytemuck::Zeroable::zeroed();
    if fd_path.is_some() {
        fd.kind = fd_kind::FILE;
        fd.num = 3;
        fd.i_mode = 0o100_644;
    }
    let rec = SyscallRecord::of(bytemuck::Zeroable::zeroed(), sys.nr, ret, args, strings, fd, fd_path);
    EventData {
        type_code: palisade_rules::event_types::code(sys.event).expect("a Falco event name"),
        type_name: sys.event,
        num: 1,
        time_ns: 1,
        res: ret,
        tid: PID,
        // 0: the fake /proc has no cgroups to check (event::resolve tests the check).
        cgroup_id: 0,
        boot_to_wall: 0,
        process: p,
        call: Some(Call::new(sys, rec)),
    }
}

fn call(event: &str, ret: i64, args: [u64; 6], strings: [Option<&str>; 2], fd_path: Option<&str>) -> EventData {
    call_by(process("tool", "/usr/bin/tool"), event, ret, args, strings, fd_path)
}

fn path_call(event: &str, ret: i64, path: &str) -> EventData {
    call(event, ret, [0; 6], [Some(path), None], None)
}

fn exec(exepath: &str) -> EventData {
    let mut e = call("chdir", 0, [0; 6], [None, None], None);
    e.type_name = "execve";
    e.type_code = palisade_rules::event_types::code("execve").expect("execve");
    e.call = None;
    e.process = process("prog", exepath);
    e
}

fn failed_exec(path: &str, res: i64) -> EventData {
    call("execve", res, [0; 6], [Some(path), None], None)
}

fn field<'a>(d: &'a Decision, name: &str) -> &'a str {
    match d.alert.output_fields.iter().find(|(k, _)| k == name).map(|(_, v)| v) {
        Some(FieldValue::Text(t)) => t,
        other => panic!("{name}: {other:?}"),
    }
}

/// (action, target, evt.res, enforced, setting) of the one decision.
fn decided(d: Option<Decision>) -> (String, String, String, bool, String) {
    let d = d.expect("a decision");
    assert_eq!(d.alert.rule, RULE);
    assert_eq!((field(&d, "palisade.action"), field(&d, "palisade.target")), (d.action.as_str(), d.target.as_str()));
    let enforced = d.alert.extra.iter().find(|(k, _)| k == "enforced").map(|(_, v)| v.clone());
    assert_eq!(enforced, Some(Json::Bool(d.enforced)));
    // The same facts in output_fields, the one place Falcosidekick forwards.
    assert_eq!(field(&d, "palisade.enforced"), if d.enforced { "true" } else { "false" });
    for key in ["profile", "mode", "backend"] {
        let top = d.alert.extra.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str().unwrap_or("none").to_owned());
        assert_eq!(Some(field(&d, &format!("palisade.{key}")).to_owned()), top, "{key}");
    }
    (d.action.clone(), d.target.clone(), field(&d, "evt.res").to_owned(), d.enforced, d.setting.clone())
}

fn want(action: &str, target: &str, res: &str, enforced: bool, setting: &str) -> (String, String, String, bool, String) {
    (action.into(), target.into(), res.into(), enforced, setting.into())
}

fn judge_both(e: &EventData, m: &ContainerMeta) -> Option<Decision> {
    judge(e, m, "host")
}

#[test]
fn metadata_and_truncate_refusals_and_would_denies() {
    let enforce = meta(Mode::Enforce);
    let audit = meta(Mode::Audit);
    let nofollow = 0x100;
    let cases: Vec<(EventData, &str, &str)> = vec![
        (path_call("truncate", EROFS, "/etc/passwd"), "truncate", "/etc/passwd"),
        (call("ftruncate", EROFS, [3, 0, 0, 0, 0, 0], [None, None], Some("/usr/bin/tool")), "truncate", "/usr/bin/tool"),
        (path_call("chmod", EROFS, "/etc/shadow"), "chmod", "/etc/shadow"),
        (call("fchmod", EROFS, [3, 0o777, 0, 0, 0, 0], [None, None], Some("/bin/ls")), "chmod", "/bin/ls"),
        (call("fchmodat", EROFS, [u64::MAX - 99, 0, 0o4755, 0, 0, 0], [Some("/usr/bin/su"), None], None), "chmod", "/usr/bin/su"),
        (call("fchmodat2", EROFS, [3, 0, 0o644, 0x1000, 0, 0], [Some(""), None], Some("/etc/group")), "chmod", "/etc/group"),
        (path_call("chown", EROFS, "/etc/passwd"), "chown", "/etc/passwd"),
        (path_call("lchown", EROFS, "/etc/passwd"), "chown", "/etc/passwd"),
        (call("fchown", EROFS, [3, 0, 0, 0, 0, 0], [None, None], Some("/etc/passwd")), "chown", "/etc/passwd"),
        (call("fchownat", EROFS, [3, 0, 0, 0, 0x1000, 0], [Some(""), None], Some("/etc/sudoers")), "chown", "/etc/sudoers"),
        (call("fchownat", EROFS, [u64::MAX - 99, 0, 0, 0, nofollow, 0], [Some("/etc/x"), None], None), "chown", "/etc/x"),
        (path_call("setxattr", EROFS, "/bin/ping"), "setxattr", "/bin/ping"),
        (path_call("lremovexattr", EROFS, "/bin/ping"), "removexattr", "/bin/ping"),
        (call("fsetxattr", EROFS, [3, 0, 0, 0, 0, 0], [None, None], Some("/bin/ping")), "setxattr", "/bin/ping"),
        (path_call("utimes", EROFS, "/etc/motd"), "utimes", "/etc/motd"),
        (path_call("utime", EROFS, "/etc/motd"), "utimes", "/etc/motd"),
        (call("utimensat", EROFS, [3, 0, 0, 0, 0, 0], [None, None], Some("/etc/motd")), "utimes", "/etc/motd"),
        (path_call("mknod", EROFS, "/etc/fifo"), "mknod", "/etc/fifo"),
        (path_call("unlink", EROFS, "/etc/passwd"), "unlink", "/etc/passwd"),
        (call("unlinkat", EROFS, [0, 0, 0x200, 0, 0, 0], [Some("/etc/ssl"), None], None), "rmdir", "/etc/ssl"),
        (path_call("mkdir", EROFS, "/etc/new"), "mkdir", "/etc/new"),
        (call("symlink", EROFS, [0; 6], [Some("/data/x"), Some("/etc/link")], None), "symlink", "/etc/link"),
        (call("openat", EROFS, [u64::MAX - 99, 0, 0o1101, 0, 0, 0], [Some("/etc/passwd"), None], None), "write", "/etc/passwd"),
        (path_call("creat", EACCES, "/usr/bin/dropped"), "write", "/usr/bin/dropped"),
    ];
    for (e, action, target) in cases {
        assert_eq!(decided(judge_both(&e, &enforce)), want(action, target, "EROFS", true, "immutable").clone_with_res(e.res), "{}", e.type_name);
        // The same call succeeding in an audit container: a would-deny.
        let mut ok = e.clone();
        ok.res = 0;
        if let Some(c) = ok.call.as_mut() {
            c.rec.ret = if matches!(c.sys.event, "openat" | "creat") { 5 } else { 0 };
            if matches!(c.sys.event, "openat" | "creat") {
                c.rec.fd = FdInfo { kind: fd_kind::FILE, num: 5, i_mode: 0o100_644, ..bytemuck::Zeroable::zeroed() };
                c.rec.fd_path = Some(target.to_owned());
                *c = Call::new(c.sys, c.rec.clone());
            }
        }
        assert_eq!(decided(judge_both(&ok, &audit)), want(action, target, "SUCCESS", false, "immutable"), "{} audit", e.type_name);
    }
}

trait WithRes {
    fn clone_with_res(self, res: i64) -> Self;
}

impl WithRes for (String, String, String, bool, String) {
    fn clone_with_res(mut self, res: i64) -> Self {
        self.2 = errno_name(res);
        self
    }
}

#[test]
fn allowed_places_and_other_errors_are_no_decision() {
    let enforce = meta(Mode::Enforce);
    for e in [
        path_call("truncate", 0, "/data/log"),
        path_call("chmod", 0, "/var/cache/app/x"),
        path_call("chown", 0, "/dev/shm/x"),
        path_call("truncate", ENOENT, "/etc/missing"),
        path_call("mkdir", EEXIST, "/etc"),
        call("openat", EROFS, [u64::MAX - 99, 0, 0, 0, 0, 0], [Some("/etc/passwd"), None], None),
        // A successful read-only open with O_CREAT: nothing says it created the file.
        call("openat", 3, [u64::MAX - 99, 0, 0o100, 0, 0, 0], [Some("/etc/lock"), None], Some("/etc/lock")),
        exec("/usr/bin/tool"),
    ] {
        assert!(judge_both(&e, &enforce).is_none(), "{} {:?}", e.type_name, e.call.as_ref().map(|c| &c.rec.strings));
    }
    // Refused, the same open is a refused create.
    let create = call("openat", EROFS, [u64::MAX - 99, 0, 0o100, 0, 0, 0], [Some("/etc/lock"), None], None);
    assert_eq!(decided(judge_both(&create, &enforce)), want("write", "/etc/lock", "EROFS", true, "immutable"));
    // A refusal errno in a container no backend confines decided nothing.
    assert!(judge_both(&path_call("truncate", EROFS, "/etc/passwd"), &meta(Mode::Audit)).is_none());
}

#[test]
fn exdev_counts_for_links_and_renames_only_and_names_the_first_denied_end() {
    let enforce = meta(Mode::Enforce);
    let rename = |res, old: &str, new: &str| call("rename", res, [0; 6], [Some(old), Some(new)], None);
    assert_eq!(
        decided(judge_both(&rename(EXDEV, "/data/a", "/etc/a"), &enforce)),
        want("rename", "/etc/a", "EXDEV", true, "immutable")
    );
    assert_eq!(
        decided(judge_both(&rename(EXDEV, "/etc/a", "/usr/b"), &enforce)),
        want("rename", "/etc/a", "EXDEV", true, "immutable"),
        "both ends denied: one alert, the first"
    );
    assert!(judge_both(&rename(EXDEV, "/data/a", "/cache/a"), &enforce).is_none(), "across two allowed mounts");
    let link = call("linkat", EXDEV, [0; 6], [Some("/etc/passwd"), Some("/data/passwd")], None);
    assert_eq!(decided(judge_both(&link, &enforce)), want("link", "/etc/passwd", "EXDEV", true, "immutable"));
    assert!(judge_both(&path_call("truncate", EXDEV, "/etc/passwd"), &enforce).is_none(), "EXDEV is no refusal of truncate");
}

#[test]
fn writes_through_symlinks_are_judged_on_the_resolved_target() {
    let proc = std::env::temp_dir().join(format!("palisade-judge-links-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&proc);
    let root = proc.join(PID.to_string()).join("root");
    std::fs::create_dir_all(root.join("data")).expect("data");
    std::fs::create_dir_all(root.join("etc")).expect("etc");
    std::fs::write(root.join("etc/passwd"), "root:x:0:0").expect("passwd");
    symlink("/etc/passwd", root.join("data/link")).expect("link");
    symlink("/etc/new", root.join("data/dangling")).expect("dangling");
    symlink("/etc", root.join("data/etc")).expect("dir link");
    let roots = ProcRoots::new(&proc, proc.join("no-cgroups"));
    let (enforce, audit) = (meta(Mode::Enforce), meta(Mode::Audit));
    let judged = |e: &EventData, m: &ContainerMeta| decided(judge_in(e, m, "host", &roots));

    // Refused write through a link in an allowed place: the decision is on the target.
    let open_w = call("openat", EROFS, [u64::MAX - 99, 0, 0o1, 0, 0, 0], [Some("/data/link"), None], None);
    assert_eq!(judged(&open_w, &enforce), want("write", "/etc/passwd", "EROFS", true, "immutable"));
    assert!(judge(&open_w, &enforce, "host").is_none(), "unresolved, /data/link is allowed: what a replay sees");
    // creat through a dangling link creates its target.
    assert_eq!(judged(&path_call("creat", EROFS, "/data/dangling"), &enforce), want("write", "/etc/new", "EROFS", true, "immutable"));
    // chmod, chown, truncate, setxattr, utimes follow the link, in both modes.
    for (event, action) in [("chmod", "chmod"), ("chown", "chown"), ("truncate", "truncate"), ("setxattr", "setxattr"), ("utimes", "utimes")] {
        assert_eq!(judged(&path_call(event, 0, "/data/link"), &audit), want(action, "/etc/passwd", "SUCCESS", false, "immutable"), "{event}");
        assert_eq!(judged(&path_call(event, EROFS, "/data/link"), &enforce), want(action, "/etc/passwd", "EROFS", true, "immutable"), "{event}");
    }
    // The l* variants and unlink act on the link itself: allowed.
    for event in ["lchown", "lsetxattr", "unlink"] {
        assert!(judge_in(&path_call(event, 0, "/data/link"), &audit, "host", &roots).is_none(), "{event}");
    }
    // fchownat with AT_SYMLINK_NOFOLLOW: the link; without: the target.
    let fchownat = |flags| call("fchownat", 0, [u64::MAX - 99, 0, 0, 0, flags, 0], [Some("/data/link"), None], None);
    assert!(judge_in(&fchownat(0x100), &audit, "host", &roots).is_none());
    assert_eq!(judged(&fchownat(0), &audit), want("chown", "/etc/passwd", "SUCCESS", false, "immutable"));
    // Parent directories are resolved for the calls that name a link: unlink of /data/etc/passwd.
    assert_eq!(judged(&path_call("unlink", EROFS, "/data/etc/passwd"), &enforce), want("unlink", "/etc/passwd", "EROFS", true, "immutable"));
    let _ = std::fs::remove_dir_all(&proc);
}

#[test]
fn execs_from_writable_places_break_wx() {
    let (enforce, audit) = (meta(Mode::Enforce), meta(Mode::Audit));
    for program in ["/dev/shm/x", "/dev/x", "/run/x", "/data/x", "/var/cache/app/x"] {
        let d = judge_both(&exec(program), &audit);
        assert_eq!(decided(d), want("exec", program, "SUCCESS", false, "immutable"), "{program}");
        let d = judge_both(&failed_exec(program, EACCES), &enforce).expect("refusal");
        assert_eq!(field(&d, "palisade.reason"), WX_REASON);
        assert_eq!(decided(Some(d)), want("exec", program, "EACCES", true, "immutable"), "{program}");
    }
    // The profile's exception, read-only mounts, the image, /proc: no decision.
    for program in ["/data/tools/run", "/etc/hosts", "/usr/bin/tool", "/proc/self/exe"] {
        assert!(judge_both(&exec(program), &audit).is_none(), "{program}");
        assert!(judge_both(&failed_exec(program, EACCES), &enforce).is_none(), "{program}");
    }
    // A program written into the root filesystem (overlay upper layer, audit mode).
    let mut copied = exec("/root/x");
    copied.process.exe_upper_layer = true;
    assert_eq!(decided(judge_both(&copied, &audit)), want("exec", "/root/x", "SUCCESS", false, "immutable"));
    copied.process.exepath = "/data/tools/x".into();
    assert!(judge_both(&copied, &audit).is_none(), "allow_writable_exec");
    // A failed exec for another reason decided nothing.
    assert!(judge_both(&failed_exec("/data/x", ENOENT), &enforce).is_none());
    // A shell copied to a writable place: one decision, by name.
    assert_eq!(decided(judge_both(&exec("/dev/shm/bash"), &audit)), want("exec", "/dev/shm/bash", "SUCCESS", false, "deny_shells"));
    assert_eq!(
        decided(judge_both(&failed_exec("/dev/shm/bash", EACCES), &enforce)),
        want("exec", "/dev/shm/bash", "EACCES", true, "deny_shells")
    );
}

#[test]
fn mounts_are_decisions_once_the_entrypoint_runs() {
    let (enforce, audit) = (meta(Mode::Enforce), meta(Mode::Audit));
    let mount = |p: Process, res| call_by(p, "mount", res, [0; 6], [Some("tmpfs"), Some("/etc")], None);
    let app = || process("sh", "/usr/bin/busybox");
    assert_eq!(decided(judge_both(&mount(app(), EPERM), &enforce)), want("mount", "/etc", "EPERM", true, "immutable"));
    assert_eq!(decided(judge_both(&mount(app(), 0), &audit)), want("mount", "/etc", "SUCCESS", false, "immutable"));
    let moved = call("move_mount", 0, [3, 0, u64::MAX - 99, 0, 0, 0], [Some(""), Some("/usr")], None);
    assert_eq!(decided(judge_both(&moved, &audit)), want("mount", "/usr", "SUCCESS", false, "immutable"));
    // runc's own mounts (masked and read-only paths) before its init execs the entrypoint.
    // runc 1.1 (measured on this host): comm `runc`, exe `/dev/fd/6`; others: named stages,
    // runc's path, a memfd copy, /proc/self/exe.
    for (comm, exe) in [
        ("runc", "/dev/fd/6"),
        ("runc:[2:INIT]", "/usr/bin/runc"),
        ("runc:[2:INIT]", "/memfd:runc_cloned:/proc/self/exe (deleted)"),
        ("runc", "/proc/self/exe"),
        // runc 1.1.5 under containerd (measured): its binary lies outside the pivoted root.
        ("runc:[2:INIT]", "/"),
    ] {
        assert!(judge_both(&mount(process(comm, exe), 0), &audit).is_none(), "{comm} {exe}");
    }
    // Nor anything else runc does before the exec (mount points on host paths, /dev nodes).
    let runc = || process("runc", "/dev/fd/6");
    assert!(judge_both(&call_by(runc(), "mkdir", 0, [0; 6], [Some("/run/containerd/x/rootfs/proc"), None], None), &audit).is_none());
    assert!(judge_both(&call_by(runc(), "mknod", 0, [0; 6], [Some("/etc/null"), None], None), &audit).is_none());
    // Neither the name alone nor the exec through an fd alone makes a process the runtime.
    assert!(judge_both(&mount(process("runc:[2:INIT]", "/usr/bin/busybox"), 0), &audit).is_some());
    assert!(judge_both(&mount(process("sh", "/dev/fd/6"), 0), &audit).is_some());
    // And running a program through an fd is itself W^X under the tmpfs /dev.
    assert_eq!(decided(judge_both(&exec("/dev/fd/6"), &audit)).4, "immutable");
}

#[test]
fn writable_places_come_from_the_spec_and_the_profile() {
    let m = meta(Mode::Enforce);
    let places = writable_places(&m, &[PathBuf::from("/var/cache/app")]);
    let places: Vec<&str> = places.iter().filter_map(|p| p.to_str()).collect();
    assert_eq!(places, ["/dev", "/dev/shm", "/run", "/data", "/cache", "/var/cache/app", "/dev/shm", "/dev/mqueue"]);
}

#[test]
fn kernel_reasons_map_to_profile_settings() {
    use palisade_lsm::Reason;
    let cases = [
        (Reason::Shell, "deny_shells"),
        (Reason::PackageManager, "deny_package_managers"),
        (Reason::ExecDenied, "exec.deny"),
        (Reason::NotFromImage, "exec (not from the image)"),
        (Reason::Immutable, "immutable"),
    ];
    for (reason, setting) in cases {
        assert_eq!(kernel_setting(reason), setting, "{reason}");
    }
}

#[test]
fn executable_mappings_of_writable_files_break_wx() {
    let (enforce, audit) = (meta(Mode::Enforce), meta(Mode::Audit));
    // mmap(NULL, len, PROT_READ|PROT_EXEC, MAP_PRIVATE, fd 3, 0), the `ld.so /dev/shm/bash` way.
    let mapping = |res: i64, prot: u64, file: &str| call("mmap", res, [0, 4096, prot, 2, 3, 0], [None, None], Some(file));
    let ok = 0x7f00_0000_0000;
    let d = judge_both(&mapping(ok, 5, "/dev/shm/bash"), &audit).expect("would-deny");
    assert_eq!(field(&d, "palisade.reason"), WX_REASON);
    assert_eq!(decided(Some(d)), want("mmap", "/dev/shm/bash", "SUCCESS", false, "immutable"));
    assert_eq!(decided(judge_both(&mapping(EPERM, 5, "/data/x"), &enforce)), want("mmap", "/data/x", "EPERM", true, "immutable"));
    // Not executable, from the image, the profile's exception, a failure that is no refusal.
    for e in [mapping(ok, 1, "/dev/shm/bash"), mapping(ok, 5, "/usr/lib/libc.so.6"), mapping(ok, 5, "/data/tools/lib.so"), mapping(-22, 5, "/data/x")] {
        assert!(judge_both(&e, &enforce).is_none() && judge_both(&e, &audit).is_none(), "{:?}", e.call.as_ref().map(|c| c.rec.args));
    }
    assert!(mapping(ok, 5, "/data/x").is_judge_only(), "never shown to the rules");
}

/// Through the pipeline (what the daemon and replays run): each judged call is one
/// `Palisade enforcement` alert; a rule naming the call's event sees it as Falco would, except
/// the judge-only events (executable mappings, failed execs), which no rule sees.
#[test]
fn the_pipeline_emits_one_decision_per_call() {
    use crate::pipeline::{Emitted, Evaluator};
    let mut loader = palisade_rules::Loader::new();
    loader.add_str(
        "r.yaml",
        "- rule: metadata\n  desc: d\n  condition: evt.type in (truncate, chown, mmap, execve)\n  output: o\n  priority: INFO\n",
    );
    let rules = loader.compile().ruleset.expect("rules");
    let table = crate::process::ProcessTable::offline();
    let users = crate::process::Users::default();
    let evaluator = Evaluator::new("host".into());
    let enforce = meta(Mode::Enforce);
    let count = |e: &EventData| {
        let (mut decisions, mut rule_alerts) = (0, 0);
        evaluator.evaluate(&rules, e, &table, &users, Some(&enforce), &mut Vec::new(), &mut |emitted| match emitted {
            Emitted::Decision(d) => {
                assert_eq!(d.alert.rule, RULE);
                decisions += 1;
            }
            Emitted::Rule { .. } => rule_alerts += 1,
        });
        (decisions, rule_alerts)
    };
    assert_eq!(count(&path_call("truncate", EROFS, "/etc/passwd")), (1, 1), "refused truncate: one decision, the rule sees it");
    assert_eq!(count(&path_call("chown", 0, "/data/x")), (0, 1), "allowed: no decision");
    let mapping = call("mmap", EPERM, [0, 4096, 5, 2, 3, 0], [None, None], Some("/dev/shm/x"));
    assert_eq!(count(&mapping), (1, 0), "judge-only");
    assert_eq!(count(&failed_exec("/dev/shm/x", EACCES)), (1, 0), "judge-only");
    assert_eq!(count(&exec("/dev/shm/x")), (1, 1), "an exec that ran: one W^X decision, and the rules see the exec");
}

#[test]
fn an_exec_through_a_link_into_a_writable_place_breaks_wx() {
    let proc = std::env::temp_dir().join(format!("palisade-judge-exec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&proc);
    let root = proc.join(PID.to_string()).join("root");
    std::fs::create_dir_all(root.join("usr/local/bin")).expect("bin");
    std::fs::create_dir_all(root.join("data")).expect("data");
    std::fs::write(root.join("data/tool"), "#!").expect("tool");
    symlink("/data/tool", root.join("usr/local/bin/tool")).expect("link");
    let roots = ProcRoots::new(&proc, proc.join("no-cgroups"));
    let d = judge_in(&exec("/usr/local/bin/tool"), &meta(Mode::Audit), "host", &roots);
    assert_eq!(decided(d), want("exec", "/data/tool", "SUCCESS", false, "immutable"));
    assert!(judge(&exec("/usr/local/bin/tool"), &meta(Mode::Audit), "host").is_none(), "unresolved: an image path");
    let _ = std::fs::remove_dir_all(&proc);
}

#[test]
fn execs_of_denied_files_under_other_names_are_judged_by_identity() {
    let mut programs = vec![
        ("/usr/lib/x/sh2".to_owned(), "shell".to_owned()),
        ("/usr/libexec/helper".to_owned(), "shell".to_owned()),
        ("/opt/pm".to_owned(), "package_manager".to_owned()),
    ];
    programs.push(("/usr/bin/tool".to_owned(), "deny /usr/bin/t*".to_owned()));
    let scanned = crate::containers::image_scan::DeniedPrograms::from_entries(programs.clone()).expect("entries");
    assert_eq!(scanned.to_entries().len(), 4);
    let with_scan = |mode: Mode| ContainerMeta { denied_programs: Some(Arc::new(scanned.clone())), ..meta(mode) };
    // Enforce: Landlock refused the exec of a hard link / copy of a shell: one decision, by identity.
    let m = with_scan(Mode::Enforce);
    assert_eq!(decided(judge_both(&failed_exec("/usr/lib/x/sh2", EACCES), &m)), want("exec", "/usr/lib/x/sh2", "EACCES", true, "deny_shells"));
    assert_eq!(decided(judge_both(&failed_exec("/opt/pm", EACCES), &m)), want("exec", "/opt/pm", "EACCES", true, "deny_package_managers"));
    assert_eq!(decided(judge_both(&failed_exec("/usr/bin/tool", EACCES), &m)), want("exec", "/usr/bin/tool", "EACCES", true, "exec.deny /usr/bin/t*"));
    // Audit: it ran; a would-deny.
    let m = with_scan(Mode::Audit);
    assert_eq!(decided(judge_both(&exec("/usr/libexec/helper"), &m)), want("exec", "/usr/libexec/helper", "SUCCESS", false, "deny_shells"));
    // Without a scan the same exec is not a shell by name: no decision.
    assert!(judge_both(&exec("/usr/libexec/helper"), &meta(Mode::Audit)).is_none());
    // An unknown kind in a capture is an error naming it.
    let e = crate::containers::image_scan::DeniedPrograms::from_entries(vec![("/x".into(), "wat".into())]).expect_err("bad kind");
    assert_eq!(e, "denied program /x: unknown kind \"wat\"");
}

#[test]
fn decisions_name_the_pod_as_rule_alerts_do() {
    let outside = meta(Mode::Enforce);
    let in_pod = ContainerMeta {
        pod: Some(crate::containers::PodMeta { name: "web-7d9f".into(), namespace: "shop".into(), ..Default::default() }),
        ..meta(Mode::Enforce)
    };
    let e = path_call("unlink", EROFS, "/etc/passwd");
    let d = judge_both(&e, &in_pod).expect("a decision");
    assert_eq!((field(&d, "k8s.ns.name"), field(&d, "k8s.pod.name")), ("shop", "web-7d9f"));
    assert!(d.alert.output.ends_with("k8s_ns_name=shop k8s_pod_name=web-7d9f"), "{}", d.alert.output);
    let d = judge_both(&e, &outside).expect("a decision");
    let missing = |k: &str| d.alert.output_fields.iter().any(|(key, v)| key == k && *v == FieldValue::Missing);
    assert!(missing("k8s.ns.name") && missing("k8s.pod.name"), "{:?}", d.alert.output_fields);
    assert!(d.alert.output.ends_with("k8s_ns_name=<NA> k8s_pod_name=<NA>"), "{}", d.alert.output);
}
