//! Cases for W^X, identities through mappings, and the inode hooks (times, xattrs). Each
//! returns the text after `result=` of its `LSMVM case` line (see cases.rs).
//!
//! Mappings are made the way the dynamic loader makes them: open the file read-only, mmap it
//! `PROT_READ | PROT_EXEC` (or `PROT_READ`, then mprotect to add `PROT_EXEC`). The loader
//! itself runs too (`ld.so <program>`), from the image's own glibc (the host's, copied in).

use std::ffi::CString;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

use nix::libc;

/// The image's dynamic loader (copied from the host by build_rootfs).
pub(crate) const LDSO: &str = "/lib64/ld-linux-x86-64.so.2";
/// The xattr the image's `/etc/f-xattr` carries (set on the lower layer at setup).
pub(crate) const XATTR: &str = "trusted.palisade";
/// Its value.
pub(crate) const XATTR_VALUE: &str = "orig";
/// The image file for the times case.
pub(crate) const TIMES_FILE: &str = "/etc/f-times";

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// What mapping `len` bytes of `fd` did: `ok`, or `errno=N`.
#[expect(unsafe_code, reason = "mmap/mprotect/munmap have no safe wrapper in nix 0.29's enabled features")]
fn map(fd: libc::c_int, prot: libc::c_int, then_exec: bool) -> String {
    // SAFETY: a fresh private mapping of an open descriptor, never dereferenced, unmapped
    // before returning; mprotect only on that mapping.
    unsafe {
        let addr = libc::mmap(std::ptr::null_mut(), 4096, prot, libc::MAP_PRIVATE, fd, 0);
        if addr == libc::MAP_FAILED {
            return format!("errno={}", errno());
        }
        let mut out = "ok".to_owned();
        if then_exec && libc::mprotect(addr, 4096, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            out = format!("errno={}", errno());
        }
        libc::munmap(addr, 4096);
        out
    }
}

/// mmap(PROT_READ | PROT_EXEC) of `path`.
pub(crate) fn mmap_exec(path: &str) -> String {
    match fs::File::open(path) {
        Ok(f) => map(f.as_raw_fd(), libc::PROT_READ | libc::PROT_EXEC, false),
        Err(e) => format!("open_error={}", e.raw_os_error().unwrap_or(0)),
    }
}

/// mmap(PROT_READ) of `path` under the READ_IMPLIES_EXEC personality, which makes the kernel
/// map it executable: the hook sees the effective protection. The personality is restored.
#[expect(unsafe_code, reason = "personality through libc")]
pub(crate) fn mmap_read_implies_exec(path: &str) -> String {
    const READ_IMPLIES_EXEC: libc::c_ulong = 0x0400000;
    // SAFETY: personality(0xffffffff) only queries; the second call sets a flag on this process.
    let old = unsafe { libc::personality(0xffff_ffff) };
    // SAFETY: as above.
    if unsafe { libc::personality(old as libc::c_ulong | READ_IMPLIES_EXEC) } < 0 {
        return format!("personality_errno={}", errno());
    }
    let out = match fs::File::open(path) {
        Ok(f) => map(f.as_raw_fd(), libc::PROT_READ, false),
        Err(e) => format!("open_error={}", e.raw_os_error().unwrap_or(0)),
    };
    // SAFETY: restores the queried personality.
    unsafe { libc::personality(old as libc::c_ulong) };
    out
}

/// mmap(PROT_READ) of `path`, then mprotect adding PROT_EXEC; `map=` tells the first step.
pub(crate) fn mprotect_exec(path: &str) -> String {
    match fs::File::open(path) {
        Ok(f) => map(f.as_raw_fd(), libc::PROT_READ, true),
        Err(e) => format!("open_error={}", e.raw_os_error().unwrap_or(0)),
    }
}

