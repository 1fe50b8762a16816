//! The only policy `palisade-init` confines with: [`POLICY_PATH`], and only when it is the file
//! the runc wrapper bind-mounted there.
//!
//! Invariant (DESIGN.md, "No forgery"): nothing a container supplies — argv, environment, stdin,
//! files — chooses or weakens its policy. So the path is a constant (no `--policy`), and the file
//! must be what a process inside a confined container cannot make:
//!
//! - opened with `O_NOFOLLOW` (a symbolic link at the path is refused, not followed) and
//!   `O_CLOEXEC` (the program never inherits it);
//! - a regular file (not `/proc/self/fd/0`, a fifo or a device);
//! - owned by root and not writable by group or others;
//! - on a read-only mount (`fstatvfs` → `ST_RDONLY`): the wrapper's read-only bind mount. A
//!   confined process cannot mount (Landlock denies mount and pivot_root to every confined
//!   process) and the wrapper makes the image read-only, so it cannot place another file there.
//!
//! All checks are on the open descriptor, so the file cannot be swapped between check and read.

use std::fs::File;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::statvfs::{fstatvfs, FsFlags};

use crate::policy::{Policy, PolicyError};

/// Where the wrapper bind-mounts the container's policy, read-only.
pub const POLICY_PATH: &str = "/.palisade/policy.json";

/// Opens, checks and parses the policy at `path` (always [`POLICY_PATH`] outside tests of this
/// module).
pub fn load(path: &Path) -> Result<Policy, PolicyError> {
    let refuse = |why: String| PolicyError::Untrusted {
        path: path.to_owned(),
        why,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).bits())
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == nix::errno::Errno::ELOOP as i32 => {
                refuse("it is a symbolic link".into())
            }
            _ => PolicyError::Read {
                path: path.to_owned(),
                source: e,
            },
        })?;
    check(&file).map_err(refuse)?;
    Policy::read_from(path, file)
}

/// Why `file` is not a policy the wrapper mounted; `Ok` when it is.
fn check(file: &File) -> Result<(), String> {
    let meta = file.metadata().map_err(|e| format!("fstat: {e}"))?;
    if !meta.file_type().is_file() {
        return Err("not a regular file".into());
    }
    if meta.uid() != 0 {
        return Err(format!("owned by uid {}, not root", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "writable by group or others (mode {:04o})",
            meta.mode() & 0o7777
        ));
    }
    let fs = fstatvfs(file).map_err(|e| format!("fstatvfs: {e}"))?;
    if !fs.flags().contains(FsFlags::ST_RDONLY) {
        return Err("not on a read-only mount (palisade-runc bind-mounts it read-only)".into());
    }
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics at the call")]
mod tests {
    use super::*;

    #[test]
    fn a_writable_or_odd_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, r#"{"version":2}"#).unwrap();
        let err = load(&path).unwrap_err().to_string();
        // As root: the mount check; as anyone else: the owner check. Either way refused.
        assert!(
            err.contains(": refused: not on a read-only mount") || err.contains(": refused: owned by uid"),
            "{err}"
        );
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(
            load(&link).unwrap_err().to_string(),
            format!("policy {}: refused: it is a symbolic link", link.display())
        );
        assert_eq!(
            load(Path::new("/proc/self/fd/0")).unwrap_err().to_string(),
            "policy /proc/self/fd/0: refused: it is a symbolic link"
        );
        assert_eq!(
            load(Path::new("/dev/null")).unwrap_err().to_string(),
            "policy /dev/null: refused: not a regular file"
        );
    }
}
