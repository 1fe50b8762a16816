//! Falco exit-event parameter lists (libs `driver/event_table.c`, the `*_X` entries the
//! x86_64 syscall table maps to), with where each value comes from at `sys_exit` (libs
//! `driver/modern_bpf/programs/tail_called/events/syscall_dispatched_events/*.bpf.c`).

use super::names::{
    BPF_COMMANDS, CHMOD_MODE, CLONE_FLAGS, CREAT_FLAGS, EXECVE_FLAGS, FILE_FLAGS,
    FINIT_MODULE_FLAGS, LINKAT_FLAGS, MEMFD_CREATE_FLAGS, MOUNT_FLAGS, OPENAT2_FLAGS,
    PTRACE_REQUESTS, RENAMEAT2_FLAGS, SOCKET_FAMILIES, UMOUNT_FLAGS, UNLINKAT_FLAGS,
    FCHOWNAT_FLAGS,
};
use super::Base::{Dec, Hex, Oct};
use super::Width::{W16, W32, W64, W8};
use super::{Conv, Format as F, Param, ParamValue as V, Source};

const fn p(name: &'static str, value: V, format: F) -> Param {
    Param {
        name,
        value,
        format,
    }
}

/// A parameter raw registers cannot supply.
const fn na(name: &'static str, format: F) -> Param {
    p(name, V::Unavailable, format)
}

const fn conv(arg: u8, conv: Conv) -> V {
    V::Conv(Source::Arg(arg), conv)
}

const RES: Param = p("res", V::Ret, F::Errno);
const U32: F = F::Unsigned(W32, Dec);
const U64: F = F::Unsigned(W64, Dec);
const REL1: F = F::FsRelPath { dirfd: 1 };
const REL3: F = F::FsRelPath { dirfd: 3 };
const DEV: Param = na("dev", F::Unsigned(W32, Hex));
const INO: Param = na("ino", U64);

pub(super) const OPEN: &[Param] = &[
    p("fd", V::Ret, F::Fd),
    p("name", V::String(0), F::FsPath),
    p("flags", conv(1, Conv::OpenFlags), F::Flags(W32, FILE_FLAGS)),
    p(
        "mode",
        V::OpenMode {
            flags: Source::Arg(1),
            mode: Source::Arg(2),
        },
        F::Unsigned(W32, Oct),
    ),
    DEV,
    INO,
];

pub(super) const OPENAT: &[Param] = &[
    p("fd", V::Ret, F::Fd),
    p("dirfd", V::IntArg(0), F::Fd),
    p("name", V::String(0), REL1),
    p("flags", conv(2, Conv::OpenFlags), F::Flags(W32, FILE_FLAGS)),
    p(
        "mode",
        V::OpenMode {
            flags: Source::Arg(2),
            mode: Source::Arg(3),
        },
        F::Unsigned(W32, Oct),
    ),
    DEV,
    INO,
];

pub(super) const OPENAT2: &[Param] = &[
    p("fd", V::Ret, F::Fd),
    p("dirfd", V::IntArg(0), F::Fd),
    p("name", V::String(0), REL1),
    p(
        "flags",
        V::Conv(Source::Extra(0), Conv::OpenFlags),
        F::Flags(W32, FILE_FLAGS),
    ),
    p(
        "mode",
        V::OpenMode {
            flags: Source::Extra(0),
            mode: Source::Extra(1),
        },
        F::Unsigned(W32, Oct),
    ),
    p(
        "resolve",
        V::Conv(Source::Extra(2), Conv::OpenatResolve),
        F::Flags(W32, OPENAT2_FLAGS),
    ),
    DEV,
    INO,
];

pub(super) const CREAT: &[Param] = &[
    p("fd", V::Ret, F::Fd),
    p("name", V::String(0), F::FsPath),
    p("mode", conv(1, Conv::Chmod), F::Unsigned(W32, Oct)),
    DEV,
    INO,
    p("creat_flags", V::CreatLayer, F::Flags(W16, CREAT_FLAGS)),
];

