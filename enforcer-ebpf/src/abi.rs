//! The Rust mirror of `src/bpf/palisade.h`. Integers and byte arrays only (no `bool` or
//! `enum` fields, so the structs have no implicit padding); sizes asserted at compile time.
//! Records are decoded from ring-buffer bytes with [`read`], which checks the length, and
//! [`header`], which also checks the ABI version.

use bytemuck::{Pod, Zeroable};

/// Must equal `PALISADE_ABI_VERSION` in palisade.h; part of the bpffs pin directory name.
pub const ABI_VERSION: u32 = 6;
/// `PALISADE_PATH_MAX`.
pub const PATH_MAX: usize = 256;
/// `PALISADE_ARGS_MAX`.
pub const ARGS_MAX: usize = 512;
/// `PALISADE_ENV_MAX`: bytes of the environment an exec record carries.
pub const ENV_MAX: usize = 1024;
/// `PALISADE_COMM_LEN`.
pub const COMM_LEN: usize = 16;

/// `enum palisade_kind`.
pub mod kind {
    /// `PALISADE_KIND_EXEC`.
    pub const EXEC: u32 = 1;
    /// `PALISADE_KIND_FORK`.
    pub const FORK: u32 = 2;
    /// `PALISADE_KIND_EXIT`.
    pub const EXIT: u32 = 3;
    /// `PALISADE_KIND_SYSCALL`.
    pub const SYSCALL: u32 = 4;
}

/// `enum palisade_fd_kind`: what the fd of a syscall record is.
pub mod fd_kind {
    /// No fd, or it could not be read.
    pub const NONE: u32 = 0;
    /// A file, directory, fifo or device; path in the record.
    pub const FILE: u32 = 1;
    /// An IPv4 or IPv6 socket.
    pub const INET: u32 = 2;
    /// A unix socket; its bound path (if any) in the record.
    pub const UNIX: u32 = 3;
    /// A socket of another family.
    pub const SOCKET: u32 = 4;
}

/// `enum palisade_open_kind`: how the open prefilter finds an open's flags.
pub mod open_kind {
    /// Not an open.
    pub const NONE: u8 = 0;
    /// `open(path, flags, mode)`.
    pub const FLAGS_ARG1: u8 = 1;
    /// `openat(dirfd, path, flags, mode)`.
    pub const FLAGS_ARG2: u8 = 2;
    /// `openat2(dirfd, path, how, size)`.
    pub const HOW_ARG2: u8 = 3;
    /// `creat(path, mode)`.
    pub const CREAT: u8 = 4;
}

/// `PALISADE_FD_FROM_RET`: [`SyscallConf::fd`] naming the return value.
pub const FD_FROM_RET: u8 = 7;
/// `PALISADE_COMPAT_SOCKETCALL`: [`SyscallConf::compat_nr`] of ia32 `socketcall`.
pub const COMPAT_SOCKETCALL: u16 = 0xffff;
/// `PALISADE_PREFIX_LENS`: entries of [`OpenFilter::prefix_lens`].
pub const PREFIX_LENS: usize = 32;
/// `PALISADE_EXE_FROM_MEMFD`.
pub const EXE_FROM_MEMFD: u32 = 1;
/// `PALISADE_EXE_UPPER_LAYER`.
pub const EXE_UPPER_LAYER: u32 = 2;
/// `PALISADE_EXE_LOWER_LAYER`.
pub const EXE_LOWER_LAYER: u32 = 4;
/// `PALISADE_INTEREST_READ`.
pub const INTEREST_READ: u8 = 1;
/// `PALISADE_INTEREST_WRITE`.
pub const INTEREST_WRITE: u8 = 2;
/// `PALISADE_BUDGET_FREQUENT`: [`SyscallConf::budget`] of frequent calls.
pub const BUDGET_FREQUENT: u8 = 1;
/// `PALISADE_BUDGET_RARE`: [`SyscallConf::budget`] of rare calls.
pub const BUDGET_RARE: u8 = 2;
/// `PALISADE_BUDGET_MAX_RATE`: the largest [`BudgetConf::rate`] the kernel applies.
pub const BUDGET_MAX_RATE: u64 = 100_000_000;
/// `PALISADE_BUDGET_MAX_BURST`: the largest [`BudgetConf::burst`] the kernel applies.
pub const BUDGET_MAX_BURST: u64 = 1_000_000;
/// `PALISADE_BUDGET_UNATTRIBUTED`: slot of `BUDGET_STATS` counting drops `BUDGET_DROPS` had
/// no room for.
pub const BUDGET_UNATTRIBUTED: u32 = 0;
/// `PALISADE_BUDGET_NEW_BUCKETS`: slot of `BUDGET_STATS` counting buckets created.
pub const BUDGET_NEW_BUCKETS: u32 = 1;
/// `PALISADE_INTEREST_WORDS`: u64 words per direction in the `INTEREST_BITS` map.
pub const INTEREST_WORDS: usize = 1024;

