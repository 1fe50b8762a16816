//! The attack matrix's expectations and checks, shared by the guest tests of each kernel
//! (lsm_vm.rs: 6.1; lsm_vm_6_12.rs: 6.12).


use std::path::PathBuf;
use std::time::Duration;

use crate::guest::{self, Line};

/// Boot timeout of the guest.
pub(crate) const BOOT_TIMEOUT: Duration = Duration::from_secs(170);

/// The host's dynamically linked dash and true with their loader and libc, for the guest's
/// image (main.rs copies /dyn/* into the lower layer): the ld.so trick and "dynamic programs
/// still run" need a real glibc loader, which busybox-static does not have.
pub(crate) fn dynamic_files() -> Vec<(PathBuf, String)> {
    let real = |p: &str| std::fs::canonicalize(p).unwrap_or_else(|e| panic!("{p} (the host's dash, true and glibc): {e}"));
    vec![
        (real("/bin/dash"), "/dyn/dash".into()),
        (real("/bin/true"), "/dyn/true".into()),
        (real("/lib64/ld-linux-x86-64.so.2"), "/dyn/ld.so".into()),
        (real("/lib/x86_64-linux-gnu/libc.so.6"), "/dyn/libc.so.6".into()),
    ]
}

/// The guest kernel: the matrix differs where the kernel does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// Debian bookworm's 6.1 cloud kernel (the reference).
    V6_1,
    /// bookworm's 6.12 cloud kernel (bookworm-security): inode_setattr with an idmap (the second layout),
    /// the POSIX ACL hooks (21 programs), and overlayfs mappings held by backing files (below).
    V6_12,
}

/// A case's expected fields: (field, value); `result` is the operation's outcome.
type Fields = Vec<(&'static str, &'static str)>;

