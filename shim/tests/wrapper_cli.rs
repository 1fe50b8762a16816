//! `palisade-runc` against a fake runc (a script recording its arguments and the bundle's
//! config.json as it saw them): arguments reach runc unchanged, hooks are injected on create/run
//! only, once, and a bundle that cannot be hooked follows the failure policy. With a fake daemon
//! on the hook socket: a container the daemon confines gets `palisade-init` and its policy, and
//! so does every `exec` into it, whatever its argv; the daemon's spec changes are applied once;
//! a refused container never reaches runc, and the refusal is one JSON error line in runc's
//! `--log` file (what containerd shows) naming Palisade and the reason.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Command, Output};

struct Bed {
    dir: PathBuf,
}

impl Bed {
    fn new(name: &str) -> Bed {
        let dir = std::env::temp_dir().join(format!("palisade-runc-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bundle")).expect("mkdir");
        std::fs::write(dir.join("bundle/config.json"), r#"{"ociVersion":"1.0.2","process":{"args":["sh"]}}"#)
            .expect("config.json");
        let fake = dir.join("runc");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = state ] && {{ echo '{{\"bundle\":\"{d}/bundle\"}}'; exit 0; }}; done\n\
                 printf '%s\\n' \"$@\" > {d}/args\ncp {d}/bundle/config.json {d}/seen.json 2>/dev/null\necho runc-stdout\nexit 7\n",
                d = dir.display()
            ),
        )
        .expect("fake runc");
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::write(
            dir.join("hook.json"),
            format!(r#"{{"socket":"{}/daemon.sock","failure_policy":"open","timeout_ms":2000}}"#, dir.display()),
        )
        .expect("hook.json");
        Bed { dir }
    }

    /// A daemon answering every request with `reply` (one JSON line), recording the requests.
    fn daemon(&self, reply: String) -> std::thread::JoinHandle<Vec<serde_json::Value>> {
        let socket = self.dir.join("daemon.sock");
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).expect("bind");
        listener.set_nonblocking(false).expect("blocking");
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            // Serve until the test is over: one connection per wrapper run.
            let Ok((s, _)) = listener.accept() else { return seen };
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).expect("read");
            seen.push(serde_json::from_str(&line).expect("request json"));
            (&s).write_all(format!("{reply}\n").as_bytes()).expect("write");
            seen
        })
    }

    fn wrapper(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_palisade-runc"))
            .args(args)
            .env("PALISADE_RUNC", self.dir.join("runc"))
            .env("PALISADE_HOOK", "/opt/palisade/palisade-hook")
            .env("PALISADE_HOOK_CONFIG", self.dir.join("hook.json"))
            .output()
            .expect("run wrapper")
    }

    fn runc_args(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("args")).expect("fake runc ran").lines().map(String::from).collect()
    }

    fn seen_spec(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.dir.join("seen.json")).expect("seen.json")).expect("json")
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn create_injects_hooks_and_execs_runc_with_the_same_arguments() {
    let bed = Bed::new("create");
    let bundle = bed.dir.join("bundle");
    let args = ["--root", "/run/r", "--log", "/run/log.json", "--log-format", "json", "create", "--bundle",
        bundle.to_str().expect("utf8"), "--pid-file", "/run/p", "c1"];
    let out = bed.wrapper(&args);
    // runc's own exit status and stdout come through untouched.
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "runc-stdout\n");
    assert_eq!(bed.runc_args(), args);
    let spec = bed.seen_spec();
    let config = bed.dir.join("hook.json");
    let config = config.to_str().expect("utf8");
    assert_eq!(
        spec["hooks"]["createRuntime"],
        serde_json::json!([{"path": "/opt/palisade/palisade-hook",
            "args": ["palisade-hook", "--config", config, "create-runtime"], "timeout": 10}])
    );
    assert_eq!(spec["hooks"]["poststop"], serde_json::Value::Null);
    assert_eq!(spec["process"]["args"], serde_json::json!(["sh"]));

    // A second create of the same bundle does not duplicate the hooks.
    bed.wrapper(&args);
    assert_eq!(bed.seen_spec()["hooks"]["createRuntime"].as_array().map(Vec::len), Some(1));
}

