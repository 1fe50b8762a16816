//! The seeds' attack scenarios in real containers, through both entry points:
//! `ctr run --runc-binary palisade-runc` (OCI hook) and CRI with `BinaryName = palisade-runc`
//! plus the daemon's NRI plugin. Each action must raise exactly the named upstream rule with the
//! container's identity in the alert; the same action on the host is attributed to the host.
//!
//! Root only (containerd, runc, BPF). `PALISADE_ALLOW_SKIP_PRIVILEGED=1` turns "cannot run"
//! into a loud skip.

mod scenario;

use std::time::Duration;

use palisade_testbed::palisade::{Binaries, Daemon, DaemonDir, DaemonOptions};
use palisade_testbed::{image, Containerd, ContainerSpec, CriClient, CtrRun, Options, PodSpec, CRI_NAMESPACE, CTR_NAMESPACE};
use scenario::{alerts_of, assert_one, entrypoint_rule, upstream_rules, ACTIONS};

/// Starts containerd (its runc wrapper reports to the daemon) and the daemon (host
/// monitoring on; registered with containerd's NRI socket when `with_nri`).
fn bed(with_nri: bool, extra_rules: &[std::path::PathBuf]) -> Option<(Binaries, DaemonDir, Containerd, Daemon, DaemonOptions)> {
    if !palisade_testbed::require_privileged() {
        return None;
    }
    let bins = Binaries::locate().expect("palisade binaries");
    let mut rules = upstream_rules();
    rules.extend_from_slice(extra_rules);
    let dir = DaemonDir::new().expect("daemon dir");
    let containerd = Containerd::start(Options {
        runc_binary: Some(bins.runc_wrapper.clone()),
        env: dir.wrapper_env(&bins),
        ..Default::default()
    })
    .expect("start containerd");
    let options = DaemonOptions {
        rules,
        host_monitoring: true,
        nri_socket: with_nri.then(|| containerd.nri_socket()),
        containerd_socket: Some(containerd.socket()),
        options: Vec::new(),
    };
    let daemon = Daemon::start(&bins, &options, &dir).expect("start palisade");
    Some((bins, dir, containerd, daemon, options))
}

