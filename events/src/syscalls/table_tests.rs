//! Table sanity: numbers, event names and parameter lists checked against data taken from
//! libs (`driver/syscall_compat_x86_64.h`, `driver/syscall_table.c`, `driver/event_table.c`),
//! and internal consistency (string slots, dirfd indexes, fd locations).

use super::names::{
    BPF_COMMANDS, CHMOD_MODE, CLONE_FLAGS, CREAT_FLAGS, EXECVE_FLAGS, FILE_FLAGS,
    FINIT_MODULE_FLAGS, LINKAT_FLAGS, MEMFD_CREATE_FLAGS, MOUNT_FLAGS, OPENAT2_FLAGS,
    PTRACE_REQUESTS, RENAMEAT2_FLAGS, SOCKET_FAMILIES, UMOUNT_FLAGS, UNLINKAT_FLAGS,
    FCHOWNAT_FLAGS,
};
use super::*;

/// "nr event name:TYPE[:detail] ..." for every syscall in our table, generated from libs'
/// headers: the x86_64 number, the name of the exit event `syscall_table.c` maps it to, and
/// that event's parameters in `event_table.c` (detail: print format of integers, flag table,
/// `DIRFD_PARAM` index, dynamic-parameter table).
const FALCO_SIGNATURES: &[&str] = &[
    concat!(
        "2 open fd:PT_FD name:PT_FSPATH flags:PT_FLAGS32:file_flags mode:PT_UINT32:OCT ",
        "dev:PT_UINT32:HEX ino:PT_UINT64:DEC",
    ),
    "3 close res:PT_ERRNO fd:PT_FD",
    // Judge-only, never shown to the rules.
    "9 mmap ",
    "32 dup res:PT_FD oldfd:PT_FD",
    "33 dup2 res:PT_FD oldfd:PT_FD newfd:PT_FD",
    concat!(
        "41 socket fd:PT_FD domain:PT_ENUMFLAGS32:socket_families type:PT_UINT32:DEC ",
        "proto:PT_UINT32:DEC flags:PT_FLAGS32:file_flags",
    ),
    "42 connect res:PT_ERRNO tuple:PT_SOCKTUPLE fd:PT_FD addr:PT_SOCKADDR",
    concat!(
        "43 accept fd:PT_FD tuple:PT_SOCKTUPLE queuepct:PT_UINT8:DEC queuelen:PT_UINT32:DEC ",
        "queuemax:PT_UINT32:DEC",
    ),
    concat!(
        "44 sendto res:PT_ERRNO data:PT_BYTEBUF fd:PT_FD size:PT_UINT32:DEC ",
        "tuple:PT_SOCKTUPLE",
    ),
    concat!(
        "45 recvfrom res:PT_ERRNO data:PT_BYTEBUF tuple:PT_SOCKTUPLE fd:PT_FD ",
        "size:PT_UINT32:DEC",
    ),
    concat!(
        "46 sendmsg res:PT_ERRNO data:PT_BYTEBUF fd:PT_FD size:PT_UINT32:DEC ",
        "tuple:PT_SOCKTUPLE",
    ),
    concat!(
        "47 recvmsg res:PT_ERRNO size:PT_UINT32:DEC data:PT_BYTEBUF tuple:PT_SOCKTUPLE ",
        "msgcontrol:PT_BYTEBUF fd:PT_FD",
    ),
    "49 bind res:PT_ERRNO addr:PT_SOCKADDR fd:PT_FD",
    "50 listen res:PT_ERRNO fd:PT_FD backlog:PT_INT32:DEC",
    concat!(
        "56 clone res:PT_PID exe:PT_CHARBUF args:PT_BYTEBUF tid:PT_PID pid:PT_PID ptid:PT_PID ",
        "cwd:PT_CHARBUF fdlimit:PT_INT64:DEC pgft_maj:PT_UINT64:DEC pgft_min:PT_UINT64:DEC ",
        "vm_size:PT_UINT32:DEC vm_rss:PT_UINT32:DEC vm_swap:PT_UINT32:DEC comm:PT_CHARBUF ",
        "cgroups:PT_BYTEBUF flags:PT_FLAGS32:clone_flags uid:PT_UINT32:DEC gid:PT_UINT32:DEC ",
        "vtid:PT_PID vpid:PT_PID pidns_init_start_ts:PT_UINT64:DEC",
    ),
    concat!(
        "57 fork res:PT_PID exe:PT_CHARBUF args:PT_BYTEBUF tid:PT_PID pid:PT_PID ptid:PT_PID ",
        "cwd:PT_CHARBUF fdlimit:PT_INT64:DEC pgft_maj:PT_UINT64:DEC pgft_min:PT_UINT64:DEC ",
        "vm_size:PT_UINT32:DEC vm_rss:PT_UINT32:DEC vm_swap:PT_UINT32:DEC comm:PT_CHARBUF ",
        "cgroups:PT_BYTEBUF flags:PT_FLAGS32:clone_flags uid:PT_UINT32:DEC gid:PT_UINT32:DEC ",
        "vtid:PT_PID vpid:PT_PID pidns_init_start_ts:PT_UINT64:DEC",
    ),
    concat!(
        "58 vfork res:PT_PID exe:PT_CHARBUF args:PT_BYTEBUF tid:PT_PID pid:PT_PID ptid:PT_PID ",
        "cwd:PT_CHARBUF fdlimit:PT_INT64:DEC pgft_maj:PT_UINT64:DEC pgft_min:PT_UINT64:DEC ",
        "vm_size:PT_UINT32:DEC vm_rss:PT_UINT32:DEC vm_swap:PT_UINT32:DEC comm:PT_CHARBUF ",
        "cgroups:PT_BYTEBUF flags:PT_FLAGS32:clone_flags uid:PT_UINT32:DEC gid:PT_UINT32:DEC ",
        "vtid:PT_PID vpid:PT_PID pidns_init_start_ts:PT_UINT64:DEC",
    ),
    concat!(
        "59 execve res:PT_ERRNO exe:PT_CHARBUF args:PT_BYTEBUF tid:PT_PID pid:PT_PID ",
        "ptid:PT_PID cwd:PT_CHARBUF fdlimit:PT_UINT64:DEC pgft_maj:PT_UINT64:DEC ",
        "pgft_min:PT_UINT64:DEC vm_size:PT_UINT32:DEC vm_rss:PT_UINT32:DEC ",
        "vm_swap:PT_UINT32:DEC comm:PT_CHARBUF cgroups:PT_BYTEBUF env:PT_BYTEBUF ",
        "tty:PT_UINT32:DEC vpgid:PT_PID loginuid:PT_UID flags:PT_FLAGS32:execve_flags ",
        "cap_inheritable:PT_UINT64:HEX cap_permitted:PT_UINT64:HEX ",
        "cap_effective:PT_UINT64:HEX exe_ino:PT_UINT64:DEC exe_ino_ctime:PT_ABSTIME ",
        "exe_ino_mtime:PT_ABSTIME uid:PT_UID trusted_exepath:PT_FSPATH pgid:PT_PID gid:PT_GID ",
        "filename:PT_FSPATH",
    ),
    // Generic events (no libs event of their own): no parameter supplied.
    "76 truncate ",
    "77 ftruncate ",
    "80 chdir res:PT_ERRNO path:PT_CHARBUF",
    "81 fchdir res:PT_ERRNO fd:PT_FD",
    "82 rename res:PT_ERRNO oldpath:PT_FSPATH newpath:PT_FSPATH",
    "83 mkdir res:PT_ERRNO path:PT_FSPATH mode:PT_UINT32:HEX",
    "84 rmdir res:PT_ERRNO path:PT_FSPATH",
    concat!(
        "85 creat fd:PT_FD name:PT_FSPATH mode:PT_UINT32:OCT dev:PT_UINT32:HEX ",
        "ino:PT_UINT64:DEC creat_flags:PT_FLAGS16:creat_flags",
    ),
    "86 link res:PT_ERRNO oldpath:PT_FSPATH newpath:PT_FSPATH",
    "87 unlink res:PT_ERRNO path:PT_FSPATH",
    "88 symlink res:PT_ERRNO target:PT_CHARBUF linkpath:PT_FSPATH",
    "90 chmod res:PT_ERRNO filename:PT_FSPATH mode:PT_MODE:OCT:chmod_mode",
    "91 fchmod res:PT_ERRNO fd:PT_FD mode:PT_MODE:OCT:chmod_mode",
    "92 chown res:PT_ERRNO path:PT_FSPATH uid:PT_UINT32:DEC gid:PT_UINT32:DEC",
    "93 fchown res:PT_ERRNO fd:PT_FD uid:PT_UINT32:DEC gid:PT_UINT32:DEC",
    "94 lchown res:PT_ERRNO path:PT_FSPATH uid:PT_UINT32:DEC gid:PT_UINT32:DEC",
    concat!(
        "101 ptrace res:PT_ERRNO addr:PT_DYN:ptrace_dynamic_param ",
        "data:PT_DYN:ptrace_dynamic_param request:PT_ENUMFLAGS16:ptrace_requests pid:PT_PID",
    ),
    "105 setuid res:PT_ERRNO uid:PT_UID",
    "106 setgid res:PT_ERRNO gid:PT_GID",
    "117 setresuid res:PT_ERRNO ruid:PT_UID euid:PT_UID suid:PT_UID",
    "119 setresgid res:PT_ERRNO rgid:PT_GID egid:PT_GID sgid:PT_GID",
    "132 utime ",
    "133 mknod res:PT_ERRNO path:PT_FSPATH mode:PT_UINT32:OCT dev:PT_UINT32:DEC",
    concat!(
        "165 mount res:PT_ERRNO dev:PT_CHARBUF dir:PT_FSPATH type:PT_CHARBUF ",
        "flags:PT_FLAGS32:mount_flags",
    ),
    "166 umount2 res:PT_ERRNO name:PT_FSPATH flags:PT_FLAGS32:umount_flags",
    "175 init_module res:PT_ERRNO img:PT_BYTEBUF length:PT_UINT64:DEC uargs:PT_CHARBUF",
    "188 setxattr ",
    "189 lsetxattr ",
    "190 fsetxattr ",
    "197 removexattr ",
    "198 lremovexattr ",
    "199 fremovexattr ",
    "235 utimes ",
    concat!(
        "257 openat fd:PT_FD dirfd:PT_FD name:PT_FSRELPATH:1 flags:PT_FLAGS32:file_flags ",
        "mode:PT_UINT32:OCT dev:PT_UINT32:HEX ino:PT_UINT64:DEC",
    ),
    "258 mkdirat res:PT_ERRNO dirfd:PT_FD path:PT_FSRELPATH:1 mode:PT_UINT32:HEX",
    concat!(
        "259 mknodat res:PT_ERRNO dirfd:PT_FD path:PT_FSRELPATH:1 mode:PT_UINT32:OCT ",
        "dev:PT_UINT32:DEC",
    ),
    concat!(
        "260 fchownat res:PT_ERRNO dirfd:PT_FD pathname:PT_FSRELPATH:1 uid:PT_UINT32:DEC ",
        "gid:PT_UINT32:DEC flags:PT_FLAGS32:fchownat_flags",
    ),
    "261 futimesat ",
    concat!(
        "263 unlinkat res:PT_ERRNO dirfd:PT_FD name:PT_FSRELPATH:1 ",
        "flags:PT_FLAGS32:unlinkat_flags",
    ),
    concat!(
        "264 renameat res:PT_ERRNO olddirfd:PT_FD oldpath:PT_FSRELPATH:1 newdirfd:PT_FD ",
        "newpath:PT_FSRELPATH:3",
    ),
    concat!(
        "265 linkat res:PT_ERRNO olddir:PT_FD oldpath:PT_FSRELPATH:1 newdir:PT_FD ",
        "newpath:PT_FSRELPATH:3 flags:PT_FLAGS32:linkat_flags",
    ),
    "266 symlinkat res:PT_ERRNO target:PT_CHARBUF linkdirfd:PT_FD linkpath:PT_FSRELPATH:2",
    concat!(
        "268 fchmodat res:PT_ERRNO dirfd:PT_FD filename:PT_FSRELPATH:1 ",
        "mode:PT_MODE:OCT:chmod_mode",
    ),
    "272 unshare res:PT_ERRNO flags:PT_FLAGS32:clone_flags",
    "280 utimensat ",
    concat!(
        "288 accept4 fd:PT_FD tuple:PT_SOCKTUPLE queuepct:PT_UINT8:DEC queuelen:PT_UINT32:DEC ",
        "queuemax:PT_UINT32:DEC flags:PT_INT32:HEX",
    ),
    "292 dup3 res:PT_FD oldfd:PT_FD newfd:PT_FD flags:PT_FLAGS32:file_flags",
    "308 setns res:PT_ERRNO fd:PT_FD nstype:PT_FLAGS32:clone_flags",
    concat!(
        "313 finit_module res:PT_ERRNO fd:PT_FD uargs:PT_CHARBUF ",
        "flags:PT_FLAGS32:finit_module_flags",
    ),
    concat!(
        "316 renameat2 res:PT_ERRNO olddirfd:PT_FD oldpath:PT_FSRELPATH:1 newdirfd:PT_FD ",
        "newpath:PT_FSRELPATH:3 flags:PT_FLAGS32:renameat2_flags",
    ),
    "319 memfd_create fd:PT_FD name:PT_CHARBUF flags:PT_FLAGS32:memfd_create_flags",
    "321 bpf fd:PT_FD cmd:PT_ENUMFLAGS32:bpf_commands",
    concat!(
        "322 execveat res:PT_ERRNO exe:PT_CHARBUF args:PT_BYTEBUF tid:PT_PID pid:PT_PID ",
        "ptid:PT_PID cwd:PT_CHARBUF fdlimit:PT_UINT64:DEC pgft_maj:PT_UINT64:DEC ",
        "pgft_min:PT_UINT64:DEC vm_size:PT_UINT32:DEC vm_rss:PT_UINT32:DEC ",
        "vm_swap:PT_UINT32:DEC comm:PT_CHARBUF cgroups:PT_BYTEBUF env:PT_BYTEBUF ",
        "tty:PT_UINT32:DEC vpgid:PT_PID loginuid:PT_UID flags:PT_FLAGS32:execve_flags ",
        "cap_inheritable:PT_UINT64:HEX cap_permitted:PT_UINT64:HEX ",
        "cap_effective:PT_UINT64:HEX exe_ino:PT_UINT64:DEC exe_ino_ctime:PT_ABSTIME ",
        "exe_ino_mtime:PT_ABSTIME uid:PT_UID trusted_exepath:PT_FSPATH pgid:PT_PID gid:PT_GID",
    ),
    "323 userfaultfd res:PT_ERRNO flags:PT_FLAGS32:file_flags",
    "429 move_mount ",
    concat!(
        "435 clone3 res:PT_PID exe:PT_CHARBUF args:PT_BYTEBUF tid:PT_PID pid:PT_PID ",
        "ptid:PT_PID cwd:PT_CHARBUF fdlimit:PT_INT64:DEC pgft_maj:PT_UINT64:DEC ",
        "pgft_min:PT_UINT64:DEC vm_size:PT_UINT32:DEC vm_rss:PT_UINT32:DEC ",
        "vm_swap:PT_UINT32:DEC comm:PT_CHARBUF cgroups:PT_BYTEBUF ",
        "flags:PT_FLAGS32:clone_flags uid:PT_UINT32:DEC gid:PT_UINT32:DEC vtid:PT_PID ",
        "vpid:PT_PID pidns_init_start_ts:PT_UINT64:DEC",
    ),
    concat!(
        "437 openat2 fd:PT_FD dirfd:PT_FD name:PT_FSRELPATH:1 flags:PT_FLAGS32:file_flags ",
        "mode:PT_UINT32:OCT resolve:PT_FLAGS32:openat2_flags dev:PT_UINT32:HEX ",
        "ino:PT_UINT64:DEC",
    ),
    "452 fchmodat2 ",
];

