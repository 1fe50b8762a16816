//! Smoke tests of the test bed itself: a private containerd runs a `ctr` container from a hand-built
//! image, survives a restart, and runs a CRI pod.
//!
//! Needs root, containerd 1.7, runc, busybox-static and bash-static (`tests/containers/install-deps.sh`);
//! fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1. Each test has its own containerd.

use std::time::{Duration, Instant};

use palisade_testbed::cri::ContainerState;
use palisade_testbed::{
    image, require_privileged, unique_name, ContainerSpec, Containerd, CriClient, CtrRun, Options, PodSpec,
    CRI_NAMESPACE, CTR_NAMESPACE,
};

#[test]
fn ctr_runs_a_hand_built_image() {
    if !require_privileged() {
        return;
    }
    let ctrd = Containerd::start(Options::default()).expect("start containerd");
    ctrd.import(&image::nginx(), CTR_NAMESPACE).expect("import nginx");

    let name = unique_name("smoke");
    let out = ctrd
        .ctr_run(&CtrRun::new(
            "docker.io/library/nginx:1.25",
            &name,
            &["sh", "-c", "cat /etc/hostname /proc/self/cgroup"],
        ))
        .expect("ctr run");
    assert!(out.success(), "ctr run failed: {out:?}\n{}", ctrd.log_tail(20));
    assert!(out.stdout.contains("palisade-testbed\n"), "{out:?}");
    assert!(out.stdout.lines().any(|l| l == format!("0::/default/{name}")), "cgroup line missing: {out:?}");

    // A terminal: the process inside has a controlling tty (field 7 of /proc/self/stat is non-zero).
    let mut tty = CtrRun::new(
        "docker.io/library/nginx:1.25",
        &unique_name("smoke-tty"),
        &["sh", "-c", "cut -d' ' -f7 /proc/self/stat; tty"],
    );
    tty.tty = true;
    let out = ctrd.ctr_run(&tty).expect("ctr run -t");
    assert!(out.success(), "ctr run -t failed: {out:?}");
    let tty_nr: i64 = out.stdout.lines().next().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    assert_ne!(tty_nr, 0, "no controlling tty: {out:?}");
    assert!(!out.stdout.contains('\r'), "{out:?}");
    assert!(out.stdout.contains("/dev/pts/") || out.stdout.contains("/dev/console"), "{out:?}");
}

#[test]
fn restart_keeps_working() {
    if !require_privileged() {
        return;
    }
    let mut ctrd = Containerd::start(Options::default()).expect("start containerd");
    let img = image::busybox("docker.io/library/busybox:1.36");
    ctrd.import(&img, CTR_NAMESPACE).expect("import busybox");
    // A container running across the restart, as for an NRI reconnect test.
    let name = unique_name("survivor");
    let mut bg = CtrRun::new("docker.io/library/busybox:1.36", &name, &["sleep", "60"]);
    bg.detach = true;
    bg.rm = false;
    let out = ctrd.ctr_run(&bg).expect("ctr run -d");
    assert!(out.success(), "{out:?}");
    let pid = ctrd.ctr_task_pid(CTR_NAMESPACE, &name).expect("task pid");
    let before = ctrd.pid();

    ctrd.restart().expect("restart");
    assert_ne!(before, ctrd.pid());
    assert_eq!(ctrd.ctr_task_pid(CTR_NAMESPACE, &name).expect("task pid after restart"), pid);
    let out = ctrd.ctr_exec(CTR_NAMESPACE, &name, &["echo", "still here"], false).expect("exec");
    assert_eq!(out.stdout, "still here\n", "{out:?}");
    let out = ctrd
        .ctr_run(&CtrRun::new("docker.io/library/busybox:1.36", &unique_name("after"), &["echo", "ok"]))
        .expect("ctr run after restart");
    assert_eq!(out.stdout, "ok\n", "{out:?}");
    ctrd.ctr_rm(CTR_NAMESPACE, &name).expect("rm");
}