/// `struct event_header`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct EventHeader {
    /// Record kind ([`kind`]).
    pub kind: u32,
    /// ABI version the program was built with.
    pub abi: u32,
    /// Boot-time clock, ns.
    pub ts_ns: u64,
    /// cgroup v2 id of the task.
    pub cgroup_id: u64,
    /// Process id (tgid).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Audit login uid (`u32::MAX` when unset).
    pub loginuid: u32,
    /// Session id in the task's pid namespace (0: the session leader is outside it).
    pub sid: u32,
    /// Process group id in the task's pid namespace (0: the group leader is outside it).
    pub vpgid: u32,
    /// Process group id in the initial pid namespace.
    pub pgid: u32,
    /// Padding.
    pub _pad: u32,
    /// `comm`, NUL-padded.
    pub comm: [u8; COMM_LEN],
}

/// `struct exec_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct ExecEvent {
    /// Header.
    pub hdr: EventHeader,
    /// Bytes used in `filename`.
    pub filename_len: u32,
    /// Bytes used in `args` (NUL-separated argv).
    pub args_len: u32,
    /// 1 when argv did not fit.
    pub args_truncated: u32,
    /// Controlling tty device, 0 if none.
    pub tty: u32,
    /// Bytes used in `cwd`.
    pub cwd_len: u32,
    /// `PALISADE_EXE_*` bits.
    pub exe_flags: u32,
    /// Process id in its own pid namespace.
    pub vpid: u32,
    /// Bytes used in `env`.
    pub env_len: u32,
    /// Capability sets of the new credentials (bit N = capability N).
    pub cap_inheritable: u64,
    /// Permitted set.
    pub cap_permitted: u64,
    /// Effective set.
    pub cap_effective: u64,
    /// The executed file's inode number.
    pub exe_ino: u64,
    /// Its inode change time, ns since the epoch.
    pub exe_ctime_ns: i64,
    /// Its modification time, ns since the epoch.
    pub exe_mtime_ns: i64,
    /// The executed path as passed to exec.
    pub filename: [u8; PATH_MAX],
    /// argv, NUL-separated.
    pub args: [u8; ARGS_MAX],
    /// Working directory as the task sees it.
    pub cwd: [u8; PATH_MAX],
    /// The environment, NUL-separated `KEY=VALUE` strings, cut at [`ENV_MAX`] bytes.
    pub env: [u8; ENV_MAX],
}

/// `struct fork_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct ForkEvent {
    /// Header (of the parent).
    pub hdr: EventHeader,
    /// The child's process id.
    pub child_pid: u32,
    /// The child's thread id.
    pub child_tid: u32,
    /// The child's process id in its pid namespace.
    pub child_vpid: u32,
    /// Padding.
    pub _pad: u32,
}

/// `struct exit_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct ExitEvent {
    /// Header.
    pub hdr: EventHeader,
    /// `task->exit_code`.
    pub exit_code: i32,
    /// Padding.
    pub _pad: u32,
}

/// `struct fd_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct FdInfo {
    /// [`fd_kind`].
    pub kind: u32,
    /// The fd number, -1 if none.
    pub num: i32,
    /// Inode mode.
    pub i_mode: u32,
    /// The file's open flags.
    pub f_flags: u32,
    /// Inode number.
    pub ino: u64,
    /// Socket family (AF_*).
    pub family: u16,
    /// Socket type (SOCK_*).
    pub sock_type: u16,
    /// Socket protocol (IPPROTO_*).
    pub protocol: u16,
    /// Local port.
    pub lport: u16,
    /// Remote port.
    pub rport: u16,
    /// Padding.
    pub _pad: [u16; 3],
    /// Local address (IPv4: first 4 bytes).
    pub laddr: [u8; 16],
    /// Remote address.
    pub raddr: [u8; 16],
}

