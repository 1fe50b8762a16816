//! Privileged: what the exec program copies for Falco's process fields. The environment
//! (`proc.env`), even of a process that exits at once; and which overlayfs layer the
//! executable is in, as Falco's `EXE_LOWER_LAYER` / `EXE_UPPER_LAYER` exec flags
//! (`proc.is_exe_lower_layer`, `proc.is_exe_upper_layer`): a program of the lower (image)
//! layer, and one written through the overlay (so in its upper layer), both run from the
//! merged mount.
//!
//! Needs root, overlayfs and a kernel with BTF. Where that is missing the test fails, unless
//! `PALISADE_ALLOW_SKIP_PRIVILEGED=1` is set, in which case it says why and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{cgroup2_root, skip_or_fail, TestCgroup};
use palisade_daemon::kernel::{decode, Capture, Kernel, Record};
use palisade_ebpf::abi::{EXE_LOWER_LAYER, EXE_UPPER_LAYER};

/// An overlay mount over a fresh lower, upper and work directory; unmounted and removed when
/// dropped.
struct Overlay {
    dir: PathBuf,
}

impl Overlay {
    fn mount(dir: &Path) -> Result<Overlay, String> {
        let _ = std::fs::remove_dir_all(dir);
        for d in ["lower", "upper", "work", "merged"] {
            std::fs::create_dir_all(dir.join(d)).map_err(|e| format!("mkdir {d}: {e}"))?;
        }
        std::fs::copy("/bin/true", dir.join("lower/true")).map_err(|e| format!("copy /bin/true: {e}"))?;
        let opts = format!(
            "lowerdir={},upperdir={},workdir={}",
            dir.join("lower").display(),
            dir.join("upper").display(),
            dir.join("work").display()
        );
        let status = Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o", &opts])
            .arg(dir.join("merged"))
            .status()
            .map_err(|e| format!("mount: {e}"))?;
        if !status.success() {
            return Err(format!("mount -t overlay failed: {status}"));
        }
        Ok(Overlay { dir: dir.to_owned() })
    }

    fn merged(&self, name: &str) -> PathBuf {
        self.dir.join("merged").join(name)
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.join("merged")).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn exec_flags_name_the_overlay_layer_of_the_executable() {
    if !nix::unistd::geteuid().is_root() {
        return skip_or_fail("not root");
    }
    let Some(root) = cgroup2_root() else { return skip_or_fail("no cgroup2 mount") };
    let overlay = match Overlay::mount(&std::env::temp_dir().join(format!("palisade-layers-{}", std::process::id()))) {
        Ok(o) => o,
        Err(e) => return skip_or_fail(&format!("no overlayfs: {e}")),
    };
    // Written through the overlay: the copy lives in the upper layer.
    std::fs::copy(overlay.merged("true"), overlay.merged("written")).expect("copy into the overlay");
    let mut kernel = match Kernel::load() {
        Ok(k) => k,
        Err(e) => return skip_or_fail(&format!("cannot load the BPF programs: {e}")),
    };
    let cg = TestCgroup::new(&root, &format!("palisade-test-layers-{}", std::process::id()));
    kernel.configure(&Capture::default()).expect("configure");
    let mut scope = kernel.take_scope().expect("scope maps");
    scope.watch_untracked(false).expect("scope");
    scope.track(cg.id()).expect("track");
    let marker = format!("palisade-layer-{}", std::process::id());
    for program in ["true", "written"] {
        let status = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("echo $$ > {}/cgroup.procs && exec {} {marker}", cg.0.display(), overlay.merged(program).display()))
            .status()
            .expect("spawn sh");
        assert!(status.success(), "{program} ran");
    }

    let mut flags = std::collections::BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && flags.len() < 2 {
        kernel.wait(Duration::from_millis(100)).expect("poll");
        kernel.drain(|bytes| {
            if let Ok(Record::Exec { filename, argv, exe_flags, .. }) = decode(bytes) {
                if argv.iter().any(|a| a == &marker) {
                    flags.insert(filename.rsplit('/').next().unwrap_or_default().to_owned(), exe_flags);
                }
            }
        });
    }
    assert_eq!(flags.get("true"), Some(&EXE_LOWER_LAYER), "an image file: lower layer ({flags:?})");
    assert_eq!(flags.get("written"), Some(&EXE_UPPER_LAYER), "written through the overlay: upper layer ({flags:?})");
}

/// The exec records of processes run (by `/bin/sh -c SCRIPT`, after moving into a tracked
/// cgroup) whose argv contains `marker`, up to the exec of `last`.
fn exec_records(script: &str, marker: &str, last: &str) -> Option<Vec<Record>> {
    let root = cgroup2_root()?;
    let mut kernel = Kernel::load().ok()?;
    let cg = TestCgroup::new(&root, &format!("palisade-test-env-{}", std::process::id()));
    kernel.configure(&Capture::default()).expect("configure");
    let mut scope = kernel.take_scope().expect("scope maps");
    scope.watch_untracked(false).expect("scope");
    scope.track(cg.id()).expect("track");
    let status = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("echo $$ > {}/cgroup.procs && {script}", cg.0.display()))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir("/")
        .status()
        .expect("spawn sh");
    assert!(status.success(), "{script}");
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let done = |out: &[Record]| out.iter().any(|r| matches!(r, Record::Exec { filename, .. } if filename == last));
    while Instant::now() < deadline && !done(&out) {
        kernel.wait(Duration::from_millis(100)).expect("poll");
        kernel.drain(|bytes| {
            if let Ok(r @ Record::Exec { .. }) = decode(bytes) {
                if matches!(&r, Record::Exec { argv, .. } if argv.iter().any(|a| a == marker)) {
                    out.push(r);
                }
            }
        });
    }
    Some(out)
}

#[test]
fn exec_records_carry_the_environment_of_a_process_gone_at_once() {
    if !nix::unistd::geteuid().is_root() {
        return skip_or_fail("not root");
    }
    let marker = format!("palisade-env-{}", std::process::id());
    // `true` has exited long before user space reads its record: /proc has nothing left.
    let script = format!("exec env GLIBC_TUNABLES=glibc.malloc.mxfast=0 PALISADE_MARK={marker} /bin/true {marker}");
    let Some(records) = exec_records(&script, &marker, "/bin/true") else {
        return skip_or_fail("cannot load the BPF programs or no cgroup2 mount");
    };
    let Some(Record::Exec { env, .. }) = records.iter().find(|r| matches!(r, Record::Exec { filename, .. } if filename == "/bin/true"))
    else {
        panic!("no exec record of /bin/true {marker}: {records:?}")
    };
    let env = env.as_deref().expect("the kernel's records carry the environment");
    assert_eq!(
        env,
        ["PATH=/usr/bin:/bin", "PWD=/", "GLIBC_TUNABLES=glibc.malloc.mxfast=0", format!("PALISADE_MARK={marker}").as_str()],
        "the environment /bin/true was started with (the shell adds PWD)"
    );
}
