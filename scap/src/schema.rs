//! The parameter schema of the event types a capture may hold: for each `ppm_event_code`
//! its name (`evt.type`), flags and the names and types of its parameters, in order.
//!
//! Facts from libs `driver/event_table.c` (the `g_event_info` table, libs at 0.20+),
//! written down here in our own form; no maintained Rust crate reads `.scap` files. The table
//! covers every event type found in the Falco/libs captures Palisade tests with, and the
//! event types Falco's stable rules read (all versions of open*, creat, execve*, clone*,
//! socket calls, chmod/rename/unlink/mkdir/link families, set*id, ptrace, mount, dup*, bpf,
//! memfd_create, module loading, procexit, container). Event codes: even = enter (`_E`),
//! odd = exit (`_X`); the current (not `OLD_VERSION`) layout of an event has the most
//! parameters, and older captures may carry fewer (see [`crate::event`]).

/// Event flags (`enum ppm_event_flags`).
pub mod flags {
    /// Creates an fd (returned in `res`/`fd`).
    pub const CREATES_FD: u32 = 1 << 0;
    /// Destroys an fd (close).
    pub const DESTROYS_FD: u32 = 1 << 1;
    /// Operates on an fd (its `fd` parameter, or the enter event's).
    pub const USES_FD: u32 = 1 << 2;
    /// Reads from the fd.
    pub const READS_FROM_FD: u32 = 1 << 3;
    /// Writes to the fd.
    pub const WRITES_TO_FD: u32 = 1 << 4;
    /// Changes state a consumer tracks.
    pub const MODIFIES_STATE: u32 = 1 << 5;
    /// Never emitted.
    pub const UNUSED: u32 = 1 << 6;
    /// Waits.
    pub const WAITS: u32 = 1 << 7;
    /// Does not reset the consumer's last-event state.
    pub const SKIP_PARSE_RESET: u32 = 1 << 8;
    /// An old layout kept to read old captures.
    pub const OLD_VERSION: u32 = 1 << 9;
    /// Parameter lengths are `u32` instead of `u16`.
    pub const LARGE_PAYLOAD: u32 = 1 << 11;
    /// libscap's converter rewrites it on read.
    pub const CONVERTER_MANAGED: u32 = 1 << 12;
}

/// A parameter's type (`enum ppm_param_type`), which fixes its encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[expect(missing_docs, reason = "the variants are the format's PT_* names")]
pub enum ParamType {
    /// `PT_NONE`.
    NoneType,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    CharBuf,
    ByteBuf,
    Errno,
    SockAddr,
    SockTuple,
    Fd,
    Pid,
    FdList,
    FsPath,
    SyscallId,
    SigType,
    RelTime,
    AbsTime,
    Port,
    L4Proto,
    SockFamily,
    Bool,
    Ipv4Addr,
    Dyn,
    Flags8,
    Flags16,
    Flags32,
    Uid,
    Gid,
    Double,
    SigSet,
    CharBufArray,
    CharBufPairArray,
    Ipv4Net,
    Ipv6Addr,
    Ipv6Net,
    IpAddr,
    IpNet,
    Mode,
    FsRelPath,
    EnumFlags8,
    EnumFlags16,
    EnumFlags32,
    Fd32,
    Pid32,
}

/// One event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventSchema {
    /// `ppm_event_code`.
    pub code: u16,
    /// The `PPME_` constant without its prefix (`SYSCALL_OPEN_X`).
    pub ident: &'static str,
    /// `evt.type` (`open`; `syscall` for the generic event).
    pub name: &'static str,
    /// [`flags`] bits.
    pub flags: u32,
    /// The parameters of the current layout, in order: (name, type).
    pub params: &'static [(&'static str, ParamType)],
}

impl EventSchema {
    /// Whether this is an enter (`_E`) event.
    pub fn is_enter(&self) -> bool {
        self.code % 2 == 0
    }

    /// Whether `flag` (a [`flags`] bit) is set.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// The index of the parameter called `name`.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.0 == name)
    }
}

/// The schema of event type `code`, if the table has it.
pub fn schema(code: u16) -> Option<&'static EventSchema> {
    EVENTS.binary_search_by_key(&code, |e| e.code).ok().and_then(|i| EVENTS.get(i))
}

/// Every event type the table knows, sorted by code.
pub fn all() -> &'static [EventSchema] {
    EVENTS
}

/// One past the highest event code libscap knows (`PPM_EVENT_MAX`); libscap skips events at
/// or above it.
pub const PPM_EVENT_MAX: u16 = 454;

const fn e(
    code: u16,
    ident: &'static str,
    name: &'static str,
    flags: u32,
    params: &'static [(&'static str, ParamType)],
) -> EventSchema {
    EventSchema { code, ident, name, flags, params }
}

use flags::*;
use ParamType::*;

