//! Compiles the kernel programs in `src/bpf/*.bpf.c` with clang (`-target bpf`, CO-RE) into
//! `$OUT_DIR`, against the kernel types of the target architecture kept in the repository
//! (`vmlinux/<arch>/vmlinux.h`, made by `vmlinux/generate.sh`): the build reads nothing of the
//! kernel it runs on, so it works in an image build, and CO-RE relocations make the objects run
//! on other kernels (tested on 6.1, 6.12 and 6.18).
//!
//! Needs clang and libbpf's headers (Debian: clang, libbpf-dev). `PALISADE_VMLINUX_H` may point
//! at another vmlinux.h (a kernel newer than the kept header's, or an architecture without one).

use std::path::PathBuf;
use std::process::Command;

fn run(cmd: &mut Command, what: &str) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run {:?}: {e}", cmd.get_program()));
    if !out.status.success() {
        panic!("{what} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    out.stdout
}

/// The target architecture's vmlinux.h and clang's `__TARGET_ARCH_*` name for it (libbpf's
/// bpf_tracing.h reads pt_regs by it).
fn vmlinux_h() -> (PathBuf, &'static str) {
    println!("cargo:rerun-if-env-changed=PALISADE_VMLINUX_H");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").expect("CARGO_CFG_TARGET_ARCH");
    let clang_arch = match arch.as_str() {
        "x86_64" => "x86",
        "aarch64" => "arm64",
        other => panic!("no BPF build for target architecture {other}: the programs know x86_64 and aarch64"),
    };
    if let Some(p) = std::env::var_os("PALISADE_VMLINUX_H") {
        return (PathBuf::from(p), clang_arch);
    }
    let kept = PathBuf::from(format!("vmlinux/{arch}/vmlinux.h"));
    println!("cargo:rerun-if-changed={}", kept.display());
    if !kept.is_file() {
        panic!(
            "no {} for target architecture {arch}: run enforcer-ebpf/vmlinux/generate.sh on a machine of that \
             architecture (or give its BTF file), or set PALISADE_VMLINUX_H",
            kept.display()
        );
    }
    (kept, clang_arch)
}

fn main() {
    // Without the `objects` feature the crate is the ABI mirror only: no clang, no BTF.
    if std::env::var_os("CARGO_FEATURE_OBJECTS").is_none() {
        return;
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let src = PathBuf::from("src/bpf");
    println!("cargo:rerun-if-changed=src/bpf");
    let (vmlinux, clang_arch) = vmlinux_h();
    let include = out.join("include");
    std::fs::create_dir_all(&include).expect("include dir");
    std::fs::copy(&vmlinux, include.join("vmlinux.h")).expect("copy vmlinux.h");

    let mut sources: Vec<PathBuf> = std::fs::read_dir(&src)
        .expect("src/bpf")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.c"))
        .collect();
    sources.sort();
    for c in sources {
        let stem = c.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".bpf.c")).expect("name");
        let obj = out.join(format!("{stem}.bpf.o"));
        run(
            Command::new("clang")
                .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"])
                .arg(format!("-D__TARGET_ARCH_{clang_arch}"))
                .arg("-I")
                .arg(&include)
                .arg("-I")
                .arg(&src)
                .arg("-c")
                .arg(&c)
                .arg("-o")
                .arg(&obj),
            &format!("clang {}", c.display()),
        );
        // Strip DWARF but keep BTF (.BTF/.BTF.ext), which CO-RE and aya need.
        let _ = Command::new("llvm-strip").arg("-g").arg(&obj).status();
    }
}
