//! Privileged: detection outlives its handle. Loaded with pins, a tracked cgroup's open done
//! while no handle exists waits in the pinned ring buffer and is drained by the next load,
//! which adopts the running programs (one record per action: nothing attached twice); once
//! the pins are removed, nothing is captured any more.
//!
//! Needs root, a bpffs at /sys/fs/bpf and kernel BTF; fails otherwise unless
//! PALISADE_ALLOW_SKIP_PRIVILEGED=1.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{cgroup2_root, skip_or_fail, TestCgroup};
use palisade_daemon::capture::plan;
use palisade_daemon::kernel::{decode, pins, Capture, Kernel, Record, DEFAULT_RING_MIB};
use palisade_rules::Loader;

const SH: &str = "/bin/sh";

/// A pin root of this test's own, removed on drop.
struct PinRoot(PathBuf);

impl Drop for PinRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The openat records of `path` from cgroup `cgroup` drained within `wait`.
fn opens(kernel: &mut Kernel, path: &str, cgroup: u64, wait: Duration) -> usize {
    let mut n = 0;
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        kernel.wait(Duration::from_millis(100)).expect("poll");
        kernel.drain(|bytes| {
            if let Ok(Record::Syscall(rec)) = decode(bytes) {
                if rec.hdr.cgroup_id == cgroup && rec.strings[0].as_deref() == Some(path) {
                    n += 1;
                }
            }
        });
    }
    n
}

/// `cat path` run inside `cgroup`, to its end.
fn cat_in(cgroup: &TestCgroup, path: &str) {
    let status = cgroup.spawn(Path::new(SH), &format!("exec cat {path} > /dev/null")).wait().expect("wait");
    assert!(status.success());
}

fn load(root: &Path, capture: &Capture) -> Kernel {
    let mut kernel = Kernel::load_pinned(root, DEFAULT_RING_MIB).expect("load pinned");
    kernel.configure(capture).expect("configure");
    kernel
}

/// The rules, the marker file and the cgroup of one test.
fn setup(name: &str) -> Option<(PinRoot, String, Capture, TestCgroup)> {
    if !nix::unistd::geteuid().is_root() {
        skip_or_fail("not root");
        return None;
    }
    let Some(cgroot) = cgroup2_root() else {
        skip_or_fail("no cgroup2 mount");
        return None;
    };
    let pid = std::process::id();
    let root = PinRoot(PathBuf::from(format!("/sys/fs/bpf/palisade-test-{name}-{pid}")));
    let marker = format!("/tmp/palisade-{name}-{pid}");
    std::fs::write(&marker, "x").expect("marker");
    let mut loader = Loader::new();
    loader.add_str(
        "handover.yaml",
        &format!("- rule: handover probe\n  desc: d\n  condition: evt.type = openat and fd.name = {marker}\n  output: o\n  priority: INFO\n"),
    );
    let capture = plan(&loader.compile().ruleset.expect("rules")).capture;
    let cgroup = TestCgroup::new(&cgroot, &format!("palisade-{name}-{pid}"));
    Some((root, marker, capture, cgroup))
}

/// A first daemon's kernel side, pinned under `root`, tracking `cgroup`, then gone (the handle
/// dropped): false (after `skip_or_fail`) when the programs cannot load here.
fn pin_tracking(root: &Path, capture: &Capture, cgroup: &TestCgroup) -> bool {
    let mut first = match Kernel::load_pinned(root, DEFAULT_RING_MIB) {
        Ok(k) => k,
        Err(e) => {
            skip_or_fail(&format!("cannot load the BPF programs: {e}"));
            return false;
        }
    };
    first.configure(capture).expect("configure");
    first.take_scope().expect("scope").track(cgroup.id()).expect("track");
    true
}

/// An upgrade: the pinned programs are not this load's (another tag). They are replaced, one
/// link per hook stays attached (one record per action), and what waited is still drained.
#[test]
fn other_pinned_programs_are_replaced_and_not_attached_twice() {
    let Some((root, marker, capture, cgroup)) = setup("upgrade") else { return };
    if !pin_tracking(&root.0, &capture, &cgroup) {
        return;
    }
    // "Another version": the exec program's pin now holds a program of another tag (and
    // sys_exit's none).
    let progs = pins::pin_dir(&root.0).join("progs");
    std::fs::rename(progs.join("sys_exit"), progs.join("sched_process_exec")).expect("swap program pins");
    cat_in(&cgroup, &marker);

    let mut second = load(&root.0, &capture);
    let h = second.handover().clone();
    assert!(h.inherited, "{h}");
    assert_eq!((h.programs_adopted, h.programs_replaced), (2, 2), "fork and exit kept; exec and sys_exit replaced: {h}");
    let scope = second.take_scope().expect("scope");
    assert!(scope.syscalls_attached());
    assert_eq!(opens(&mut second, &marker, cgroup.id(), Duration::from_millis(500)), 1, "the gap's open, once");
    cat_in(&cgroup, &marker);
    let (n_opens, n_execs) = {
        let mut all = Vec::new();
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            second.wait(Duration::from_millis(100)).expect("poll");
            second.drain(|b| all.push(b.to_vec()));
        }
        let recs: Vec<Record> = all.iter().filter_map(|b| decode(b).ok()).collect();
        let opens = recs
            .iter()
            .filter(|r| matches!(r, Record::Syscall(s) if s.hdr.cgroup_id == cgroup.id() && s.strings[0].as_deref() == Some(marker.as_str())))
            .count();
        let execs = recs.iter().filter(|r| matches!(r, Record::Exec { hdr, .. } if hdr.cgroup_id == cgroup.id())).count();
        (opens, execs)
    };
    assert_eq!((n_opens, n_execs), (1, 1), "one open and one exec record per action: the old links are gone");
    drop(scope);
    drop(second);
    let _ = std::fs::remove_file(&marker);
}

