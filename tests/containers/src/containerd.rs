//! A private containerd: its own root, state, sockets and config under one temporary directory, NRI
//! enabled, CRI configured for host-network pods. Stopped and cleaned up on drop.
//!
//! What is *not* private: runc's state directory (`/run/containerd/runc/<namespace>`) and cgroups
//! (`/<namespace>/<container>`) are shared by every containerd on the machine, so container names must be
//! unique machine-wide (see [`crate::unique_name`]). CRI ids are random and never collide.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::process::{run, run_ok};

/// The namespace `ctr` uses by default.
pub const CTR_NAMESPACE: &str = "default";
/// The namespace the CRI plugin uses (and where NRI sees containers).
pub const CRI_NAMESPACE: &str = "k8s.io";
/// The CRI `sandbox_image`: import [`crate::image::pause`] into [`CRI_NAMESPACE`] before running pods.
pub const PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.9";

/// How long containerd gets to answer after being started.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long containerd gets to exit after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline of one `ctr` housekeeping call.
const CTR_TIMEOUT: Duration = Duration::from_secs(30);

/// How to start a [`Containerd`]. `Default` is plain runc from PATH, log level `info`, containerd's own
/// NRI timeouts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The runc binary CRI containers run with (runc runtime option `BinaryName`); `None`: `runc` from PATH.
    pub runc_binary: Option<PathBuf>,
    /// A directory put first in containerd's PATH: a `runc` there is what `ctr run` containers use.
    pub path_prepend: Option<PathBuf>,
    /// containerd's log level (`debug`, `info`, ...); `None`: `info`.
    pub log_level: Option<String>,
    /// NRI `plugin_registration_timeout`; `None`: containerd's default (5 s).
    pub nri_registration_timeout: Option<Duration>,
    /// NRI `plugin_request_timeout`; `None`: containerd's default (2 s).
    pub nri_request_timeout: Option<Duration>,
    /// Extra environment for containerd (and so for its shims and runc), e.g.
    /// `PALISADE_HOOK_CONFIG` for the runc wrapper.
    pub env: Vec<(String, String)>,
}

/// A running private containerd. Invariant: `dir` exists and holds `config.toml` for as long as the
/// value lives; `child` is `Some` while containerd runs.
#[derive(Debug)]
pub struct Containerd {
    dir: PathBuf,
    options: Options,
    child: Option<Child>,
}

static INSTANCE: AtomicU32 = AtomicU32::new(0);

impl Containerd {
    /// Creates `/tmp/palisade-testbed-<pid>-<n>`, writes the config, starts containerd and waits until
    /// `ctr version` answers and the NRI socket exists.
    pub fn start(options: Options) -> Result<Containerd> {
        let dir = loop {
            let n = INSTANCE.fetch_add(1, Ordering::Relaxed);
            let dir = PathBuf::from(format!("/tmp/palisade-testbed-{}-{n}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(format!("create {}", dir.display()), e)),
            }
        };
        let mut me = Containerd { dir, options, child: None };
        for sub in ["root", "state", "nri/plugins", "nri/conf", "cni/bin", "cni/conf"] {
            let p = me.dir.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| Error::io(format!("create {}", p.display()), e))?;
        }
        let config = me.config();
        let path = me.config_path();
        std::fs::write(&path, config).map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        me.spawn()?;
        Ok(me)
    }