#[test]
fn other_commands_pass_through_without_touching_the_bundle() {
    let bed = Bed::new("passthrough");
    let before = std::fs::read(bed.dir.join("bundle/config.json")).expect("read");
    for args in [&["--root", "/run/r", "kill", "c1"][..], &["delete", "--force", "c1"], &["--version"]] {
        let out = bed.wrapper(args);
        assert_eq!(out.status.code(), Some(7));
        assert_eq!(bed.runc_args(), args);
    }
    assert_eq!(std::fs::read(bed.dir.join("bundle/config.json")).expect("read"), before);
}

#[test]
fn unhookable_bundle_follows_the_failure_policy() {
    let bed = Bed::new("policy");
    std::fs::write(bed.dir.join("bundle/config.json"), "not json").expect("write");
    let bundle = bed.dir.join("bundle");
    let args = ["run", "-b", bundle.to_str().expect("utf8"), "c1"];

    std::fs::write(bed.dir.join("hook.json"), r#"{"failure_policy":"open"}"#).expect("write");
    let out = bed.wrapper(&args);
    assert_eq!(out.status.code(), Some(7), "fail-open still runs the container");
    assert!(String::from_utf8_lossy(&out.stderr).contains("palisade: container c1 starts unconfined: its bundle cannot be changed ("));
    assert!(String::from_utf8_lossy(&out.stderr).contains("failure_policy open"));

    std::fs::remove_file(bed.dir.join("args")).expect("rm");
    std::fs::write(bed.dir.join("hook.json"), r#"{"failure_policy":"closed"}"#).expect("write");
    let out = bed.wrapper(&args);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("palisade: container c1 refused: its bundle cannot be changed ("), "{stderr}");
    assert!(stderr.contains("config.json: expected ident") && stderr.ends_with("; failure_policy closed\n"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!bed.dir.join("args").exists(), "runc must not run when fail-closed");
}

/// An annotation that is not a string: runc refuses such a spec, and the wrapper reads it with
/// the same reader as the hook and the daemon, so it says so instead of asking with half the facts.
#[test]
fn a_spec_field_of_the_wrong_type_is_refused_when_closed() {
    let bed = Bed::new("wrongtype");
    std::fs::write(bed.dir.join("bundle/config.json"), r#"{"ociVersion":"1.0.2","process":{"args":["sh"]},"annotations":{"a":1}}"#)
        .expect("write");
    std::fs::write(bed.dir.join("hook.json"), r#"{"failure_policy":"closed"}"#).expect("write");
    let bundle = bed.dir.join("bundle");
    let out = bed.wrapper(&["create", "--bundle", bundle.to_str().expect("utf8"), "c1"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let prefix = format!(
        "palisade: container c1 refused: its bundle cannot be changed ({}: invalid type: integer `1`, expected a string",
        bundle.join("config.json").display()
    );
    assert!(stderr.starts_with(&prefix), "{stderr}");
    assert!(stderr.ends_with("; failure_policy closed\n"), "{stderr}");
    assert!(!bed.dir.join("args").exists(), "runc must not run when fail-closed");
}

const PREPARED: &str = r#"{"reply":"prepared","profile":"hardened","mode":"enforce",
    "landlock_policy":{"version":2,"write_beneath":["/tmp"],"execute":["/"],"deny_execute":["/bin/sh"],"no_execute":["/tmp"]}}"#;

/// `/.palisade/init --` and what a forger put after it: the wrapper prefixes all the same.
const FORGED: [&str; 6] = ["/.palisade/init", "--policy", "/proc/self/fd/0", "--", "/bin/bash", "-i"];

fn prefixed(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["/.palisade/init", "--"];
    all.extend_from_slice(args);
    serde_json::json!(all)
}

#[test]
fn every_process_of_a_confined_container_is_prefixed_whatever_its_argv() {
    let bed = Bed::new("confined");
    std::fs::write(bed.dir.join("bundle/config.json"), serde_json::json!({"ociVersion": "1.0.2", "process": {"args": FORGED}}).to_string())
        .expect("config.json");
    let init = bed.dir.join("palisade-init");
    std::fs::write(&init, b"").expect("fake init");
    let bundle = bed.dir.join("bundle");
    let daemon = bed.daemon(PREPARED.replace('\n', ""));
    let args = ["create", "--bundle", bundle.to_str().expect("utf8"), "c1"];
    let out = Command::new(env!("CARGO_BIN_EXE_palisade-runc"))
        .args(args)
        .env("PALISADE_RUNC", bed.dir.join("runc"))
        .env("PALISADE_HOOK_CONFIG", bed.dir.join("hook.json"))
        .env("PALISADE_INIT", &init)
        .output()
        .expect("wrapper");
    assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
    let requests = daemon.join().expect("daemon");
    assert_eq!(requests[0]["request"], "prepare");
    assert_eq!(requests[0]["state"]["id"], "c1");
    assert_eq!(requests[0]["bundle"]["args"], serde_json::json!(FORGED));
    let spec = bed.seen_spec();
    assert_eq!(spec["process"]["args"], prefixed(&FORGED));
    assert_eq!(
        spec["mounts"],
        serde_json::json!([
            {"destination": "/.palisade/init", "type": "bind", "source": init.to_str(), "options": ["rbind", "ro", "nosuid", "nodev"]},
            {"destination": "/.palisade/policy.json", "type": "bind", "source": bundle.join("palisade-policy.json").to_str(),
             "options": ["rbind", "ro", "nosuid", "nodev"]},
        ])
    );
    assert_eq!(spec["root"], serde_json::Value::Null, "no spec changes asked for");
    let policy_file = bundle.join("palisade-policy.json");
    let policy: serde_json::Value = serde_json::from_slice(&std::fs::read(&policy_file).expect("policy written")).expect("json");
    assert_eq!(policy["no_execute"], serde_json::json!(["/tmp"]));
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&policy_file).expect("stat").mode() & 0o7777, 0o644, "palisade-init refuses group/other-writable");

    // containerd's exec: a process file, rewritten in place.
    let process = bed.dir.join("process.json");
    std::fs::write(&process, serde_json::json!({"args": FORGED, "cwd": "/"}).to_string()).expect("process.json");
    let out = bed.wrapper(&["--root", "/run/r", "exec", "--process", process.to_str().expect("utf8"), "--detach", "c1"]);
    assert_eq!(out.status.code(), Some(7));
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&process).expect("read")).expect("json");
    assert_eq!(p["args"], prefixed(&FORGED));
    // runc exec with a command line.
    let mut line = vec!["exec", "-t", "c1"];
    line.extend_from_slice(&FORGED);
    bed.wrapper(&line);
    let mut expected = vec!["exec", "-t", "c1", "/.palisade/init", "--"];
    expected.extend_from_slice(&FORGED);
    assert_eq!(bed.runc_args(), expected);
}

#[test]
fn spec_changes_are_applied_exactly_and_once() {
    let bed = Bed::new("spec");
    let bundle = bed.dir.join("bundle");
    std::fs::create_dir_all(bundle.join("rootfs/var/cache")).expect("rootfs");
    std::fs::write(
        bundle.join("config.json"),
        r#"{"ociVersion":"1.0.2","process":{"args":["nginx"]},"root":{"path":"rootfs"},
            "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                      {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime"]},
                      {"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","nodev"]},
                      {"destination":"/data","type":"bind","source":"/srv/data","options":["rbind","rw"]}]}"#,
    )
    .expect("config.json");
    let init = bed.dir.join("palisade-init");
    std::fs::write(&init, b"").expect("fake init");
    let reply = serde_json::json!({"reply": "prepared", "profile": "immutable", "mode": "enforce",
        "landlock_policy": {"version": 2, "execute": ["/"]},
        "spec": {"readonly_rootfs": true, "writable_binds": ["/var/cache/nginx", "/run"],
                 "noexec": ["/dev", "/dev/shm", "/var/cache/nginx", "/run"]}});
    let run = || {
        let daemon = bed.daemon(reply.to_string());
        let out = Command::new(env!("CARGO_BIN_EXE_palisade-runc"))
            .args(["create", "--bundle", bundle.to_str().expect("utf8"), "c1"])
            .env("PALISADE_RUNC", bed.dir.join("runc"))
            .env("PALISADE_HOOK_CONFIG", bed.dir.join("hook.json"))
            .env("PALISADE_INIT", &init)
            .output()
            .expect("wrapper");
        daemon.join().expect("daemon");
        assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
    };
    run();
    run();
    let spec = bed.seen_spec();
    assert_eq!(spec["root"], serde_json::json!({"path": "rootfs", "readonly": true}));
    let rootfs = bundle.join("rootfs");
    let ro = serde_json::json!(["rbind", "ro", "nosuid", "nodev"]);
    assert_eq!(
        spec["mounts"],
        serde_json::json!([
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "noexec"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "nodev", "noexec"]},
            {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "rw"]},
            {"destination": "/var/cache/nginx", "type": "bind", "source": rootfs.join("var/cache/nginx").to_str(),
             "options": ["rbind", "rw", "nosuid", "nodev", "noexec"]},
            {"destination": "/run", "type": "bind", "source": rootfs.join("run").to_str(),
             "options": ["rbind", "rw", "nosuid", "nodev", "noexec"]},
            {"destination": "/.palisade/init", "type": "bind", "source": init.to_str(), "options": ro},
            {"destination": "/.palisade/policy.json", "type": "bind",
             "source": bundle.join("palisade-policy.json").to_str(), "options": ro},
        ])
    );
    assert!(rootfs.join("var/cache/nginx").is_dir() && rootfs.join("run").is_dir(), "bind sources created");
    // The prefix is not idempotent by design: a second create nests one more init.
    assert_eq!(spec["process"]["args"], serde_json::json!(["/.palisade/init", "--", "/.palisade/init", "--", "nginx"]));
}

