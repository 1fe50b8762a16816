//! The attack matrix of issue 15, in real containers with the Landlock backend (this host's
//! kernel refuses BPF-LSM; the same classes run against BPF-LSM in the QEMU guest:
//! `lsm/tests/lsm_vm.rs`). Each class is tried as an attacker would, as the entrypoint and through
//! `ctr task exec`, in enforce mode and in audit mode, by a static probe that prints each
//! outcome with its errno. Every test asserts the errno, the state of the files read from outside
//! the container, that the payload did not run, and exactly one `Palisade enforcement` alert per
//! decision.
//!
//! Classes: forged confinement (a caller naming `/.palisade/init`), copies of a shell into every
//! writable place (W^X), shells anywhere in the image (by name, hard link and bytes), complete
//! immutability (chmod, chown, truncate, ftruncate, xattrs, times, mknod, writes, creates,
//! unlinks: `EROFS` from the read-only root), a write routed through a symlink in an allowed
//! place, a cross-mount link (`EXDEV`), mounts, the mode annotation's authority, and a
//! fail-closed refusal that says why.
//!
//! Root only. `PALISADE_ALLOW_SKIP_PRIVILEGED=1` turns "cannot run" into a loud skip.

mod scenario;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use palisade_testbed::palisade::Daemon;
use palisade_testbed::{CtrRun, CTR_NAMESPACE};
use scenario::{alerts_of, EnforcementBed};
use serde_json::Value;

const ENFORCED: &str = "docker.io/library/hardened:1";
const AUDITED: &str = "docker.io/library/hardened-audit:1";

const PROFILES: &str = "\
name: hardened
match:
  images: [\"hardened:*\"]
mode: enforce
deny_shells: true
deny_package_managers: true
immutable:
  enabled: true
  allow_write: [/var/cache/app]
---
name: hardened-audit
match:
  images: [\"hardened-audit:*\"]
mode: audit
deny_shells: true
deny_package_managers: true
immutable:
  enabled: true
  allow_write: [/var/cache/app]
";

/// The probe's lines as operation → outcome (the first two words of the operation).
fn outcomes(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.trim_end_matches('\r').rsplit_once(": "))
        .map(|(op, r)| (op.to_owned(), r.to_owned()))
        .collect()
}

/// The shared enforcement bed plus a directory of volumes, one per container.
struct Bed {
    bed: EnforcementBed,
    volume: PathBuf,
}

impl std::ops::Deref for Bed {
    type Target = EnforcementBed;
    fn deref(&self) -> &EnforcementBed {
        &self.bed
    }
}

impl std::ops::DerefMut for Bed {
    fn deref_mut(&mut self) -> &mut EnforcementBed {
        &mut self.bed
    }
}

impl Bed {
    fn start() -> Bed {
        let bed = EnforcementBed::start(PROFILES, &[], &[AUDITED]);
        let volume = std::env::temp_dir().join(palisade_testbed::unique_name("volume"));
        std::fs::create_dir_all(&volume).expect("mkdir volume");
        Bed { bed, volume }
    }

    /// The host directory of container `name`'s volume.
    fn volume_of(&self, name: &str) -> PathBuf {
        self.volume.join(name)
    }

    /// `ctr run` through the wrapper, with a volume of its own at `/data`.
    fn run(&self, image: &str, name: &str, args: &[&str]) -> CtrRun {
        let volume = self.volume_of(name);
        std::fs::create_dir_all(&volume).expect("mkdir volume");
        let mut run = CtrRun::new(image, name, &[]);
        run.runc_binary = Some(self.bins.runc_wrapper.clone());
        run.mounts = vec![format!("type=bind,src={},dst=/data,options=rbind:rw", volume.display())];
        run.args = args.iter().map(|s| s.to_string()).collect();
        run
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.volume);
    }
}

