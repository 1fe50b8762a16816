//! What a syscall changes in the file tree, for the profile judge ([`crate::would_deny`]): the
//! action (`write`, `truncate`, `chmod`, `chown`, `rename`, `mount`, ...) and the one or two
//! files it acts on, each with how the kernel looks it up.
//!
//! Invariant (one decision per syscall): a call yields at most one [`Change`], and a change
//! names at most two targets (`rename`/`link`: the old then the new name); the judge reports
//! the first denied one only.
//!
//! How each target is found:
//! - fd-based calls (`ftruncate`, `fchmod`, `fchown`, `fsetxattr`, ..., and the `*at` calls
//!   with an empty path or `AT_EMPTY_PATH`, `utimensat` with a NULL path) act on the open file:
//!   its path as the kernel resolved it from the fd ([`Target::by_kernel`]);
//! - a successful open acts on the file the new fd is (kernel-resolved as well);
//! - the other calls name a path: absolute against the cwd or dirfd, but still lexical. Calls
//!   that follow a final symlink (`chmod`, `chown`, `truncate`, `setxattr`, `utimes`, a failed
//!   open or `creat`, `mount`'s target) are marked [`Target::follow`]; those that act on the
//!   link itself (`lchown`, `lsetxattr`, `AT_SYMLINK_NOFOLLOW`, `O_NOFOLLOW`, and `unlink`,
//!   `rename`, `link`, `symlink`, `mkdir`, `mknod`, which create or remove a name) are not: only
//!   their parent directories are resolved. The judge resolves them in the container's view.

use super::call::Call;
use super::fd::FdObject;

/// `AT_SYMLINK_NOFOLLOW`.
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
/// `AT_REMOVEDIR`.
const AT_REMOVEDIR: u64 = 0x200;
/// `AT_EMPTY_PATH`.
const AT_EMPTY_PATH: u64 = 0x1000;
/// `O_NOFOLLOW` (x86-64).
const O_NOFOLLOW: u64 = 0o400_000;
/// `O_CREAT`.
const O_CREAT: u64 = 0o100;

/// One file a call acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Absolute, in the container's view.
    pub path: String,
    /// The kernel resolved it already (an fd's path): nothing left to resolve.
    pub by_kernel: bool,
    /// The kernel follows a symlink in the last component.
    pub follow: bool,
}

/// What a call changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `write` (opens for writing, `creat`), `truncate`, `chmod`, `chown`, `setxattr`,
    /// `removexattr`, `utimes`, `unlink`, `rmdir`, `mkdir`, `mknod`, `rename`, `link`,
    /// `symlink`, `mount`.
    pub action: &'static str,
    /// One or two targets, in the order the judge checks them.
    pub targets: Vec<Target>,
}

impl Call {
    /// The path in string slot `i`, absolute; `None` when absent, empty or unresolvable.
    pub(super) fn string_path(&self, i: usize) -> Option<&str> {
        self.resolved[i].as_deref().or(self.rec.strings[i].as_deref()).filter(|p| p.starts_with('/'))
    }

    /// The path of the fd the call is about.
    fn fd_target(&self) -> Option<Target> {
        let path = match &self.fd.as_ref()?.object {
            FdObject::File(p) | FdObject::Directory(p) | FdObject::Pipe(p) if p.starts_with('/') => p.clone(),
            _ => return None,
        };
        Some(Target { path, by_kernel: true, follow: false })
    }

    fn path_target(&self, i: usize, follow: bool) -> Option<Target> {
        Some(Target { path: self.string_path(i)?.to_owned(), by_kernel: false, follow })
    }

    /// An `*at` call's target: the dirfd itself for an empty (or NULL) path, else the path.
    fn at_target(&self, flags: u64) -> Option<Target> {
        let empty = self.rec.strings[0].as_deref().is_none_or(str::is_empty);
        if empty && (flags & AT_EMPTY_PATH != 0 || self.sys.event == "utimensat") {
            return self.fd_target();
        }
        self.path_target(0, flags & AT_SYMLINK_NOFOLLOW == 0)
    }