#[test]
fn a_symlinked_writable_bind_is_refused_and_said_in_the_runc_log() {
    let bed = Bed::new("symlink-bind");
    let bundle = bed.dir.join("bundle");
    std::fs::create_dir_all(bundle.join("rootfs/var")).expect("rootfs");
    std::os::unix::fs::symlink("/", bundle.join("rootfs/var/cache")).expect("symlink");
    std::fs::write(bundle.join("config.json"), r#"{"ociVersion":"1.0.2","process":{"args":["sh"]},"root":{"path":"rootfs"}}"#)
        .expect("config.json");
    std::fs::write(bed.dir.join("hook.json"), format!(r#"{{"socket":"{}/daemon.sock","failure_policy":"closed"}}"#, bed.dir.display()))
        .expect("hook.json");
    let init = bed.dir.join("palisade-init");
    std::fs::write(&init, b"").expect("fake init");
    let daemon = bed.daemon(
        serde_json::json!({"reply": "prepared", "profile": "p", "mode": "enforce", "landlock_policy": {"version": 2},
            "spec": {"readonly_rootfs": true, "writable_binds": ["/var/cache/app"]}})
        .to_string(),
    );
    let log = bed.dir.join("log.json");
    let out = Command::new(env!("CARGO_BIN_EXE_palisade-runc"))
        .args(["--log", log.to_str().expect("utf8"), "--log-format", "json", "create", "--bundle", bundle.to_str().expect("utf8"), "c1"])
        .env("PALISADE_RUNC", bed.dir.join("runc"))
        .env("PALISADE_HOOK_CONFIG", bed.dir.join("hook.json"))
        .env("PALISADE_INIT", &init)
        .output()
        .expect("wrapper");
    daemon.join().expect("daemon");
    assert_eq!(out.status.code(), Some(1));
    let msg = "palisade: container c1 refused: its bundle cannot be changed (writable bind /var/cache/app: /var/cache is a \
               symbolic link in the image; refusing to follow it); failure_policy closed";
    assert_eq!(log_lines(&log), [msg]);
    assert!(!bed.dir.join("args").exists(), "runc must not run");
    assert!(!std::path::Path::new("/app").exists());
}

/// The `msg` of every line of runc's JSON log, checking each line's shape.
fn log_lines(log: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).expect("the runc log was written");
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            assert_eq!(v["level"], "error", "{l}");
            let time = v["time"].as_str().expect("time");
            assert!(time.len() == 20 && time.ends_with('Z') && &time[10..11] == "T", "RFC3339: {time}");
            v["msg"].as_str().expect("msg").to_owned()
        })
        .collect()
}

