//! `palisade profiles check|match` on the shipped profiles and on a broken file.

use std::path::PathBuf;
use std::process::Command;

fn palisade(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade")).args(args).output().expect("run palisade");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn shipped() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../profiles/default").display().to_string()
}

#[test]
fn shipped_profiles_check_clean_and_match_by_image() {
    let (code, stdout, stderr) = palisade(&["profiles", "check", &shipped()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.ends_with("5 profiles: 0 errors\n"), "{stdout}");
    let (code, stdout, _) = palisade(&["profiles", "match", "-p", &shipped(), "docker.io/library/nginx:1.25"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("nginx\timage pattern \"nginx:*\" at "), "{stdout}");
    let (_, stdout, _) = palisade(&["profiles", "match", "-p", &shipped(), "quay.io/team/app:1"]);
    assert!(stdout.starts_with("default\tnothing else matched"), "{stdout}");
}

#[test]
fn broken_profile_is_rejected_with_positions() {
    let dir = std::env::temp_dir().join(format!("palisade-profiles-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("web.yaml");
    std::fs::write(&file, "name: web\nmatch:\n  images: [\"nginx:*\"]\nmode: block\nexec:\n  deny: [curl]\n").expect("write");
    let (code, stdout, stderr) = palisade(&["profiles", "check", &dir.display().to_string()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1, "{stdout}");
    let f = file.display();
    assert!(stderr.contains(&format!("{f}:4:7: mode: unknown mode \"block\"")), "{stderr}");
    assert!(stderr.contains(&format!("{f}:6:10: exec.deny[0]:")) && stderr.contains("(profile 'web')"), "{stderr}");
    assert!(stderr.ends_with("2 errors\n"), "{stderr}");
}