/// The attacks a profile with `immutable`, `deny_shells` and `deny_package_managers` must stop,
/// as probe operations, and what each gives in enforce mode (Landlock + read-only root) and in
/// audit mode. `None`: the outcome is not asserted (a set-up step).
const MATRIX: &[(&str, Option<&str>, Option<&str>)] = &[
    // W^X: a copied shell in every writable place (the copy itself is an allowed write).
    // (The runtime mounts /dev/shm noexec already; /dev and /run are its other tmpfs.)
    ("copy /bin/bash /dev/sh1", Some("ok"), Some("ok")),
    ("exec /dev/sh1 -c true", Some("EACCES"), Some("exit 0")),
    ("copy /bin/bash /run/sh4", Some("ok"), Some("ok")),
    ("exec /run/sh4 -c true", Some("EACCES"), Some("exit 0")),
    ("copy /bin/bash /data/sh2", Some("ok"), Some("ok")),
    ("exec /data/sh2 -c true", Some("EACCES"), Some("exit 0")),
    ("copy /bin/bash /var/cache/app/sh3", Some("ok"), Some("ok")),
    ("exec /var/cache/app/sh3 -c true", Some("EACCES"), Some("exit 0")),
    // What the dynamic loader does with a copied binary: mapped executable from a noexec mount.
    ("mmapx /dev/sh1", Some("EPERM"), Some("ok")),
    // Shells anywhere in the image: by name, by hard link, by bytes.
    ("exec /opt/tools/bash -c true", Some("EACCES"), Some("exit 0")),
    ("exec /usr/lib/x/sh2 -c true", Some("EACCES"), Some("exit 0")),
    ("exec /usr/libexec/helper -c true", Some("EACCES"), Some("exit 0")),
    ("exec /usr/bin/apt-get install curl", Some("EACCES"), Some("exit 0")),
    // Complete immutability: every way to change an image file.
    ("chmod /etc/passwd", Some("EROFS"), Some("ok")),
    ("chown /etc/hostname", Some("EROFS"), Some("ok")),
    ("truncate /etc/os-release", Some("EROFS"), Some("ok")),
    ("ftruncate /var/log/app.log", Some("EROFS"), Some("ok")),
    ("setxattr /etc/group", Some("EROFS"), None),
    ("utimes /etc/shadow", Some("EROFS"), Some("ok")),
    ("mknod /etc/fifo", Some("EROFS"), Some("ok")),
    ("create /etc/evil", Some("EROFS"), Some("ok")),
    ("unlink /bin/busybox", Some("EROFS"), None),
    // A write routed through a symlink placed in an allowed place lands on the image.
    ("symlink /etc/passwd /data/link", Some("ok"), Some("ok")),
    ("write /data/link", Some("EROFS"), Some("ok")),
    // A hard link of an image file into an allowed place.
    ("link /etc/passwd /var/cache/app/passwd-link", Some("EXDEV"), Some("ok")),
    // What an outside observer reads afterwards (asserted on the host too).
    ("exists /etc/evil", Some("no"), Some("yes")),
    ("grep /etc/passwd palisade-probe-was-here", Some("absent"), Some("found")),
];

/// The decisions the matrix must raise, as (target, evt.res in enforce mode): exactly one alert
/// each, in both modes (`SUCCESS` in audit mode).
const DECISIONS: &[(&str, &str)] = &[
    ("/dev/sh1", "EACCES"),
    // mmapx /dev/sh1: the mapping is the exec (a noexec mount refuses it with EPERM)
    ("/dev/sh1", "EPERM"),
    ("/run/sh4", "EACCES"),
    ("/data/sh2", "EACCES"),
    ("/var/cache/app/sh3", "EACCES"),
    ("/opt/tools/bash", "EACCES"),
    ("/usr/lib/x/sh2", "EACCES"),
    ("/usr/libexec/helper", "EACCES"),
    ("/usr/bin/apt-get", "EACCES"),
    ("/etc/passwd", "EROFS"),
    ("/etc/hostname", "EROFS"),
    ("/etc/os-release", "EROFS"),
    ("/var/log/app.log", "EROFS"),
    ("/etc/group", "EROFS"),
    ("/etc/shadow", "EROFS"),
    ("/etc/fifo", "EROFS"),
    ("/etc/evil", "EROFS"),
    ("/bin/busybox", "EROFS"),
    // write /data/link: judged on the file it reaches
    ("/etc/passwd", "EROFS"),
    // link /etc/passwd /var/cache/app/passwd-link
    ("/etc/passwd", "EXDEV"),
];