#[test]
fn an_exec_into_an_unconfined_container_is_untouched() {
    let bed = Bed::new("unconfined-exec");
    bed.wrapper(&["exec", "-t", "c1", "/.palisade/init", "--", "/bin/sh"]);
    assert_eq!(bed.runc_args(), ["exec", "-t", "c1", "/.palisade/init", "--", "/bin/sh"]);
}

#[test]
fn a_refused_container_never_reaches_runc_and_containerd_is_told_why() {
    let bed = Bed::new("refused");
    let daemon = bed.daemon(r#"{"reply":"refused","reason":"profile hardened is enforced and no enforcement backend works on this node; fail_closed is set"}"#.to_owned());
    let bundle = bed.dir.join("bundle");
    let log = bed.dir.join("log.json");
    let out = bed.wrapper(&["--log", log.to_str().expect("utf8"), "--log-format", "json", "run", "-b", bundle.to_str().expect("utf8"), "c1"]);
    daemon.join().expect("daemon");
    assert_eq!(out.status.code(), Some(1));
    let msg = "palisade: container c1 refused: the daemon refuses it (profile hardened is enforced and no enforcement \
               backend works on this node; fail_closed is set)";
    assert_eq!(log_lines(&log), [msg]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), format!("{msg}\n"));
    assert!(out.stdout.is_empty());
    assert!(!bed.dir.join("args").exists(), "runc must not run");
}

