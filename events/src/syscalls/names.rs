//! The names libsinsp prints for PPM values (libs `driver/flags_table.c`, same entries in the
//! same order: the order decides the output), and errno and signal names (libsinsp
//! `sinsp_utils::errno_to_str`, `sinsp_utils::signal_to_str`).
//!
//! This file is exempt from rustfmt (see `mod.rs`) so tables stay dense.

use super::flags::{
    PPM_FD_LOWER_LAYER, PPM_FD_LOWER_LAYER_CREAT, PPM_FD_UPPER_LAYER, PPM_FD_UPPER_LAYER_CREAT,
    PPM_O_APPEND, PPM_O_CLOEXEC, PPM_O_CREAT, PPM_O_DIRECT, PPM_O_DIRECTORY, PPM_O_DSYNC,
    PPM_O_EXCL, PPM_O_F_CREATED, PPM_O_LARGEFILE, PPM_O_NONBLOCK, PPM_O_NONE, PPM_O_RDONLY,
    PPM_O_RDWR, PPM_O_SYNC, PPM_O_TMPFILE, PPM_O_TRUNC, PPM_O_WRONLY,
};
use super::FlagTable;

pub static FILE_FLAGS: &FlagTable = &[
    ("O_LARGEFILE", PPM_O_LARGEFILE), ("O_DIRECTORY", PPM_O_DIRECTORY), ("O_DIRECT", PPM_O_DIRECT),
    ("O_TRUNC", PPM_O_TRUNC), ("O_SYNC", PPM_O_SYNC), ("O_NONBLOCK", PPM_O_NONBLOCK),
    ("O_EXCL", PPM_O_EXCL), ("O_DSYNC", PPM_O_DSYNC), ("O_APPEND", PPM_O_APPEND),
    ("O_CREAT", PPM_O_CREAT), ("O_RDWR", PPM_O_RDWR), ("O_WRONLY", PPM_O_WRONLY),
    ("O_RDONLY", PPM_O_RDONLY), ("O_CLOEXEC", PPM_O_CLOEXEC), ("O_NONE", PPM_O_NONE),
    ("O_TMPFILE", PPM_O_TMPFILE), ("O_F_CREATED", PPM_O_F_CREATED),
    ("FD_UPPER_LAYER", PPM_FD_UPPER_LAYER), ("FD_LOWER_LAYER", PPM_FD_LOWER_LAYER),
];

pub static CREAT_FLAGS: &FlagTable = &[
    ("FD_UPPER_LAYER_CREAT", PPM_FD_UPPER_LAYER_CREAT),
    ("FD_LOWER_LAYER_CREAT", PPM_FD_LOWER_LAYER_CREAT),
];

pub static SOCKET_FAMILIES: &FlagTable = &[
    ("AF_NFC", 39), ("AF_ALG", 38), ("AF_CAIF", 37), ("AF_IEEE802154", 36), ("AF_PHONET", 35),
    ("AF_ISDN", 34), ("AF_RXRPC", 33), ("AF_IUCV", 32), ("AF_BLUETOOTH", 31), ("AF_TIPC", 30),
    ("AF_CAN", 29), ("AF_LLC", 26), ("AF_WANPIPE", 25), ("AF_PPPOX", 24), ("AF_IRDA", 23),
    ("AF_SNA", 22), ("AF_RDS", 21), ("AF_ATMSVC", 20), ("AF_ECONET", 19), ("AF_ASH", 18),
    ("AF_PACKET", 17), ("AF_ROUTE", 16), ("AF_NETLINK", 16), ("AF_KEY", 15), ("AF_SECURITY", 14),
    ("AF_NETBEUI", 13), ("AF_DECnet", 12), ("AF_ROSE", 11), ("AF_INET6", 10), ("AF_X25", 9),
    ("AF_ATMPVC", 8), ("AF_BRIDGE", 7), ("AF_NETROM", 6), ("AF_APPLETALK", 5), ("AF_IPX", 4),
    ("AF_AX25", 3), ("AF_INET", 2), ("AF_LOCAL", 1), ("AF_UNIX", 1), ("AF_UNSPEC", 0),
];