/// The `Palisade enforcement` alerts of container `id`, as (target, evt.res, enforced).
fn decisions(alerts: &[Value], id: &str) -> Vec<(String, String, bool)> {
    let mut d: Vec<(String, String, bool)> = alerts_of(alerts, id)
        .into_iter()
        .filter(|a| a["rule"] == "Palisade enforcement")
        .inspect(|a| {
            if std::env::var_os("MATRIX_DEBUG").is_some() {
                eprintln!("{a}");
            }
        })
        .map(|a| {
            let f = &a["output_fields"];
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("palisade.target"), s("evt.res"), a["enforced"] == true)
        })
        .collect();
    d.sort();
    d
}

fn sorted(mut v: Vec<(String, String, bool)>) -> Vec<(String, String, bool)> {
    v.sort();
    v
}

/// The container's root filesystem on the host, from `palisade containers`.
fn rootfs_of(daemon: &Daemon, id: &str) -> PathBuf {
    let listed = daemon.containers().expect("palisade containers");
    let entry = listed.iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("{id} not listed: {listed:?}"));
    PathBuf::from(entry["rootfs"].as_str().expect("rootfs"))
}

/// What the image files look like from the host: (passwd mode, passwd carries the probe's
/// text, /etc/evil exists, /etc/fifo exists, /bin/busybox exists, the link exists).
fn host_view(rootfs: &Path) -> (u32, bool, bool, bool, bool, bool) {
    use std::os::unix::fs::MetadataExt;
    let passwd = rootfs.join("etc/passwd");
    let mode = std::fs::metadata(&passwd).map(|m| m.mode() & 0o7777).unwrap_or_else(|e| panic!("stat {}: {e}", passwd.display()));
    let written = std::fs::read_to_string(&passwd).expect("read passwd").contains("palisade-probe-was-here");
    let exists = |p: &str| rootfs.join(p).symlink_metadata().is_ok();
    (mode, written, exists("etc/evil"), exists("etc/fifo"), exists("bin/busybox"), exists("var/cache/app/passwd-link"))
}

/// The probe's arguments for the whole matrix.
fn matrix_ops() -> Vec<&'static str> {
    let mut ops: Vec<&str> = vec!["/usr/local/bin/probe"];
    ops.extend(MATRIX.iter().map(|(op, _, _)| *op));
    ops
}

fn assert_outcomes(got: &BTreeMap<String, String>, enforce: bool, how: &str) {
    for (op, in_enforce, in_audit) in MATRIX {
        let key = op.split(' ').take(2).collect::<Vec<_>>().join(" ");
        if let Some(want) = if enforce { in_enforce } else { in_audit } {
            assert_eq!(got.get(&key).map(String::as_str), Some(*want), "{how}: {op}: {got:?}");
        }
    }
}

/// Runs the matrix as the entrypoint of one container and through `ctr task exec` in a second
/// one, checks each outcome and, for the second, the image files as the host sees them. Returns
/// the two containers' names.
fn run_matrix(bed: &Bed, image: &str, enforce: bool) -> (String, String) {
    let mode = if enforce { "enforce" } else { "audit" };
    // Short prefixes: alerts name a container by the first 12 characters of its id.
    let entry = palisade_testbed::unique_name(&format!("{}e", &mode[..1]));
    let out = bed.containerd.ctr_run(&bed.run(image, &entry, &matrix_ops())).expect("ctr run");
    assert!(out.success(), "{out:?}");
    assert_outcomes(&outcomes(&out.stdout), enforce, "entrypoint");
    assert!(bed.volume_of(&entry).join("sh2").is_file(), "the copy into the volume is an allowed write");

    let exec = palisade_testbed::unique_name(&format!("{}x", &mode[..1]));
    let mut run = bed.run(image, &exec, &["/usr/local/bin/probe", "sleep 300"]);
    run.detach = true;
    run.rm = false;
    assert!(bed.containerd.ctr_run(&run).expect("ctr run").success());
    let out = bed.containerd.ctr_exec(CTR_NAMESPACE, &exec, &matrix_ops(), false).expect("exec");
    assert!(out.success(), "{out:?}");
    assert_outcomes(&outcomes(&out.stdout), enforce, "ctr task exec");
    let view = host_view(&rootfs_of(bed.daemon(), &exec));
    if enforce {
        assert_eq!(view, (0o644, false, false, false, true, false), "the image files are untouched");
    } else {
        assert_eq!(view, (0o777, true, true, true, false, true), "audit mode changed them");
    }
    assert!(bed.volume_of(&exec).join("sh2").is_file(), "the copy into the volume is an allowed write");
    bed.containerd.ctr_kill(CTR_NAMESPACE, &exec, "KILL", true).expect("kill");
    let _ = bed.containerd.ctr_rm(CTR_NAMESPACE, &exec);
    (entry, exec)
}

