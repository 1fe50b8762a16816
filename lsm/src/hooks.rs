//! Which LSM hooks the enforcement object serves, and which of its programs serves each: one
//! per hook, except where a hook's arguments changed across kernels.

use aya::programs::{Lsm, ProgramError};
use aya::{Btf, Ebpf};
use tracing::debug;

/// The LSM hooks, each served by the program of the same name in `enforce.bpf.c` (or by one
/// of the variants [`programs_of`] lists).
pub const HOOKS: [&str; 19] = [
    "bprm_check_security",
    "file_open",
    "path_mknod",
    "path_unlink",
    "path_mkdir",
    "path_rmdir",
    "path_symlink",
    "path_link",
    "path_rename",
    "path_truncate",
    "path_chmod",
    "path_chown",
    "sb_mount",
    "move_mount",
    "mmap_file",
    "file_mprotect",
    "inode_setattr",
    "inode_setxattr",
    "inode_removexattr",
];

/// Hooks attached where the kernel has them (its BTF names `bpf_lsm_<hook>`): POSIX ACL changes
/// have hooks of their own since 6.2 (before, they are xattr writes, which `inode_setxattr`
/// sees). Not part of a complete pin set: a kernel without them has nothing to pin.
pub const OPTIONAL_HOOKS: [&str; 2] = ["inode_set_acl", "inode_remove_acl"];

/// The programs that can serve `hook`, in the order they are tried. A hook whose arguments
/// changed across kernels has one program per layout: `inode_setattr` takes (dentry, attr)
/// up to 6.7 and (idmap, dentry, attr) since. The verifier refuses a program that reads an
/// argument the hook does not have, so the newest layout is tried first and a refusal
/// (EACCES/EINVAL) falls back to the next; the older layout loaded on a newer kernel would
/// read the wrong arguments without being refused.
pub fn programs_of(hook: &'static str) -> &'static [&'static str] {
    match hook {
        "inode_setattr" => &["inode_setattr_idmap", "inode_setattr"],
        "bprm_check_security" => &["bprm_check_security"],
        "file_open" => &["file_open"],
        "path_mknod" => &["path_mknod"],
        "path_unlink" => &["path_unlink"],
        "path_mkdir" => &["path_mkdir"],
        "path_rmdir" => &["path_rmdir"],
        "path_symlink" => &["path_symlink"],
        "path_link" => &["path_link"],
        "path_rename" => &["path_rename"],
        "path_truncate" => &["path_truncate"],
        "path_chmod" => &["path_chmod"],
        "path_chown" => &["path_chown"],
        "sb_mount" => &["sb_mount"],
        "move_mount" => &["move_mount"],
        "mmap_file" => &["mmap_file"],
        "file_mprotect" => &["file_mprotect"],
        "inode_setxattr" => &["inode_setxattr"],
        "inode_removexattr" => &["inode_removexattr"],
        "inode_set_acl" => &["inode_set_acl"],
        "inode_remove_acl" => &["inode_remove_acl"],
        _ => &[],
    }
}

/// Loads the first program of [`programs_of`]`(hook)` the verifier accepts; returns its name.
/// Only a verifier refusal (EACCES, EINVAL) moves on to the next layout: anything else (EPERM
/// from a kernel that refuses LSM programs) is the answer.
pub(crate) fn load_variant(ebpf: &mut Ebpf, btf: &Btf, hook: &'static str) -> Result<&'static str, ProgramError> {
    let candidates = programs_of(hook);
    for (i, name) in candidates.iter().enumerate() {
        let program: &mut Lsm =
            ebpf.program_mut(name).ok_or(ProgramError::InvalidName { name: (*name).into() })?.try_into()?;
        match program.load(hook, btf) {
            Ok(()) => return Ok(name),
            Err(ProgramError::LoadError { io_error, verifier_log })
                if i + 1 < candidates.len() && matches!(io_error.raw_os_error(), Some(13 | 22)) =>
            {
                debug!(hook, program = name, %io_error, log = %verifier_log, "layout refused by the verifier, trying the next");
            }
            Err(e) => return Err(e),
        }
    }
    Err(ProgramError::InvalidName { name: hook.into() })
}