/// `struct syscall_conf`: what the sys_exit program captures for one syscall number (the
/// x86-64 syscall of that number), and what the ia32 syscall of that number is.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallConf {
    /// 1 to capture this syscall.
    pub enabled: u8,
    /// User strings to copy (register index + 1; 0 none).
    pub str_arg: [u8; 2],
    /// The dirfd each string is relative to (register index + 1; 0: the cwd).
    pub str_dirfd: [u8; 2],
    /// The fd to describe (register index + 1, or [`FD_FROM_RET`]; 0 none).
    pub fd: u8,
    /// A user sockaddr to copy (register index + 1; 0 none).
    pub addr_arg: u8,
    /// [`open_kind`].
    pub open_kind: u8,
    /// The x86-64 number of the ia32 syscall of this number ([`COMPAT_SOCKETCALL`] for
    /// `socketcall`) when that x86-64 syscall is captured; 0 otherwise.
    pub compat_nr: u16,
    /// 1: after a successful call, the record's path is the task's working directory.
    pub cwd: u8,
    /// The cgroup budget ([`BudgetConf`]) the call is charged to: [`BUDGET_FREQUENT`],
    /// [`BUDGET_RARE`], or 0 for none.
    pub budget: u8,
    /// Padding.
    pub _pad: [u8; 4],
}

/// `struct budget_conf`: the per-cgroup token buckets of syscall records (map `BUDGET_CONF`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct BudgetConf {
    /// Frequent calls: records per second refilling each cgroup's bucket (at most
    /// [`BUDGET_MAX_RATE`]).
    pub rate: u64,
    /// Frequent calls: bucket size in records (at most [`BUDGET_MAX_BURST`]).
    pub burst: u64,
    /// Rare calls: likewise.
    pub rare_rate: u64,
    /// Rare calls: likewise.
    pub rare_burst: u64,
    /// 0: no budget.
    pub enabled: u32,
    /// Padding.
    pub _pad: u32,
}

/// `struct scope_conf`: which cgroups the programs watch besides the tracked ones.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ScopeConf {
    /// 1: cgroups not in `TRACKED_CGROUPS` (the host, untracked containers) are watched too.
    pub untracked: u32,
    /// The daemon's process (tgid in the initial pid namespace; 0: none): its own syscalls are
    /// not captured.
    pub own_tgid: u32,
}

/// `struct open_filter`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct OpenFilter {
    /// 0: every open passes.
    pub active: u32,
    /// Every read open passes.
    pub read_all: u32,
    /// Every write open passes.
    pub write_all: u32,
    /// Padding.
    pub _pad: u32,
    /// The byte lengths of the prefix keys, ascending, 0-terminated.
    pub prefix_lens: [u8; PREFIX_LENS],
}

/// `struct syscall_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallEvent {
    /// Header.
    pub hdr: EventHeader,
    /// Return value.
    pub ret: i64,
    /// Raw register arguments.
    pub args: [u64; 6],
    /// openat2: `struct open_how` (flags, mode, resolve).
    pub extra: [u64; 3],
    /// Syscall number.
    pub nr: u32,
    /// Bytes used in `path`.
    pub path_len: u32,
    /// Bytes used in each `str`.
    pub str_len: [u32; 2],
    /// Bytes used in each `base`.
    pub base_len: [u32; 2],
    /// Bytes used in `addr`.
    pub addr_len: u32,
    /// 1: an ia32 syscall, reported as the x86-64 syscall `nr`.
    pub compat: u32,
    /// The fd the call is about.
    pub fd: FdInfo,
    /// User sockaddr, raw.
    pub addr: [u8; 32],
    /// The fd's path.
    pub path: [u8; PATH_MAX],
    /// User strings as passed.
    pub str: [[u8; PATH_MAX]; 2],
    /// The directory each relative string is relative to.
    pub base: [[u8; PATH_MAX]; 2],
}

