//! The x86_64 syscalls Palisade turns into Falco exit events, and Falco-exact rendering of
//! their parameters (`evt.arg.*`, `evt.rawarg.*`, `evt.args`, `evt.res`).
//!
//! The kernel side captures, at `sys_exit`, the return value, the six register arguments, up to
//! two user strings and (for `openat2`) the `struct open_how`. [`table`] says, for each syscall,
//! which Falco event it becomes; its [`Syscall::params`] (kept in the private `events` module)
//! list that event's parameters with names, order and types as in libs' `driver/event_table.c`,
//! and where each value comes from. [`render`] turns a captured
//! call into the strings libsinsp would produce; [`flags`] holds the Linux → PPM conversions and
//! [`names`] the name tables (`driver/flags_table.c`); [`paths`] is libsinsp's path concatenation.
//!
//! What libsinsp does, in short (details on the functions that implement it):
//! - `evt.arg.<name>` yields the *resolved* string of a parameter when it has one, else the raw
//!   one (`sinsp_filter_check_event::extract`, `TYPE_ARGSTR`): a uid gives the user name, a
//!   flags value its names, an fd `<f>/etc/passwd`, an errno `ENOENT`.
//! - `evt.args` prints every parameter as `name=raw` or `name=raw(resolved)`, space-separated.
//! - `evt.rawarg.<name>` is the raw typed value (PPM-converted flags, not Linux ones).
//! - `evt.res` is `SUCCESS` for a non-negative return value, else the resolved first parameter.

mod events;
pub mod flags;
pub mod ia32;
#[rustfmt::skip]
pub mod names;
pub mod paths;
pub mod render;
pub mod table;

#[cfg(test)]
mod conv_tests;
#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod table_tests;

pub use flags::open_access;
pub use paths::{concatenate_paths, resolve_relative};
pub use render::{arg, arg_at, args_line, rawarg, rawarg_string, res};
pub use table::{by_nr, exit_event, for_event, has_param, is_falco_param_name, SYSCALLS};

/// A name table as in `flags_table.c`: (name, PPM value), in Falco's order (the order matters:
/// rendering walks it front to back).
pub type FlagTable = [(&'static str, u32)];

/// One x86_64 syscall and the Falco exit event it produces.
#[derive(Debug)]
pub struct Syscall {
    /// x86_64 syscall number.
    pub nr: u32,
    /// Falco `evt.type`.
    pub event: &'static str,
    /// The exit event's parameters, in Falco's order, with Falco's names.
    pub params: &'static [Param],
    /// The register arguments the kernel side must copy as NUL-terminated user strings;
    /// `strings[i]` fills `RawCall::strings[i]`.
    pub strings: [Option<StringArg>; 2],
    /// The fd that the event's `fd.*` fields describe.
    pub fd: FdOf,
}

/// A register argument that is a user string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringArg {
    /// Register index (0..=5) of the string pointer.
    pub arg: u8,
    /// Register index of the dirfd a relative string is resolved against; `None` = the cwd.
    pub dirfd: Option<u8>,
}

/// Which fd the event's `fd.*` fields describe (libscap `get_exit_event_fd_location` for
/// `EF_USES_FD` events, the return value for `EF_CREATES_FD` ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdOf {
    /// The event has no fd.
    None,
    /// The fd in register `i` (sign-extended from a C `int`).
    Arg(u8),
    /// The fd the syscall returned (when non-negative).
    Ret,
    /// `dup*`: on success the returned fd, which describes the same open file as the fd in
    /// register `i`; on failure the fd in register `i` (libsinsp `parse_dup_exit`).
    Dup(u8),
}

/// One parameter of an exit event.
#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub value: ParamValue,
    pub format: Format,
}

/// Where a parameter's value comes from, and how the driver converts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamValue {
    /// The syscall return value.
    Ret,
    /// `recvmsg` size: the return value when non-negative, else 0.
    RetOrZero,
    /// Register `i`, unconverted (truncated to the parameter's width when rendered).
    Arg(u8),
    /// Register `i` read as a C `int` and sign-extended (fds, pids; `AT_FDCWD` stays -100).
    IntArg(u8),
    /// A Linux value converted to Falco's PPM encoding.
    Conv(Source, Conv),
    /// `open_modes_to_scap(flags, mode)`: the permission bits, or 0 without `O_CREAT`/`O_TMPFILE`.
    OpenMode { flags: Source, mode: Source },
    /// `creat`'s `creat_flags`: overlay bits taken from `RawCall::file_state`.
    CreatLayer,
    /// `RawCall::strings[slot]`.
    String(u8),
    /// `ptrace`'s `addr` (`PT_DYN`): register 2, or 0 when the call failed.
    PtraceAddr,
    /// `ptrace`'s `data` (`PT_DYN`): depends on the request; unavailable for `PEEK*`, where
    /// the driver reads the peeked word from user memory.
    PtraceData,
    /// Falco has it, raw registers do not (kernel state, sockaddr contents, buffers, process
    /// info): `evt.arg.<name>` is known but has no value.
    Unavailable,
}