#[rustfmt::skip]
static EVENTS: &[EventSchema] = &[
    e(0, "GENERIC_E", "syscall", OLD_VERSION | CONVERTER_MANAGED, &[("ID", SyscallId), ("nativeID", Uint16)]),
    e(1, "GENERIC_X", "syscall", CONVERTER_MANAGED, &[("ID", SyscallId), ("nativeID", Uint16)]),
    e(2, "SYSCALL_OPEN_E", "open", CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("name", FsPath), ("flags", Flags32), ("mode", Uint32)]),
    e(3, "SYSCALL_OPEN_X", "open", CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("name", FsPath), ("flags", Flags32), ("mode", Uint32), ("dev", Uint32), ("ino", Uint64)]),
    e(4, "SYSCALL_CLOSE_E", "close", OLD_VERSION | DESTROYS_FD | USES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd)]),
    e(5, "SYSCALL_CLOSE_X", "close", DESTROYS_FD | USES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("fd", Fd)]),
    e(6, "SYSCALL_READ_E", "read", OLD_VERSION | USES_FD | READS_FROM_FD | CONVERTER_MANAGED, &[("fd", Fd), ("size", Uint32)]),
    e(7, "SYSCALL_READ_X", "read", USES_FD | READS_FROM_FD | CONVERTER_MANAGED, &[("res", Errno), ("data", ByteBuf), ("fd", Fd), ("size", Uint32)]),
    e(8, "SYSCALL_WRITE_E", "write", OLD_VERSION | USES_FD | WRITES_TO_FD | CONVERTER_MANAGED, &[("fd", Fd), ("size", Uint32)]),
    e(9, "SYSCALL_WRITE_X", "write", USES_FD | WRITES_TO_FD | CONVERTER_MANAGED, &[("res", Errno), ("data", ByteBuf), ("fd", Fd), ("size", Uint32)]),
    e(12, "SYSCALL_EXECVE_8_E", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[]),
    e(13, "SYSCALL_EXECVE_8_X", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Uint64)]),
    e(14, "SYSCALL_CLONE_11_E", "clone", OLD_VERSION | MODIFIES_STATE, &[]),
    e(15, "SYSCALL_CLONE_11_X", "clone", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Pid), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Int64), ("flags", Flags32), ("uid", Uint32), ("gid", Uint32)]),
    e(16, "PROCEXIT_E", "procexit", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[]),
    e(18, "SOCKET_SOCKET_E", "socket", OLD_VERSION | CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("domain", EnumFlags32), ("type", Uint32), ("proto", Uint32)]),
    e(19, "SOCKET_SOCKET_X", "socket", CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("domain", EnumFlags32), ("type", Uint32), ("proto", Uint32), ("flags", Flags32)]),
    e(20, "SOCKET_BIND_E", "bind", OLD_VERSION | USES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd)]),
    e(21, "SOCKET_BIND_X", "bind", USES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("addr", SockAddr), ("fd", Fd)]),
    e(22, "SOCKET_CONNECT_E", "connect", USES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("addr", SockAddr)]),
    e(23, "SOCKET_CONNECT_X", "connect", USES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("tuple", SockTuple), ("fd", Fd), ("addr", SockAddr)]),
    e(24, "SOCKET_LISTEN_E", "listen", OLD_VERSION | USES_FD | CONVERTER_MANAGED, &[("fd", Fd), ("backlog", Int32)]),
    e(25, "SOCKET_LISTEN_X", "listen", USES_FD | CONVERTER_MANAGED, &[("res", Errno), ("fd", Fd), ("backlog", Int32)]),
    e(26, "SOCKET_ACCEPT_E", "accept", OLD_VERSION | CREATES_FD | MODIFIES_STATE, &[]),
    e(27, "SOCKET_ACCEPT_X", "accept", OLD_VERSION | CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("tuple", SockTuple), ("queuepct", Uint8)]),
    e(30, "SOCKET_SENDTO_E", "sendto", OLD_VERSION | USES_FD | WRITES_TO_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("size", Uint32), ("tuple", SockTuple)]),
    e(31, "SOCKET_SENDTO_X", "sendto", USES_FD | WRITES_TO_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("data", ByteBuf), ("fd", Fd), ("size", Uint32), ("tuple", SockTuple)]),
    e(34, "SOCKET_RECVFROM_E", "recvfrom", OLD_VERSION | USES_FD | READS_FROM_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("size", Uint32)]),
    e(35, "SOCKET_RECVFROM_X", "recvfrom", USES_FD | READS_FROM_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("data", ByteBuf), ("tuple", SockTuple), ("fd", Fd), ("size", Uint32)]),
    e(38, "SOCKET_GETSOCKNAME_E", "getsockname", OLD_VERSION, &[]),
    e(39, "SOCKET_GETSOCKNAME_X", "getsockname", 0, &[]),
    e(40, "SOCKET_GETPEERNAME_E", "getpeername", OLD_VERSION, &[]),
    e(41, "SOCKET_GETPEERNAME_X", "getpeername", 0, &[]),
    e(42, "SOCKET_SOCKETPAIR_E", "socketpair", OLD_VERSION | CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("domain", EnumFlags32), ("type", Uint32), ("proto", Uint32)]),
    e(43, "SOCKET_SOCKETPAIR_X", "socketpair", CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("fd1", Fd), ("fd2", Fd), ("source", Uint64), ("peer", Uint64), ("domain", EnumFlags32), ("type", Uint32), ("proto", Uint32)]),
    e(44, "SOCKET_SETSOCKOPT_E", "setsockopt", OLD_VERSION, &[]),
    e(45, "SOCKET_SETSOCKOPT_X", "setsockopt", USES_FD, &[("res", Errno), ("fd", Fd), ("level", EnumFlags8), ("optname", EnumFlags8), ("val", Dyn), ("optlen", Uint32)]),
    e(46, "SOCKET_GETSOCKOPT_E", "getsockopt", OLD_VERSION | MODIFIES_STATE, &[]),
    e(47, "SOCKET_GETSOCKOPT_X", "getsockopt", USES_FD | MODIFIES_STATE, &[("res", Errno), ("fd", Fd), ("level", EnumFlags8), ("optname", EnumFlags8), ("val", Dyn), ("optlen", Uint32)]),
    e(48, "SOCKET_SENDMSG_E", "sendmsg", OLD_VERSION | USES_FD | WRITES_TO_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("size", Uint32), ("tuple", SockTuple)]),
    e(49, "SOCKET_SENDMSG_X", "sendmsg", USES_FD | WRITES_TO_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("data", ByteBuf), ("fd", Fd), ("size", Uint32), ("tuple", SockTuple)]),
    e(52, "SOCKET_RECVMSG_E", "recvmsg", OLD_VERSION | USES_FD | READS_FROM_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd)]),
    e(53, "SOCKET_RECVMSG_X", "recvmsg", USES_FD | READS_FROM_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("size", Uint32), ("data", ByteBuf), ("tuple", SockTuple), ("msgcontrol", ByteBuf), ("fd", Fd)]),
    e(56, "SOCKET_ACCEPT4_E", "accept", OLD_VERSION | CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("flags", Int32)]),
    e(57, "SOCKET_ACCEPT4_X", "accept", OLD_VERSION | CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("tuple", SockTuple), ("queuepct", Uint8)]),
    e(58, "SYSCALL_CREAT_E", "creat", CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("name", FsPath), ("mode", Uint32)]),
    e(59, "SYSCALL_CREAT_X", "creat", CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("name", FsPath), ("mode", Uint32), ("dev", Uint32), ("ino", Uint64), ("creat_flags", Flags16)]),
    e(60, "SYSCALL_PIPE_E", "pipe", OLD_VERSION | CREATES_FD | MODIFIES_STATE, &[]),
    e(61, "SYSCALL_PIPE_X", "pipe", CREATES_FD | MODIFIES_STATE, &[("res", Errno), ("fd1", Fd), ("fd2", Fd), ("ino", Uint64)]),
    e(64, "SYSCALL_FUTEX_E", "futex", OLD_VERSION | CONVERTER_MANAGED, &[("addr", Uint64), ("op", Flags16), ("val", Uint64)]),
    e(65, "SYSCALL_FUTEX_X", "futex", CONVERTER_MANAGED, &[("res", Errno), ("addr", Uint64), ("op", Flags16), ("val", Uint64)]),
    e(66, "SYSCALL_STAT_E", "stat", OLD_VERSION, &[]),
    e(67, "SYSCALL_STAT_X", "stat", 0, &[("res", Errno), ("path", FsPath)]),
    e(70, "SYSCALL_FSTAT_E", "fstat", OLD_VERSION | USES_FD | CONVERTER_MANAGED, &[("fd", Fd)]),
    e(71, "SYSCALL_FSTAT_X", "fstat", USES_FD | CONVERTER_MANAGED, &[("res", Errno), ("fd", Fd)]),
    e(78, "SYSCALL_EPOLLWAIT_E", "epoll_wait", OLD_VERSION | WAITS | CONVERTER_MANAGED, &[("maxevents", Errno)]),
    e(79, "SYSCALL_EPOLLWAIT_X", "epoll_wait", WAITS | CONVERTER_MANAGED, &[("res", Errno), ("maxevents", Errno)]),
    e(80, "SYSCALL_POLL_E", "poll", OLD_VERSION | WAITS | CONVERTER_MANAGED, &[("fds", FdList), ("timeout", Int64)]),
    e(81, "SYSCALL_POLL_X", "poll", WAITS | CONVERTER_MANAGED, &[("res", Errno), ("fds", FdList), ("timeout", Int64)]),
    e(82, "SYSCALL_SELECT_E", "select", OLD_VERSION | WAITS, &[]),
    e(83, "SYSCALL_SELECT_X", "select", WAITS, &[("res", Errno)]),
    e(94, "SYSCALL_CHDIR_E", "chdir", OLD_VERSION | MODIFIES_STATE, &[]),
    e(95, "SYSCALL_CHDIR_X", "chdir", MODIFIES_STATE, &[("res", Errno), ("path", CharBuf)]),
    e(96, "SYSCALL_FCHDIR_E", "fchdir", OLD_VERSION | USES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd)]),
    e(97, "SYSCALL_FCHDIR_X", "fchdir", USES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("fd", Fd)]),
    e(98, "SYSCALL_MKDIR_E", "mkdir", OLD_VERSION | CONVERTER_MANAGED, &[("path", FsPath), ("mode", Uint32)]),
    e(99, "SYSCALL_MKDIR_X", "mkdir", OLD_VERSION | CONVERTER_MANAGED, &[("res", Errno)]),
    e(100, "SYSCALL_RMDIR_E", "rmdir", OLD_VERSION | CONVERTER_MANAGED, &[("path", FsPath)]),
    e(101, "SYSCALL_RMDIR_X", "rmdir", OLD_VERSION | CONVERTER_MANAGED, &[("res", Errno)]),
    e(102, "SYSCALL_OPENAT_E", "openat", OLD_VERSION | CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("dirfd", Fd), ("name", CharBuf), ("flags", Flags32), ("mode", Uint32)]),
    e(103, "SYSCALL_OPENAT_X", "openat", OLD_VERSION | CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd)]),
    e(104, "SYSCALL_LINK_E", "link", OLD_VERSION | CONVERTER_MANAGED, &[("oldpath", FsPath), ("newpath", FsPath)]),
    e(105, "SYSCALL_LINK_X", "link", OLD_VERSION | CONVERTER_MANAGED, &[("res", Errno)]),
    e(106, "SYSCALL_LINKAT_E", "linkat", OLD_VERSION | CONVERTER_MANAGED, &[("olddir", Fd), ("oldpath", CharBuf), ("newdir", Fd), ("newpath", CharBuf)]),
    e(107, "SYSCALL_LINKAT_X", "linkat", OLD_VERSION | CONVERTER_MANAGED, &[("res", Errno)]),
    e(108, "SYSCALL_UNLINK_E", "unlink", OLD_VERSION | CONVERTER_MANAGED, &[("path", FsPath)]),
    e(109, "SYSCALL_UNLINK_X", "unlink", OLD_VERSION | CONVERTER_MANAGED, &[("res", Errno)]),
    e(110, "SYSCALL_UNLINKAT_E", "unlinkat", OLD_VERSION | CONVERTER_MANAGED, &[("dirfd", Fd), ("name", CharBuf)]),
    e(111, "SYSCALL_UNLINKAT_X", "unlinkat", OLD_VERSION | CONVERTER_MANAGED, &[("res", Errno)]),
    e(112, "SYSCALL_PREAD_E", "pread", OLD_VERSION | USES_FD | READS_FROM_FD | CONVERTER_MANAGED, &[("fd", Fd), ("size", Uint32), ("pos", Uint64)]),
    e(113, "SYSCALL_PREAD_X", "pread", USES_FD | READS_FROM_FD | CONVERTER_MANAGED, &[("res", Errno), ("data", ByteBuf), ("fd", Fd), ("size", Uint32), ("pos", Uint64)]),
    e(114, "SYSCALL_PWRITE_E", "pwrite", OLD_VERSION | USES_FD | WRITES_TO_FD | CONVERTER_MANAGED, &[("fd", Fd), ("size", Uint32), ("pos", Uint64)]),
    e(115, "SYSCALL_PWRITE_X", "pwrite", USES_FD | WRITES_TO_FD | CONVERTER_MANAGED, &[("res", Errno), ("data", ByteBuf), ("fd", Fd), ("size", Uint32), ("pos", Uint64)]),
    e(116, "SYSCALL_READV_E", "readv", OLD_VERSION | USES_FD | READS_FROM_FD | CONVERTER_MANAGED, &[("fd", Fd)]),
    e(117, "SYSCALL_READV_X", "readv", USES_FD | READS_FROM_FD | CONVERTER_MANAGED, &[("res", Errno), ("size", Uint32), ("data", ByteBuf), ("fd", Fd)]),
    e(118, "SYSCALL_WRITEV_E", "writev", OLD_VERSION | USES_FD | WRITES_TO_FD | CONVERTER_MANAGED, &[("fd", Fd), ("size", Uint32)]),
    e(119, "SYSCALL_WRITEV_X", "writev", USES_FD | WRITES_TO_FD | CONVERTER_MANAGED, &[("res", Errno), ("data", ByteBuf), ("fd", Fd), ("size", Uint32)]),
    e(124, "SYSCALL_DUP_E", "dup", OLD_VERSION | CREATES_FD | USES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd)]),
    e(125, "SYSCALL_DUP_X", "dup", OLD_VERSION | CREATES_FD | USES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Fd)]),
    e(128, "SYSCALL_KILL_E", "kill", OLD_VERSION | CONVERTER_MANAGED, &[("pid", Pid), ("sig", SigType)]),
    e(129, "SYSCALL_KILL_X", "kill", CONVERTER_MANAGED, &[("res", Errno), ("pid", Pid), ("sig", SigType)]),
    e(130, "SYSCALL_TKILL_E", "tkill", OLD_VERSION | CONVERTER_MANAGED, &[("tid", Pid), ("sig", SigType)]),
    e(131, "SYSCALL_TKILL_X", "tkill", CONVERTER_MANAGED, &[("res", Errno), ("tid", Pid), ("sig", SigType)]),
    e(132, "SYSCALL_TGKILL_E", "tgkill", OLD_VERSION | CONVERTER_MANAGED, &[("pid", Pid), ("tid", Pid), ("sig", SigType)]),
    e(133, "SYSCALL_TGKILL_X", "tgkill", CONVERTER_MANAGED, &[("res", Errno), ("pid", Pid), ("tid", Pid), ("sig", SigType)]),
    e(134, "SYSCALL_NANOSLEEP_E", "nanosleep", OLD_VERSION | WAITS | CONVERTER_MANAGED, &[("interval", RelTime)]),
    e(135, "SYSCALL_NANOSLEEP_X", "nanosleep", WAITS | CONVERTER_MANAGED, &[("res", Errno), ("interval", RelTime)]),
    e(140, "SYSCALL_GETRLIMIT_E", "getrlimit", OLD_VERSION | CONVERTER_MANAGED, &[("resource", EnumFlags8)]),
    e(141, "SYSCALL_GETRLIMIT_X", "getrlimit", CONVERTER_MANAGED, &[("res", Errno), ("cur", Int64), ("max", Int64), ("resource", EnumFlags8)]),
    e(150, "SYSCALL_FCNTL_E", "fcntl", OLD_VERSION | USES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("cmd", EnumFlags8)]),
    e(151, "SYSCALL_FCNTL_X", "fcntl", USES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Fd), ("fd", Fd), ("cmd", EnumFlags8), ("arg", Uint64)]),
    e(152, "SCHEDSWITCH_6_E", "switch", 0, &[("next", Pid), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32)]),
    e(154, "SYSCALL_EXECVE_13_E", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[]),
    e(155, "SYSCALL_EXECVE_13_X", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Uint64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32)]),
    e(156, "SYSCALL_CLONE_16_E", "clone", OLD_VERSION | MODIFIES_STATE, &[]),
    e(157, "SYSCALL_CLONE_16_X", "clone", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Pid), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Int64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("flags", Flags32), ("uid", Uint32), ("gid", Uint32)]),
    e(158, "SYSCALL_BRK_4_E", "brk", OLD_VERSION | CONVERTER_MANAGED, &[("addr", Uint64)]),
    e(159, "SYSCALL_BRK_4_X", "brk", CONVERTER_MANAGED, &[("res", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("addr", Uint64)]),
    e(160, "SYSCALL_MMAP_E", "mmap", OLD_VERSION | USES_FD | CONVERTER_MANAGED, &[("addr", Uint64), ("length", Uint64), ("prot", Flags32), ("flags", Flags32), ("fd", Fd), ("offset", Uint64)]),
    e(161, "SYSCALL_MMAP_X", "mmap", USES_FD | CONVERTER_MANAGED, &[("res", Errno), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("addr", Uint64), ("length", Uint64), ("prot", Flags32), ("flags", Flags32), ("fd", Fd), ("offset", Uint64)]),
    e(164, "SYSCALL_MUNMAP_E", "munmap", OLD_VERSION | CONVERTER_MANAGED, &[("addr", Uint64), ("length", Uint64)]),
    e(165, "SYSCALL_MUNMAP_X", "munmap", CONVERTER_MANAGED, &[("res", Errno), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("addr", Uint64), ("length", Uint64)]),
    e(168, "SYSCALL_PTRACE_E", "ptrace", OLD_VERSION | CONVERTER_MANAGED, &[("request", EnumFlags16), ("pid", Pid)]),
    e(169, "SYSCALL_PTRACE_X", "ptrace", CONVERTER_MANAGED, &[("res", Errno), ("addr", Dyn), ("data", Dyn), ("request", EnumFlags16), ("pid", Pid)]),
    e(170, "SYSCALL_IOCTL_3_E", "ioctl", OLD_VERSION | USES_FD | CONVERTER_MANAGED, &[("fd", Fd), ("request", Uint64), ("argument", Uint64)]),
    e(171, "SYSCALL_IOCTL_3_X", "ioctl", USES_FD | CONVERTER_MANAGED, &[("res", Errno), ("fd", Fd), ("request", Uint64), ("argument", Uint64)]),
    e(172, "SYSCALL_EXECVE_14_E", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[]),
    e(173, "SYSCALL_EXECVE_14_X", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Uint64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("env", ByteBuf)]),
    e(174, "SYSCALL_RENAME_E", "rename", OLD_VERSION, &[]),
    e(175, "SYSCALL_RENAME_X", "rename", 0, &[("res", Errno), ("oldpath", FsPath), ("newpath", FsPath)]),
    e(176, "SYSCALL_RENAMEAT_E", "renameat", OLD_VERSION, &[]),
    e(177, "SYSCALL_RENAMEAT_X", "renameat", 0, &[("res", Errno), ("olddirfd", Fd), ("oldpath", FsRelPath), ("newdirfd", Fd), ("newpath", FsRelPath)]),
    e(178, "SYSCALL_SYMLINK_E", "symlink", OLD_VERSION, &[]),
    e(179, "SYSCALL_SYMLINK_X", "symlink", 0, &[("res", Errno), ("target", CharBuf), ("linkpath", FsPath)]),
    e(180, "SYSCALL_SYMLINKAT_E", "symlinkat", OLD_VERSION, &[]),
    e(181, "SYSCALL_SYMLINKAT_X", "symlinkat", USES_FD, &[("res", Errno), ("target", CharBuf), ("linkdirfd", Fd), ("linkpath", FsRelPath)]),
    e(182, "SYSCALL_FORK_E", "fork", OLD_VERSION | MODIFIES_STATE, &[]),
    e(183, "SYSCALL_FORK_X", "fork", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Pid), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Int64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("flags", Flags32), ("uid", Uint32), ("gid", Uint32)]),
    e(184, "SYSCALL_VFORK_E", "vfork", OLD_VERSION | MODIFIES_STATE, &[]),
    e(185, "SYSCALL_VFORK_X", "vfork", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Pid), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Int64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("flags", Flags32), ("uid", Uint32), ("gid", Uint32)]),
    e(186, "PROCEXIT_1_E", "procexit", MODIFIES_STATE, &[("status", Errno), ("ret", Errno), ("sig", SigType), ("core", Uint8), ("reaper_tid", Pid)]),
    e(192, "SYSCALL_SETRESUID_E", "setresuid", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("ruid", Uid), ("euid", Uid), ("suid", Uid)]),
    e(193, "SYSCALL_SETRESUID_X", "setresuid", MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("ruid", Uid), ("euid", Uid), ("suid", Uid)]),
    e(194, "SYSCALL_SETRESGID_E", "setresgid", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("rgid", Gid), ("egid", Gid), ("sgid", Gid)]),
    e(195, "SYSCALL_SETRESGID_X", "setresgid", MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("rgid", Gid), ("egid", Gid), ("sgid", Gid)]),
    e(196, "SCAPEVENT_E", "scapevent", SKIP_PARSE_RESET, &[("event_type", Uint32), ("event_data", Uint64)]),
    e(198, "SYSCALL_SETUID_E", "setuid", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("uid", Uid)]),
    e(199, "SYSCALL_SETUID_X", "setuid", MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("uid", Uid)]),
    e(200, "SYSCALL_SETGID_E", "setgid", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("gid", Gid)]),
    e(201, "SYSCALL_SETGID_X", "setgid", MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("gid", Gid)]),
    e(202, "SYSCALL_GETUID_E", "getuid", OLD_VERSION, &[]),
    e(203, "SYSCALL_GETUID_X", "getuid", 0, &[("uid", Uid)]),
    e(204, "SYSCALL_GETEUID_E", "geteuid", OLD_VERSION, &[]),
    e(205, "SYSCALL_GETEUID_X", "geteuid", 0, &[("euid", Uid)]),
    e(206, "SYSCALL_GETGID_E", "getgid", OLD_VERSION, &[]),
    e(207, "SYSCALL_GETGID_X", "getgid", 0, &[("gid", Gid)]),
    e(208, "SYSCALL_GETEGID_E", "getegid", OLD_VERSION, &[]),
    e(209, "SYSCALL_GETEGID_X", "getegid", 0, &[("egid", Gid)]),
    e(214, "SYSCALL_EXECVE_15_E", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[]),
    e(215, "SYSCALL_EXECVE_15_X", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Uint64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("env", ByteBuf)]),
    e(216, "SYSCALL_CLONE_17_E", "clone", OLD_VERSION | MODIFIES_STATE, &[]),
    e(217, "SYSCALL_CLONE_17_X", "clone", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Pid), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Int64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("flags", Flags32), ("uid", Uint32), ("gid", Uint32)]),
    e(218, "SYSCALL_FORK_17_E", "fork", OLD_VERSION | MODIFIES_STATE, &[]),
    e(219, "SYSCALL_FORK_17_X", "fork", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Pid), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Int64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("flags", Flags32), ("uid", Uint32), ("gid", Uint32)]),
    e(220, "SYSCALL_VFORK_17_E", "vfork", OLD_VERSION | MODIFIES_STATE, &[]),
    e(221, "SYSCALL_VFORK_17_X", "vfork", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Pid), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Int64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("flags", Flags32), ("uid", Uint32), ("gid", Uint32)]),
    e(222, "SYSCALL_CLONE_20_E", "clone", OLD_VERSION | MODIFIES_STATE, &[]),
    e(223, "SYSCALL_CLONE_20_X", "clone", MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Pid), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Int64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("cgroups", ByteBuf), ("flags", Flags32), ("uid", Uint32), ("gid", Uint32), ("vtid", Pid), ("vpid", Pid), ("pidns_init_start_ts", Uint64)]),
    e(224, "SYSCALL_FORK_20_E", "fork", OLD_VERSION | MODIFIES_STATE, &[]),
    e(225, "SYSCALL_FORK_20_X", "fork", MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Pid), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Int64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("cgroups", ByteBuf), ("flags", Flags32), ("uid", Uint32), ("gid", Uint32), ("vtid", Pid), ("vpid", Pid), ("pidns_init_start_ts", Uint64)]),
    e(226, "SYSCALL_VFORK_20_E", "vfork", OLD_VERSION | MODIFIES_STATE, &[]),
    e(227, "SYSCALL_VFORK_20_X", "vfork", MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Pid), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Int64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("cgroups", ByteBuf), ("flags", Flags32), ("uid", Uint32), ("gid", Uint32), ("vtid", Pid), ("vpid", Pid), ("pidns_init_start_ts", Uint64)]),
    e(228, "CONTAINER_E", "container", OLD_VERSION | SKIP_PARSE_RESET | MODIFIES_STATE | CONVERTER_MANAGED, &[("id", CharBuf), ("type", Uint32), ("name", CharBuf), ("image", CharBuf)]),
    e(230, "SYSCALL_EXECVE_16_E", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[]),
    e(231, "SYSCALL_EXECVE_16_X", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Uint64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("cgroups", ByteBuf), ("env", ByteBuf)]),
    e(232, "SIGNALDELIVER_E", "signaldeliver", 0, &[("spid", Pid), ("dpid", Pid), ("sig", SigType)]),
    e(234, "PROCINFO_E", "procinfo", SKIP_PARSE_RESET, &[("cpu_usr", Uint64), ("cpu_sys", Uint64)]),
    e(236, "SYSCALL_GETDENTS_E", "getdents", OLD_VERSION | USES_FD | CONVERTER_MANAGED, &[("fd", Fd)]),
    e(237, "SYSCALL_GETDENTS_X", "getdents", USES_FD | CONVERTER_MANAGED, &[("res", Errno), ("fd", Fd)]),
    e(240, "SYSCALL_SETNS_E", "setns", OLD_VERSION | USES_FD | CONVERTER_MANAGED, &[("fd", Fd), ("nstype", Flags32)]),
    e(241, "SYSCALL_SETNS_X", "setns", USES_FD | CONVERTER_MANAGED, &[("res", Errno), ("fd", Fd), ("nstype", Flags32)]),
    e(246, "SOCKET_ACCEPT_5_E", "accept", OLD_VERSION | CREATES_FD | MODIFIES_STATE, &[]),
    e(247, "SOCKET_ACCEPT_5_X", "accept", CREATES_FD | MODIFIES_STATE, &[("fd", Fd), ("tuple", SockTuple), ("queuepct", Uint8), ("queuelen", Uint32), ("queuemax", Uint32)]),
    e(248, "SOCKET_ACCEPT4_5_E", "accept", OLD_VERSION | CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("flags", Int32)]),
    e(249, "SOCKET_ACCEPT4_5_X", "accept", OLD_VERSION | CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("tuple", SockTuple), ("queuepct", Uint8), ("queuelen", Uint32), ("queuemax", Uint32)]),
    e(256, "SYSCALL_MOUNT_E", "mount", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("flags", Flags32)]),
    e(257, "SYSCALL_MOUNT_X", "mount", MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("dev", CharBuf), ("dir", FsPath), ("type", CharBuf), ("flags", Flags32)]),
    e(258, "SYSCALL_UMOUNT_E", "umount", OLD_VERSION | MODIFIES_STATE, &[("flags", Flags32)]),
    e(259, "SYSCALL_UMOUNT_X", "umount", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("name", FsPath)]),
    e(264, "SYSCALL_ACCESS_E", "access", OLD_VERSION | CONVERTER_MANAGED, &[("mode", Flags32)]),
    e(265, "SYSCALL_ACCESS_X", "access", CONVERTER_MANAGED, &[("res", Errno), ("name", FsPath), ("mode", Flags32)]),
    e(272, "CONTAINER_JSON_E", "container", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("json", CharBuf)]),
    e(276, "SYSCALL_MKDIR_2_E", "mkdir", OLD_VERSION | CONVERTER_MANAGED, &[("mode", Uint32)]),
    e(277, "SYSCALL_MKDIR_2_X", "mkdir", CONVERTER_MANAGED, &[("res", Errno), ("path", FsPath), ("mode", Uint32)]),
    e(278, "SYSCALL_RMDIR_2_E", "rmdir", OLD_VERSION, &[]),
    e(279, "SYSCALL_RMDIR_2_X", "rmdir", 0, &[("res", Errno), ("path", FsPath)]),
    e(280, "NOTIFICATION_E", "notification", SKIP_PARSE_RESET, &[("id", CharBuf), ("desc", CharBuf)]),
    e(282, "SYSCALL_EXECVE_17_E", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[]),
    e(283, "SYSCALL_EXECVE_17_X", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Uint64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("cgroups", ByteBuf), ("env", ByteBuf), ("tty", Int32)]),
    e(284, "SYSCALL_UNSHARE_E", "unshare", OLD_VERSION | CONVERTER_MANAGED, &[("flags", Flags32)]),
    e(285, "SYSCALL_UNSHARE_X", "unshare", CONVERTER_MANAGED, &[("res", Errno), ("flags", Flags32)]),
    e(286, "INFRASTRUCTURE_EVENT_E", "infra", SKIP_PARSE_RESET, &[("source", CharBuf), ("name", CharBuf), ("description", CharBuf), ("scope", CharBuf)]),
    e(288, "SYSCALL_EXECVE_18_E", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("filename", FsPath)]),
    e(289, "SYSCALL_EXECVE_18_X", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Uint64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("cgroups", ByteBuf), ("env", ByteBuf), ("tty", Int32)]),
    e(292, "SYSCALL_EXECVE_19_E", "execve", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("filename", FsPath)]),
    e(293, "SYSCALL_EXECVE_19_X", "execve", MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Uint64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("cgroups", ByteBuf), ("env", ByteBuf), ("tty", Uint32), ("vpgid", Pid), ("loginuid", Uid), ("flags", Flags32), ("cap_inheritable", Uint64), ("cap_permitted", Uint64), ("cap_effective", Uint64), ("exe_ino", Uint64), ("exe_ino_ctime", AbsTime), ("exe_ino_mtime", AbsTime), ("uid", Uid), ("trusted_exepath", FsPath), ("pgid", Pid), ("gid", Gid), ("filename", FsPath)]),
    e(294, "SYSCALL_SETPGID_E", "setpgid", OLD_VERSION | CONVERTER_MANAGED, &[("pid", Pid), ("pgid", Pid)]),
    e(295, "SYSCALL_SETPGID_X", "setpgid", CONVERTER_MANAGED, &[("res", Errno), ("pid", Pid), ("pgid", Pid)]),
    e(296, "SYSCALL_BPF_E", "bpf", OLD_VERSION | CREATES_FD | CONVERTER_MANAGED, &[("cmd", Int64)]),
    e(297, "SYSCALL_BPF_X", "bpf", OLD_VERSION | CREATES_FD | CONVERTER_MANAGED, &[("res_or_fd", Dyn)]),
    e(300, "SYSCALL_UNLINK_2_E", "unlink", OLD_VERSION, &[]),
    e(301, "SYSCALL_UNLINK_2_X", "unlink", 0, &[("res", Errno), ("path", FsPath)]),
    e(302, "SYSCALL_UNLINKAT_2_E", "unlinkat", OLD_VERSION, &[]),
    e(303, "SYSCALL_UNLINKAT_2_X", "unlinkat", USES_FD, &[("res", Errno), ("dirfd", Fd), ("name", FsRelPath), ("flags", Flags32)]),
    e(304, "SYSCALL_MKDIRAT_E", "mkdirat", OLD_VERSION, &[]),
    e(305, "SYSCALL_MKDIRAT_X", "mkdirat", USES_FD, &[("res", Errno), ("dirfd", Fd), ("path", FsRelPath), ("mode", Uint32)]),
    e(306, "SYSCALL_OPENAT_2_E", "openat", CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("dirfd", Fd), ("name", FsRelPath), ("flags", Flags32), ("mode", Uint32)]),
    e(307, "SYSCALL_OPENAT_2_X", "openat", CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("dirfd", Fd), ("name", FsRelPath), ("flags", Flags32), ("mode", Uint32), ("dev", Uint32), ("ino", Uint64)]),
    e(308, "SYSCALL_LINK_2_E", "link", OLD_VERSION, &[]),
    e(309, "SYSCALL_LINK_2_X", "link", 0, &[("res", Errno), ("oldpath", FsPath), ("newpath", FsPath)]),
    e(310, "SYSCALL_LINKAT_2_E", "linkat", OLD_VERSION, &[]),
    e(311, "SYSCALL_LINKAT_2_X", "linkat", 0, &[("res", Errno), ("olddir", Fd), ("oldpath", FsRelPath), ("newdir", Fd), ("newpath", FsRelPath), ("flags", Flags32)]),
    e(312, "SYSCALL_FCHMODAT_E", "fchmodat", OLD_VERSION, &[]),
    e(313, "SYSCALL_FCHMODAT_X", "fchmodat", USES_FD, &[("res", Errno), ("dirfd", Fd), ("filename", FsRelPath), ("mode", Mode)]),
    e(314, "SYSCALL_CHMOD_E", "chmod", OLD_VERSION, &[]),
    e(315, "SYSCALL_CHMOD_X", "chmod", 0, &[("res", Errno), ("filename", FsPath), ("mode", Mode)]),
    e(316, "SYSCALL_FCHMOD_E", "fchmod", OLD_VERSION, &[]),
    e(317, "SYSCALL_FCHMOD_X", "fchmod", USES_FD, &[("res", Errno), ("fd", Fd), ("mode", Mode)]),
    e(318, "SYSCALL_RENAMEAT2_E", "renameat2", OLD_VERSION, &[]),
    e(319, "SYSCALL_RENAMEAT2_X", "renameat2", 0, &[("res", Errno), ("olddirfd", Fd), ("oldpath", FsRelPath), ("newdirfd", Fd), ("newpath", FsRelPath), ("flags", Flags32)]),
    e(320, "SYSCALL_USERFAULTFD_E", "userfaultfd", OLD_VERSION | CREATES_FD | MODIFIES_STATE, &[]),
    e(321, "SYSCALL_USERFAULTFD_X", "userfaultfd", CREATES_FD | MODIFIES_STATE, &[("res", Errno), ("flags", Flags32)]),
    e(322, "PLUGINEVENT_E", "pluginevent", LARGE_PAYLOAD, &[("plugin_id", Uint32), ("event_data", ByteBuf)]),
    e(324, "CONTAINER_JSON_2_E", "container", MODIFIES_STATE | LARGE_PAYLOAD, &[("json", CharBuf)]),
    e(326, "SYSCALL_OPENAT2_E", "openat2", CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("dirfd", Fd), ("name", FsRelPath), ("flags", Flags32), ("mode", Uint32), ("resolve", Flags32)]),
    e(327, "SYSCALL_OPENAT2_X", "openat2", CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("dirfd", Fd), ("name", FsRelPath), ("flags", Flags32), ("mode", Uint32), ("resolve", Flags32), ("dev", Uint32), ("ino", Uint64)]),
    e(330, "SYSCALL_EXECVEAT_E", "execveat", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("dirfd", Fd), ("pathname", FsRelPath), ("flags", Flags32)]),
    e(331, "SYSCALL_EXECVEAT_X", "execveat", MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Uint64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("cgroups", ByteBuf), ("env", ByteBuf), ("tty", Uint32), ("vpgid", Pid), ("loginuid", Uid), ("flags", Flags32), ("cap_inheritable", Uint64), ("cap_permitted", Uint64), ("cap_effective", Uint64), ("exe_ino", Uint64), ("exe_ino_ctime", AbsTime), ("exe_ino_mtime", AbsTime), ("uid", Uid), ("trusted_exepath", FsPath), ("pgid", Pid), ("gid", Gid)]),
    e(334, "SYSCALL_CLONE3_E", "clone3", OLD_VERSION | MODIFIES_STATE, &[]),
    e(335, "SYSCALL_CLONE3_X", "clone3", MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Pid), ("exe", CharBuf), ("args", ByteBuf), ("tid", Pid), ("pid", Pid), ("ptid", Pid), ("cwd", CharBuf), ("fdlimit", Int64), ("pgft_maj", Uint64), ("pgft_min", Uint64), ("vm_size", Uint32), ("vm_rss", Uint32), ("vm_swap", Uint32), ("comm", CharBuf), ("cgroups", ByteBuf), ("flags", Flags32), ("uid", Uint32), ("gid", Uint32), ("vtid", Pid), ("vpid", Pid), ("pidns_init_start_ts", Uint64)]),
    e(354, "USER_ADDED_E", "useradded", MODIFIES_STATE, &[("uid", Uint32), ("gid", Uint32), ("name", CharBuf), ("home", CharBuf), ("shell", CharBuf), ("container_id", CharBuf)]),
    e(358, "GROUP_ADDED_E", "groupadded", MODIFIES_STATE, &[("gid", Uint32), ("name", CharBuf), ("container_id", CharBuf)]),
    e(362, "SYSCALL_DUP2_E", "dup2", OLD_VERSION | CREATES_FD | USES_FD | MODIFIES_STATE, &[("fd", Fd)]),
    e(363, "SYSCALL_DUP2_X", "dup2", CREATES_FD | USES_FD | MODIFIES_STATE, &[("res", Fd), ("oldfd", Fd), ("newfd", Fd)]),
    e(364, "SYSCALL_DUP3_E", "dup3", OLD_VERSION | CREATES_FD | USES_FD | MODIFIES_STATE, &[("fd", Fd)]),
    e(365, "SYSCALL_DUP3_X", "dup3", CREATES_FD | USES_FD | MODIFIES_STATE, &[("res", Fd), ("oldfd", Fd), ("newfd", Fd), ("flags", Flags32)]),
    e(366, "SYSCALL_DUP_1_E", "dup", OLD_VERSION | CREATES_FD | USES_FD | MODIFIES_STATE, &[("fd", Fd)]),
    e(367, "SYSCALL_DUP_1_X", "dup", CREATES_FD | USES_FD | MODIFIES_STATE, &[("res", Fd), ("oldfd", Fd)]),
    e(368, "SYSCALL_BPF_2_E", "bpf", OLD_VERSION | CREATES_FD, &[("cmd", Int64)]),
    e(369, "SYSCALL_BPF_2_X", "bpf", CREATES_FD, &[("fd", Fd), ("cmd", EnumFlags32)]),
    e(386, "SYSCALL_UMOUNT_1_E", "umount", OLD_VERSION | MODIFIES_STATE, &[]),
    e(387, "SYSCALL_UMOUNT_1_X", "umount", MODIFIES_STATE, &[("res", Errno), ("name", FsPath)]),
    e(388, "SOCKET_ACCEPT4_6_E", "accept4", OLD_VERSION | CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("flags", Int32)]),
    e(389, "SOCKET_ACCEPT4_6_X", "accept4", CREATES_FD | MODIFIES_STATE | CONVERTER_MANAGED, &[("fd", Fd), ("tuple", SockTuple), ("queuepct", Uint8), ("queuelen", Uint32), ("queuemax", Uint32), ("flags", Int32)]),
    e(390, "SYSCALL_UMOUNT2_E", "umount2", OLD_VERSION | MODIFIES_STATE | CONVERTER_MANAGED, &[("flags", Flags32)]),
    e(391, "SYSCALL_UMOUNT2_X", "umount2", MODIFIES_STATE | CONVERTER_MANAGED, &[("res", Errno), ("name", FsPath), ("flags", Flags32)]),
    e(392, "SYSCALL_PIPE2_E", "pipe2", OLD_VERSION | CREATES_FD | MODIFIES_STATE, &[]),
    e(393, "SYSCALL_PIPE2_X", "pipe2", CREATES_FD | MODIFIES_STATE, &[("res", Errno), ("fd1", Fd), ("fd2", Fd), ("ino", Uint64), ("flags", Flags32)]),
    e(400, "SYSCALL_PRCTL_E", "prctl", OLD_VERSION | MODIFIES_STATE, &[]),
    e(401, "SYSCALL_PRCTL_X", "prctl", MODIFIES_STATE, &[("res", Errno), ("option", EnumFlags32), ("arg2_str", CharBuf), ("arg2_int", Int64)]),
    e(402, "ASYNCEVENT_E", "asyncevent", LARGE_PAYLOAD, &[("plugin_id", Uint32), ("name", CharBuf), ("data", ByteBuf)]),
    e(404, "SYSCALL_MEMFD_CREATE_E", "memfd_create", OLD_VERSION | CREATES_FD | MODIFIES_STATE, &[]),
    e(405, "SYSCALL_MEMFD_CREATE_X", "memfd_create", CREATES_FD | MODIFIES_STATE, &[("fd", Fd), ("name", CharBuf), ("flags", Flags32)]),
    e(410, "SYSCALL_INIT_MODULE_E", "init_module", OLD_VERSION, &[]),
    e(411, "SYSCALL_INIT_MODULE_X", "init_module", 0, &[("res", Errno), ("img", ByteBuf), ("length", Uint64), ("uargs", CharBuf)]),
    e(412, "SYSCALL_FINIT_MODULE_E", "finit_module", OLD_VERSION, &[]),
    e(413, "SYSCALL_FINIT_MODULE_X", "finit_module", USES_FD | READS_FROM_FD, &[("res", Errno), ("fd", Fd), ("uargs", CharBuf), ("flags", Flags32)]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_paired() {
        assert!(EVENTS.windows(2).all(|w| w[0].code < w[1].code));
        assert!(EVENTS.iter().all(|e| e.code < PPM_EVENT_MAX));
        let open_x = schema(3).expect("open exit");
        assert_eq!((open_x.name, open_x.params.len(), open_x.is_enter()), ("open", 6, false));
        assert_eq!(open_x.param_index("name"), Some(1));
        assert!(schema(324).is_some_and(|e| e.has(LARGE_PAYLOAD)));
    }
}
