//! fd list (FDL) blocks: one thread's open fds when the capture started.
//!
//! ```text
//! FDL   = tid:u64 { entry }
//! entry = [len:u32 (v2)] fd:i64 ino:u64 type:u8 info
//! info  = IPv4 socket:  sip:u32 dip:u32 sport:u16 dport:u16 l4proto:u8
//!       | IPv4 server:  ip:u32 port:u16 l4proto:u8
//!       | IPv6 socket:  sip:[u8;16] dip:[u8;16] sport:u16 dport:u16 l4proto:u8
//!       | IPv6 server:  ip:[u8;16] port:u16 l4proto:u8
//!       | unix socket:  source:u64 dest:u64 path:str16
//!       | file v2:      open_flags:u32 path:str16 [dev:u32 when len leaves room]
//!       | other known types: name:str16
//!       | unknown type: nothing
//! ```
//!
//! Addresses are stored as the kernel holds them (network byte order).

use std::net::IpAddr;

use crate::cursor::{text, Cursor};
use crate::error::{Result, ScapError};

/// An fd's type (`scap_fd_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdType {
    /// A regular file (or a device).
    File,
    /// A directory.
    Directory,
    /// A connected IPv4 socket.
    Ipv4,
    /// A connected IPv6 socket.
    Ipv6,
    /// A listening IPv4 socket.
    Ipv4Server,
    /// A listening IPv6 socket.
    Ipv6Server,
    /// A pipe or fifo.
    Fifo,
    /// A unix socket.
    Unix,
    /// Another kind (eventfd, signalfd, epoll, inotify, timerfd, netlink, bpf, ...): the raw
    /// `scap_fd_type`.
    Other(u8),
}

/// One fd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdEntry {
    /// The fd number.
    pub fd: i64,
    /// Inode number.
    pub ino: u64,
    /// Type.
    pub ty: FdType,
    /// Path for files, fifos and unix sockets (and the name libscap gives other kinds).
    pub name: String,
    /// For files: the open flags (PPM encoding), when recorded.
    pub open_flags: u32,
    /// For IP sockets: (source ip, source port, destination ip, destination port, l4proto);
    /// servers have only the source end.
    pub endpoints: Option<(IpAddr, u16, IpAddr, u16, u8)>,
}

/// One FDL block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdList {
    /// The thread the fds belong to.
    pub tid: u64,
    /// Its fds.
    pub fds: Vec<FdEntry>,
}

fn v4(c: &mut Cursor<'_>) -> Result<IpAddr> {
    let b = c.bytes(4, "fd ipv4 address")?;
    Ok(IpAddr::from([b[0], b[1], b[2], b[3]]))
}

fn v6(c: &mut Cursor<'_>) -> Result<IpAddr> {
    let mut a = [0u8; 16];
    a.copy_from_slice(c.bytes(16, "fd ipv6 address")?);
    Ok(IpAddr::from(a))
}

fn entry(c: &mut Cursor<'_>, version: u8) -> Result<FdEntry> {
    let start = c.consumed();
    let entry_at = c.offset();
    let sub_len = if version >= 2 { Some(c.u32("fd entry length")? as usize) } else { None };
    let fd = c.i64("fd number")?;
    let ino = c.u64("fd inode")?;
    let raw = c.u8("fd type")?;
    let mut e = FdEntry { fd, ino, ty: FdType::Other(raw), name: String::new(), open_flags: 0, endpoints: None };
    match raw {
        3 => {
            let (s, d) = (v4(c)?, v4(c)?);
            let (sp, dp) = (c.u16("fd source port")?, c.u16("fd destination port")?);
            e.endpoints = Some((s, sp, d, dp, c.u8("fd l4 protocol")?));
            e.ty = FdType::Ipv4;
        }
        5 => {
            let ip = v4(c)?;
            let port = c.u16("fd port")?;
            e.endpoints = Some((ip, port, IpAddr::from([0u8; 4]), 0, c.u8("fd l4 protocol")?));
            e.ty = FdType::Ipv4Server;
        }
        4 => {
            let (s, d) = (v6(c)?, v6(c)?);
            let (sp, dp) = (c.u16("fd source port")?, c.u16("fd destination port")?);
            e.endpoints = Some((s, sp, d, dp, c.u8("fd l4 protocol")?));
            e.ty = FdType::Ipv6;
        }
        6 => {
            let ip = v6(c)?;
            let port = c.u16("fd port")?;
            e.endpoints = Some((ip, port, IpAddr::from([0u8; 16]), 0, c.u8("fd l4 protocol")?));
            e.ty = FdType::Ipv6Server;
        }
        8 => {
            c.skip(16, "fd unix socket endpoints")?;
            e.name = text(c.str16("fd unix socket path")?);
            e.ty = FdType::Unix;
        }
        16 => {
            e.open_flags = c.u32("fd open flags")?;
            e.name = text(c.str16("fd path")?);
            e.ty = FdType::File;
            if sub_len.is_some_and(|len| c.consumed() - start + 4 <= len) {
                c.skip(4, "fd device")?;
            }
        }
        1 | 2 | 7 | 9..=15 | 17..=21 => {
            e.name = text(c.str16("fd name")?);
            e.ty = match raw {
                1 => FdType::File,
                2 => FdType::Directory,
                7 => FdType::Fifo,
                other => FdType::Other(other),
            };
        }
        _ => {}
    }
    if let Some(len) = sub_len {
        let used = c.consumed() - start;
        if used > len {
            return Err(ScapError::invalid(entry_at, "fd entry length", format!("at least {used}"), len));
        }
        c.skip(len - used, "fd entry")?;
    }
    Ok(e)
}

pub(crate) fn fd_list(body: &[u8], at: u64, version: u8) -> Result<FdList> {
    let mut c = Cursor::new(body, at);
    let tid = c.u64("fd list tid")?;
    let mut fds = Vec::new();
    while c.remaining() >= 4 {
        fds.push(entry(&mut c, version)?);
    }
    Ok(FdList { tid, fds })
}