/// A memfd holding busybox, mapped PROT_EXEC: fileless code, on the kernel's internal tmpfs.
#[expect(unsafe_code, reason = "memfd_create through libc")]
pub(crate) fn mmap_memfd() -> String {
    let Ok(name) = CString::new("palisade") else { return "error=nul".into() };
    // SAFETY: memfd_create with a NUL-terminated name; the descriptor is owned below.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), 0) };
    if fd < 0 {
        return format!("memfd_errno={}", errno());
    }
    // SAFETY: fd was just returned by memfd_create and is not owned elsewhere.
    let file = unsafe { <fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let code = fs::read("/bin/busybox").unwrap_or_default();
    if std::io::Write::write_all(&mut &file, &code).is_err() {
        return "write_error".into();
    }
    map(file.as_raw_fd(), libc::PROT_READ | libc::PROT_EXEC, false)
}

/// A memfd holding busybox, exec'd with execveat(AT_EMPTY_PATH) as `true`: fileless exec
/// (the chroot has no /proc for fexecve's fallback). The child exits 0 when busybox ran,
/// 100 + errno when execveat failed.
#[expect(unsafe_code, reason = "memfd_create, fork and execveat through libc")]
pub(crate) fn exec_memfd() -> String {
    let (Ok(name), Ok(empty), Ok(arg0)) = (CString::new("palisade-exec"), CString::new(""), CString::new("true")) else {
        return "error=nul".into();
    };
    // SAFETY: memfd_create with a NUL-terminated name; the descriptor is owned below.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), 0) };
    if fd < 0 {
        return format!("memfd_errno={}", errno());
    }
    // SAFETY: fd was just returned by memfd_create and is not owned elsewhere.
    let file = unsafe { <fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let code = fs::read("/bin/busybox").unwrap_or_default();
    if std::io::Write::write_all(&mut &file, &code).is_err() {
        return "write_error".into();
    }
    let argv = [arg0.as_ptr(), std::ptr::null()];
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: this process is single-threaded; the child only calls execveat and _exit on
    // memory prepared before the fork.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            libc::syscall(libc::SYS_execveat, fd, empty.as_ptr(), argv.as_ptr(), envp.as_ptr(), libc::AT_EMPTY_PATH);
            libc::_exit(100 + *libc::__errno_location());
        }
        if pid < 0 {
            return format!("fork_errno={}", errno());
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        match libc::WEXITSTATUS(status) {
            0 => "ok".into(),
            n if n > 100 => format!("errno={}", n - 100),
            n => format!("exit={n}"),
        }
    }
}

/// `ld.so <program> -c 'echo ran'`: the loader maps the program without exec'ing it.
/// `status=` is its exit code (127: the loader failed), `ran=` whether the payload printed.
pub(crate) fn ldso_run(program: &str) -> String {
    // stdin inherited: output() would open /dev/null, which the chroot does not have.
    match Command::new(LDSO).args([program, "-c", "echo ran"]).stdin(Stdio::inherit()).output() {
        Ok(out) => {
            let ran = String::from_utf8_lossy(&out.stdout).contains("ran");
            format!("ok status={} ran={ran}", out.status.code().unwrap_or(-1))
        }
        Err(e) => format!("errno={}", e.raw_os_error().unwrap_or(0)),
    }
}

/// utimensat of `path` to 1000000 s; `mtime_set=` whether its mtime is that afterwards.
#[expect(unsafe_code, reason = "utimensat through libc")]
pub(crate) fn utimes(path: &str) -> String {
    let Ok(c) = CString::new(path) else { return "error=nul".into() };
    let t = libc::timespec { tv_sec: 1_000_000, tv_nsec: 0 };
    let times = [t, t];
    // SAFETY: NUL-terminated path and two timespecs that outlive the call.
    let r = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0) };
    let result = if r == 0 { "ok".to_owned() } else { format!("errno={}", errno()) };
    let set = fs::metadata(path).is_ok_and(|m| m.mtime() == 1_000_000);
    format!("{result} mtime_set={set}")
}

/// The value of [`XATTR`] on `path` (`none` when absent).
#[expect(unsafe_code, reason = "getxattr through libc")]
fn xattr_value(path: &CString, name: &CString) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: NUL-terminated strings, a buffer of the given length.
    let n = unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return "none".into();
    }
    String::from_utf8_lossy(&buf[..n as usize]).into_owned()
}