fn table_name(table: &FlagTable) -> &'static str {
    let named: [(&FlagTable, &str); 17] = [
        (FILE_FLAGS, "file_flags"),
        (CREAT_FLAGS, "creat_flags"),
        (SOCKET_FAMILIES, "socket_families"),
        (CLONE_FLAGS, "clone_flags"),
        (PTRACE_REQUESTS, "ptrace_requests"),
        (MOUNT_FLAGS, "mount_flags"),
        (UMOUNT_FLAGS, "umount_flags"),
        (UNLINKAT_FLAGS, "unlinkat_flags"),
        (LINKAT_FLAGS, "linkat_flags"),
        (CHMOD_MODE, "chmod_mode"),
        (RENAMEAT2_FLAGS, "renameat2_flags"),
        (OPENAT2_FLAGS, "openat2_flags"),
        (EXECVE_FLAGS, "execve_flags"),
        (MEMFD_CREATE_FLAGS, "memfd_create_flags"),
        (FINIT_MODULE_FLAGS, "finit_module_flags"),
        (BPF_COMMANDS, "bpf_commands"),
        (FCHOWNAT_FLAGS, "fchownat_flags"),
    ];
    named
        .iter()
        .find(|(t, _)| *t == table)
        .map_or("?", |(_, n)| n)
}

