//! Mount denial that starts at the container init's first exec (`mount_gate`).
//!
//! The daemon arms a container from runc's `createRuntime` hook, while runc init still has
//! mounts to make (masked and read-only paths after pivot_root); it execs the entrypoint last.
//! So the policy names the init's pid and the kernel starts denying mounts when that process
//! execs. This module plays both sides in the guest:
//!
//! - [`phase`] (the "runtime"): starts a `gate` process, arms its cgroup with the daemon's
//!   policy shape and the child's pid as the gate, then lets it go;
//! - [`init`] (the "container init", subcommand `gate`): mounts before its exec (allowed),
//!   lets another process of the cgroup exec (a runtime hook: the gate stays closed), mounts
//!   again (allowed), then execs `lsm-vm-check attack ... mount,mount_api`, whose mounts are
//!   the entrypoint's: denied in enforce mode, reported in audit mode. [`Init`] also serves
//!   the daemon scenario (daemon.rs), where the daemon arms it from a hook request.
//!
//! Case lines: `before_exec_mount`, `before_exec_mount_api`, `other_exec`,
//! `after_other_exec_mount`, then `mount` and `mount_api` from the exec'd process.

use std::io::{BufRead, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use palisade_lsm::{Enforcer, Mode};

use crate::{cases, cgroup, ctx, daemon_like_policy, Res, ROOTFS};

/// Runs one gated phase in `cgroup_path` with a policy in `mode`.
pub(crate) fn phase(enforcer: &mut Enforcer, cgroup_path: &str, phase: &str, mode: Mode, rootfs_dev: u32) -> Res<()> {
    let cgroup_id = cgroup(cgroup_path)?;
    let child = Init::start(cgroup_path, phase, &["mount", "mount_api"])?;
    let policy = daemon_like_policy(mode, rootfs_dev, Some(child.pid()))?;
    let id = enforcer.arm(cgroup_id, &policy).map_err(|e| e.to_string())?;
    println!("LSMVM gate-armed phase={phase} cgroup={cgroup_id} policy={id} gate_pid={}", child.pid());
    child.release_and_wait()
}

/// A started "container init" (subcommand `gate`), waiting to be released.
pub(crate) struct Init {
    child: std::process::Child,
    phase: String,
}

impl Init {
    /// Starts it in `cgroup_path`; after its exec it runs `cases` (cases.rs).
    pub(crate) fn start(cgroup_path: &str, phase: &str, cases: &[&str]) -> Res<Init> {
        let exe = std::env::current_exe().map_err(ctx("current_exe"))?;
        let mut child = Command::new(exe)
            .args(["gate", cgroup_path, phase, &cases.join(",")])
            .stdin(Stdio::piped())
            .spawn()
            .map_err(ctx("spawn gate"))?;
        // In its cgroup before anyone is told about it, as runc puts its init there before
        // the hooks run (the child joins too, which is then a no-op).
        if let Err(e) = std::fs::write(format!("{cgroup_path}/cgroup.procs"), child.id().to_string()) {
            let _ = child.kill();
            return Err(format!("move the init into {cgroup_path}: {e}"));
        }
        Ok(Init { child, phase: phase.to_owned() })
    }

    /// Its pid: the container's init, as the OCI state names it.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lets it run (it is armed now) and waits for it.
    pub(crate) fn release_and_wait(mut self) -> Res<()> {
        self.release()?;
        self.end()
    }

    /// Lets it run, its stdin kept open: the daemon scenario's entrypoint then lives on until
    /// [`Init::end`].
    pub(crate) fn release(&mut self) -> Res<()> {
        self.child.stdin.as_mut().ok_or("gate stdin")?.write_all(b"go\n").map_err(ctx("release gate"))
    }

    /// Closes its stdin and waits for it.
    pub(crate) fn end(mut self) -> Res<()> {
        drop(self.child.stdin.take());
        let status = self.child.wait().map_err(ctx("wait gate"))?;
        println!("LSMVM phase-end phase={} status={}", self.phase, status.code().unwrap_or(-1));
        Ok(())
    }
}

/// The container init's side (subcommand `gate <cgroup> <phase> <case,...>`): joins the
/// cgroup, waits until armed, mounts, then execs `attack` with the cases. Returns only on
/// failure.
pub(crate) fn init(cgroup_path: &str, phase: &str, cases_after_exec: &str) -> Res<()> {
    std::fs::write(format!("{cgroup_path}/cgroup.procs"), std::process::id().to_string()).map_err(ctx("join cgroup"))?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(ctx("wait for arming"))?;
    if line.trim() != "go" {
        return Err("not released (the runtime gave up on arming)".into());
    }
    // Not chrooted yet: the runtime works on the rootfs from outside, as runc init does
    // before pivot_root.
    let target = format!("{ROOTFS}/mnt");
    let case = |name: &str, result: String| println!("LSMVM case phase={phase} name={name} result={result}");
    case("before_exec_mount", cases::mount_tmpfs(&target));
    case("before_exec_mount_api", cases::mount_api(&target));
    let other = Command::new("/bin/busybox").arg("true").status();
    case("other_exec", other.map_or_else(|e| format!("error={e}").replace(' ', "_"), |_| "ok".into()));
    case("after_other_exec_mount", cases::mount_tmpfs(&target));
    let exe = std::env::current_exe().map_err(ctx("current_exe"))?;
    let err = Command::new(exe).args(["attack", cgroup_path, phase, cases_after_exec]).exec();
    Err(format!("exec the entrypoint: {err}"))
}