#[test]
fn ctr_containers_through_the_runc_wrapper() {
    let entry_rule = entrypoint_rule();
    let Some((bins, dir, containerd, daemon, _)) = bed(false, std::slice::from_ref(&entry_rule.path)) else { return };
    containerd.import(&image::debian().expect("debian image"), CTR_NAMESPACE).expect("import debian");
    containerd.import(&image::nginx(), CTR_NAMESPACE).expect("import nginx");

    // The tracked container: a long-running debian; every action is a `ctr exec` in it.
    let web = palisade_testbed::unique_name("web");
    let mut run = CtrRun::new("docker.io/library/debian:12", &web, &["sleep", "300"]);
    run.runc_binary = Some(bins.runc_wrapper.clone());
    run.detach = true;
    run.rm = false;
    let out = containerd.ctr_run(&run).expect("ctr run web");
    assert!(out.success(), "ctr run web: {}", out.stderr);
    for action in ACTIONS {
        let out = containerd.ctr_exec(CTR_NAMESPACE, &web, action.args, false).expect("ctr exec");
        assert!(out.success() || action.may_fail, "{}: {}", action.rule, out.stderr);
    }
    // A shell on a terminal as a container's entrypoint.
    let shell = palisade_testbed::unique_name("shell");
    let mut tty = CtrRun::new("docker.io/library/debian:12", &shell, &["bash", "-c", "true; exit 0"]);
    tty.runc_binary = Some(bins.runc_wrapper.clone());
    tty.tty = true;
    let out = containerd.ctr_run(&tty).expect("ctr run -t");
    assert!(out.success(), "ctr run -t: {}", out.stdout);
    // A second container, of another image, reading the same secret.
    let other = palisade_testbed::unique_name("other");
    let mut second = CtrRun::new("docker.io/library/nginx:1.25", &other, &["cat", "/etc/shadow"]);
    second.runc_binary = Some(bins.runc_wrapper.clone());
    assert!(containerd.ctr_run(&second).expect("ctr run other").success());
    // A privileged container: its init (vpid 1) has every capability.
    let privileged = palisade_testbed::unique_name("priv");
    let mut run_privileged = CtrRun::new("docker.io/library/nginx:1.25", &privileged, &["true"]);
    run_privileged.runc_binary = Some(bins.runc_wrapper.clone());
    run_privileged.privileged = true;
    assert!(containerd.ctr_run(&run_privileged).expect("ctr run --privileged").success());
    // busybox runs applets through /proc/self/exe (the kernel names them `exe`): named by argv[0].
    // (Its no-exec applets, `find` among them, run in a fork of the shell with no exec at all:
    // neither Falco nor Palisade sees a process start for them.)
    let applets = palisade_testbed::unique_name("applets");
    let mut busybox = CtrRun::new(
        "docker.io/library/nginx:1.25",
        &applets,
        &["sh", "-c", "nc -e /bin/sh 127.0.0.1 1; true"],
    );
    busybox.runc_binary = Some(bins.runc_wrapper.clone());
    assert!(containerd.ctr_run(&busybox).expect("ctr run applets").success());
    // The same secret read on the host.
    assert!(std::process::Command::new("cat").arg("/etc/shadow").output().expect("cat").status.success());

    let listed = daemon.containers().expect("palisade containers");
    let entry = listed.iter().find(|c| c["id"] == web.as_str()).expect("web is listed");
    assert_eq!((entry["sources"].as_str(), entry["armed"].as_bool()), (Some("hook"), Some(true)), "{entry}");
    assert_eq!(entry["image"], "docker.io/library/debian:12", "from containerd's API: {entry}");

    containerd.ctr_rm(CTR_NAMESPACE, &web).expect("rm web");
    std::thread::sleep(Duration::from_millis(200));
    let hook_log = dir.hook_log();
    let out = daemon.stop().expect("stop palisade");
    assert!(out.stderr.contains("drops=0"), "no record lost:\n{}", out.stderr);
    assert!(hook_log.contains(&format!("{web}: armed, mode audit")), "{hook_log}");

    let web_alerts = alerts_of(&out.alerts, &web);
    for action in ACTIONS {
        let a = assert_one(&web_alerts, action.rule, &web);
        action.check(a);
        assert_eq!(a["output_fields"]["container.name"], web.as_str());
        assert_eq!(a["output_fields"]["container.image.repository"], "docker.io/library/debian");
        assert_eq!(a["output_fields"]["container.image.tag"], "12");
    }
    let dropped = assert_one(&web_alerts, "Drop and execute new binary in container", &web);
    assert_eq!(dropped["output_fields"]["evt.arg.flags"], "EXE_UPPER_LAYER");
    let ctime: u64 = dropped["output_fields"]["proc.exe_ino.ctime"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
    let started: u64 = dropped["output_fields"]["container.start_ts"].as_str().and_then(|t| t.parse().ok()).unwrap_or(u64::MAX);
    assert!(ctime > started, "the dropped binary changed after the container started: {dropped}");
    let a = assert_one(&alerts_of(&out.alerts, &shell), "Terminal shell in container", &shell);
    assert_eq!(a["output_fields"]["proc.name"], "bash");
    let a = assert_one(&alerts_of(&out.alerts, &other), "Read sensitive file untrusted", &other);
    assert_eq!(a["output_fields"]["fd.name"], "/etc/shadow");
    let applet_alerts = alerts_of(&out.alerts, &applets);
    let a = assert_one(&applet_alerts, "Netcat Remote Code Execution in Container", &applets);
    assert_eq!(a["output_fields"]["proc.cmdline"], "nc -e /bin/sh 127.0.0.1 1");
    assert_eq!(a["output_fields"]["proc.exepath"], "/proc/self/exe");
    let priv_alerts = alerts_of(&out.alerts, &privileged);
    let a = assert_one(&priv_alerts, "Launch Privileged Container", &privileged);
    assert_eq!(a["output_fields"]["proc.name"], "true");
    let a = assert_one(&priv_alerts, "Launch Excessively Capable Container", &privileged);
    let caps = a["output_fields"]["thread.cap_permitted"].as_str().unwrap_or_default();
    assert!(caps.contains("CAP_SYS_ADMIN") && caps.contains("CAP_BPF"), "{caps}");
    for unprivileged in [&web, &other] {
        let alerts = alerts_of(&out.alerts, unprivileged);
        assert!(
            !alerts.iter().any(|a| a["rule"] == "Launch Privileged Container" || a["rule"] == "Launch Excessively Capable Container"),
            "{unprivileged} has containerd's default capabilities only"
        );
    }
    // The entrypoint's exec, the container's very first event, already knows the container.
    let first = assert_one(&alerts_of(&out.alerts, &other), &entry_rule.name, &other);
    assert_eq!(first["output_fields"]["proc.cmdline"], "cat /etc/shadow");
    assert_eq!(first["output_fields"]["container.image.repository"], "docker.io/library/nginx");
    // On the host: the generic rule fires, attributed to the host; no container rule does.
    let host = alerts_of(&out.alerts, "host");
    assert!(
        host.iter().any(|a| a["rule"] == "Read sensitive file untrusted" && a["output_fields"]["proc.cmdline"] == "cat /etc/shadow"),
        "the host's cat /etc/shadow alerts as host"
    );
    for rule in ["Terminal shell in container", "Launch Package Management Process in Container", "Drop and execute new binary in container"] {
        assert!(!host.iter().any(|a| a["rule"] == rule), "{rule} fired for the host");
    }
}

#[test]
fn cri_containers_through_nri_and_the_hook() {
    let Some((_bins, _dir, containerd, daemon, _)) = bed(true, &[]) else { return };
    containerd.import(&image::pause(), CRI_NAMESPACE).expect("import pause");
    containerd.import(&image::debian().expect("debian image"), CRI_NAMESPACE).expect("import debian");
    let cri = CriClient::connect(&containerd.socket()).expect("CRI connect");
    let pod = PodSpec {
        namespace: "shop".into(),
        labels: [("app".to_string(), "web".to_string())].into(),
        ..PodSpec::new(&palisade_testbed::unique_name("web"))
    };
    let pod_id = cri.run_pod(&pod).expect("run pod");
    let spec = ContainerSpec::new("app", "docker.io/library/debian:12", &["sleep", "300"]);
    let id = cri.create_container(&pod_id, &pod, &spec).expect("create container");
    cri.start_container(&id).expect("start container");
    for action in ACTIONS {
        let r = cri.exec_sync(&id, action.args, Duration::from_secs(30)).expect("exec");
        assert!(r.exit_code == 0 || action.may_fail, "{}: {}", action.rule, r.stderr);
    }
    let shell_spec = ContainerSpec { tty: true, ..ContainerSpec::new("shell", "docker.io/library/debian:12", &["bash", "-c", "true; exit 0"]) };
    let shell_id = cri.create_container(&pod_id, &pod, &shell_spec).expect("create shell");
    cri.start_container(&shell_id).expect("start shell");
    std::thread::sleep(Duration::from_millis(500));

    let listed = daemon.containers().expect("palisade containers");
    let entry = listed.iter().find(|c| c["id"] == id.as_str()).expect("the app container is listed");
    assert_eq!(entry["sources"], "nri+hook", "NRI and the hook both reported it, one entry: {entry}");
    assert_eq!(entry["image"], "docker.io/library/debian:12");
    assert_eq!(listed.iter().filter(|c| c["id"] == id.as_str()).count(), 1);

    cri.stop_container(&id, Duration::from_secs(5)).expect("stop");
    let out = daemon.stop().expect("stop palisade");
    assert!(out.stderr.contains("drops=0"), "no record lost:\n{}", out.stderr);
    let short = &id[..12];
    let app_alerts = alerts_of(&out.alerts, &id);
    for action in ACTIONS {
        let a = assert_one(&app_alerts, action.rule, short);
        action.check(a);
        assert_eq!(a["output_fields"]["container.name"], "app");
        assert_eq!(a["output_fields"]["k8s.ns.name"], "shop");
        assert_eq!(a["output_fields"]["k8s.pod.name"], pod.name.as_str());
        assert_eq!(a["output_fields"]["container.image.repository"], "docker.io/library/debian");
    }
    let a = assert_one(&alerts_of(&out.alerts, &shell_id), "Terminal shell in container", &shell_id);
    assert_eq!(a["output_fields"]["proc.name"], "bash");
}

/// A container created while the daemon restarts (the bed's hook: failure policy closed,
/// 5 s): its hook finds the crashed daemon's stale socket, waits for the next daemon instead of
/// refusing the container, and is armed by it; what the container does is alerted with its
/// name. Before, the hook gave up on the first refused connection: the container was refused
/// (or, with failure policy open, ran unarmed).
#[test]
fn a_container_created_while_the_daemon_restarts_is_armed_by_the_next_one() {
    let Some((bins, dir, containerd, daemon, options)) = bed(false, &[]) else { return };
    containerd.import(&image::debian().expect("debian image"), CTR_NAMESPACE).expect("import debian");
    daemon.kill();
    let name = palisade_testbed::unique_name("between");
    let mut run = CtrRun::new("docker.io/library/debian:12", &name, &["cat", "/etc/shadow"]);
    run.runc_binary = Some(bins.runc_wrapper.clone());
    let (created, daemon) = std::thread::scope(|s| {
        let created = s.spawn(|| containerd.ctr_run(&run).expect("ctr run"));
        // The hook starts waiting on the stale socket before the next daemon binds it.
        std::thread::sleep(Duration::from_millis(300));
        let daemon = Daemon::start(&bins, &options, &dir).expect("restart palisade");
        (created.join().expect("ctr run thread"), daemon)
    });
    assert!(created.success(), "the container waited for the next daemon: {created:?}\nhook log:\n{}", dir.hook_log());
    assert!(dir.hook_log().contains(&format!("{name}: armed")), "armed by the next daemon:\n{}", dir.hook_log());
    let out = daemon.stop().expect("stop palisade");
    let a = assert_one(&alerts_of(&out.alerts, &name), "Read sensitive file untrusted", &name);
    assert_eq!(a["output_fields"]["container.name"], name.as_str());
}

#[test]
fn a_restarted_daemon_recovers_running_containers() {
    let Some((bins, dir, containerd, daemon, options)) = bed(true, &[]) else { return };
    containerd.import(&image::debian().expect("debian image"), CTR_NAMESPACE).expect("import debian");
    containerd.import(&image::pause(), CRI_NAMESPACE).expect("import pause");
    containerd.import(&image::debian().expect("debian image"), CRI_NAMESPACE).expect("import debian");
    let keep = palisade_testbed::unique_name("keep");
    let mut run = CtrRun::new("docker.io/library/debian:12", &keep, &["sleep", "300"]);
    run.runc_binary = Some(bins.runc_wrapper.clone());
    run.detach = true;
    run.rm = false;
    assert!(containerd.ctr_run(&run).expect("ctr run").success());
    let cri = CriClient::connect(&containerd.socket()).expect("CRI connect");
    let pod = PodSpec { namespace: "shop".into(), ..PodSpec::new(&palisade_testbed::unique_name("pod")) };
    let pod_id = cri.run_pod(&pod).expect("run pod");
    let app = cri
        .create_container(&pod_id, &pod, &ContainerSpec::new("app", "docker.io/library/debian:12", &["sleep", "300"]))
        .expect("create");
    cri.start_container(&app).expect("start");

    // A crash: no clean shutdown. Its kernel programs go with it, and (as if it were a daemon
    // from before the state file) its state file: containerd's API alone recovers them.
    daemon.kill();
    let state = dir.socket().with_extension("containers.json");
    std::fs::remove_file(&state).unwrap_or_else(|e| panic!("the daemon's state file {}: {e}", state.display()));
    let daemon = Daemon::start(&bins, &options, &dir).expect("restart palisade");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let listed = daemon.containers().expect("palisade containers");
        let armed = |id: &str| listed.iter().any(|c| c["id"] == id && c["armed"] == true);
        if (armed(&keep) && armed(&app)) || std::time::Instant::now() > deadline {
            break listed;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let entry = |id: &str| listed.iter().find(|c| c["id"] == id).cloned().unwrap_or_else(|| panic!("{id} not recovered: {listed:?}"));
    assert_eq!(entry(&keep)["sources"], "containerd", "recovered from containerd's API");
    assert_eq!(entry(&keep)["image"], "docker.io/library/debian:12");
    assert!(entry(&app)["sources"].as_str().is_some_and(|s| s.contains("nri")), "NRI Synchronize: {}", entry(&app));

    assert!(containerd.ctr_exec(CTR_NAMESPACE, &keep, &["cat", "/etc/shadow"], false).expect("exec").success());
    assert_eq!(cri.exec_sync(&app, &["cat", "/etc/shadow"], Duration::from_secs(30)).expect("exec").exit_code, 0);
    containerd.ctr_rm(CTR_NAMESPACE, &keep).expect("rm");
    let out = daemon.stop().expect("stop palisade");
    let a = assert_one(&alerts_of(&out.alerts, &keep), "Read sensitive file untrusted", &keep);
    assert_eq!(a["output_fields"]["container.name"], keep.as_str());
    assert_eq!(a["output_fields"]["container.image.repository"], "docker.io/library/debian");
    let a = assert_one(&alerts_of(&out.alerts, &app), "Read sensitive file untrusted", &app);
    assert_eq!(a["output_fields"]["container.name"], "app");
    assert_eq!(a["output_fields"]["k8s.pod.name"], pod.name.as_str());
    assert_eq!(a["output_fields"]["k8s.ns.name"], "shop");
}

/// `palisade-runc` installed as `runc` first in containerd's PATH: plain `ctr run` (no
/// `--runc-binary`) goes through it, and the wrapper finds the real runc further down PATH.
#[test]
fn ctr_with_the_wrapper_as_runc_in_containerds_path() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let bins = Binaries::locate().expect("palisade binaries");
    let dir = DaemonDir::new().expect("daemon dir");
    let path_dir = std::env::temp_dir().join(palisade_testbed::unique_name("runc-path"));
    std::fs::create_dir_all(&path_dir).expect("mkdir");
    std::os::unix::fs::symlink(&bins.runc_wrapper, path_dir.join("runc")).expect("symlink runc");
    let containerd = Containerd::start(Options {
        path_prepend: Some(path_dir.clone()),
        env: dir.wrapper_env(&bins),
        ..Default::default()
    })
    .expect("start containerd");
    let options = DaemonOptions {
        rules: upstream_rules(),
        host_monitoring: false,
        nri_socket: None,
        containerd_socket: Some(containerd.socket()),
        options: Vec::new(),
    };
    let daemon = Daemon::start(&bins, &options, &dir).expect("start palisade");
    containerd.import(&image::nginx(), CTR_NAMESPACE).expect("import nginx");
    let name = palisade_testbed::unique_name("viapath");
    let out = containerd.ctr_run(&CtrRun::new("docker.io/library/nginx:1.25", &name, &["cat", "/etc/shadow"])).expect("ctr run");
    assert!(out.success(), "ctr run: {}", out.stderr);
    // The host's own read is not watched with host monitoring off.
    assert!(std::process::Command::new("cat").arg("/etc/shadow").output().expect("cat").status.success());
    let out = daemon.stop().expect("stop palisade");
    let _ = std::fs::remove_dir_all(&path_dir);
    let a = assert_one(&alerts_of(&out.alerts, &name), "Read sensitive file untrusted", &name);
    assert_eq!(a["output_fields"]["container.image.repository"], "docker.io/library/nginx");
    assert!(alerts_of(&out.alerts, "host").is_empty(), "host monitoring is off: {:?}", alerts_of(&out.alerts, "host"));
}

/// CRI without the wrapper: NRI alone registers the container and arms it at StartContainer,
/// which containerd delivers before it starts the task, so the entrypoint is already watched.
#[test]
fn cri_container_armed_by_nri_alone_is_watched_from_its_entrypoint() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let bins = Binaries::locate().expect("palisade binaries");
    let dir = DaemonDir::new().expect("daemon dir");
    let containerd = Containerd::start(Options::default()).expect("start containerd");
    let options = DaemonOptions {
        rules: upstream_rules(),
        host_monitoring: false,
        nri_socket: Some(containerd.nri_socket()),
        containerd_socket: Some(containerd.socket()),
        options: Vec::new(),
    };
    let daemon = Daemon::start(&bins, &options, &dir).expect("start palisade");
    containerd.import(&image::pause(), CRI_NAMESPACE).expect("import pause");
    containerd.import(&image::debian().expect("debian image"), CRI_NAMESPACE).expect("import debian");
    let cri = CriClient::connect(&containerd.socket()).expect("CRI connect");
    let pod = PodSpec { namespace: "batch".into(), ..PodSpec::new(&palisade_testbed::unique_name("job")) };
    let pod_id = cri.run_pod(&pod).expect("run pod");
    let spec = ContainerSpec::new("reader", "docker.io/library/debian:12", &["cat", "/etc/shadow"]);
    // NRI registers with containerd asynchronously after the daemon starts.
    assert!(daemon.wait_for_stderr("NRI: synchronize", Duration::from_secs(10)), "the NRI plugin did not register");
    let id = cri.create_container(&pod_id, &pod, &spec).expect("create");
    cri.start_container(&id).expect("start");
    std::thread::sleep(Duration::from_millis(300));
    let listed = daemon.containers().expect("palisade containers");
    let entry = listed.iter().find(|c| c["id"] == id.as_str()).expect("listed");
    assert_eq!(entry["sources"], "nri", "{entry}");
    let out = daemon.stop().expect("stop palisade");
    let a = assert_one(&alerts_of(&out.alerts, &id), "Read sensitive file untrusted", &id);
    assert_eq!(a["output_fields"]["k8s.ns.name"], "batch");
    assert_eq!(a["output_fields"]["container.name"], "reader");
}