#[test]
fn records_of_the_gap_wait_for_the_next_load_and_nothing_is_attached_twice() {
    let Some((root, marker, capture, cgroup)) = setup("handover") else { return };

    // First daemon: track the cgroup, then go away.
    let mut first = match Kernel::load_pinned(&root.0, DEFAULT_RING_MIB) {
        Ok(k) => k,
        Err(e) => return skip_or_fail(&format!("cannot load the BPF programs: {e}")),
    };
    assert!(first.handover().pin_dir.is_some(), "pinned under {}: {}", root.0.display(), first.handover());
    assert!(!first.handover().inherited);
    first.configure(&capture).expect("configure");
    let mut scope = first.take_scope().expect("scope");
    scope.track(cgroup.id()).expect("track");
    cat_in(&cgroup, &marker);
    assert_eq!(opens(&mut first, &marker, cgroup.id(), Duration::from_millis(500)), 1, "captured while loaded");
    drop(scope);
    drop(first);

    // The gap: no handle. The action is captured into the pinned ring buffer.
    cat_in(&cgroup, &marker);

    // Second daemon: adopts everything, and the gap's record waits for it.
    let mut second = load(&root.0, &capture);
    let h = second.handover().clone();
    assert!(h.inherited, "{h}");
    assert_eq!((h.programs_adopted, h.programs_replaced), (4, 0), "three process programs and sys_exit kept as they ran: {h}");
    assert!(h.records_waiting >= 1, "{h}");
    let scope = second.take_scope().expect("scope");
    assert_eq!(scope.tracked(), [cgroup.id()], "the tracked cgroup is inherited");
    assert!(scope.syscalls_attached(), "the pinned sys_exit link counts as attached");
    assert_eq!(opens(&mut second, &marker, cgroup.id(), Duration::from_millis(500)), 1, "the gap's open, once");
    cat_in(&cgroup, &marker);
    assert_eq!(opens(&mut second, &marker, cgroup.id(), Duration::from_millis(500)), 1, "one record per action");
    drop(scope);
    drop(second);

    // The pins removed (`palisade detach`): nothing runs any more.
    let dir = pins::pin_dir(&root.0);
    assert!(pins::remove_dir(&dir).expect("remove pins") > 0);
    cat_in(&cgroup, &marker);
    let mut third = load(&root.0, &capture);
    assert!(!third.handover().inherited, "{}", third.handover());
    let scope = third.take_scope().expect("scope");
    assert!(scope.tracked().is_empty());
    assert!(!scope.syscalls_attached());
    assert_eq!(opens(&mut third, &marker, cgroup.id(), Duration::from_millis(300)), 0, "nothing captured after the pins went");
    drop(scope);
    drop(third);
    let _ = std::fs::remove_file(&marker);
}

/// Pinned maps of another shape under this ABI version (a layout changed without a version
/// change): the load removes that pin set and starts afresh rather than reuse them; the old
/// programs are gone with it (one record per action).
#[test]
fn pinned_maps_of_another_shape_are_not_reused() {
    let Some((root, marker, capture, cgroup)) = setup("shape") else { return };
    if !pin_tracking(&root.0, &capture, &cgroup) {
        return;
    }
    let maps = pins::pin_dir(&root.0).join("maps");
    std::fs::rename(maps.join("TRACKED_SLOTS"), maps.join("SYSCALL_CONF")).expect("swap map pins");

    let second = load(&root.0, &capture);
    let h = second.handover().clone();
    assert!(!h.inherited, "the incompatible set is not adopted: {h}");
    fresh_set_records_each_action_once(second, &cgroup, &marker);
}

/// A load that did not adopt the pinned set: nothing tracked; tracked again, one record per
/// action (the old programs are gone).
fn fresh_set_records_each_action_once(mut kernel: Kernel, cgroup: &TestCgroup, marker: &str) {
    let mut scope = kernel.take_scope().expect("scope");
    assert!(scope.tracked().is_empty());
    scope.track(cgroup.id()).expect("track");
    cat_in(cgroup, marker);
    assert_eq!(opens(&mut kernel, marker, cgroup.id(), Duration::from_millis(500)), 1, "one record per action");
    drop(scope);
    drop(kernel);
    let _ = std::fs::remove_file(marker);
}

/// `ring_buffer_mib` changed across a restart: the pinned ring of the other size is not
/// adopted, but the records waiting in it are carried over and handed out first, and the new
/// ring has the new size.
#[test]
fn a_resized_ring_carries_the_waiting_records_over() {
    let Some((root, marker, capture, cgroup)) = setup("resize") else { return };
    if !pin_tracking(&root.0, &capture, &cgroup) {
        return;
    }
    cat_in(&cgroup, &marker);

    let mut second = Kernel::load_pinned(&root.0, DEFAULT_RING_MIB * 2).expect("load pinned, resized");
    second.configure(&capture).expect("configure");
    let h = second.handover().clone();
    assert!(!h.inherited, "the ring of another size is not adopted: {h}");
    assert!(h.records_waiting >= 1, "the gap's records carried over: {h}");
    assert_eq!(pins::ring_size(&pins::pin_dir(&root.0)), Some(DEFAULT_RING_MIB * 2 * 1024 * 1024), "the new ring's size");
    assert_eq!(opens(&mut second, &marker, cgroup.id(), Duration::from_millis(500)), 1, "the gap's open, carried over");
    fresh_set_records_each_action_once(second, &cgroup, &marker);
}
