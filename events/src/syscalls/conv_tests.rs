//! Conversions and name walks checked against libsinsp's expectations and the driver's
//! behavior: each test names the libs file its expected values come from.

use super::flags::PPM_FD_UPPER_LAYER;
use super::names::errno_name;
use super::render::{flag_names, mode_names};
use super::render_tests::{
    call, sys, AT_FDCWD, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_RDWR, O_TRUNC, O_WRONLY,
};
use super::*;

#[test]
fn driver_quirks_are_reproduced() {
    // O_TMPFILE includes O_DIRECTORY: a plain directory open gets PPM_O_TMPFILE and a mode.
    let c = call(3, [AT_FDCWD, 0, O_DIRECTORY, 0o755, 0, 0]);
    assert_eq!(
        arg(sys("openat"), "flags", &c, &NoNames).as_deref(),
        Some("O_DIRECTORY|O_RDONLY|O_TMPFILE")
    );
    assert_eq!(
        arg(sys("openat"), "mode", &c, &NoNames).as_deref(),
        Some("0755")
    );
    // Without O_CREAT/O_TMPFILE the mode is dropped.
    let c = call(3, [AT_FDCWD, 0, O_RDWR, 0o644, 0, 0]);
    assert_eq!(
        arg(sys("openat"), "mode", &c, &NoNames).as_deref(),
        Some("0")
    );
    // O_DSYNC alone also sets O_SYNC.
    let c = call(3, [0, 0o10000, 0, 0, 0, 0]);
    assert_eq!(
        arg(sys("open"), "flags", &c, &NoNames).as_deref(),
        Some("O_SYNC|O_DSYNC|O_RDONLY")
    );
    // userfaultfd flags are raw Linux values named with the PPM table: O_NONBLOCK (0o4000) is
    // PPM_O_LARGEFILE's bit, O_CLOEXEC has no name.
    let c = call(5, [0o4000 | O_CLOEXEC, 0, 0, 0, 0, 0]);
    assert_eq!(
        arg(sys("userfaultfd"), "flags", &c, &NoNames).as_deref(),
        Some("O_LARGEFILE")
    );
    // PT_UINT32 in decimal prints as %d.
    let c = call(-11, [3, 0, 0xffff_ffff, 0, 0, 0]);
    assert_eq!(
        arg(sys("recvfrom"), "size", &c, &NoNames).as_deref(),
        Some("-1")
    );
}

#[test]
fn errno_names_follow_sinsp_utils() {
    assert_eq!(errno_name(-1), "EPERM");
    assert_eq!(errno_name(-2), "ENOENT");
    assert_eq!(errno_name(-11), "EAGAIN");
    assert_eq!(errno_name(-41), "", "EWOULDBLOCK is EAGAIN; 41 is unused");
    assert_eq!(errno_name(-115), "EINPROGRESS");
    assert_eq!(errno_name(-125), "ECANCELED");
    assert_eq!(errno_name(-126), "");
    assert_eq!(errno_name(-512), "ERESTARTSYS");
    assert_eq!(errno_name(-516), "ERESTART_RESTARTBLOCK");
    assert_eq!(errno_name(-517), "");
    assert_eq!(errno_name(-530), "EIOCBRETRY");
    assert_eq!(errno_name(2), "", "positive codes are not errnos");
    assert_eq!(errno_name(i32::MIN), "");
}

#[test]
fn concatenate_paths_matches_sinsp_utils_ut() {
    // sinsp_utils.ut.cpp `concatenate_paths`.
    let cases = [
        ("", "", ""),
        ("", "../", ""),
        ("", "..", ""),
        ("/", "../", "/"),
        ("a", "../", "a.."),
        ("a/", "../", ""),
        ("", "/foo", "/foo"),
        ("foo/", "..//a", "a"),
        ("/foo/", "..//a", "/a"),
        ("heolo", "w////////////..//////.////////r.|", "r.|"),
        ("heolo", "w/////////////..//", ""),
        ("", "./", ""),
        ("", "dir/term", "dir/term"),
        ("", "//dir/term", "/dir/term"),
        ("/", "dir/term", "/dir/term"),
        ("", "///dir/term", "/dir/term"),
        ("", "./dir/term", "dir/term"),
        ("/", "//dir//////term", "/dir/term"),
        ("/", "/dir/term", "/dir/term"),
        ("../.../", "dir/././././../../.../term/", "../.../term"),
        (
            "../.../",
            "/app/custom/dir/././././../../.../term/",
            "/app/.../term",
        ),
    ];
    for (a, b, want) in cases {
        assert_eq!(
            concatenate_paths(a, b),
            want,
            "concatenate_paths({a:?}, {b:?})"
        );
    }
    // events_fspath.ut.cpp fixture: "/tmp/random/dir.../..//../filename.txt".
    assert_eq!(
        concatenate_paths("", "/tmp/random/dir.../..//../filename.txt"),
        "/tmp/filename.txt"
    );
    assert_eq!(
        resolve_relative("/root/", "tmp/filename.txt").as_deref(),
        Some("/root/tmp/filename.txt")
    );
    assert_eq!(resolve_relative("/root/", "/abs"), None);
    assert_eq!(resolve_relative("/", ".."), Some("/".to_owned()));
}