fn bits(w: Width) -> u8 {
    match w {
        Width::W8 => 8,
        Width::W16 => 16,
        Width::W32 => 32,
        Width::W64 => 64,
    }
}

fn base(b: Base) -> &'static str {
    match b {
        Base::Dec => "DEC",
        Base::Hex => "HEX",
        Base::Oct => "OCT",
    }
}

fn describe(f: Format) -> String {
    match f {
        Format::Fd => "PT_FD".into(),
        Format::Errno => "PT_ERRNO".into(),
        Format::Pid => "PT_PID".into(),
        Format::Uid => "PT_UID".into(),
        Format::Gid => "PT_GID".into(),
        Format::Signed(w, b) => format!("PT_INT{}:{}", bits(w), base(b)),
        Format::Unsigned(w, b) => format!("PT_UINT{}:{}", bits(w), base(b)),
        Format::Flags(w, t) => format!("PT_FLAGS{}:{}", bits(w), table_name(t)),
        Format::Enum(w, t) => format!("PT_ENUMFLAGS{}:{}", bits(w), table_name(t)),
        Format::Mode(t) => format!("PT_MODE:OCT:{}", table_name(t)),
        Format::CharBuf => "PT_CHARBUF".into(),
        Format::FsPath => "PT_FSPATH".into(),
        Format::FsRelPath { dirfd } => format!("PT_FSRELPATH:{dirfd}"),
        Format::ByteBuf => "PT_BYTEBUF".into(),
        Format::SockAddr => "PT_SOCKADDR".into(),
        Format::SockTuple => "PT_SOCKTUPLE".into(),
        Format::CharBufArray => "PT_CHARBUFARRAY".into(),
        Format::AbsTime => "PT_ABSTIME".into(),
        Format::PtraceDyn => "PT_DYN:ptrace_dynamic_param".into(),
    }
}

