//! Enforcement with the Landlock backend, in real containers: `ctr run` through the runc
//! wrapper, which asks the daemon before `runc create` and starts the entrypoint and every
//! `ctr task exec` process under the static `palisade-init`. The attacks are done by a static
//! probe (no shell: the profile denies shells) that prints each outcome with its errno.
//!
//! Root only (containerd, runc, BPF, Landlock). `PALISADE_ALLOW_SKIP_PRIVILEGED=1` turns
//! "cannot run" into a loud skip.

mod scenario;

use palisade_testbed::{image, CtrRun, CTR_NAMESPACE};
use scenario::{alerts_of, EnforcementBed};

const IMAGE: &str = "docker.io/library/hardened:1";

const PROFILE: &str = "name: hardened\nmatch:\n  images: [\"hardened:*\"]\nmode: enforce\n\
    deny_shells: true\ndeny_package_managers: true\n\
    immutable:\n  enabled: true\n  allow_write: [/var/cache/app]\n";

/// The probe's lines as (operation, outcome) pairs.
fn outcomes(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.trim_end_matches('\r').rsplit_once(": "))
        .map(|(op, r)| (op.to_owned(), r.to_owned()))
        .collect()
}

fn outcome<'a>(all: &'a [(String, String)], op: &str) -> &'a str {
    all.iter().find(|(o, _)| o == op).map(|(_, r)| r.as_str()).unwrap_or_else(|| panic!("no outcome for {op}: {all:?}"))
}

#[test]
fn landlock_enforces_the_profile_in_the_entrypoint_and_in_execs() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    // The `palisade.io/mode=audit` runs loosen an enforced profile: this node allows it.
    let mut bed = EnforcementBed::start(PROFILE, &["mode_annotation.allow_loosen=true"], &[]);
    let (bins, containerd) = (bed.bins.clone(), &bed.containerd);
    containerd.import(&image::busybox("docker.io/library/busybox:1.36"), CTR_NAMESPACE).expect("import busybox");

    // The entrypoint is confined: the attacks fail, the allowed writes work.
    let volume = std::env::temp_dir().join(palisade_testbed::unique_name("volume"));
    std::fs::create_dir_all(&volume).expect("mkdir volume");
    let first = palisade_testbed::unique_name("entry");
    let mut run = CtrRun::new(IMAGE, &first, &[]);
    run.runc_binary = Some(bins.runc_wrapper.clone());
    run.mounts = vec![format!("type=bind,src={},dst=/data,options=rbind:rw", volume.display())];
    run.args = ["/usr/local/bin/probe", "create /data/ok", "write /etc/passwd", "create /etc/evil", "exec /bin/bash -c true", "exec /usr/bin/apt-get install curl",
        "exec /bin/sh -c true", "unlink /etc/passwd", "mkdir /etc/x", "create /var/cache/app/ok", "create /dev/shm/ok",
        "exists /etc/evil", "grep /etc/passwd palisade-probe-was-here"]
    .map(String::from)
    .to_vec();
    let out = containerd.ctr_run(&run).expect("ctr run");
    assert!(out.success(), "{out:?}");
    let got = outcomes(&out.stdout);
    // The root is read-only (the VFS refuses every change of an image file with EROFS); Landlock
    // refuses the denied programs with EACCES.
    for op in ["write /etc/passwd", "create /etc/evil", "unlink /etc/passwd", "mkdir /etc/x"] {
        assert_eq!(outcome(&got, op), "EROFS", "{op}: {got:?}");
    }
    for op in ["exec /bin/bash", "exec /usr/bin/apt-get", "exec /bin/sh"] {
        assert_eq!(outcome(&got, op), "EACCES", "{op}: {got:?}");
    }
    assert_eq!(outcome(&got, "create /var/cache/app/ok"), "ok", "allow_write: {got:?}");
    assert_eq!(outcome(&got, "create /dev/shm/ok"), "ok", "a runtime mount: {got:?}");
    assert_eq!(outcome(&got, "create /data/ok"), "ok", "a declared volume: {got:?}");
    assert!(volume.join("ok").is_file(), "the volume write reached the host");
    let _ = std::fs::remove_dir_all(&volume);
    assert_eq!(outcome(&got, "exists /etc/evil"), "no", "the file was NOT created: {got:?}");
    assert_eq!(outcome(&got, "grep /etc/passwd"), "absent", "/etc/passwd unchanged: {got:?}");

    // `ctr task exec` (runc exec --process): a shell is refused by palisade-init itself; the
    // probe exec'd into the container is confined like the entrypoint.
    let second = palisade_testbed::unique_name("exec");
    let mut run = CtrRun::new(IMAGE, &second, &[]);
    run.runc_binary = Some(bins.runc_wrapper.clone());
    run.detach = true;
    run.rm = false;
    assert!(containerd.ctr_run(&run).expect("ctr run").success());
    let shell = containerd.ctr_exec(CTR_NAMESPACE, &second, &["/bin/bash", "-c", "echo pwned"], false).expect("exec");
    assert_eq!(shell.status.code(), Some(126), "{shell:?}");
    assert!(!shell.stdout.contains("pwned"), "{shell:?}");
    assert!(shell.stderr.contains("palisade-init: cannot execute /bin/bash: Permission denied"), "{shell:?}");
    let probe = containerd.ctr_exec(CTR_NAMESPACE, &second, &["/usr/local/bin/probe", "write /etc/passwd", "create /var/cache/app/x"], false).expect("exec");
    let got = outcomes(&probe.stdout);
    assert_eq!((outcome(&got, "write /etc/passwd"), outcome(&got, "create /var/cache/app/x")), ("EROFS", "ok"), "{probe:?}");
    containerd.ctr_kill(CTR_NAMESPACE, &second, "KILL", true).expect("kill");
    let _ = containerd.ctr_rm(CTR_NAMESPACE, &second);

    // A container of another image (default profile: audit, denies nothing) is not confined.
    let free = palisade_testbed::unique_name("free");
    let mut run = CtrRun::new("docker.io/library/busybox:1.36", &free, &["sh", "-c", "echo x > /etc/free && cat /etc/free"]);
    run.runc_binary = Some(bins.runc_wrapper.clone());
    let out = containerd.ctr_run(&run).expect("ctr run");
    assert!(out.success() && out.stdout.contains('x'), "{out:?}");

    let listed = bed.daemon().containers().expect("palisade containers");
    let entry = listed.iter().find(|c| c["id"] == first.as_str()).expect("listed");
    assert_eq!((entry["profile"].as_str(), entry["mode"].as_str()), (Some("hardened"), Some("enforce")), "{entry}");
    let out = bed.stop();

    // Every refusal the kernel made is an alert with enforced: true, the errno and the backend.
    let decisions: Vec<(String, String, String)> = alerts_of(&out.alerts, &first)
        .into_iter()
        .chain(alerts_of(&out.alerts, &second))
        .filter(|a| a["rule"] == "Palisade enforcement")
        .filter(|a| a["enforced"] == true)
        .inspect(|a| {
            assert_eq!((a["profile"].as_str(), a["backend"].as_str()), (Some("hardened"), Some("landlock")), "{a}");
            // Writes meet the read-only root, execs Landlock.
            let want = if a["output_fields"]["palisade.action"] == "exec" { "EACCES" } else { "EROFS" };
            assert_eq!(a["output_fields"]["evt.res"], want, "{a}");
        })
        .map(|a| {
            let f = &a["output_fields"];
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("container.id"), s("palisade.action"), s("palisade.target"))
        })
        .collect();
    let short = |id: &str| id[..12.min(id.len())].to_owned();
    for (id, action, target) in [
        (&first, "write", "/etc/passwd"),
        (&first, "write", "/etc/evil"),
        (&first, "exec", "/bin/bash"),
        (&first, "exec", "/usr/bin/apt-get"),
        (&second, "exec", "/bin/bash"),
        (&second, "write", "/etc/passwd"),
    ] {
        let want = (short(id), action.to_owned(), target.to_owned());
        assert!(decisions.contains(&want), "missing {want:?} in {decisions:?}");
    }
    assert!(!decisions.iter().any(|(_, _, t)| t.starts_with("/var/cache/app")), "allowed writes are no decisions: {decisions:?}");
    assert!(alerts_of(&out.alerts, &free).iter().all(|a| a["rule"] != "Palisade enforcement"), "the free container is not judged");
}

