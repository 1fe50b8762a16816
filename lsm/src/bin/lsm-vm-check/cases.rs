//! The attack matrix, run inside the "container" (a chroot into the overlay rootfs, in an
//! armed cgroup). Each case prints one line:
//!
//! `LSMVM case phase=<phase> name=<case> result=<ok|errno=N> [key=value ...]`
//!
//! Outcomes only; lsm/tests/lsm_vm.rs holds the expectations. Paths created at run time carry
//! the phase in their name so phases do not collide.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{chown, symlink, OpenOptionsExt, PermissionsExt};
use std::process::Command;

use crate::wx;

/// Files of the image (lower layer) the cases act on; created by the setup.
pub(crate) const IMAGE_FILES: [&str; 14] = [
    "/etc/f-write",
    "/etc/f-unlink",
    "/etc/f-rename",
    "/etc/f-trunc",
    "/etc/f-chmod",
    "/etc/f-chown",
    "/etc/f-link",
    "/etc/f-host",
    "/etc/f-pinned",
    "/etc/f-times",
    "/etc/f-xattr",
    "/etc/f-otrunc",
    "/etc/f-acl",
    "/etc/f-rotrunc",
];
/// Content of every image file.
pub(crate) const ORIGINAL: &str = "original\n";

/// Every case, in the order they run (links before renames before copies: later cases use
/// what earlier ones made when they were allowed).
pub(crate) const ALL: [&str; 51] = [
    "exec_busybox",
    "exec_shell",
    "exec_image_hardlink",
    "exec_runtime_hardlink",
    "exec_renamed",
    "exec_copy_tmp",
    "exec_copy_rootfs",
    "exec_copy_run",
    "exec_copy_bind",
    "exec_ro_volume",
    "exec_allowed_wx",
    "exec_wx_symlink",
    "exec_dynamic",
    "exec_script",
    "exec_package_manager",
    "exec_denied",
    "open_write",
    "create",
    "unlink",
    "rename",
    "truncate",
    "chmod",
    "chown",
    "link",
    "symlink",
    "mkdir",
    "rmdir",
    "mount",
    "mount_api",
    "allow_write_create",
    "allow_write_mkdir",
    "allow_write_near_miss",
    "volume_write",
    "mmap_image",
    "mmap_shell",
    "mmap_copy",
    "mmap_read_implies_exec",
    "mmap_memfd",
    "exec_memfd",
    "mprotect_shell",
    "mprotect_copy",
    "ldso_shell",
    "ldso_copy",
    "utimes",
    "utimes_allowed",
    "setxattr",
    "removexattr",
    "setacl",
    "removeacl",
    "open_trunc",
    "open_rdonly_trunc",
];

/// The W^X exception of the policies (`allow_writable_exec`): a directory of the /tmp volume.
pub(crate) const WX_ALLOWED: &str = "/tmp/wx-allowed";

fn outcome<T>(r: std::io::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => match e.raw_os_error() {
            Some(n) => format!("errno={n}"),
            None => format!("error={}", e.kind()).replace(' ', "_"),
        },
    }
}

fn nix_outcome(r: nix::Result<()>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("errno={}", e as i32),
    }
}

fn exec(path: &str, args: &[&str]) -> String {
    // Spawn errors carry the execve errno (EPERM from the LSM); a started program is "ok"
    // whatever its exit status (busybox copies under other names exit 127).
    outcome(Command::new(path).args(args).status())
}

fn exists(path: &str) -> bool {
    fs::symlink_metadata(path).is_ok()
}

fn content(path: &str) -> String {
    match fs::read_to_string(path) {
        Ok(s) if s == ORIGINAL => "unchanged".into(),
        Ok(s) => format!("changed({}b)", s.len()),
        Err(e) if e.kind() == ErrorKind::NotFound => "missing".into(),
        Err(e) => format!("unreadable({})", e.kind()).replace(' ', "_"),
    }
}

fn copy_exec(from: &str, to: &str) -> String {
    let copied = fs::copy(from, to).and_then(|_| fs::set_permissions(to, fs::Permissions::from_mode(0o755)));
    format!("{} copy={}", exec(to, &["-c", "true"]), outcome(copied))
}

fn ino(path: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).map_or_else(|_| "none".into(), |m| m.ino().to_string())
}

/// mount(2) of a tmpfs on `target` (unmounted again when it worked).
pub(crate) fn mount_tmpfs(target: &str) -> String {
    use nix::mount::{mount, umount, MsFlags};
    let r = mount(Some("tmpfs"), target, Some("tmpfs"), MsFlags::empty(), None::<&str>);
    if r.is_ok() {
        let _ = umount(target);
    }
    nix_outcome(r)
}

