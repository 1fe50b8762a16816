//! Shared by the privileged end-to-end tests: the skip policy, the upstream rule files, and a
//! `palisade run` daemon started and stopped around a test's actions.

#![allow(dead_code, reason = "each test binary uses part of this module")]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A privileged test that cannot run: fails, or (only with `PALISADE_ALLOW_SKIP_PRIVILEGED=1`)
/// says why it skips.
pub fn skip_or_fail(why: &str) {
    if std::env::var("PALISADE_ALLOW_SKIP_PRIVILEGED").as_deref() == Ok("1") {
        eprintln!("SKIPPED (PALISADE_ALLOW_SKIP_PRIVILEGED=1): {why}");
    } else {
        panic!("privileged test cannot run: {why} (set PALISADE_ALLOW_SKIP_PRIVILEGED=1 to skip)");
    }
}

/// `true` when running as root; otherwise [`skip_or_fail`] and `false`.
pub fn privileged() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    skip_or_fail("not root");
    false
}

/// The shared test inputs (`PALISADE_SHARED` overrides `../../shared`).
pub fn shared() -> PathBuf {
    std::env::var_os("PALISADE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// Falco's syscall rule files, unmodified: stable, incubating, sandbox.
pub fn upstream_rule_files() -> Vec<PathBuf> {
    ["falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"]
        .iter()
        .map(|f| shared().join("falco/rules").join(f))
        .collect()
}

/// A running `palisade run --json --rule-matching all`.
pub struct Daemon {
    child: Child,
    stderr: std::thread::JoinHandle<String>,
}

/// What a stopped daemon printed.
pub struct Output {
    /// Every alert, parsed.
    pub alerts: Vec<serde_json::Value>,
    /// Its stderr.
    pub stderr: String,
}

impl Daemon {
    /// Start with `files` and wait until it watches.
    pub fn start(files: &[PathBuf]) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_palisade"));
        // Built-in defaults whatever /etc/palisade holds; NRI off (no containerd here).
        cmd.args(["run", "-c", "/dev/null", "--json", "--rule-matching", "all", "-o", "nri.enabled=false"]);
        // A socket of its own: tests run daemons side by side.
        static SOCKETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SOCKETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = std::env::temp_dir().join(format!("palisade-test-{}-{n}.sock", std::process::id()));
        cmd.arg("-o").arg(format!("hook_socket={}", socket.display()));
        for f in files {
            cmd.arg("-r").arg(f);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start palisade run");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        let mut seen = String::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !line.contains("watching") {
            line.clear();
            if stderr.read_line(&mut line).expect("read stderr") == 0 || Instant::now() > deadline {
                let _ = child.kill();
                panic!("palisade run did not start:\n{seen}{line}");
            }
            seen.push_str(&line);
        }
        let stderr = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
            rest
        });
        Daemon { child, stderr }
    }

    /// SIGINT, wait, parse the alerts. Records are drained every 10 ms; the daemon drains
    /// once more after the signal, so everything done before this call is in.
    pub fn stop(self) -> Output {
        std::thread::sleep(Duration::from_millis(300));
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT).expect("SIGINT");
        let out = self.child.wait_with_output().expect("wait");
        assert!(out.status.success(), "palisade run exit: {:?}", out.status);
        let alerts = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        Output { alerts, stderr: self.stderr.join().unwrap_or_default() }
    }
}
