//! Privileged, end to end: `palisade run` with Falco's stable rules, unmodified, raises
//! "Execution from /dev/shm" for a binary run from /dev/shm, with the right fields, and
//! nothing for the same binary run from its usual place.
//!
//! Needs root and a kernel with BTF; fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.

mod common;

use std::path::PathBuf;
use std::process::Command;

#[test]
fn execution_from_dev_shm_alerts_and_control_does_not() {
    if !common::privileged() {
        return;
    }
    let daemon = common::Daemon::start(&[common::shared().join("falco/rules/falco_rules.yaml")]);
    let marker = format!("palisade-shm-{}", std::process::id());
    let shm = PathBuf::from("/dev/shm").join(&marker);
    std::fs::copy("/bin/true", &shm).expect("copy to /dev/shm");
    let ok = Command::new(&shm).arg("attack").status().expect("run from /dev/shm").success();
    std::fs::remove_file(&shm).expect("cleanup");
    assert!(ok);
    // Control: the same program from /bin, with the marker in its arguments.
    assert!(Command::new("/bin/true").arg(&marker).status().expect("run control").success());

    let alerts = daemon.stop().alerts;
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
