//! x86_64 syscall numbers → Falco exit events (libs `driver/syscall_table.c` with
//! `driver/syscall_compat_x86_64.h`), and lookups over that table.
//!
//! Falco's names follow the syscall's except where the table maps several syscalls to one
//! event; on x86_64 there are no `*32` variants, `umount2` is its own event (`umount` does not
//! exist), and `pipe`/`pipe2` are left out (their fds come back through user memory).
//!
//! The calls immutable profiles need beyond the rules' (truncate, the chown family, xattr
//! writes, time setters, `mknod*`, `move_mount`, `fchmodat2`) are shown to the rules the way
//! Falco shows them, not hidden like failed execs: the chown family and `mknod*` as their libs
//! events, the others as libsinsp's generic event (`evt.type` is the syscall's name, no
//! parameters). A rule naming them gets them captured like any other event type; when only a
//! profile asked for them, rules that do not name them never match them.

use super::events::*;
use super::{FdOf, Param, StringArg, Syscall};

const fn sc(
    nr: u32,
    event: &'static str,
    params: &'static [Param],
    strings: [Option<StringArg>; 2],
    fd: FdOf,
) -> Syscall {
    Syscall {
        nr,
        event,
        params,
        strings,
        fd,
    }
}

/// A string relative to the cwd.
const fn cwd(arg: u8) -> Option<StringArg> {
    Some(StringArg { arg, dirfd: None })
}

/// A string relative to the dirfd in register `dirfd`.
const fn at(arg: u8, dirfd: u8) -> Option<StringArg> {
    Some(StringArg {
        arg,
        dirfd: Some(dirfd),
    })
}

const NO_STRINGS: [Option<StringArg>; 2] = [None, None];

