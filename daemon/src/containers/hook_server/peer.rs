//! Who is on the other end of a hook-socket connection (`SO_PEERCRED`), and whether it may talk
//! to the daemon. The socket arms containers, reports their mode and starts captures, so only
//! root (runc's hooks run as root), the daemon's own user, and — when `hook_socket_group` is
//! set — members of that group are served: by the primary group `SO_PEERCRED` reports, or by a
//! supplementary group read from `/proc/<pid>/status` (only when its `Uid:` is the peer's, so a
//! reused pid cannot lend its groups). The file mode already keeps
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
        if self.uid == 0 || self.uid == nix::unistd::geteuid().as_raw() {
            return true;
        }
        let Some(g) = group.map(Gid::as_raw) else { return false };
        g == self.gid
            || std::fs::read_to_string(format!("/proc/{}/status", self.pid))
                .is_ok_and(|status| supplementary_member(&status, self.uid, g))
    }
}

/// Whether a `/proc/<pid>/status` text is of a process whose real uid is `uid` and whose
/// supplementary groups include `gid`.
fn supplementary_member(status: &str, uid: u32, gid: u32) -> bool {
    let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).unwrap_or("");
    let real_uid = field("Uid:").split_whitespace().next().and_then(|u| u.parse::<u32>().ok());
    real_uid == Some(uid) && field("Groups:").split_whitespace().any(|g| g.parse::<u32>() == Ok(gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supplementary_groups_count_only_for_the_same_uid() {
        let status = "Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t27 998 1000 \n";
        assert!(supplementary_member(status, 1000, 998));
        assert!(!supplementary_member(status, 1000, 999));
        assert!(!supplementary_member(status, 1001, 998), "another uid: a reused pid");
        let peer = Peer { pid: i32::MAX, uid: 65534, gid: 65534 };
        assert!(peer.allowed(Some(Gid::from_raw(65534))), "the primary group");
        assert!(!peer.allowed(Some(Gid::from_raw(998))), "no such process: no supplementary groups");
        assert!(!peer.allowed(None));
        assert!(Peer { pid: 1, uid: 0, gid: 0 }.allowed(None), "root");
    }
}
