//! `daemon`: the real daemon enforcing through BPF-LSM, end to end (driven by the monitor
//! crate's lsm_guest_daemon.rs, which puts `/palisade` and its libraries in the initramfs).
//!
//! 1. Writes a configuration (JSON alerts to a file, host monitoring off, mode enforce), one
//!    detection rule and a profile for image `app:*` (immutable with allow_write, shells and
//!    package managers denied), builds the overlay rootfs and starts `/palisade run`.
//! 2. Starts a "container init" in a cgroup of its own (gate.rs' [`Init`]) and sends the
//!    daemon what `palisade-hook` sends at `createRuntime` (protocol version 1: the OCI state
//!    with that pid, CRI annotations naming image `app:1` and container `web`, the bundle's
//!    rootfs and its tmpfs mount on /tmp). The daemon arms the cgroup and answers.
//! 3. Releases the init: it mounts (the runtime's mounts: allowed), execs, and runs the
//!    attacks as the entrypoint (`LSMVM case phase=daemon ...`); the entrypoint then lives on
//!    (the container runs) until its stdin closes.
//! 4. A rolling restart: SIGTERM, and while no daemon runs the attacks still fail
//!    (`phase=daemon-restart`: the pinned BPF-LSM programs keep enforcing). The daemon is
//!    started again with the same arguments; it knows c1 only from its state file (there is no
//!    containerd here), re-arms it and reports the decisions of the gap from the pinned ring
//!    buffer with c1's metadata. Attacks after the restart still fail (`daemon-restarted`).
//!    `LSMVM alert-mark at=first|restart count=N` says how many alert lines there were when
//!    the first daemon had stopped and once the successor had reported the gap.
//! 5. Ends the container (its init exits: the daemon stops it) and sends `poststop`; the same
//!    cgroup is disarmed (`phase=daemon-stopped`).
//! 6. Waits for the alerts to settle, stops the daemon (SIGINT) and prints every alert line as
//!    `LSMVMJSON alert <json>` and the daemon's log as `LSMVMLOG <line>`.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use nix::sys::signal::Signal;
use std::time::{Duration, Instant};

use crate::gate::Init;
use crate::{attack_in, build_rootfs, cgroup, ctx, Res, ROOTFS};

const CONFIG: &str = "/etc/palisade/palisade.yaml";
const RULES: &str = "/etc/palisade/rules.yaml";
const PROFILES: &str = "/etc/palisade/profiles";
const ALERTS: &str = "/tmp/palisade-alerts.json";
const LOG: &str = "/tmp/palisade.log";
const SOCKET: &str = "/run/palisade/hook.sock";
const BUNDLE: &str = "/lsmvm/bundle";
const CG: &str = "/sys/fs/cgroup/palisade-daemon-c1";
/// The phase of the container's entrypoint, which lives on after its cases (main.rs' `attack`)
/// until its stdin closes: the container runs through the daemon's restart.
pub(crate) const ENTRYPOINT_PHASE: &str = "daemon";
/// The container's id, as the OCI state names it.
pub(crate) const CONTAINER_ID: &str = "c1";
/// What the entrypoint tries, in this order (cases.rs).
pub(crate) const CASES: [&str; 9] = [
    "exec_busybox",
    "exec_shell",
    "exec_package_manager",
    "open_write",
    "create",
    "mount",
    "mount_api",
    "allow_write_create",
    "volume_write",
];

fn write_config() -> Res<()> {
    std::fs::create_dir_all(PROFILES).map_err(ctx(PROFILES))?;
    let config = format!(
        "rules_files: [{RULES}]\njson_output: true\nstdout_output: {{enabled: false}}\n\
         file_output: {{enabled: true, filename: {ALERTS}}}\nwebserver: {{enabled: false}}\n\
         watch_config_files: false\nmode: enforce\nprofiles_dir: {PROFILES}\nhost_monitoring: false\n\
         hook_socket: {SOCKET}\nnri: {{enabled: false}}\ncontainerd_socket: /nonexistent/containerd.sock\n"
    );
    std::fs::write(CONFIG, config).map_err(ctx(CONFIG))?;
    // Detection sees the same container: the runtime-side exec of busybox (gate.rs' other_exec).
    let rules = "- rule: Busybox in container\n  desc: busybox run in a container\n  \
                 condition: evt.type = execve and container.id != host and proc.name = busybox\n  \
                 output: \"busybox in container (container_id=%container.id name=%container.name)\"\n  \
                 priority: NOTICE\n";
    std::fs::write(RULES, rules).map_err(ctx(RULES))?;
    let profile = "name: app\nmatch: {images: [\"app:*\"]}\ndeny_shells: true\ndeny_package_managers: true\n\
                   immutable: {enabled: true, allow_write: [/var/cache/app]}\n";
    std::fs::write(format!("{PROFILES}/app.yaml"), profile).map_err(ctx("profile"))
}

