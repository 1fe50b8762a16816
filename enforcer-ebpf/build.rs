//! Compiles the kernel programs in `src/bpf/*.bpf.c` with clang (`-target bpf`, CO-RE) into
//! `$OUT_DIR`, after generating `vmlinux.h` from the build machine's kernel BTF with bpftool.
//! CO-RE relocations make the objects run on other kernels (tested on 6.1 and 6.18).
//!
//! Needs clang, bpftool and libbpf's headers (Debian: clang, bpftool, libbpf-dev).
//! `PALISADE_VMLINUX_H` may point at a pre-generated vmlinux.h instead of running bpftool.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command, what: &str) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run {:?}: {e}", cmd.get_program()));
    if !out.status.success() {
        panic!("{what} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    out.stdout
}

fn vmlinux_h(out: &Path) -> PathBuf {
    println!("cargo:rerun-if-env-changed=PALISADE_VMLINUX_H");
    if let Some(p) = std::env::var_os("PALISADE_VMLINUX_H") {
        return PathBuf::from(p);
    }
    let path = out.join("vmlinux.h");
    let bpftool = ["bpftool", "/usr/sbin/bpftool"]
        .into_iter()
        .find(|b| Command::new(b).arg("version").output().is_ok_and(|o| o.status.success()))
        .unwrap_or_else(|| panic!("bpftool not found: install Debian's bpftool (or set PALISADE_VMLINUX_H)"));
    let header = run(
        Command::new(bpftool).args(["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"]),
        "bpftool btf dump",
    );
    std::fs::write(&path, header).expect("write vmlinux.h");
    path
}

fn main() {
    // Without the `objects` feature the crate is the ABI mirror only: no clang, no BTF.
    if std::env::var_os("CARGO_FEATURE_OBJECTS").is_none() {
        return;
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let src = PathBuf::from("src/bpf");
    println!("cargo:rerun-if-changed=src/bpf");
    let vmlinux = vmlinux_h(&out);
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
                .args(["-O2", "-g", "-target", "bpf", "-D__TARGET_ARCH_x86", "-Wall", "-Werror"])
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