/// setxattr (value `pwned`) or, with `remove`, removexattr of [`XATTR`] on `path`; `value=`
/// after, read back.
#[expect(unsafe_code, reason = "setxattr/removexattr through libc")]
pub(crate) fn xattr(path: &str, remove: bool) -> String {
    let (Ok(p), Ok(n)) = (CString::new(path), CString::new(XATTR)) else { return "error=nul".into() };
    let value = b"pwned";
    // SAFETY: NUL-terminated strings and a value buffer of the given length.
    let r = unsafe {
        if remove {
            libc::removexattr(p.as_ptr(), n.as_ptr())
        } else {
            libc::setxattr(p.as_ptr(), n.as_ptr(), value.as_ptr().cast(), value.len(), 0)
        }
    };
    let result = if r == 0 { "ok".to_owned() } else { format!("errno={}", errno()) };
    format!("{result} value={}", xattr_value(&p, &n))
}

/// A POSIX access ACL granting user 1000 read-write (with the mask it needs): stored as an
/// ACL, not folded into the mode. Little-endian `posix_acl_xattr` (version 2, then entries
/// of tag, perm, id), entries in tag order.
fn acl_blob() -> Vec<u8> {
    const UNDEFINED: u32 = u32::MAX;
    let entries: [(u16, u16, u32); 5] = [(0x01, 6, UNDEFINED), (0x02, 6, 1000), (0x04, 4, UNDEFINED), (0x10, 6, UNDEFINED), (0x20, 4, UNDEFINED)];
    let mut blob = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in entries {
        blob.extend_from_slice(&tag.to_le_bytes());
        blob.extend_from_slice(&perm.to_le_bytes());
        blob.extend_from_slice(&id.to_le_bytes());
    }
    blob
}

/// Sets (or, with `remove`, removes) the access ACL of `path`: an xattr write up to 6.1, the
/// inode_set_acl/inode_remove_acl hooks since 6.2.
#[expect(unsafe_code, reason = "setxattr/removexattr through libc")]
pub(crate) fn acl(path: &str, remove: bool) -> String {
    let (Ok(p), Ok(n)) = (CString::new(path), CString::new("system.posix_acl_access")) else { return "error=nul".into() };
    let blob = acl_blob();
    // SAFETY: NUL-terminated strings and a value buffer of the given length.
    let r = unsafe {
        if remove {
            libc::removexattr(p.as_ptr(), n.as_ptr())
        } else {
            libc::setxattr(p.as_ptr(), n.as_ptr(), blob.as_ptr().cast(), blob.len(), 0)
        }
    };
    if r == 0 { "ok".into() } else { format!("errno={}", errno()) }
}

/// unshare(CLONE_NEWNS): the attack process gets a mount namespace of its own, as a
/// container's processes have.
#[expect(unsafe_code, reason = "unshare through libc (nix's sched feature is not enabled)")]
pub(crate) fn unshare_mount_ns() -> Result<(), String> {
    // SAFETY: unshare has no memory arguments; the process is single-threaded here.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(format!("unshare(CLONE_NEWNS): errno {}", errno()));
    }
    Ok(())
}

/// Sets [`XATTR`] on a file of the image's lower layer (setup, outside the container).
#[expect(unsafe_code, reason = "setxattr through libc")]
pub(crate) fn set_image_xattr(path: &str) -> Result<(), String> {
    let (Ok(p), Ok(n)) = (CString::new(path), CString::new(XATTR)) else { return Err("nul".into()) };
    // SAFETY: NUL-terminated strings and a value buffer of the given length.
    let r = unsafe { libc::setxattr(p.as_ptr(), n.as_ptr(), XATTR_VALUE.as_ptr().cast(), XATTR_VALUE.len(), 0) };
    if r == 0 { Ok(()) } else { Err(format!("setxattr {path}: errno {}", errno())) }
}