/// Case outcomes: (phase, case, fields).
fn expected_cases(kernel: Kernel) -> Vec<(&'static str, &'static str, Fields)> {
    let denied = |extra: &[(&'static str, &'static str)]| {
        let mut v = vec![("result", "errno=1")];
        v.extend_from_slice(extra);
        v
    };
    let ok = |extra: &[(&'static str, &'static str)]| {
        let mut v = vec![("result", "ok")];
        v.extend_from_slice(extra);
        v
    };
    let mut e = vec![
        ("enforce", "exec_busybox", ok(&[])),
        ("enforce", "exec_shell", denied(&[])),
        ("enforce", "exec_image_hardlink", denied(&[])),
        ("enforce", "exec_runtime_hardlink", vec![("link", "errno=1"), ("result", "errno=2")]),
        ("enforce", "exec_renamed", vec![("rename", "errno=1"), ("result", "errno=2")]),
        ("enforce", "exec_copy_tmp", denied(&[("copy", "ok")])),
        ("enforce", "exec_copy_rootfs", denied(&[("copy", "ok")])),
        ("enforce", "exec_copy_run", denied(&[("copy", "ok")])),
        ("enforce", "exec_copy_bind", denied(&[("copy", "ok")])),
        ("enforce", "exec_ro_volume", ok(&[])),
        ("enforce", "exec_allowed_wx", ok(&[("copy", "ok")])),
        ("enforce", "exec_wx_symlink", denied(&[("link", "ok")])),
        ("enforce", "exec_dynamic", ok(&[])),
        ("enforce", "exec_script", denied(&[])),
        ("enforce", "exec_package_manager", denied(&[])),
        ("enforce", "exec_denied", denied(&[])),
        ("enforce", "open_write", denied(&[("content", "unchanged")])),
        ("enforce", "create", denied(&[("exists", "false")])),
        ("enforce", "unlink", denied(&[("exists", "true")])),
        ("enforce", "rename", denied(&[("exists", "true")])),
        ("enforce", "truncate", denied(&[("content", "unchanged")])),
        ("enforce", "chmod", denied(&[])),
        ("enforce", "chown", denied(&[])),
        ("enforce", "link", denied(&[("exists", "false")])),
        ("enforce", "symlink", denied(&[("exists", "false")])),
        ("enforce", "mkdir", denied(&[("exists", "false")])),
        ("enforce", "rmdir", denied(&[("exists", "true")])),
        ("enforce", "mount", denied(&[])),
        ("enforce", "mount_api", denied(&[("prep", "ok")])),
        ("enforce", "allow_write_create", ok(&[("exists", "true")])),
        ("enforce", "allow_write_mkdir", ok(&[])),
        ("enforce", "allow_write_near_miss", denied(&[("exists", "false")])),
        ("enforce", "volume_write", ok(&[])),
        ("enforce", "mmap_image", ok(&[])),
        ("enforce", "mmap_shell", denied(&[])),
        ("enforce", "mmap_copy", denied(&[])),
        ("enforce", "mmap_read_implies_exec", denied(&[])),
        ("enforce", "mmap_memfd", denied(&[])),
        ("enforce", "exec_memfd", denied(&[])),
        // 6.12 (overlayfs backing files, 6.6+): the mapping holds the layer's file, whose identity
        // is not the overlay's; the image's (lower) layer is read-only: not W^X's either.
        ("enforce", "mprotect_shell", if kernel == Kernel::V6_1 { denied(&[]) } else { ok(&[]) }),
        ("enforce", "mprotect_copy", denied(&[])),
        // The loader starts, cannot map the shell and gives up: the payload never runs.
        ("enforce", "ldso_shell", ok(&[("status", "127"), ("ran", "false")])),
        ("enforce", "ldso_copy", ok(&[("status", "127"), ("ran", "false"), ("copy", "ok")])),
        ("enforce", "utimes", denied(&[("mtime_set", "false")])),
        ("enforce", "utimes_allowed", ok(&[("mtime_set", "true")])),
        ("enforce", "setxattr", denied(&[("value", "orig")])),
        ("enforce", "removexattr", denied(&[("value", "orig")])),
        ("enforce", "setacl", denied(&[])),
        ("enforce", "removeacl", denied(&[])),
        ("enforce", "open_trunc", denied(&[("content", "unchanged")])),
        ("enforce", "open_rdonly_trunc", denied(&[("content", "unchanged")])),
        ("runtime-ns", "exec_copy_tmp", ok(&[("copy", "ok")])),
        ("runtime-ns", "mmap_copy", ok(&[])),
        ("runtime-ns", "exec_package_manager", denied(&[])),
        ("only-image", "exec_copy_tmp", denied(&[("copy", "ok")])),
        ("only-image", "exec_copy_rootfs", denied(&[("copy", "ok")])),
        ("only-image", "exec_ro_volume", denied(&[])),
        ("only-image", "mmap_copy", ok(&[])),
        ("evicted", "exec_renamed_again", denied(&[])),
        ("evicted", "exec_shell", denied(&[])),
        ("host", "exec_shell", ok(&[])),
        ("host", "exec_copy_tmp", ok(&[("copy", "ok")])),
        ("host", "host_write", ok(&[("content", "changed(9b)")])),
        ("host", "create", ok(&[("exists", "true")])),
        ("host", "mount", ok(&[])),
        ("host", "mount_api", ok(&[("prep", "ok")])),
        ("disarmed", "exec_shell", ok(&[])),
        ("disarmed", "create", ok(&[("exists", "true")])),
        ("pinned", "exec_shell", denied(&[])),
        ("pinned", "pinned_write", denied(&[("content", "unchanged")])),
        ("unpinned", "exec_shell", ok(&[])),
        ("unpinned", "pinned_write", ok(&[("content", "changed(9b)")])),
    ];
    // Audit: everything the enforce phase denied happens.
    let audit_side_effects: [(&str, &[(&str, &str)]); 19] = [
        ("exec_runtime_hardlink", &[("link", "ok")]),
        ("exec_renamed", &[("rename", "ok")]),
        ("open_write", &[("content", "changed(9b)")]),
        ("create", &[("exists", "true")]),
        ("unlink", &[("exists", "false")]),
        ("rename", &[("exists", "false")]),
        ("truncate", &[("content", "changed(0b)")]),
        ("rmdir", &[("exists", "false")]),
        ("allow_write_near_miss", &[("exists", "true")]),
        ("mount_api", &[("prep", "ok")]),
        ("exec_copy_tmp", &[("copy", "ok")]),
        ("exec_copy_rootfs", &[("copy", "ok")]),
        ("exec_copy_run", &[("copy", "ok")]),
        ("exec_copy_bind", &[("copy", "ok")]),
        ("exec_allowed_wx", &[("copy", "ok")]),
        ("exec_wx_symlink", &[("link", "ok")]),
        ("utimes_allowed", &[("mtime_set", "true")]),
        ("open_trunc", &[("content", "changed(0b)")]),
        ("open_rdonly_trunc", &[("content", "changed(0b)")]),
    ];
    // Audit cases whose whole outcome differs from a plain "ok".
    let audit_outcomes: [(&str, Fields); 5] = [
        ("ldso_shell", vec![("result", "ok"), ("status", "0"), ("ran", "true")]),
        ("ldso_copy", vec![("result", "ok"), ("status", "0"), ("ran", "true"), ("copy", "ok")]),
        ("utimes", vec![("result", "ok"), ("mtime_set", "true")]),
        ("setxattr", vec![("result", "ok"), ("value", "pwned")]),
        ("removexattr", vec![("result", "ok"), ("value", "none")]),
    ];
    let enforce_names: Vec<&'static str> = e.iter().filter(|c| c.0 == "enforce").map(|c| c.1).collect();
    for name in enforce_names {
        if let Some((_, fields)) = audit_outcomes.iter().find(|(n, _)| *n == name) {
            e.push(("audit", name, fields.clone()));
            continue;
        }
        let extra = audit_side_effects.iter().find(|(n, _)| *n == name).map_or(&[][..], |(_, x)| *x);
        e.push(("audit", name, ok(extra)));
    }
    // Mount denial gated on the init's exec: the runtime's mounts before it pass, even after
    // another process of the cgroup exec'd; the entrypoint's are denied (enforce) or reported.
    for (phase, after) in [("gate-enforce", "errno=1"), ("gate-audit", "ok")] {
        e.push((phase, "before_exec_mount", ok(&[])));
        e.push((phase, "before_exec_mount_api", ok(&[("prep", "ok")])));
        e.push((phase, "other_exec", ok(&[])));
        e.push((phase, "after_other_exec_mount", ok(&[])));
        e.push((phase, "mount", vec![("result", after)]));
        e.push((phase, "mount_api", vec![("result", after), ("prep", "ok")]));
    }
    e
}