#[test]
fn enums_render_as_in_events_param_enumparams() {
    // events_param.ut.cpp `enumparams`: AF_UNIX renders "AF_LOCAL|AF_UNIX".
    let c = call(3, [1, 2, 0, 0, 0, 0]);
    assert_eq!(
        arg(sys("socket"), "domain", &c, &NoNames).as_deref(),
        Some("AF_LOCAL|AF_UNIX")
    );
    let c = call(3, [16, 3, 0, 0, 0, 0]);
    assert_eq!(
        arg(sys("socket"), "domain", &c, &NoNames).as_deref(),
        Some("AF_ROUTE|AF_NETLINK")
    );
    // SOCK_RAW|SOCK_CLOEXEC: type is the raw register, flags the converted bits.
    let c = call(3, [17, 3 | O_CLOEXEC, 0x300, 0, 0, 0]);
    assert_eq!(
        args_line(sys("socket"), &c, &NoNames),
        "fd=3 domain=17(AF_PACKET) type=524291 proto=768 flags=4096(O_CLOEXEC)"
    );
    let c = call(3, [40, 1, 0, 0, 0, 0]); // AF_VSOCK has no PPM value
    assert_eq!(
        arg(sys("socket"), "domain", &c, &NoNames).as_deref(),
        Some("AF_UNSPEC")
    );
    assert_eq!(
        arg(sys("socket"), "flags", &c, &NoNames).as_deref(),
        Some("O_NONE")
    );
    // filterchecks/evt.cpp `EVT_FILTER_cmd_str`.
    let c = call(1, [5, 0, 0, 0, 0, 0]);
    assert_eq!(
        arg(sys("bpf"), "cmd", &c, &NoNames).as_deref(),
        Some("BPF_PROG_LOAD")
    );
    let c = call(1, [99, 0, 0, 0, 0, 0]);
    assert_eq!(arg(sys("bpf"), "cmd", &c, &NoNames).as_deref(), Some("99"));
}

#[test]
fn modes_render_as_pt_mode() {
    let c = call(0, [0, 0o644, 0, 0, 0, 0]);
    assert_eq!(
        arg(sys("chmod"), "mode", &c, &NoNames).as_deref(),
        Some("S_IROTH|S_IRGRP|S_IWUSR|S_IRUSR")
    );
    let c = call(0, [3, 0o104755, 0, 0, 0, 0]);
    assert_eq!(
        args_line(sys("fchmod"), &c, &NoNames),
        "res=0 fd=3 mode=04755(S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID)"
    );
    assert_eq!(mode_names(0o400, super::names::CHMOD_MODE), "S_IRUSR");
    assert_eq!(mode_names(0, super::names::CHMOD_MODE), "");
    let c = call(0, [AT_FDCWD, 0, 0, 0, 0, 0]);
    assert_eq!(
        arg(sys("fchmodat"), "mode", &c, &NoNames).as_deref(),
        Some("0")
    );
    // creat's mode is PT_UINT32 in octal, not PT_MODE.
    let c = call(4, [0, 0o100600, 0, 0, 0, 0]);
    assert_eq!(
        arg(sys("creat"), "mode", &c, &NoNames).as_deref(),
        Some("0600")
    );
}