impl EventHeader {
    /// The task name, up to its first NUL.
    pub fn comm(&self) -> String {
        let end = self.comm.iter().position(|b| *b == 0).unwrap_or(COMM_LEN);
        String::from_utf8_lossy(&self.comm[..end]).into_owned()
    }
}

const _: () = assert!(std::mem::size_of::<EventHeader>() == 80);
const _: () = assert!(std::mem::size_of::<ExecEvent>() == 80 + 32 + 48 + 2 * PATH_MAX + ARGS_MAX + ENV_MAX);
const _: () = assert!(std::mem::size_of::<FdInfo>() == 72);
const _: () = assert!(std::mem::size_of::<SyscallConf>() == 16);
const _: () = assert!(std::mem::size_of::<OpenFilter>() == 48);
const _: () = assert!(std::mem::size_of::<ScopeConf>() == 8);
const _: () = assert!(std::mem::size_of::<BudgetConf>() == 40);
const _: () = assert!(std::mem::size_of::<SyscallEvent>() == 296 + 5 * PATH_MAX);
const _: () = assert!(std::mem::size_of::<ForkEvent>() == 96);
const _: () = assert!(std::mem::size_of::<ExitEvent>() == 88);
// Field offsets the C side relies on (palisade.h; the sizes above and bytemuck's no-padding
// proof fix the rest).
const _: () = assert!(std::mem::offset_of!(EventHeader, sid) == 48);
const _: () = assert!(std::mem::offset_of!(EventHeader, comm) == 64);
const _: () = assert!(std::mem::offset_of!(SyscallConf, compat_nr) == 8);
const _: () = assert!(std::mem::offset_of!(SyscallEvent, compat) == 188);
const _: () = assert!(std::mem::offset_of!(OpenFilter, prefix_lens) == 16);

/// A record that does not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the record needs.
    Short {
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// Built for another ABI.
    Abi(u32),
    /// A record kind this build does not know.
    Kind(u32),
}

/// Copy a record out of ring-buffer bytes (bytemuck's `Pod` derive also proves at compile
/// time that the struct has no padding).
pub fn read<T: Pod>(bytes: &[u8]) -> Result<T, DecodeError> {
    let need = std::mem::size_of::<T>();
    match bytes.get(..need) {
        Some(b) => Ok(bytemuck::pod_read_unaligned(b)),
        None => Err(DecodeError::Short { need, got: bytes.len() }),
    }
}

