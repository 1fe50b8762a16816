//! Privileged, end to end: `palisade run` reports the session and process-group fields
//! (`proc.sid`, `proc.vpgid`, `proc.pgid`, their leaders' names, `proc.is_*_leader`) and a
//! `proc.cwd` that follows `chdir`/`fchdir` between execs, with exact values.
//!
//! Needs root and a kernel with BTF; fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.

mod common;

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fchdir, fork, ForkResult, Pid};
use serde_json::Value;

/// A scratch directory under /tmp, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let p = PathBuf::from(format!("/tmp/palisade-fields-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join("sub")).expect("scratch dir");
        for f in ["setsid-marker", "plain-marker", "sub/fchdir-marker"] {
            std::fs::write(p.join(f), "x\n").expect("marker");
        }
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rules_file(dir: &Path) -> PathBuf {
    let file = dir.join("fields.yaml");
    let rule = format!(
        "- rule: Palisade fields probe\n  desc: opens below the scratch dir\n  \
         condition: evt.type in (open, openat) and fd.name startswith {}/\n  \
         output: probe pid=%proc.pid vpid=%proc.vpid sid=%proc.sid vpgid=%proc.vpgid pgid=%proc.pgid \
         sname=%proc.sname sexe=%proc.sid.exepath gname=%proc.vpgid.name sl=%proc.is_sid_leader \
         gl=%proc.is_vpgid_leader pl=%proc.is_pgid_leader cwd=%proc.cwd file=%fd.name\n  \
         priority: WARNING\n",
        dir.display()
    );
    std::fs::write(&file, rule).expect("rules file");
    file
}

/// The probe alert for `file`; exactly one.
fn alert_for<'a>(alerts: &'a [Value], file: &Path) -> &'a Value {
    let hits: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["rule"] == "Palisade fields probe" && a["output_fields"]["fd.name"] == file.display().to_string())
        .collect();
    assert_eq!(hits.len(), 1, "one alert for {}: {alerts:#?}", file.display());
    &hits[0]["output_fields"]
}

fn int(f: &Value, key: &str) -> i64 {
    f[key].as_i64().unwrap_or_else(|| panic!("{key} is not a number: {f:#?}"))
}

/// In a forked child: fchdir to `dir`, open `name` relative to it, exit. Returns the child.
#[expect(unsafe_code, reason = "fork in a multi-threaded test: the child only makes raw syscalls")]
fn fchdir_then_open(dir: &Path, name: &str) -> Pid {
    let dir = CString::new(dir.as_os_str().as_encoded_bytes()).expect("dir");
    let name = CString::new(name).expect("name");
    let dirfd = open(dir.as_c_str(), OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()).expect("open dir");
    // SAFETY: between fork and _exit the child only calls fchdir, open and _exit on values
    // prepared before the fork: no allocation, no lock another thread could hold.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let ok = fchdir(dirfd).is_ok() && open(name.as_c_str(), OFlag::O_RDONLY, Mode::empty()).is_ok();
            // SAFETY: _exit is async-signal-safe and never returns.
            unsafe { nix::libc::_exit(if ok { 0 } else { 1 }) }
        }
        ForkResult::Parent { child } => {
            let _ = nix::unistd::close(dirfd);
            child
        }
    }
}

#[test]
fn session_group_and_cwd_fields_have_exact_values() {
    if !common::privileged() {
        return;
    }
    let scratch = Scratch::new();
    let dir = scratch.0.clone();
    let rules = rules_file(&dir);
    let daemon = common::Daemon::start(&[rules]);

    // 1. A session leader: setsid(1) calls setsid() (we are no group leader, so it does not
    // fork) and execs sh, which changes directory and opens the marker itself (`read` is a
    // builtin): no exec after the chdir, so only the chdir capture tells proc.cwd.
    let mut leader = Command::new("setsid")
        .args(["sh", "-c", &format!("cd {} && read x < setsid-marker", dir.display())])
        .spawn()
        .expect("setsid");
    let leader_pid = i64::from(leader.id());
    assert!(leader.wait().expect("wait setsid").success());

    // 2. The same without setsid: the test's own session and process group.
    assert!(Command::new("sh")
        .args(["-c", &format!("cd {} && read x < plain-marker", dir.display())])
        .status()
        .expect("sh")
        .success());

    // 3. fchdir, then a relative open, in a process that never execs.
    let child = fchdir_then_open(&dir.join("sub"), "fchdir-marker");
    assert_eq!(waitpid(child, None).expect("waitpid"), WaitStatus::Exited(child, 0));

    let out = daemon.stop();
    assert!(out.stderr.contains("drops=0"), "records were lost:\n{}", out.stderr);
    assert!(out.stderr.contains("chdir/fchdir for proc.cwd"), "the plan follows the cwd:\n{}", out.stderr);

    let f = alert_for(&out.alerts, &dir.join("setsid-marker"));
    assert_eq!(int(f, "proc.pid"), leader_pid);
    assert_eq!(int(f, "proc.sid"), leader_pid, "setsid made it the session leader");
    assert_eq!(int(f, "proc.vpgid"), leader_pid, "and the leader of a new process group");
    assert_eq!(int(f, "proc.pgid"), leader_pid);
    assert_eq!(f["proc.is_sid_leader"], "true");
    assert_eq!(f["proc.is_vpgid_leader"], "true");
    assert_eq!(f["proc.is_pgid_leader"], "true");
    assert_eq!(f["proc.sname"], "sh");
    assert_eq!(f["proc.vpgid.name"], "sh");
    assert_eq!(f["proc.cwd"], format!("{}/", dir.display()));

    let ours_sid = i64::from(nix::unistd::getsid(None).expect("getsid").as_raw());
    let ours_pgid = i64::from(nix::unistd::getpgrp().as_raw());
    let f = alert_for(&out.alerts, &dir.join("plain-marker"));
    assert_eq!(int(f, "proc.sid"), ours_sid, "the test's session");
    assert_eq!(int(f, "proc.vpgid"), ours_pgid, "the test's process group");
    assert_eq!(f["proc.is_sid_leader"], "false");
    assert_eq!(f["proc.is_vpgid_leader"], "false");
    let leader_exe = std::fs::read_link(format!("/proc/{ours_sid}/exe")).map(|p| p.display().to_string());
    if let Ok(exe) = leader_exe {
        assert_eq!(f["proc.sid.exepath"], exe, "the session leader, by pid");
    }
    assert_eq!(f["proc.cwd"], format!("{}/", dir.display()));

    let f = alert_for(&out.alerts, &dir.join("sub/fchdir-marker"));
    assert_eq!(int(f, "proc.pid"), i64::from(child.as_raw()));
    assert_eq!(int(f, "proc.sid"), ours_sid);
    assert_eq!(f["proc.cwd"], format!("{}/sub/", dir.display()), "fchdir moved it");
}