#[test]
fn no_daemon_follows_the_failure_policy() {
    let bed = Bed::new("nodaemon");
    let bundle = bed.dir.join("bundle");
    let log = bed.dir.join("log.json");
    let args = ["--log", log.to_str().expect("utf8"), "--log-format", "json", "create", "-b", bundle.to_str().expect("utf8"), "c1"];
    let socket = bed.dir.join("daemon.sock");
    let out = bed.wrapper(&args);
    assert_eq!(out.status.code(), Some(7), "fail-open: runc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        format!(
            "palisade: container c1 starts unconfined: the daemon is unreachable (connect {}: No such file or directory \
             (os error 2)); failure_policy open\n",
            socket.display()
        )
    );
    assert!(!log.exists(), "a container that starts is not an error for containerd");
    assert_eq!(bed.seen_spec()["process"]["args"], serde_json::json!(["sh"]));

    std::fs::remove_file(bed.dir.join("args")).expect("rm");
    std::fs::write(bed.dir.join("hook.json"), format!(r#"{{"socket":"{}","failure_policy":"closed"}}"#, socket.display()))
        .expect("hook.json");
    let out = bed.wrapper(&args);
    assert_eq!(out.status.code(), Some(1));
    let msg = format!(
        "palisade: container c1 refused: the daemon is unreachable (connect {}: No such file or directory (os error 2)); \
         failure_policy closed",
        socket.display()
    );
    assert_eq!(log_lines(&log), std::slice::from_ref(&msg));
    assert_eq!(String::from_utf8_lossy(&out.stderr), format!("{msg}\n"));
    assert!(!bed.dir.join("args").exists(), "runc must not run when fail-closed");

    // Without --log, stderr only.
    let out = bed.wrapper(&["create", "-b", bundle.to_str().expect("utf8"), "c1"]);
    assert_eq!((out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned()), (Some(1), format!("{msg}\n")));
    assert_eq!(log_lines(&log).len(), 1);
}

#[test]
fn a_missing_init_or_a_daemon_error_refuses_when_closed() {
    let bed = Bed::new("noinit");
    let bundle = bed.dir.join("bundle");
    std::fs::write(bed.dir.join("hook.json"), format!(r#"{{"socket":"{}/daemon.sock","failure_policy":"closed"}}"#, bed.dir.display()))
        .expect("hook.json");
    let log = bed.dir.join("log.json");
    let run = |reply: &str| {
        let daemon = bed.daemon(reply.to_owned());
        let out = Command::new(env!("CARGO_BIN_EXE_palisade-runc"))
            .args(["--log", log.to_str().expect("utf8"), "--log-format", "json", "create", "-b", bundle.to_str().expect("utf8"), "c1"])
            .env("PALISADE_RUNC", bed.dir.join("runc"))
            .env("PALISADE_HOOK_CONFIG", bed.dir.join("hook.json"))
            .env("PALISADE_INIT", bed.dir.join("absent-init"))
            .output()
            .expect("wrapper");
        daemon.join().expect("daemon");
        out
    };
    let out = run(&PREPARED.replace('\n', ""));
    assert_eq!(out.status.code(), Some(1));
    let out2 = run(r#"{"reply":"error","message":"cgroup /sys/fs/cgroup/x: not found"}"#);
    assert_eq!(out2.status.code(), Some(1));
    assert_eq!(
        log_lines(&log),
        [
            format!(
                "palisade: container c1 refused: palisade-init is missing ({}/absent-init does not exist; set PALISADE_INIT); \
                 failure_policy closed",
                bed.dir.display()
            ),
            "palisade: container c1 refused: the daemon cannot arm it (cgroup /sys/fs/cgroup/x: not found); failure_policy closed"
                .to_owned(),
        ]
    );
    assert!(!bed.dir.join("args").exists(), "runc must not run");
}