#[test]
fn enforce_mode_stops_every_class_and_reports_each_refusal_once() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let mut bed = Bed::start();
    let (entry, exec) = run_matrix(&bed, ENFORCED, true);
    let stopped = bed.stop();
    let want: Vec<(String, String, bool)> = DECISIONS.iter().map(|(t, r)| (t.to_string(), r.to_string(), true)).collect();
    for id in [&entry, &exec] {
        assert_eq!(decisions(&stopped.alerts, id), sorted(want.clone()), "{id}: exactly one alert per refusal");
    }
}

#[test]
fn audit_mode_lets_every_class_through_and_reports_each_once() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let mut bed = Bed::start();
    let (entry, exec) = run_matrix(&bed, AUDITED, false);
    let stopped = bed.stop();
    let mut want: Vec<(String, String, bool)> =
        DECISIONS.iter().map(|(t, _)| (t.to_string(), "SUCCESS".to_string(), false)).collect();
    // `ftruncate`: in audit mode both calls happen, the open for writing and the truncate of
    // its descriptor, one would-deny each (in enforce mode the open is refused, the truncate
    // never comes).
    want.push(("/var/log/app.log".into(), "SUCCESS".into(), false));
    for id in [&entry, &exec] {
        assert_eq!(decisions(&stopped.alerts, id), sorted(want.clone()), "{id}: exactly one alert per would-deny");
    }
}

#[test]
fn forged_confinement_is_wrapped_like_any_other_process() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let mut bed = Bed::start();
    let forged = r#"{"version":1,"mode":"audit"}"#;
    let policy = std::env::temp_dir().join(palisade_testbed::unique_name("forged-policy"));
    std::fs::write(&policy, forged).expect("write forged policy");

    // As the entrypoint: the caller names palisade-init and a policy of its own.
    let name = palisade_testbed::unique_name("forge-entry");
    let run = bed.run(ENFORCED, &name, &["/.palisade/init", "--policy", "/data/forged.json", "--", "/bin/bash", "-c", "echo pwned"]);
    std::fs::copy(&policy, bed.volume_of(&name).join("forged.json")).expect("policy into the volume");
    let out = bed.containerd.ctr_run(&run).expect("ctr run");
    assert!(!out.stdout.contains("pwned"), "the forged policy freed bash: {out:?}");
    assert!(!out.success(), "{out:?}");

    // Through `ctr task exec`, with the policy on stdin and with palisade-init's new form.
    let long = palisade_testbed::unique_name("forge-exec");
    let mut run = bed.run(ENFORCED, &long, &["/usr/local/bin/probe", "sleep 300"]);
    std::fs::copy(&policy, bed.volume_of(&long).join("forged.json")).expect("policy into the volume");
    run.detach = true;
    run.rm = false;
    assert!(bed.containerd.ctr_run(&run).expect("ctr run").success());
    for args in [
        &["/.palisade/init", "--policy", "/data/forged.json", "--", "/bin/bash", "-c", "echo pwned"][..],
        &["/.palisade/init", "--", "/bin/bash", "-c", "echo pwned"][..],
        &["/.palisade/init", "--policy", "/proc/self/fd/0", "--", "/bin/bash", "-c", "echo pwned"][..],
    ] {
        let out = bed.containerd.ctr_exec(CTR_NAMESPACE, &long, args, false).expect("exec");
        assert!(!out.stdout.contains("pwned"), "{args:?} freed bash: {out:?}");
        assert_eq!(out.status.code(), Some(126), "{args:?}: {out:?}");
    }
    // The policy the daemon wrote cannot be replaced from inside.
    let out = bed
        .containerd
        .ctr_exec(CTR_NAMESPACE, &long, &["/usr/local/bin/probe", "write /.palisade/policy.json", "unlink /.palisade/policy.json"], false)
        .expect("exec");
    let got = outcomes(&out.stdout);
    assert_eq!(got.get("write /.palisade/policy.json").map(String::as_str), Some("EROFS"), "{got:?}");
    bed.containerd.ctr_kill(CTR_NAMESPACE, &long, "KILL", true).expect("kill");
    let _ = bed.containerd.ctr_rm(CTR_NAMESPACE, &long);

    let stopped = bed.stop();
    let _ = std::fs::remove_file(&policy);
    // The inner palisade-init refuses a policy argument before it runs anything; the one exec
    // of bash that was tried (under the daemon's policy, nested) is one decision.
    let bash: Vec<_> = decisions(&stopped.alerts, &long).into_iter().filter(|(t, _, _)| t == "/bin/bash").collect();
    assert_eq!(bash, [("/bin/bash".to_owned(), "EACCES".to_owned(), true)]);
}

