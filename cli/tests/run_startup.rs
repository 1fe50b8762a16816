//! `palisade run` at start-up, before anything needs root: SIGTERM during the loading of a large
//! rule set ends it with exit status 143 (128 + SIGTERM) and says it was interrupted, instead of
//! being ignored until the rules are loaded; a daemon already answering on the hook socket makes
//! a second one refuse to start, leaving the socket to the first.

use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A scratch directory removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Scratch {
        Scratch::new_named("interrupt")
    }

    fn new_named(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("palisade-startup-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch");
        Scratch(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Rules in the generated file: enough that loading them takes seconds in a debug build.
const RULES: usize = 60_000;

/// `palisade run` on `rules` without configuration or NRI, its hook socket at `socket`, stderr
/// piped.
fn palisade_run(socket: &std::path::Path, rules: &std::path::Path, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["run", "-c", "/dev/null", "-o", "nri.enabled=false"])
        .args(extra)
        .arg("-o")
        .arg(format!("hook_socket={}", socket.display()))
        .arg("-r")
        .arg(rules)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start palisade run")
}

#[test]
fn sigterm_while_loading_rules_stops_the_daemon_with_a_message() {
    let dir = Scratch::new();
    let rules = dir.0.join("many.yaml");
    std::fs::write(&rules, palisade_rules::synthetic::synthetic_rules(RULES)).expect("rules file");
    let socket = dir.0.join("hook.sock");
    let mut child = palisade_run(&socket, &rules, &["-o", "log_level=info"]);
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let seen = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&seen);
    let reader = std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let mut s = sink.lock().expect("stderr buffer");
            s.push_str(&line);
            s.push('\n');
        }
    });
    let text = || seen.lock().expect("stderr buffer").clone();
    // Wait (bounded) until it says it is loading the rules.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !text().contains("loading the rules") {
        if Instant::now() > deadline || child.try_wait().expect("wait").is_some() {
            let _ = child.kill();
            panic!("palisade run never said it was loading the rules:\n{}", text());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    // A generous bound: the daemon must end on its own, long before this.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("palisade run did not stop after SIGTERM during loading:\n{}", text());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = reader.join();
    let seen = text();
    assert_eq!(status.code(), Some(143), "exit status 128 + SIGTERM; stderr:\n{seen}");
    assert!(seen.contains("palisade: interrupted by SIGTERM while loading the rules; not started"), "{seen}");
    // It stopped during the load: nothing that follows a finished load happened.
    assert!(!seen.contains("deprecated field 'evt.dir'"), "the rules' warnings come after loading:\n{seen}");
    assert!(!seen.contains("watching"), "{seen}");
}

#[test]
fn a_second_daemon_refuses_a_live_hook_socket() {
    let dir = Scratch::new_named("second");
    let socket = dir.0.join("hook.sock");
    // The "first daemon": something listening on the path.
    let first = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    let rules = dir.0.join("one.yaml");
    std::fs::write(&rules, palisade_rules::synthetic::synthetic_rules(1)).expect("rules file");
    let mut child = palisade_run(&socket, &rules, &[]);
    // Bounded: a daemon that took the socket over would run until killed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("a second daemon kept running on a live socket:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "hook socket {}: another palisade daemon is running (it answers on this socket); stop it or set hook_socket to another path",
            socket.display()
        )),
        "{stderr}"
    );
    // The first keeps its socket: the path still reaches it (replaced, it would refuse).
    std::os::unix::net::UnixStream::connect(&socket).expect("the first still listens");
    drop(first);
}