pub static CLONE_FLAGS: &FlagTable = &[
    ("CLONE_FILES", 1 << 0), ("CLONE_FS", 1 << 1), ("CLONE_IO", 1 << 2), ("CLONE_NEWIPC", 1 << 3),
    ("CLONE_NEWNET", 1 << 4), ("CLONE_NEWNS", 1 << 5), ("CLONE_NEWPID", 1 << 6),
    ("CLONE_NEWUTS", 1 << 7), ("CLONE_PARENT", 1 << 8), ("CLONE_PARENT_SETTID", 1 << 9),
    ("CLONE_PTRACE", 1 << 10), ("CLONE_SIGHAND", 1 << 11), ("CLONE_SYSVSEM", 1 << 12),
    ("CLONE_THREAD", 1 << 13), ("CLONE_UNTRACED", 1 << 14), ("CLONE_VM", 1 << 15),
    ("CLONE_INVERTED", 1 << 16), ("NAME_CHANGED", 1 << 17), ("CLOSED", 1 << 18),
    ("CLONE_NEWUSER", 1 << 20), ("CLONE_CHILD_CLEARTID", 1 << 23), ("CLONE_CHILD_SETTID", 1 << 24),
    ("CLONE_SETTLS", 1 << 25), ("CLONE_STOPPED", 1 << 26), ("CLONE_VFORK", 1 << 27),
    ("CLONE_NEWCGROUP", 1 << 28), ("CLONE_CHILD_IN_PIDNS", 1 << 29),
];

pub static PTRACE_REQUESTS: &FlagTable = &[
    ("PTRACE_SINGLEBLOCK", 38), ("PTRACE_SYSEMU_SINGLESTEP", 37), ("PTRACE_SYSEMU", 36),
    ("PTRACE_ARCH_PRCTL", 35), ("PTRACE_SET_THREAD_AREA", 34), ("PTRACE_GET_THREAD_AREA", 33),
    ("PTRACE_OLDSETOPTIONS", 32), ("PTRACE_SETFPXREGS", 31), ("PTRACE_GETFPXREGS", 30),
    ("PTRACE_SETFPREGS", 29), ("PTRACE_GETFPREGS", 28), ("PTRACE_SETREGS", 27),
    ("PTRACE_GETREGS", 26), ("PTRACE_SETSIGMASK", 25), ("PTRACE_GETSIGMASK", 24),
    ("PTRACE_PEEKSIGINFO", 23), ("PTRACE_LISTEN", 22), ("PTRACE_INTERRUPT", 21),
    ("PTRACE_SEIZE", 20), ("PTRACE_SETREGSET", 19), ("PTRACE_GETREGSET", 18),
    ("PTRACE_SETSIGINFO", 17), ("PTRACE_GETSIGINFO", 16), ("PTRACE_GETEVENTMSG", 15),
    ("PTRACE_SETOPTIONS", 14), ("PTRACE_SYSCALL", 13), ("PTRACE_DETACH", 12), ("PTRACE_ATTACH", 11),
    ("PTRACE_SINGLESTEP", 10), ("PTRACE_KILL", 9), ("PTRACE_CONT", 8), ("PTRACE_POKEUSR", 7),
    ("PTRACE_POKEDATA", 6), ("PTRACE_POKETEXT", 5), ("PTRACE_PEEKUSR", 4), ("PTRACE_PEEKDATA", 3),
    ("PTRACE_PEEKTEXT", 2), ("PTRACE_TRACEME", 1), ("PTRACE_UNKNOWN", 0),
];

pub static MOUNT_FLAGS: &FlagTable = &[
    ("RDONLY", 1 << 0), ("NOSUID", 1 << 1), ("NODEV", 1 << 2), ("NOEXEC", 1 << 3),
    ("SYNCHRONOUS", 1 << 4), ("REMOUNT", 1 << 5), ("MANDLOCK", 1 << 6), ("DIRSYNC", 1 << 7),
    ("NOATIME", 1 << 10), ("NODIRATIME", 1 << 11), ("BIND", 1 << 12), ("MOVE", 1 << 13),
    ("REC", 1 << 14), ("SILENT", 1 << 15), ("POSIXACL", 1 << 16), ("UNBINDABLE", 1 << 17),
    ("PRIVATE", 1 << 18), ("SLAVE", 1 << 19), ("SHARED", 1 << 20), ("RELATIME", 1 << 21),
    ("KERNMOUNT", 1 << 22), ("I_VERSION", 1 << 23), ("STRICTATIME", 1 << 24), ("LAZYTIME", 1 << 25),
    ("NOSEC", 1 << 28), ("BORN", 1 << 29), ("ACTIVE", 1 << 30), ("NOUSER", 1 << 31),
];