/// `close`, `fchdir` (`fd` is `PF_NA` there, which renders the same).
pub(super) const RES_FD0: &[Param] = &[RES, p("fd", V::IntArg(0), F::Fd)];

/// `chdir`.
pub(super) const CHDIR: &[Param] = &[RES, p("path", V::String(0), F::CharBuf)];

/// `rmdir`, `unlink`.
pub(super) const RES_PATH: &[Param] = &[RES, p("path", V::String(0), F::FsPath)];

pub(super) const MKDIR: &[Param] = &[
    RES,
    p("path", V::String(0), F::FsPath),
    p("mode", V::Arg(1), F::Unsigned(W32, Hex)),
];

pub(super) const MKDIRAT: &[Param] = &[
    RES,
    p("dirfd", V::IntArg(0), F::Fd),
    p("path", V::String(0), REL1),
    p("mode", V::Arg(2), F::Unsigned(W32, Hex)),
];

/// `link`, `rename`.
pub(super) const OLD_NEW: &[Param] = &[
    RES,
    p("oldpath", V::String(0), F::FsPath),
    p("newpath", V::String(1), F::FsPath),
];

pub(super) const LINKAT: &[Param] = &[
    RES,
    p("olddir", V::IntArg(0), F::Fd),
    p("oldpath", V::String(0), REL1),
    p("newdir", V::IntArg(2), F::Fd),
    p("newpath", V::String(1), REL3),
    p("flags", conv(4, Conv::Linkat), F::Flags(W32, LINKAT_FLAGS)),
];

pub(super) const UNLINKAT: &[Param] = &[
    RES,
    p("dirfd", V::IntArg(0), F::Fd),
    p("name", V::String(0), REL1),
    p(
        "flags",
        conv(2, Conv::Unlinkat),
        F::Flags(W32, UNLINKAT_FLAGS),
    ),
];

pub(super) const RENAMEAT: &[Param] = &[
    RES,
    p("olddirfd", V::IntArg(0), F::Fd),
    p("oldpath", V::String(0), REL1),
    p("newdirfd", V::IntArg(2), F::Fd),
    p("newpath", V::String(1), REL3),
];

/// `renameat2` flags go through unconverted (PPM values equal Linux ones).
pub(super) const RENAMEAT2: &[Param] = &[
    RES,
    p("olddirfd", V::IntArg(0), F::Fd),
    p("oldpath", V::String(0), REL1),
    p("newdirfd", V::IntArg(2), F::Fd),
    p("newpath", V::String(1), REL3),
    p("flags", V::Arg(4), F::Flags(W32, RENAMEAT2_FLAGS)),
];

pub(super) const SYMLINK: &[Param] = &[
    RES,
    p("target", V::String(0), F::CharBuf),
    p("linkpath", V::String(1), F::FsPath),
];

pub(super) const SYMLINKAT: &[Param] = &[
    RES,
    p("target", V::String(0), F::CharBuf),
    p("linkdirfd", V::IntArg(1), F::Fd),
    p("linkpath", V::String(1), F::FsRelPath { dirfd: 2 }),
];

pub(super) const DUP: &[Param] = &[p("res", V::Ret, F::Fd), p("oldfd", V::IntArg(0), F::Fd)];

pub(super) const DUP2: &[Param] = &[
    p("res", V::Ret, F::Fd),
    p("oldfd", V::IntArg(0), F::Fd),
    p("newfd", V::IntArg(1), F::Fd),
];

pub(super) const DUP3: &[Param] = &[
    p("res", V::Ret, F::Fd),
    p("oldfd", V::IntArg(0), F::Fd),
    p("newfd", V::IntArg(1), F::Fd),
    p("flags", conv(2, Conv::Dup3), F::Flags(W32, FILE_FLAGS)),
];

