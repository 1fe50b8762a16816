//! The `palisade` RuntimeClass in enforce mode: a CRI pod whose runtime handler is `palisade`
//! (what a pod with `runtimeClassName: palisade` asks the kubelet for) is confined; a pod
//! without it is not.
//!
//! The test bed's containerd gets the handler the way a node gets it from the Helm chart's
//! init container: `deploy/image/node-installer.sh install` (as the node itself,
//! `PALISADE_HOST_ROOT=`) copies the node binaries into a scratch node directory and adds its
//! runtime handler to the test bed's config.toml, which the node's containerd validated; the
//! test then restarts containerd (the installer's systemd restart is for real nodes). The
//! installed `palisade-runc` finds the installed `palisade-hook` and `palisade-init` beside it;
//! only where the daemon's hook socket is (`PALISADE_HOOK_CONFIG`) comes from the test.
//!
//! Root only (containerd, runc, BPF, Landlock); `PALISADE_ALLOW_SKIP_PRIVILEGED=1` turns
//! "cannot run" into a loud skip.

mod scenario;

use std::time::Duration;

use palisade_testbed::palisade::{Binaries, Daemon, DaemonDir, DaemonOptions};
use palisade_testbed::node::Node;
use palisade_testbed::{image, unique_name, ContainerSpec, Containerd, CriClient, Options, PodSpec, CRI_NAMESPACE};
use scenario::{alerts_of, upstream_rules};

const IMAGE: &str = "docker.io/library/hardened:1";
const PROFILE: &str = "name: hardened\nmatch:\n  images: [\"hardened:*\"]\nmode: enforce\ndeny_shells: true\n";

/// What the probe printed for `op` (its lines are `OP: OUTCOME`).
fn outcome<'a>(stdout: &'a str, op: &str) -> &'a str {
    stdout
        .lines()
        .filter_map(|l| l.trim_end_matches('\r').rsplit_once(": "))
        .find(|(o, _)| *o == op)
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no outcome for {op}: {stdout}"))
}