/// Palisade's own default rules (rules/default), alone: each seed action in a container raises
/// its `Palisade:` rule with the container's identity.
#[test]
fn palisade_default_rules_alone() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let bins = Binaries::locate().expect("palisade binaries");
    let dir = DaemonDir::new().expect("daemon dir");
    let containerd = Containerd::start(Options { env: dir.wrapper_env(&bins), ..Default::default() }).expect("start containerd");
    let default_rules = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../rules/default/palisade_rules.yaml");
    let options = DaemonOptions {
        rules: vec![default_rules],
        host_monitoring: true,
        nri_socket: None,
        containerd_socket: Some(containerd.socket()),
        options: Vec::new(),
    };
    let daemon = Daemon::start(&bins, &options, &dir).expect("start palisade");
    containerd.import(&image::debian().expect("debian image"), CTR_NAMESPACE).expect("import debian");
    let name = palisade_testbed::unique_name("dflt");
    let mut run = CtrRun::new("docker.io/library/debian:12", &name, &["sleep", "300"]);
    run.runc_binary = Some(bins.runc_wrapper.clone());
    run.detach = true;
    run.rm = false;
    assert!(containerd.ctr_run(&run).expect("ctr run").success());
    let actions: [(&[&str], &str); 6] = [
        (&["sh", "-c", "true; exit 0"], "Palisade: shell in container"),
        (&["apt-get", "install", "curl"], "Palisade: package manager in container"),
        (&["cat", "/etc/shadow"], "Palisade: sensitive file read in container"),
        (&["touch", "/usr/bin/palisade-dropped"], "Palisade: write below system directory in container"),
        (&["cp", "/dev/null", "/var/log/app.log"], "Palisade: log cleared in container"),
        (&["/bin/cp", "/bin/busybox", "/root/true"], ""),
    ];
    for (args, _) in &actions {
        assert!(containerd.ctr_exec(CTR_NAMESPACE, &name, args, false).expect("exec").success(), "{args:?}");
    }
    assert!(containerd.ctr_exec(CTR_NAMESPACE, &name, &["/root/true"], false).expect("exec").success());
    // The host is watched too, but these rules are about containers.
    assert!(std::process::Command::new("cat").arg("/etc/shadow").output().expect("cat").status.success());
    containerd.ctr_rm(CTR_NAMESPACE, &name).expect("rm");
    let out = daemon.stop().expect("stop palisade");
    let mine = alerts_of(&out.alerts, &name);
    for (_, rule) in actions.iter().filter(|(_, r)| !r.is_empty()) {
        let a = assert_one(&mine, rule, &name);
        assert_eq!(a["output_fields"]["container.image.repository"], "docker.io/library/debian");
    }
    let a = assert_one(&mine, "Palisade: drifted binary executed in container", &name);
    assert_eq!(a["output_fields"]["proc.exepath"], "/root/true");
    assert!(alerts_of(&out.alerts, "host").is_empty(), "no Palisade rule is about the host");
}

