//! ia32 (compat) syscalls: what the x86-64 syscall of the same meaning is, for every syscall of
//! [`super::SYSCALLS`] that i386 has (numbers from the kernel's `syscall_32.tbl`, as
//! `asm/unistd_32.h` lists them).
//!
//! A task in an ia32 syscall (`int $0x80`, also from 64-bit code; `sysenter`; `syscall` from
//! 32-bit code) passes these numbers. The kernel side reports such a call under the x86-64
//! number found here, with its six 32-bit register arguments in x86-64 order, so it becomes the
//! same Falco event as the native call (as Falco's drivers do). Where the ia32 call's arguments
//! differ from the x86-64 one's, the entry is left out rather than decoded wrongly; `socketcall`
//! is unpacked in the kernel (`compat.h`).

use super::by_nr;

/// (ia32 number, x86-64 number), by ia32 number.
///
/// The 16-bit-id `setuid`/`setgid`/`setresuid`/`setresgid` (23, 46, 164, 170) take the same
/// arguments as the 32-bit-id ones, narrower: an id of `0xffff` is `-1` there, which the
/// rendering does not know (it shows 65535); the same holds for the 16-bit `chown`, `lchown`
/// and `fchown` (182, 16, 95). The time setters (`utime`, `utimes`, `futimesat`, `utimensat`)
/// take compat time structures, which no parameter renders: only their paths are read.
/// `umount` (22, `oldumount`) is `umount2(path, 0)` but has no flags argument, and ia32 `mmap`
/// (90, a struct of arguments) and `mmap2` (192, page offsets) differ from x86-64 `mmap`: left
/// out (an ia32 executable mapping is not judged in user space).
pub static IA32_TO_X86_64: &[(u16, u16)] = &[
    (5, 2),   // open
    (6, 3),   // close
    (8, 85),  // creat
    (9, 86),  // link
    (10, 87), // unlink
    (11, 59), // execve
    (12, 80), // chdir
    (14, 133), // mknod
    (15, 90), // chmod
    (16, 94), // lchown (16-bit ids)
    (21, 165), // mount
    (23, 105), // setuid (16-bit ids)
    (26, 101), // ptrace
    (30, 132), // utime
    (38, 82), // rename
    (39, 83), // mkdir
    (40, 84), // rmdir
    (41, 32), // dup
    (46, 106), // setgid (16-bit ids)
    (52, 166), // umount2
    (63, 33), // dup2
    (83, 88), // symlink
    (92, 76), // truncate
    (93, 77), // ftruncate
    (94, 91), // fchmod
    (95, 93), // fchown (16-bit ids)
    (128, 175), // init_module
    (133, 81), // fchdir
    (164, 117), // setresuid (16-bit ids)
    (170, 119), // setresgid (16-bit ids)
    (182, 92), // chown (16-bit ids)
    (198, 94), // lchown32
    (207, 93), // fchown32
    (208, 117), // setresuid32
    (210, 119), // setresgid32
    (212, 92), // chown32
    (213, 105), // setuid32
    (214, 106), // setgid32
    (226, 188), // setxattr
    (227, 189), // lsetxattr
    (228, 190), // fsetxattr
    (235, 197), // removexattr
    (236, 198), // lremovexattr
    (237, 199), // fremovexattr
    (271, 235), // utimes
    (295, 257), // openat
    (296, 258), // mkdirat
    (297, 259), // mknodat
    (298, 260), // fchownat
    (299, 261), // futimesat
    (301, 263), // unlinkat
    (302, 264), // renameat
    (303, 265), // linkat
    (304, 266), // symlinkat
    (306, 268), // fchmodat
    (310, 272), // unshare
    (320, 280), // utimensat
    (330, 292), // dup3
    (346, 308), // setns
    (350, 313), // finit_module
    (353, 316), // renameat2
    (356, 319), // memfd_create
    (357, 321), // bpf
    (358, 322), // execveat
    (359, 41), // socket
    (361, 49), // bind
    (362, 42), // connect
    (363, 50), // listen
    (364, 288), // accept4
    (369, 44), // sendto
    (370, 46), // sendmsg
    (371, 45), // recvfrom
    (372, 47), // recvmsg
    (374, 323), // userfaultfd
    (429, 429), // move_mount
    (437, 437), // openat2
    (452, 452), // fchmodat2
];

