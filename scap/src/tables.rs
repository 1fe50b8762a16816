//! The small metadata blocks: section header, machine info, interface list, user list.
//!
//! ```text
//! SHB  = magic:u32 (0x1A2B3C4D) major:u16 (1) minor:u16 section_len:u64 [options]
//! MI   = num_cpus:u32 memory_bytes:u64 max_pid:u64 hostname:[u8;128]
//!        [boot_ts_epoch:u64 flags:u64 reserved:u64 reserved:u64]
//! IL   = { [len:u32 (v2)] type:u16 namelen:u16 addresses [linkspeed:u64] name }
//!        IPv4: addr netmask bcast as u32; IPv6: 16 bytes each; type 3/4 have no linkspeed
//! UL   = { [len:u32 (v2)] 0:u8 uid:u32 gid:u32 name:str16 home:str16 shell:str16
//!        | [len:u32 (v2)] 1:u8 gid:u32 name:str16 }
//! ```
//!
//! v2 entries start with their own length so that newer fields can be skipped: for IL it
//! counts the bytes after the length field, for UL it includes the length field itself.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::cursor::{text, Cursor};
use crate::error::{Result, ScapError};

/// The byte-order magic of a section written in this byte order.
pub const SHB_MAGIC: u32 = 0x1A2B_3C4D;

/// The section header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionHeader {
    /// Format major version (1).
    pub major: u16,
    /// Format minor version (0..=2 known).
    pub minor: u16,
    /// Section length (-1: unknown).
    pub section_length: i64,
}

pub(crate) fn section_header(body: &[u8], at: u64) -> Result<SectionHeader> {
    let mut c = Cursor::new(body, at);
    let magic = c.u32("section byte-order magic")?;
    if magic != SHB_MAGIC {
        let found = if magic == SHB_MAGIC.swap_bytes() { "0x4D3C2B1A (big-endian, unsupported)".into() } else { format!("0x{magic:08X}") };
        return Err(ScapError::invalid(at, "section byte-order magic", "0x1A2B3C4D", found));
    }
    let major = c.u16("section major version")?;
    let minor = c.u16("section minor version")?;
    if major != 1 {
        return Err(ScapError::invalid(at + 4, "section major version", "1", major));
    }
    let section_length = c.i64("section length")?;
    Ok(SectionHeader { major, minor, section_length })
}

/// The capturing machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineInfo {
    /// CPUs.
    pub num_cpus: u32,
    /// Physical memory.
    pub memory_bytes: u64,
    /// Highest pid.
    pub max_pid: u64,
    /// Host name.
    pub hostname: String,
    /// Boot time, ns since the epoch (newer captures).
    pub boot_ts_epoch: Option<u64>,
    /// Flags (newer captures).
    pub flags: Option<u64>,
}

pub(crate) fn machine_info(body: &[u8], at: u64) -> Result<MachineInfo> {
    let mut c = Cursor::new(body, at);
    let num_cpus = c.u32("machine cpus")?;
    let memory_bytes = c.u64("machine memory")?;
    let max_pid = c.u64("machine max pid")?;
    let hostname = text(c.bytes(128, "machine hostname")?);
    let boot_ts_epoch = c.u64("machine boot time").ok();
    let flags = c.u64("machine flags").ok();
    Ok(MachineInfo { num_cpus, memory_bytes, max_pid, hostname, boot_ts_epoch, flags })
}

/// A network interface address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interface {
    /// IPv4.
    V4 {
        /// Name (`eth0`).
        name: String,
        /// Address.
        addr: Ipv4Addr,
        /// Netmask.
        netmask: Ipv4Addr,
    },
    /// IPv6.
    V6 {
        /// Name.
        name: String,
        /// Address.
        addr: Ipv6Addr,
    },
}

fn ip4(c: &mut Cursor<'_>, what: &'static str) -> Result<Ipv4Addr> {
    let b = c.bytes(4, what)?;
    Ok(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
}

fn ip6(c: &mut Cursor<'_>, what: &'static str) -> Result<Ipv6Addr> {
    let mut a = [0u8; 16];
    a.copy_from_slice(c.bytes(16, what)?);
    Ok(Ipv6Addr::from(a))
}

pub(crate) fn interfaces(body: &[u8], at: u64, version: u8) -> Result<Vec<Interface>> {
    let mut c = Cursor::new(body, at);
    let mut out = Vec::new();
    while c.remaining() >= 4 {
        let entry_at = c.consumed();
        let declared = if version >= 2 { Some(c.u32("interface entry length")? as usize) } else { None };
        let fields_at = c.consumed();
        let ty = c.u16("interface type")?;
        let namelen = usize::from(c.u16("interface name length")?);
        let iface = match ty {
            1 | 3 => {
                let addr = ip4(&mut c, "interface address")?;
                let netmask = ip4(&mut c, "interface netmask")?;
                c.skip(4, "interface broadcast")?;
                if ty == 1 {
                    c.skip(8, "interface link speed")?;
                }
                Interface::V4 { name: text(c.bytes(namelen, "interface name")?), addr, netmask }
            }
            2 | 4 => {
                let addr = ip6(&mut c, "interface address")?;
                c.skip(32, "interface netmask and broadcast")?;
                if ty == 2 {
                    c.skip(8, "interface link speed")?;
                }
                Interface::V6 { name: text(c.bytes(namelen, "interface name")?), addr }
            }
            other => return Err(ScapError::invalid(at + fields_at as u64, "interface type", "1 to 4", other)),
        };
        if let Some(len) = declared {
            let used = c.consumed() - fields_at;
            if used > len {
                return Err(ScapError::invalid(at + entry_at as u64, "interface entry length", format!("at least {used}"), len));
            }
            c.skip(len - used, "interface entry")?;
        }
        out.push(iface);
    }
    Ok(out)
}

/// A user from the capturing machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
    /// Name.
    pub name: String,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

/// A group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// gid.
    pub gid: u32,
    /// Name.
    pub name: String,
}

/// Users and groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserList {
    /// Users.
    pub users: Vec<User>,
    /// Groups.
    pub groups: Vec<Group>,
}

pub(crate) fn user_list(body: &[u8], at: u64, version: u8) -> Result<UserList> {
    let mut c = Cursor::new(body, at);
    let mut out = UserList::default();
    while c.remaining() >= 4 {
        let entry_at = c.consumed();
        let declared = if version >= 2 { Some(c.u32("user entry length")? as usize) } else { None };
        match c.u8("user entry type")? {
            0 => {
                let uid = c.u32("user uid")?;
                let gid = c.u32("user gid")?;
                let name = text(c.str16("user name")?);
                let home = text(c.str16("user home")?);
                let shell = text(c.str16("user shell")?);
                out.users.push(User { uid, gid, name, home, shell });
            }
            _ => {
                let gid = c.u32("group gid")?;
                let name = text(c.str16("group name")?);
                out.groups.push(Group { gid, name });
            }
        }
        if let Some(len) = declared {
            let used = c.consumed() - entry_at;
            if used > len {
                return Err(ScapError::invalid(at + entry_at as u64, "user entry length", format!("at least {used}"), len));
            }
            c.skip(len - used, "user entry")?;
        }
    }
    Ok(out)
}
