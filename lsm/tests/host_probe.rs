//! probe() on the machine running the tests, judged by what it returns: where the kernel
//! refuses LSM programs (this project's CI hosts) the error must be the documented refusal;
//! where it accepts them, the programs must attach and pin for real. Needs root; without it
//! the test fails unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.

use palisade_lsm::{probe, Enforcer, ProbeError};

fn skip_or_fail(why: &str) {
    if std::env::var("PALISADE_ALLOW_SKIP_PRIVILEGED").as_deref() == Ok("1") {
        eprintln!("SKIPPED host probe: {why} (PALISADE_ALLOW_SKIP_PRIVILEGED=1)");
        return;
    }
    panic!("host probe cannot run: {why} (set PALISADE_ALLOW_SKIP_PRIVILEGED=1 to skip)");
}

#[test]
fn probe_says_plainly_whether_bpf_lsm_works() {
    if !std::fs::metadata("/sys/kernel/btf/vmlinux").is_ok_and(|m| m.is_file()) {
        return skip_or_fail("no kernel BTF at /sys/kernel/btf/vmlinux");
    }
    match probe() {
        Err(e @ ProbeError::Refused { .. }) => {
            let msg = e.to_string();
            eprintln!("probe: {msg}");
            assert!(msg.starts_with("BPF-LSM programs refused by this kernel"), "{msg}");
            assert!(msg.contains("EPERM"), "{msg}");
        }
        Err(ProbeError::NotActive { active }) => {
            assert!(!active.split(',').any(|l| l == "bpf"), "NotActive while the list has bpf: {active}");
        }
        Ok(()) => {
            // This kernel runs BPF-LSM: attach and pin for real under a private pin root.
            let bpffs = std::path::Path::new("/sys/fs/bpf");
            if !bpffs.is_dir() {
                return skip_or_fail("probe succeeded but /sys/fs/bpf is missing");
            }
            let root = bpffs.join(format!("palisade-lsm-test-{}", std::process::id()));
            let enforcer = Enforcer::load(&root).expect("load and pin");
            assert!(!enforcer.reused());
            enforcer.unpin_all().expect("unpin");
            let _ = std::fs::remove_dir(&root);
        }
        Err(other) => skip_or_fail(&format!("probe failed before reaching the LSM question: {other}")),
    }
}
