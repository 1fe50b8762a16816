//! podman containers through the hooks.d files: the real daemon, the real `palisade-hook`
//! named by the project's own `hooks/hooks.d/*.json` (pointed at this test's binary and
//! socket), Debian's podman. A container's alert carries what `podman inspect` (Falco's
//! container plugin's source) says of it: name, image, repository, tag, image id, digest and
//! labels, with `container.type` `podman`.
//!
//! Root only, and podman (`.ci/run` installs it). `PALISADE_ALLOW_SKIP_PRIVILEGED=1` turns
//! "cannot run" into a loud skip. About 3 s (podman's first run creates its storage).

mod scenario;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use palisade_testbed::palisade::{Binaries, Daemon, DaemonDir, DaemonOptions};
use palisade_testbed::process::{run, run_ok};
use palisade_testbed::{image, skip_or_fail, unique_name};
use scenario::{alerts_of, assert_one, upstream_rules};
use serde_json::Value;

const IMAGE: &str = "localhost/palisade-podtest:v1";
const RULE: &str = "Test podman container metadata";
const PODMAN_TIMEOUT: Duration = Duration::from_secs(120);

/// podman, run as the tests run it (no network: none is needed; this machine's container
/// limits refuse podman's default rlimits).
fn podman(args: &[&str]) -> Command {
    let mut c = Command::new("podman");
    c.args(args);
    c
}

/// The project's hooks.d files, their hook made this test's binary with this daemon's hook
/// configuration, in a directory of their own (`podman --hooks-dir`).
fn hooks_dir(bins: &Binaries, dir: &DaemonDir) -> PathBuf {
    let repo_hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hooks/hooks.d");
    let out = std::env::temp_dir().join(unique_name("hooks.d"));
    std::fs::create_dir_all(&out).expect("mkdir hooks.d");
    for name in ["palisade-create-runtime.json", "palisade-poststop.json"] {
        let text = std::fs::read_to_string(repo_hooks.join(name)).expect("the project's hooks.d file");
        let mut hook: Value = serde_json::from_str(&text).expect("hooks.d JSON");
        assert_eq!(hook["hook"]["path"], "/usr/local/bin/palisade-hook", "{name}");
        let stage = hook["hook"]["args"][1].as_str().expect("the stage argument").to_owned();
        hook["hook"]["path"] = bins.hook.display().to_string().into();
        hook["hook"]["args"] = serde_json::json!(["palisade-hook", "--config", dir.hook_config(), stage]);
        std::fs::write(out.join(name), hook.to_string()).expect("write hooks.d file");
    }
    out
}

/// A rule of the test's own whose output names every container field podman's engine fills
/// in Falco, and which only a `podman` container matches.
fn metadata_rule() -> PathBuf {
    let path = std::env::temp_dir().join(unique_name("podman-rule") + ".yaml");
    let yaml = format!(
        "- rule: {RULE}\n  desc: a read of /etc/shadow in a podman container\n  \
         condition: open_read and fd.name = /etc/shadow and container.type = podman\n  \
         output: >-\n    shadow read name=%container.name type=%container.type image=%container.image \
         repository=%container.image.repository tag=%container.image.tag id=%container.image.id \
         digest=%container.image.digest team=%container.label.team labels=%container.labels\n  \
         priority: WARNING\n"
    );
    std::fs::write(&path, yaml).expect("write the test rule");
    path
}

/// The test bed's busybox image (with `/etc/shadow`), loaded into podman's store as [`IMAGE`]:
/// no registry is reachable here.
fn load_image() {
    let archive = image::busybox(IMAGE).archive().expect("the busybox image archive");
    let path = std::env::temp_dir().join(unique_name("podtest-image") + ".tar");
    std::fs::write(&path, archive.as_slice()).expect("write the archive");
    let loaded = run_ok(&mut podman(&["load", "-q", "-i", &path.display().to_string()]), None, PODMAN_TIMEOUT).expect("podman load");
    let _ = std::fs::remove_file(&path);
    // "Loaded image: NAME" (an OCI archive's tag alone may be named otherwise): tag it as IMAGE.
    let name = loaded.stdout.lines().find_map(|l| l.strip_prefix("Loaded image: ")).map(str::trim).expect("podman load names the image");
    if name != IMAGE {
        run_ok(&mut podman(&["tag", name, IMAGE]), None, PODMAN_TIMEOUT).expect("podman tag");
    }
}

