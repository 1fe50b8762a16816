//! Decisions the kernel programs report: denials in enforce mode, would-deny in audit mode,
//! decoded from `struct enforce_decision` ring-buffer records.

use std::fmt;

use palisade_ebpf::enforce_abi::{self, action, reason, DecisionRecord, ENFORCE_ABI_VERSION};

/// Why a record could not be decoded.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than a record.
    #[error("decision record of {got} bytes, need {need}")]
    Short {
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// Written by programs of another ABI.
    #[error("decision record of ABI {0}, this build reads ABI {ENFORCE_ABI_VERSION}")]
    Abi(u32),
    /// An action value this build does not know.
    #[error("unknown action {0} in a decision record")]
    Action(u32),
    /// A reason value this build does not know.
    #[error("unknown reason {0} in a decision record")]
    Reason(u32),
}

/// What the task attempted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// execve.
    Exec,
    /// open with write access.
    OpenWrite,
    /// file creation (open O_CREAT, mknod).
    Create,
    /// unlink.
    Unlink,
    /// rename.
    Rename,
    /// truncate.
    Truncate,
    /// hard link.
    Link,
    /// symlink.
    Symlink,
    /// mkdir.
    Mkdir,
    /// rmdir.
    Rmdir,
    /// chmod.
    Chmod,
    /// chown.
    Chown,
    /// mount.
    Mount,
    /// A change of times alone.
    Utimes,
    /// setxattr.
    Setxattr,
    /// removexattr.
    Removexattr,
    /// mmap of a file with `PROT_EXEC` (the dynamic loader running a program without exec).
    Mmap,
    /// mprotect adding `PROT_EXEC` to a file mapping.
    Mprotect,
}

const ACTIONS: [(u32, Action, &str); 18] = [
    (action::EXEC, Action::Exec, "exec"),
    (action::OPEN_WRITE, Action::OpenWrite, "open_write"),
    (action::CREATE, Action::Create, "create"),
    (action::UNLINK, Action::Unlink, "unlink"),
    (action::RENAME, Action::Rename, "rename"),
    (action::TRUNCATE, Action::Truncate, "truncate"),
    (action::LINK, Action::Link, "link"),
    (action::SYMLINK, Action::Symlink, "symlink"),
    (action::MKDIR, Action::Mkdir, "mkdir"),
    (action::RMDIR, Action::Rmdir, "rmdir"),
    (action::CHMOD, Action::Chmod, "chmod"),
    (action::CHOWN, Action::Chown, "chown"),
    (action::MOUNT, Action::Mount, "mount"),
    (action::UTIMES, Action::Utimes, "utimes"),
    (action::SETXATTR, Action::Setxattr, "setxattr"),
    (action::REMOVEXATTR, Action::Removexattr, "removexattr"),
    (action::MMAP, Action::Mmap, "mmap"),
    (action::MPROTECT, Action::Mprotect, "mprotect"),
];

impl Action {
    /// The lowercase name used in alerts and logs (`open_write`).
    pub fn as_str(self) -> &'static str {
        ACTIONS.iter().find(|(_, a, _)| *a == self).map_or("?", |(_, _, s)| s)
    }
}

/// Why it was (or would be) denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The executed file is a shell of the image.
    Shell,
    /// The executed file is a package manager of the image.
    PackageManager,
    /// The executed file is explicitly denied.
    ExecDenied,
    /// The executed file is not part of the image (another filesystem, or written later).
    NotFromImage,
    /// A write to (or a mount over) the immutable image.
    Immutable,
    /// W^X: the executed or mapped file lies in a writable place (a volume, tmpfs, or written
    /// into the rootfs after the start).
    WritableExec,
}