pub(super) const CHMOD: &[Param] = &[
    RES,
    p("filename", V::String(0), F::FsPath),
    p("mode", conv(1, Conv::Chmod), F::Mode(CHMOD_MODE)),
];

pub(super) const FCHMOD: &[Param] = &[
    RES,
    p("fd", V::IntArg(0), F::Fd),
    p("mode", conv(1, Conv::Chmod), F::Mode(CHMOD_MODE)),
];

pub(super) const FCHMODAT: &[Param] = &[
    RES,
    p("dirfd", V::IntArg(0), F::Fd),
    p("filename", V::String(0), REL1),
    p("mode", conv(2, Conv::Chmod), F::Mode(CHMOD_MODE)),
];

/// `mount`'s `type` would be a third user string; only two are captured.
pub(super) const MOUNT: &[Param] = &[
    RES,
    p("dev", V::String(0), F::CharBuf),
    p("dir", V::String(1), F::FsPath),
    na("type", F::CharBuf),
    p(
        "flags",
        conv(3, Conv::MountFlags),
        F::Flags(W32, MOUNT_FLAGS),
    ),
];

pub(super) const UMOUNT2: &[Param] = &[
    RES,
    p("name", V::String(0), F::FsPath),
    p("flags", conv(1, Conv::Umount2), F::Flags(W32, UMOUNT_FLAGS)),
];

pub(super) const PTRACE: &[Param] = &[
    RES,
    p("addr", V::PtraceAddr, F::PtraceDyn),
    p("data", V::PtraceData, F::PtraceDyn),
    p(
        "request",
        conv(0, Conv::Ptrace),
        F::Enum(W16, PTRACE_REQUESTS),
    ),
    p("pid", V::IntArg(1), F::Pid),
];

/// `type` is the raw register (with `SOCK_NONBLOCK`/`SOCK_CLOEXEC`), `flags` those two bits.
pub(super) const SOCKET: &[Param] = &[
    p("fd", V::Ret, F::Fd),
    p(
        "domain",
        conv(0, Conv::SocketFamily),
        F::Enum(W32, SOCKET_FAMILIES),
    ),
    p("type", V::Arg(1), U32),
    p("proto", V::Arg(2), U32),
    p(
        "flags",
        conv(1, Conv::SocketFlags),
        F::Flags(W32, FILE_FLAGS),
    ),
];

pub(super) const BIND: &[Param] = &[RES, na("addr", F::SockAddr), p("fd", V::IntArg(0), F::Fd)];

pub(super) const CONNECT: &[Param] = &[
    RES,
    na("tuple", F::SockTuple),
    p("fd", V::IntArg(0), F::Fd),
    na("addr", F::SockAddr),
];

pub(super) const LISTEN: &[Param] = &[
    RES,
    p("fd", V::IntArg(0), F::Fd),
    p("backlog", V::Arg(1), F::Signed(W32, Dec)),
];

pub(super) const ACCEPT: &[Param] = &[
    p("fd", V::Ret, F::Fd),
    na("tuple", F::SockTuple),
    na("queuepct", F::Unsigned(W8, Dec)),
    na("queuelen", U32),
    na("queuemax", U32),
];

/// `flags` is `PT_INT32`/`PF_HEX`: `SOCK_CLOEXEC` prints `1000`.
pub(super) const ACCEPT4: &[Param] = &[
    p("fd", V::Ret, F::Fd),
    na("tuple", F::SockTuple),
    na("queuepct", F::Unsigned(W8, Dec)),
    na("queuelen", U32),
    na("queuemax", U32),
    p("flags", conv(3, Conv::SocketFlags), F::Signed(W32, Hex)),
];

pub(super) const SENDTO: &[Param] = &[
    RES,
    na("data", F::ByteBuf),
    p("fd", V::IntArg(0), F::Fd),
    p("size", V::Arg(2), U32),
    na("tuple", F::SockTuple),
];

