//! Privileged: the calls immutability judges beyond opens — `truncate`, `ftruncate`, the chown
//! family, `fchmodat2`, the xattr writes, the time setters, `mknodat`, `mount`, `move_mount`
//! — are captured at their exit with their return value, arguments, paths and fd, and decode
//! into the change the profile judge reads (action and target), successes and failures alike.
//!
//! Needs root and a kernel with BTF; fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.

#![expect(unsafe_code, reason = "raw syscalls (fchmodat2, move_mount, utimensat with NULL) need unsafe")]

mod common;

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::skip_or_fail;
use nix::libc;
use palisade_daemon::capture::plan;
use palisade_events::event::change::Change;
use palisade_events::event::Call;
use palisade_events::record::SyscallRecord;
use palisade_daemon::kernel::{decode, Kernel, Record};
use palisade_rules::Loader;

const SYS_FCHMODAT2: libc::c_long = 452;
const SYS_MOVE_MOUNT: libc::c_long = 429;

fn c(p: &str) -> CString {
    CString::new(p).expect("no NUL")
}

/// The result as the kernel returned it (minus errno on failure).
fn ret(r: libc::c_long) -> i64 {
    if r < 0 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        r
    }
}

/// The records of thread `tid` until `n` of them arrived (or 10 s).
fn collect(kernel: &mut Kernel, tid: u32, n: usize) -> Vec<SyscallRecord> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && out.len() < n {
        kernel.wait(Duration::from_millis(100)).expect("poll");
        kernel.drain(|bytes| {
            if let Ok(Record::Syscall(rec)) = decode(bytes) {
                if rec.hdr.tid == tid {
                    out.push(*rec);
                }
            }
        });
    }
    out
}

fn change(rec: &SyscallRecord) -> Option<Change> {
    let sys = palisade_events::syscalls::by_nr(rec.nr).expect("a known syscall");
    Call::new(sys, rec.clone()).change()
}