/// Every syscall Palisade turns into a Falco event, by number.
pub static SYSCALLS: &[Syscall] = &[
    sc(2, "open", OPEN, [cwd(0), None], FdOf::Ret),
    sc(3, "close", RES_FD0, NO_STRINGS, FdOf::Arg(0)),
    // Judge-only (W^X: an executable mapping of a file in a writable place, what `ld.so FILE`
    // does): the kernel side keeps only `PROT_EXEC` mappings of an fd, and the rules never see
    // these events ([`crate::event::EventData::is_judge_only`]), so no parameter is supplied.
    sc(9, "mmap", GENERIC, NO_STRINGS, FdOf::Arg(4)),
    sc(32, "dup", DUP, NO_STRINGS, FdOf::Dup(0)),
    sc(33, "dup2", DUP2, NO_STRINGS, FdOf::Dup(0)),
    sc(41, "socket", SOCKET, NO_STRINGS, FdOf::Ret),
    sc(42, "connect", CONNECT, NO_STRINGS, FdOf::Arg(0)),
    sc(43, "accept", ACCEPT, NO_STRINGS, FdOf::Ret),
    sc(44, "sendto", SENDTO, NO_STRINGS, FdOf::Arg(0)),
    sc(45, "recvfrom", RECVFROM, NO_STRINGS, FdOf::Arg(0)),
    sc(46, "sendmsg", SENDMSG, NO_STRINGS, FdOf::Arg(0)),
    sc(47, "recvmsg", RECVMSG, NO_STRINGS, FdOf::Arg(0)),
    sc(49, "bind", BIND, NO_STRINGS, FdOf::Arg(0)),
    sc(50, "listen", LISTEN, NO_STRINGS, FdOf::Arg(0)),
    sc(56, "clone", CLONE, NO_STRINGS, FdOf::None),
    sc(57, "fork", CLONE, NO_STRINGS, FdOf::None),
    sc(58, "vfork", CLONE, NO_STRINGS, FdOf::None),
    // At the exit of a successful execve the caller's memory is gone: the kernel side must
    // copy `filename` at sys_enter (Falco reads `bprm->filename`).
    sc(59, "execve", EXECVE, [cwd(0), None], FdOf::None),
    // Generic events (no dedicated libs event): see [`GENERIC`]. Their fd (ftruncate) is
    // described so that the profile judge sees the file acted on.
    sc(76, "truncate", GENERIC, [cwd(0), None], FdOf::None),
    sc(77, "ftruncate", GENERIC, NO_STRINGS, FdOf::Arg(0)),
    sc(80, "chdir", CHDIR, [cwd(0), None], FdOf::None),
    sc(81, "fchdir", RES_FD0, NO_STRINGS, FdOf::Arg(0)),
    sc(82, "rename", OLD_NEW, [cwd(0), cwd(1)], FdOf::None),
    sc(83, "mkdir", MKDIR, [cwd(0), None], FdOf::None),
    sc(84, "rmdir", RES_PATH, [cwd(0), None], FdOf::None),
    sc(85, "creat", CREAT, [cwd(0), None], FdOf::Ret),
    sc(86, "link", OLD_NEW, [cwd(0), cwd(1)], FdOf::None),
    sc(87, "unlink", RES_PATH, [cwd(0), None], FdOf::None),
    // The symlink target is stored verbatim (`PT_CHARBUF`); it is relative to the link's
    // directory, so its resolved form is meaningless.
    sc(88, "symlink", SYMLINK, [cwd(0), cwd(1)], FdOf::None),
    sc(90, "chmod", CHMOD, [cwd(0), None], FdOf::None),
    sc(91, "fchmod", FCHMOD, NO_STRINGS, FdOf::Arg(0)),
    sc(92, "chown", CHOWN, [cwd(0), None], FdOf::None),
    sc(93, "fchown", FCHOWN, NO_STRINGS, FdOf::Arg(0)),
    sc(94, "lchown", CHOWN, [cwd(0), None], FdOf::None),
    sc(101, "ptrace", PTRACE, NO_STRINGS, FdOf::None),
    sc(105, "setuid", SETUID, NO_STRINGS, FdOf::None),
    sc(106, "setgid", SETGID, NO_STRINGS, FdOf::None),
    sc(117, "setresuid", SETRESUID, NO_STRINGS, FdOf::None),
    sc(119, "setresgid", SETRESGID, NO_STRINGS, FdOf::None),
    sc(132, "utime", GENERIC, [cwd(0), None], FdOf::None),
    sc(133, "mknod", MKNOD, [cwd(0), None], FdOf::None),
    // `dev` is a string but not necessarily a path.
    sc(165, "mount", MOUNT, [cwd(0), cwd(1)], FdOf::None),
    sc(166, "umount2", UMOUNT2, [cwd(0), None], FdOf::None),
    sc(175, "init_module", INIT_MODULE, [cwd(2), None], FdOf::None),
    sc(188, "setxattr", GENERIC, [cwd(0), None], FdOf::None),
    sc(189, "lsetxattr", GENERIC, [cwd(0), None], FdOf::None),
    sc(190, "fsetxattr", GENERIC, NO_STRINGS, FdOf::Arg(0)),
    sc(197, "removexattr", GENERIC, [cwd(0), None], FdOf::None),
    sc(198, "lremovexattr", GENERIC, [cwd(0), None], FdOf::None),
    sc(199, "fremovexattr", GENERIC, NO_STRINGS, FdOf::Arg(0)),
    sc(235, "utimes", GENERIC, [cwd(0), None], FdOf::None),
    sc(257, "openat", OPENAT, [at(1, 0), None], FdOf::Ret),
    sc(258, "mkdirat", MKDIRAT, [at(1, 0), None], FdOf::Arg(0)),
    sc(259, "mknodat", MKNODAT, [at(1, 0), None], FdOf::Arg(0)),
    sc(260, "fchownat", FCHOWNAT, [at(1, 0), None], FdOf::Arg(0)),
    sc(261, "futimesat", GENERIC, [at(1, 0), None], FdOf::Arg(0)),
    sc(263, "unlinkat", UNLINKAT, [at(1, 0), None], FdOf::Arg(0)),
    sc(264, "renameat", RENAMEAT, [at(1, 0), at(3, 2)], FdOf::None),
    sc(265, "linkat", LINKAT, [at(1, 0), at(3, 2)], FdOf::None),
    sc(
        266,
        "symlinkat",
        SYMLINKAT,
        [cwd(0), at(2, 1)],
        FdOf::Arg(1),
    ),
    sc(268, "fchmodat", FCHMODAT, [at(1, 0), None], FdOf::Arg(0)),
    sc(272, "unshare", UNSHARE, NO_STRINGS, FdOf::None),
    // A NULL path (`futimens`) or AT_EMPTY_PATH acts on the dirfd itself.
    sc(280, "utimensat", GENERIC, [at(1, 0), None], FdOf::Arg(0)),
    sc(288, "accept4", ACCEPT4, NO_STRINGS, FdOf::Ret),
    sc(292, "dup3", DUP3, NO_STRINGS, FdOf::Dup(0)),
    sc(308, "setns", SETNS, NO_STRINGS, FdOf::Arg(0)),
    sc(
        313,
        "finit_module",
        FINIT_MODULE,
        [cwd(1), None],
        FdOf::Arg(0),
    ),
    sc(
        316,
        "renameat2",
        RENAMEAT2,
        [at(1, 0), at(3, 2)],
        FdOf::None,
    ),
    sc(319, "memfd_create", MEMFD_CREATE, [cwd(0), None], FdOf::Ret),
    sc(321, "bpf", BPF, NO_STRINGS, FdOf::Ret),
    // No parameter of Falco's execveat event holds the path; it is copied for process
    // tracking. A successful execveat becomes an `execve` event: see [`exit_event`].
    sc(322, "execveat", EXECVEAT, [at(1, 0), None], FdOf::None),
    sc(323, "userfaultfd", USERFAULTFD, NO_STRINGS, FdOf::Ret),
    // `move_mount(from_dfd, from_path, to_dfd, to_path, flags)`.
    sc(429, "move_mount", GENERIC, [at(1, 0), at(3, 2)], FdOf::None),
    sc(435, "clone3", CLONE, NO_STRINGS, FdOf::None),
    sc(437, "openat2", OPENAT2, [at(1, 0), None], FdOf::Ret),
    sc(452, "fchmodat2", GENERIC, [at(1, 0), None], FdOf::Arg(0)),
];