    /// The file an `mmap` asked to map executable (`PROT_EXEC` of an fd), as the kernel
    /// resolved the fd; `None` for every other call or mapping.
    pub fn exec_mapping(&self) -> Option<String> {
        const PROT_EXEC: u64 = 4;
        let fd = self.rec.args[4] as u32 as i32;
        if self.sys.event != "mmap" || self.rec.args[2] & PROT_EXEC == 0 || fd < 0 {
            return None;
        }
        self.fd_target().map(|t| t.path)
    }

    /// What the call changes, whether it succeeded or not; `None` for calls that change
    /// nothing (reads, opens for reading, sockets...).
    pub fn change(&self) -> Option<Change> {
        let args = &self.rec.args;
        let one = |action, t: Option<Target>| t.map(|t| Change { action, targets: vec![t] });
        let both = |action| {
            let targets: Vec<Target> = [0, 1].iter().filter_map(|&i| self.path_target(i, false)).collect();
            (!targets.is_empty()).then_some(Change { action, targets })
        };
        match self.sys.event {
            "open" | "openat" | "openat2" | "creat" => {
                let flags = match self.sys.event {
                    "open" => args[1],
                    "openat" => args[2],
                    "openat2" => self.rec.extra[0],
                    _ => O_CREAT,
                };
                let writes = self.open_access().1 || self.sys.event == "creat";
                if self.rec.ret >= 0 {
                    // A read-only open with O_CREAT of a file that exists changed nothing,
                    // and the record does not say whether it created one: opened for
                    // writing only.
                    return if writes { one("write", self.fd_target()) } else { None };
                }
                // Refused: asking to write, or to create (a read-only O_CREAT of a new file on
                // the read-only root fails EROFS).
                if !(writes || flags & O_CREAT != 0) {
                    return None;
                }
                one("write", self.path_target(0, flags & O_NOFOLLOW == 0))
            }
            "truncate" => one("truncate", self.path_target(0, true)),
            "ftruncate" => one("truncate", self.fd_target()),
            "chmod" => one("chmod", self.path_target(0, true)),
            "fchmod" => one("chmod", self.fd_target()),
            "fchmodat" => one("chmod", self.at_target(0)),
            "fchmodat2" => one("chmod", self.at_target(args[3])),
            "chown" => one("chown", self.path_target(0, true)),
            "lchown" => one("chown", self.path_target(0, false)),
            "fchown" => one("chown", self.fd_target()),
            "fchownat" => one("chown", self.at_target(args[4])),
            "setxattr" => one("setxattr", self.path_target(0, true)),
            "lsetxattr" => one("setxattr", self.path_target(0, false)),
            "fsetxattr" => one("setxattr", self.fd_target()),
            "removexattr" => one("removexattr", self.path_target(0, true)),
            "lremovexattr" => one("removexattr", self.path_target(0, false)),
            "fremovexattr" => one("removexattr", self.fd_target()),
            "utime" | "utimes" => one("utimes", self.path_target(0, true)),
            "futimesat" => one("utimes", self.at_target(0)),
            "utimensat" => one("utimes", self.at_target(args[3])),
            "unlink" => one("unlink", self.path_target(0, false)),
            "unlinkat" if args[2] & AT_REMOVEDIR != 0 => one("rmdir", self.path_target(0, false)),
            "unlinkat" => one("unlink", self.path_target(0, false)),
            "rmdir" => one("rmdir", self.path_target(0, false)),
            "mkdir" | "mkdirat" => one("mkdir", self.path_target(0, false)),
            "mknod" | "mknodat" => one("mknod", self.path_target(0, false)),
            "rename" | "renameat" | "renameat2" => both("rename"),
            "link" | "linkat" => both("link"),
            "symlink" | "symlinkat" => one("symlink", self.path_target(1, false)),
            // The mount point; for `move_mount` with an empty target path the target fd's
            // path is not captured: the decision then names what is known.
            "mount" | "move_mount" => Some(Change {
                action: "mount",
                targets: vec![self.path_target(1, true).unwrap_or(Target {
                    path: self.rec.strings[1].clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "<fd>".into()),
                    by_kernel: true,
                    follow: false,
                })],
            }),
            _ => None,
        }
    }
}
