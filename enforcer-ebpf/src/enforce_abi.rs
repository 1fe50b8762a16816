//! The Rust mirror of `src/bpf/enforce.h`: the BPF-LSM enforcement programs' maps and their
//! decision record. Integers and byte arrays only (no `bool`/`enum` fields, no implicit
//! padding: bytemuck's `Pod` derive refuses padding at compile time); sizes and offsets are
//! asserted below and the constants are checked against the C header by a test.
//!
//! Devices are the kernel's internal encoding (`MAJOR << 20 | MINOR`, `super_block.s_dev`),
//! not stat(2)'s `st_dev`: see [`kernel_dev`].

use bytemuck::{Pod, Zeroable};
use std::mem::{offset_of, size_of};

/// Must equal `ENFORCE_ABI_VERSION` in enforce.h; part of the bpffs pin directory name, so pins
/// of another layout are never reused.
pub const ENFORCE_ABI_VERSION: u32 = 3;
/// `ENFORCE_PATH_MAX`: bytes of path in a decision record, NUL included.
pub const PATH_MAX: usize = 256;
/// `ENFORCE_COMM_LEN`.
pub const COMM_LEN: usize = 16;
/// `ENFORCE_PREFIX_MAX`: bytes of path in an [`AllowKey`].
pub const PREFIX_MAX: usize = 248;

/// `ENFORCE_MODE_*`: [`Policy::mode`].
pub mod mode {
    /// Decide and report, never deny.
    pub const AUDIT: u32 = 1;
    /// Deny with `EPERM` and report.
    pub const ENFORCE: u32 = 2;
}

/// `ENFORCE_*` bits of [`Policy::flags`].
pub mod flags {
    /// [`DENY_EXEC`](super::ExecKey) entries of kind shell apply.
    pub const DENY_SHELLS: u32 = 1;
    /// Entries of kind package manager apply.
    pub const DENY_PACKAGE_MANAGERS: u32 = 2;
    /// Writes to the rootfs superblock outside the allowed prefixes are denied.
    pub const IMMUTABLE: u32 = 4;
    /// Only files of the rootfs superblock that are not in its upper layer may run.
    pub const EXEC_ONLY_IMAGE: u32 = 8;
    /// Mounts from the container are denied (once [`Policy::mount_gate`](super::Policy) is 0).
    pub const DENY_MOUNT: u32 = 16;
    /// W^X: no exec or `PROT_EXEC` mapping of files in writable places, except beneath the
    /// `ALLOW_WRITABLE_EXEC` prefixes.
    pub const DENY_WRITABLE_EXEC: u32 = 32;
}

/// `enum enforce_action`: what a decision was about.
pub mod action {
    /// execve of a file.
    pub const EXEC: u32 = 1;
    /// open with write access.
    pub const OPEN_WRITE: u32 = 2;
    /// creation of a file (open O_CREAT, mknod).
    pub const CREATE: u32 = 3;
    /// unlink.
    pub const UNLINK: u32 = 4;
    /// rename (either end).
    pub const RENAME: u32 = 5;
    /// truncate.
    pub const TRUNCATE: u32 = 6;
    /// hard link.
    pub const LINK: u32 = 7;
    /// symlink.
    pub const SYMLINK: u32 = 8;
    /// mkdir.
    pub const MKDIR: u32 = 9;
    /// rmdir.
    pub const RMDIR: u32 = 10;
    /// chmod.
    pub const CHMOD: u32 = 11;
    /// chown.
    pub const CHOWN: u32 = 12;
    /// mount.
    pub const MOUNT: u32 = 13;
    /// A change of times alone (utimensat, utimes, futimens).
    pub const UTIMES: u32 = 14;
    /// setxattr (and POSIX ACLs where they are xattrs).
    pub const SETXATTR: u32 = 15;
    /// removexattr.
    pub const REMOVEXATTR: u32 = 16;
    /// mmap of a file with `PROT_EXEC`.
    pub const MMAP: u32 = 17;
    /// mprotect adding `PROT_EXEC` to a file mapping.
    pub const MPROTECT: u32 = 18;
}

/// `enum enforce_reason`: why; the first three are also the kinds of `DENY_EXEC` values.
pub mod reason {
    /// A shell (by file identity).
    pub const SHELL: u32 = 1;
    /// A package manager (by file identity).
    pub const PACKAGE_MANAGER: u32 = 2;
    /// An explicitly denied executable.
    pub const EXEC_DENIED: u32 = 3;
    /// An executable that is not part of the image.
    pub const NOT_FROM_IMAGE: u32 = 4;
    /// A write to the immutable image (or a mount).
    pub const IMMUTABLE: u32 = 5;
    /// W^X: the executed or mapped file lies in a writable place.
    pub const WRITABLE_EXEC: u32 = 6;
}

