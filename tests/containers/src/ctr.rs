//! Driving a [`Containerd`] with `ctr`: image import, `ctr run`, exec, kill, removal.
//!
//! `ctr run` does not go through the CRI plugin, so NRI plugins never see these containers; runc
//! wrappers do (through `--runc-binary` or [`crate::Options::path_prepend`]).

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::containerd::{Containerd, CTR_NAMESPACE};
use crate::error::Result;
use crate::image::ImageSpec;
use crate::process::{run, run_ok, run_on_pty, CmdOutput};

/// Default deadline of a `ctr run`/`ctr tasks exec` (the command inside included).
pub const CTR_RUN_TIMEOUT: Duration = Duration::from_secs(60);
const CTR_TIMEOUT: Duration = Duration::from_secs(30);

/// One `ctr run`.
#[derive(Debug, Clone)]
pub struct CtrRun {
    /// Image name (imported before).
    pub image: String,
    /// Container id, unique machine-wide (see [`crate::unique_name`]).
    pub name: String,
    /// Command and arguments; empty: the image's entrypoint and cmd.
    pub args: Vec<String>,
    /// `--runc-binary`: the runc (or wrapper) the shim runs for this container.
    pub runc_binary: Option<PathBuf>,
    /// `-t`: a terminal for the container. ctr then runs on a pseudo-terminal of ours and all output
    /// comes back as `stdout`.
    pub tty: bool,
    /// `--rm`: delete the container when it exits.
    pub rm: bool,
    /// `-d`: return once the task started.
    pub detach: bool,
    /// `--privileged`: all capabilities, host devices.
    pub privileged: bool,
    /// Extra environment (`KEY=value`, `--env`).
    pub env: Vec<String>,
    /// OCI annotations (`KEY=value`, `--annotation`).
    pub annotations: Vec<String>,
    /// Extra mounts (`type=bind,src=/x,dst=/y,options=rbind:rw`, `--mount`).
    pub mounts: Vec<String>,
    /// containerd namespace.
    pub namespace: String,
    /// Deadline for ctr; it is killed after.
    pub timeout: Duration,
}

impl CtrRun {
    /// `ctr run --rm IMAGE NAME ARGS...` in the `default` namespace, no terminal, not detached.
    pub fn new(image: &str, name: &str, args: &[&str]) -> CtrRun {
        CtrRun {
            image: image.to_string(),
            name: name.to_string(),
            args: args.iter().map(|s| s.to_string()).collect(),
            runc_binary: None,
            tty: false,
            rm: true,
            detach: false,
            privileged: false,
            env: Vec::new(),
            annotations: Vec::new(),
            mounts: Vec::new(),
            namespace: CTR_NAMESPACE.to_string(),
            timeout: CTR_RUN_TIMEOUT,
        }
    }
}

static EXEC_ID: AtomicU32 = AtomicU32::new(0);

impl Containerd {
    /// `ctr -a SOCKET`.
    pub fn ctr(&self) -> Command {
        let mut c = Command::new("ctr");
        c.arg("-a").arg(self.socket());
        c
    }

    /// `ctr -a SOCKET -n NAMESPACE`.
    pub fn ctr_ns(&self, namespace: &str) -> Command {
        let mut c = self.ctr();
        c.args(["-n", namespace]);
        c
    }

    /// Builds `spec` (cached per process) and imports it into `namespace` (`ctr images import -`).
    pub fn import(&self, spec: &ImageSpec, namespace: &str) -> Result<()> {
        let archive = spec.archive()?;
        run_ok(self.ctr_ns(namespace).args(["images", "import", "-"]), Some(archive), CTR_TIMEOUT).map(|_| ())
    }

    /// Runs `ctr run` as described; returns what it printed and its exit status (the container's exit
    /// status unless ctr itself failed). A non-zero status is not an error here.
    pub fn ctr_run(&self, r: &CtrRun) -> Result<CmdOutput> {
        let mut c = self.ctr_ns(&r.namespace);
        c.arg("run");
        if r.rm {
            c.arg("--rm");
        }
        if r.tty {
            c.arg("-t");
        }
        if r.detach {
            c.arg("-d");
        }
        if r.privileged {
            c.arg("--privileged");
        }
        if let Some(runc) = &r.runc_binary {
            c.arg("--runc-binary").arg(runc);
        }
        for e in &r.env {
            c.args(["--env", e]);
        }
        for a in &r.annotations {
            c.args(["--annotation", a]);
        }
        for m in &r.mounts {
            c.args(["--mount", m]);
        }
        c.arg(&r.image).arg(&r.name).args(&r.args);
        if r.tty {
            run_on_pty(&mut c, r.timeout)
        } else {
            run(&mut c, None, r.timeout)
        }
    }

    /// `ctr tasks exec` of `args` in running container `container`; returns output and exit status.
    pub fn ctr_exec(&self, namespace: &str, container: &str, args: &[&str], tty: bool) -> Result<CmdOutput> {
        let exec_id = format!("exec-{}-{}", std::process::id(), EXEC_ID.fetch_add(1, Ordering::Relaxed));
        let mut c = self.ctr_ns(namespace);
        c.args(["tasks", "exec", "--exec-id", &exec_id]);
        if tty {
            c.arg("-t");
        }
        c.arg(container).args(args);
        if tty {
            run_on_pty(&mut c, CTR_RUN_TIMEOUT)
        } else {
            run(&mut c, None, CTR_RUN_TIMEOUT)
        }
    }

    /// Sends `signal` (`SIGTERM`, `9`) to the task's init process (`all`: to every process).
    pub fn ctr_kill(&self, namespace: &str, container: &str, signal: &str, all: bool) -> Result<()> {
        let mut c = self.ctr_ns(namespace);
        c.args(["tasks", "kill", "-s", signal]);
        if all {
            c.arg("--all");
        }
        run_ok(c.arg(container), None, CTR_TIMEOUT).map(|_| ())
    }

    /// PID of the task's init process (`ctr tasks ls`).
    pub fn ctr_task_pid(&self, namespace: &str, container: &str) -> Result<u32> {
        let out = run_ok(self.ctr_ns(namespace).args(["tasks", "ls"]), None, CTR_TIMEOUT)?;
        out.stdout
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.first() == Some(&container))
            .and_then(|f| f.get(1)?.parse().ok())
            .ok_or_else(|| crate::Error::Invalid(format!("no task {container} in `ctr tasks ls`:\n{}", out.stdout)))
    }

    /// Deletes the task (killing it) and the container; a missing task or container is fine.
    pub fn ctr_rm(&self, namespace: &str, container: &str) -> Result<()> {
        let out = run(self.ctr_ns(namespace).args(["tasks", "delete", "--force", container]), None, CTR_TIMEOUT)?;
        if !out.success() && !out.stderr.contains("not found") {
            return Err(crate::Error::Invalid(format!("ctr tasks delete --force {container}: {}", out.stderr)));
        }
        let out = run(self.ctr_ns(namespace).args(["containers", "rm", container]), None, CTR_TIMEOUT)?;
        if !out.success() && !out.stderr.contains("not found") {
            return Err(crate::Error::Invalid(format!("ctr containers rm {container}: {}", out.stderr)));
        }
        Ok(())
    }
}