/// ia32 `socketcall(call, args)`: the kernel side unpacks the calls with an x86-64 event
/// (`compat.h` maps `SYS_SOCKET`, `SYS_BIND`, `SYS_CONNECT`, `SYS_LISTEN`, `SYS_ACCEPT`,
/// `SYS_SENDTO`, `SYS_RECVFROM`, `SYS_SENDMSG`, `SYS_RECVMSG`, `SYS_ACCEPT4`).
pub const SOCKETCALL: u16 = 102;

/// The x86-64 syscalls a `socketcall` can stand for (what `compat.h` maps to).
pub const SOCKETCALL_TARGETS: [u16; 10] = [41, 49, 42, 50, 43, 44, 45, 46, 47, 288];

/// The x86-64 number of ia32 syscall `nr`, when the table has it.
pub fn to_x86_64(nr: u16) -> Option<u16> {
    IA32_TO_X86_64.binary_search_by_key(&nr, |(ia32, _)| *ia32).ok().map(|i| IA32_TO_X86_64[i].1)
}

/// Whether every x86-64 number in the table is a syscall Palisade knows, with the same name.
pub fn targets_are_known() -> bool {
    IA32_TO_X86_64.iter().all(|(_, x)| by_nr(u32::from(*x)).is_some())
        && SOCKETCALL_TARGETS.iter().all(|x| by_nr(u32::from(*x)).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_and_known() {
        assert!(IA32_TO_X86_64.windows(2).all(|w| w[0].0 < w[1].0), "sorted by ia32 number, no duplicates");
        assert!(targets_are_known());
        assert!(IA32_TO_X86_64.iter().all(|(ia32, _)| *ia32 < 512 && *ia32 != SOCKETCALL));
        assert_eq!(to_x86_64(5).and_then(|n| by_nr(u32::from(n))).map(|s| s.event), Some("open"));
        assert_eq!(to_x86_64(295).and_then(|n| by_nr(u32::from(n))).map(|s| s.event), Some("openat"));
        assert_eq!(to_x86_64(3), None, "ia32 read has no x86-64 event here");
    }

    /// Every syscall of the x86-64 table that i386 has is translated: checked against the
    /// system's `asm/unistd_32.h` and `asm/unistd_64.h` when the headers are installed.
    #[test]
    fn matches_the_uapi_headers() {
        let dir = std::path::Path::new("/usr/include/x86_64-linux-gnu/asm");
        let (Ok(h32), Ok(h64)) =
            (std::fs::read_to_string(dir.join("unistd_32.h")), std::fs::read_to_string(dir.join("unistd_64.h")))
        else {
            eprintln!("no asm/unistd_32.h: the table is checked by the other test only");
            return;
        };
        let numbers = |h: &str| -> std::collections::HashMap<String, u16> {
            h.lines()
                .filter_map(|l| {
                    let rest = l.strip_prefix("#define __NR_")?;
                    let (name, nr) = rest.split_once(' ')?;
                    Some((name.to_owned(), nr.trim().parse().ok()?))
                })
                .collect()
        };
        let (n32, n64) = (numbers(&h32), numbers(&h64));
        let name64 = |nr: u16| n64.iter().find(|(_, v)| **v == nr).map(|(k, _)| k.clone());
        for (ia32, x) in IA32_TO_X86_64 {
            // Syscalls newer than the installed headers (fchmodat2 before 6.6) are not checked.
            let Some(name) = name64(*x) else { continue };
            // The 16-bit-id variants: setuid is setuid32's 16-bit form, and so on.
            let found = [name.clone(), format!("{name}32")].iter().any(|n| n32.get(n) == Some(ia32));
            assert!(found, "ia32 {ia32} is not {name} in unistd_32.h");
        }
        for sys in crate::syscalls::SYSCALLS {
            let name = n64.iter().find(|(_, v)| u32::from(**v) == sys.nr).map(|(k, _)| k.clone());
            let Some(name) = name else { continue };
            let Some(&ia32) = n32.get(&name).or_else(|| n32.get(&format!("{name}32"))) else { continue };
            // clone*/fork: from the scheduler tracepoints; mmap: ia32's takes a struct (old_mmap)
            // or page offsets (mmap2), left out.
            let skipped = ["clone", "fork", "vfork", "clone3", "mmap"];
            if skipped.contains(&name.as_str()) {
                continue;
            }
            assert_eq!(to_x86_64(ia32), Some(sys.nr as u16), "{name}: ia32 {ia32} is not translated");
        }
    }
}