/// The new mount API: fsopen("tmpfs"), fsconfig(CREATE), fsmount, then move_mount onto
/// `target` (unmounted again when it worked). The outcome is move_mount's, the step the
/// kernel's `move_mount` LSM hook judges; `prep=` reports the earlier steps.
#[expect(unsafe_code, reason = "nix 0.29 has no wrappers for fsopen/fsconfig/fsmount/move_mount")]
pub(crate) fn mount_api(target: &str) -> String {
    use nix::libc;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;
    let errno = || std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let (Ok(fstype), Ok(empty), Ok(to)) =
        (std::ffi::CString::new("tmpfs"), std::ffi::CString::new(""), std::ffi::CString::new(target))
    else {
        return "error=nul".into();
    };
    // SAFETY: plain syscalls on NUL-terminated strings that outlive them and on descriptors
    // this function opened and closes.
    unsafe {
        let fs = libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), 0 as libc::c_uint);
        if fs < 0 {
            return format!("errno={} prep=fsopen", errno());
        }
        let fs = fs as libc::c_int;
        if libc::syscall(libc::SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, std::ptr::null::<libc::c_char>(), std::ptr::null::<libc::c_void>(), 0) < 0 {
            let e = errno();
            libc::close(fs);
            return format!("errno={e} prep=fsconfig");
        }
        let mnt = libc::syscall(libc::SYS_fsmount, fs, 0 as libc::c_uint, 0 as libc::c_uint);
        let e = errno();
        libc::close(fs);
        if mnt < 0 {
            return format!("errno={e} prep=fsmount");
        }
        let mnt = mnt as libc::c_int;
        let moved = libc::syscall(libc::SYS_move_mount, mnt, empty.as_ptr(), libc::AT_FDCWD, to.as_ptr(), MOVE_MOUNT_F_EMPTY_PATH);
        let e = errno();
        libc::close(mnt);
        if moved < 0 {
            return format!("errno={e} prep=ok");
        }
    }
    let _ = nix::mount::umount(target);
    "ok prep=ok".into()
}

