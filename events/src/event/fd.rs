//! The `fd.*` view of the fd a syscall record is about, with libsinsp's semantics.
//!
//! The kernel describes the fd at the syscall's exit (path, inode type, socket family and
//! both endpoints); this module names it the way Falco does: `fd.typechar` `f`/`d`/`4`/`6`/
//! `u`/`p`, `fd.type` `file`/`directory`/`ipv4`/..., `fd.name` the path or, for IP sockets,
//! `client_ip:client_port->server_ip:server_port`, and the client/server split of the
//! endpoint fields (`fd.cip`, `fd.sport`, ...). Which end is the server follows the call:
//! the local end after accept/listen/bind, the remote end after connect and for other calls,
//! except that a local port below a remote ephemeral one marks the local end as the server.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use palisade_ebpf::abi::{fd_kind, FdInfo};

const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFIFO: u32 = 0o010_000;
const AF_INET6: u16 = 10;
const IPPROTO_TCP: u16 = 6;
const IPPROTO_UDP: u16 = 17;
const IPPROTO_ICMP: u16 = 1;
const IPPROTO_ICMPV6: u16 = 58;
/// Linux's default ephemeral port range starts here.
const EPHEMERAL_MIN: u16 = 32_768;

/// One end of an IP socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
}

/// An IP socket's endpoints, split the way Falco splits them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuple {
    /// This process's end.
    pub local: Endpoint,
    /// The peer.
    pub remote: Endpoint,
    /// Whether the local end is the server.
    pub local_is_server: bool,
    /// IPPROTO_*.
    pub protocol: u16,
}

impl Tuple {
    /// The client end.
    pub fn client(&self) -> Endpoint {
        if self.local_is_server {
            self.remote
        } else {
            self.local
        }
    }
    /// The server end.
    pub fn server(&self) -> Endpoint {
        if self.local_is_server {
            self.local
        } else {
            self.remote
        }
    }
}

/// What the fd is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FdObject {
    /// A regular file (or anything else with a path).
    File(String),
    /// A directory.
    Directory(String),
    /// A pipe or fifo.
    Pipe(String),
    /// An IPv4 or IPv6 socket.
    Ip(Tuple),
    /// A unix socket, with its bound path when it has one.
    Unix(Option<String>),
    /// A socket of another family.
    OtherSocket(u16),
}

/// The fd of one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdView {
    /// The fd number.
    pub num: i64,
    /// What it is.
    pub object: FdObject,
}

fn ip(family: u16, bytes: &[u8; 16]) -> IpAddr {
    if family == AF_INET6 {
        IpAddr::V6(Ipv6Addr::from(*bytes))
    } else {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    }
}

impl FdView {
    /// The view of `info` (with its path, if any), for an event whose call makes the local
    /// end the server (`accept`, `listen`, `bind`) when `local_server` says so.
    pub fn new(info: &FdInfo, path: Option<&str>, local_server: Option<bool>) -> Option<FdView> {
        let object = match info.kind {
            fd_kind::FILE => {
                let p = path.unwrap_or_default().to_owned();
                match info.i_mode & S_IFMT {
                    S_IFDIR => FdObject::Directory(p),
                    S_IFIFO => FdObject::Pipe(p),
                    _ => FdObject::File(p),
                }
            }
            fd_kind::INET => {
                let local = Endpoint { ip: ip(info.family, &info.laddr), port: info.lport };
                let remote = Endpoint { ip: ip(info.family, &info.raddr), port: info.rport };
                let local_is_server = local_server.unwrap_or(
                    remote.port >= EPHEMERAL_MIN && local.port < EPHEMERAL_MIN && local.port != 0,
                );
                FdObject::Ip(Tuple { local, remote, local_is_server, protocol: info.protocol })
            }
            fd_kind::UNIX => FdObject::Unix(path.map(str::to_owned)),
            fd_kind::SOCKET => FdObject::OtherSocket(info.family),
            _ => return None,
        };
        Some(FdView { num: i64::from(info.num), object })
    }

