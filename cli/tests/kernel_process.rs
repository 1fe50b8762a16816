//! Privileged: the process-lifecycle programs load into the running kernel, and a process
//! started in a fresh cgroup v2 child produces exec and exit records carrying that cgroup's
//! id, its argv, and its pid; its syscalls are captured too, and the syscall-exit program is
//! attached only while a cgroup is in scope.
//!
//! Needs root and a kernel with BTF. Where that is missing the test fails, unless
//! `PALISADE_ALLOW_SKIP_PRIVILEGED=1` is set, in which case it says why and passes.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{cgroup2_root, skip_or_fail, TestCgroup};
use palisade_daemon::kernel::{decode, Capture, Kernel, Record};
use palisade_events::syscalls::for_event;

#[test]
fn exec_and_exit_records_carry_the_cgroup_and_only_tracked_cgroups_are_watched() {
    if !nix::unistd::geteuid().is_root() {
        return skip_or_fail("not root");
    }
    let Some(root) = cgroup2_root() else { return skip_or_fail("no cgroup2 mount") };
    let mut kernel = match Kernel::load() {
        Ok(k) => k,
        Err(e) => return skip_or_fail(&format!("cannot load the BPF programs: {e}")),
    };
    let cg = TestCgroup::new(&root, &format!("palisade-test-{}", std::process::id()));
    let untracked = TestCgroup::new(&root, &format!("palisade-test-untracked-{}", std::process::id()));
    // Every openat, no open filter.
    let openat: Vec<_> = for_event("openat").map(|s| (s.nr, palisade_daemon::capture::conf(s))).collect();
    kernel.configure(&Capture { syscalls: openat, ..Capture::default() }).expect("configure");
    // Only the test cgroup is in scope: the untracked one's events must not reach us.
    let mut scope = kernel.take_scope().expect("scope maps");
    scope.watch_untracked(false).expect("scope");
    assert!(!scope.syscalls_attached(), "nothing in scope: the syscall program is not attached");
    scope.track(cg.id()).expect("track");
    assert_eq!(scope.tracked(), [cg.id()]);
    assert!(scope.syscalls_attached(), "a tracked cgroup: attached");
    let marker = format!("palisade-marker-{}", std::process::id());
    let unwatched = format!("palisade-unwatched-{}", std::process::id());
    // The shell moves itself into the cgroup, then execs /bin/true with a marker argument.
    let run_in = |cgroup: &TestCgroup, marker: &str| {
        let status = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("echo $$ > {}/cgroup.procs && cat /etc/hostname > /dev/null && exec /bin/true {marker} second", cgroup.0.display()))
            .status()
            .expect("spawn sh");
        assert!(status.success());
    };
    run_in(&untracked, &unwatched);
    run_in(&cg, &marker);

    let mut exec = None;
    let mut exit_seen = false;
    let mut open_seen = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !(exec.is_some() && exit_seen && open_seen) {
        kernel.wait(Duration::from_millis(100)).expect("poll");
        kernel.drain(|bytes| match decode(bytes) {
            Ok(Record::Exec { argv, .. }) if argv.iter().any(|a| a == &unwatched) => {
                panic!("an exec in an untracked cgroup reached user space: {argv:?}")
            }
            Ok(Record::Exec { hdr, filename, argv, .. }) if argv.iter().any(|a| a == &marker) => {
                exec = Some((hdr, filename, argv));
            }
            Ok(Record::Exit { hdr, .. }) if exec.as_ref().is_some_and(|(h, _, _)| h.pid == hdr.pid) => {
                assert_eq!(hdr.cgroup_id, cg.id(), "exit record in the test cgroup");
                exit_seen = true;
            }
            Ok(Record::Syscall(s)) if s.fd_path.as_deref() == Some("/etc/hostname") && s.hdr.cgroup_id == cg.id() => {
                assert_eq!(s.hdr.comm(), "cat");
                open_seen = true;
            }
            Ok(Record::Syscall(s)) if s.hdr.cgroup_id == untracked.id() => {
                panic!("a syscall in an untracked cgroup reached user space: {s:?}")
            }
            Ok(_) => {}
            Err(e) => panic!("undecodable record: {e:?}"),
        });
    }
    let (hdr, filename, argv) = exec.expect("an exec record for the marked process");
    assert_eq!(filename, "/bin/true");
    assert_eq!(argv, ["/bin/true", marker.as_str(), "second"]);
    assert_eq!(hdr.cgroup_id, cg.id(), "exec record attributed to the test cgroup");
    assert_eq!(hdr.comm(), "true");
    assert!(open_seen, "the tracked process's open of /etc/hostname");
    assert_eq!(hdr.uid, 0);
    assert!(exit_seen, "an exit record for pid {}", hdr.pid);
    assert_eq!(kernel.drops(), 0, "no record lost at this rate");
    scope.untrack(cg.id()).expect("untrack");
    assert!(scope.tracked().is_empty());
    assert!(!scope.syscalls_attached(), "the last cgroup gone: detached");
    scope.watch_untracked(true).expect("watch the host");
    assert!(scope.syscalls_attached(), "host monitoring: attached");
}