    /// The private directory holding everything of this instance.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// containerd's gRPC socket (what `ctr -a` and the CRI client take).
    pub fn socket(&self) -> PathBuf {
        self.dir.join("containerd.sock")
    }
    /// The NRI socket plugins connect to.
    pub fn nri_socket(&self) -> PathBuf {
        self.dir.join("nri.sock")
    }
    /// The generated config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.toml")
    }
    /// containerd's log (stdout and stderr, appended across restarts).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("containerd.log")
    }
    /// containerd's PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_else(|e| format!("(no log: {e})"));
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Stops containerd (SIGTERM, then SIGKILL) and starts it again with the same directories and
    /// config. Running containers and their shims survive, as with a real restart.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.spawn()
    }

    /// Stops containerd: SIGTERM, SIGKILL after 10 s. Containers keep running (their shims are separate
    /// processes). Does nothing when it is not running.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        let pid = Pid::from_raw(child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(self.failure("did not exit within 10 s of SIGTERM; killed"));
                }
                Err(e) => return Err(Error::io("wait for containerd", e)),
            }
        }
    }

    fn failure(&self, what: impl Into<String>) -> Error {
        Error::Containerd { dir: self.dir.clone(), what: what.into(), log_tail: self.log_tail(40) }
    }

    fn config(&self) -> String {
        let d = self.dir.display();
        let mut c = String::new();
        // `writeln!` into a String cannot fail.
        let _ = writeln!(
            c,
            r#"version = 2
root = "{d}/root"
state = "{d}/state"

[grpc]
  address = "{d}/containerd.sock"

[ttrpc]
  address = "{d}/containerd.sock.ttrpc"

[debug]
  level = "{level}"

[plugins."io.containerd.nri.v1.nri"]
  disable = false
  disable_connections = false
  socket_path = "{d}/nri.sock"
  plugin_path = "{d}/nri/plugins"
  plugin_config_path = "{d}/nri/conf""#,
            level = self.options.log_level.as_deref().unwrap_or("info"),
        );
        if let Some(t) = self.options.nri_registration_timeout {
            let _ = writeln!(c, "  plugin_registration_timeout = \"{}ms\"", t.as_millis());
        }
        if let Some(t) = self.options.nri_request_timeout {
            let _ = writeln!(c, "  plugin_request_timeout = \"{}ms\"", t.as_millis());
        }
        // Host-network pods need no CNI; the private CNI dirs keep the plugin off /etc/cni. Port 0: several
        // instances may run at once.
        let _ = writeln!(
            c,
            r#"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni/bin"
    conf_dir = "{d}/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false"#
        );
        if let Some(runc) = &self.options.runc_binary {
            let _ = writeln!(c, "        BinaryName = \"{}\"", runc.display());
        }
        c
    }

    fn spawn(&mut self) -> Result<()> {
        let log_path = self.log_path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(format!("open {}", log_path.display()), e))?;
        let log2 = log.try_clone().map_err(|e| Error::io("dup log file", e))?;
        let mut cmd = Command::new("containerd");
        cmd.arg("--config").arg(self.config_path());
        if let Some(first) = &self.options.path_prepend {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![first.clone()];
            dirs.extend(std::env::split_paths(&path));
            let joined = std::env::join_paths(dirs)
                .map_err(|e| Error::Invalid(format!("PATH with {}: {e}", first.display())))?;
            cmd.env("PATH", joined);
        }
        cmd.envs(self.options.env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
        let child = cmd.spawn().map_err(|e| Error::io("spawn containerd", e))?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut last = String::new();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(self.failure(format!("exited during start-up ({status})")));
                }
            }
            if self.socket().exists() {
                let out = run(self.ctr().arg("version"), None, Duration::from_secs(5));
                match out {
                    Ok(o) if o.success() && self.nri_socket().exists() => return Ok(()),
                    Ok(o) if o.success() => last = "NRI socket not there yet".into(),
                    Ok(o) => last = o.stderr,
                    Err(e) => last = e.to_string(),
                }
            }
            if Instant::now() >= deadline {
                return Err(self.failure(format!("not ready after {START_TIMEOUT:?}; last: {last}")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// For teardown: deletes every task (SIGKILL) and container in every namespace; a task or container
    /// already gone is fine. Carries on after a failure and reports all of them.
    pub fn remove_all_containers(&self) -> Result<()> {
        let namespaces = run_ok(self.ctr().args(["namespaces", "ls", "-q"]), None, CTR_TIMEOUT)?;
        let mut errors = Vec::new();
        for ns in namespaces.stdout.split_whitespace() {
            let ids = match run_ok(self.ctr().args(["-n", ns, "containers", "ls", "-q"]), None, CTR_TIMEOUT) {
                Ok(o) => o.stdout.split_whitespace().map(String::from).collect(),
                Err(e) => {
                    errors.push(e.to_string());
                    Vec::new()
                }
            };
            for id in ids {
                if let Err(e) = self.ctr_rm(ns, &id) {
                    errors.push(e.to_string());
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(format!("removing containers: {}", errors.join("\n"))))
        }
    }
}

impl Drop for Containerd {
    /// Removes containers, stops containerd, kills leftover shims and their containers, unmounts whatever
    /// is still mounted under the directory and removes it. Failures are printed, not raised.
    fn drop(&mut self) {
        if self.child.is_some() {
            if let Err(e) = self.remove_all_containers() {
                eprintln!("palisade-testbed: cleanup of {}: {e}", self.dir.display());
            }
        }
        if let Err(e) = self.stop() {
            eprintln!("palisade-testbed: stop: {e}");
        }
        crate::cleanup::kill_shims(&self.socket());
        crate::cleanup::unmount_under(&self.dir);
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("palisade-testbed: remove {}: {e}", self.dir.display());
        }
    }
}
