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

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use palisade_testbed::palisade::{Binaries, DaemonDir};
use palisade_testbed::process::{run, run_ok};
use palisade_testbed::{image, require_privileged, unique_name, Containerd, CtrRun, Options, CTR_NAMESPACE};

const VERSION: &str = env!("CARGO_PKG_VERSION");

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

/// A TCP port nothing listens on now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// `GET path` on 127.0.0.1:port: the status line.
fn http_get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("write");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

/// The daemon as the DaemonSet runs it, in its image under containerd: privileged, in the host's
/// PID, cgroup and UTS namespaces, with the host's bpffs, BTF, tracefs, securityfs and cgroup2
/// hierarchy, containerd's socket directory and its own socket directory. It becomes ready
/// (`palisade status` answers on the hook socket, /healthz answers), detects a container started
/// through the node's runc wrapper, and stops cleanly on SIGTERM. The namespaces are this test's
/// (the host's) rather than PID 1's: PID 1 of this test machine is not the host's init.
#[test]
fn the_daemon_runs_armed_in_its_image() {
    if !require_privileged() {
        return;
    }
    let bins = Binaries::locate().expect("palisade built by cargo test");
    let dir = DaemonDir::new().expect("daemon dir");
    let ctrd = Containerd::start(Options { env: dir.wrapper_env(&bins), ..Options::default() }).expect("start containerd");
    import(&ctrd);
    ctrd.import(&image::busybox("docker.io/library/busybox:1.36"), CTR_NAMESPACE).expect("import busybox");

    let name = unique_name("palisade-daemon");
    let socket_dir = dir.socket().parent().map(Path::to_path_buf).unwrap_or_default();
    let log = socket_dir.join("daemon.log");
    let port = free_port();
    let me = std::process::id();
    let bind = |src: &Path, options: &str| format!("type=bind,src={0},dst={0},options=rbind:{options}", src.display());
    let mut cmd = ctrd.ctr_ns(CTR_NAMESPACE);
    cmd.args(["run", "-d", "--privileged", "--net-host"])
        .arg("--with-ns")
        .arg(format!("pid:/proc/{me}/ns/pid"))
        .arg("--log-uri")
        .arg(format!("file://{}", log.display()));
    for (path, options) in [
        ("/sys/fs/bpf", "rw"),
        ("/sys/kernel/btf", "ro"),
        ("/sys/kernel/tracing", "rw"),
        ("/sys/kernel/security", "ro"),
        ("/sys/fs/cgroup", "rw"),
    ] {
        cmd.arg("--mount").arg(bind(Path::new(path), options));
    }
    cmd.arg("--mount").arg(bind(ctrd.dir(), "rw")).arg("--mount").arg(bind(&socket_dir, "rw"));
    cmd.arg(format!("docker.io/library/palisade:{VERSION}")).arg(&name);
    cmd.args(["nsenter", &format!("--cgroup=/proc/{me}/ns/cgroup"), &format!("--uts=/proc/{me}/ns/uts"), "--"]);
    cmd.args(["/usr/local/bin/palisade", "run", "-c", "/etc/palisade/palisade.yaml"]);
    for o in [
        format!("hook_socket={}", dir.socket().display()),
        format!("nri.socket_path={}", ctrd.nri_socket().display()),
        format!("containerd_socket={}", ctrd.socket().display()),
        "webserver.listen_address=127.0.0.1".to_string(),
        format!("webserver.listen_port={port}"),
    ] {
        cmd.arg("-o").arg(o);
    }
    let started = Instant::now();
    run_ok(&mut cmd, None, Duration::from_secs(60)).expect("ctr run -d the daemon");
    let daemon_log = || std::fs::read_to_string(&log).unwrap_or_default();

    // Ready as the DaemonSet's readiness probe sees it: `palisade status` answers.
    let status = || {
        let mut probe = Command::new(&bins.palisade);
        probe.args(["status", "--json", "--socket"]).arg(dir.socket());
        let out = run(&mut probe, None, Duration::from_secs(10)).expect("palisade status");
        out.success().then(|| serde_json::from_str::<serde_json::Value>(&out.stdout).expect("status JSON"))
    };
    let deadline = started + Duration::from_secs(180);
    let mut ready = loop {
        if let Some(s) = status() {
            break s;
        }
        let running = ctrd.ctr_task_pid(CTR_NAMESPACE, &name).is_ok();
        assert!(running && Instant::now() < deadline, "the daemon in its image never became ready:\n{}", daemon_log());
        std::thread::sleep(Duration::from_millis(100));
    };
    println!("palisade in its image: start to ready {} ms", started.elapsed().as_millis());
    assert_eq!(ready["version"], VERSION, "{ready}");
    assert_eq!(ready["config"], "/etc/palisade/palisade.yaml", "{ready}");
    // The counters fill in at the event loop's first round.
    while ready["rules_loaded"].as_u64().unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline, "no rules loaded in the image's daemon: {ready}\n{}", daemon_log());
        std::thread::sleep(Duration::from_millis(200));
        ready = status().unwrap_or(ready);
    }
    assert_eq!(http_get(port, "/healthz"), "HTTP/1.1 200 OK", "liveness");

    // A container started after, through the node's runc wrapper, is armed and detected.
    let victim = unique_name("victim");
    let mut r = CtrRun::new("docker.io/library/busybox:1.36", &victim, &["cat", "/etc/shadow"]);
    r.runc_binary = Some(bins.runc_wrapper.clone());
    let out = ctrd.ctr_run(&r).expect("ctr run");
    assert!(out.success(), "{out:?}\n{}", daemon_log());
    let deadline = Instant::now() + Duration::from_secs(30);
    let alert = loop {
        let found = daemon_log().lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find(|a| {
            a["rule"] == "Palisade: sensitive file read in container" && a["output_fields"]["container.name"] == victim.as_str()
        });
        if let Some(a) = found {
            break a;
        }
        assert!(Instant::now() < deadline, "no alert for {victim}:\n{}\nhook log:\n{}", daemon_log(), dir.hook_log());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(alert["output_fields"]["container.image.repository"], "docker.io/library/busybox", "{alert}");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    assert_eq!(alert["hostname"], host.trim(), "alerts name the node, not the container: {alert}");

    ctrd.ctr_kill(CTR_NAMESPACE, &name, "SIGTERM", false).expect("SIGTERM the daemon");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !daemon_log().contains("palisade: stopped:") {
        assert!(Instant::now() < deadline, "the daemon did not stop on SIGTERM:\n{}", daemon_log());
        std::thread::sleep(Duration::from_millis(200));
    }
    ctrd.ctr_rm(CTR_NAMESPACE, &name).expect("rm the daemon container");
}