#[test]
fn cri_runs_a_pod() {
    if !require_privileged() {
        return;
    }
    let t0 = Instant::now();
    let ctrd = Containerd::start(Options::default()).expect("start containerd");
    ctrd.import(&image::pause(), CRI_NAMESPACE).expect("import pause");
    ctrd.import(&image::debian().expect("debian image"), CRI_NAMESPACE).expect("import debian");
    let cri = CriClient::connect(&ctrd.socket()).expect("CRI connect");
    let (name, version) = cri.version().expect("version");
    assert_eq!(name, "containerd", "{version}");

    let mut pod = PodSpec::new(&unique_name("pod"));
    pod.log_directory = Some(ctrd.dir().join("pod-logs"));
    let pod_id = cri.run_pod(&pod).unwrap_or_else(|e| panic!("run pod: {e}\n{}", ctrd.log_tail(30)));
    let spec = ContainerSpec::new("app", "docker.io/library/debian:12", &["sleep", "30"]);
    let id =
        cri.create_container(&pod_id, &pod, &spec).unwrap_or_else(|e| panic!("create: {e}\n{}", ctrd.log_tail(30)));
    cri.start_container(&id).expect("start");

    let out = cri.exec_sync(&id, &["/usr/bin/apt-get", "install", "x"], Duration::from_secs(10)).expect("exec");
    assert_eq!((out.exit_code, out.stdout.as_str()), (0, "fake apt-get install x\n"), "{out:?}");
    // `; exit 0`: with a single command bash would exec cat in its own place.
    let out =
        cri.exec_sync(&id, &["bash", "-c", "cat /proc/$$/comm; exit 0"], Duration::from_secs(10)).expect("exec bash");
    assert_eq!(out.stdout, "bash\n", "{out:?}");

    let status = cri.container_status(&id).expect("status");
    assert_eq!(status.state, ContainerState::ContainerRunning, "{status:?}");
    let pid = status.pid.expect("pid of a running container");
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).expect("comm");
    assert_eq!(comm.trim(), "sleep");
    let listed = cri.list_containers(Some(&pod_id)).expect("list");
    assert!(listed.iter().any(|c| c.id == id && c.name == "app"), "{listed:?}");

    // Errors carry the gRPC status message.
    let bad = ContainerSpec::new("bad", "docker.io/library/missing:1", &["true"]);
    let err = cri.create_container(&pod_id, &pod, &bad).expect_err("missing image");
    assert!(err.to_string().contains("CreateContainer") && err.to_string().contains("missing"), "{err}");

    cri.stop_container(&id, Duration::from_secs(1)).expect("stop");
    cri.remove_container(&id).expect("remove");
    cri.stop_pod(&pod_id).expect("stop pod");
    cri.remove_pod(&pod_id).expect("remove pod");
    eprintln!("cri_runs_a_pod: {:?}", t0.elapsed());
}

/// Removes a directory when dropped.
struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A runc wrapper that logs its arguments to `log` and execs the real runc.
fn logging_runc(path: &std::path::Path, log: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let runc = image::find_program("runc").expect("runc");
    let script = format!("#!/bin/sh\necho \"$@\" >> {}\nexec {} \"$@\"\n", log.display(), runc.display());
    std::fs::write(path, script).expect("write wrapper");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod wrapper");
}

#[test]
fn runc_wrappers_are_used() {
    if !require_privileged() {
        return;
    }
    let tmp = TempDir(std::path::PathBuf::from(format!("/tmp/{}", unique_name("palisade-testbed-wrap"))));
    std::fs::create_dir_all(tmp.0.join("bin")).expect("mkdir");
    let (path_log, cri_log) = (tmp.0.join("path.log"), tmp.0.join("cri.log"));
    logging_runc(&tmp.0.join("bin/runc"), &path_log);
    logging_runc(&tmp.0.join("cri-runc"), &cri_log);
    let options = Options {
        runc_binary: Some(tmp.0.join("cri-runc")),
        path_prepend: Some(tmp.0.join("bin")),
        ..Options::default()
    };
    let ctrd = Containerd::start(options).expect("start containerd");
    ctrd.import(&image::busybox("docker.io/library/busybox:1.36"), CTR_NAMESPACE).expect("import");
    let out = ctrd
        .ctr_run(&CtrRun::new("docker.io/library/busybox:1.36", &unique_name("wrapped"), &["true"]))
        .expect("ctr run");
    assert!(out.success(), "{out:?}");
    let calls = std::fs::read_to_string(&path_log).expect("PATH wrapper was not called");
    assert!(calls.contains(" create ") || calls.contains("create "), "{calls}");

    ctrd.import(&image::pause(), CRI_NAMESPACE).expect("import pause");
    let cri = CriClient::connect(&ctrd.socket()).expect("CRI connect");
    let pod = PodSpec::new(&unique_name("pod"));
    let pod_id = cri.run_pod(&pod).expect("run pod");
    let calls = std::fs::read_to_string(&cri_log).expect("BinaryName wrapper was not called");
    assert!(calls.contains("create"), "{calls}");
    cri.stop_pod(&pod_id).expect("stop pod");
    cri.remove_pod(&pod_id).expect("remove pod");
}