#[test]
fn metadata_changes_and_mounts_are_captured_and_decoded() {
    if !nix::unistd::geteuid().is_root() {
        return skip_or_fail("not root");
    }
    let dir = format!("/tmp/palisade-changes-{}", std::process::id());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(format!("{dir}/mnt")).expect("scratch dir");
    let file = format!("{dir}/file");
    std::fs::write(&file, "0123456789").expect("file");
    std::os::unix::fs::symlink(&file, format!("{dir}/link")).expect("link");

    let events = "truncate, ftruncate, chown, lchown, fchown, fchownat, fchmodat2, setxattr, fsetxattr, \
                  lremovexattr, utimensat, utimes, mknodat, mount, move_mount";
    let mut loader = Loader::new();
    loader.add_str(
        "changes.yaml",
        &format!(
            "- rule: changes probe\n  desc: d\n  condition: evt.type in ({events})\n  output: o\n  priority: INFO\n\
             - rule: chown parameters\n  desc: d\n  condition: evt.type = chown and evt.arg.path = {dir}/link and evt.arg.uid = 0 \
             and evt.res = SUCCESS\n  output: o\n  priority: INFO\n"
        ),
    );
    let mut rules = loader.compile().ruleset.expect("rules");
    rules.set_rule_matching(palisade_rules::RuleMatching::All);
    let Some((mut kernel, _scope)) = common::kernel_watching_host(&plan(&rules).capture) else { return };
    let tid = nix::unistd::gettid().as_raw() as u32;

    let (f, l, m) = (c(&file), c(&format!("{dir}/link")), c(&format!("{dir}/mnt")));
    let fifo = c(&format!("{dir}/fifo"));
    let handle = std::fs::OpenOptions::new().write(true).open(&file).expect("open");
    let fd = handle.as_raw_fd();
    let (name, value) = (c("user.palisade"), b"1");
    // SAFETY: plain syscalls on NUL-terminated paths this test owns and its own fd.
    let results: Vec<(&str, i64)> = unsafe {
        vec![
            ("truncate", ret(libc::truncate(f.as_ptr(), 3).into())),
            ("ftruncate", ret(libc::ftruncate(fd, 2).into())),
            ("chown", ret(libc::chown(l.as_ptr(), 0, 0).into())),
            ("lchown", ret(libc::lchown(l.as_ptr(), 0, 0).into())),
            ("fchown", ret(libc::fchown(fd, 0, 0).into())),
            ("fchownat", ret(libc::fchownat(libc::AT_FDCWD, l.as_ptr(), 0, 0, libc::AT_SYMLINK_NOFOLLOW).into())),
            ("fchmodat2", ret(libc::syscall(SYS_FCHMODAT2, libc::AT_FDCWD, f.as_ptr(), 0o640, 0))),
            ("setxattr", ret(libc::setxattr(f.as_ptr(), name.as_ptr(), value.as_ptr().cast(), 1, 0).into())),
            ("fsetxattr", ret(libc::fsetxattr(fd, name.as_ptr(), value.as_ptr().cast(), 1, 0).into())),
            ("lremovexattr", ret(libc::lremovexattr(l.as_ptr(), name.as_ptr()).into())),
            ("utimensat", ret(libc::utimensat(libc::AT_FDCWD, l.as_ptr(), std::ptr::null(), 0).into())),
            ("utimensat-fd", ret(libc::syscall(libc::SYS_utimensat, fd, std::ptr::null::<libc::c_char>(), std::ptr::null::<libc::timespec>(), 0))),
            // glibc's utimes() is utimensat: the syscall itself.
            ("utimes", ret(libc::syscall(libc::SYS_utimes, f.as_ptr(), std::ptr::null::<libc::timeval>()))),
            ("mknodat", ret(libc::mknodat(libc::AT_FDCWD, fifo.as_ptr(), libc::S_IFIFO | 0o644, 0).into())),
            ("mount", ret(libc::mount(c("none").as_ptr(), m.as_ptr(), c("tmpfs").as_ptr(), 0, std::ptr::null()).into())),
            ("move_mount", ret(libc::syscall(SYS_MOVE_MOUNT, -1, c("").as_ptr(), libc::AT_FDCWD, m.as_ptr(), 0))),
        ]
    };
    // SAFETY: unmounting the tmpfs mounted above.
    unsafe { libc::umount2(m.as_ptr(), libc::MNT_DETACH) };
    let recs = collect(&mut kernel, tid, results.len());
    drop(handle);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(kernel.drops(), 0, "no record lost");
    assert_eq!(recs.len(), results.len(), "one record per call: {recs:#?}");

    let link = format!("{dir}/link");
    let mnt = format!("{dir}/mnt");
    // (what was called, event, action, target as decoded (lexical: the judge resolves), follow)
    let expected: [(&str, &str, &str, &str, bool); 16] = [
        ("truncate", "truncate", "truncate", &file, true),
        ("ftruncate", "ftruncate", "truncate", &file, false),
        ("chown", "chown", "chown", &link, true),
        ("lchown", "lchown", "chown", &link, false),
        ("fchown", "fchown", "chown", &file, false),
        ("fchownat", "fchownat", "chown", &link, false),
        ("fchmodat2", "fchmodat2", "chmod", &file, true),
        ("setxattr", "setxattr", "setxattr", &file, true),
        ("fsetxattr", "fsetxattr", "setxattr", &file, false),
        ("lremovexattr", "lremovexattr", "removexattr", &link, false),
        ("utimensat", "utimensat", "utimes", &link, true),
        ("utimensat-fd", "utimensat", "utimes", &file, false),
        ("utimes", "utimes", "utimes", &file, true),
        ("mknodat", "mknodat", "mknod", &format!("{dir}/fifo"), false),
        ("mount", "mount", "mount", &mnt, true),
        ("move_mount", "move_mount", "mount", &mnt, true),
    ];
    for ((rec, (called, res)), (what, event, action, target, follow)) in recs.iter().zip(&results).zip(expected) {
        assert_eq!(*called, what);
        let sys = palisade_events::syscalls::by_nr(rec.nr).expect("known");
        assert_eq!(sys.event, event, "{what}: {rec:#?}");
        assert_eq!(rec.ret, *res, "{what}: the result the caller saw");
        let ch = change(rec).unwrap_or_else(|| panic!("{what}: no change decoded from {rec:#?}"));
        assert_eq!(ch.action, action, "{what}");
        assert_eq!((ch.targets[0].path.as_str(), ch.targets[0].follow), (target, follow), "{what}: {rec:#?}");
    }
    // The rules see them as Falco shows them: `evt.type` is the call's name (the chown family
    // and mknodat with their parameters, the rest as generic events), `evt.res` its result.
    let mut table = palisade_events::process::ProcessTable::new(std::path::Path::new("/proc"));
    let users = palisade_events::process::Users::load(std::path::Path::new("/"));
    let mut builder = palisade_events::event::EventBuilder::new(0);
    let mut matches = Vec::new();
    for rec in &recs {
        let data = builder.build(Record::Syscall(Box::new(rec.clone())), &mut table).expect("an event");
        let view = data.view(&table, &users, None);
        rules.evaluate(palisade_rules::Source::Syscall, &view, &mut matches);
        let want = if data.type_name == "chown" { 2 } else { 1 };
        assert_eq!(matches.len(), want, "{} reaches the rules naming it", data.type_name);
        assert_eq!(data.res, rec.ret);
    }
    // Arguments in x86-64 order.
    assert_eq!(recs[0].args[1], 3, "truncate length");
    assert_eq!(recs[5].args[4], libc::AT_SYMLINK_NOFOLLOW as u64, "fchownat flags");
    assert_eq!(recs[6].args[2], 0o640, "fchmodat2 mode");
    assert_eq!(recs[13].args[2], u64::from(libc::S_IFIFO | 0o644), "mknodat mode");
    assert_eq!(recs[14].strings[0].as_deref(), Some("none"), "mount source");
    assert!(recs[15].ret < 0, "move_mount of fd -1 fails: {}", recs[15].ret);
    assert_eq!(recs[14].ret, 0, "root mounts a tmpfs");
}

