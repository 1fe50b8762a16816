//! The BPF-LSM backend for real, in a QEMU guest (TCG) booting Debian's stock 6.1 cloud kernel:
//! this machine's kernel refuses LSM programs (shared/notes/lsm-vm.md).
//!
//! Boots the guest (guest/mod.rs) and asserts every line it prints: case outcomes (errno 1 =
//! EPERM for denials, files unchanged or absent afterwards), every decision record (action,
//! reason, enforced flag, errno, path, identity) -- exactly one per denied or would-deny
//! operation --, W^X for exec and PROT_EXEC mappings (the ld.so trick), times and xattrs of
//! image files, mount denial gated on the init's exec, pin reuse after the loader exited and
//! unpinning.

mod guest;
mod matrix;

#[test]
fn bpf_lsm_enforcement_in_a_debian_6_1_guest() {
    matrix::run("lsm-vm", matrix::Kernel::V6_1);
}