fn signature(s: &Syscall) -> String {
    let params: Vec<String> = s
        .params
        .iter()
        .map(|p| format!("{}:{}", p.name, describe(p.format)))
        .collect();
    format!("{} {} {}", s.nr, s.event, params.join(" "))
}

#[test]
fn table_matches_falco_numbers_events_and_params() {
    let ours: Vec<String> = SYSCALLS.iter().map(signature).collect();
    for (ours, falco) in ours.iter().zip(FALCO_SIGNATURES) {
        assert_eq!(ours, falco);
    }
    assert_eq!(ours.len(), FALCO_SIGNATURES.len());
}

#[test]
fn table_is_sorted_by_number_and_lookups_work() {
    assert!(
        SYSCALLS.windows(2).all(|w| w[0].nr < w[1].nr),
        "by_nr needs sorted, unique nrs"
    );
    for s in SYSCALLS {
        assert!(std::ptr::eq(by_nr(s.nr).expect("listed"), s));
    }
    assert_eq!(by_nr(257).map(|s| s.event), Some("openat"));
    assert!(by_nr(0).is_none(), "read is not handled");
    assert_eq!(for_event("clone").count(), 1);
    assert_eq!(for_event("nope").count(), 0);
}

#[test]
fn string_slots_and_dirfds_are_consistent() {
    for s in SYSCALLS {
        for (i, p) in s.params.iter().enumerate() {
            let ParamValue::String(slot) = p.value else {
                continue;
            };
            let string = s.strings[usize::from(slot)]
                .unwrap_or_else(|| panic!("{} {}: slot {slot} not captured", s.event, p.name));
            match p.format {
                Format::FsRelPath { dirfd } => {
                    let dirfd_param = &s.params[usize::from(dirfd)];
                    assert_eq!(dirfd_param.format, Format::Fd, "{} {}", s.event, p.name);
                    let ParamValue::IntArg(reg) = dirfd_param.value else {
                        panic!("{} dirfd is not a register", s.event)
                    };
                    assert_eq!(string.dirfd, Some(reg), "{} {}", s.event, p.name);
                    assert!(usize::from(dirfd) < i);
                }
                Format::FsPath => assert_eq!(string.dirfd, None, "{} {}", s.event, p.name),
                Format::CharBuf => {}
                other => panic!("{} {}: string with format {other:?}", s.event, p.name),
            }
        }
    }
}