/// A real refusal and a real symlink-routed change, judged from the captured records with the
/// live process roots: `truncate` on a read-only mount comes back `EROFS` and is a refusal in
/// a confined immutable container; `chmod` of a link in an `allow_write` directory pointing
/// outside it is a decision on the link's target.
#[test]
fn real_records_are_judged_on_resolved_targets() {
    use palisade_events::containers::{Backend, ContainerMeta};
    use palisade_events::event::resolve::ProcRoots;
    use palisade_events::event::EventData;
    use palisade_events::process::Process;
    use palisade_events::would_deny::judge_in;

    if !nix::unistd::geteuid().is_root() {
        return skip_or_fail("not root");
    }
    let dir = format!("/tmp/palisade-judge-real-{}", std::process::id());
    let _ = std::fs::remove_dir_all(&dir);
    for d in ["ro", "allowed", "image"] {
        std::fs::create_dir_all(format!("{dir}/{d}")).expect("scratch dir");
    }
    std::fs::write(format!("{dir}/image/passwd"), "root").expect("file");
    std::os::unix::fs::symlink(format!("{dir}/image/passwd"), format!("{dir}/allowed/link")).expect("link");
    let ro = c(&format!("{dir}/ro"));
    // A tmpfs holding a file, then made read-only.
    // SAFETY: mounting on the test's own directory.
    let mounted = unsafe { libc::mount(c("none").as_ptr(), ro.as_ptr(), c("tmpfs").as_ptr(), 0, std::ptr::null()) };
    assert_eq!(mounted, 0, "tmpfs");
    std::fs::write(format!("{dir}/ro/x"), "data").expect("file on the tmpfs");
    let flags = libc::MS_REMOUNT | libc::MS_RDONLY;
    // SAFETY: as above.
    let remounted = unsafe { libc::mount(c("none").as_ptr(), ro.as_ptr(), std::ptr::null(), flags, std::ptr::null()) };
    assert_eq!(remounted, 0, "read-only now");

    let mut loader = Loader::new();
    loader.add_str("p.yaml", "- rule: p\n  desc: d\n  condition: evt.type in (truncate, chmod)\n  output: o\n  priority: INFO\n");
    let rules = loader.compile().ruleset.expect("rules");
    let Some((mut kernel, _scope)) = common::kernel_watching_host(&plan(&rules).capture) else { return };
    let tid = nix::unistd::gettid().as_raw() as u32;
    let (target, link) = (c(&format!("{dir}/ro/x")), c(&format!("{dir}/allowed/link")));
    // SAFETY: plain syscalls on paths this test owns.
    let (t, m) = unsafe { (ret(libc::truncate(target.as_ptr(), 0).into()), ret(libc::chmod(link.as_ptr(), 0o600).into())) };
    let recs = collect(&mut kernel, tid, 2);
    // SAFETY: unmounting the tmpfs mounted above.
    unsafe { libc::umount2(ro.as_ptr(), libc::MNT_DETACH) };
    assert_eq!((t, m), (-i64::from(libc::EROFS), 0), "the kernel refused the truncate, allowed the chmod");
    assert_eq!(recs.len(), 2, "{recs:#?}");

    let profile = format!("name: p\nmatch: {{images: [\"x:*\"]}}\nimmutable:\n  enabled: true\n  allow_write: [{dir}/allowed]\n");
    let set = palisade_profiles::ProfileSet::from_texts(&[("p.yaml", profile.as_str())]).expect("profile");
    let meta = ContainerMeta {
        full_id: "feedfacefeedface".into(),
        profile: Some(std::sync::Arc::new(set.get("p").expect("p").clone())),
        mode: palisade_profiles::Mode::Enforce,
        enforced_by: Some(Backend::Landlock),
        ..ContainerMeta::default()
    };
    let roots = ProcRoots::live();
    let process = Process { pid: std::process::id(), comm: "test".into(), ..Process::default() };
    let judged: Vec<(String, String, bool)> = recs
        .iter()
        .map(|rec| {
            let sys = palisade_events::syscalls::by_nr(rec.nr).expect("known");
            let data = EventData {
                type_code: 0,
                type_name: sys.event,
                num: 1,
                time_ns: 1,
                res: rec.ret,
                tid,
                cgroup_id: rec.hdr.cgroup_id,
                boot_to_wall: 0,
                process: process.clone(),
                call: Some(Call::new(sys, rec.clone())),
            };
            let d = judge_in(&data, &meta, "host", &roots).unwrap_or_else(|| panic!("no decision for {rec:#?}"));
            (d.action, d.target, d.enforced)
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        judged,
        [("truncate".into(), format!("{dir}/ro/x"), true), ("chmod".into(), format!("{dir}/image/passwd"), false)]
    );
}

/// Executable mappings (W^X, the `ld.so FILE` way): the kernel side keeps only `mmap` with
/// `PROT_EXEC` of an fd — a noexec mount's refusal (`EPERM`) and a success, with the file's
/// path — and drops plain and anonymous mappings before doing any work.
#[test]
fn only_executable_file_mappings_are_captured() {
    if !nix::unistd::geteuid().is_root() {
        return skip_or_fail("not root");
    }
    let dir = format!("/tmp/palisade-mmap-{}", std::process::id());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(format!("{dir}/noexec")).expect("scratch dir");
    let noexec = c(&format!("{dir}/noexec"));
    // SAFETY: mounting a noexec tmpfs on the test's own directory.
    let mounted = unsafe { libc::mount(c("none").as_ptr(), noexec.as_ptr(), c("tmpfs").as_ptr(), libc::MS_NOEXEC, std::ptr::null()) };
    assert_eq!(mounted, 0, "noexec tmpfs");
    for f in [format!("{dir}/noexec/prog"), format!("{dir}/prog")] {
        std::fs::write(&f, vec![0u8; 4096]).expect("file");
    }
    let mut loader = Loader::new();
    loader.add_str("m.yaml", "- rule: m\n  desc: d\n  condition: evt.type = mmap\n  output: o\n  priority: INFO\n");
    let rules = loader.compile().ruleset.expect("rules");
    let mut capture = plan(&rules).capture;
    assert!(capture.syscalls.is_empty(), "a rule cannot ask for mmap: rules never see it");
    // What the daemon adds for an immutable profile.
    let mmap = palisade_events::syscalls::by_nr(9).expect("mmap");
    capture.syscalls.push((9, palisade_daemon::capture::conf(mmap)));
    let Some((mut kernel, _scope)) = common::kernel_watching_host(&capture) else { return };
    let tid = nix::unistd::gettid().as_raw() as u32;

    let on_noexec = std::fs::File::open(format!("{dir}/noexec/prog")).expect("open");
    let plain = std::fs::File::open(format!("{dir}/prog")).expect("open");
    let map = |fd: i32, prot: i32| {
        // SAFETY: a fresh private mapping of a file this test owns, unmapped right away.
        unsafe {
            let p = libc::mmap(std::ptr::null_mut(), 4096, prot, libc::MAP_PRIVATE, fd, 0);
            if p == libc::MAP_FAILED {
                -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
            } else {
                libc::munmap(p, 4096);
                0
            }
        }
    };
    let refused = map(on_noexec.as_raw_fd(), libc::PROT_READ | libc::PROT_EXEC);
    let read_only = map(on_noexec.as_raw_fd(), libc::PROT_READ);
    // SAFETY: an anonymous executable mapping, unmapped right away.
    unsafe {
        let anon = libc::mmap(std::ptr::null_mut(), 4096, libc::PROT_READ | libc::PROT_EXEC, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0);
        assert_ne!(anon, libc::MAP_FAILED);
        libc::munmap(anon, 4096);
    }
    let executable = map(plain.as_raw_fd(), libc::PROT_READ | libc::PROT_EXEC);
    assert_eq!((refused, read_only, executable), (-i64::from(libc::EPERM), 0, 0), "noexec refuses the executable mapping only");
    let recs = collect(&mut kernel, tid, 2);
    // A little longer: nothing else may arrive.
    let late = collect(&mut kernel, tid, 1);
    // SAFETY: unmounting the tmpfs mounted above.
    unsafe { libc::umount2(noexec.as_ptr(), libc::MNT_DETACH) };
    let _ = std::fs::remove_dir_all(&dir);
    let got: Vec<(u32, bool, Option<String>)> = recs.iter().map(|r| (r.nr, r.ret < 0, r.fd_path.clone())).collect();
    assert_eq!(got, [(9, true, Some(format!("{dir}/noexec/prog"))), (9, false, Some(format!("{dir}/prog")))]);
    assert_eq!(recs[0].ret, -i64::from(libc::EPERM));
    assert!(late.is_empty(), "only the two executable file mappings: {late:#?}");
    let sys = palisade_events::syscalls::by_nr(9).expect("mmap");
    assert_eq!(Call::new(sys, recs[0].clone()).exec_mapping(), Some(format!("{dir}/noexec/prog")));
}