/// `ENFORCE_DECISION_PATH_UNKNOWN`: the decision's path could not be resolved completely.
pub const DECISION_PATH_UNKNOWN: u32 = 1;

/// `struct enforce_policy`: the `ENFORCED` value (key: cgroup v2 id, `u64`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Policy {
    /// [`mode`].
    pub mode: u32,
    /// [`flags`] bits.
    pub flags: u32,
    /// Kernel `s_dev` of the container rootfs mount's superblock.
    pub rootfs_dev: u32,
    /// Names this policy's `DENY_EXEC` and `ALLOW_WRITE` entries.
    pub policy_id: u32,
    /// Non-zero: mount denial waits until the process with this tgid (the container's init)
    /// execs; the kernel then sets it to 0. 0: mount denial (if flagged) applies at once.
    pub mount_gate: u32,
    /// The container runtime's mount namespace (inode number of `/proc/1/ns/mnt`, see
    /// `palisade_lsm::runtime_mnt_ns`; 0: unknown). W^X and exec_only_image skip tasks in it: the runtime's own processes in the
    /// container's cgroup before they enter the container (runc init for `runc exec`).
    pub runtime_mnt_ns: u32,
}

/// `struct exec_key`: the `DENY_EXEC` key (value: `u32` kind, a [`reason`] 1..=3).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct ExecKey {
    /// [`Policy::policy_id`].
    pub policy_id: u32,
    /// Kernel `s_dev` of the file's superblock.
    pub dev: u32,
    /// Inode number.
    pub ino: u64,
}

/// `struct allow_key`: the `ALLOW_WRITE` (and `ALLOW_WRITABLE_EXEC`) LPM-trie key, `prefixlen` included. aya's
/// `lpm_trie::Key` adds the prefix length itself: use [`AllowKey::data`] with it. (Not
/// `Pod`: bytemuck implements it for arrays of a few lengths only, and 248 is not one.)
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllowKey {
    /// Bits of `policy_id` + `path` that must match.
    pub prefixlen: u32,
    /// [`Policy::policy_id`].
    pub policy_id: u32,
    /// Normalized absolute path followed by `/`, zero-padded.
    pub path: [u8; PREFIX_MAX],
}

/// The data part of an `ALLOW_WRITE` key (everything after `prefixlen`).
pub type AllowKeyData = [u8; 4 + PREFIX_MAX];

impl AllowKey {
    /// The key for `prefix` (a normalized absolute path without trailing `/`, or `/`) in
    /// policy `policy_id`; `None` when the prefix does not fit in [`PREFIX_MAX`] bytes with
    /// its trailing `/`.
    pub fn for_prefix(policy_id: u32, prefix: &str) -> Option<AllowKey> {
        let mut path = [0u8; PREFIX_MAX];
        let bytes = prefix.trim_end_matches('/').as_bytes();
        if bytes.len() + 1 > PREFIX_MAX {
            return None;
        }
        path[..bytes.len()].copy_from_slice(bytes);
        path[bytes.len()] = b'/';
        let bits = 8 * (4 + bytes.len() as u32 + 1);
        Some(AllowKey { prefixlen: bits, policy_id, path })
    }

    /// The key without `prefixlen`, as aya's `lpm_trie::Key` wants it.
    pub fn data(&self) -> AllowKeyData {
        let mut data = [0u8; 4 + PREFIX_MAX];
        data[..4].copy_from_slice(&self.policy_id.to_ne_bytes());
        data[4..].copy_from_slice(&self.path);
        data
    }
}

/// `struct enforce_decision`: one ring-buffer record.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct DecisionRecord {
    /// [`ENFORCE_ABI_VERSION`].
    pub abi: u32,
    /// [`action`].
    pub action: u32,
    /// [`reason`].
    pub reason: u32,
    /// 1 when the operation was denied.
    pub enforced: u32,
    /// errno returned to the task, 0 when allowed.
    pub err: u32,
    /// Process id (tgid).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// [`Policy::policy_id`].
    pub policy_id: u32,
    /// Boot-time clock, ns.
    pub ts_ns: u64,
    /// cgroup v2 id of the task.
    pub cgroup_id: u64,
    /// Inode acted on (0 when it does not exist yet).
    pub target_ino: u64,
    /// Kernel `s_dev` of its superblock.
    pub target_dev: u32,
    /// Exec: the executed file's device; otherwise the acting process's executable's.
    pub exe_dev: u32,
    /// Inode of that executable.
    pub exe_ino: u64,
    /// Bytes used in `path`.
    pub path_len: u32,
    /// `ENFORCE_DECISION_*` bits.
    pub flags: u32,
    /// `comm`, NUL-padded.
    pub comm: [u8; COMM_LEN],
    /// Target path as the task sees it.
    pub path: [u8; PATH_MAX],
}

