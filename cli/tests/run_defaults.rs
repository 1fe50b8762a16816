//! Privileged: the newcomer path. `palisade run` with no configuration file and no `-r`
//! (`HOME` and the working directory a fresh temporary directory) starts on the built-in
//! defaults, says it loaded the built-in Palisade rules, alerts when a container reads
//! `/etc/shadow` (the default rule "Palisade: sensitive file read in container"), and stops
//! cleanly. The container is a process in a test cgroup armed through the hook socket with
//! the request `palisade-hook` sends at `createRuntime`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{cgroup2_root, hook_request, privileged, skip_or_fail, TestCgroup};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills the daemon if the test ends early (a panic), so no daemon outlives its test.
struct Running(Option<std::process::Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until `pid` is in `cgroup` (the shell moves itself there first thing).
fn wait_in_cgroup(pid: u32, cgroup: &TestCgroup) {
    let name = cgroup.0.file_name().and_then(|n| n.to_str()).expect("cgroup name").to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        if text.lines().any(|l| l.starts_with("0::") && l.ends_with(&format!("/{name}"))) {
            return;
        }
        assert!(Instant::now() < deadline, "pid {pid} did not join {}: {text}", cgroup.0.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn run_without_any_configuration_loads_the_built_in_rules_and_alerts() {
    if !privileged() {
        return;
    }
    for installed in ["/etc/palisade/palisade.yaml", "/etc/palisade/rules.d"] {
        if Path::new(installed).exists() {
            skip_or_fail(&format!("{installed} exists: this host is not a fresh machine"));
            return;
        }
    }
    let Some(root) = cgroup2_root() else {
        skip_or_fail("no cgroup v2 hierarchy");
        return;
    };
    let scratch = Scratch(std::env::temp_dir().join(format!("palisade-defaults-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&scratch.0);
    std::fs::create_dir_all(&scratch.0).expect("scratch");
    let socket = scratch.0.join("hook.sock");
    // Only what running beside other tests needs: a hook socket and pid file of its own.
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["run", "-o"])
        .arg(format!("hook_socket={}", socket.display()))
        .arg("--pidfile")
        .arg(scratch.0.join("palisade.pid"))
        .current_dir(&scratch.0)
        .env("HOME", &scratch.0)
        .env_remove("PALISADE_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start palisade run");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut running = Running(Some(child));
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen.contains("watching") {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("stderr") == 0 || Instant::now() > deadline {
            panic!("palisade run did not start:\n{seen}");
        }
        seen.push_str(&line);
    }
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    assert!(seen.contains("loaded the built-in Palisade rules"), "{seen}");

    // The "container": a shell in a cgroup of its own, waiting for the go file.
    let cgroup = TestCgroup::new(&root, &format!("palisade-defaults-{}", std::process::id()));
    let go = scratch.0.join("go");
    let mut shell = Running(Some(
        cgroup.spawn(Path::new("/bin/sh"), &format!("while [ ! -e {} ]; do sleep 0.05; done; cat /etc/shadow > /dev/null", go.display())),
    ));
    let shell_pid = shell.0.as_ref().map_or(0, std::process::Child::id);
    wait_in_cgroup(shell_pid, &cgroup);
    // At least 12 characters whatever the pid: the alert shows the first 12.
    let id = format!("defaults{:08}", std::process::id());
    let state = format!(
        "{{\"ociVersion\":\"1.0.2\",\"id\":\"{id}\",\"status\":\"created\",\"pid\":{},\"bundle\":\"{}\"}}",
        shell_pid,
        scratch.0.display()
    );
    let reply = hook_request(&socket, &format!("{{\"request\":\"hook\",\"version\":1,\"phase\":\"createRuntime\",\"state\":{state}}}"));
    assert!(reply.contains("\"armed\""), "{reply}");
    std::fs::write(&go, "").expect("go");
    assert!(shell.0.take().expect("shell").wait().expect("wait").success());
    std::thread::sleep(Duration::from_millis(500));
    let poststop = format!("{{\"request\":\"hook\",\"version\":1,\"phase\":\"poststop\",\"state\":{state}}}");
    let _ = hook_request(&socket, &poststop);

    let child = running.0.take().expect("daemon");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("SIGINT");
    let out = child.wait_with_output().expect("wait");
    let stderr = format!("{seen}{}", rest.join().unwrap_or_default());
    assert!(out.status.success(), "exit {:?}:\n{stderr}", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let alerts: Vec<&str> = stdout.lines().filter(|l| l.contains(": Warning Sensitive file read in container")).collect();
    assert_eq!(alerts.len(), 1, "one alert of the default rule:\n{stdout}\n{stderr}");
    assert!(alerts[0].contains("file=/etc/shadow") && alerts[0].contains(&format!("container_id={}", &id[..12])), "{}", alerts[0]);
    drop(cgroup);
}