/// Decisions of a phase, exactly (order-insensitive): (action, reason, path).
fn expected_decisions(phase: &str, kernel: Kernel) -> Vec<(&'static str, &'static str, String)> {
    let common = |p: &str| {
        vec![
            ("exec", "shell", "/bin/sh".to_owned()),
            ("exec", "shell", "/usr/bin/sh-hardlink".to_owned()),
            ("link", "shell", "/bin/sh".to_owned()),
            ("exec", "writable_exec", format!("/tmp/sh-copy-{p}")),
            ("exec", "writable_exec", format!("/var/cache/app/sh-copy-{p}")),
            ("exec", "writable_exec", format!("/run/sh-copy-{p}")),
            ("exec", "writable_exec", format!("/data/sh-copy-{p}")),
            ("mmap", "shell", "/bin/sh".to_owned()),
            ("mmap", "writable_exec", format!("/tmp/sh-copy-{p}")),
            ("mmap", "writable_exec", "/memfd:palisade".to_owned()),
            ("exec", "writable_exec", format!("/tmp/sh-copy-{p}")), // through the symlink
            ("mmap", "exec_denied", "/bin/denied".to_owned()),     // READ_IMPLIES_EXEC
            ("exec", "writable_exec", "/memfd:palisade-exec".to_owned()),
            ("mprotect", "shell", "/bin/sh".to_owned()),
            ("mprotect", "writable_exec", format!("/tmp/sh-copy-{p}")),
            ("mmap", "shell", "/bin/dash".to_owned()),
            ("mmap", "writable_exec", format!("/tmp/dash-copy-{p}")),
            ("utimes", "immutable", "/etc/f-times".to_owned()),
            ("setxattr", "immutable", "/etc/f-xattr".to_owned()),
            ("removexattr", "immutable", "/etc/f-xattr".to_owned()),
            // POSIX ACLs: xattrs on 6.1.
            ("setxattr", "immutable", "/etc/f-acl".to_owned()),
            ("removexattr", "immutable", "/etc/f-acl".to_owned()),
            ("open_write", "immutable", "/etc/f-otrunc".to_owned()),
            ("truncate", "immutable", "/etc/f-rotrunc".to_owned()),
            ("exec", "shell", "/bin/sh".to_owned()), // the #!/bin/sh script's interpreter
            ("exec", "package_manager", "/bin/apt-get".to_owned()),
            ("exec", "exec_denied", "/bin/denied".to_owned()),
            ("open_write", "immutable", "/etc/f-write".to_owned()),
            ("create", "immutable", format!("/etc/f-new-{p}")),
            ("unlink", "immutable", "/etc/f-unlink".to_owned()),
            ("rename", "immutable", "/etc/f-rename".to_owned()),
            ("truncate", "immutable", "/etc/f-trunc".to_owned()),
            ("chmod", "immutable", "/etc/f-chmod".to_owned()),
            ("chown", "immutable", "/etc/f-chown".to_owned()),
            ("link", "immutable", format!("/etc/f-link2-{p}")),
            ("symlink", "immutable", format!("/etc/l-new-{p}")),
            ("mkdir", "immutable", format!("/etc/d-new-{p}")),
            ("rmdir", "immutable", "/etc/d-rmdir".to_owned()),
            ("mount", "immutable", "/mnt".to_owned()),
            ("mount", "immutable", "/mnt".to_owned()), // move_mount
            ("create", "immutable", format!("/var/cache/appx-{p}")),
        ]
    };
    // 6.12: the mprotect of /bin/sh (a backing file) is no identity decision; in audit, where
    // /bin/sh was copied up by then, the upper layer's file is a writable place.
    let backing_files = |d: &mut Vec<(&'static str, &'static str, String)>, replacement| {
        if kernel == Kernel::V6_12 {
            d.retain(|w| (w.0, w.1) != ("mprotect", "shell"));
            d.extend(replacement);
        }
    };
    match phase {
        "enforce" => {
            let mut d = common("enforce");
            backing_files(&mut d, None);
            d.push(("rename", "immutable", "/usr/bin/sh-hardlink".to_owned()));
            d
        }
        "audit" => {
            let mut d = common("audit");
            backing_files(&mut d, Some(("mprotect", "writable_exec", "/bin/sh".to_owned())));
            // Allowed to proceed, audit sees what follows: the link is made and run, renamed
            // (inside the allowed prefix: no decision) and run. One decision per operation:
            // a created file's open is not judged again, nor a rename's second end, nor the
            // kernel mapping the program it exec'd.
            d.push(("exec", "shell", "/var/cache/app/sh-link-audit".to_owned()));
            d.push(("exec", "shell", "/var/cache/app/renamed-audit".to_owned()));
            d
        }
        // The audit phase copied /bin/sh up through a hard link; after eviction overlayfs gives
        // it the upper inode's number (lower nlink > 1): W^X still denies it (upper layer).
        "evicted" => vec![
            ("exec", "writable_exec", "/var/cache/app/renamed-audit".to_owned()),
            ("exec", "writable_exec", "/bin/sh".to_owned()),
        ],
        // exec_only_image: programs not of the image, read-only volume included; exec only.
        "only-image" => vec![
            ("exec", "not_from_image", "/tmp/sh-copy-only-image".to_owned()),
            ("exec", "not_from_image", "/var/cache/app/sh-copy-only-image".to_owned()),
            ("exec", "not_from_image", "/ro/tool".to_owned()),
        ],
        // The runtime's mount namespace: W^X skips it, identities do not (/bin/sh lost its
        // identity in the audit phase's copy-up; the package manager did not).
        "runtime-ns" => vec![("exec", "package_manager", "/bin/apt-get".to_owned())],
        "pinned" => vec![
            ("exec", "writable_exec", "/bin/sh".to_owned()),
            ("open_write", "immutable", "/etc/f-pinned".to_owned()),
        ],
        // Only the exec'd entrypoint's mount(2) and move_mount(2).
        "gate-enforce" | "gate-audit" => vec![("mount", "immutable", "/mnt".to_owned()), ("mount", "immutable", "/mnt".to_owned())],
        _ => vec![],
    }
}