pub(super) const RECVFROM: &[Param] = &[
    RES,
    na("data", F::ByteBuf),
    na("tuple", F::SockTuple),
    p("fd", V::IntArg(0), F::Fd),
    p("size", V::Arg(2), U32),
];

/// `size` is the sum of the iovec lengths, read from user memory.
pub(super) const SENDMSG: &[Param] = &[
    RES,
    na("data", F::ByteBuf),
    p("fd", V::IntArg(0), F::Fd),
    na("size", U32),
    na("tuple", F::SockTuple),
];

pub(super) const RECVMSG: &[Param] = &[
    RES,
    p("size", V::RetOrZero, U32),
    na("data", F::ByteBuf),
    na("tuple", F::SockTuple),
    na("msgcontrol", F::ByteBuf),
    p("fd", V::IntArg(0), F::Fd),
];

pub(super) const SETUID: &[Param] = &[RES, p("uid", V::Arg(0), F::Uid)];
pub(super) const SETGID: &[Param] = &[RES, p("gid", V::Arg(0), F::Gid)];
pub(super) const SETRESUID: &[Param] = &[
    RES,
    p("ruid", V::Arg(0), F::Uid),
    p("euid", V::Arg(1), F::Uid),
    p("suid", V::Arg(2), F::Uid),
];
pub(super) const SETRESGID: &[Param] = &[
    RES,
    p("rgid", V::Arg(0), F::Gid),
    p("egid", V::Arg(1), F::Gid),
    p("sgid", V::Arg(2), F::Gid),
];

pub(super) const SETNS: &[Param] = &[
    RES,
    p("fd", V::IntArg(0), F::Fd),
    p("nstype", conv(1, Conv::Clone), F::Flags(W32, CLONE_FLAGS)),
];

pub(super) const UNSHARE: &[Param] = &[
    RES,
    p("flags", conv(0, Conv::Clone), F::Flags(W32, CLONE_FLAGS)),
];

pub(super) const BPF: &[Param] = &[
    p("fd", V::Ret, F::Fd),
    p("cmd", V::Arg(0), F::Enum(W32, BPF_COMMANDS)),
];

/// `userfaultfd` flags go through unconverted, yet are named with the PPM open-flag table.
pub(super) const USERFAULTFD: &[Param] = &[RES, p("flags", V::Arg(0), F::Flags(W32, FILE_FLAGS))];

pub(super) const MEMFD_CREATE: &[Param] = &[
    p("fd", V::Ret, F::Fd),
    p("name", V::String(0), F::CharBuf),
    p(
        "flags",
        conv(1, Conv::Memfd),
        F::Flags(W32, MEMFD_CREATE_FLAGS),
    ),
];

pub(super) const INIT_MODULE: &[Param] = &[
    RES,
    na("img", F::ByteBuf),
    p("length", V::Arg(1), U64),
    p("uargs", V::String(0), F::CharBuf),
];

pub(super) const FINIT_MODULE: &[Param] = &[
    RES,
    p("fd", V::IntArg(0), F::Fd),
    p("uargs", V::String(0), F::CharBuf),
    p(
        "flags",
        conv(2, Conv::FinitModule),
        F::Flags(W32, FINIT_MODULE_FLAGS),
    ),
];

/// `execve`; `execveat` has the same list without the final `filename`. Everything but `res`
/// and `filename` describes the process after the exec and comes from process tracking.
pub(super) const EXECVE: &[Param] = &[
    RES,
    na("exe", F::CharBuf),
    na("args", F::ByteBuf),
    na("tid", F::Pid),
    na("pid", F::Pid),
    na("ptid", F::Pid),
    na("cwd", F::CharBuf),
    na("fdlimit", U64),
    na("pgft_maj", U64),
    na("pgft_min", U64),
    na("vm_size", U32),
    na("vm_rss", U32),
    na("vm_swap", U32),
    na("comm", F::CharBuf),
    na("cgroups", F::ByteBuf),
    na("env", F::ByteBuf),
    na("tty", U32),
    na("vpgid", F::Pid),
    na("loginuid", F::Uid),
    na("flags", F::Flags(W32, EXECVE_FLAGS)),
    na("cap_inheritable", F::Unsigned(W64, Hex)),
    na("cap_permitted", F::Unsigned(W64, Hex)),
    na("cap_effective", F::Unsigned(W64, Hex)),
    na("exe_ino", U64),
    na("exe_ino_ctime", F::AbsTime),
    na("exe_ino_mtime", F::AbsTime),
    na("uid", F::Uid),
    na("trusted_exepath", F::FsPath),
    na("pgid", F::Pid),
    na("gid", F::Gid),
    p("filename", V::String(0), F::FsPath),
];

