//! Palisade itself in the test bed: its binaries (built by `cargo test --workspace`, found
//! beside the test executable), and a `palisade run` daemon with a private hook socket, started
//! and stopped around a scenario.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long the daemon may take to load its programs and rules.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// `palisade`, `palisade-hook` and `palisade-runc`.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub palisade: PathBuf,
    pub hook: PathBuf,
    pub runc_wrapper: PathBuf,
}

impl Binaries {
    /// The binaries in the cargo target directory this test runs from (`target/<profile>/`).
    pub fn locate() -> Result<Binaries> {
        let exe = std::env::current_exe().map_err(|e| Error::io("current_exe", e))?;
        // target/<profile>/deps/<test>-<hash>, or target/<profile>/<bin>
        let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
        if dir.file_name().is_some_and(|n| n == "deps") {
            dir.pop();
        }
        let bins = Binaries {
            palisade: dir.join("palisade"),
            hook: dir.join("palisade-hook"),
            runc_wrapper: dir.join("palisade-runc"),
        };
        for b in [&bins.palisade, &bins.hook, &bins.runc_wrapper] {
            if !b.is_file() {
                return Err(Error::Missing {
                    what: b.display().to_string(),
                    hint: "build it: cargo build -p palisade -p palisade-hook -p palisade-runc".into(),
                });
            }
        }
        Ok(bins)
    }
}

/// How to run the daemon.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub rules: Vec<PathBuf>,
    /// `-o host_monitoring=true|false`.
    pub host_monitoring: bool,
    /// containerd's NRI socket; `None`: a path where nothing listens.
    pub nri_socket: Option<PathBuf>,
    /// containerd's API socket (image lookups, recovery at start); `None`: nothing listens.
    pub containerd_socket: Option<PathBuf>,
    /// More `-o KEY=VALUE` overrides (e.g. `profiles_dir=...`).
    pub options: Vec<String>,
}

/// A running `palisade run --json`.
pub struct Daemon {
    child: Child,
    stderr: Option<std::thread::JoinHandle<()>>,
    /// Everything the daemon wrote to stderr so far.
    stderr_text: std::sync::Arc<std::sync::Mutex<String>>,
    socket: PathBuf,
    palisade: PathBuf,
}

/// What a stopped daemon printed.
#[derive(Debug)]
pub struct DaemonOutput {
    pub alerts: Vec<serde_json::Value>,
    pub stderr: String,
}

/// The daemon's private files: hook socket, hook configuration, hook log. Made before the
/// daemon starts so containerd can be pointed at the hook configuration first; outlives daemon
/// restarts.
pub struct DaemonDir(PathBuf);

impl DaemonDir {
    /// A fresh directory with `hook.json` (failure policy closed: a container the daemon
    /// did not arm must not start unnoticed in a test).
    pub fn new() -> Result<DaemonDir> {
        let dir = std::env::temp_dir().join(crate::unique_name("palisade-daemon"));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("mkdir {}", dir.display()), e))?;
        let hook_config = serde_json::json!({
            "socket": dir.join("hook.sock"),
            "timeout_ms": 5000,
            "failure_policy": "closed",
            "log_file": dir.join("hook.log"),
        });
        std::fs::write(dir.join("hook.json"), hook_config.to_string())
            .map_err(|e| Error::io("write hook.json", e))?;
        Ok(DaemonDir(dir))
    }

    /// The hook configuration to give the runc wrapper (`PALISADE_HOOK_CONFIG`).
    pub fn hook_config(&self) -> PathBuf {
        self.0.join("hook.json")
    }

    /// containerd's environment for the runc wrapper to report to this daemon
    /// (`PALISADE_HOOK_CONFIG`, `PALISADE_HOOK`): for [`crate::Options::env`].
    pub fn wrapper_env(&self, bins: &Binaries) -> Vec<(String, String)> {
        vec![
            ("PALISADE_HOOK_CONFIG".into(), self.hook_config().display().to_string()),
            ("PALISADE_HOOK".into(), bins.hook.display().to_string()),
        ]
    }

    /// The daemon's hook socket.
    pub fn socket(&self) -> PathBuf {
        self.0.join("hook.sock")
    }

    /// What the hook logged.
    pub fn hook_log(&self) -> String {
        std::fs::read_to_string(self.0.join("hook.log")).unwrap_or_default()
    }
}

