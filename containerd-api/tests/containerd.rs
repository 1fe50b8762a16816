//! Against a private containerd 1.7 (root; see `tests/containers/install-deps.sh`): records of `ctr`
//! containers, running tasks in several namespaces, a container without a task, a containerd restart.

use std::time::Duration;

use palisade_containerd::{Client, Code, ContainerRecord, ContainerdError};
use palisade_testbed::process::run_ok;
use palisade_testbed::{
    image, require_privileged, unique_name, Containerd, CtrRun, Options, CTR_NAMESPACE,
};

const NGINX: &str = "docker.io/library/nginx:1.25";
const OTHER_NAMESPACE: &str = "palisade-ctrd-test";
const TIMEOUT: Duration = Duration::from_secs(5);
const CTR_TIMEOUT: Duration = Duration::from_secs(60);

fn start_containerd() -> Containerd {
    let ctrd = Containerd::start(Options::default()).expect("start private containerd");
    ctrd.import(&image::nginx(), CTR_NAMESPACE)
        .expect("import nginx into default");
    ctrd.import(&image::nginx(), OTHER_NAMESPACE)
        .expect("import nginx into the other namespace");
    ctrd
}

fn assert_nginx_record(rec: &ContainerRecord, namespace: &str, id: &str) {
    assert_eq!(rec.namespace, namespace);
    assert_eq!(rec.id, id);
    assert_eq!(rec.image, NGINX);
    assert_eq!(rec.runtime, "io.containerd.runc.v2");
    assert_eq!(rec.spec.args, ["nginx", "-g", "daemon off;"]);
    assert_eq!(rec.spec.cgroups_path, format!("/{namespace}/{id}"));
    assert_eq!(rec.spec.rootfs, "rootfs");
    let proc_mount = rec
        .spec
        .mounts
        .iter()
        .find(|m| m.destination == "/proc")
        .expect("a /proc mount");
    assert_eq!(proc_mount.kind, "proc");
    assert!(
        proc_mount.options.iter().any(|o| o == "nosuid"),
        "{proc_mount:?}"
    );
}

