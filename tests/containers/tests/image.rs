//! Palisade's container image (`scripts/build-image.sh`): built twice (same bytes: the build is
//! reproducible), imported into the test bed's containerd as `palisade:VERSION`, and run: the daemon
//! binary answers `--version`, validates the rules and checks the profiles the image bundles,
//! and the node binaries the chart's installer copies onto nodes are there and static.
//!
//! Needs root, containerd 1.7, runc, busybox-static, bash-static (as every container test), and
//! the build tools of `scripts/build-image.sh`; fails otherwise unless
//! PALISADE_ALLOW_SKIP_PRIVILEGED=1. The image holds the `palisade` that `cargo test` built (a
//! release build here would double CI's build time); `scripts/build-image.sh` alone builds it
//! in release.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use palisade_testbed::node::Node;
use palisade_testbed::palisade::{Binaries, DaemonDir};
use palisade_testbed::process::run_ok;
use palisade_testbed::{
    image, require_privileged, unique_name, ContainerSpec, Containerd, CriClient, CtrRun, Options, PodSpec, CRI_NAMESPACE,
    CTR_NAMESPACE,
};

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The profile of the hardened image (`image::hardened`): shells denied, enforced.
const HARDENED_PROFILE: &str = "name: hardened\nmatch:\n  images: [\"hardened:*\"]\nmode: enforce\ndeny_shells: true\n";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the image into `output` with the `palisade` of this test run.
fn build_image(output: &Path, daemon: &Path) -> String {
    let mut cmd = Command::new(workspace().join("scripts/build-image.sh"));
    cmd.arg("--debug").arg("--output").arg(output).arg("--daemon").arg(daemon);
    let out = run_ok(&mut cmd, None, Duration::from_secs(1800)).expect("scripts/build-image.sh");
    out.stdout
}

/// The image archive, built once per test process (twice, the first time: the two must match),
/// beside the `palisade` it holds (`target/<profile>/palisade-image-test.tar`, replaced by the
/// next run).
fn archive() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let bins = Binaries::locate().expect("palisade built by cargo test");
        let dir = bins.palisade.parent().map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
        let (first, second) = (dir.join("palisade-image-test.tar"), dir.join("palisade-image-test-again.tar"));
        let printed = build_image(&first, &bins.palisade);
        assert!(printed.contains(&format!("archive: {}", first.display())), "{printed}");
        build_image(&second, &bins.palisade);
        let bytes = std::fs::read(&first).expect("read the archive");
        assert!(bytes == std::fs::read(&second).expect("read the second archive"), "two builds of the same binaries differ");
        let _ = std::fs::remove_file(&second);
        first
    })
}

fn import(ctrd: &Containerd) {
    let mut import = ctrd.ctr_ns(CTR_NAMESPACE);
    import.args(["images", "import"]).arg(archive());
    run_ok(&mut import, None, Duration::from_secs(120)).expect("ctr images import");
}

