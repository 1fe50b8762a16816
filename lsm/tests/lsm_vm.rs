//! The BPF-LSM backend for real, in a QEMU guest (TCG) booting Debian's stock 6.1 cloud kernel:
//! this machine's kernel refuses LSM programs (shared/notes/lsm-vm.md).
//!
//! Builds lsm-vm-check statically (its own target dir; the BPF object is embedded), packs it
//! with busybox-static, overlay.ko and tests/lsm-vm/init.sh into an initramfs, boots it and
//! asserts every line the guest prints: case outcomes (errno 1 = EPERM for denials, files
//! unchanged or absent afterwards), every decision record (action, reason, enforced flag,
//! errno, path, identity), pin reuse after the loader exited and unpinning.
//!
//! Needs tests/lsm-vm/install-deps.sh (QEMU, busybox-static, cpio, the kernel in
//! /var/cache/palisade-lsm-vm or $PALISADE_LSM_VM_CACHE). Missing pieces fail the test unless
//! PALISADE_ALLOW_SKIP_PRIVILEGED=1. $PALISADE_LSM_VM_BIN may name a prebuilt static binary.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BOOT_TIMEOUT: Duration = Duration::from_secs(170);

/// One `LSMVM <kind> key=value ...` line.
#[derive(Debug)]
struct Line {
    kind: String,
    fields: HashMap<String, String>,
}

impl Line {
    fn get(&self, key: &str) -> &str {
        self.fields.get(key).map_or("<absent>", String::as_str)
    }
}