const REASONS: [(u32, Reason, &str); 6] = [
    (reason::SHELL, Reason::Shell, "shell"),
    (reason::PACKAGE_MANAGER, Reason::PackageManager, "package_manager"),
    (reason::EXEC_DENIED, Reason::ExecDenied, "exec_denied"),
    (reason::NOT_FROM_IMAGE, Reason::NotFromImage, "not_from_image"),
    (reason::IMMUTABLE, Reason::Immutable, "immutable"),
    (reason::WRITABLE_EXEC, Reason::WritableExec, "writable_exec"),
];

impl Reason {
    /// The lowercase name used in alerts and logs (`package_manager`).
    pub fn as_str(self) -> &'static str {
        REASONS.iter().find(|(_, r, _)| *r == self).map_or("?", |(_, _, s)| s)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file by kernel identity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FileId {
    /// Kernel `s_dev` of its superblock.
    pub dev: u32,
    /// Inode number (0: the file did not exist yet).
    pub ino: u64,
}

/// One decision of the kernel programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Boot-time clock, ns.
    pub ts_ns: u64,
    /// cgroup v2 id of the task.
    pub cgroup_id: u64,
    /// Process id (tgid).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Task command name.
    pub comm: String,
    /// The policy that decided.
    pub policy_id: u32,
    /// What was attempted.
    pub action: Action,
    /// Why it was denied.
    pub reason: Reason,
    /// True when the operation was denied (enforce mode), false for audit's would-deny.
    pub enforced: bool,
    /// errno returned to the task (`EPERM` = 1), 0 when allowed.
    pub errno: u32,
    /// The target's path as the task sees it; `None` when it could not be resolved.
    pub path: Option<String>,
    /// The file acted on.
    pub target: FileId,
    /// Exec: the executed file; otherwise the acting process's executable.
    pub exe: FileId,
}

impl Decision {
    /// Decode one ring-buffer record.
    pub fn decode(bytes: &[u8]) -> Result<Decision, DecodeError> {
        let need = std::mem::size_of::<DecisionRecord>();
        let raw = bytes.get(..need).ok_or(DecodeError::Short { need, got: bytes.len() })?;
        let r: DecisionRecord = bytemuck::pod_read_unaligned(raw);
        if r.abi != ENFORCE_ABI_VERSION {
            return Err(DecodeError::Abi(r.abi));
        }
        let action = ACTIONS.iter().find(|(v, _, _)| *v == r.action).map(|(_, a, _)| *a);
        let reason = REASONS.iter().find(|(v, _, _)| *v == r.reason).map(|(_, x, _)| *x);
        let path = if r.flags & enforce_abi::DECISION_PATH_UNKNOWN != 0 {
            None
        } else {
            let len = (r.path_len as usize).min(r.path.len());
            Some(String::from_utf8_lossy(&r.path[..len]).into_owned())
        };
        Ok(Decision {
            ts_ns: r.ts_ns,
            cgroup_id: r.cgroup_id,
            pid: r.pid,
            tid: r.tid,
            comm: nul_terminated(&r.comm),
            policy_id: r.policy_id,
            action: action.ok_or(DecodeError::Action(r.action))?,
            reason: reason.ok_or(DecodeError::Reason(r.reason))?,
            enforced: r.enforced != 0,
            errno: r.err,
            path,
            target: FileId { dev: r.target_dev, ino: r.target_ino },
            exe: FileId { dev: r.exe_dev, ino: r.exe_ino },
        })
    }
}