/// Input of a conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Register `i`.
    Arg(u8),
    /// `RawCall::extra[i]`.
    Extra(u8),
}

/// Linux → PPM conversions, one per helper in libs' `ppm_flag_helpers.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// `open_flags_to_scap`, plus `RawCall::file_state` (created / overlay bits).
    OpenFlags,
    /// `openat2_resolve_to_scap`.
    OpenatResolve,
    /// `chmod_mode_to_scap` (also what `creat`'s mode amounts to).
    Chmod,
    /// `socket_family_to_scap` (of the low byte).
    SocketFamily,
    /// `socket_flags_to_scap`: `SOCK_NONBLOCK`/`SOCK_CLOEXEC` → `O_NONBLOCK`/`O_CLOEXEC`.
    SocketFlags,
    /// `clone_flags_to_scap`.
    Clone,
    /// `ptrace_requests_to_scap`.
    Ptrace,
    /// `dup3_flags_to_scap`.
    Dup3,
    /// `linkat_flags_to_scap`.
    Linkat,
    /// `unlinkat_flags_to_scap`.
    Unlinkat,
    /// `fchownat_flags_to_scap`.
    Fchownat,
    /// `memfd_create_flags_to_scap`.
    Memfd,
    /// `umount2_flags_to_scap`.
    Umount2,
    /// `finit_module_flags_to_scap`.
    FinitModule,
    /// `mount`: drops the `MS_MGC_VAL` magic in the top 16 bits.
    MountFlags,
}

/// Integer width of a parameter (`PT_*8` .. `PT_*64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    W8,
    W16,
    W32,
    W64,
}

/// Print format (`PF_DEC`/`PF_NA`, `PF_HEX`, `PF_OCT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    Dec,
    Hex,
    Oct,
}