/// Run case `name`; returns the text after `result=`.
pub(crate) fn run(name: &str, phase: &str) -> String {
    match name {
        "exec_busybox" => exec("/bin/busybox", &["true"]),
        "exec_shell" => exec("/bin/sh", &["-c", "true"]),
        "exec_image_hardlink" => exec("/usr/bin/sh-hardlink", &["-c", "true"]),
        "exec_runtime_hardlink" => {
            // A hard link made inside the container (overlayfs copies /bin/sh up first).
            let link = format!("/var/cache/app/sh-link-{phase}");
            let made = outcome(fs::hard_link("/bin/sh", &link));
            format!("{} link={made} link_ino={} sh_ino={}", exec(&link, &["-c", "true"]), ino(&link), ino("/bin/sh"))
        }
        "exec_renamed" => {
            // The image's other name for the shell, moved somewhere writable and renamed.
            let from = if phase == "enforce" { "/usr/bin/sh-hardlink".to_owned() } else { format!("/var/cache/app/sh-link-{phase}") };
            let to = format!("/var/cache/app/renamed-{phase}");
            let moved = outcome(fs::rename(&from, &to));
            format!("{} rename={moved}", exec(&to, &["-c", "true"]))
        }
        "exec_copy_tmp" => copy_exec("/bin/sh", &format!("/tmp/sh-copy-{phase}")),
        "exec_copy_rootfs" => copy_exec("/bin/sh", &format!("/var/cache/app/sh-copy-{phase}")),
        // More writable places: a tmpfs on /run, a writable bind mount on /data.
        "exec_copy_run" => copy_exec("/bin/sh", &format!("/run/sh-copy-{phase}")),
        "exec_copy_bind" => copy_exec("/bin/sh", &format!("/data/sh-copy-{phase}")),
        // A program on a read-only bind mount: not a writable place.
        "exec_ro_volume" => exec("/ro/tool", &["true"]),
        "exec_allowed_wx" => copy_exec("/bin/busybox", &format!("{WX_ALLOWED}/bb-{phase}")),
        // The exception is judged on the file's own path, not on a link's: a symlink beneath
        // the allowed prefix to the copied shell on the volume runs nothing.
        "exec_wx_symlink" => {
            let link = format!("{WX_ALLOWED}/link-{phase}");
            let made = outcome(symlink(format!("/tmp/sh-copy-{phase}"), &link));
            format!("{} link={made}", exec(&link, &["-c", "true"]))
        }
        // A dynamically linked program of the image: its loader and libc are mapped PROT_EXEC.
        "exec_dynamic" => exec("/usr/bin/dyn-true", &[]),
        "exec_script" => exec("/usr/local/bin/script.sh", &[]),
        "exec_package_manager" => exec("/bin/apt-get", &["install", "x"]),
        "exec_denied" => exec("/bin/denied", &[]),
        "open_write" => {
            let r = OpenOptions::new().write(true).open("/etc/f-write").and_then(|mut f| f.write_all(b"pwned\n"));
            format!("{} content={}", outcome(r), content("/etc/f-write"))
        }
        "create" => {
            let path = format!("/etc/f-new-{phase}");
            let r = OpenOptions::new().write(true).create_new(true).open(&path);
            format!("{} exists={}", outcome(r), exists(&path))
        }
        "unlink" => format!("{} exists={}", outcome(fs::remove_file("/etc/f-unlink")), exists("/etc/f-unlink")),
        "rename" => {
            let r = fs::rename("/etc/f-rename", format!("/etc/f-renamed-{phase}"));
            format!("{} exists={}", outcome(r), exists("/etc/f-rename"))
        }
        "truncate" => {
            let r = nix_outcome(nix::unistd::truncate("/etc/f-trunc", 0));
            format!("{r} content={}", content("/etc/f-trunc"))
        }
        "chmod" => outcome(fs::set_permissions("/etc/f-chmod", fs::Permissions::from_mode(0o600))),
        "chown" => outcome(chown("/etc/f-chown", Some(1), Some(1))),
        "link" => {
            let path = format!("/etc/f-link2-{phase}");
            format!("{} exists={}", outcome(fs::hard_link("/etc/f-link", &path)), exists(&path))
        }
        "symlink" => {
            let path = format!("/etc/l-new-{phase}");
            format!("{} exists={}", outcome(symlink("f-write", &path)), exists(&path))
        }
        "mkdir" => {
            let path = format!("/etc/d-new-{phase}");
            format!("{} exists={}", outcome(fs::create_dir(&path)), exists(&path))
        }
        "rmdir" => format!("{} exists={}", outcome(fs::remove_dir("/etc/d-rmdir")), exists("/etc/d-rmdir")),
        "mount" => mount_tmpfs("/mnt"),
        "mount_api" => mount_api("/mnt"),
        "allow_write_create" => {
            let path = format!("/var/cache/app/new-{phase}");
            let r = fs::write(&path, b"data\n");
            format!("{} exists={}", outcome(r), exists(&path))
        }
        "allow_write_mkdir" => outcome(fs::create_dir(format!("/var/cache/app/sub-{phase}"))),
        "allow_write_near_miss" => {
            // Beside the allowed prefix, not beneath it: /var/cache/appx is not /var/cache/app/.
            let path = format!("/var/cache/appx-{phase}");
            format!("{} exists={}", outcome(fs::write(&path, b"x")), exists(&path))
        }
        "volume_write" => outcome(fs::write(format!("/tmp/volume-{phase}"), b"data\n")),
        "mmap_image" => wx::mmap_exec("/bin/busybox"),
        "mmap_shell" => wx::mmap_exec("/bin/sh"),
        "mmap_copy" => wx::mmap_exec(&format!("/tmp/sh-copy-{phase}")),
        "mmap_read_implies_exec" => wx::mmap_read_implies_exec("/bin/denied"),
        "mmap_memfd" => wx::mmap_memfd(),
        "exec_memfd" => wx::exec_memfd(),
        "mprotect_shell" => wx::mprotect_exec("/bin/sh"),
        "mprotect_copy" => wx::mprotect_exec(&format!("/tmp/sh-copy-{phase}")),
        // The ld.so trick: the image's dash (a shell by identity), then a copy on the volume.
        "ldso_shell" => wx::ldso_run("/bin/dash"),
        "ldso_copy" => {
            let copy = format!("/tmp/dash-copy-{phase}");
            let copied = fs::copy("/bin/dash", &copy);
            format!("{} copy={}", wx::ldso_run(&copy), outcome(copied))
        }
        "utimes" => wx::utimes(wx::TIMES_FILE),
        "utimes_allowed" => wx::utimes(&format!("/var/cache/app/new-{phase}")),
        "setxattr" => wx::xattr("/etc/f-xattr", false),
        "removexattr" => wx::xattr("/etc/f-xattr", true),
        "setacl" => wx::acl("/etc/f-acl", false),
        "removeacl" => wx::acl("/etc/f-acl", true),
        // O_RDONLY | O_TRUNC: Linux truncates anyway.
        "open_rdonly_trunc" => {
            let r = OpenOptions::new().read(true).custom_flags(nix::libc::O_TRUNC).open("/etc/f-rotrunc");
            format!("{} content={}", outcome(r), content("/etc/f-rotrunc"))
        }
        "open_trunc" => {
            let r = OpenOptions::new().write(true).truncate(true).open("/etc/f-otrunc");
            format!("{} content={}", outcome(r), content("/etc/f-otrunc"))
        }
        "exec_renamed_again" => exec("/var/cache/app/renamed-audit", &["-c", "true"]),
        "pinned_write" => {
            let r = OpenOptions::new().write(true).open("/etc/f-pinned").and_then(|mut f| f.write_all(b"pinned\n"));
            format!("{} content={}", outcome(r), content("/etc/f-pinned"))
        }
        "host_write" => {
            let r = OpenOptions::new().write(true).open("/etc/f-host").and_then(|mut f| f.write_all(b"host\n"));
            format!("{} content={}", outcome(r), content("/etc/f-host"))
        }
        other => format!("unknown_case({other})"),
    }
}