fn nul_terminated(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    fn record() -> DecisionRecord {
        let mut r = DecisionRecord::zeroed();
        r.abi = ENFORCE_ABI_VERSION;
        r.action = action::OPEN_WRITE;
        r.reason = reason::IMMUTABLE;
        r.enforced = 1;
        r.err = 1;
        r.pid = 42;
        r.tid = 43;
        r.policy_id = 7;
        r.cgroup_id = 9000;
        r.target_dev = 0x2a;
        r.target_ino = 12;
        r.exe_dev = 0x2a;
        r.exe_ino = 5;
        r.comm[..3].copy_from_slice(b"cat");
        r.path[..11].copy_from_slice(b"/etc/passwd");
        r.path_len = 11;
        r
    }

    #[test]
    fn decodes_a_record() {
        let d = Decision::decode(bytemuck::bytes_of(&record())).expect("decodes");
        assert_eq!(d.action, Action::OpenWrite);
        assert_eq!(d.reason, Reason::Immutable);
        assert!(d.enforced);
        assert_eq!(d.errno, 1);
        assert_eq!(d.path.as_deref(), Some("/etc/passwd"));
        assert_eq!(d.comm, "cat");
        assert_eq!((d.pid, d.tid, d.policy_id, d.cgroup_id), (42, 43, 7, 9000));
        assert_eq!(d.target, FileId { dev: 0x2a, ino: 12 });
        assert_eq!(d.exe, FileId { dev: 0x2a, ino: 5 });
        assert_eq!(format!("{} {}", d.action, d.reason), "open_write immutable");
    }

    #[test]
    fn decodes_a_writable_exec_mapping() {
        // The ld.so trick on a volume: the loader (exe) maps the copied shell PROT_EXEC.
        let mut r = record();
        r.action = action::MMAP;
        r.reason = reason::WRITABLE_EXEC;
        r.path = [0; enforce_abi::PATH_MAX];
        r.path[..13].copy_from_slice(b"/tmp/sh-copy1");
        r.path_len = 13;
        let d = Decision::decode(bytemuck::bytes_of(&r)).expect("decodes");
        assert_eq!((d.action, d.reason), (Action::Mmap, Reason::WritableExec));
        assert_eq!(d.path.as_deref(), Some("/tmp/sh-copy1"));
        assert_eq!(format!("{} {}", d.action, d.reason), "mmap writable_exec");
        for (value, want) in [
            (action::UTIMES, Action::Utimes),
            (action::SETXATTR, Action::Setxattr),
            (action::REMOVEXATTR, Action::Removexattr),
            (action::MPROTECT, Action::Mprotect),
        ] {
            r.action = value;
            assert_eq!(Decision::decode(bytemuck::bytes_of(&r)).expect("decodes").action, want);
        }
        r.action = 19;
        assert_eq!(Decision::decode(bytemuck::bytes_of(&r)), Err(DecodeError::Action(19)));
    }

    #[test]
    fn unknown_path_and_bad_records() {
        let mut r = record();
        r.flags = enforce_abi::DECISION_PATH_UNKNOWN;
        assert_eq!(Decision::decode(bytemuck::bytes_of(&r)).expect("decodes").path, None);
        let bytes = bytemuck::bytes_of(&r);
        assert_eq!(Decision::decode(&bytes[..10]), Err(DecodeError::Short { need: bytes.len(), got: 10 }));
        r.abi = 99;
        assert_eq!(Decision::decode(bytemuck::bytes_of(&r)), Err(DecodeError::Abi(99)));
        let mut r = record();
        r.action = 77;
        assert_eq!(Decision::decode(bytemuck::bytes_of(&r)), Err(DecodeError::Action(77)));
        let mut r = record();
        r.reason = 0;
        assert_eq!(Decision::decode(bytemuck::bytes_of(&r)), Err(DecodeError::Reason(0)));
    }

    #[test]
    fn every_action_and_reason_has_a_distinct_name() {
        let names: std::collections::HashSet<_> = ACTIONS.iter().map(|(_, a, s)| (a.as_str(), *s)).collect();
        assert!(names.iter().all(|(a, s)| a == s));
        assert_eq!(names.len(), 18);
        let reasons: std::collections::HashSet<_> = REASONS.iter().map(|(v, _, s)| (*v, *s)).collect();
        assert_eq!(reasons.len(), 6);
        assert_eq!(Reason::PackageManager.as_str(), "package_manager");
        assert_eq!(Reason::NotFromImage.to_string(), "not_from_image");
    }
}