#[test]
fn the_mode_annotation_turns_the_same_attacks_into_reports() {
    if !palisade_testbed::require_privileged() {
        return;
    }
    let mut bed = EnforcementBed::start(PROFILE, &["mode_annotation.allow_loosen=true"], &[]);
    let (bins, containerd) = (bed.bins.clone(), &bed.containerd);
    let name = palisade_testbed::unique_name("audit");
    let mut run = CtrRun::new(IMAGE, &name, &[]);
    run.runc_binary = Some(bins.runc_wrapper.clone());
    run.annotations = vec!["palisade.io/mode=audit".into()];
    run.args = ["/usr/local/bin/probe", "write /etc/passwd", "create /etc/evil", "exec /bin/bash -c true", "exec /usr/bin/apt-get install curl"]
        .map(String::from)
        .to_vec();
    let out = containerd.ctr_run(&run).expect("ctr run");
    let got = outcomes(&out.stdout);
    assert_eq!(
        [outcome(&got, "write /etc/passwd"), outcome(&got, "create /etc/evil"), outcome(&got, "exec /bin/bash"), outcome(&got, "exec /usr/bin/apt-get")],
        ["ok", "ok", "exit 0", "exit 0"],
        "audit mode blocks nothing: {got:?}"
    );
    let out = bed.stop();
    let decisions: Vec<(String, String)> = alerts_of(&out.alerts, &name)
        .into_iter()
        .filter(|a| a["rule"] == "Palisade enforcement")
        .inspect(|a| {
            assert_eq!((a["enforced"].as_bool(), a["mode"].as_str()), (Some(false), Some("audit")), "{a}");
            assert_eq!(a["output_fields"]["evt.res"], "SUCCESS", "{a}");
        })
        .map(|a| {
            let f = &a["output_fields"];
            (f["palisade.action"].as_str().unwrap_or_default().to_owned(), f["palisade.target"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    for want in [("write", "/etc/passwd"), ("write", "/etc/evil"), ("exec", "/bin/bash"), ("exec", "/usr/bin/apt-get")] {
        assert!(decisions.contains(&(want.0.to_owned(), want.1.to_owned())), "missing {want:?} in {decisions:?}");
    }
}