#[test]
fn the_image_is_reproducible_imports_and_runs_palisade() {
    if !require_privileged() {
        return;
    }
    let ctrd = Containerd::start(Options::default()).expect("start containerd");
    import(&ctrd);
    let mut list = ctrd.ctr_ns(CTR_NAMESPACE);
    list.args(["images", "ls", "-q"]);
    let names = run_ok(&mut list, None, Duration::from_secs(30)).expect("ctr images ls").stdout;
    let image = format!("docker.io/library/palisade:{VERSION}");
    assert!(names.lines().any(|l| l == image), "{image} not imported: {names}");

    let run = |args: &[&str]| {
        let out = ctrd.ctr_run(&CtrRun::new(&image, &unique_name("palisade-image"), args)).expect("ctr run");
        assert!(out.success(), "{args:?} failed in the image: {out:?}\n{}", ctrd.log_tail(20));
        out.stdout
    };
    let version = run(&["/usr/local/bin/palisade", "--version"]);
    assert_eq!(version.lines().next(), Some(format!("palisade {VERSION}").as_str()), "{version}");

    // The bundled rules load with no error and no warning, and match the repository's.
    let validate = run(&["/usr/local/bin/palisade", "rules", "validate", "-r", "/etc/palisade/rules.d"]);
    let first_line = validate.lines().next().unwrap_or_default();
    assert!(first_line.starts_with("loaded ") && first_line.ends_with(": 0 errors, 0 warnings"), "{validate}");
    let bundled = run(&["cat", "/etc/palisade/rules.d/palisade_rules.yaml"]);
    let shipped = std::fs::read_to_string(workspace().join("rules/default/palisade_rules.yaml")).expect("read rules");
    assert!(bundled == shipped, "the image's rules differ from rules/default/palisade_rules.yaml");
    let profiles = run(&["/usr/local/bin/palisade", "profiles", "check", "/etc/palisade/profiles"]);
    assert!(profiles.contains("default"), "{profiles}");

    // The pod's configuration names what the chart mounts and the daemon reads.
    let config = run(&["cat", "/etc/palisade/palisade.yaml"]);
    for line in ["  listen_address: 0.0.0.0", "hook_socket: /run/palisade/hook.sock", "  - /etc/palisade/rules.d"] {
        assert!(config.lines().any(|l| l.split(" #").next().unwrap_or_default().trim_end() == line), "{line:?} not in the image's palisade.yaml:\n{config}");
    }

    // The node binaries and the installer the chart's init container runs (scripts/build-image.sh
    // refuses to ship a hook or wrapper that is not static: they run on nodes whatever their libc).
    let listing = run(&["ls", "/usr/local/bin", "/usr/local/lib/palisade", "/usr/bin/nsenter"]);
    for f in ["palisade-hook", "palisade-runc", "palisade-init", "node-installer.sh", "/usr/bin/nsenter"] {
        assert!(listing.lines().any(|l| l == f), "{f} missing in the image: {listing}");
    }
    let usage = run(&["sh", "-c", "/usr/local/lib/palisade/node-installer.sh 2>&1; echo status=$?"]);
    assert!(usage.contains("usage: node-installer.sh install|uninstall|wait") && usage.contains("status=2"), "{usage}");
}

/// Where the DaemonSet's daemon pins detection (`--pin-root`), on this machine as on a node.
const HOST_PIN_ROOT: &str = "/sys/fs/bpf/palisade";

/// The detection pins the DaemonSet's daemon leaves on this machine: none may be there before
/// (another daemon's: this test's daemon would adopt them), and `palisade detach` removes them
/// after, the test failed or not.
struct HostPins {
    palisade: PathBuf,
    socket: PathBuf,
}

impl HostPins {
    fn check(palisade: &Path, socket: &Path) -> HostPins {
        let pinned: Vec<String> = std::fs::read_dir(HOST_PIN_ROOT)
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with("detect-v")).collect())
            .unwrap_or_default();
        assert!(pinned.is_empty(), "{HOST_PIN_ROOT} holds another daemon's detection pins {pinned:?}: stop it and run `palisade detach`");
        HostPins { palisade: palisade.to_owned(), socket: socket.to_owned() }
    }
}