fn skip_or_fail(why: &str) -> bool {
    if std::env::var("PALISADE_ALLOW_SKIP_PRIVILEGED").as_deref() == Ok("1") {
        eprintln!("SKIPPED lsm_vm: {why} (PALISADE_ALLOW_SKIP_PRIVILEGED=1)");
        return true;
    }
    panic!("lsm_vm cannot run: {why}; run tests/lsm-vm/install-deps.sh (or set PALISADE_ALLOW_SKIP_PRIVILEGED=1 to skip)");
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The static guest binary: $PALISADE_LSM_VM_BIN, or built here into its own target dir.
fn guest_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("PALISADE_LSM_VM_BIN") {
        return PathBuf::from(bin);
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lsm-vm-target");
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let t = Instant::now();
    let status = Command::new(cargo)
        .current_dir(workspace())
        .env_remove("CARGO_TARGET_DIR")
        .args(["rustc", "-q", "--locked", "-p", "palisade-lsm", "--bin", "lsm-vm-check", "--target-dir"])
        .arg(&target)
        .args(["--", "-C", "target-feature=+crt-static", "-C", "strip=symbols"])
        .status()
        .expect("run cargo rustc for lsm-vm-check");
    assert!(status.success(), "building the static lsm-vm-check failed: {status}");
    eprintln!("lsm_vm: static lsm-vm-check built in {:.1}s", t.elapsed().as_secs_f64());
    target.join("debug/lsm-vm-check")
}

/// newc cpio of `root`, gzipped, at `out`.
fn initramfs(root: &Path, out: &Path) {
    let script = format!("cd '{}' && find . | cpio -o -H newc --quiet | gzip -1 > '{}'", root.display(), out.display());
    let status = Command::new("sh").args(["-c", &script]).status().expect("run cpio");
    assert!(status.success(), "building the initramfs failed: {status}");
}

/// Boot and return the console output; panics on timeout.
fn boot(kernel: &Path, initrd: &Path) -> String {
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-cpu", "max", "-m", "2048", "-smp", "1", "-nographic", "-no-reboot"])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 panic=-1 quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start qemu-system-x86_64");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait qemu") {
            let out = reader.join().expect("reader");
            eprintln!("lsm_vm: guest ran {:.1}s ({status})", start.elapsed().as_secs_f64());
            return out;
        }
        if start.elapsed() > BOOT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let out = reader.join().expect("reader");
            let tail: Vec<&str> = out.lines().rev().take(40).collect();
            panic!("guest did not finish within {BOOT_TIMEOUT:?}; console tail:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn parse(console: &str) -> Vec<Line> {
    console
        .lines()
        .filter_map(|l| l.find("LSMVM ").map(|i| l[i + 6..].trim_end_matches('\r')))
        .map(|rest| {
            let mut tokens = rest.split_whitespace();
            let kind = tokens.next().unwrap_or("").to_owned();
            let fields = tokens
                .filter_map(|t| t.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            Line { kind, fields }
        })
        .collect()
}

/// A case's expected fields: (field, value); `result` is the operation's outcome.
type Fields = Vec<(&'static str, &'static str)>;

/// Case outcomes: (phase, case, fields).
fn expected_cases() -> Vec<(&'static str, &'static str, Fields)> {
    let denied = |extra: &[(&'static str, &'static str)]| {
        let mut v = vec![("result", "errno=1")];
        v.extend_from_slice(extra);
        v
    };
    let ok = |extra: &[(&'static str, &'static str)]| {
        let mut v = vec![("result", "ok")];
        v.extend_from_slice(extra);
        v
    };
    let mut e = vec![
        ("enforce", "exec_busybox", ok(&[])),
        ("enforce", "exec_shell", denied(&[])),
        ("enforce", "exec_image_hardlink", denied(&[])),
        ("enforce", "exec_runtime_hardlink", vec![("link", "errno=1"), ("result", "errno=2")]),
        ("enforce", "exec_renamed", vec![("rename", "errno=1"), ("result", "errno=2")]),
        ("enforce", "exec_copy_tmp", denied(&[("copy", "ok")])),
        ("enforce", "exec_copy_rootfs", denied(&[("copy", "ok")])),
        ("enforce", "exec_script", denied(&[])),
        ("enforce", "exec_package_manager", denied(&[])),
        ("enforce", "exec_denied", denied(&[])),
        ("enforce", "open_write", denied(&[("content", "unchanged")])),
        ("enforce", "create", denied(&[("exists", "false")])),
        ("enforce", "unlink", denied(&[("exists", "true")])),
        ("enforce", "rename", denied(&[("exists", "true")])),
        ("enforce", "truncate", denied(&[("content", "unchanged")])),
        ("enforce", "chmod", denied(&[])),
        ("enforce", "chown", denied(&[])),
        ("enforce", "link", denied(&[("exists", "false")])),
        ("enforce", "symlink", denied(&[("exists", "false")])),
        ("enforce", "mkdir", denied(&[("exists", "false")])),
        ("enforce", "rmdir", denied(&[("exists", "true")])),
        ("enforce", "mount", denied(&[])),
        ("enforce", "allow_write_create", ok(&[("exists", "true")])),
        ("enforce", "allow_write_mkdir", ok(&[])),
        ("enforce", "allow_write_near_miss", denied(&[("exists", "false")])),
        ("enforce", "volume_write", ok(&[])),
        ("evicted", "exec_renamed_again", denied(&[])),
        ("evicted", "exec_shell", denied(&[])),
        ("host", "exec_shell", ok(&[])),
        ("host", "exec_copy_tmp", ok(&[("copy", "ok")])),
        ("host", "host_write", ok(&[("content", "changed(9b)")])),
        ("host", "create", ok(&[("exists", "true")])),
        ("host", "mount", ok(&[])),
        ("disarmed", "exec_shell", ok(&[])),
        ("disarmed", "create", ok(&[("exists", "true")])),
        ("pinned", "exec_shell", denied(&[])),
        ("pinned", "pinned_write", denied(&[("content", "unchanged")])),
        ("unpinned", "exec_shell", ok(&[])),
        ("unpinned", "pinned_write", ok(&[("content", "changed(9b)")])),
    ];
    // Audit: everything the enforce phase denied happens.
    let audit_side_effects: [(&str, &[(&str, &str)]); 9] = [
        ("exec_runtime_hardlink", &[("link", "ok")]),
        ("exec_renamed", &[("rename", "ok")]),
        ("open_write", &[("content", "changed(9b)")]),
        ("create", &[("exists", "true")]),
        ("unlink", &[("exists", "false")]),
        ("rename", &[("exists", "false")]),
        ("truncate", &[("content", "changed(0b)")]),
        ("rmdir", &[("exists", "false")]),
        ("allow_write_near_miss", &[("exists", "true")]),
    ];
    let enforce_names: Vec<&'static str> = e.iter().filter(|c| c.0 == "enforce").map(|c| c.1).collect();
    for name in enforce_names {
        let extra = audit_side_effects.iter().find(|(n, _)| *n == name).map_or(&[][..], |(_, x)| *x);
        e.push(("audit", name, ok(extra)));
    }
    e
}

/// Decisions of a phase, exactly (order-insensitive): (action, reason, path).
fn expected_decisions(phase: &str) -> Vec<(&'static str, &'static str, String)> {
    let common = |p: &str| {
        vec![
            ("exec", "shell", "/bin/sh".to_owned()),
            ("exec", "shell", "/usr/bin/sh-hardlink".to_owned()),
            ("link", "shell", "/bin/sh".to_owned()),
            ("exec", "not_from_image", format!("/tmp/sh-copy-{p}")),
            ("exec", "not_from_image", format!("/var/cache/app/sh-copy-{p}")),
            ("exec", "shell", "/bin/sh".to_owned()), // the #!/bin/sh script's interpreter
            ("exec", "package_manager", "/bin/apt-get".to_owned()),
            ("exec", "exec_denied", "/bin/denied".to_owned()),
            ("open_write", "immutable", "/etc/f-write".to_owned()),
            ("create", "immutable", format!("/etc/f-new-{p}")),
            ("unlink", "immutable", "/etc/f-unlink".to_owned()),
            ("rename", "immutable", "/etc/f-rename".to_owned()),
            ("truncate", "immutable", "/etc/f-trunc".to_owned()),
            ("chmod", "immutable", "/etc/f-chmod".to_owned()),
            ("chown", "immutable", "/etc/f-chown".to_owned()),
            ("link", "immutable", format!("/etc/f-link2-{p}")),
            ("symlink", "immutable", format!("/etc/l-new-{p}")),
            ("mkdir", "immutable", format!("/etc/d-new-{p}")),
            ("rmdir", "immutable", "/etc/d-rmdir".to_owned()),
            ("mount", "immutable", "/mnt".to_owned()),
            ("create", "immutable", format!("/var/cache/appx-{p}")),
        ]
    };
    match phase {
        "enforce" => {
            let mut d = common("enforce");
            d.push(("rename", "immutable", "/usr/bin/sh-hardlink".to_owned()));
            d
        }
        "audit" => {
            let mut d = common("audit");
            // Allowed to proceed, audit sees what follows: the link is made and run, renamed
            // (inside the allowed prefix: no decision) and run; created files are then opened
            // for writing; a rename's second end is judged too.
            d.push(("exec", "shell", "/var/cache/app/sh-link-audit".to_owned()));
            d.push(("exec", "shell", "/var/cache/app/renamed-audit".to_owned()));
            d.push(("open_write", "immutable", "/etc/f-new-audit".to_owned()));
            d.push(("open_write", "immutable", "/var/cache/appx-audit".to_owned()));
            d.push(("rename", "immutable", "/etc/f-renamed-audit".to_owned()));
            d
        }
        // The audit phase copied /bin/sh up through a hard link; after eviction overlayfs gives
        // it the upper inode's number (lower nlink > 1): exec_only_image still denies it.
        "evicted" => vec![
            ("exec", "not_from_image", "/var/cache/app/renamed-audit".to_owned()),
            ("exec", "not_from_image", "/bin/sh".to_owned()),
        ],
        "pinned" => vec![
            ("exec", "not_from_image", "/bin/sh".to_owned()),
            ("open_write", "immutable", "/etc/f-pinned".to_owned()),
        ],
        _ => vec![],
    }
}

fn one<'a>(lines: &'a [Line], kind: &str) -> &'a Line {
    let found: Vec<&Line> = lines.iter().filter(|l| l.kind == kind).collect();
    assert_eq!(found.len(), 1, "exactly one `LSMVM {kind}` line, got {found:?}");
    found[0]
}