#[test]
fn a_pod_of_the_palisade_runtime_class_is_confined_and_one_without_is_not() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let statics = palisade_testbed::static_binaries().expect("static palisade-init and probe");
    let bins = Binaries::locate().expect("palisade binaries");
    let dir = DaemonDir::new().expect("daemon dir");
    let node = Node::new(&bins.hook, &bins.runc_wrapper, &statics.init).expect("a scratch node");
    let profiles = tempdir_with(PROFILE);
    // Only the hook socket's location: the wrapper finds hook and init beside itself.
    let env = vec![("PALISADE_HOOK_CONFIG".to_string(), dir.hook_config().display().to_string())];
    let mut ctrd = Containerd::start(Options { env, ..Options::default() }).expect("start containerd");
    let said = node.installer("install", &ctrd.config_path()).expect("node-installer.sh install");
    let wrapper = node.wrapper();
    // The node's hook.json: a pod's creation waits for a restarting daemon (8 s), then the
    // chart's failure policy.
    let hook_json = std::fs::read_to_string(node.hook_config()).expect("the node's hook.json");
    assert_eq!(hook_json.trim(), r#"{"socket": "/run/palisade/hook.sock", "timeout_ms": 8000, "failure_policy": "open"}"#);
    assert!(
        said.contains(&format!("containerd runtime handler palisade -> {} in", wrapper.display())),
        "the installer did not add the handler: {said}"
    );
    assert!(said.contains("containerd NOT restarted"), "{said}");
    for b in ["palisade-hook", "palisade-runc", "palisade-init"] {
        assert!(node.node_dir().join("bin").join(b).is_file(), "{b} not installed: {said}");
    }
    ctrd.restart().expect("restart containerd with the handler");

    let daemon_options = DaemonOptions {
        rules: upstream_rules(),
        host_monitoring: false,
        nri_socket: None,
        containerd_socket: Some(ctrd.socket()),
        options: vec![format!("profiles_dir={}", profiles.0.display())],
    };
    let daemon = Daemon::start(&bins, &daemon_options, &dir).expect("start palisade");
    ctrd.import(&image::pause(), CRI_NAMESPACE).expect("import pause");
    let hardened = image::hardened(&statics.probe).expect("the hardened image (bash-static: tests/containers/install-deps.sh)");
    ctrd.import(&hardened, CRI_NAMESPACE).expect("import hardened");
    let cri = CriClient::connect(&ctrd.socket()).expect("CRI connect");

    // Starts a pod (runtime handler `handler`) running the image's `probe sleep 300`; returns
    // the container's id and what the probe printed for `ops` exec'd in it.
    let run = |pod_name: &str, handler: &str, ops: &[&str]| {
        let pod = PodSpec { namespace: "shop".into(), runtime_handler: handler.into(), ..PodSpec::new(&unique_name(pod_name)) };
        let pod_id = cri.run_pod(&pod).expect("run pod");
        let app = cri.create_container(&pod_id, &pod, &ContainerSpec::new("app", IMAGE, &[])).expect("create container");
        cri.start_container(&app).expect("start container");
        let mut probe = vec!["/usr/local/bin/probe"];
        probe.extend_from_slice(ops);
        let r = cri.exec_sync(&app, &probe, Duration::from_secs(30)).expect("exec the probe");
        assert_eq!(r.exit_code, 0, "{r:?}");
        let shell = cri.exec_sync(&app, &["/bin/bash", "-c", "echo pwned"], Duration::from_secs(30)).expect("exec a shell");
        (app, r.stdout, shell)
    };
    let ops = ["exec /bin/bash -c true", "exec /bin/sh -c true", "create /tmp/ok"];

    // The pod of the RuntimeClass: shells are refused by Landlock (EACCES) in the probe, and by
    // palisade-init for a shell exec'd in the container: the payload does not run.
    let (confined, got, shell) = run("confined", "palisade", &ops);
    assert_eq!((outcome(&got, "exec /bin/bash"), outcome(&got, "exec /bin/sh")), ("EACCES", "EACCES"), "{got}");
    assert_eq!(outcome(&got, "create /tmp/ok"), "ok", "{got}");
    assert_eq!(shell.exit_code, 126, "{shell:?}");
    assert!(!shell.stdout.contains("pwned"), "the shell ran: {shell:?}");
    assert!(shell.stderr.contains("palisade-init: cannot execute /bin/bash: Permission denied"), "{shell:?}");

    // The same image in a pod without the RuntimeClass (containerd's default runc) is not confined.
    let (free, got, shell) = run("free", "", &ops);
    assert_eq!((outcome(&got, "exec /bin/bash"), outcome(&got, "exec /bin/sh")), ("exit 0", "exit 0"), "{got}");
    assert_eq!((shell.exit_code, shell.stdout.trim()), (0, "pwned"), "{shell:?}");

    let listed = daemon.containers().expect("palisade containers");
    let entry = listed.iter().find(|c| c["id"] == confined.as_str()).expect("the confined container is listed");
    assert_eq!((entry["profile"].as_str(), entry["mode"].as_str()), (Some("hardened"), Some("enforce")), "{entry}");
    let out = daemon.stop().expect("stop palisade");

    // Every refused shell is a `Palisade enforcement` alert with enforced=true, the errno and
    // the backend; the free pod is not judged.
    let decisions: Vec<String> = alerts_of(&out.alerts, &confined)
        .into_iter()
        .filter(|a| a["rule"] == "Palisade enforcement")
        .inspect(|a| {
            assert_eq!((a["enforced"].as_bool(), a["output_fields"]["palisade.enforced"].as_str()), (Some(true), Some("true")), "{a}");
            assert_eq!((a["profile"].as_str(), a["mode"].as_str(), a["backend"].as_str()), (Some("hardened"), Some("enforce"), Some("landlock")), "{a}");
            assert_eq!((a["output_fields"]["palisade.action"].as_str(), a["output_fields"]["evt.res"].as_str()), (Some("exec"), Some("EACCES")), "{a}");
        })
        .map(|a| a["output_fields"]["palisade.target"].as_str().unwrap_or_default().to_owned())
        .collect();
    for target in ["/bin/bash", "/bin/sh"] {
        assert!(decisions.iter().any(|t| t == target), "no enforcement alert for {target}: {decisions:?}\n{}", out.stderr);
    }
    assert!(alerts_of(&out.alerts, &free).iter().all(|a| a["rule"] != "Palisade enforcement"), "the free pod is not judged");

    // Uninstall reverses the node: the handler's block and the binaries are gone (the pods
    // first: their runtime's binary goes).
    ctrd.remove_all_containers().expect("remove the pods");
    let said = node.installer("uninstall", &ctrd.config_path()).expect("node-installer.sh uninstall");
    let config = std::fs::read_to_string(ctrd.config_path()).expect("read config.toml");
    assert!(!config.contains("palisade-runc") && !node.node_dir().join("bin").exists(), "{said}\n{config}");
    assert!(!node.hook_config().exists(), "the installer's hook.json is removed: {said}");
}

/// A directory holding `profiles.yaml`, removed on drop.
struct Profiles(std::path::PathBuf);

fn tempdir_with(profiles: &str) -> Profiles {
    let dir = Profiles(std::env::temp_dir().join(unique_name("profiles")));
    std::fs::create_dir_all(&dir.0).expect("mkdir");
    std::fs::write(dir.0.join("profiles.yaml"), profiles).expect("profiles");
    dir
}

impl Drop for Profiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