pub static UMOUNT_FLAGS: &FlagTable = &[
    ("FORCE", 1 << 0), ("DETACH", 1 << 1), ("EXPIRE", 1 << 2), ("NOFOLLOW", 1 << 3),
];

pub static UNLINKAT_FLAGS: &FlagTable = &[("AT_REMOVEDIR", 0x200)];

pub static LINKAT_FLAGS: &FlagTable = &[("AT_SYMLINK_FOLLOW", 0x400), ("AT_EMPTY_PATH", 0x1000)];

pub static FCHOWNAT_FLAGS: &FlagTable = &[("AT_SYMLINK_NOFOLLOW", 0x100), ("AT_EMPTY_PATH", 0x1000)];

pub static CHMOD_MODE: &FlagTable = &[
    ("S_IXOTH", 1 << 0), ("S_IWOTH", 1 << 1), ("S_IROTH", 1 << 2), ("S_IXGRP", 1 << 3),
    ("S_IWGRP", 1 << 4), ("S_IRGRP", 1 << 5), ("S_IXUSR", 1 << 6), ("S_IWUSR", 1 << 7),
    ("S_IRUSR", 1 << 8), ("S_ISVTX", 1 << 9), ("S_ISGID", 1 << 10), ("S_ISUID", 1 << 11),
];

pub static RENAMEAT2_FLAGS: &FlagTable = &[
    ("RENAME_NOREPLACE", 1 << 0), ("RENAME_EXCHANGE", 1 << 1), ("RENAME_WHITEOUT", 1 << 2),
];

pub static OPENAT2_FLAGS: &FlagTable = &[
    ("RESOLVE_BENEATH", 1 << 0), ("RESOLVE_IN_ROOT", 1 << 1), ("RESOLVE_NO_MAGICLINKS", 1 << 2),
    ("RESOLVE_NO_SYMLINKS", 1 << 3), ("RESOLVE_NO_XDEV", 1 << 4), ("RESOLVE_CACHED", 1 << 5),
];

pub static EXECVE_FLAGS: &FlagTable = &[
    ("EXE_WRITABLE", 1 << 0), ("EXE_UPPER_LAYER", 1 << 1), ("EXE_FROM_MEMFD", 1 << 2),
    ("EXE_LOWER_LAYER", 1 << 3),
];

pub static MEMFD_CREATE_FLAGS: &FlagTable = &[
    ("MFD_CLOEXEC", 1 << 0), ("MFD_ALLOW_SEALING", 1 << 1), ("MFD_HUGETLB", 1 << 2),
];

pub static FINIT_MODULE_FLAGS: &FlagTable = &[
    ("MODULE_INIT_IGNORE_MODVERSIONS", 1), ("MODULE_INIT_IGNORE_VERMAGIC", 2),
    ("MODULE_INIT_COMPRESSED_FILE", 4),
];

