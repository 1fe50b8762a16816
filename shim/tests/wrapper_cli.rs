//! `palisade-runc` against a fake runc (a script recording its arguments and the bundle's
//! config.json as it saw them): arguments reach runc unchanged, hooks are injected on create/run
//! only, once, and a bundle that cannot be hooked follows the failure policy. With a fake daemon
//! on the hook socket: a container the daemon confines gets `palisade-init` and its policy, and
//! so does an `exec` into it; a refused container never reaches runc.

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
    assert!(String::from_utf8_lossy(&out.stderr).contains("failure_policy open"));

    std::fs::remove_file(bed.dir.join("args")).expect("rm");
    std::fs::write(bed.dir.join("hook.json"), r#"{"failure_policy":"closed"}"#).expect("write");
    let out = bed.wrapper(&args);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.json: expected ident") && stderr.contains("failure_policy closed"), "{stderr}");
    assert!(!bed.dir.join("args").exists(), "runc must not run when fail-closed");
}

const PREPARED: &str = r#"{"reply":"prepared","profile":"hardened","mode":"enforce",
    "landlock_policy":{"version":1,"mode":"enforce","write_beneath":["/tmp"],"execute":["/"],"deny_execute":["/bin/sh"]}}"#;

#[test]
fn a_confined_container_starts_under_palisade_init_and_so_do_its_execs() {
    let bed = Bed::new("confined");
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
    assert_eq!(requests[0]["bundle"]["args"], serde_json::json!(["sh"]));
    let spec = bed.seen_spec();
    assert_eq!(spec["process"]["args"], serde_json::json!(["/.palisade/init", "--policy", "/.palisade/policy.json", "--", "sh"]));
    assert_eq!(spec["mounts"][0]["source"], init.to_str().expect("utf8"));
    let policy: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("palisade-policy.json")).expect("policy written")).expect("json");
    assert_eq!(policy["deny_execute"], serde_json::json!(["/bin/sh"]));

    // containerd's exec: a process file, rewritten in place.
    let process = bed.dir.join("process.json");
    std::fs::write(&process, r#"{"args":["/bin/sh","-c","id"],"cwd":"/"}"#).expect("process.json");
    let out = bed.wrapper(&["--root", "/run/r", "exec", "--process", process.to_str().expect("utf8"), "--detach", "c1"]);
    assert_eq!(out.status.code(), Some(7));
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&process).expect("read")).expect("json");
    assert_eq!(p["args"], serde_json::json!(["/.palisade/init", "--policy", "/.palisade/policy.json", "--", "/bin/sh", "-c", "id"]));
    // runc exec with a command line.
    bed.wrapper(&["exec", "-t", "c1", "/bin/sh", "-c", "id"]);
    assert_eq!(bed.runc_args(), ["exec", "-t", "c1", "/.palisade/init", "--policy", "/.palisade/policy.json", "--", "/bin/sh", "-c", "id"]);
}

#[test]
fn an_exec_into_an_unconfined_container_is_untouched() {
    let bed = Bed::new("unconfined-exec");
    bed.wrapper(&["exec", "-t", "c1", "/bin/sh"]);
    assert_eq!(bed.runc_args(), ["exec", "-t", "c1", "/bin/sh"]);
}

#[test]
fn a_refused_container_never_reaches_runc() {
    let bed = Bed::new("refused");
    let daemon = bed.daemon(r#"{"reply":"refused","reason":"profile hardened is enforced and no enforcement backend works on this node; fail_closed is set"}"#.to_owned());
    let bundle = bed.dir.join("bundle");
    let out = bed.wrapper(&["run", "-b", bundle.to_str().expect("utf8"), "c1"]);
    daemon.join().expect("daemon");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the daemon refuses container c1: profile hardened is enforced"), "{stderr}");
    assert!(!bed.dir.join("args").exists(), "runc must not run");
}

#[test]
fn no_daemon_follows_the_failure_policy() {
    let bed = Bed::new("nodaemon");
    let bundle = bed.dir.join("bundle");
    let out = bed.wrapper(&["create", "-b", bundle.to_str().expect("utf8"), "c1"]);
    assert_eq!(out.status.code(), Some(7), "fail-open: runc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("container c1 cannot be confined: asking the daemon: connect ") && stderr.contains("failure_policy open"), "{stderr}");
    assert_eq!(bed.seen_spec()["process"]["args"], serde_json::json!(["sh"]));
}