#[test]
fn bpf_lsm_enforcement_in_a_debian_6_1_guest() {
    let cache = PathBuf::from(std::env::var("PALISADE_LSM_VM_CACHE").unwrap_or_else(|_| "/var/cache/palisade-lsm-vm".into()));
    let (kernel, overlay) = (cache.join("vmlinuz"), cache.join("overlay.ko"));
    for (what, path) in [("guest kernel", &kernel), ("overlay module", &overlay), ("busybox-static", &PathBuf::from("/bin/busybox"))] {
        if !path.is_file() && skip_or_fail(&format!("{what} missing at {}", path.display())) {
            return;
        }
    }
    let qemu_ok = Command::new("qemu-system-x86_64").arg("--version").output().is_ok_and(|o| o.status.success());
    let cpio_ok = Command::new("cpio").arg("--version").output().is_ok_and(|o| o.status.success());
    if (!qemu_ok || !cpio_ok) && skip_or_fail("qemu-system-x86_64 or cpio missing") {
        return;
    }

    let bin = guest_binary();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lsm-vm");
    let root = work.join("root");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(root.join("bin")).expect("initramfs root");
    let copy = |from: &Path, to: &str| {
        std::fs::copy(from, root.join(to)).unwrap_or_else(|e| panic!("copy {} -> {to}: {e}", from.display()));
    };
    copy(Path::new("/bin/busybox"), "bin/busybox");
    copy(&workspace().join("tests/lsm-vm/init.sh"), "init");
    copy(&bin, "lsm-vm-check");
    copy(&overlay, "overlay.ko");
    let initrd = work.join("initramfs.cpio.gz");
    initramfs(&root, &initrd);

    let console = boot(&kernel, &initrd);
    std::fs::write(work.join("console.log"), &console).expect("save console");
    let lines = parse(&console);
    let errors: Vec<&Line> = lines.iter().filter(|l| l.kind == "error").collect();
    assert!(errors.is_empty(), "guest errors: {errors:?}\nconsole in {}", work.join("console.log").display());
    assert!(console.contains("LSMVM overlay=loaded"), "overlay.ko did not load");
    assert!(lines.iter().any(|l| l.kind == "probe"), "probe line missing");
    for step in ["run", "pinned"] {
        let exit = lines.iter().find(|l| l.kind == "exit" && l.get("step") == step).unwrap_or_else(|| panic!("step {step} did not finish"));
        assert_eq!(exit.get("code"), "0", "step {step}");
    }

    // Loading attaches each hook once; the second process reuses the pins; unpinning detaches.
    let load = one(&lines, "load");
    assert_eq!((load.get("reused"), load.get("programs")), ("false", "13"));
    let reload = one(&lines, "reload");
    assert_eq!((reload.get("reused"), reload.get("programs")), ("true", "13"), "pins reused, nothing attached twice");
    let unpinned = one(&lines, "unpinned");
    assert_eq!((unpinned.get("programs"), unpinned.get("pins_left")), ("0", "false"));
    assert!(console.contains("LSMVM drops=0"), "ring buffer dropped decisions");

    // Every case's outcome.
    let mut failures = Vec::new();
    for (phase, name, want) in expected_cases() {
        let Some(case) = lines.iter().find(|l| l.kind == "case" && l.get("phase") == phase && l.get("name") == name) else {
            failures.push(format!("{phase}/{name}: no output"));
            continue;
        };
        for (key, value) in want {
            if case.get(key) != value {
                failures.push(format!("{phase}/{name}: {key}={} (want {value})", case.get(key)));
            }
        }
    }

    // Every decision: exactly the expected ones per phase, with the phase's enforcement.
    let setup = one(&lines, "setup");
    let cgroups = one(&lines, "cgroups");
    for phase in ["enforce", "audit", "evicted", "host", "disarmed", "pinned"] {
        let got: Vec<&Line> = lines.iter().filter(|l| l.kind == "decision" && l.get("phase") == phase).collect();
        let mut want = expected_decisions(phase);
        let (enforced, errno, cgroup) = match phase {
            "audit" => ("0", "0", cgroups.get("audit")),
            _ => ("1", "1", cgroups.get("enforce")),
        };
        for d in &got {
            let key = (d.get("action"), d.get("reason"), d.get("path").to_owned());
            match want.iter().position(|w| (w.0, w.1, w.2.as_str()) == (key.0, key.1, key.2.as_str())) {
                Some(i) => {
                    want.remove(i);
                }
                None => failures.push(format!("{phase}: unexpected decision {:?}", d.fields)),
            }
            if (d.get("enforced"), d.get("errno"), d.get("cgroup"), d.get("comm")) != (enforced, errno, cgroup, "lsm-vm-check") {
                failures.push(format!("{phase}: want enforced={enforced} errno={errno} cgroup={cgroup}: {:?}", d.fields));
            }
        }
        failures.extend(want.iter().map(|w| format!("{phase}: missing decision {w:?}")));
    }

    // Identity: the kernel's (dev, ino) of the image's shell is what stat(2) of the merged rootfs
    // gave the loader, and the rootfs superblock is the overlay's.
    let sh_exec = lines
        .iter()
        .find(|l| l.kind == "decision" && l.get("phase") == "enforce" && l.get("path") == "/bin/sh" && l.get("action") == "exec")
        .expect("exec /bin/sh decision");
    assert_eq!((sh_exec.get("exe_dev"), sh_exec.get("exe_ino")), (setup.get("sh_dev"), setup.get("sh_ino")), "kernel identity = stat identity");
    assert_eq!(setup.get("rootfs_dev"), setup.get("sh_dev"));
    let evicted = lines.iter().find(|l| l.kind == "decision" && l.get("phase") == "evicted").expect("evicted decision");
    assert_ne!(evicted.get("exe_ino"), setup.get("sh_ino"), "a copied-up multiply-linked file changes inode number");

    assert!(failures.is_empty(), "{} mismatches:\n{}\nconsole in {}", failures.len(), failures.join("\n"), work.join("console.log").display());
}
