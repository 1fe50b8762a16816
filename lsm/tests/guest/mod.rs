//! Booting the BPF-LSM QEMU guest (tests/lsm-vm): shared by lsm_vm.rs (the attack matrix),
//! lsm_vm_bench.rs (the overhead benchmark, ignored by default) and the monitor crate's
//! lsm_guest_daemon.rs (the daemon enforcing through BPF-LSM), which includes this file.
//!
//! Builds lsm-vm-check statically (its own target dir; the BPF object is embedded), packs it
//! with busybox-static, overlay.ko and tests/lsm-vm/init.sh into an initramfs, boots Debian's
//! 6.1 cloud kernel under TCG and returns the `LSMVM ...` lines of the serial console.
//!
//! Needs tests/lsm-vm/install-deps.sh (QEMU, busybox-static, cpio, the kernel in
//! /var/cache/palisade-lsm-vm or $PALISADE_LSM_VM_CACHE). Missing pieces fail the test unless
//! PALISADE_ALLOW_SKIP_PRIVILEGED=1. $PALISADE_LSM_VM_BIN may name a prebuilt static binary.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One `LSMVM <kind> key=value ...` line.
#[derive(Debug)]
pub(crate) struct Line {
    pub kind: String,
    pub fields: HashMap<String, String>,
}

impl Line {
    pub(crate) fn get(&self, key: &str) -> &str {
        self.fields.get(key).map_or("<absent>", String::as_str)
    }
}

/// A finished boot: the console, where it was saved, and its parsed lines.
pub(crate) struct Boot {
    pub console: String,
    pub log: PathBuf,
    pub lines: Vec<Line>,
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

/// The static guest binary: $PALISADE_LSM_VM_BIN, or built here into its own target dir
/// (optimized for the benchmark, whose loops should cost what the kernel makes them cost).
fn guest_binary(release: bool) -> PathBuf {
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
        .args(release.then_some("--release"))
        .args(["--", "-C", "target-feature=+crt-static", "-C", "strip=symbols"])
        .status()
        .expect("run cargo rustc for lsm-vm-check");
    assert!(status.success(), "building the static lsm-vm-check failed: {status}");
    eprintln!("lsm_vm: static lsm-vm-check built in {:.1}s", t.elapsed().as_secs_f64());
    target.join(if release { "release" } else { "debug" }).join("lsm-vm-check")
}

/// newc cpio of `root`, gzipped, at `out`.
fn initramfs(root: &Path, out: &Path) {
    let script = format!("cd '{}' && find . | cpio -o -H newc --quiet | gzip -1 > '{}'", root.display(), out.display());
    let status = Command::new("sh").args(["-c", &script]).status().expect("run cpio");
    assert!(status.success(), "building the initramfs failed: {status}");
}

/// How to boot the guest.
pub(crate) struct Options<'a> {
    /// Names the work directory (`<CARGO_TARGET_TMPDIR>/<name>`).
    pub name: &'a str,
    /// Appended to the kernel command line.
    pub append: &'a str,
    /// The guest is killed (and the test fails) after this long.
    pub timeout: Duration,
    /// An optimized lsm-vm-check (the benchmark's loops should cost what the kernel makes
    /// them cost); else a debug one, quicker to build.
    pub release: bool,
    /// QEMU's `-icount shift=0,sleep=off`: the guest's clock advances by one nanosecond per
    /// executed guest instruction instead of with the host's time, so in-guest timings are
    /// instruction counts, deterministic whatever else runs on the host.
    pub icount: bool,
    /// More files for the initramfs: (host file, absolute path in the guest).
    pub extra: Vec<(PathBuf, String)>,
}

/// Boot and return the console output; panics after `timeout`.
fn qemu(kernel: &Path, initrd: &Path, o: &Options<'_>) -> String {
    let (append, timeout) = (o.append, o.timeout);
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-cpu", "max", "-m", "2048", "-smp", "1", "-nographic", "-no-reboot"])
        .args(if o.icount { &["-icount", "shift=0,sleep=off"][..] } else { &[] })
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", &format!("console=ttyS0 panic=-1 quiet {append}")])
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
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let out = reader.join().expect("reader");
            let tail: Vec<&str> = out.lines().rev().take(40).collect();
            panic!("guest did not finish within {timeout:?}; console tail:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub(crate) fn parse(console: &str) -> Vec<Line> {
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

/// Builds the initramfs and boots it as `o` says; `None` when a dependency is missing and
/// skipping is allowed. Asserts what every boot needs: overlayfs loaded, the workload
/// started, no `LSMVM error` line.
pub(crate) fn boot(o: &Options<'_>) -> Option<Boot> {
    let cache = PathBuf::from(std::env::var("PALISADE_LSM_VM_CACHE").unwrap_or_else(|_| "/var/cache/palisade-lsm-vm".into()));
    let (kernel, overlay) = (cache.join("vmlinuz"), cache.join("overlay.ko"));
    for (what, path) in [("guest kernel", &kernel), ("overlay module", &overlay), ("busybox-static", &PathBuf::from("/bin/busybox"))] {
        if !path.is_file() && skip_or_fail(&format!("{what} missing at {}", path.display())) {
            return None;
        }
    }
    let qemu_ok = Command::new("qemu-system-x86_64").arg("--version").output().is_ok_and(|o| o.status.success());
    let cpio_ok = Command::new("cpio").arg("--version").output().is_ok_and(|o| o.status.success());
    if (!qemu_ok || !cpio_ok) && skip_or_fail("qemu-system-x86_64 or cpio missing") {
        return None;
    }

    let bin = guest_binary(o.release);
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(o.name);
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
    for (from, to) in &o.extra {
        let to = to.trim_start_matches('/');
        if let Some(dir) = Path::new(to).parent() {
            std::fs::create_dir_all(root.join(dir)).expect("initramfs directory");
        }
        copy(from, to);
    }
    let initrd = work.join("initramfs.cpio.gz");
    initramfs(&root, &initrd);

    let console = qemu(&kernel, &initrd, o);
    let log = work.join("console.log");
    std::fs::write(&log, &console).expect("save console");
    let lines = parse(&console);
    let errors: Vec<&Line> = lines.iter().filter(|l| l.kind == "error").collect();
    assert!(errors.is_empty(), "guest errors: {errors:?}\nconsole in {}", log.display());
    assert!(console.contains("LSMVM overlay=loaded"), "overlay.ko did not load");
    assert!(lines.iter().any(|l| l.kind == "exit"), "the guest workload did not run; console in {}", log.display());
    Some(Boot { console, log, lines })
}

/// Asserts that `step` of init.sh exited 0.
pub(crate) fn step_ok(boot: &Boot, step: &str) {
    let exit = boot
        .lines
        .iter()
        .find(|l| l.kind == "exit" && l.get("step") == step)
        .unwrap_or_else(|| panic!("step {step} did not finish; console in {}", boot.log.display()));
    assert_eq!(exit.get("code"), "0", "step {step}; console in {}", boot.log.display());
}