#[test]
fn flag_walk_follows_table_order() {
    let table = super::names::FILE_FLAGS;
    assert_eq!(flag_names(0, table, false), "O_NONE");
    assert_eq!(flag_names(3, table, false), "O_RDWR");
    assert_eq!(
        flag_names(1 << 20, table, false),
        "",
        "unknown bits have no name"
    );
    let clone = super::names::CLONE_FLAGS;
    let c = call(0, [0x1002_0000, 0, 0, 0, 0, 0]); // CLONE_NEWNS|CLONE_NEWUSER
    assert_eq!(
        arg(sys("unshare"), "flags", &c, &NoNames).as_deref(),
        Some("CLONE_NEWNS|CLONE_NEWUSER")
    );
    assert_eq!(flag_names(1 << 5, clone, false), "CLONE_NEWNS");
    let c = call(0, [4, 0x4000_0000, 0, 0, 0, 0]);
    assert_eq!(
        args_line(sys("setns"), &c, &NoNames),
        "res=0 fd=4 nstype=16(CLONE_NEWNET)"
    );
}

#[test]
fn small_conversions() {
    let c = call(5, [3, 0, 0, O_CLOEXEC | 0o4000, 0, 0]); // accept4 SOCK_CLOEXEC|SOCK_NONBLOCK
    assert_eq!(
        arg(sys("accept4"), "flags", &c, &NoNames).as_deref(),
        Some("1040")
    );
    let c = call(7, [0, 0x5, 0, 0, 0, 0]); // MFD_CLOEXEC|MFD_HUGETLB
    assert_eq!(
        arg(sys("memfd_create"), "flags", &c, &NoNames).as_deref(),
        Some("MFD_CLOEXEC|MFD_HUGETLB")
    );
    let c = call(4, [3, 4, O_CLOEXEC, 0, 0, 0]);
    assert_eq!(
        args_line(sys("dup3"), &c, &NoNames),
        "res=4 oldfd=3 newfd=4 flags=4096(O_CLOEXEC)"
    );
    let c = call(0, [0, 0, 0, 0xc0ed_1000 | 0x4000, 0, 0]); // MS_MGC_VAL|MS_BIND|MS_REC
    assert_eq!(
        arg(sys("mount"), "flags", &c, &NoNames).as_deref(),
        Some("BIND|REC")
    );
    let c = call(0, [AT_FDCWD, 0, AT_FDCWD, 0, 0x1400, 0]);
    assert_eq!(
        arg(sys("linkat"), "flags", &c, &NoNames).as_deref(),
        Some("AT_SYMLINK_FOLLOW|AT_EMPTY_PATH")
    );
    let c = call(0, [AT_FDCWD, 0, AT_FDCWD, 0, 0x2, 0]);
    assert_eq!(
        arg(sys("renameat2"), "flags", &c, &NoNames).as_deref(),
        Some("RENAME_EXCHANGE")
    );
    let c = call(0, [3, 0, 0x3, 0, 0, 0]);
    assert_eq!(
        arg(sys("finit_module"), "flags", &c, &NoNames).as_deref(),
        Some("MODULE_INIT_IGNORE_MODVERSIONS|MODULE_INIT_IGNORE_VERMAGIC")
    );
    let c = call(-1, [0, 0, 0, 0, 0, 0]);
    assert_eq!(
        args_line(sys("recvmsg"), &c, &NoNames),
        "res=-1(EPERM) size=0 data=NULL tuple=NULL msgcontrol=NULL fd=0"
    );
    let mut c = call(3, [AT_FDCWD, 0, 0, 0, 0, 0]); // openat2 reads struct open_how
    c.extra = [O_CREAT | O_RDWR, 0o600, 0x08 | 0x04];
    assert_eq!(
        arg(sys("openat2"), "flags", &c, &NoNames).as_deref(),
        Some("O_CREAT|O_RDWR")
    );
    assert_eq!(
        arg(sys("openat2"), "mode", &c, &NoNames).as_deref(),
        Some("0600")
    );
    assert_eq!(
        arg(sys("openat2"), "resolve", &c, &NoNames).as_deref(),
        Some("RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS")
    );
    let mut c = call(3, [0, 0o644, 0, 0, 0, 0]);
    c.file_state = PPM_FD_UPPER_LAYER;
    assert_eq!(
        arg(sys("creat"), "creat_flags", &c, &NoNames).as_deref(),
        Some("FD_UPPER_LAYER_CREAT")
    );
}

#[test]
fn open_access_follows_ppm_access_bits() {
    assert_eq!(open_access(0), (true, false));
    assert_eq!(open_access(O_WRONLY | O_CREAT | O_TRUNC), (false, true));
    assert_eq!(open_access(O_RDWR), (true, true));
    assert_eq!(
        open_access(3),
        (true, false),
        "O_ACCMODE counts as read-only"
    );
    assert_eq!(open_access(O_CLOEXEC | O_DIRECTORY), (true, false));
}