#[test]
fn the_mode_annotation_cannot_loosen_an_enforced_profile() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let mut bed = Bed::start();
    let name = palisade_testbed::unique_name("loosen");
    let mut run = bed.run(ENFORCED, &name, &["/usr/local/bin/probe", "exec /bin/bash -c true", "write /etc/passwd"]);
    run.annotations = vec!["palisade.io/mode=audit".into()];
    let out = bed.containerd.ctr_run(&run).expect("ctr run");
    let got = outcomes(&out.stdout);
    assert_eq!(got.get("exec /bin/bash").map(String::as_str), Some("EACCES"), "{got:?}");
    assert_eq!(got.get("write /etc/passwd").map(String::as_str), Some("EROFS"), "{got:?}");
    // Tightening is always allowed: the audit image annotated enforce is enforced.
    let strict = palisade_testbed::unique_name("tighten");
    let mut run = bed.run(AUDITED, &strict, &["/usr/local/bin/probe", "exec /bin/bash -c true"]);
    run.annotations = vec!["palisade.io/mode=enforce".into()];
    let out = bed.containerd.ctr_run(&run).expect("ctr run");
    assert_eq!(outcomes(&out.stdout).get("exec /bin/bash").map(String::as_str), Some("EACCES"), "{out:?}");

    let stopped = bed.stop();
    let refused: Vec<&Value> =
        alerts_of(&stopped.alerts, &name).into_iter().filter(|a| a["rule"] == "Palisade mode override refused").collect();
    assert_eq!(refused.len(), 1, "one alert for the refused override: {:?}", alerts_of(&stopped.alerts, &name));
    assert!(alerts_of(&stopped.alerts, &strict).iter().all(|a| a["rule"] != "Palisade mode override refused"));
}

#[test]
fn a_fail_closed_refusal_names_palisade_and_the_reason() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let mut bed = Bed::start();
    let _ = bed.stop();
    // The test bed's hook.json says failure_policy: closed; the daemon is gone.
    let name = palisade_testbed::unique_name("closed");
    let out = bed.containerd.ctr_run(&bed.run(ENFORCED, &name, &["/usr/local/bin/probe", "exists /"])).expect("ctr run");
    assert!(!out.success(), "{out:?}");
    assert!(out.stderr.contains("palisade"), "the refusal names Palisade: {out:?}");
    assert!(out.stderr.contains("failure_policy closed"), "and the policy that decided: {out:?}");
    assert!(!out.stderr.contains("unable to retrieve OCI runtime error"), "{out:?}");
}

#[test]
fn mounts_are_refused_or_reported_once() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    // Privileged, so that only Palisade stands between the container and mount(2).
    let mut bed = Bed::start();
    let mut names = Vec::new();
    for (image, want) in [(ENFORCED, "EPERM"), (AUDITED, "ok")] {
        let name = palisade_testbed::unique_name(if image == ENFORCED { "me" } else { "ma" });
        let mut run = bed.run(image, &name, &["/usr/local/bin/probe", "mount /tmp"]);
        run.privileged = true;
        let out = bed.containerd.ctr_run(&run).expect("ctr run");
        assert_eq!(outcomes(&out.stdout).get("mount /tmp").map(String::as_str), Some(want), "{image}: {out:?}");
        names.push(name);
    }
    let stopped = bed.stop();
    assert_eq!(decisions(&stopped.alerts, &names[0]), [("/tmp".to_owned(), "EPERM".to_owned(), true)], "enforce");
    assert_eq!(decisions(&stopped.alerts, &names[1]), [("/tmp".to_owned(), "SUCCESS".to_owned(), false)], "audit");
}
