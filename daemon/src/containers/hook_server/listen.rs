//! Claiming the hook socket's path: a live socket (another daemon answers on it) is never taken
//! over; a stale one (left by a daemon that died) is replaced. The socket file is made
//! readable and writable by root only, or by root and the configured group.
//!
//! The check and the bind are not atomic: two daemons started in the same instant could both
//! find the path stale. That is a start-up race between an operator's own processes, not
//! something a container can arrange; the case the check exists for — a second daemon
//! started while the first runs, silently stealing its hooks — is refused.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use nix::unistd::{Gid, Group};

use super::HookServerError;

/// Who may talk to the socket besides root: a group, resolved from `hook_socket_group`.
pub(super) fn resolve_group(name: &str) -> Result<Option<Gid>, String> {
    if name.is_empty() {
        return Ok(None);
    }
    if let Ok(n) = name.parse::<u32>() {
        return Ok(Some(Gid::from_raw(n)));
    }
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(Some(g.gid)),
        Ok(None) => Err(format!("hook_socket_group: no group named '{name}'")),
        Err(e) => Err(format!("hook_socket_group: looking up '{name}': {e}")),
    }
}

/// Whether another process answers on `socket` (a live daemon): then it must not be taken over.
fn live(socket: &Path) -> bool {
    std::fs::symlink_metadata(socket).is_ok_and(|m| m.file_type().is_socket()) && UnixStream::connect(socket).is_ok()
}

/// Refuses early when another daemon answers on `socket`, before anything else of a second
/// daemon starts (its kernel programs would otherwise load beside the first one's). [`bind`]
/// checks again when it claims the path.
pub fn ensure_not_running(socket: &Path) -> Result<(), HookServerError> {
    if live(socket) {
        return Err(HookServerError::InUse { path: socket.to_owned() });
    }
    Ok(())
}

/// Binds `socket`, refusing when another process answers on it. Parent directories are
/// created (mode 0755 by the umask of a root daemon; the socket's own mode is what guards it).
pub(super) fn bind(socket: &Path, group: Option<Gid>) -> Result<UnixListener, HookServerError> {
    let bind_err = |source| HookServerError::Bind { path: socket.to_owned(), source };
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir).map_err(bind_err)?;
    }
    match std::fs::symlink_metadata(socket) {
        Ok(_) => {
            if live(socket) {
                return Err(HookServerError::InUse { path: socket.to_owned() });
            }
            // Stale: nobody accepts on it any more (or it is not a socket at all).
            tracing::info!(path = %socket.display(), "replacing a stale hook socket");
            std::fs::remove_file(socket).map_err(bind_err)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(bind_err(e)),
    }
    let listener = UnixListener::bind(socket).map_err(bind_err)?;
    let mode = match group {
        Some(gid) => {
            nix::unistd::chown(socket, None, Some(gid)).map_err(|e| bind_err(e.into()))?;
            0o660
        }
        None => 0o600,
    };
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(mode)).map_err(bind_err)?;
    Ok(listener)
}
