//! Rendering checked against libsinsp's own expectations. Each test names the libs file its
//! expected strings come from (`userspace/libsinsp/test/...`, `test/e2e/tests/...`).

use super::flags::{PPM_FD_LOWER_LAYER, PPM_FD_UPPER_LAYER, PPM_O_F_CREATED};
use super::*;

/// `AT_FDCWD` as a C `int` in a register whose upper half is zero.
pub(super) const AT_FDCWD: u64 = 0xffff_ff9c;
pub(super) const O_WRONLY: u64 = 0o1;
pub(super) const O_RDWR: u64 = 0o2;
pub(super) const O_CREAT: u64 = 0o100;
pub(super) const O_TRUNC: u64 = 0o1000;
pub(super) const O_DIRECTORY: u64 = 0o200000;
pub(super) const O_CLOEXEC: u64 = 0o2000000;

pub(super) fn sys(event: &str) -> &'static Syscall {
    for_event(event)
        .next()
        .unwrap_or_else(|| panic!("{event} not in the table"))
}

pub(super) fn call(ret: i64, args: [u64; 6]) -> RawCall<'static> {
    RawCall {
        ret,
        args,
        ..RawCall::default()
    }
}

/// What a thread table and user database would answer.
#[derive(Default)]
struct Fake {
    users: Vec<(u32, &'static str)>,
    comms: Vec<(i64, &'static str)>,
    fds: Vec<(i64, FdDesc)>,
}

impl Names for Fake {
    fn user(&self, uid: u32) -> Option<String> {
        self.users
            .iter()
            .find(|(u, _)| *u == uid)
            .map(|(_, n)| (*n).to_owned())
    }
    fn comm(&self, tid: i64) -> Option<String> {
        self.comms
            .iter()
            .find(|(t, _)| *t == tid)
            .map(|(_, n)| (*n).to_owned())
    }
    fn fd(&self, fd: i64) -> Option<FdDesc> {
        self.fds
            .iter()
            .find(|(f, _)| *f == fd)
            .map(|(_, d)| d.clone())
    }
}

fn file(fd: i64, name: &str) -> Fake {
    let desc = FdDesc {
        kind: FdKind::File,
        l4: None,
        name: name.to_owned(),
    };
    Fake {
        fds: vec![(fd, desc)],
        ..Fake::default()
    }
}

#[test]
fn open_flags_render_as_in_events_param_bitmaskparams() {
    // events_param.ut.cpp `bitmaskparams`: PPM_O_RDONLY|PPM_O_CLOEXEC -> "O_RDONLY|O_CLOEXEC".
    let c = call(3, [4, 0, O_CLOEXEC, 0, 0, 0]);
    assert_eq!(
        arg(sys("openat"), "flags", &c, &NoNames).as_deref(),
        Some("O_RDONLY|O_CLOEXEC")
    );
    assert_eq!(
        rawarg(sys("openat"), "flags", &c),
        Some(ArgValue::Unsigned(0x1001))
    );
}

#[test]
fn open_args_line_matches_e2e_file_writes_and_sensitive_read() {
    // test_file_writes.py: flags=53510(O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC|O_F_CREATED|
    // FD_UPPER_LAYER) mode=0755; dev/ino come from the inode, which Palisade leaves out.
    let path = b"/tmp/dir/created-by-event-generator";
    let flags = O_TRUNC | O_CREAT | O_WRONLY | O_CLOEXEC;
    let mut c = call(3, [AT_FDCWD, 0, flags, 0o755, 0, 0]);
    c.strings[0] = Some(path);
    c.file_state = PPM_O_F_CREATED | PPM_FD_UPPER_LAYER;
    let names = file(3, "/tmp/dir/created-by-event-generator");
    assert_eq!(
        args_line(sys("openat"), &c, &names),
        "fd=3(<f>/tmp/dir/created-by-event-generator) dirfd=-100(AT_FDCWD) \
         name=/tmp/dir/created-by-event-generator \
         flags=53510(O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC|O_F_CREATED|FD_UPPER_LAYER) \
         mode=0755 dev=<NA> ino=<NA>"
    );
    // test_read_sensitive_file.py: flags=69633(O_RDONLY|O_CLOEXEC|FD_LOWER_LAYER) mode=0.
    let mut c = call(3, [AT_FDCWD, 0, O_CLOEXEC, 0, 0, 0]);
    c.strings[0] = Some(b"/etc/shadow");
    c.file_state = PPM_FD_LOWER_LAYER;
    let line = args_line(sys("openat"), &c, &file(3, "/etc/shadow"));
    assert!(
        line.starts_with(
            "fd=3(<f>/etc/shadow) dirfd=-100(AT_FDCWD) name=/etc/shadow \
             flags=69633(O_RDONLY|O_CLOEXEC|FD_LOWER_LAYER) mode=0 "
        ),
        "{line}"
    );
    // evt.arg.fd is the resolved form only; without an fd table entry, the number.
    assert_eq!(
        arg(sys("openat"), "fd", &c, &file(3, "/etc/shadow")).as_deref(),
        Some("<f>/etc/shadow")
    );
    assert_eq!(arg(sys("openat"), "fd", &c, &NoNames).as_deref(), Some("3"));
    assert_eq!(
        arg(sys("openat"), "dirfd", &c, &NoNames).as_deref(),
        Some("AT_FDCWD")
    );
}

#[test]
fn flags_contains_checks_as_in_filter_op_contains() {
    // filter_op_contains.ut.cpp: PPM_O_RDWR|PPM_O_CREAT contains O_CREAT, not O_TMPFILE.
    let mut c = call(1, [0, O_RDWR | O_CREAT, 0, 0, 0, 0]);
    c.strings[0] = Some(b"/opt/dir/SUBDIR/file.txt");
    let flags = arg(sys("open"), "flags", &c, &NoNames).unwrap_or_default();
    assert_eq!(
        flags, "O_CREAT|O_RDWR",
        "O_RDWR hides O_RDONLY and O_WRONLY"
    );
    assert!(!flags.contains("O_TMPFILE"));
}

#[test]
fn mkdirat_and_unlinkat_match_e2e_make_binary_dirs() {
    // test_make_binary_dirs.py.
    let path: &[u8] = b"/bin/directory-created-by-event-generator";
    let mut c = call(0, [AT_FDCWD, 0, 0o755, 0, 0, 0]);
    c.strings[0] = Some(path);
    assert_eq!(
        args_line(sys("mkdirat"), &c, &NoNames),
        "res=0 dirfd=-100(AT_FDCWD) path=/bin/directory-created-by-event-generator mode=1ED"
    );
    let mut c = call(-21, [AT_FDCWD, 0, 0, 0, 0, 0]);
    c.strings[0] = Some(path);
    assert_eq!(
        args_line(sys("unlinkat"), &c, &NoNames),
        "res=-21(EISDIR) dirfd=-100(AT_FDCWD) name=/bin/directory-created-by-event-generator flags=0"
    );
    assert_eq!(res(sys("unlinkat"), &c, &NoNames), "EISDIR");
    let mut c = call(0, [AT_FDCWD, 0, 0x200, 0, 0, 0]);
    c.strings[0] = Some(path);
    assert!(args_line(sys("unlinkat"), &c, &NoNames).ends_with(" flags=512(AT_REMOVEDIR)"));
    // evt.rawarg.flags prints in the parameter's format (rawarg.cpp: 512 -> "200").
    assert_eq!(
        rawarg_string(sys("unlinkat"), "flags", &c).as_deref(),
        Some("200")
    );
}

#[test]
fn renameat_matches_e2e_modify_binary_dirs() {
    // test_modify_binary_dirs.py.
    let mut c = call(0, [AT_FDCWD, 0, AT_FDCWD, 0, 0, 0]);
    c.strings = [Some(b"/bin/true"), Some(b"/bin/true.event-generator")];
    assert_eq!(
        args_line(sys("renameat"), &c, &NoNames),
        "res=0 olddirfd=-100(AT_FDCWD) oldpath=/bin/true newdirfd=-100(AT_FDCWD) \
         newpath=/bin/true.event-generator"
    );
}

#[test]
fn uid_renders_user_names_as_in_filterchecks_evt() {
    // filterchecks/evt.cpp `EVT_FILTER_check_evt_arg_uid` and test_non_sudo_setuid.py.
    let c = call(0, [5, 0, 0, 0, 0, 0]);
    let users = Fake {
        users: vec![(5, "test")],
        ..Fake::default()
    };
    assert_eq!(
        arg(sys("setuid"), "uid", &c, &users).as_deref(),
        Some("test")
    );
    assert_eq!(
        arg_at(sys("setuid"), 1, &c, &users).as_deref(),
        Some("test")
    );
    assert_eq!(args_line(sys("setuid"), &c, &users), "res=0 uid=5(test)");
    assert_eq!(
        arg(sys("setuid"), "uid", &c, &NoNames).as_deref(),
        Some("<NA>")
    );
    assert_eq!(args_line(sys("setuid"), &c, &NoNames), "res=0 uid=5(<NA>)");
    assert_eq!(
        rawarg(sys("setuid"), "uid", &c),
        Some(ArgValue::Unsigned(5))
    );
    let c = call(-1, [0, 0, 0, 0, 0, 0]);
    assert_eq!(
        args_line(sys("setuid"), &c, &NoNames),
        "res=-1(EPERM) uid=0(<NA>)"
    );
    // A closure is a Names that knows users.
    let root = |uid: u32| (uid == 0).then(|| "root".to_owned());
    assert_eq!(
        arg(sys("setuid"), "uid", &c, &root).as_deref(),
        Some("root")
    );
    // (uid_t)-1 ("unchanged") prints -1(<NONE>), as loginuid in the e2e execve lines.
    let c = call(0, [u64::MAX, 1000, 0xffff_ffff, 0, 0, 0]);
    let line = args_line(sys("setresuid"), &c, &root);
    assert_eq!(
        line,
        "res=0 ruid=-1(<NONE>) euid=1000(<NA>) suid=-1(<NONE>)"
    );
    // Other ids above i32::MAX print negative too (`%d`).
    let c = call(0, [0xffff_fffe, 0, 0, 0, 0, 0]);
    assert_eq!(args_line(sys("setuid"), &c, &NoNames), "res=0 uid=-2(<NA>)");
    assert_eq!(
        rawarg(sys("setuid"), "uid", &c),
        Some(ArgValue::Unsigned(0xffff_fffe))
    );
}

#[test]
fn results_render_as_in_events_evt_event_res() {
    // events_evt.ut.cpp `event_res`: open failing with EACCES, then succeeding.
    let mut c = call(-13, [0, 0, 0, 0, 0, 0]);
    c.strings[0] = Some(b"/tmp/the_file.txt");
    assert_eq!(res(sys("open"), &c, &NoNames), "EACCES");
    assert_eq!(
        arg(sys("open"), "fd", &c, &NoNames).as_deref(),
        Some("EACCES")
    );
    c.ret = 123;
    assert_eq!(res(sys("open"), &c, &NoNames), "SUCCESS");
    // PT_ERRNO: evt.arg.res is the errno name, or the number (events_file.ut.cpp `umount2`).
    let c = call(0, [0, 10, 0, 0, 0, 0]);
    assert_eq!(
        arg(sys("umount2"), "res", &c, &NoNames).as_deref(),
        Some("0")
    );
    assert_eq!(
        arg(sys("umount2"), "flags", &c, &NoNames).as_deref(),
        Some("DETACH|NOFOLLOW")
    );
    let c = call(-2, [0; 6]);
    assert_eq!(
        arg(sys("umount2"), "res", &c, &NoNames).as_deref(),
        Some("ENOENT")
    );
    assert_eq!(
        rawarg(sys("umount2"), "res", &c),
        Some(ArgValue::Signed(-2))
    );
    // An errno libsinsp does not know stays a number; a failed clone's PT_PID res too.
    assert_eq!(res(sys("umount2"), &call(-600, [0; 6]), &NoNames), "-600");
    assert_eq!(res(sys("clone"), &call(-11, [0; 6]), &NoNames), "-11");
}

#[test]
fn empty_and_null_strings_as_in_events_param() {
    // events_param.ut.cpp `charbuf_empty_param`, `param_charbuf_len_1`, `charbuf_NULL_param`.
    let c = call(0, [0; 6]);
    assert_eq!(
        arg(sys("chdir"), "path", &c, &NoNames).as_deref(),
        Some("<NA>")
    );
    assert_eq!(
        arg(sys("creat"), "name", &c, &NoNames).as_deref(),
        Some("<NA>")
    );
    assert_eq!(
        arg(sys("unlinkat"), "name", &c, &NoNames).as_deref(),
        Some("<NA>")
    );
    let mut c = call(0, [0; 6]);
    c.strings[0] = Some(b"\0garbage");
    assert_eq!(arg(sys("chdir"), "path", &c, &NoNames).as_deref(), Some(""));
    c.strings[0] = Some(b"(NULL)");
    assert_eq!(
        arg(sys("chdir"), "path", &c, &NoNames).as_deref(),
        Some("<NA>")
    );
    assert_eq!(
        rawarg(sys("chdir"), "path", &c),
        Some(ArgValue::Str("<NA>".to_owned()))
    );
}

#[test]
fn paths_compare_raw_unless_relative() {
    // filterchecks/evt.cpp: an absolute filename is not normalized.
    let mut c = call(-2, [0; 6]);
    c.strings[0] = Some(b"/usr/../usr/./bin/python3");
    c.resolved[0] = Some("/usr/bin/python3");
    assert_eq!(
        arg(sys("execve"), "filename", &c, &NoNames).as_deref(),
        Some("/usr/../usr/./bin/python3")
    );
    // A relative path yields its resolved form, shown in parentheses by evt.args.
    let mut c = call(0, [AT_FDCWD, 0, 0, 0, 0, 0]);
    c.strings[0] = Some(b"tmp/../filename.txt");
    let resolved = resolve_relative("/root", "tmp/../filename.txt");
    assert_eq!(resolved.as_deref(), Some("/root/filename.txt"));
    c.resolved[0] = resolved.as_deref();
    assert_eq!(
        arg(sys("unlinkat"), "name", &c, &NoNames).as_deref(),
        Some("/root/filename.txt")
    );
    assert_eq!(
        args_line(sys("unlinkat"), &c, &NoNames),
        "res=0 dirfd=-100(AT_FDCWD) name=tmp/../filename.txt(/root/filename.txt) flags=0"
    );
    assert_eq!(
        rawarg(sys("unlinkat"), "name", &c),
        Some(ArgValue::Str("tmp/../filename.txt".to_owned()))
    );
    // A CHARBUF is never resolved.
    let mut c = call(0, [0; 6]);
    c.strings = [Some(b"target"), Some(b"link")];
    c.resolved = [Some("/root/target"), Some("/root/link")];
    assert_eq!(
        args_line(sys("symlink"), &c, &NoNames),
        "res=0 target=target linkpath=link(/root/link)"
    );
}

#[test]
fn connect_fd_matches_e2e_network_activity() {
    // test_network_activity.py: fd=3(<4u>...->10.2.3.4:8192); tuple/addr are unavailable.
    let desc = FdDesc {
        kind: FdKind::Ipv4,
        l4: Some(L4::Udp),
        name: "172.17.0.2:40000->10.2.3.4:8192".into(),
    };
    let names = Fake {
        fds: vec![(3, desc)],
        ..Fake::default()
    };
    let c = call(0, [3, 0, 16, 0, 0, 0]);
    assert_eq!(
        args_line(sys("connect"), &c, &names),
        "res=0 tuple=NULL fd=3(<4u>172.17.0.2:40000->10.2.3.4:8192) addr=<NA>"
    );
    assert_eq!(
        arg(sys("connect"), "fd", &c, &names).as_deref(),
        Some("<4u>172.17.0.2:40000->10.2.3.4:8192")
    );
    assert_eq!(arg(sys("connect"), "tuple", &c, &names), None);
    assert_eq!(rawarg(sys("connect"), "fd", &c), Some(ArgValue::Signed(3)));
    assert_eq!(arg(sys("connect"), "nope", &c, &names), None);
}

#[test]
fn unavailable_params_are_known_but_empty() {
    // filterchecks/evt/arg.cpp shows "<NA>" for params the driver sent empty; Palisade's
    // unavailable params have no value at all in fields, and print like empty ones in evt.args.
    let c = call(0, [0; 6]);
    assert_eq!(arg(sys("execve"), "cap_inheritable", &c, &NoNames), None);
    assert_eq!(rawarg(sys("execve"), "uid", &c), None);
    let line = args_line(sys("execve"), &c, &NoNames);
    assert!(
        line.starts_with("res=0 exe=<NA> args=NULL tid=<NA> "),
        "{line}"
    );
    assert!(line.ends_with(" gid=<NA> filename=<NA>"), "{line}");
}

#[test]
fn ptrace_renders_request_pid_and_dynamic_data() {
    let names = Fake {
        comms: vec![(42, "sshd")],
        ..Fake::default()
    };
    let c = call(0, [16, 42, 0, 0, 0, 0]); // PTRACE_ATTACH
    assert_eq!(
        arg(sys("ptrace"), "request", &c, &names).as_deref(),
        Some("PTRACE_ATTACH")
    );
    assert_eq!(
        arg(sys("ptrace"), "pid", &c, &names).as_deref(),
        Some("sshd")
    );
    assert_eq!(
        rawarg(sys("ptrace"), "request", &c),
        Some(ArgValue::Unsigned(11))
    );
    let c = call(0, [7, 42, 0x7ffe_0000, 9, 0, 0]); // PTRACE_CONT with SIGKILL
    assert_eq!(
        args_line(sys("ptrace"), &c, &names),
        "res=0 addr=7FFE0000 data=9(SIGKILL) request=8(PTRACE_CONT) pid=42(sshd)"
    );
    let c = call(0, [2, 42, 0x1000, 0x2000, 0, 0]); // PTRACE_PEEKDATA: data is in user memory
    assert_eq!(arg(sys("ptrace"), "data", &c, &names), None);
    assert!(args_line(sys("ptrace"), &c, &names).contains(" data=NULL "));
    let c = call(-1, [0x4206, 42, 0x1000, 0x2000, 0, 0]); // failed PTRACE_SEIZE
    assert!(args_line(sys("ptrace"), &c, &names)
        .starts_with("res=-1(EPERM) addr=0 data=0 request=20(PTRACE_SEIZE)"));
}