#[test]
fn a_podman_containers_alert_carries_its_name_image_and_labels_as_podman_inspect_says() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    if let Err(e) = image::find_program("podman") {
        skip_or_fail(&format!("{e} (apt-get install podman; .ci/run installs it)"));
        return;
    }
    let bins = Binaries::locate().expect("palisade binaries");
    let dir = DaemonDir::new().expect("daemon dir");
    let hooks = hooks_dir(&bins, &dir);
    let rule = metadata_rule();
    let mut rules = upstream_rules();
    rules.push(rule.clone());
    let options = DaemonOptions { rules, host_monitoring: false, nri_socket: None, containerd_socket: None, options: vec![] };
    let daemon = Daemon::start(&bins, &options, &dir).expect("start palisade");
    load_image();

    let name = unique_name("podtest");
    let hooks_arg = hooks.display().to_string();
    let ran = run(
        &mut podman(&[
            "--hooks-dir", &hooks_arg, "run", "--name", &name, "--label", "team=blue", "--label", "app=podtest",
            "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", IMAGE, "cat", "/etc/shadow",
        ]),
        None,
        PODMAN_TIMEOUT,
    )
    .expect("podman run");
    let inspect = run_ok(&mut podman(&["inspect", "--format", "json", &name]), None, PODMAN_TIMEOUT).map(|o| o.stdout);
    let _ = run(&mut podman(&["rm", "-f", &name]), None, PODMAN_TIMEOUT);
    let _ = std::fs::remove_dir_all(&hooks);
    let _ = std::fs::remove_file(&rule);
    assert!(ran.success(), "podman run: {ran:?}\nhook log: {}", dir.hook_log());
    assert!(ran.stdout.contains("root:"), "cat /etc/shadow printed it: {ran:?}");
    let inspect: Value = serde_json::from_str(&inspect.expect("podman inspect")).expect("inspect JSON");
    let c = &inspect[0];
    let id = c["Id"].as_str().expect("inspect Id");
    let out = daemon.stop().expect("stop palisade");
    let alerts = alerts_of(&out.alerts, id);

    // Falco's podman engine: Name, ImageName (split into repository and tag), Image (the
    // image id), ImageDigest, Config.Labels.
    let a = &assert_one(&alerts, RULE, id)["output_fields"];
    assert_eq!(a["container.name"], name, "{a}");
    assert_eq!(c["Name"], name.as_str());
    assert_eq!(a["container.type"], "podman");
    assert_eq!(a["container.image"], IMAGE);
    assert_eq!(c["ImageName"], IMAGE);
    assert_eq!(a["container.image.repository"], "localhost/palisade-podtest");
    assert_eq!(a["container.image.tag"], "v1");
    assert_eq!(a["container.image.id"], c["Image"], "{a}");
    let digest = c["ImageDigest"].as_str().expect("inspect ImageDigest");
    assert!(digest.starts_with("sha256:"), "{digest}");
    assert_eq!(a["container.image.digest"], digest);
    assert_eq!(a["container.label.team"], "blue");
    assert_eq!(c["Config"]["Labels"]["team"], "blue");
    assert_eq!(a["container.labels"], "app:podtest, team:blue", "as libsinsp joins them");

    // And Falco's own rule, unmodified, names it too.
    let upstream = &assert_one(&alerts, "Read sensitive file untrusted", id)["output_fields"];
    assert_eq!(upstream["container.name"], name, "{upstream}");
    assert_eq!(upstream["container.image.repository"], "localhost/palisade-podtest", "{upstream}");
}
