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

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use palisade_testbed::palisade::Binaries;
use palisade_testbed::process::run_ok;
use palisade_testbed::{require_privileged, unique_name, Containerd, CtrRun, Options, CTR_NAMESPACE};

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

#[test]
fn the_image_is_reproducible_imports_and_runs_palisade() {
    if !require_privileged() {
        return;
    }
    let bins = Binaries::locate().expect("palisade built by cargo test");
    let dir = std::env::temp_dir().join(unique_name("palisade-image"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let (first, second) = (dir.join("first.tar"), dir.join("second.tar"));
    let printed = build_image(&first, &bins.palisade);
    assert!(printed.contains(&format!("archive: {}", first.display())), "{printed}");
    build_image(&second, &bins.palisade);
    let bytes = std::fs::read(&first).expect("read the archive");
    assert!(bytes == std::fs::read(&second).expect("read the second archive"), "two builds of the same binaries differ");

    let ctrd = Containerd::start(Options::default()).expect("start containerd");
    let mut import = ctrd.ctr_ns(CTR_NAMESPACE);
    import.args(["images", "import"]).arg(&first);
    run_ok(&mut import, None, Duration::from_secs(120)).expect("ctr images import");
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
        assert!(config.lines().any(|l| l == line), "{line:?} not in the image's palisade.yaml:\n{config}");
    }

    // The node binaries and the installer the chart's init container runs (scripts/build-image.sh
    // refuses to ship a hook or wrapper that is not static: they run on nodes whatever their libc).
    let listing = run(&["ls", "/usr/local/bin", "/usr/local/lib/palisade", "/usr/bin/nsenter"]);
    for f in ["palisade-hook", "palisade-runc", "palisade-init", "node-installer.sh", "/usr/bin/nsenter"] {
        assert!(listing.lines().any(|l| l == f), "{f} missing in the image: {listing}");
    }
    let usage = run(&["sh", "-c", "/usr/local/lib/palisade/node-installer.sh 2>&1; echo status=$?"]);
    assert!(usage.contains("usage: node-installer.sh install|uninstall|wait") && usage.contains("status=2"), "{usage}");
    let _ = std::fs::remove_dir_all(&dir);
}