/// How libsinsp renders a parameter: its `PT_*` type (and `PF_*` format where it matters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `PT_FD`.
    Fd,
    /// `PT_ERRNO`.
    Errno,
    /// `PT_PID`.
    Pid,
    /// `PT_UID`.
    Uid,
    /// `PT_GID`.
    Gid,
    /// `PT_INT8`..`PT_INT64`.
    Signed(Width, Base),
    /// `PT_UINT8`..`PT_UINT64`.
    Unsigned(Width, Base),
    /// `PT_FLAGS8`..`PT_FLAGS32`: a bit set named by the table.
    Flags(Width, &'static FlagTable),
    /// `PT_ENUMFLAGS8`..`PT_ENUMFLAGS32`: one value named by the table.
    Enum(Width, &'static FlagTable),
    /// `PT_MODE` (always `PF_OCT` in our events).
    Mode(&'static FlagTable),
    /// `PT_CHARBUF`.
    CharBuf,
    /// `PT_FSPATH`: resolved against the cwd when relative.
    FsPath,
    /// `PT_FSRELPATH`: resolved against the dirfd in parameter `dirfd` (an index into the
    /// event's parameters), or the cwd when that is `AT_FDCWD`.
    FsRelPath { dirfd: u8 },
    /// `PT_BYTEBUF`.
    ByteBuf,
    /// `PT_SOCKADDR`.
    SockAddr,
    /// `PT_SOCKTUPLE`.
    SockTuple,
    /// `PT_CHARBUFARRAY`.
    CharBufArray,
    /// `PT_ABSTIME`.
    AbsTime,
    /// `PT_DYN` with `ptrace_dynamic_param` (`PT_UINT64` hex or `PT_SIGTYPE`).
    PtraceDyn,
}

/// One captured syscall exit.
#[derive(Debug, Clone, Default)]
pub struct RawCall<'a> {
    /// Return value (`evt.rawres`).
    pub ret: i64,
    /// The six register arguments.
    pub args: [u64; 6],
    /// The user strings named by `Syscall::strings`, as copied (a NUL ends them); `None` when
    /// the copy failed (Falco then shows `<NA>`).
    pub strings: [Option<&'a [u8]>; 2],
    /// For each string: the absolute path it designates, computed by the caller with
    /// [`resolve_relative`] from the cwd or the dirfd's path. Only used for relative strings.
    pub resolved: [Option<&'a str>; 2],
    /// Values copied from user memory: for `openat2`, the `struct open_how` as
    /// `[how.flags, how.mode, how.resolve]` (all 0 when the copy failed, as the driver does).
    pub extra: [u64; 3],
    /// For the open family: PPM bits the driver reads from the opened `struct file`
    /// (`flags::PPM_O_F_CREATED`, `flags::PPM_FD_UPPER_LAYER`, `flags::PPM_FD_LOWER_LAYER`);
    /// 0 when unknown.
    pub file_state: u32,
}

/// A typed raw value, as `evt.rawarg.<name>` yields it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgValue {
    Str(String),
    Signed(i64),
    Unsigned(u64),
}

/// What kind of file an fd is (`sinsp_fdinfo::get_typechar`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdKind {
    File,
    Directory,
    Ipv4,
    Ipv6,
    Ipv4Server,
    Ipv6Server,
    Fifo,
    Unix,
    Event,
    Signal,
    EventPoll,
    Inotify,
    Timer,
    Netlink,
    Bpf,
    UserFault,
    IoUring,
    Memfd,
    Pidfd,
    Unknown,
    Unsupported,
}

impl FdKind {
    /// The character libsinsp prints between `<` and `>` (and `fd.typechar`).
    pub fn typechar(self) -> char {
        match self {
            FdKind::File => 'f',
            FdKind::Directory => 'd',
            FdKind::Ipv4 | FdKind::Ipv4Server => '4',
            FdKind::Ipv6 | FdKind::Ipv6Server => '6',
            FdKind::Fifo => 'p',
            FdKind::Unix | FdKind::UserFault => 'u',
            FdKind::Event => 'e',
            FdKind::Signal => 's',
            FdKind::EventPoll => 'l',
            FdKind::Inotify => 'i',
            FdKind::Timer => 't',
            FdKind::Netlink => 'n',
            FdKind::Bpf => 'b',
            FdKind::IoUring => 'r',
            FdKind::Memfd => 'm',
            FdKind::Pidfd => 'P',
            FdKind::Unknown => 'o',
            FdKind::Unsupported => 'X',
        }
    }

    fn is_ip(self) -> bool {
        matches!(
            self,
            FdKind::Ipv4 | FdKind::Ipv6 | FdKind::Ipv4Server | FdKind::Ipv6Server
        )
    }
}

/// Layer-4 protocol of an IP socket fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4 {
    Tcp,
    Udp,
    Icmp,
    Raw,
}

/// What the caller's fd table knows about an fd (what libsinsp keeps in `sinsp_fdinfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdDesc {
    pub kind: FdKind,
    pub l4: Option<L4>,
    /// `fd.name`: the path, or the connection as `1.2.3.4:5->6.7.8.9:80`.
    pub name: String,
}

impl FdDesc {
    /// `<f>/etc/passwd`, `<4t>1.2.3.4:5->6.7.8.9:80` (libsinsp `sinsp_evt::render_fd`).
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(self.name.len() + 4);
        s.push('<');
        s.push(self.kind.typechar());
        if self.kind.is_ip() {
            match self.l4 {
                Some(L4::Tcp) => s.push('t'),
                Some(L4::Udp) => s.push('u'),
                Some(L4::Icmp) => s.push('i'),
                Some(L4::Raw) => s.push('r'),
                None => {}
            }
        }
        s.push('>');
        s.push_str(&self.name);
        s
    }
}

/// Lookups libsinsp makes while rendering, answered from the caller's state at the time of the
/// event (after the syscall: a new fd is already in the table). Every method defaults to
/// "unknown", which renders as libsinsp renders an unknown entry.
pub trait Names {
    /// User name of a uid (`PT_UID`; libsinsp looks up the uid from the event, in the
    /// thread's container).
    fn user(&self, _uid: u32) -> Option<String> {
        None
    }
    /// Group name of a gid (`PT_GID`).
    fn group(&self, _gid: u32) -> Option<String> {
        None
    }
    /// `comm` of the thread with this tid (`PT_PID`).
    fn comm(&self, _tid: i64) -> Option<String> {
        None
    }
    /// The calling process's fd `fd`.
    fn fd(&self, _fd: i64) -> Option<FdDesc> {
        None
    }
}

/// A closure from uid to user name is a [`Names`] that knows only users.
impl<F: Fn(u32) -> Option<String>> Names for F {
    fn user(&self, uid: u32) -> Option<String> {
        self(uid)
    }
}

/// Knows nothing: uids render `<NA>`, fds render as bare numbers.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNames;

impl Names for NoNames {}