/// The header of a record, checked for ABI.
pub fn header(bytes: &[u8]) -> Result<EventHeader, DecodeError> {
    let h: EventHeader = read(bytes)?;
    if h.abi != ABI_VERSION {
        return Err(DecodeError::Abi(h.abi));
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C header states the same layouts as this mirror (`ABI_SIZE`/`ABI_OFFSET` in
    /// palisade.h, `_Static_assert`s at compile time): same structs, same numbers.
    #[test]
    fn layouts_match_the_c_header() {
        use std::mem::{offset_of, size_of};
        let rust = [
            ("event_header", "", size_of::<EventHeader>()),
            ("exec_event", "", size_of::<ExecEvent>()),
            ("fd_info", "", size_of::<FdInfo>()),
            ("syscall_conf", "", size_of::<SyscallConf>()),
            ("open_filter", "", size_of::<OpenFilter>()),
            ("scope_conf", "", size_of::<ScopeConf>()),
            ("budget_conf", "", size_of::<BudgetConf>()),
            ("syscall_event", "", size_of::<SyscallEvent>()),
            ("fork_event", "", size_of::<ForkEvent>()),
            ("exit_event", "", size_of::<ExitEvent>()),
            ("event_header", "sid", offset_of!(EventHeader, sid)),
            ("event_header", "comm", offset_of!(EventHeader, comm)),
            ("syscall_conf", "compat_nr", offset_of!(SyscallConf, compat_nr)),
            ("syscall_event", "compat", offset_of!(SyscallEvent, compat)),
            ("open_filter", "prefix_lens", offset_of!(OpenFilter, prefix_lens)),
        ];
        let rust: Vec<(String, String, usize)> = rust.iter().map(|(t, f, n)| (t.to_string(), f.to_string(), *n)).collect();
        assert_eq!(crate::c_layout_checks(include_str!("bpf/palisade.h")), rust);
    }

    /// The constants here must be the header's (the struct sizes are asserted at compile time).
    #[test]
    fn constants_match_the_c_header() {
        let header = include_str!("bpf/palisade.h");
        let define = |name: &str| -> usize {
            header
                .lines()
                .find_map(|l| l.strip_prefix("#define ")?.strip_prefix(name)?.split_whitespace().next()?.parse().ok())
                .unwrap_or_else(|| panic!("{name} not defined in palisade.h"))
        };
        assert_eq!(define("PALISADE_ABI_VERSION"), ABI_VERSION as usize);
        assert_eq!(define("PALISADE_PATH_MAX"), PATH_MAX);
        assert_eq!(define("PALISADE_ARGS_MAX"), ARGS_MAX);
        assert_eq!(define("PALISADE_ENV_MAX"), ENV_MAX);
        assert_eq!(define("PALISADE_COMM_LEN"), COMM_LEN);
        assert_eq!(define("PALISADE_FD_FROM_RET"), FD_FROM_RET as usize);
        let socketcall = header.lines().find_map(|l| l.strip_prefix("#define PALISADE_COMPAT_SOCKETCALL ")).expect("socketcall");
        assert_eq!(u16::from_str_radix(socketcall.trim().trim_start_matches("0x"), 16), Ok(COMPAT_SOCKETCALL));
        assert_eq!(define("PALISADE_EXE_FROM_MEMFD"), EXE_FROM_MEMFD as usize);
        assert_eq!(define("PALISADE_EXE_UPPER_LAYER"), EXE_UPPER_LAYER as usize);
        assert_eq!(define("PALISADE_EXE_LOWER_LAYER"), EXE_LOWER_LAYER as usize);
        assert_eq!(define("PALISADE_INTEREST_READ"), INTEREST_READ as usize);
        assert_eq!(define("PALISADE_INTEREST_WRITE"), INTEREST_WRITE as usize);
        assert_eq!(define("PALISADE_INTEREST_WORDS"), INTEREST_WORDS);
        assert_eq!(define("PALISADE_PREFIX_LENS"), PREFIX_LENS);
        assert_eq!(define("PALISADE_BUDGET_MAX_RATE"), BUDGET_MAX_RATE as usize);
        assert_eq!(define("PALISADE_BUDGET_MAX_BURST"), BUDGET_MAX_BURST as usize);
        assert_eq!(define("PALISADE_BUDGET_UNATTRIBUTED"), BUDGET_UNATTRIBUTED as usize);
        assert_eq!(define("PALISADE_BUDGET_NEW_BUCKETS"), BUDGET_NEW_BUCKETS as usize);
        assert_eq!(define("PALISADE_BUDGET_FREQUENT"), BUDGET_FREQUENT as usize);
        assert_eq!(define("PALISADE_BUDGET_RARE"), BUDGET_RARE as usize);
        let enums = [
            ("PALISADE_KIND_EXEC", kind::EXEC),
            ("PALISADE_KIND_FORK", kind::FORK),
            ("PALISADE_KIND_EXIT", kind::EXIT),
            ("PALISADE_KIND_SYSCALL", kind::SYSCALL),
            ("PALISADE_FD_NONE", fd_kind::NONE),
            ("PALISADE_FD_FILE", fd_kind::FILE),
            ("PALISADE_FD_INET", fd_kind::INET),
            ("PALISADE_FD_UNIX", fd_kind::UNIX),
            ("PALISADE_FD_SOCKET", fd_kind::SOCKET),
            ("PALISADE_OPEN_NONE", u32::from(open_kind::NONE)),
            ("PALISADE_OPEN_FLAGS_ARG1", u32::from(open_kind::FLAGS_ARG1)),
            ("PALISADE_OPEN_FLAGS_ARG2", u32::from(open_kind::FLAGS_ARG2)),
            ("PALISADE_OPEN_HOW_ARG2", u32::from(open_kind::HOW_ARG2)),
            ("PALISADE_OPEN_CREAT", u32::from(open_kind::CREAT)),
        ];
        for (name, value) in enums {
            let line = header.lines().find(|l| l.trim_start().starts_with(name)).expect("kind in header");
            assert!(line.contains(&format!("= {value},")), "{name} = {value} in palisade.h");
        }
    }
}