impl Drop for DaemonDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Daemon {
    /// Starts the daemon with its files in `dir` and waits until it watches.
    pub fn start(bins: &Binaries, options: &DaemonOptions, dir: &DaemonDir) -> Result<Daemon> {
        let mut cmd = Command::new(&bins.palisade);
        let nri = match &options.nri_socket {
            Some(s) => format!("nri.socket_path={}", s.display()),
            None => "nri.enabled=false".into(),
        };
        let containerd = options.containerd_socket.clone().unwrap_or_else(|| dir.0.join("no-containerd.sock"));
        // `-c /dev/null`: built-in defaults, whatever /etc/palisade holds on this machine.
        cmd.args(["run", "-c", "/dev/null", "--json", "--rule-matching", "all"])
            .arg("-o")
            .arg(format!("host_monitoring={}", options.host_monitoring))
            .arg("-o")
            .arg(format!("hook_socket={}", dir.socket().display()))
            .arg("-o")
            .arg(nri)
            .arg("-o")
            .arg(format!("containerd_socket={}", containerd.display()))
            // No profiles unless a test gives some (whatever /etc/palisade holds).
            .arg("-o")
            .arg(format!("profiles_dir={}", dir.0.join("no-profiles").display()));
        for o in &options.options {
            cmd.arg("-o").arg(o);
        }
        for r in &options.rules {
            cmd.arg("-r").arg(r);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io(format!("spawn {}", bins.palisade.display()), e))?;
        let mut stderr = BufReader::new(child.stderr.take().ok_or_else(|| Error::Invalid("no stderr".into()))?);
        let mut seen = String::new();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let mut line = String::new();
            let n = stderr.read_line(&mut line).map_err(|e| Error::io("read daemon stderr", e))?;
            seen.push_str(&line);
            if line.contains("watching") {
                break;
            }
            if n == 0 || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Invalid(format!("palisade run did not start:\n{seen}")));
            }
        }
        let stderr_text = std::sync::Arc::new(std::sync::Mutex::new(seen));
        let sink = std::sync::Arc::clone(&stderr_text);
        let stderr = std::thread::spawn(move || loop {
            let mut line = String::new();
            match stderr.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if let Ok(mut t) = sink.lock() {
                        t.push_str(&line);
                    }
                }
            }
        });
        Ok(Daemon { child, stderr: Some(stderr), stderr_text, socket: dir.socket(), palisade: bins.palisade.clone() })
    }

    /// Waits until the daemon's stderr contains `text`; `false` after `timeout`.
    pub fn wait_for_stderr(&self, text: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.stderr_text.lock().is_ok_and(|t| t.contains(text)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// `palisade containers --json`.
    pub fn containers(&self) -> Result<Vec<serde_json::Value>> {
        let out = Command::new(&self.palisade)
            .args(["containers", "--json", "--socket"])
            .arg(&self.socket)
            .output()
            .map_err(|e| Error::io("palisade containers", e))?;
        if !out.status.success() {
            return Err(Error::Invalid(format!(
                "palisade containers failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).map_err(|e| Error::Invalid(format!("containers line {l:?}: {e}"))))
            .collect()
    }

    /// Starts `palisade capture -o OUTPUT [--container ID]` and waits until the daemon has
    /// started writing.
    pub fn capture(&self, output: &Path, container: Option<&str>) -> Result<Capture> {
        let mut cmd = Command::new(&self.palisade);
        cmd.args(["capture", "--socket"]).arg(&self.socket).arg("-o").arg(output);
        if let Some(c) = container {
            cmd.args(["--container", c]);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("spawn palisade capture", e))?;
        let mut stderr = BufReader::new(child.stderr.take().ok_or_else(|| Error::Invalid("no stderr".into()))?);
        let mut first = String::new();
        stderr.read_line(&mut first).map_err(|e| Error::io("read palisade capture", e))?;
        if !first.contains("capturing") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Invalid(format!("palisade capture did not start: {first}")));
        }
        Ok(Capture { child, stderr, started: first })
    }

    /// `palisade profiles report --json CONTAINER`.
    pub fn profiles_report(&self, container: &str) -> Result<serde_json::Value> {
        let out = Command::new(&self.palisade)
            .args(["profiles", "report", "--json", "--socket"])
            .arg(&self.socket)
            .arg(container)
            .output()
            .map_err(|e| Error::io("palisade profiles report", e))?;
        if !out.status.success() {
            return Err(Error::Invalid(format!("palisade profiles report: {}", String::from_utf8_lossy(&out.stderr))));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| Error::Invalid(format!("profiles report: {e}")))
    }

    /// Kills the daemon without a clean shutdown (a crash, for restart tests).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then collects every alert it printed.
    pub fn stop(mut self) -> Result<DaemonOutput> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        let _ = self.child.wait();
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
        let stderr = self.stderr_text.lock().map(|t| t.clone()).unwrap_or_default();
        let alerts = stdout
            .lines()
            .map(|l| serde_json::from_str(l).map_err(|e| Error::Invalid(format!("alert line {l:?}: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(DaemonOutput { alerts, stderr })
    }
}

/// A running `palisade capture`.
pub struct Capture {
    child: Child,
    stderr: BufReader<std::process::ChildStderr>,
    started: String,
}

impl Capture {
    /// Ends it as Ctrl-C does; returns what it printed (start and end lines). A capture that
    /// did not end cleanly (exit status) is an error.
    pub fn stop(mut self) -> Result<String> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let mut rest = String::new();
        let _ = self.stderr.read_to_string(&mut rest);
        let status = self.child.wait().map_err(|e| Error::io("wait palisade capture", e))?;
        let text = format!("{}{rest}", self.started);
        if !status.success() {
            return Err(Error::Invalid(format!("palisade capture: {status}:\n{text}")));
        }
        Ok(text)
    }
}

/// `palisade replay ARGS...`: the JSON lines it printed, and its stderr. A failed replay is an
/// error.
pub fn replay(bins: &Binaries, args: &[&std::ffi::OsStr]) -> Result<(Vec<serde_json::Value>, String)> {
    let out = Command::new(&bins.palisade).arg("replay").args(args).output().map_err(|e| Error::io("palisade replay", e))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(Error::Invalid(format!("palisade replay: {}:\n{stderr}", out.status)));
    }
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).map_err(|e| Error::Invalid(format!("replay line {l:?}: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    Ok((lines, stderr))
}

impl Drop for Capture {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