impl Drop for HostPins {
    fn drop(&mut self) {
        let out = Command::new(&self.palisade).args(["detach", "--pin-root", HOST_PIN_ROOT, "--socket"]).arg(&self.socket).output();
        match out {
            Ok(o) => println!("palisade detach: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
            Err(e) => eprintln!("palisade detach could not run: {e}"),
        }
    }
}

/// The chart's objects with the default values (`deploy/helm/test.sh --render-json`, real helm).
fn rendered_chart(file: &Path) -> Vec<serde_json::Value> {
    let mut cmd = Command::new(workspace().join("deploy/helm/test.sh"));
    cmd.arg("--render-json").arg(file);
    run_ok(&mut cmd, None, Duration::from_secs(900)).expect("deploy/helm/test.sh --render-json");
    let text = std::fs::read_to_string(file).expect("read the rendered chart");
    serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>().map(|o| o.expect("a JSON object")).collect()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// The daemon started in its image exactly as the chart's DaemonSet declares it (read from the
/// rendered manifest, not repeated here): privileged, host PID namespace, the container's
/// command (nsenter into the host's cgroup and UTS namespaces, then `palisade run` with the
/// rendered palisade.yaml), every volume mount (host paths, and the ConfigMaps' files) and both
/// probes. Three stand-ins, because this test machine is not a Kubernetes node: PID 1 here is not
/// the host's init, so `/proc/1/` in the command becomes this test's `/proc/PID/` (the host's
/// namespaces); the host's `/run/containerd` and `/var/run/nri` are the private containerd's
/// directory, and `/run/palisade` a private one, so no real containerd or daemon is touched. The
/// installer init container's script is run on this machine as the node (`node-installer.sh
/// install` on the test bed's config.toml, binaries into a scratch `/opt/palisade`; containerd
/// restarted by the test), not in the image; one enforce profile is added to the profiles
/// ConfigMap, as `profiles.extra` renders it.
///
/// The daemon becomes ready (the readiness probe's command answers in the container), live
/// (`/healthz`), detects a container started afterwards through the node's runc wrapper (with the
/// node's hostname in the alert) and a CRI pod's container through NRI (with the pod's name and
/// namespace), blocks a shell in a pod of the `palisade` RuntimeClass whose image has an enforce
/// profile (an enforced `Palisade enforcement` alert), stops cleanly on SIGTERM, and a
/// replacement daemon (a rolling update) alerts what happened while no daemon ran (a read in the
/// running pod, a pod started meanwhile: the DaemonSet's `--pin-root` keeps detection pinned),
/// re-arms the running pod at start and detects in it again.
#[test]
fn the_daemon_runs_in_its_image_as_the_daemonset_declares() {
    if !require_privileged() {
        return;
    }
    let bins = Binaries::locate().expect("palisade built by cargo test");
    let dir = DaemonDir::new().expect("daemon dir");
    let socket_dir = dir.socket().parent().map(Path::to_path_buf).unwrap_or_default();
    // Declared before containerd: dropped after it, once the daemon's container is gone.
    let _pins = HostPins::check(&bins.palisade, &dir.socket());
    let mut objects = rendered_chart(&socket_dir.join("chart.json"));
    // An enforce profile for the hardened image, where the chart's `profiles.extra` puts it.
    let profiles = objects
        .iter_mut()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"].as_str().is_some_and(|n| n.ends_with("-profiles")))
        .expect("the chart renders a profiles ConfigMap");
    profiles["data"]["hardened.yaml"] = HARDENED_PROFILE.into();
    let ds = objects.iter().find(|o| o["kind"] == "DaemonSet").expect("the chart renders a DaemonSet");
    let pod = &ds["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(pod["hostPID"], true, "{pod}");
    assert_eq!(c["securityContext"]["privileged"], true, "{c}");
    assert!(pod["hostNetwork"].is_null(), "the DaemonSet has its own network namespace: {pod}");

    // The chart's installer init container on this node: the node binaries and the `palisade`
    // runtime handler in containerd's config.toml (the node outlives containerd's pods).
    let statics = palisade_testbed::static_binaries().expect("static palisade-init and probe");
    let node = Node::new(&bins.hook, &bins.runc_wrapper, &statics.init).expect("a scratch node");
    let mut ctrd = Containerd::start(Options { env: dir.wrapper_env(&bins), ..Options::default() }).expect("start containerd");
    let said = node.installer("install", &ctrd.config_path()).expect("node-installer.sh install");
    assert!(said.contains("containerd runtime handler palisade -> "), "{said}");
    ctrd.restart().expect("restart containerd with the handler");
    import(&ctrd);
    ctrd.import(&image::busybox("docker.io/library/busybox:1.36"), CTR_NAMESPACE).expect("import busybox");
    let image = c["image"].as_str().expect("image");
    assert_eq!(image, format!("docker.io/library/palisade:{VERSION}"));

    let me = std::process::id();
    let stand_in = |host: &str| -> PathBuf {
        match host {
            "/run/containerd" | "/var/run/nri" => ctrd.dir().to_path_buf(),
            "/run/palisade" => socket_dir.clone(),
            other => PathBuf::from(other),
        }
    };
    let volumes: Vec<&serde_json::Value> = pod["volumes"].as_array().map(|v| v.iter().collect()).unwrap_or_default();
    let mut run_args: Vec<String> = vec!["--privileged".into(), "--with-ns".into(), format!("pid:/proc/{me}/ns/pid")];
    let mut mounted = Vec::new();
    for m in c["volumeMounts"].as_array().expect("volumeMounts") {
        let (vname, path) = (m["name"].as_str().unwrap_or_default(), m["mountPath"].as_str().unwrap_or_default());
        let volume = volumes.iter().find(|v| v["name"] == vname).unwrap_or_else(|| panic!("no volume {vname}"));
        let src = if let Some(host) = volume["hostPath"]["path"].as_str() {
            stand_in(host)
        } else if let Some(map) = volume["configMap"]["name"].as_str() {
            let object = objects
                .iter()
                .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == map)
                .unwrap_or_else(|| panic!("no ConfigMap {map}"));
            let files = socket_dir.join("configmaps").join(map);
            std::fs::create_dir_all(&files).expect("mkdir");
            for (file, text) in object["data"].as_object().expect("ConfigMap data") {
                std::fs::write(files.join(file), text.as_str().unwrap_or_default()).expect("write a ConfigMap file");
            }
            files
        } else {
            panic!("volume {vname} is neither a hostPath nor a ConfigMap: {volume}");
        };
        let access = if m["readOnly"] == true { "ro" } else { "rw" };
        run_args.push("--mount".into());
        run_args.push(format!("type=bind,src={},dst={path},options=rbind:{access}", src.display()));
        mounted.push(path.to_owned());
    }
    for path in ["/sys/fs/bpf", "/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/cgroup", "/run/containerd", "/var/run/nri", "/run/palisade"] {
        assert!(mounted.iter().any(|m| m == path), "the DaemonSet does not mount {path}: {mounted:?}");
    }
    let command: Vec<String> = strings(&c["command"]).iter().map(|a| a.replace("/proc/1/", &format!("/proc/{me}/"))).collect();
    assert_eq!(command.first().map(String::as_str), Some("nsenter"), "{command:?}");
    let readiness = strings(&c["readinessProbe"]["exec"]["command"]);
    let readiness: Vec<&str> = readiness.iter().map(String::as_str).collect();
    assert!(!readiness.is_empty(), "no readiness command: {c}");
    // Starts the daemon container `name` (its output in `log`) and waits until the DaemonSet's
    // readiness probe, run in the container, succeeds.
    let start = |name: &str, log: &Path| {
        let mut cmd = ctrd.ctr_ns(CTR_NAMESPACE);
        cmd.args(["run", "-d", "--log-uri"]).arg(format!("file://{}", log.display())).args(&run_args);
        cmd.arg(image).arg(name).args(&command);
        let started = Instant::now();
        run_ok(&mut cmd, None, Duration::from_secs(60)).expect("ctr run -d the daemon");
        let deadline = started + Duration::from_secs(180);
        loop {
            if ctrd.ctr_exec(CTR_NAMESPACE, name, &readiness, false).is_ok_and(|o| o.success()) {
                break;
            }
            let running = ctrd.ctr_task_pid(CTR_NAMESPACE, name).is_ok();
            let text = std::fs::read_to_string(log).unwrap_or_default();
            assert!(running && Instant::now() < deadline, "the daemon in its image never became ready:\n{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
        println!("palisade in its image: start to ready {} ms", started.elapsed().as_millis());
    };
    // Stops it as the kubelet does (SIGTERM) and removes it.
    let stop = |name: &str, log: &Path| {
        ctrd.ctr_kill(CTR_NAMESPACE, name, "SIGTERM", false).expect("SIGTERM the daemon");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !std::fs::read_to_string(log).unwrap_or_default().contains("palisade: stopped:") {
            assert!(Instant::now() < deadline, "the daemon did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(200));
        }
        ctrd.ctr_rm(CTR_NAMESPACE, name).expect("rm the daemon container");
    };
    // The first alert of `rule` in `log` whose output fields have `key` = `value`.
    let wait_alert = |log: &Path, rule: &str, key: &str, value: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let found = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|a| a["rule"] == rule && a["output_fields"][key] == value);
            if let Some(a) = found {
                return a;
            }
            assert!(Instant::now() < deadline, "no {rule:?} alert with {key}={value}:\n{text}\nhook log:\n{}", dir.hook_log());
            std::thread::sleep(Duration::from_millis(200));
        }
    };

    let name = unique_name("palisade-daemonset");
    let log = socket_dir.join("daemon.log");
    start(&name, &log);
    let daemon_log = || std::fs::read_to_string(&log).unwrap_or_default();

    // Live as the liveness probe sees it: GET its path on its port, in the pod's network.
    let probe = &c["livenessProbe"]["httpGet"];
    let port = c["ports"]
        .as_array()
        .and_then(|ports| ports.iter().find(|p| p["name"] == probe["port"]))
        .and_then(|p| p["containerPort"].as_u64())
        .expect("the liveness probe's port");
    let url = format!("http://127.0.0.1:{port}{}", probe["path"].as_str().unwrap_or_default());
    let out = ctrd.ctr_exec(CTR_NAMESPACE, &name, &["wget", "-q", "-O", "-", &url], false).expect("wget");
    assert!(out.success() && out.stdout.contains("ok"), "{url}: {out:?}");

    let mut status = Command::new(&bins.palisade);
    status.args(["status", "--json", "--socket"]).arg(dir.socket());
    let status = run_ok(&mut status, None, Duration::from_secs(10)).expect("palisade status from the node").stdout;
    assert!(status.contains("\"config\":\"/etc/palisade/config/palisade.yaml\""), "{status}");

    // A container started after, through the node's runc wrapper, is armed and detected.
    let victim = unique_name("victim");
    let mut r = CtrRun::new("docker.io/library/busybox:1.36", &victim, &["cat", "/etc/shadow"]);
    r.runc_binary = Some(bins.runc_wrapper.clone());
    let out = ctrd.ctr_run(&r).expect("ctr run");
    assert!(out.success(), "{out:?}\n{}", daemon_log());
    const SHADOW: &str = "Palisade: sensitive file read in container";
    let alert = wait_alert(&log, SHADOW, "container.name", &victim);
    assert_eq!(alert["output_fields"]["container.image.repository"], "docker.io/library/busybox", "{alert}");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    assert_eq!(alert["hostname"], host.trim(), "alerts name the node, not the pod: {alert}");

    // A CRI pod (what the kubelet starts), seen through NRI from inside the daemon's pod: the
    // alert carries the pod's name and namespace.
    ctrd.import(&image::pause(), CRI_NAMESPACE).expect("import pause");
    ctrd.import(&image::busybox("docker.io/library/busybox:1.36"), CRI_NAMESPACE).expect("import busybox for CRI");
    let cri = CriClient::connect(&ctrd.socket()).expect("CRI connect");
    let pod = PodSpec { namespace: "shop".into(), ..PodSpec::new(&unique_name("web")) };
    let pod_id = cri.run_pod(&pod).expect("run pod");
    let spec = ContainerSpec::new("app", "docker.io/library/busybox:1.36", &["sh", "-c", "cat /etc/shadow; exec sleep 300"]);
    let app = cri.create_container(&pod_id, &pod, &spec).expect("create container");
    cri.start_container(&app).expect("start container");
    let alert = wait_alert(&log, SHADOW, "k8s.pod.name", &pod.name);
    assert_eq!(alert["output_fields"]["k8s.ns.name"], "shop", "{alert}");
    assert_eq!(alert["output_fields"]["container.name"], "app", "{alert}");

    // A pod of the `palisade` RuntimeClass (runtime handler `palisade`) whose image has an
    // enforce profile: a shell exec'd in it is refused (palisade-init, EACCES) and does not
    // run; the daemon in its pod reports the refusal as enforced.
    ctrd.import(&image::hardened(&statics.probe).expect("the hardened image"), CRI_NAMESPACE).expect("import hardened");
    let confined_pod = PodSpec { namespace: "shop".into(), runtime_handler: "palisade".into(), ..PodSpec::new(&unique_name("confined")) };
    let confined_id = cri.run_pod(&confined_pod).expect("run a pod of the palisade runtime class");
    let hardened = ContainerSpec::new("hardened", "docker.io/library/hardened:1", &[]);
    let confined = cri.create_container(&confined_id, &confined_pod, &hardened).expect("create container");
    cri.start_container(&confined).expect("start container");
    let shell = cri.exec_sync(&confined, &["/bin/bash", "-c", "echo pwned"], Duration::from_secs(30)).expect("exec a shell");
    assert_eq!(shell.exit_code, 126, "{shell:?}");
    assert!(!shell.stdout.contains("pwned"), "the shell ran: {shell:?}");
    assert!(shell.stderr.contains("palisade-init: cannot execute /bin/bash: Permission denied"), "{shell:?}");
    let alert = wait_alert(&log, "Palisade enforcement", "container.id", &confined[..12]);
    assert_eq!((alert["enforced"].as_bool(), alert["profile"].as_str(), alert["mode"].as_str()), (Some(true), Some("hardened"), Some("enforce")), "{alert}");
    let f = &alert["output_fields"];
    assert_eq!((f["palisade.action"].as_str(), f["palisade.target"].as_str(), f["evt.res"].as_str()), (Some("exec"), Some("/bin/bash"), Some("EACCES")), "{alert}");
    assert_eq!((f["palisade.enforced"].as_str(), f["container.name"].as_str()), (Some("true"), Some("hardened")), "{alert}");
    cri.stop_container(&confined, Duration::from_secs(5)).expect("stop the confined container");

    // A rolling update replaces the daemon's pod. While no daemon runs, the pod reads the
    // shadow file with another program: the kernel programs, pinned, keep recording it; the
    // next daemon drains what waited and alerts it with the pod's metadata, then re-arms the
    // running pod (from containerd) and detects what happens in it afterwards.
    stop(&name, &log);
    let gap = cri.exec_sync(&app, &["head", "-c", "1", "/etc/shadow"], Duration::from_secs(30)).expect("exec while no daemon runs");
    assert_eq!(gap.exit_code, 0, "{}", gap.stderr);
    // A pod started while no daemon runs (NRI has no plugin to ask): the pod's config has host
    // monitoring on, so its first instructions are recorded too, and named once the next
    // daemon learns the pod from containerd.
    let late_pod = PodSpec { namespace: "shop".into(), ..PodSpec::new(&unique_name("late")) };
    let late_id = cri.run_pod(&late_pod).expect("run a pod while no daemon runs");
    let late_spec = ContainerSpec::new("late", "docker.io/library/busybox:1.36", &["sh", "-c", "tail -c 1 /etc/shadow; touch /tmp/done; exec sleep 300"]);
    let late = cri.create_container(&late_id, &late_pod, &late_spec).expect("create container");
    cri.start_container(&late).expect("start container");
    let done = cri.exec_sync(&late, &["sh", "-c", "while [ ! -e /tmp/done ]; do sleep 0.1; done"], Duration::from_secs(30)).expect("exec");
    assert_eq!(done.exit_code, 0, "{}", done.stderr);
    let (name, log) = (unique_name("palisade-daemonset"), socket_dir.join("daemon-2.log"));
    start(&name, &log);
    let pod_of = |a: &serde_json::Value| (a["output_fields"]["k8s.pod.name"].as_str().map(str::to_owned), a["output_fields"]["k8s.ns.name"].as_str().map(str::to_owned));
    let alert = wait_alert(&log, SHADOW, "proc.cmdline", "head -c 1 /etc/shadow");
    assert_eq!(pod_of(&alert), (Some(pod.name.clone()), Some("shop".into())), "the read while no daemon ran, alerted by the next one: {alert}");
    let alert = wait_alert(&log, SHADOW, "proc.cmdline", "tail -c 1 /etc/shadow");
    assert_eq!(pod_of(&alert), (Some(late_pod.name.clone()), Some("shop".into())), "the pod started while no daemon ran: {alert}");
    let r = cri.exec_sync(&app, &["cat", "/etc/shadow"], Duration::from_secs(30)).expect("exec");
    assert_eq!(r.exit_code, 0, "{}", r.stderr);
    let alert = wait_alert(&log, SHADOW, "k8s.pod.name", &pod.name);
    assert_eq!(alert["output_fields"]["k8s.ns.name"], "shop", "the restarted daemon knows the pod: {alert}");
    cri.stop_container(&app, Duration::from_secs(5)).expect("stop the app");
    cri.stop_container(&late, Duration::from_secs(5)).expect("stop the late pod's container");
    stop(&name, &log);
}
