use super::*;
use palisade_profiles::ProfileSet;

fn profile(yaml: &str) -> Profile {
    let set = ProfileSet::from_texts(&[("p.yaml", yaml)]).expect("profile");
    set.get("p").expect("named p").clone()
}

fn image() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tmp");
    for d in ["bin", "usr/bin", "lib64", "opt/tools", "var", "run"] {
        std::fs::create_dir_all(root.path().join(d)).expect("mkdir");
    }
    for f in ["bin/bash", "bin/busybox", "usr/bin/apt-get", "usr/bin/curl", "usr/bin/app", "lib64/ld-linux-x86-64.so.2", "opt/tools/bash"] {
        std::fs::write(root.path().join(f), f.as_bytes()).expect("file");
    }
    std::os::unix::fs::symlink("busybox", root.path().join("bin/sh")).expect("symlink");
    std::os::unix::fs::symlink("/run", root.path().join("var/run")).expect("symlink");
    root
}

fn mount(destination: &str, kind: &str, options: &[&str]) -> MountFact {
    let options = options.iter().map(|o| (*o).to_owned()).collect();
    MountFact { destination: destination.into(), source: String::new(), kind: kind.into(), options }
}

fn spec_mounts() -> Vec<MountFact> {
    vec![
        mount("/proc", "proc", &[]),
        mount("/dev", "tmpfs", &["nosuid"]),
        mount("/dev/pts", "devpts", &["noexec"]),
        mount("/sys", "sysfs", &["ro"]),
        mount("/data", "bind", &["rbind", "rw"]),
        mount("/etc/hosts", "bind", &["rbind", "ro"]),
        mount("/plugins", "bind", &["rbind"]),
        mount("/run", "tmpfs", &[]),
        mount("relative", "bind", &[]),
    ]
}

const HARDENED: &str = "name: p\nmatch: {images: ['x:*']}\ndeny_shells: true\ndeny_package_managers: true\n\
    immutable: {enabled: true, allow_write: [/var/cache/app, /tmp, /tmp/jit, /var/run], allow_writable_exec: [/tmp/jit, /plugins]}\n\
    exec: {deny: ['/usr/bin/curl', '/opt/**']}\n";

#[test]
fn the_hardened_policy_denies_every_denied_file_and_makes_writable_places_non_executable() {
    let root = image();
    let c = confine(&profile(HARDENED), root.path(), &spec_mounts()).expect("confined");
    assert_eq!(
        c.policy,
        json!({
            "version": 2,
            "write_beneath": [
                "/data", "/dev", "/dev/console", "/dev/full", "/dev/mqueue", "/dev/null", "/dev/ptmx", "/dev/pts",
                "/dev/random", "/dev/shm", "/dev/stderr", "/dev/stdout", "/dev/tty", "/dev/urandom", "/dev/zero",
                "/etc/hosts", "/plugins", "/proc", "/proc/self", "/proc/thread-self", "/run", "/sys", "/tmp", "/tmp/jit",
                "/var/cache/app", "/var/run"
            ],
            "execute": ["/", "/tmp/jit"],
            "deny_execute": ["/bin/bash", "/bin/busybox", "/opt/tools/bash", "/usr/bin/apt-get", "/usr/bin/curl"],
            "no_execute": ["/data", "/dev", "/run", "/tmp", "/var/cache/app", "/var/run"],
        })
    );
    assert!(c.policy.get("mode").is_none(), "v2 has no mode: only confining policies are written");
    assert_eq!(
        serde_json::to_value(c.spec.expect("immutable changes the spec")).expect("json"),
        json!({
            "readonly_rootfs": true,
            // /var/run resolves to /run, a mount; /tmp/jit stays its own, executable, bind.
            "writable_binds": ["/tmp", "/tmp/jit", "/var/cache/app"],
            "noexec": ["/data", "/dev", "/run", "/tmp", "/var/cache/app"],
        })
    );
}

#[test]
fn an_exception_strictly_beneath_a_bind_becomes_its_own_bind() {
    let root = image();
    let p = profile(
        "name: p\nmatch: {images: ['x:*']}\nimmutable: {enabled: true, allow_write: [/tmp, /tmp/a/b], allow_writable_exec: [/tmp/jit]}\n",
    );
    let spec = spec_changes(&p, root.path(), &[]).expect("spec");
    assert_eq!(spec.writable_binds, ["/tmp", "/tmp/jit"], "/tmp/a/b is inside /tmp and as non-executable");
    assert_eq!(spec.noexec, ["/tmp"]);
    assert_eq!(policy(&p, &ImageScan::default(), root.path(), &[])["no_execute"], json!(["/dev/shm", "/tmp"]));
}

#[test]
fn without_immutable_nothing_changes_in_the_spec_and_nothing_is_non_executable() {
    let root = image();
    let p = profile("name: p\nmatch: {images: ['x:*']}\ndeny_shells: true\n");
    let c = confine(&p, root.path(), &spec_mounts()).expect("confined");
    assert_eq!(c.spec, None);
    assert_eq!((&c.policy["write_beneath"], &c.policy["no_execute"]), (&json!(["/"]), &json!([])));
    assert_eq!(c.policy["deny_execute"], json!(["/bin/bash", "/bin/busybox", "/opt/tools/bash"]));
}

#[test]
fn allow_scripts_keeps_shells_executable_and_exec_allow_adds_the_loader() {
    let root = image();
    let p = profile(
        "name: p\nmatch: {images: ['x:*']}\ndeny_shells: true\n\
         exec: {allow: ['/usr/bin/app'], allow_scripts: ['/entry.sh']}\n",
    );
    let c = confine(&p, root.path(), &[]).expect("confined");
    assert_eq!(c.policy["write_beneath"], json!(["/"]));
    assert_eq!(c.policy["deny_execute"], json!([]));
    assert_eq!(c.policy["execute"], json!(["/entry.sh", "/lib64/ld-linux-x86-64.so.2", "/usr/bin/app"]));
}

#[test]
fn an_unscannable_image_is_not_confined() {
    let err = confine(&profile(HARDENED), Path::new("/nonexistent/rootfs"), &[]).expect_err("no rootfs");
    assert!(err.to_string().starts_with("image scan: read /nonexistent/rootfs: "), "{err}");
}

#[test]
fn hard_links_and_copies_of_a_denied_file_are_denied_by_path() {
    let root = image();
    let r = root.path();
    std::fs::create_dir_all(r.join("usr/lib/x")).expect("mkdir");
    std::fs::hard_link(r.join("bin/bash"), r.join("usr/lib/x/sh2")).expect("hard link");
    std::fs::write(r.join("usr/lib/x/helper"), b"bin/bash").expect("same bytes as /bin/bash");
    std::fs::set_permissions(r.join("usr/lib/x/helper"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(r.join("bin/bash"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let p = profile("name: p\nmatch: {images: ['x:*']}\ndeny_shells: true\n");
    let c = confine(&p, r, &[]).expect("confined");
    assert_eq!(
        c.policy["deny_execute"],
        json!(["/bin/bash", "/bin/busybox", "/opt/tools/bash", "/usr/lib/x/helper", "/usr/lib/x/sh2"])
    );
}
