//! Shared by the privileged end-to-end tests: the skip policy, the upstream rule files, and a
//! `palisade run` daemon started and stopped around a test's actions.

#![allow(dead_code, reason = "each test binary uses part of this module")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A privileged test that cannot run: fails, or (only with `PALISADE_ALLOW_SKIP_PRIVILEGED=1`)
/// says why it skips.
pub(crate) fn skip_or_fail(why: &str) {
    if std::env::var("PALISADE_ALLOW_SKIP_PRIVILEGED").as_deref() == Ok("1") {
        eprintln!("SKIPPED (PALISADE_ALLOW_SKIP_PRIVILEGED=1): {why}");
    } else {
        panic!("privileged test cannot run: {why} (set PALISADE_ALLOW_SKIP_PRIVILEGED=1 to skip)");
    }
}

/// `true` when running as root; otherwise [`skip_or_fail`] and `false`.
pub(crate) fn privileged() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    skip_or_fail("not root");
    false
}

/// The shared test inputs (`PALISADE_SHARED` overrides `../../shared`).
pub(crate) fn shared() -> PathBuf {
    std::env::var_os("PALISADE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

/// Falco's syscall rule files, unmodified: stable, incubating, sandbox.
pub(crate) fn upstream_rule_files() -> Vec<PathBuf> {
    ["falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"]
        .iter()
        .map(|f| shared().join("falco/rules").join(f))
        .collect()
}

/// A running `palisade run --json --rule-matching all`.
pub(crate) struct Daemon {
    child: Child,
    socket: PathBuf,
    stderr: std::thread::JoinHandle<()>,
    stderr_text: std::sync::Arc<std::sync::Mutex<String>>,
}

/// What a stopped daemon printed.
pub(crate) struct Output {
    /// Every stdout line that is JSON (the alerts with `--json`), parsed.
    pub alerts: Vec<serde_json::Value>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

impl Daemon {
    /// Start with `files` and wait until it watches.
    pub(crate) fn start(files: &[PathBuf]) -> Daemon {
        Daemon::start_with(&[], files)
    }

    /// Start with `extra` arguments (after the defaults, so they win) and `files`.
    pub(crate) fn start_with(extra: &[String], files: &[PathBuf]) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_palisade"));
        // Built-in defaults whatever /etc/palisade holds (unless `extra` names a file); NRI
        // off (no containerd here). As `-o`s, so `extra`'s `-o`s, applied later, win.
        cmd.arg("run");
        if !extra.iter().any(|a| a == "-c") {
            cmd.args(["-c", "/dev/null"]);
        }
        for o in ["json_output=true", "rule_matching=all", "nri.enabled=false"] {
            cmd.args(["-o", o]);
        }
        // A socket of its own: tests run daemons side by side.
        static SOCKETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SOCKETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = std::env::temp_dir().join(format!("palisade-test-{}-{n}.sock", std::process::id()));
        cmd.arg("-o").arg(format!("hook_socket={}", socket.display()));
        if !extra.iter().any(|a| a == "--pidfile") {
            cmd.arg("--pidfile").arg(socket.with_extension("pid"));
        }
        cmd.args(extra);
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
        let stderr_text = std::sync::Arc::new(std::sync::Mutex::new(seen));
        let sink = std::sync::Arc::clone(&stderr_text);
        let stderr = std::thread::spawn(move || loop {
            let mut line = String::new();
            match stderr.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => sink.lock().expect("stderr buffer").push_str(&line),
            }
        });
        Daemon { child, socket, stderr, stderr_text }
    }

    /// The daemon's socket (`palisade status`, `palisade containers`).
    pub(crate) fn socket(&self) -> &std::path::Path {
        &self.socket
    }

    /// The daemon's pid.
    pub(crate) fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Waits until stderr shows `text` (`count` times in all); panics after 30 s.
    pub(crate) fn wait_for_stderr(&self, text: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen = self.stderr_text.lock().expect("stderr buffer").clone();
            if seen.matches(text).count() >= count {
                return;
            }
            assert!(Instant::now() < deadline, "no {text:?} (x{count}) on stderr:\n{seen}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGINT, wait, parse the alerts. Records are drained every 10 ms; the daemon (unpinned)
    /// drains once more after the signal, so everything done before this call is in.
    pub(crate) fn stop(self) -> Output {
        std::thread::sleep(Duration::from_millis(300));
        kill(self.pid(), Signal::SIGINT).expect("SIGINT");
        let out = self.child.wait_with_output().expect("wait");
        assert!(out.status.success(), "palisade run exit: {:?}", out.status);
        let _ = self.stderr.join();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let alerts = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let stderr = self.stderr_text.lock().expect("stderr buffer").clone();
        Output { alerts, stdout, stderr }
    }
}

/// The kernel programs loaded and configured with `capture`, watching every untracked cgroup
/// (the host); the scope is returned so that it lives as long as the test needs it. `None` after
/// [`skip_or_fail`] when the programs cannot load.
pub(crate) fn kernel_watching_host(
    capture: &palisade_daemon::kernel::Capture,
) -> Option<(palisade_daemon::kernel::Kernel, palisade_daemon::kernel::Scope)> {
    let mut kernel = match palisade_daemon::kernel::Kernel::load() {
        Ok(k) => k,
        Err(e) => {
            skip_or_fail(&format!("cannot load the BPF programs: {e}"));
            return None;
        }
    };
    kernel.configure(capture).expect("configure");
    let mut scope = kernel.take_scope().expect("scope");
    scope.watch_untracked(true).expect("watch the host");
    Some((kernel, scope))
}

/// The cgroup v2 mount: `/sys/fs/cgroup/unified` on hybrid hosts, `/sys/fs/cgroup` on pure v2.
pub(crate) fn cgroup2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(2) == Some(&"cgroup2"))
        .map(|f| PathBuf::from(f[1]))
}

/// A cgroup v2 child of the tests' own, removed on drop (its processes must be gone by then).
pub(crate) struct TestCgroup(pub(crate) PathBuf);

impl TestCgroup {
    pub(crate) fn new(root: &std::path::Path, name: &str) -> TestCgroup {
        let p = root.join(name);
        let _ = std::fs::remove_dir(&p);
        std::fs::create_dir(&p).unwrap_or_else(|e| panic!("create cgroup {}: {e}", p.display()));
        TestCgroup(p)
    }

    /// The cgroup id the kernel puts in records (the directory's inode).
    pub(crate) fn id(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&self.0).expect("stat cgroup").ino()
    }

    /// `shell -c script`, after the shell moved itself into this cgroup.
    pub(crate) fn spawn(&self, shell: &std::path::Path, script: &str) -> Child {
        Command::new(shell)
            .arg("-c")
            .arg(format!("echo $$ > {}/cgroup.procs && {script}", self.0.display()))
            .spawn()
            .expect("spawn shell")
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A TCP port free on 127.0.0.1 now (the daemon binds it a moment later).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// `GET /healthz`, one request per connection.
pub(crate) const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

/// Sends `request` on a new connection and returns the answer's status code (0: no connection,
/// or no answer within 20 s).
pub(crate) fn http_status(addr: std::net::SocketAddr, request: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else { return 0 };
    s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    if s.write_all(request).is_err() {
        return 0;
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// One request line to the hook socket (as `palisade-hook` sends it); the reply line.
pub(crate) fn hook_request(socket: &std::path::Path, line: &str) -> String {
    use std::io::Write;
    let mut stream = std::os::unix::net::UnixStream::connect(socket).expect("connect to the hook socket");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    stream.write_all(format!("{line}\n").as_bytes()).expect("request");
    let mut reply = String::new();
    BufReader::new(&stream).read_line(&mut reply).expect("reply");
    reply
}
