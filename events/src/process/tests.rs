use std::path::Path;

use super::*;
use crate::record::{Header, SyscallRecord};

fn hdr(pid: u32, ppid: u32, comm: &str) -> Header {
    let mut c = [0u8; 16];
    c[..comm.len()].copy_from_slice(comm.as_bytes());
    Header {
        kind: 0,
        abi: 1,
        ts_ns: 1,
        cgroup_id: 9,
        pid,
        tid: pid,
        ppid,
        uid: 0,
        gid: 0,
        loginuid: u32::MAX,
        sid: 50,
        vpgid: 50,
        pgid: 50,
        _pad: 0,
        comm: c,
    }
}

fn write(root: &Path, pid: u32, comm: &str, ppid: u32, argv: &[&str]) {
    let d = root.join(pid.to_string());
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(d.join("comm"), format!("{comm}\n")).expect("comm");
    std::fs::write(d.join("status"), format!("Name:\t{comm}\nPPid:\t{ppid}\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\nCapEff:\t0000000000200000\n")).expect("status");
    std::fs::write(d.join("cmdline"), argv.join("\0") + "\0").expect("cmdline");
    std::fs::write(d.join("stat"), format!("{pid} ({comm}) S {ppid} {pid} {pid} 34816 0")).expect("stat");
}

#[test]
fn seeds_from_a_proc_tree_and_follows_fork_exec_exit() {
    let root = std::env::temp_dir().join(format!("palisade-proc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    write(&root, 1, "systemd", 0, &["/sbin/init"]);
    write(&root, 50, "bash", 1, &["-bash"]);
    let mut t = ProcessTable::new(&root);
    assert_eq!(t.seed(), 2);
    let bash = t.get(50).expect("bash");
    assert_eq!((bash.comm.as_str(), bash.ppid, bash.uid, bash.gid, bash.tty), ("bash", 1, 1000, 100, 34816));
    assert_eq!(bash.caps.effective, 1 << 21, "CapEff from status");
    assert_eq!((bash.sid, bash.vpgid, bash.pgid), (50, 50, 50), "session and group from stat");

    t.apply(&Record::Fork { hdr: hdr(50, 1, "bash"), child_pid: 60, child_tid: 60, child_vpid: 60 });
    assert_eq!(t.get(60).map(|p| (p.comm.as_str(), p.ppid, p.sid, p.vpgid)), Some(("bash", 50, 50, 50)));
    t.apply(&Record::Exec {
        hdr: hdr(60, 50, "cat"),
        filename: "/usr/bin/cat".into(),
        argv: vec!["cat".into(), "/etc/shadow".into()],
        args_truncated: false,
        tty: 34816,
        cwd: "/root".into(),
        exe_flags: 0,
        vpid: 60,
        image: crate::record::ExeImage { ino: 77, ctime_ns: 5, mtime_ns: 4 },
        caps: crate::record::Caps { inheritable: 0, permitted: 1 << 21, effective: 1 << 21 },
        env: None,
    });
    let cat = t.get(60).expect("cat");
    assert_eq!((cat.exe_image.ino, cat.caps.effective, cat.exec_boot_ns), (77, 1 << 21, hdr(60, 50, "cat").ts_ns));
    assert_eq!((cat.exe.as_str(), cat.exepath.as_str(), cat.cmdline()), ("cat", "/usr/bin/cat", "cat /etc/shadow".to_owned()));
    assert_eq!(cat.cwd.as_deref(), Some("/root"));
    let names: Vec<&str> = t.ancestors(60, 8).iter().map(|p| p.comm.as_str()).collect();
    assert_eq!(names, ["bash", "systemd"]);
    t.apply(&Record::Exit { hdr: hdr(60, 50, "cat"), exit_code: 0 });
    assert!(t.get(60).is_none());
    let _ = std::fs::remove_dir_all(&root);
}

fn syscall(hdr: Header, nr: u32, ret: i64, path: Option<&str>) -> Record {
    Record::Syscall(Box::new(SyscallRecord {
        hdr,
        nr,
        ret,
        args: [0; 6],
        extra: [0; 3],
        fd: bytemuck::Zeroable::zeroed(),
        fd_path: path.map(str::to_owned),
        strings: [None, None],
        bases: [None, None],
        addr: None,
    }))
}

#[test]
fn namespaced_groups_come_from_nspgid_and_nssid() {
    let root = std::env::temp_dir().join(format!("palisade-proc-ns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    write(&root, 4242, "sh", 4200, &["sh"]);
    let status = root.join("4242/status");
    let mut text = std::fs::read_to_string(&status).expect("status");
    text.push_str("NSpid:\t4242\t7\nNSpgid:\t4242\t7\nNSsid:\t4100\t0\n");
    std::fs::write(&status, text).expect("status");
    let p = procfs::read_process(&root, 4242).expect("process");
    assert_eq!((p.vpid, p.vpgid, p.pgid, p.sid), (7, 7, 4242, 0), "session leader outside the namespace: 0");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn later_records_carry_new_groups_and_chdir_moves_the_cwd() {
    let mut t = ProcessTable::offline();
    t.insert(Process { pid: 70, ppid: 1, comm: "sh".into(), cwd: Some("/".into()), ..Process::default() });
    // After setsid(): the next record of the process has the new session and group.
    let mut h = hdr(70, 1, "sh");
    (h.sid, h.vpgid, h.pgid) = (70, 70, 70);
    let openat = 257;
    t.apply(&syscall(h, openat, 3, Some("/etc/hostname")));
    let p = t.get(70).expect("sh");
    assert_eq!((p.sid, p.vpgid, p.pgid), (70, 70, 70));
    assert_eq!(p.cwd.as_deref(), Some("/"), "an open does not move the cwd");
    // chdir (80) and fchdir (81) report the new directory in the record's path.
    t.apply(&syscall(h, 80, 0, Some("/tmp")));
    assert_eq!(t.get(70).and_then(|p| p.cwd.as_deref()), Some("/tmp"));
    t.apply(&syscall(h, 81, -9, None));
    assert_eq!(t.get(70).and_then(|p| p.cwd.as_deref()), Some("/tmp"), "a failed fchdir");
    t.apply(&syscall(h, 81, 0, Some("/var/log")));
    assert_eq!(t.get(70).and_then(|p| p.cwd.as_deref()), Some("/var/log"));
}
