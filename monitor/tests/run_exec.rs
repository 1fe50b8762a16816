//! Privileged, end to end: `palisade run` with Falco's stable rules, unmodified, raises
//! "Execution from /dev/shm" for a binary run from /dev/shm, with the right fields, and
//! nothing for the same binary run from its usual place.
//!
//! Needs root and a kernel with BTF; fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn stable_rules() -> PathBuf {
    let shared = std::env::var_os("PALISADE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    shared.join("falco/rules/falco_rules.yaml")
}

#[test]
fn execution_from_dev_shm_alerts_and_control_does_not() {
    if !nix::unistd::geteuid().is_root() {
        if std::env::var("PALISADE_ALLOW_SKIP_PRIVILEGED").as_deref() == Ok("1") {
            eprintln!("SKIPPED (PALISADE_ALLOW_SKIP_PRIVILEGED=1): not root");
            return;
        }
        panic!("privileged test cannot run: not root (set PALISADE_ALLOW_SKIP_PRIVILEGED=1 to skip)");
    }
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["run", "--json", "--rule-matching", "all", "-r"])
        .arg(stable_rules())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start palisade run");
    // Wait until it says it is watching.
    let mut stderr = BufReader::new(daemon.stderr.take().expect("stderr"));
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !line.contains("watching") {
        line.clear();
        if stderr.read_line(&mut line).expect("read stderr") == 0 || Instant::now() > deadline {
            let _ = daemon.kill();
            panic!("palisade run did not start: {line}");
        }
    }

    let marker = format!("palisade-shm-{}", std::process::id());
    let shm = PathBuf::from("/dev/shm").join(&marker);
    std::fs::copy("/bin/true", &shm).expect("copy to /dev/shm");
    let ok = Command::new(&shm).arg("attack").status().expect("run from /dev/shm").success();
    std::fs::remove_file(&shm).expect("cleanup");
    assert!(ok);
    // Control: the same program from /bin, with the marker in its arguments.
    assert!(Command::new("/bin/true").arg(&marker).status().expect("run control").success());

    std::thread::sleep(Duration::from_millis(800));
    kill(Pid::from_raw(daemon.id() as i32), Signal::SIGINT).expect("SIGINT");
    let out = daemon.wait_with_output().expect("wait");
    assert!(out.status.success(), "palisade run exit: {:?}", out.status);

    let alerts: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let ours: Vec<&serde_json::Value> =
        alerts.iter().filter(|a| a["output"].as_str().is_some_and(|o| o.contains(&marker))).collect();
    let shm_alerts: Vec<_> = ours.iter().filter(|a| a["rule"] == "Execution from /dev/shm").collect();
    assert_eq!(shm_alerts.len(), 1, "one alert for the /dev/shm run: {ours:#?}");
    let a = shm_alerts[0];
    assert_eq!(a["priority"], "Warning");
    assert_eq!(a["source"], "syscall");
    let f = &a["output_fields"];
    assert_eq!(f["proc.exepath"], shm.display().to_string());
    assert_eq!(f["proc.cmdline"], format!("{} attack", &marker[..15.min(marker.len())]));
    assert_eq!(f["user.name"], "root");
    assert_eq!(f["user.uid"], 0);
    assert_eq!(f["evt.type"], "execve");
    // The control run from /bin raised nothing.
    assert!(
        ours.iter().all(|a| a["output_fields"]["proc.exepath"] != "/bin/true" && a["output_fields"]["proc.exepath"] != "/usr/bin/true"),
        "control run alerted: {ours:#?}"
    );
}
