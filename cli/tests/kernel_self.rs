//! Privileged: the daemon's own syscalls never leave the kernel (`Scope::exclude_process`),
//! while another process's same call does, and so does the daemon's once the exclusion is
//! lifted (so it is the exclusion that kept them out).
//!
//! Needs root and a kernel with BTF; fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.

mod common;

use std::time::{Duration, Instant};

use common::skip_or_fail;
use palisade_daemon::capture::plan;
use palisade_daemon::kernel::{decode, Kernel, Record};
use palisade_rules::Loader;

/// The pids (tgids) of the openat records of `path` seen within `wait`.
fn openers(kernel: &mut Kernel, path: &str, wait: Duration) -> Vec<u32> {
    let mut out = Vec::new();
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        kernel.wait(Duration::from_millis(100)).expect("poll");
        kernel.drain(|bytes| {
            if let Ok(Record::Syscall(rec)) = decode(bytes) {
                if rec.strings[0].as_deref() == Some(path) {
                    out.push(rec.hdr.pid);
                }
            }
        });
    }
    out
}

#[test]
fn the_daemons_own_syscalls_are_not_captured() {
    if !nix::unistd::geteuid().is_root() {
        return skip_or_fail("not root");
    }
    let path = format!("/tmp/palisade-self-{}", std::process::id());
    std::fs::write(&path, "x").expect("file");
    let mut loader = Loader::new();
    loader.add_str(
        "self.yaml",
        &format!("- rule: self probe\n  desc: d\n  condition: evt.type = openat and fd.name = {path}\n  output: o\n  priority: INFO\n"),
    );
    let rules = loader.compile().ruleset.expect("rules");
    let Some((mut kernel, mut scope)) = common::kernel_watching_host(&plan(&rules).capture) else { return };
    let me = std::process::id();

    scope.exclude_process(me).expect("exclude");
    drop(std::fs::File::open(&path).expect("open"));
    let child = std::process::Command::new("cat").arg(&path).output().expect("cat");
    assert!(child.status.success());
    let seen = openers(&mut kernel, &path, Duration::from_secs(2));
    assert!(!seen.contains(&me), "the excluded process's open was captured: {seen:?}");
    assert_eq!(seen.len(), 1, "the child's open, once: {seen:?}");

    scope.exclude_process(0).expect("lift");
    drop(std::fs::File::open(&path).expect("open"));
    let seen = openers(&mut kernel, &path, Duration::from_secs(2));
    let _ = std::fs::remove_file(&path);
    assert_eq!(seen, [me], "without the exclusion, this process's open is captured");
}