#[test]
fn records_and_running_containers_of_a_real_containerd() {
    if !require_privileged() {
        return;
    }
    let mut ctrd = start_containerd();

    // A detached container in `default`.
    let web = unique_name("ctrd-web");
    let run = CtrRun {
        detach: true,
        rm: false,
        ..CtrRun::new(NGINX, &web, &[])
    };
    let out = ctrd.ctr_run(&run).expect("ctr run");
    assert!(
        out.success(),
        "ctr run -d {web}: {}\n{}",
        out.stderr,
        ctrd.log_tail(20)
    );
    // A privileged one in another namespace (`ctr run --privileged` is not in CtrRun).
    let admin = unique_name("ctrd-admin");
    run_ok(
        ctrd.ctr_ns(OTHER_NAMESPACE)
            .args(["run", "-d", "--privileged", NGINX, &admin]),
        None,
        CTR_TIMEOUT,
    )
    .expect("ctr run --privileged");
    // A container with no task.
    let idle = unique_name("ctrd-idle");
    run_ok(
        ctrd.ctr_ns(CTR_NAMESPACE)
            .args(["containers", "create", NGINX, &idle]),
        None,
        CTR_TIMEOUT,
    )
    .expect("ctr containers create");

    let client = Client::connect(&ctrd.socket(), TIMEOUT).expect("connect");

    let rec = client
        .container(CTR_NAMESPACE, &web)
        .expect("get web")
        .expect("containerd knows web");
    assert_nginx_record(&rec, CTR_NAMESPACE, &web);
    assert!(
        !rec.spec.privileged,
        "ctr's default bounding set has no CAP_SYS_ADMIN"
    );

    let rec_admin = client
        .container(OTHER_NAMESPACE, &admin)
        .expect("get admin")
        .expect("known");
    assert_nginx_record(&rec_admin, OTHER_NAMESPACE, &admin);
    assert!(
        rec_admin.spec.privileged,
        "--privileged keeps CAP_SYS_ADMIN"
    );

    assert_eq!(
        client.container(CTR_NAMESPACE, "nope").expect("get nope"),
        None
    );
    assert_eq!(
        client
            .container("no-such-namespace", &web)
            .expect("get in unknown namespace"),
        None
    );
    // Records exist in their own namespace only.
    assert_eq!(
        client
            .container(OTHER_NAMESPACE, &web)
            .expect("get web elsewhere"),
        None
    );
    let idle_rec = client
        .container(CTR_NAMESPACE, &idle)
        .expect("get idle")
        .expect("idle has a record");
    assert_eq!(idle_rec.image, NGINX);

    let check_running = |client: &Client, ctrd: &Containerd| {
        let running = client.running().expect("running");
        let find = |ns: &str, id: &str| {
            running
                .iter()
                .find(|r| r.record.namespace == ns && r.record.id == id)
        };
        let w = find(CTR_NAMESPACE, &web).unwrap_or_else(|| panic!("{web} not in {running:#?}"));
        assert_eq!(w.record, rec);
        assert_eq!(w.status, "RUNNING");
        assert_ne!(w.pid, 0);
        assert_eq!(
            w.pid,
            ctrd.ctr_task_pid(CTR_NAMESPACE, &web).expect("ctr task ls")
        );
        let a =
            find(OTHER_NAMESPACE, &admin).unwrap_or_else(|| panic!("{admin} not in {running:#?}"));
        assert_eq!(a.record, rec_admin);
        assert_eq!(
            a.pid,
            ctrd.ctr_task_pid(OTHER_NAMESPACE, &admin)
                .expect("ctr task ls")
        );
        assert!(
            find(CTR_NAMESPACE, &idle).is_none(),
            "a container without a task is not running"
        );
        assert_eq!(running.len(), 2, "{running:#?}");
    };
    check_running(&client, &ctrd);

    // containerd restarts; the same client reconnects and the containers are still there.
    ctrd.restart().expect("restart containerd");
    check_running(&client, &ctrd);
    assert!(client
        .container(CTR_NAMESPACE, &web)
        .expect("get web after restart")
        .is_some());

    // A killed task is not running any more.
    ctrd.ctr_kill(CTR_NAMESPACE, &web, "SIGKILL", false)
        .expect("kill web");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let running = client.running().expect("running");
        if !running.iter().any(|r| r.record.id == web) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{web} still running after SIGKILL: {running:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    for (ns, id) in [
        (CTR_NAMESPACE, &web),
        (OTHER_NAMESPACE, &admin),
        (CTR_NAMESPACE, &idle),
    ] {
        ctrd.ctr_rm(ns, id).expect("remove container");
    }
    assert!(client.running().expect("running").is_empty());
}

#[test]
fn stopped_containerd_is_a_typed_error() {
    if !require_privileged() {
        return;
    }
    let mut ctrd = Containerd::start(Options::default()).expect("start private containerd");
    let client = Client::connect(&ctrd.socket(), TIMEOUT).expect("connect");
    // An idle client must not hold up containerd's graceful stop (`stop` fails after 10 s).
    let started = std::time::Instant::now();
    ctrd.stop().expect("stop containerd");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "containerd took {:?} to stop",
        started.elapsed()
    );
    let err = client
        .container(CTR_NAMESPACE, "web")
        .expect_err("containerd is gone");
    match &err {
        ContainerdError::Rpc {
            code,
            namespace,
            what,
            ..
        } => {
            assert_eq!(*code, Code::Unavailable, "{err}");
            assert_eq!(namespace.as_deref(), Some(CTR_NAMESPACE));
            assert!(what.contains("\"web\""), "{what}");
        }
        other => panic!("expected an Rpc error, got {other:?}"),
    }
    let err = Client::connect(&ctrd.socket(), TIMEOUT).expect_err("nothing listens");
    assert!(
        err.to_string()
            .contains(&ctrd.socket().display().to_string()),
        "{err}"
    );
}