const _: () = assert!(size_of::<Policy>() == 24);
const _: () = assert!(offset_of!(Policy, mount_gate) == 16);
const _: () = assert!(offset_of!(Policy, runtime_mnt_ns) == 20);
const _: () = assert!(size_of::<ExecKey>() == 16);
const _: () = assert!(size_of::<AllowKey>() == 256);
const _: () = assert!(offset_of!(AllowKey, path) == 8);
const _: () = assert!(size_of::<DecisionRecord>() == 96 + PATH_MAX);
const _: () = assert!(offset_of!(DecisionRecord, ts_ns) == 32);
const _: () = assert!(offset_of!(DecisionRecord, target_ino) == 48);
const _: () = assert!(offset_of!(DecisionRecord, exe_ino) == 64);
const _: () = assert!(offset_of!(DecisionRecord, path_len) == 72);
const _: () = assert!(offset_of!(DecisionRecord, comm) == 80);
const _: () = assert!(offset_of!(DecisionRecord, path) == 96);

/// The kernel's internal `dev_t` (`MAJOR << 20 | MINOR`, what `super_block.s_dev` holds) of a
/// stat(2) `st_dev` (glibc's encoding: major in bits 8..20 and 32..44, minor in 0..8 and 20..32).
pub fn kernel_dev(st_dev: u64) -> u32 {
    let major = ((st_dev >> 8) & 0xfff) | ((st_dev >> 32) & !0xfff);
    let minor = (st_dev & 0xff) | ((st_dev >> 12) & !0xff);
    ((major as u32) << 20) | (minor as u32 & 0xf_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C header states the same layouts as this mirror (`ABI_SIZE`/`ABI_OFFSET` in
    /// enforce.h, `_Static_assert`s at compile time): same structs, same numbers.
    #[test]
    fn layouts_match_the_c_header() {
        let rust = [
            ("enforce_policy", "", size_of::<Policy>()),
            ("enforce_policy", "mount_gate", offset_of!(Policy, mount_gate)),
            ("enforce_policy", "runtime_mnt_ns", offset_of!(Policy, runtime_mnt_ns)),
            ("exec_key", "", size_of::<ExecKey>()),
            ("allow_key", "", size_of::<AllowKey>()),
            ("allow_key", "path", offset_of!(AllowKey, path)),
            ("enforce_decision", "", size_of::<DecisionRecord>()),
            ("enforce_decision", "ts_ns", offset_of!(DecisionRecord, ts_ns)),
            ("enforce_decision", "target_ino", offset_of!(DecisionRecord, target_ino)),
        ];
        let rust: Vec<(String, String, usize)> = rust.iter().map(|(t, f, n)| (t.to_string(), f.to_string(), *n)).collect();
        assert_eq!(crate::c_layout_checks(include_str!("bpf/enforce.h")), rust);
    }

    /// The constants here must be the header's (sizes are asserted at compile time).
    #[test]
    fn constants_match_the_c_header() {
        let header = include_str!("bpf/enforce.h");
        let define = |name: &str| -> u32 {
            header
                .lines()
                .find_map(|l| l.strip_prefix("#define ")?.strip_prefix(name)?.split_whitespace().next()?.parse().ok())
                .unwrap_or_else(|| panic!("{name} not defined in enforce.h"))
        };
        assert_eq!(define("ENFORCE_ABI_VERSION "), ENFORCE_ABI_VERSION);
        assert_eq!(define("ENFORCE_PATH_MAX "), PATH_MAX as u32);
        assert_eq!(define("ENFORCE_COMM_LEN "), COMM_LEN as u32);
        assert_eq!(define("ENFORCE_PREFIX_MAX "), PREFIX_MAX as u32);
        assert_eq!(define("ENFORCE_MODE_AUDIT "), mode::AUDIT);
        assert_eq!(define("ENFORCE_MODE_ENFORCE "), mode::ENFORCE);
        assert_eq!(define("ENFORCE_DENY_SHELLS "), flags::DENY_SHELLS);
        assert_eq!(define("ENFORCE_DENY_PACKAGE_MANAGERS "), flags::DENY_PACKAGE_MANAGERS);
        assert_eq!(define("ENFORCE_IMMUTABLE "), flags::IMMUTABLE);
        assert_eq!(define("ENFORCE_EXEC_ONLY_IMAGE "), flags::EXEC_ONLY_IMAGE);
        assert_eq!(define("ENFORCE_DENY_MOUNT "), flags::DENY_MOUNT);
        assert_eq!(define("ENFORCE_DENY_WRITABLE_EXEC "), flags::DENY_WRITABLE_EXEC);
        assert_eq!(define("ENFORCE_DECISION_PATH_UNKNOWN "), DECISION_PATH_UNKNOWN);
        let enums = [
            ("ENFORCE_ACT_EXEC", action::EXEC),
            ("ENFORCE_ACT_OPEN_WRITE", action::OPEN_WRITE),
            ("ENFORCE_ACT_CREATE", action::CREATE),
            ("ENFORCE_ACT_UNLINK", action::UNLINK),
            ("ENFORCE_ACT_RENAME", action::RENAME),
            ("ENFORCE_ACT_TRUNCATE", action::TRUNCATE),
            ("ENFORCE_ACT_LINK", action::LINK),
            ("ENFORCE_ACT_SYMLINK", action::SYMLINK),
            ("ENFORCE_ACT_MKDIR", action::MKDIR),
            ("ENFORCE_ACT_RMDIR", action::RMDIR),
            ("ENFORCE_ACT_CHMOD", action::CHMOD),
            ("ENFORCE_ACT_CHOWN", action::CHOWN),
            ("ENFORCE_ACT_MOUNT", action::MOUNT),
            ("ENFORCE_ACT_UTIMES", action::UTIMES),
            ("ENFORCE_ACT_SETXATTR", action::SETXATTR),
            ("ENFORCE_ACT_REMOVEXATTR", action::REMOVEXATTR),
            ("ENFORCE_ACT_MMAP", action::MMAP),
            ("ENFORCE_ACT_MPROTECT", action::MPROTECT),
            ("ENFORCE_REASON_SHELL", reason::SHELL),
            ("ENFORCE_REASON_PACKAGE_MANAGER", reason::PACKAGE_MANAGER),
            ("ENFORCE_REASON_EXEC_DENIED", reason::EXEC_DENIED),
            ("ENFORCE_REASON_NOT_FROM_IMAGE", reason::NOT_FROM_IMAGE),
            ("ENFORCE_REASON_IMMUTABLE", reason::IMMUTABLE),
            ("ENFORCE_REASON_WRITABLE_EXEC", reason::WRITABLE_EXEC),
        ];
        for (name, value) in enums {
            let line = header
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} not in enforce.h"));
            assert!(line.contains(&format!("= {value},")), "{name} = {value} in enforce.h");
        }
    }

    #[test]
    fn allow_keys_end_in_a_slash_and_count_their_bits() {
        let k = AllowKey::for_prefix(7, "/var/cache").expect("fits");
        assert_eq!(&k.path[..11], b"/var/cache/");
        assert!(k.path[11..].iter().all(|&b| b == 0));
        assert_eq!(k.prefixlen, 8 * (4 + 11));
        assert_eq!(AllowKey::for_prefix(7, "/var/cache/"), Some(k));
        let root = AllowKey::for_prefix(1, "/").expect("fits");
        assert_eq!(root.prefixlen, 8 * 5);
        assert_eq!(&root.path[..2], b"/\0");
        assert_eq!(&k.data()[..4], &7u32.to_ne_bytes());
        assert!(AllowKey::for_prefix(1, &format!("/{}", "a".repeat(PREFIX_MAX - 1))).is_none());
        assert!(AllowKey::for_prefix(1, &format!("/{}", "a".repeat(PREFIX_MAX - 2))).is_some());
    }

    #[test]
    fn stat_devices_become_kernel_devices() {
        // tmpfs/overlay: anonymous major 0.
        assert_eq!(kernel_dev(0x2a), 0x2a);
        // /dev/vda1 = 254:1 -> st_dev 0xfe01.
        assert_eq!(kernel_dev(0xfe01), (254 << 20) | 1);
        // minor > 255: 0:300 -> glibc puts minor bits 8.. at 20..
        let st_dev = (300u64 & 0xff) | ((300u64 & !0xff) << 12);
        assert_eq!(kernel_dev(st_dev), 300);
        // major > 255 (12 bits in the kernel's dev_t).
        let st_dev = ((4000u64 & 0xfff) << 8) | 3;
        assert_eq!(kernel_dev(st_dev), (4000 << 20) | 3);
    }
}