    /// `fd.typechar`.
    pub fn typechar(&self) -> &'static str {
        match &self.object {
            FdObject::File(_) => "f",
            FdObject::Directory(_) => "d",
            FdObject::Pipe(_) => "p",
            FdObject::Ip(t) if t.local.ip.is_ipv6() => "6",
            FdObject::Ip(_) => "4",
            FdObject::Unix(_) => "u",
            FdObject::OtherSocket(_) => "o",
        }
    }

    /// `fd.type`.
    pub fn type_name(&self) -> &'static str {
        match &self.object {
            FdObject::File(_) => "file",
            FdObject::Directory(_) => "directory",
            FdObject::Pipe(_) => "pipe",
            FdObject::Ip(t) if t.local.ip.is_ipv6() => "ipv6",
            FdObject::Ip(_) => "ipv4",
            FdObject::Unix(_) => "unix",
            FdObject::OtherSocket(16) => "netlink",
            FdObject::OtherSocket(_) => "<NA>",
        }
    }

    /// `fd.name`: the path, or `cip:cport->sip:sport` for IP sockets.
    pub fn name(&self) -> Option<String> {
        match &self.object {
            FdObject::File(p) | FdObject::Directory(p) | FdObject::Pipe(p) => Some(p.clone()),
            FdObject::Ip(t) => {
                let (c, s) = (t.client(), t.server());
                Some(format!("{}:{}->{}:{}", c.ip, c.port, s.ip, s.port))
            }
            FdObject::Unix(p) => p.clone(),
            FdObject::OtherSocket(_) => None,
        }
    }

    /// The file path, for fds that are files, directories or pipes.
    pub fn path(&self) -> Option<&str> {
        match &self.object {
            FdObject::File(p) | FdObject::Directory(p) | FdObject::Pipe(p) => Some(p),
            _ => None,
        }
    }

    /// `fd.directory`: the directory part of a file path (`/etc` for `/etc/shadow`).
    pub fn directory(&self) -> Option<&str> {
        let p = self.path()?;
        if matches!(self.object, FdObject::Directory(_)) {
            return Some(p);
        }
        Some(match p.rfind('/') {
            Some(0) => "/",
            Some(i) => &p[..i],
            None => p,
        })
    }

    /// `fd.filename`: the last component of a file path.
    pub fn filename(&self) -> Option<&str> {
        let p = self.path()?;
        if matches!(self.object, FdObject::Directory(_)) {
            return None;
        }
        Some(p.rsplit('/').next().unwrap_or(p))
    }

    /// The socket tuple, for IP sockets.
    pub fn tuple(&self) -> Option<&Tuple> {
        match &self.object {
            FdObject::Ip(t) => Some(t),
            _ => None,
        }
    }

    /// `fd.l4proto`.
    pub fn l4proto(&self) -> Option<&'static str> {
        self.tuple().map(|t| match t.protocol {
            IPPROTO_TCP => "tcp",
            IPPROTO_UDP => "udp",
            IPPROTO_ICMP | IPPROTO_ICMPV6 => "icmp",
            _ => "raw",
        })
    }

    /// `fd.sockfamily`.
    pub fn sockfamily(&self) -> Option<&'static str> {
        match &self.object {
            FdObject::Ip(_) => Some("ip"),
            FdObject::Unix(_) => Some("unix"),
            _ => None,
        }
    }

    /// `fd.connected`: an IP socket with a peer.
    pub fn connected(&self) -> bool {
        self.tuple().is_some_and(|t| t.remote.port != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(kind: u32) -> FdInfo {
        let mut i: FdInfo = bytemuck::Zeroable::zeroed();
        i.kind = kind;
        i.num = 3;
        i
    }

    #[test]
    fn files_split_into_directory_and_filename() {
        let mut i = info(fd_kind::FILE);
        i.i_mode = 0o100_644;
        let v = FdView::new(&i, Some("/etc/shadow"), None).expect("view");
        assert_eq!((v.typechar(), v.type_name()), ("f", "file"));
        assert_eq!((v.directory(), v.filename(), v.name().as_deref()), (Some("/etc"), Some("shadow"), Some("/etc/shadow")));
        let v = FdView::new(&i, Some("/init"), None).expect("view");
        assert_eq!((v.directory(), v.filename()), (Some("/"), Some("init")));
        i.i_mode = 0o040_755;
        let v = FdView::new(&i, Some("/etc"), None).expect("view");
        assert_eq!((v.typechar(), v.directory(), v.filename()), ("d", Some("/etc"), None));
    }

    #[test]
    fn ip_sockets_name_client_then_server() {
        let mut i = info(fd_kind::INET);
        i.family = 2;
        i.protocol = IPPROTO_TCP;
        i.laddr[..4].copy_from_slice(&[10, 0, 0, 2]);
        i.lport = 43_454;
        i.raddr[..4].copy_from_slice(&[1, 2, 3, 4]);
        i.rport = 443;
        let v = FdView::new(&i, None, None).expect("view");
        assert_eq!(v.name().as_deref(), Some("10.0.0.2:43454->1.2.3.4:443"));
        assert_eq!((v.typechar(), v.l4proto(), v.sockfamily(), v.connected()), ("4", Some("tcp"), Some("ip"), true));
        // After accept the local end serves, whatever the ports say.
        let v = FdView::new(&i, None, Some(true)).expect("view");
        assert_eq!(v.name().as_deref(), Some("1.2.3.4:443->10.0.0.2:43454"));
    }
}
