//! The BPF-LSM guest test (lsm_vm.rs) on Debian's 6.12 cloud kernel (bookworm-security):
//! the same attack matrix on a kernel where inode_setattr takes an idmap (the second program
//! layout), POSIX ACLs have hooks of their own and overlayfs maps files through backing files.
//!
//! Kernel from `$PALISADE_LSM_VM_CACHE_6_12` (default /var/cache/palisade-lsm-vm-6.12,
//! filled by tests/lsm-vm/install-deps.sh). `cargo test -p palisade-lsm --test lsm_vm_6_12`.

mod guest;
mod matrix;

#[test]
fn bpf_lsm_enforcement_in_a_debian_6_12_guest() {
    let cache = std::env::var("PALISADE_LSM_VM_CACHE_6_12").unwrap_or_else(|_| "/var/cache/palisade-lsm-vm-6.12".into());
    // This test binary runs this one test: the variable guest.rs reads is ours to set.
    std::env::set_var("PALISADE_LSM_VM_CACHE", cache);
    matrix::run("lsm-vm-6.12", matrix::Kernel::V6_12);
}
