//! Privileged, end to end: a hook-armed container that no containerd knows (as podman's are)
//! survives a restart of the daemon. `palisade run` arms a process in a test cgroup through the
//! hook socket (the request `palisade-hook` sends at `createRuntime`, CRI annotations naming it
//! `web`), and is stopped; a second `palisade run` with the same arguments (host monitoring off,
//! no containerd) still alerts for that container's actions with its id and name: it knew the
//! container only from the state file beside the hook socket. When the container's init exits,
//! the file forgets it.
//!
//! Needs root and a kernel with BTF; fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{cgroup2_root, hook_request, privileged, skip_or_fail, Daemon, TestCgroup};
use serde_json::Value;

/// A scratch directory under /tmp, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills the container's shell if the test ends early, so its cgroup can go.
struct Shell(std::process::Child);

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The probe alerts: (container.id, container.name) of each.
fn probes(alerts: &[Value]) -> Vec<(String, String)> {
    let text = |a: &Value, k: &str| a["output_fields"][k].as_str().unwrap_or("<absent>").to_owned();
    alerts.iter().filter(|a| a["rule"] == "Restart probe").map(|a| (text(a, "container.id"), text(a, "container.name"))).collect()
}

#[test]
fn a_hook_armed_container_is_watched_by_the_restarted_daemon_with_its_metadata() {
    if !privileged() {
        return;
    }
    let Some(root) = cgroup2_root() else {
        skip_or_fail("no cgroup v2 hierarchy");
        return;
    };
    let scratch = Scratch(PathBuf::from(format!("/tmp/palisade-restart-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&scratch.0);
    std::fs::create_dir_all(&scratch.0).expect("scratch");
    let dir = scratch.0.clone();
    let marker = dir.join("marker");
    std::fs::write(&marker, "x\n").expect("marker");
    let rules = dir.join("rules.yaml");
    let rule = format!(
        "- rule: Restart probe\n  desc: the marker opened\n  condition: evt.type in (open, openat) and fd.name = {}\n  \
         output: probe (id=%container.id name=%container.name)\n  priority: WARNING\n",
        marker.display()
    );
    std::fs::write(&rules, rule).expect("rules");
    let socket = dir.join("hook.sock");
    let args: Vec<String> = [
        "-o",
        "host_monitoring=false",
        "-o",
        &format!("hook_socket={}", socket.display()),
        "-o",
        "containerd_socket=/nonexistent/containerd.sock",
        "--pidfile",
        &dir.join("palisade.pid").display().to_string(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();

    let first = Daemon::start_with(&args, std::slice::from_ref(&rules));
    // The container's init: a shell in its own cgroup that opens the marker at each step.
    let cgroup = TestCgroup::new(&root, &format!("palisade-restart-{}", std::process::id()));
    let step = |n: u32| dir.join(format!("go{n}"));
    let done = |n: u32| dir.join(format!("done{n}"));
    let script = format!(
        "for n in 1 2; do while [ ! -e {go}$n ]; do sleep 0.05; done; cat {marker} > /dev/null; : > {done}$n; done; \
         while [ ! -e {go}3 ]; do sleep 0.05; done",
        go = dir.join("go").display(),
        done = dir.join("done").display(),
        marker = marker.display(),
    );
    let mut shell = Shell(cgroup.spawn(Path::new("/bin/sh"), &script));
    let pid = shell.0.id();
    let cgroup_name = format!("/palisade-restart-{}", std::process::id());
    wait_for("the shell in its cgroup", || {
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|t| t.lines().any(|l| l.starts_with("0::") && l.ends_with(&cgroup_name)))
    });
    let id = format!("restart{:012}", std::process::id());
    let state = format!(
        "{{\"ociVersion\":\"1.0.2\",\"id\":\"{id}\",\"status\":\"created\",\"pid\":{pid},\"bundle\":\"{}\",\
         \"annotations\":{{\"io.kubernetes.cri.container-name\":\"web\",\"io.kubernetes.cri.image-name\":\"app:1\"}}}}",
        dir.display()
    );
    let reply = hook_request(&socket, &format!("{{\"request\":\"hook\",\"version\":1,\"phase\":\"createRuntime\",\"state\":{state}}}"));
    assert!(reply.contains("\"armed\""), "{reply}");
    std::fs::write(step(1), "").expect("go1");
    wait_for("the first open", || done(1).exists());
    let out = first.stop();
    let want = vec![(id[..12].to_owned(), "web".to_owned())];
    assert_eq!(probes(&out.alerts), want, "the first daemon alerts with the container's metadata:\n{}", out.stdout);

    // The successor: no source reports the container; it must know it from the state file.
    let second = Daemon::start_with(&args, std::slice::from_ref(&rules));
    std::fs::write(step(2), "").expect("go2");
    wait_for("the second open", || done(2).exists());
    std::fs::write(step(3), "").expect("go3");
    assert!(shell.0.wait().expect("wait shell").success());
    let out = second.stop();
    assert_eq!(probes(&out.alerts), want, "the successor alerts with the container's metadata:\n{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("re-armed a container from the state file"), "{}", out.stderr);
    // Its init exited: the container stopped, and the file no longer holds it.
    let saved: Value = serde_json::from_slice(&std::fs::read(dir.join("hook.containers.json")).expect("state file")).expect("json");
    assert_eq!((saved["version"].as_u64(), saved["containers"].as_array().map(Vec::len)), (Some(1), Some(0)), "{saved}");
    drop(shell);
    drop(cgroup);
}