/// What the attack processes try while no daemon runs, and after the restart.
const RESTART_CASES: [&str; 2] = ["exec_shell", "open_write"];

/// Starts the daemon (its log appended to [`LOG`]) and waits (up to two minutes under TCG)
/// until its hook socket answers: a stopped daemon leaves the socket file behind, and the
/// successor restores its registry before it listens.
fn start_daemon() -> Res<Child> {
    let log = OpenOptions::new().create(true).append(true).open(LOG).map_err(ctx(LOG))?;
    let err = log.try_clone().map_err(ctx(LOG))?;
    let t = Instant::now();
    let mut child = Command::new("/palisade")
        .args(["run", "-c", CONFIG])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(ctx("spawn /palisade"))?;
    while UnixStream::connect(SOCKET).is_err() {
        if let Some(status) = child.try_wait().map_err(ctx("wait daemon"))? {
            print_log();
            return Err(format!("the daemon exited before listening: {status}"));
        }
        if t.elapsed() > Duration::from_secs(120) {
            print_log();
            return Err("the daemon's hook socket did not appear within 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("LSMVM daemon-started ms={}", t.elapsed().as_millis());
    Ok(child)
}

/// One request line to the hook socket; the reply line.
fn request(line: &str) -> Res<String> {
    let mut stream = UnixStream::connect(SOCKET).map_err(ctx("connect to the hook socket"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).map_err(ctx("socket timeout"))?;
    stream.write_all(format!("{line}\n").as_bytes()).map_err(ctx("send request"))?;
    let mut reply = String::new();
    BufReader::new(&stream).read_line(&mut reply).map_err(ctx("read reply"))?;
    Ok(reply.trim().to_owned())
}

/// What `palisade-hook` sends at `createRuntime` for the container whose init is `pid`.
fn create_runtime(pid: u32) -> String {
    let state = format!(
        "{{\"ociVersion\":\"1.0.2\",\"id\":\"{CONTAINER_ID}\",\"status\":\"created\",\"pid\":{pid},\"bundle\":\"{BUNDLE}\",\
         \"annotations\":{{\"io.kubernetes.cri.image-name\":\"app:1\",\"io.kubernetes.cri.container-name\":\"web\"}}}}"
    );
    let bundle = format!(
        "{{\"rootfs\":\"{ROOTFS}\",\"readonly_rootfs\":false,\"args\":[\"/entrypoint\"],\"hostname\":\"web\",\
         \"cgroups_path\":\"/palisade-daemon-c1\",\"mounts\":[{{\"destination\":\"/tmp\",\"source\":\"tmpfs\",\
         \"type\":\"tmpfs\",\"options\":[]}}],\"privileged\":false}}"
    );
    format!("{{\"request\":\"hook\",\"version\":1,\"phase\":\"createRuntime\",\"state\":{state},\"bundle\":{bundle}}}")
}

fn poststop() -> String {
    format!("{{\"request\":\"hook\",\"version\":1,\"phase\":\"poststop\",\"state\":{{\"id\":\"{CONTAINER_ID}\",\"bundle\":\"{BUNDLE}\"}}}}")
}

fn lines_of(path: &str) -> Vec<String> {
    std::fs::read_to_string(path).map(|s| s.lines().map(str::to_owned).collect()).unwrap_or_default()
}

fn print_log() {
    for line in lines_of(LOG) {
        println!("LSMVMLOG {line}");
    }
}

/// Waits until the alert file has at least `min` lines and then stopped growing for two
/// seconds (the daemon drains the decisions' ring buffer in its event loop), at most 60 s.
fn settle_alerts(min: usize) -> usize {
    let (start, mut last, mut since) = (Instant::now(), usize::MAX, Instant::now());
    while start.elapsed() < Duration::from_secs(60) {
        let n = lines_of(ALERTS).len();
        if n != last {
            (last, since) = (n, Instant::now());
        } else if n >= min && since.elapsed() > Duration::from_secs(2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    last
}

/// `signal`, then up to 30 s for a clean stop.
fn stop_daemon(mut child: Child, signal: Signal) -> Res<()> {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, signal).map_err(ctx("signal the daemon"))?;
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(ctx("wait daemon"))? {
            println!("LSMVM daemon-stopped signal={signal} status={}", status.code().unwrap_or(-1));
            return Ok(());
        }
        if t.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            return Err(format!("the daemon did not stop within 30 s of {signal}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn run() -> Res<()> {
    write_config()?;
    build_rootfs()?;
    std::fs::create_dir_all(BUNDLE).map_err(ctx(BUNDLE))?;
    let daemon = start_daemon()?;
    let (result, daemon) = scenario(daemon);
    settle_alerts(0);
    let stopped = daemon.map_or(Ok(()), |d| stop_daemon(d, Signal::SIGINT));
    for line in lines_of(ALERTS) {
        println!("LSMVMJSON alert {line}");
    }
    print_log();
    result.and(stopped)
}

/// The scenario; returns the daemon running at its end, if one is.
fn scenario(daemon: Child) -> (Res<()>, Option<Child>) {
    let init = match armed() {
        Ok(init) => init,
        Err(e) => return (Err(e), Some(daemon)),
    };
    let daemon = match restart(daemon) {
        Ok(d) => d,
        Err((e, d)) => return (Err(e), d),
    };
    // The container ends (its init exits), then the runtime's poststop hook.
    let stopped = init.end().and_then(|()| request(&poststop())).and_then(|reply| {
        println!("LSMVMJSON poststop-reply {reply}");
        attack_in(CG, "daemon-stopped", &["exec_shell", "mount"])
    });
    (stopped, Some(daemon))
}

/// c1 armed through the hook socket; its entrypoint's attacks. Returns its init, still
/// running once the cases are done.
fn armed() -> Res<Init> {
    let cgroup_id = cgroup(CG)?;
    let mut init = Init::start(CG, ENTRYPOINT_PHASE, &CASES)?;
    println!("LSMVM daemon-container cgroup={cgroup_id} pid={}", init.pid());
    let reply = request(&create_runtime(init.pid()))?;
    println!("LSMVMJSON hook-reply {reply}");
    if !reply.contains("\"reply\":\"armed\"") {
        drop(init); // its stdin closes: it fails to read and exits
        return Err(format!("the daemon did not arm the container: {reply}"));
    }
    init.release()?;
    // The last case (volume_write) writes this file on the volume.
    let done = format!("{ROOTFS}/tmp/volume-{ENTRYPOINT_PHASE}");
    let t = Instant::now();
    while !Path::new(&done).exists() {
        if t.elapsed() > Duration::from_secs(60) {
            return Err(format!("the entrypoint's cases did not end within 60 s (no {done})"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(init)
}

/// A rolling restart of the daemon with c1 armed: SIGTERM, attacks while none runs, the
/// same command again, attacks after it. Returns the successor.
fn restart(daemon: Child) -> Result<Child, (String, Option<Child>)> {
    settle_alerts(0);
    stop_daemon(daemon, Signal::SIGTERM).map_err(|e| (e, None))?;
    let first = lines_of(ALERTS).len();
    println!("LSMVM alert-mark at=first count={first}");
    attack_in(CG, "daemon-restart", &RESTART_CASES).map_err(|e| (e, None))?;
    let successor = start_daemon().map_err(|e| (e, None))?;
    // The successor reports the gap's decisions (one alert per refused operation).
    let n = settle_alerts(first + RESTART_CASES.len());
    println!("LSMVM alert-mark at=restart count={n}");
    match attack_in(CG, "daemon-restarted", &RESTART_CASES) {
        Ok(()) => Ok(successor),
        Err(e) => Err((e, Some(successor))),
    }
}
