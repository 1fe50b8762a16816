//! Who is on the other end of a hook-socket connection (`SO_PEERCRED`), and whether it may talk
//! to the daemon. The socket arms containers, reports their mode and starts captures, so only
//! root (runc's hooks run as root), the daemon's own user, and — when `hook_socket_group` is
//! set — members of that group by their primary group are served. The file mode already keeps
//! others out; this check holds even when the file's mode was loosened by hand or the socket
//! was passed into a container by a bind mount.

use std::os::unix::net::UnixStream;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use nix::unistd::Gid;

/// A peer's credentials as the kernel recorded them at `connect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl Peer {
    /// The peer of `stream`.
    pub fn of(stream: &UnixStream) -> std::io::Result<Peer> {
        let c = getsockopt(stream, PeerCredentials).map_err(std::io::Error::from)?;
        Ok(Peer { pid: c.pid(), uid: c.uid(), gid: c.gid() })
    }

    /// Whether this peer may use the socket: root, the daemon's own user, or the group.
    pub fn allowed(&self, group: Option<Gid>) -> bool {
        self.uid == 0 || self.uid == nix::unistd::geteuid().as_raw() || group.is_some_and(|g| g.as_raw() == self.gid)
    }
}