/// A per-image profile in audit mode: what it would deny (package manager, a denied binary,
/// writes outside the allowed paths) is reported as `Palisade enforcement` with
/// `enforced: false` and the profile, and nothing is blocked; allowed actions raise nothing.
#[test]
fn audit_profile_reports_what_it_would_deny() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let bins = Binaries::locate().expect("palisade binaries");
    let dir = DaemonDir::new().expect("daemon dir");
    let profiles = std::env::temp_dir().join(palisade_testbed::unique_name("profiles"));
    std::fs::create_dir_all(&profiles).expect("mkdir");
    std::fs::write(
        profiles.join("debian.yaml"),
        "name: debian-test\nmatch:\n  images: [\"debian:*\"]\nmode: audit\n\
         immutable:\n  enabled: true\n  allow_write: [/tmp]\n\
         deny_package_managers: true\nexec:\n  deny: [/bin/bash]\n",
    )
    .expect("profile");
    let containerd = Containerd::start(Options { env: dir.wrapper_env(&bins), ..Default::default() }).expect("start containerd");
    let options = DaemonOptions {
        rules: upstream_rules(),
        host_monitoring: false,
        nri_socket: None,
        containerd_socket: Some(containerd.socket()),
        options: vec![format!("profiles_dir={}", profiles.display())],
    };
    let daemon = Daemon::start(&bins, &options, &dir).expect("start palisade");
    containerd.import(&image::debian().expect("debian image"), CTR_NAMESPACE).expect("import debian");
    let name = palisade_testbed::unique_name("audit");
    let mut run = CtrRun::new("docker.io/library/debian:12", &name, &["sleep", "300"]);
    run.runc_binary = Some(bins.runc_wrapper.clone());
    run.detach = true;
    run.rm = false;
    assert!(containerd.ctr_run(&run).expect("ctr run").success());
    for args in [&["apt-get", "install", "curl"][..], &["touch", "/etc/palisade-audit"], &["touch", "/tmp/allowed"], &["bash", "-c", "exit 0"]] {
        // Audit mode: everything still succeeds.
        assert!(containerd.ctr_exec(CTR_NAMESPACE, &name, args, false).expect("exec").success(), "{args:?}");
    }
    let listed = daemon.containers().expect("palisade containers");
    let entry = listed.iter().find(|c| c["id"] == name.as_str()).expect("listed");
    assert_eq!((entry["profile"].as_str(), entry["mode"].as_str()), (Some("debian-test"), Some("audit")), "{entry}");
    containerd.ctr_rm(CTR_NAMESPACE, &name).expect("rm");
    let out = daemon.stop().expect("stop palisade");
    let _ = std::fs::remove_dir_all(&profiles);
    let decisions: Vec<(String, String)> = alerts_of(&out.alerts, &name)
        .into_iter()
        .filter(|a| a["rule"] == "Palisade enforcement")
        .inspect(|a| {
            assert_eq!(a["enforced"], false, "{a}");
            assert_eq!(a["profile"], "debian-test", "{a}");
        })
        .map(|a| {
            let f = &a["output_fields"];
            (f["palisade.action"].as_str().unwrap_or_default().to_owned(), f["palisade.target"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    assert!(decisions.contains(&("exec".into(), "/usr/bin/apt-get".into())), "{decisions:?}");
    assert!(decisions.contains(&("exec".into(), "/bin/bash".into())), "{decisions:?}");
    assert!(decisions.contains(&("write".into(), "/etc/palisade-audit".into())), "{decisions:?}");
    assert!(!decisions.iter().any(|(_, t)| t == "/tmp/allowed"), "an allowed write is no decision: {decisions:?}");
}
