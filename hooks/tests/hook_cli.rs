//! `palisade-hook` as runc runs it: OCI state on stdin, a bundle with config.json, a daemon
//! socket that answers (or not). Asserts exit status, what reached the daemon, the log, and that
//! stdout stays empty.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use palisade_hook::{Phase, Reply, Request};

struct Bed {
    dir: PathBuf,
}

impl Bed {
    fn new(name: &str, policy: &str) -> Bed {
        let dir = std::env::temp_dir().join(format!("palisade-hook-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bundle")).expect("mkdir");
        std::fs::write(
            dir.join("bundle/config.json"),
            r#"{"ociVersion":"1.0.2","process":{"args":["/bin/sh"]},"root":{"path":"rootfs"},
                "hostname":"web","linux":{"cgroupsPath":"/default/web"}}"#,
        )
        .expect("config.json");
        let config = serde_json::json!({
            "socket": dir.join("d.sock"), "timeout_ms": 300, "failure_policy": policy,
            "log_file": dir.join("hook.log"),
        });
        std::fs::write(dir.join("hook.json"), config.to_string()).expect("hook.json");
        Bed { dir }
    }

    /// Serves one connection with `reply`, returning what the hook sent.
    fn daemon(&self, reply: Reply) -> std::thread::JoinHandle<Request> {
        let listener = UnixListener::bind(self.dir.join("d.sock")).expect("bind");
        std::thread::spawn(move || {
            let (s, _) = listener.accept().expect("accept");
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).expect("read");
            let mut out = serde_json::to_vec(&reply).expect("encode");
            out.push(b'\n');
            (&s).write_all(&out).expect("write");
            serde_json::from_str(&line).expect("decode request")
        })
    }

    fn hook(&self, stage: &str) -> Output {
        let state = serde_json::json!({"ociVersion":"1.0.2","id":"c1","status":"created","pid":4242,
            "bundle": self.dir.join("bundle")});
        let mut child = Command::new(env!("CARGO_BIN_EXE_palisade-hook"))
            .arg("--config")
            .arg(self.dir.join("hook.json"))
            .arg(stage)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hook");
        // A hook that fails before reading stdin closes it: EPIPE here is what runc sees too.
        let _ = child.stdin.take().expect("stdin").write_all(state.to_string().as_bytes());
        let out = child.wait_with_output().expect("wait");
        assert!(out.stdout.is_empty(), "the hook wrote to stdout: {:?}", String::from_utf8_lossy(&out.stdout));
        out
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("hook.log")).unwrap_or_default()
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn create_runtime_sends_state_and_bundle_facts_and_waits_for_armed() {
    let bed = Bed::new("armed", "closed");
    let daemon = bed.daemon(Reply::Armed { container_id: "c1".into(), mode: "audit".into() });
    let out = bed.hook("create-runtime");
    assert!(out.status.success(), "{}", stderr(&out));
    let Request::Hook { phase, state, bundle, .. } = daemon.join().expect("daemon") else { panic!("not a hook request") };
    assert_eq!(phase, Phase::CreateRuntime);
    assert_eq!((state.id.as_str(), state.pid), ("c1", Some(4242)));
    let bundle = bundle.expect("bundle facts at createRuntime");
    assert_eq!(bundle.cgroups_path, "/default/web");
    assert_eq!(bundle.rootfs, bed.dir.join("bundle/rootfs"));
    assert!(bed.log().contains("c1: armed, mode audit"), "{}", bed.log());
}

#[test]
fn poststop_sends_no_bundle_facts() {
    let bed = Bed::new("poststop", "closed");
    let daemon = bed.daemon(Reply::Ok);
    let out = bed.hook("poststop");
    assert!(out.status.success(), "{}", stderr(&out));
    let Request::Hook { phase, bundle, .. } = daemon.join().expect("daemon") else { panic!("not a hook request") };
    assert_eq!((phase, bundle), (Phase::Poststop, None));
}

#[test]
fn refusal_fails_the_container_even_when_fail_open() {
    let bed = Bed::new("refused", "open");
    let daemon = bed.daemon(Reply::Refused { reason: "profile demands enforce".into() });
    let out = bed.hook("create-runtime");
    daemon.join().expect("daemon");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "palisade: container c1 refused: the daemon refuses it (profile demands enforce)\n"
    );
}

#[test]
fn unreachable_daemon_fail_open_exits_zero_and_logs_why() {
    let bed = Bed::new("open", "open");
    let out = bed.hook("create-runtime");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let log = bed.log();
    assert!(log.contains("palisade: container c1 continues unmonitored: the daemon is unreachable (connect "), "{log}");
    assert!(log.trim_end().ends_with("; failure_policy open"), "{log}");
}

/// A config.json whose `process.args` is not a list is one runc refuses too: the hook does not
/// send half the facts, it fails like any other unreadable bundle (here fail-closed).
#[test]
fn a_spec_field_of_the_wrong_type_fails_the_container_fail_closed() {
    let bed = Bed::new("wrongtype", "closed");
    std::fs::write(bed.dir.join("bundle/config.json"), r#"{"process":{"args":"/bin/sh"},"root":{"path":"rootfs"}}"#)
        .expect("config.json");
    let out = bed.hook("create-runtime");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let prefix = format!(
        "palisade: container c1 refused: its bundle cannot be read ({}: invalid type: string \"/bin/sh\", expected a sequence",
        bed.dir.join("bundle/config.json").display()
    );
    assert!(err.starts_with(&prefix), "{err}");
    assert!(err.ends_with("; failure_policy closed\n"), "{err}");
}

#[test]
fn unreachable_daemon_fail_closed_fails_the_container() {
    let bed = Bed::new("closed", "closed");
    let out = bed.hook("create-runtime");
    assert_eq!(out.status.code(), Some(1));
    // runc puts a failing hook's stderr in its error: one line naming Palisade and the reason.
    assert_eq!(
        stderr(&out),
        format!(
            "palisade: container c1 refused: the daemon is unreachable (connect {}: No such file or directory \
             (os error 2)); failure_policy closed\n",
            bed.dir.join("d.sock").display()
        )
    );
}

#[test]
fn silent_daemon_fail_closed_times_out_and_fails() {
    let bed = Bed::new("silent", "closed");
    let listener = UnixListener::bind(bed.dir.join("d.sock")).expect("bind");
    let holder = std::thread::spawn(move || {
        let (s, _) = listener.accept().expect("accept");
        std::thread::sleep(std::time::Duration::from_millis(800));
        drop(s);
    });
    let out = bed.hook("create-runtime");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "palisade: container c1 refused: the daemon is unreachable (no reply from {} within 300ms); \
             failure_policy closed\n",
            bed.dir.join("d.sock").display()
        )
    );
    holder.join().expect("holder");
}

#[test]
fn malformed_config_fails_loudly_naming_the_file() {
    let bed = Bed::new("badconf", "open");
    std::fs::write(bed.dir.join("hook.json"), r#"{"failure_policy":"maybe"}"#).expect("write");
    let out = bed.hook("create-runtime");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("palisade: container refused: the hook configuration is unusable ("), "{}", stderr(&out));
    assert!(stderr(&out).contains("hook.json") && stderr(&out).contains("unknown variant `maybe`"), "{}", stderr(&out));
}

#[test]
fn missing_stage_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade-hook")).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing the hook stage") && stderr(&out).contains("usage: palisade-hook"));
}

