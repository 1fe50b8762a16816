//! `palisade-runc` against a fake runc (a script recording its arguments and the bundle's
//! config.json as it saw them): arguments reach runc unchanged, hooks are injected on create/run
//! only, once, and a bundle that cannot be hooked follows the failure policy.

use std::os::unix::fs::PermissionsExt;
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
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > {d}/args\ncp {d}/bundle/config.json {d}/seen.json 2>/dev/null\necho runc-stdout\nexit 7\n",
                d = dir.display()
            ),
        )
        .expect("fake runc");
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Bed { dir }
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
    for args in [&["--root", "/run/r", "state", "c1"][..], &["delete", "--force", "c1"], &["--version"]] {
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