fn one<'a>(lines: &'a [Line], kind: &str) -> &'a Line {
    let found: Vec<&Line> = lines.iter().filter(|l| l.kind == kind).collect();
    assert_eq!(found.len(), 1, "exactly one `LSMVM {kind}` line, got {found:?}");
    found[0]
}

/// Boots the guest (work folder `name`; kernel from `$PALISADE_LSM_VM_CACHE`, see guest.rs),
/// which runs `kernel`, and asserts the whole matrix.
pub(crate) fn run(name: &str, kernel: Kernel) {
    let options = guest::Options { name, append: "", timeout: BOOT_TIMEOUT, release: false, icount: false, extra: dynamic_files() };
    let Some(boot) = guest::boot(&options) else { return };
    let programs = match kernel {
        Kernel::V6_1 => "19",
        Kernel::V6_12 => "21",
    };
    let (lines, console, log) = (&boot.lines, &boot.console, boot.log.display());
    assert!(lines.iter().any(|l| l.kind == "probe"), "probe line missing");
    for step in ["run", "pinned"] {
        guest::step_ok(&boot, step);
    }

    // Loading attaches each hook once; the second process reuses the pins; unpinning detaches.
    let load = one(lines, "load");
    assert_eq!((load.get("reused"), load.get("programs")), ("false", programs));
    let reload = one(lines, "reload");
    assert_eq!((reload.get("reused"), reload.get("programs")), ("true", programs), "pins reused, nothing attached twice");
    let unpinned = one(lines, "unpinned");
    assert_eq!((unpinned.get("programs"), unpinned.get("pins_left")), ("0", "false"));
    assert!(console.contains("LSMVM drops=0"), "ring buffer dropped decisions");

    // Every case's outcome.
    let mut failures = Vec::new();
    for (phase, name, want) in expected_cases(kernel) {
        let Some(case) = lines.iter().find(|l| l.kind == "case" && l.get("phase") == phase && l.get("name") == name) else {
            failures.push(format!("{phase}/{name}: no output"));
            continue;
        };
        for (key, value) in want {
            if case.get(key) != value {
                failures.push(format!("{phase}/{name}: {key}={} (want {value})", case.get(key)));
            }
        }
    }

    // Every decision: exactly the expected ones per phase, with the phase's enforcement.
    let setup = one(lines, "setup");
    let cgroups = one(lines, "cgroups");
    let gate_cgroup = |phase: &str| {
        let armed = lines.iter().find(|l| l.kind == "gate-armed" && l.get("phase") == phase);
        armed.unwrap_or_else(|| panic!("no gate-armed line for {phase}")).get("cgroup")
    };
    for phase in ["enforce", "audit", "evicted", "runtime-ns", "only-image", "host", "disarmed", "pinned", "gate-enforce", "gate-audit"] {
        let got: Vec<&Line> = lines.iter().filter(|l| l.kind == "decision" && l.get("phase") == phase).collect();
        let mut want = expected_decisions(phase, kernel);
        let (enforced, errno, cgroup) = match phase {
            "audit" => ("0", "0", cgroups.get("audit")),
            "gate-enforce" => ("1", "1", gate_cgroup(phase)),
            "gate-audit" => ("0", "0", gate_cgroup(phase)),
            "only-image" => ("1", "1", one(lines, "only-image").get("cgroup")),
            _ => ("1", "1", cgroups.get("enforce")),
        };
        for d in &got {
            let key = (d.get("action"), d.get("reason"), d.get("path").to_owned());
            match want.iter().position(|w| (w.0, w.1, w.2.as_str()) == (key.0, key.1, key.2.as_str())) {
                Some(i) => {
                    want.remove(i);
                }
                None => failures.push(format!("{phase}: unexpected decision {:?}", d.fields)),
            }
            // The ld.so trick's decisions are the loader's: it maps dash, nothing exec'd dash.
            let comm = if d.get("path").contains("dash") { "ld-linux-x86-64" } else { "lsm-vm-check" };
            if (d.get("enforced"), d.get("errno"), d.get("cgroup"), d.get("comm")) != (enforced, errno, cgroup, comm) {
                failures.push(format!("{phase}: want enforced={enforced} errno={errno} cgroup={cgroup}: {:?}", d.fields));
            }
        }
        failures.extend(want.iter().map(|w| format!("{phase}: missing decision {w:?}")));
    }

    // Identity: the kernel's (dev, ino) of the image's shell is what stat(2) of the merged rootfs
    // gave the loader, and the rootfs superblock is the overlay's.
    let sh_exec = lines
        .iter()
        .find(|l| l.kind == "decision" && l.get("phase") == "enforce" && l.get("path") == "/bin/sh" && l.get("action") == "exec")
        .expect("exec /bin/sh decision");
    assert_eq!((sh_exec.get("exe_dev"), sh_exec.get("exe_ino")), (setup.get("sh_dev"), setup.get("sh_ino")), "kernel identity = stat identity");
    assert_eq!(setup.get("rootfs_dev"), setup.get("sh_dev"));
    let evicted = lines.iter().find(|l| l.kind == "decision" && l.get("phase") == "evicted").expect("evicted decision");
    assert_ne!(evicted.get("exe_ino"), setup.get("sh_ino"), "a copied-up multiply-linked file changes inode number");

    assert!(failures.is_empty(), "{} mismatches:\n{}\nconsole in {log}", failures.len(), failures.join("\n"));
}
