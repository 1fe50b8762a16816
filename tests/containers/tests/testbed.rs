//! Smoke tests of the test bed itself: a private containerd runs a `ctr` container from a hand-built
//! image, survives a restart, and runs a CRI pod.
//!
//! Needs root, containerd 1.7, runc, busybox-static and bash-static (`tests/containers/install-deps.sh`);
//! fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1. Each test has its own containerd.

use palisade_testbed::{image, require_privileged, unique_name, Containerd, CtrRun, Options, CTR_NAMESPACE};

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