pub static BPF_COMMANDS: &FlagTable = &[
    ("BPF_MAP_CREATE", 0), ("BPF_MAP_LOOKUP_ELEM", 1), ("BPF_MAP_UPDATE_ELEM", 2),
    ("BPF_MAP_DELETE_ELEM", 3), ("BPF_MAP_GET_NEXT_KEY", 4), ("BPF_PROG_LOAD", 5),
    ("BPF_OBJ_PIN", 6), ("BPF_OBJ_GET", 7), ("BPF_PROG_ATTACH", 8), ("BPF_PROG_DETACH", 9),
    ("BPF_PROG_TEST_RUN", 10), ("BPF_PROG_RUN", 10), ("BPF_PROG_GET_NEXT_ID", 11),
    ("BPF_MAP_GET_NEXT_ID", 12), ("BPF_PROG_GET_FD_BY_ID", 13), ("BPF_MAP_GET_FD_BY_ID", 14),
    ("BPF_OBJ_GET_INFO_BY_FD", 15), ("BPF_PROG_QUERY", 16), ("BPF_RAW_TRACEPOINT_OPEN", 17),
    ("BPF_BTF_LOAD", 18), ("BPF_BTF_GET_FD_BY_ID", 19), ("BPF_TASK_FD_QUERY", 20),
    ("BPF_MAP_LOOKUP_AND_DELETE_ELEM", 21), ("BPF_MAP_FREEZE", 22), ("BPF_BTF_GET_NEXT_ID", 23),
    ("BPF_MAP_LOOKUP_BATCH", 24), ("BPF_MAP_LOOKUP_AND_DELETE_BATCH", 25),
    ("BPF_MAP_UPDATE_BATCH", 26), ("BPF_MAP_DELETE_BATCH", 27), ("BPF_LINK_CREATE", 28),
    ("BPF_LINK_UPDATE", 29), ("BPF_LINK_GET_FD_BY_ID", 30), ("BPF_LINK_GET_NEXT_ID", 31),
    ("BPF_ENABLE_STATS", 32), ("BPF_ITER_CREATE", 33), ("BPF_LINK_DETACH", 34),
    ("BPF_PROG_BIND_MAP", 35),
];

/// `sinsp_utils::errno_to_str(code)`: the name of errno `-code`, or `""` when unknown.
pub fn errno_name(code: i32) -> &'static str {
    const LOW: [&str; 126] = [
        "", "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF",
        "ECHILD", "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV",
        "ENODEV", "ENOTDIR", "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG",
        "ENOSPC", "ESPIPE", "EROFS", "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG",
        "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP", "", "ENOMSG", "EIDRM", "ECHRNG", "EL2NSYNC",
        "EL3HLT", "EL3RST", "ELNRNG", "EUNATCH", "ENOCSI", "EL2HLT", "EBADE", "EBADR", "EXFULL",
        "ENOANO", "EBADRQC", "EBADSLT", "", "EBFONT", "ENOSTR", "ENODATA", "ETIME", "ENOSR",
        "ENONET", "ENOPKG", "EREMOTE", "ENOLINK", "EADV", "ESRMNT", "ECOMM", "EPROTO", "EMULTIHOP",
        "EDOTDOT", "EBADMSG", "EOVERFLOW", "ENOTUNIQ", "EBADFD", "EREMCHG", "ELIBACC", "ELIBBAD",
        "ELIBSCN", "ELIBMAX", "ELIBEXEC", "EILSEQ", "ERESTART", "ESTRPIPE", "EUSERS", "ENOTSOCK",
        "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT",
        "ESOCKTNOSUPPORT", "EOPNOTSUPP", "EPFNOSUPPORT", "EAFNOSUPPORT", "EADDRINUSE",
        "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH", "ENETRESET", "ECONNABORTED", "ECONNRESET",
        "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN", "ETOOMANYREFS", "ETIMEDOUT", "ECONNREFUSED",
        "EHOSTDOWN", "EHOSTUNREACH", "EALREADY", "EINPROGRESS", "ESTALE", "EUCLEAN", "ENOTNAM",
        "ENAVAIL", "EISNAM", "EREMOTEIO", "EDQUOT", "ENOMEDIUM", "EMEDIUMTYPE", "ECANCELED",
    ];
    const HIGH: [&str; 19] = [
        "ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND", "ENOIOCTLCMD", "ERESTART_RESTARTBLOCK",
        "", "", "", "", "EBADHANDLE", "ENOTSYNC", "EBADCOOKIE", "ENOTSUPP", "ETOOSMALL",
        "ESERVERFAULT", "EBADTYPE", "EJUKEBOX", "EIOCBQUEUED", "EIOCBRETRY",
    ];
    let errno = code.checked_neg().unwrap_or(0);
    match errno {
        0..=125 => LOW[errno as usize],
        512..=530 => HIGH[(errno - 512) as usize],
        _ => "",
    }
}

/// `sinsp_utils::signal_to_str`: names for signals 1..=31.
pub fn signal_name(sig: u8) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
        "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
        "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ];
    NAMES.get(usize::from(sig).checked_sub(1)?).copied()
}