#[test]
fn fd_of_matches_libscap_exit_fd_locations() {
    // libscap `get_exit_event_fd_location`: index of the fd parameter of `EF_USES_FD` exits.
    let locations = [
        ("close", 1),
        ("fchdir", 1),
        ("listen", 1),
        ("setns", 1),
        ("dup", 1),
        ("dup2", 1),
        ("dup3", 1),
        ("fchmodat", 1),
        ("mkdirat", 1),
        ("unlinkat", 1),
        ("finit_module", 1),
        ("fchmod", 1),
        ("bind", 2),
        ("sendto", 2),
        ("sendmsg", 2),
        ("connect", 2),
        ("symlinkat", 2),
        ("recvfrom", 3),
        ("recvmsg", 5),
    ];
    for (event, index) in locations {
        let s = for_event(event).next().expect("listed");
        let reg = match s.fd {
            FdOf::Arg(r) | FdOf::Dup(r) => r,
            other => panic!("{event}: {other:?}"),
        };
        assert_eq!(s.params[index].value, ParamValue::IntArg(reg), "{event}");
        assert_eq!(s.params[index].format, Format::Fd, "{event}");
    }
    // `EF_CREATES_FD` events describe the returned fd.
    for event in [
        "open", "openat", "openat2", "creat", "socket", "accept", "accept4", "bpf",
    ] {
        let s = for_event(event).next().expect("listed");
        assert_eq!(s.fd, FdOf::Ret, "{event}");
        assert_eq!(s.params[0].value, ParamValue::Ret, "{event}");
    }
}

#[test]
fn param_names_are_known_to_falco() {
    let names = table::FALCO_PARAM_NAMES;
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "binary search needs a sorted list"
    );
    for s in SYSCALLS {
        for p in s.params {
            assert!(is_falco_param_name(p.name), "{}", p.name);
        }
    }
    assert!(
        is_falco_param_name("pathname"),
        "fchownat's, used by upstream macros"
    );
    assert!(!is_falco_param_name("pathnam"));
}

#[test]
fn has_param_is_per_event() {
    assert!(has_param("setuid", "uid"));
    assert!(has_param("connect", "tuple"), "unavailable but known");
    assert!(has_param("openat", "dirfd"));
    assert!(!has_param("open", "dirfd"));
    assert!(!has_param("rename", "pathname"));
    assert!(has_param("execve", "filename"));
    assert!(!has_param("execveat", "filename"));
}

#[test]
fn successful_execveat_is_reported_as_execve() {
    let execveat = by_nr(322).expect("listed");
    assert_eq!(exit_event(execveat, 0).event, "execve");
    assert_eq!(exit_event(execveat, -2).event, "execveat");
    let open = by_nr(2).expect("listed");
    assert!(std::ptr::eq(exit_event(open, 3), open));
}