pub(super) const EXECVEAT: &[Param] = EXECVE.split_at(EXECVE.len() - 1).0;

/// `clone`, `fork`, `vfork`, `clone3`: only `res` (the child's tid in the parent, 0 in the
/// child) comes from the syscall; `flags` includes bits the driver reads from the new task.
pub(super) const CLONE: &[Param] = &[
    p("res", V::Ret, F::Pid),
    na("exe", F::CharBuf),
    na("args", F::ByteBuf),
    na("tid", F::Pid),
    na("pid", F::Pid),
    na("ptid", F::Pid),
    na("cwd", F::CharBuf),
    na("fdlimit", F::Signed(W64, Dec)),
    na("pgft_maj", U64),
    na("pgft_min", U64),
    na("vm_size", U32),
    na("vm_rss", U32),
    na("vm_swap", U32),
    na("comm", F::CharBuf),
    na("cgroups", F::ByteBuf),
    na("flags", F::Flags(W32, CLONE_FLAGS)),
    na("uid", U32),
    na("gid", U32),
    na("vtid", F::Pid),
    na("vpid", F::Pid),
    na("pidns_init_start_ts", U64),
];

/// `chown`, `lchown`.
pub(super) const CHOWN: &[Param] = &[
    RES,
    p("path", V::String(0), F::FsPath),
    p("uid", V::Arg(1), U32),
    p("gid", V::Arg(2), U32),
];

pub(super) const FCHOWN: &[Param] = &[
    RES,
    p("fd", V::IntArg(0), F::Fd),
    p("uid", V::Arg(1), U32),
    p("gid", V::Arg(2), U32),
];

pub(super) const FCHOWNAT: &[Param] = &[
    RES,
    p("dirfd", V::IntArg(0), F::Fd),
    p("pathname", V::String(0), REL1),
    p("uid", V::Arg(2), U32),
    p("gid", V::Arg(3), U32),
    p("flags", conv(4, Conv::Fchownat), F::Flags(W32, FCHOWNAT_FLAGS)),
];

/// `mknod`. Falco renders `mode` through its `mknod_mode` table (`PT_MODE`); here it is the raw
/// octal value (the file type bits included).
pub(super) const MKNOD: &[Param] = &[
    RES,
    p("path", V::String(0), F::FsPath),
    p("mode", V::Arg(1), F::Unsigned(W32, Oct)),
    p("dev", V::Arg(2), U32),
];

/// `mknodat` (`mode` as for [`MKNOD`]).
pub(super) const MKNODAT: &[Param] = &[
    RES,
    p("dirfd", V::IntArg(0), F::Fd),
    p("path", V::String(0), REL1),
    p("mode", V::Arg(2), F::Unsigned(W32, Oct)),
    p("dev", V::Arg(3), U32),
];

/// Syscalls libs has no dedicated event for (`truncate`, `ftruncate`, the xattr writes, the
/// time setters, `fchmodat2`, `move_mount`): libsinsp reports them as the generic `syscall`
/// event, whose `evt.type` is the syscall's name and whose one exit parameter (`ID`, the
/// syscall) Palisade does not supply. Their paths are captured for the profile judge only.
pub(super) const GENERIC: &[Param] = &[];
