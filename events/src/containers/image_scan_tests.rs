use std::os::unix::fs::{symlink, PermissionsExt};

use super::*;
use palisade_profiles::ProfileSet;

fn profile(yaml: &str) -> Profile {
    let set = ProfileSet::from_texts(&[("p.yaml", yaml)]).expect("profile");
    set.get("p").expect("named p").clone()
}

fn hardened() -> Profile {
    profile("name: p\nmatch: {images: ['x:*']}\ndeny_shells: true\ndeny_package_managers: true\nexec: {deny: ['/usr/bin/curl']}\n")
}

/// Writes an executable file (`mode` 0755) or a plain one.
fn put(root: &Path, path: &str, bytes: &[u8], executable: bool) {
    let host = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(host.parent().expect("parent")).expect("mkdir");
    std::fs::write(&host, bytes).expect("write");
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(&host, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn paths(scan: &ImageScan) -> Vec<&str> {
    scan.denied.iter().map(|d| d.path.to_str().expect("utf-8")).collect()
}

fn found(scan: &ImageScan, path: &str) -> Found {
    scan.denied.iter().find(|d| d.path == Path::new(path)).map(|d| d.found.clone()).expect(path)
}

#[test]
fn shells_are_found_anywhere_in_the_image_with_their_hard_links_and_copies() {
    let root = tempfile::tempdir().expect("tmp");
    let r = root.path();
    put(r, "/bin/sh", b"\x7fELF dash", true);
    put(r, "/opt/tools/bash", b"\x7fELF bash 5.2", true);
    put(r, "/usr/bin/apt-get", b"\x7fELF apt", true);
    put(r, "/usr/bin/curl", b"\x7fELF curl", true);
    std::fs::create_dir_all(r.join("usr/lib/x")).expect("mkdir");
    std::fs::hard_link(r.join("bin/sh"), r.join("usr/lib/x/sh2")).expect("hard link");
    // A copy of bash under another name, one of the same size but other bytes, and a copy
    // that is not executable (it cannot be run as a program).
    put(r, "/usr/local/lib/helper", b"\x7fELF bash 5.2", true);
    put(r, "/usr/local/lib/other", b"\x7fELF bosh 5.2", true);
    put(r, "/usr/share/doc/bash.bin", b"\x7fELF bash 5.2", false);
    put(r, "/usr/bin/app", b"\x7fELF app", true);
    let scan = scan(r, &hardened(), MAX_ENTRIES).expect("scan");
    assert_eq!(
        paths(&scan),
        ["/bin/sh", "/opt/tools/bash", "/usr/bin/apt-get", "/usr/bin/curl", "/usr/lib/x/sh2", "/usr/local/lib/helper"]
    );
    assert_eq!(found(&scan, "/usr/lib/x/sh2"), Found::HardLink("/bin/sh".into()));
    assert_eq!(found(&scan, "/usr/local/lib/helper"), Found::Copy("/opt/tools/bash".into()));
    assert_eq!(found(&scan, "/opt/tools/bash"), Found::Name);
    let kinds: Vec<DenyKind> = scan.denied.iter().map(|d| d.kind).collect();
    use DenyKind::*;
    assert_eq!(kinds, [Shell, Shell, PackageManager, Denied, Shell, Shell]);
    // /bin/sh and /usr/lib/x/sh2 are one file: one identity.
    assert_eq!(scan.identities().len(), 5, "{:?}", scan.identities());
    assert_eq!(scan.compared, 3, "only same-size executables are read");
}

#[test]
fn busybox_applet_links_resolve_to_the_one_file() {
    let root = tempfile::tempdir().expect("tmp");
    let r = root.path();
    put(r, "/bin/busybox", b"\x7fELF busybox", true);
    symlink("busybox", r.join("bin/sh")).expect("relative link");
    symlink("/bin/busybox", r.join("bin/ash")).expect("absolute link, inside the rootfs");
    symlink("/bin/busybox", r.join("bin/ls")).expect("an applet that is no shell");
    let scan = scan(r, &hardened(), MAX_ENTRIES).expect("scan");
    assert_eq!(paths(&scan), ["/bin/busybox"]);
    assert_eq!(scan.identities().len(), 1);
}

#[test]
fn a_link_named_like_a_shell_denies_its_target_inside_the_rootfs() {
    let root = tempfile::tempdir().expect("tmp");
    let r = root.path();
    put(r, "/usr/libexec/interp", b"\x7fELF interp", true);
    std::fs::create_dir_all(r.join("bin")).expect("mkdir");
    symlink("/usr/libexec/interp", r.join("bin/zsh")).expect("link");
    let scan = scan(r, &hardened(), MAX_ENTRIES).expect("scan");
    assert_eq!(paths(&scan), ["/usr/libexec/interp"]);
    assert_eq!(found(&scan, "/usr/libexec/interp"), Found::Link("/bin/zsh".into()));
}

#[test]
fn absolute_links_never_reach_the_host() {
    // A host directory full of shells, and an image whose links point at it by absolute path.
    let host = tempfile::tempdir().expect("host");
    put(host.path(), "/bin/bash", b"\x7fELF host bash", true);
    let root = tempfile::tempdir().expect("tmp");
    let r = root.path();
    std::fs::create_dir_all(r.join("bin")).expect("mkdir");
    symlink(host.path().join("bin/bash"), r.join("bin/bash")).expect("link to a host file");
    symlink(host.path().join("bin"), r.join("hostbin")).expect("link to a host directory");
    let scan = scan(r, &hardened(), MAX_ENTRIES).expect("scan");
    assert_eq!(paths(&scan), Vec::<&str>::new());
    assert_eq!(scan.entries, 3, "bin, bin/bash, hostbin: the links are not followed");
}

#[test]
fn the_scan_stops_at_its_limit_with_an_error() {
    let root = tempfile::tempdir().expect("tmp");
    for i in 0..5 {
        put(root.path(), &format!("/f{i}"), b"x", false);
    }
    let err = scan(root.path(), &hardened(), 4).expect_err("over the limit");
    assert_eq!(
        err.to_string(),
        format!("image scan: more than 4 entries in {} (the limit of one scan); the image was not confined", root.path().display())
    );
    assert_eq!(scan(root.path(), &hardened(), 5).expect("at the limit").entries, 5);
    let missing = root.path().join("nope");
    let err = scan(&missing, &hardened(), 4).expect_err("no rootfs");
    assert!(err.to_string().starts_with(&format!("image scan: read {}: ", missing.display())), "{err}");
}

#[test]
fn a_profile_that_denies_nothing_finds_nothing() {
    let root = tempfile::tempdir().expect("tmp");
    put(root.path(), "/bin/bash", b"\x7fELF bash", true);
    let p = profile("name: p\nmatch: {images: ['x:*']}\nimmutable: {enabled: true}\n");
    assert!(scan(root.path(), &p, MAX_ENTRIES).expect("scan").denied.is_empty());
}

/// The cost of a scan at container start. A synthetic image of 60,000 files (3,000
/// directories of 20 files, executables among them, one bash and two copies of it), or the
/// tree at `PALISADE_BENCH_IMAGE`. Prints entries, time and entries per second.
#[test]
#[ignore = "benchmark: cargo test -p palisade-events --lib image_scan::tests::bench -- --ignored --nocapture"]
fn bench() {
    let synthetic = tempfile::tempdir().expect("tmp");
    let root = match std::env::var_os("PALISADE_BENCH_IMAGE") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let r = synthetic.path();
            for d in 0..3_000 {
                for f in 0..20 {
                    let bytes = format!("\x7fELF file {d} {f} {}", "x".repeat(f * 64));
                    put(r, &format!("/usr/lib/pkg{d}/f{f}"), bytes.as_bytes(), f % 4 == 0);
                }
            }
            put(r, "/bin/bash", &[7u8; 1_200_000], true);
            put(r, "/opt/a/b/c", &[7u8; 1_200_000], true);
            put(r, "/opt/a/b/d", &[7u8; 1_200_000], true);
            r.to_owned()
        }
    };
    let p = hardened();
    for run in 0..3 {
        let t = std::time::Instant::now();
        let s = scan(&root, &p, MAX_ENTRIES).expect("scan");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "image-scan run {run}: {} entries, {} denied paths, {} compared, {:.1} ms, {:.0} entries/s",
            s.entries,
            s.denied.len(),
            s.compared,
            secs * 1e3,
            s.entries as f64 / secs
        );
    }
}
