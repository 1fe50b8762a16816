//! Privileged, against the running kernel: the per-cgroup syscall budget (budget.h). Two
//! processes of one cgroup open a file in a loop while a process of another cgroup opens it
//! once and a process of the flooding cgroup makes the budget-exempt `chmod u+s`. The quiet
//! cgroup's open and the flooding cgroup's chmod arrive; the flooding cgroup's excess is
//! counted for that cgroup only, and every one of its opens is either delivered or counted.
//! A third cgroup flooding a rare call (chmod) is held by its own bucket of rare calls, again
//! with every call delivered or counted.
//!
//! Needs root and a kernel with BTF; fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{cgroup2_root, skip_or_fail, TestCgroup};
use palisade_daemon::kernel::{decode, Capture, Kernel, Record};
use palisade_ebpf::abi::BudgetConf;
use palisade_events::syscalls::for_event;

/// The shell the test's processes start under (it moves itself into their cgroup).
const SH: &str = "/bin/sh";

/// Opens per flooding process.
const OPENS: u64 = 20_000;
/// chmods by the process flooding a rare call.
const CHMODS: u64 = 600;

#[test]
fn a_flooding_cgroup_is_budgeted_alone_and_its_rare_calls_still_arrive() {
    if !nix::unistd::geteuid().is_root() {
        return skip_or_fail("not root");
    }
    let Some(root) = cgroup2_root() else { return skip_or_fail("no cgroup2 mount") };
    if !Path::new("/bin/busybox").exists() {
        return skip_or_fail("no /bin/busybox (a static chmod: no loader opens)");
    }
    let mut kernel = match Kernel::load() {
        Ok(k) => k,
        Err(e) => return skip_or_fail(&format!("cannot load the BPF programs: {e}")),
    };
    let pid = std::process::id();
    let flood = TestCgroup::new(&root, &format!("palisade-budget-flood-{pid}"));
    let quiet = TestCgroup::new(&root, &format!("palisade-budget-quiet-{pid}"));
    let rare = TestCgroup::new(&root, &format!("palisade-budget-rare-{pid}"));
    // Every openat (no open filter), chmod and fchmodat: the daemon's table marks openat
    // budgeted, the chmods not.
    let syscalls = ["openat", "chmod", "fchmodat"]
        .iter()
        .flat_map(|e| for_event(e))
        .map(|s| (s.nr, palisade_daemon::capture::conf(s)))
        .collect();
    kernel.configure(&Capture { syscalls, ..Capture::default() }).expect("configure");
    kernel.set_budget(BudgetConf { rate: 1_000, burst: 1_000, rare_rate: 50, rare_burst: 50, enabled: 1, _pad: 0 }).expect("budget");
    let mut scope = kernel.take_scope().expect("scope maps");
    scope.watch_untracked(false).expect("scope");
    scope.track(flood.id()).expect("track");
    scope.track(quiet.id()).expect("track");
    scope.track(rare.id()).expect("track");

    let target = std::env::temp_dir().join(format!("palisade-budget-setuid-{pid}"));
    std::fs::write(&target, "x").expect("target file");
    let loop_script = format!("i=0; while [ $i -lt {OPENS} ]; do : < /etc/hostname; i=$((i+1)); done");
    let mut flooders = [flood.spawn(Path::new(SH), &loop_script), flood.spawn(Path::new(SH), &loop_script)];
    std::thread::sleep(Duration::from_millis(200));
    let mut reader = quiet.spawn(Path::new(SH), "exec cat /etc/hostname > /dev/null");
    let reader_pid = reader.id();
    let mut chmod = flood.spawn(Path::new(SH), &format!("exec /bin/busybox chmod u+s {}", target.display()));
    // Static busybox: a chmod and no open per iteration.
    let rare_loop = format!("i=0; while [ $i -lt {CHMODS} ]; do /bin/busybox chmod 644 {}; i=$((i+1)); done", target.display());
    let mut rare_flooder = rare.spawn(Path::new(SH), &rare_loop);

    let (mut flood_opens, mut quiet_read, mut setuid, mut rare_chmods) = (0u64, false, false, 0u64);
    let mut all_exited = false;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        kernel.wait(Duration::from_millis(20)).expect("poll");
        let drained = kernel.drain(|bytes| match decode(bytes) {
            Ok(Record::Syscall(s)) if s.hdr.cgroup_id == flood.id() && s.nr == 257 => flood_opens += 1,
            Ok(Record::Syscall(s)) if s.hdr.cgroup_id == quiet.id() && s.fd_path.as_deref() == Some("/etc/hostname") => {
                assert_eq!(s.hdr.pid, reader_pid, "the quiet cgroup's reader");
                quiet_read = true;
            }
            Ok(Record::Syscall(s)) if s.hdr.cgroup_id == rare.id() && s.nr == 90 => rare_chmods += 1,
            Ok(Record::Syscall(s)) if s.hdr.cgroup_id == flood.id() => {
                assert_eq!(s.hdr.comm(), "busybox", "a chmod of the flooding cgroup");
                setuid = true;
            }
            _ => {}
        });
        // Records are written at syscall exit, before the process exits: once everyone has
        // exited, one drain that finds nothing means all records were read.
        if all_exited && drained == 0 {
            break;
        }
        all_exited = flooders
            .iter_mut()
            .chain([&mut reader, &mut chmod, &mut rare_flooder])
            .all(|c| c.try_wait().expect("wait").is_some());
        assert!(Instant::now() < deadline, "the flooders did not finish in 120 s");
    }
    for mut c in [reader, chmod, rare_flooder] {
        assert!(c.wait().expect("wait").success(), "reader and chmods succeed");
    }
    let _ = std::fs::remove_file(&target);

    let counts = kernel.budget_counts();
    let drops_of = |cgroup: u64| counts.per_cgroup.iter().find(|(c, _)| *c == cgroup).map_or(0, |(_, n)| *n);
    assert!(quiet_read, "the quiet cgroup's open of /etc/hostname arrived during the flood");
    assert!(setuid, "the flooding cgroup's chmod u+s arrived: rare calls are not budgeted");
    assert!(drops_of(flood.id()) > 0, "the flooding cgroup went over its budget: {counts:?}");
    assert_eq!(drops_of(quiet.id()), 0, "the quiet cgroup dropped nothing");
    assert_eq!(
        flood_opens + drops_of(flood.id()),
        2 * OPENS,
        "every open of the flooding cgroup was delivered or counted ({flood_opens} delivered)"
    );
    assert!(drops_of(rare.id()) > 0, "a flood of a rare call is held by its own bucket: {counts:?}");
    assert_eq!(rare_chmods + drops_of(rare.id()), CHMODS, "every chmod delivered or counted ({rare_chmods} delivered)");
    assert_eq!(counts.unattributed, 0);
    assert_eq!(kernel.drops(), 0, "nothing lost in the ring buffer");
}
