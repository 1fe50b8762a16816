use std::path::Path;

use super::*;
use crate::kernel::record::Header;

fn hdr(pid: u32, ppid: u32, comm: &str) -> Header {
    let mut c = [0u8; 16];
    c[..comm.len()].copy_from_slice(comm.as_bytes());
    Header { kind: 0, abi: 1, ts_ns: 1, cgroup_id: 9, pid, tid: pid, ppid, uid: 0, gid: 0, loginuid: u32::MAX, comm: c }
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

    t.apply(&Record::Fork { hdr: hdr(50, 1, "bash"), child_pid: 60, child_tid: 60, child_vpid: 60 });
    assert_eq!(t.get(60).map(|p| (p.comm.as_str(), p.ppid)), Some(("bash", 50)));
    t.apply(&Record::Exec {
        hdr: hdr(60, 50, "cat"),
        filename: "/usr/bin/cat".into(),
        argv: vec!["cat".into(), "/etc/shadow".into()],
        args_truncated: false,
        tty: 34816,
        cwd: "/root".into(),
        exe_flags: 0,
        vpid: 60,
        image: crate::kernel::ExeImage { ino: 77, ctime_ns: 5, mtime_ns: 4 },
        caps: crate::kernel::Caps { inheritable: 0, permitted: 1 << 21, effective: 1 << 21 },
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
