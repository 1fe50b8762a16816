//! Privileged, end to end: `palisade run` with Falco's own rule files raises the incubating
//! rule on `proc.env` ("Potential Local Privilege Escalation via Environment Variables
//! Misuse", CVE-2023-4911's GLIBC_TUNABLES) for a command that exits at once, with the
//! environment in its output — the exec record carries it, as Falco's driver does.
//!
//! Needs root and a kernel with BTF; fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.

mod common;

use std::process::Command;

const RULE: &str = "Potential Local Privilege Escalation via Environment Variables Misuse";

#[test]
fn glibc_tunables_in_the_environment_raises_falcos_rule() {
    if !common::privileged() {
        return;
    }
    let daemon = common::Daemon::start(&common::upstream_rule_files());
    let marker = format!("palisade-env-{}", std::process::id());
    let status = Command::new("/usr/bin/env")
        .args(["-i", "PATH=/usr/bin:/bin", "GLIBC_TUNABLES=glibc.malloc.mxfast=0", "/bin/true", &marker])
        .status()
        .expect("env");
    assert!(status.success());
    // The same command without the variable raises nothing.
    let plain = format!("{marker}-plain");
    assert!(Command::new("/usr/bin/env").args(["-i", "PATH=/usr/bin:/bin", "/bin/true", &plain]).status().expect("env").success());
    let out = daemon.stop();
    assert!(out.stderr.contains("drops=0"), "records were lost:\n{}", out.stderr);
    let hits: Vec<&serde_json::Value> = out
        .alerts
        .iter()
        .filter(|a| a["rule"] == RULE && a["output_fields"]["proc.cmdline"].as_str().is_some_and(|c| c.contains(&marker)))
        .collect();
    assert_eq!(hits.len(), 1, "one alert for {marker}: {:#?}", out.alerts.iter().filter(|a| a["rule"] == RULE).collect::<Vec<_>>());
    let f = &hits[0]["output_fields"];
    assert_eq!(f["proc.env"], "PATH=/usr/bin:/bin GLIBC_TUNABLES=glibc.malloc.mxfast=0");
    assert_eq!(f["proc.name"], "true");
    assert_eq!(f["proc.cmdline"], format!("true {marker}"));
}