/// The syscall with this x86_64 number, if Palisade handles it.
pub fn by_nr(nr: u32) -> Option<&'static Syscall> {
    SYSCALLS
        .binary_search_by_key(&nr, |s| s.nr)
        .ok()
        .map(|i| &SYSCALLS[i])
}

/// The syscalls that produce events of type `event` (`evt.type`).
pub fn for_event(event: &str) -> impl Iterator<Item = &'static Syscall> + '_ {
    SYSCALLS.iter().filter(move |s| s.event == event)
}

/// Whether events of type `event` have a parameter `name` (so `evt.arg.<name>` is known for
/// them, even when Palisade cannot supply its value).
pub fn has_param(event: &str, name: &str) -> bool {
    for_event(event).any(|s| s.params.iter().any(|p| p.name == name))
}

/// The event a completed call is reported as: Falco reports a successful `execveat` as an
/// `execve` exit event (the driver emits it from `sched_process_exec`), whose parameters
/// include `filename` (`bprm->filename`, to be put in string slot 0).
pub fn exit_event(sys: &'static Syscall, ret: i64) -> &'static Syscall {
    match (sys.event, ret) {
        ("execveat", 0) => by_nr(59).unwrap_or(sys),
        _ => sys,
    }
}

/// Whether `name` is a parameter of some Falco event. libsinsp accepts `evt.arg.<name>` and
/// `evt.rawarg.<name>` in a rule only then ("unknown event argument" otherwise), whatever the
/// rule's event types (`sinsp_utils::find_longest_matching_evt_param`).
pub fn is_falco_param_name(name: &str) -> bool {
    FALCO_PARAM_NAMES.binary_search(&name).is_ok()
}

/// Every parameter name in libs' event table, sorted.
pub(super) static FALCO_PARAM_NAMES: &[&str] = &[
    "ID",
    "action",
    "addr",
    "arg",
    "arg2",
    "arg2_int",
    "arg2_str",
    "arg3",
    "arg4",
    "arg5",
    "args",
    "argument",
    "argv",
    "aux",
    "backlog",
    "cap_effective",
    "cap_inheritable",
    "cap_permitted",
    "cgroups",
    "clockid",
    "cmd",
    "comm",
    "container_id",
    "core",
    "cpu",
    "cpu_sys",
    "cpu_usr",
    "cq_entries",
    "creat_flags",
    "cur",
    "cwd",
    "data",
    "desc",
    "description",
    "dev",
    "dir",
    "dirfd",
    "domain",
    "dpid",
    "dqb_bhardlimit",
    "dqb_bsoftlimit",
    "dqb_btime",
    "dqb_curspace",
    "dqb_ihardlimit",
    "dqb_isoftlimit",
    "dqb_itime",
    "dqi_bgrace",
    "dqi_flags",
    "dqi_igrace",
    "egid",
    "entries",
    "env",
    "error",
    "euid",
    "event_data",
    "event_type",
    "exe",
    "exe_ino",
    "exe_ino_ctime",
    "exe_ino_mtime",
    "exe_ino_num",
    "exepath",
    "fd",
    "fd1",
    "fd2",
    "fd_in",
    "fd_out",
    "fd_type",
    "fdin",
    "fdlimit",
    "fdout",
    "fds",
    "features",
    "filename",
    "first",
    "flags",
    "gid",
    "home",
    "how",
    "id",
    "image",
    "img",
    "in_fd",
    "initval",
    "ino",
    "ino_num",
    "interval",
    "ip",
    "json",
    "key",
    "last",
    "len",
    "length",
    "level",
    "linkdirfd",
    "linkpath",
    "local_ip",
    "local_port",
    "loginuid",
    "mask",
    "max",
    "maxevents",
    "min_complete",
    "mnt_id",
    "mode",
    "mountfd",
    "msgcontrol",
    "name",
    "nativeID",
    "newcur",
    "newdir",
    "newdirfd",
    "newfd",
    "newmax",
    "newpath",
    "next",
    "nr_args",
    "nsems",
    "nsops",
    "nstype",
    "offin",
    "offout",
    "offset",
    "oldcur",
    "olddir",
    "olddirfd",
    "oldfd",
    "oldmax",
    "oldpath",
    "op",
    "opcode",
    "operation",
    "option",
    "optlen",
    "optname",
    "out_fd",
    "path",
    "pathname",
    "peer",
    "pgft_maj",
    "pgft_min",
    "pgid",
    "pgoffset",
    "pid",
    "pid_fd",
    "pidns_init_start_ts",
    "plugin_id",
    "pos",
    "ppid",
    "prot",
    "proto",
    "ptid",
    "queuelen",
    "queuemax",
    "queuepct",
    "quota_fmt",
    "quota_fmt_out",
    "quotafilepath",
    "ratio",
    "reaper_tid",
    "remote_ip",
    "remote_port",
    "request",
    "res",
    "res_or_fd",
    "resolve",
    "resource",
    "ret",
    "rgid",
    "root",
    "ruid",
    "scope",
    "sem_flg_0",
    "sem_flg_1",
    "sem_num_0",
    "sem_num_1",
    "sem_op_0",
    "sem_op_1",
    "semflg",
    "semid",
    "semnum",
    "sgid",
    "shell",
    "sid",
    "sig",
    "sigmask",
    "size",
    "sk_pointer",
    "sk_proto",
    "sk_type",
    "source",
    "special",
    "spid",
    "sq_entries",
    "sq_thread_cpu",
    "sq_thread_idle",
    "start_time",
    "status",
    "suid",
    "sun_path",
    "tags",
    "target",
    "target_fd",
    "tid",
    "timeout",
    "to_submit",
    "trusted_exepath",
    "tty",
    "tuple",
    "type",
    "uargs",
    "uid",
    "val",
    "value_bytebuf",
    "value_charbuf",
    "vm_rss",
    "vm_size",
    "vm_swap",
    "vpgid",
    "vpid",
    "vtgid",
    "vtid",
    "whence",
];
