//! The plugin against a real containerd 1.7 with NRI enabled (root): it registers, is configured
//! and synchronized, and does all three again after containerd is killed (SIGKILL, then SIGTERM)
//! and restarted.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Call, Recorder};
use palisade_nri::PluginConfig;

const CONTAINERD: &str = "/usr/bin/containerd";

/// A private containerd in a tempdir, killed (by its pid) when dropped.
struct Containerd {
    dir: PathBuf,
    child: Option<Child>,
}

impl Containerd {
    fn new(dir: &Path) -> Self {
        let config = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{d}/containerd.sock"
[plugins."io.containerd.nri.v1.nri"]
  disable = false
  socket_path = "{d}/nri.sock"
  plugin_path = "{d}/nri-plugins"
  plugin_config_path = "{d}/nri-conf"
"#,
            d = dir.display()
        );
        std::fs::write(dir.join("config.toml"), config).expect("write containerd config");
        Self {
            dir: dir.to_owned(),
            child: None,
        }
    }

    fn nri_socket(&self) -> PathBuf {
        self.dir.join("nri.sock")
    }

    fn start(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.join("containerd.log"))
            .expect("log file");
        let child = Command::new(CONTAINERD)
            .arg("--config")
            .arg(self.dir.join("config.toml"))
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start containerd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.nri_socket().exists() {
            assert!(
                Instant::now() < deadline,
                "containerd made no NRI socket in 20 s; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, as a service manager would, and wait for the exit.
    fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            assert!(status.is_ok_and(|s| s.success()), "kill -TERM containerd");
            let _ = child.wait();
        }
    }

    /// SIGKILL, as a crash would.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.kill();
    }
}

fn syncs(calls: &[Call]) -> usize {
    calls
        .iter()
        .filter(|c| matches!(c, Call::Synchronize { .. }))
        .count()
}

#[test]
fn registers_with_containerd_and_reconnects_after_restart() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("palisade-nri-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    let mut containerd = Containerd::new(dir.path());
    containerd.start();

    let _ = tracing_subscriber::fmt()
        .with_env_filter("palisade_nri=debug")
        .with_test_writer()
        .try_init();
    let recorder = Arc::new(Recorder::default());
    let config = PluginConfig {
        socket: containerd.nri_socket(),
        ..PluginConfig::default()
    };
    let plugin = palisade_nri::spawn(config, recorder.clone()).expect("spawn plugin");

    let started = Instant::now();
    let calls = recorder.wait_for("first Synchronize", Duration::from_secs(15), |c| {
        syncs(c) == 1
    });
    eprintln!(
        "registered, configured and synchronized in {:?}",
        started.elapsed()
    );
    match &calls[..] {
        [Call::Configured { runtime, version }, Call::Synchronize { pods, containers }] => {
            assert_eq!(runtime, "containerd");
            assert!(version.starts_with("1.7"), "runtime version {version}");
            assert!(
                pods.is_empty() && containers.is_empty(),
                "fresh containerd has nothing: {pods:?} {containers:?}"
            );
        }
        other => panic!("expected Configure then Synchronize, got {other:#?}"),
    }
    let log = containerd.log();
    assert!(
        log.contains(r#"registered as \"10-palisade\""#),
        "containerd log:\n{log}"
    );

    containerd.kill();
    let restarted = Instant::now();
    containerd.start();
    recorder.wait_for(
        "Synchronize after the restart",
        Duration::from_secs(15),
        |c| syncs(c) == 2,
    );
    eprintln!(
        "re-registered and synchronized {:?} after restarting containerd",
        restarted.elapsed()
    );
    let configured = recorder
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::Configured { .. }))
        .count();
    assert_eq!(configured, 2);
    assert!(
        containerd
            .log()
            .matches(r#"registered as \"10-palisade\""#)
            .count()
            == 2
    );

    containerd.terminate();
    let restarted = Instant::now();
    containerd.start();
    recorder.wait_for(
        "Synchronize after a graceful restart",
        Duration::from_secs(15),
        |c| syncs(c) == 3,
    );
    eprintln!(
        "re-registered {:?} after a SIGTERM restart",
        restarted.elapsed()
    );

    plugin.stop().expect("plugin stops cleanly");
}
