//! Loading, validation errors (exact `file:line:col` text), matching precedence and modes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn set(sources: &[(&str, &str)]) -> ProfileSet {
    ProfileSet::from_texts(sources).unwrap_or_else(|e| panic!("{}", messages(&e).join("\n")))
}

fn messages(errors: &[ProfileError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

fn errors(sources: &[(&str, &str)]) -> Vec<String> {
    messages(&ProfileSet::from_texts(sources).expect_err("invalid profiles"))
}

fn one_error(file: &str, text: &str) -> String {
    let e = errors(&[(file, text)]);
    assert_eq!(e.len(), 1, "{e:#?}");
    e[0].clone()
}

// ---- loading and every error kind -------------------------------------------------------

#[test]
fn full_profile_reads_every_field() {
    let s = set(&[(
        "nginx.yaml",
        "name: nginx\ndescription: web\nmatch:\n  images: [\"nginx:*\"]\n  digests: [\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"]\nmode: enforce\nimmutable:\n  enabled: true\n  allow_write: [/var/cache/nginx/, //tmp]\ndeny_shells: true\ndeny_package_managers: false\nexec:\n  deny: [/usr/bin/curl]\n  allow: []\n  allow_scripts: [/docker-entrypoint.sh]\nenforce_rules: [Terminal shell in container]\n",
    )]);
    let p = s.get("nginx").expect("nginx");
    assert_eq!(p.description, "web");
    assert_eq!(p.images[0].glob.as_str(), "docker.io/library/nginx:*");
    assert_eq!(p.digests, [DIGEST]);
    assert_eq!(p.mode, Some(Mode::Enforce));
    assert!(p.immutable.enabled);
    assert_eq!(p.immutable.allow_write, [PathBuf::from("/var/cache/nginx"), PathBuf::from("/tmp")]);
    assert!(p.deny_shells && !p.deny_package_managers);
    assert_eq!(p.exec.deny[0].as_str(), "/usr/bin/curl");
    assert!(p.exec.allow.is_empty());
    assert_eq!(p.exec.allow_scripts.len(), 1);
    assert_eq!(p.enforce_rules, ["Terminal shell in container"]);
    assert_eq!(p.origin.file, "nginx.yaml");
    assert!(!p.is_default);
}

#[test]
fn a_file_may_hold_a_list_or_several_documents() {
    let s = set(&[
        ("a.yaml", "- name: a\n  match: {images: [\"a:*\"]}\n- name: b\n  match: {images: [\"b:*\"]}\n"),
        ("c.yaml", "name: c\nmatch: {images: [\"c:*\"]}\n---\nname: d\nmatch: {images: [\"d:*\"]}\n---\n"),
        ("empty.yaml", ""),
    ]);
    let names: Vec<&str> = s.profiles().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
}

#[test]
fn the_brief_example_error() {
    let text = "name: nginx\nmatch:\n  images: [\"nginx:*\"]\nexec:\n  deny:\n    - /usr/bin/curl\n    - wget\n";
    assert_eq!(
        one_error("profiles/nginx.yaml", text),
        "profiles/nginx.yaml:7:7: exec.deny[1]: not an absolute path (profile 'nginx')"
    );
}

#[test]
fn unknown_keys_at_every_level() {
    let text = "name: x\nmatch:\n  image: [\"x:*\"]\n  images: [\"x:*\"]\ndenyshells: true\nimmutable: {enabled: true, writable: []}\nexec: {denied: []}\n";
    assert_eq!(
        errors(&[("x.yaml", text)]),
        [
            "x.yaml:3:3: match.image: unknown key (expected one of: images, digests, default) (profile 'x')",
            "x.yaml:5:1: denyshells: unknown key (expected one of: name, description, match, mode, immutable, deny_shells, deny_package_managers, exec, enforce_rules) (profile 'x')",
            "x.yaml:6:28: immutable.writable: unknown key (expected one of: enabled, allow_write, allow_writable_exec) (profile 'x')",
            "x.yaml:7:8: exec.denied: unknown key (expected one of: deny, allow, allow_scripts) (profile 'x')",
        ]
    );
}

#[test]
fn duplicate_keys() {
    let text = "name: x\nmatch: {images: [\"x:*\"]}\ndeny_shells: true\ndeny_shells: false\n";
    assert_eq!(one_error("x.yaml", text), "x.yaml:4:1: deny_shells: duplicate key (first at line 3) (profile 'x')");
}

#[test]
fn wrong_types() {
    let text = "name: x\nmatch:\n  images: \"x:*\"\n  default: yes\ndeny_shells: \"true\"\nimmutable: [a]\nexec:\n  deny: {a: b}\nenforce_rules: [[a]]\ndescription: [a]\n";
    assert_eq!(
        errors(&[("x.yaml", text)]),
        [
            "x.yaml:2:1: match: the profile matches no image (give match.images, match.digests or match.default: true) (profile 'x')",
            "x.yaml:3:11: match.images: expected a list, found a scalar (profile 'x')",
            "x.yaml:4:12: match.default: expected true or false, found \"yes\" (profile 'x')",
            "x.yaml:5:14: deny_shells: expected true or false, found \"true\" (profile 'x')",
            "x.yaml:6:12: immutable: expected a mapping, found a sequence (profile 'x')",
            "x.yaml:8:9: exec.deny: expected a list, found a mapping (profile 'x')",
            "x.yaml:9:17: enforce_rules[0]: expected a string, found a sequence (profile 'x')",
            "x.yaml:10:14: description: expected a string, found a sequence (profile 'x')",
        ]
    );
}

#[test]
fn unknown_mode() {
    let text = "name: x\nmatch: {images: [\"x:*\"]}\nmode: Enforce\n";
    assert_eq!(one_error("x.yaml", text), "x.yaml:3:7: mode: unknown mode \"Enforce\" (audit | enforce) (profile 'x')");
}

#[test]
fn bad_globs_and_paths() {
    let text = "name: x\nmatch:\n  images: [\"nginx:[0-9\", nginx, \"*\"]\nimmutable:\n  allow_write: [/var/*, /, /a/../b]\nexec:\n  deny: [\"/usr/b**\", \"/a[/]\"]\n  allow: [bin/sh]\n  allow_scripts: [\"/x\\\\\"]\n";
    assert_eq!(
        errors(&[("x.yaml", text)]),
        [
            "x.yaml:3:12: match.images[0]: bad glob 'nginx:[0-9': unterminated '[' class (profile 'x')",
            "x.yaml:3:26: match.images[1]: 'nginx' has no tag: write 'nginx:*' for every tag or 'nginx:latest' for the latest (profile 'x')",
            "x.yaml:5:17: immutable.allow_write[0]: '/var/*' is a glob; allow_write takes literal paths (writes are allowed beneath them) (profile 'x')",
            "x.yaml:5:25: immutable.allow_write[1]: '/' allows every write; use immutable.enabled: false (profile 'x')",
            "x.yaml:5:28: immutable.allow_write[2]: '/a/../b' has a '.' or '..' component (profile 'x')",
            "x.yaml:7:10: exec.deny[0]: bad glob '/usr/b**': '**' must be a whole path component (`/a/**/b`, `/a/**`) (profile 'x')",
            "x.yaml:7:22: exec.deny[1]: bad glob '/a[/]': a '[...]' class in a path cannot match '/' (profile 'x')",
            "x.yaml:8:11: exec.allow[0]: not an absolute path (profile 'x')",
            "x.yaml:9:19: exec.allow_scripts[0]: bad glob '/x\\': trailing '\\' escapes nothing (profile 'x')",
        ]
    );
}

#[test]
fn bad_digests() {
    let text = format!("name: x\nmatch:\n  digests: [\"sha256:abc\", \"{DIGEST}\", \"{DIGEST}\"]\n");
    assert_eq!(
        errors(&[("x.yaml", &text)]),
        [
            "x.yaml:3:13: match.digests[0]: 'sha256:abc' is not a sha256 digest (64 lowercase hex digits after 'sha256:') (profile 'x')",
            "x.yaml:3:102: match.digests[2]: duplicate digest (same as match.digests[1]) (profile 'x')",
        ]
    );
}

#[test]
fn names_missing_invalid_and_duplicate() {
    let e = errors(&[
        ("a.yaml", "name: web\nmatch: {images: [\"a:*\"]}\n"),
        ("b.yaml", "- match: {images: [\"b:*\"]}\n- name: \"bad name\"\n  match: {images: [\"c:*\"]}\n- name: web\n  match: {images: [\"d:*\"]}\n"),
    ]);
    assert_eq!(
        e,
        [
            "b.yaml:1:3: name: missing (every profile needs a unique name)",
            "b.yaml:2:9: name: \"bad name\" is not a profile name (letters, digits, '.', '_', '-'; 128 at most; starting with a letter or digit)",
            "b.yaml:4:9: name: duplicate profile name 'web' (first defined at a.yaml:1:7) (profile 'web')",
        ]
    );
}

#[test]
fn identical_patterns_in_two_profiles_are_ambiguous() {
    let e = errors(&[
        ("a.yaml", "name: a\nmatch:\n  images: [\"nginx:*\"]\n"),
        ("b.yaml", "name: b\nmatch:\n  images: [\"x:1\", \"docker.io/library/nginx:*\"]\n"),
    ]);
    assert_eq!(
        e,
        ["b.yaml:3:19: match.images[1]: pattern 'docker.io/library/nginx:*' is also in profile 'a' (written 'nginx:*') at a.yaml:3:12: which profile applies would be ambiguous (profile 'b')"]
    );
    let same = one_error("a.yaml", "name: a\nmatch:\n  images: [\"nginx:*\", \"docker.io/nginx:*\"]\n");
    assert_eq!(same, "a.yaml:3:23: match.images[1]: duplicate pattern (same as match.images[0]) (profile 'a')");
}

#[test]
fn identical_digests_and_two_defaults_are_ambiguous() {
    let e = errors(&[
        ("a.yaml", &format!("name: default\nmatch:\n  digests: [\"{DIGEST}\"]\n")),
        ("b.yaml", &format!("name: b\nmatch:\n  default: true\n  digests: [\"{DIGEST}\"]\n")),
    ]);
    assert_eq!(
        e,
        [
            "b.yaml:4:13: match.digests[0]: digest is also in profile 'default' at a.yaml:3:13: which profile applies would be ambiguous (profile 'b')",
            "b.yaml:3:3: match.default: a second default profile (the first is 'default' at a.yaml:1:7) (profile 'b')",
        ]
    );
}

#[test]
fn a_profile_must_match_something() {
    assert_eq!(
        one_error("x.yaml", "name: x\nmode: audit\n"),
        "x.yaml:1:1: match: the profile matches no image (give match.images, match.digests or match.default: true) (profile 'x')"
    );
    assert!(ProfileSet::from_texts(&[("d.yaml", "name: default\n")]).is_ok());
    let off = set(&[("d.yaml", "name: default\nmatch: {default: false, images: [\"a:*\"]}\n")]);
    assert!(!off.profiles()[0].is_default);
}

#[test]
fn syntax_errors_and_non_profiles() {
    let e = one_error("x.yaml", "name: x\nmatch: [\n");
    assert!(e.starts_with("x.yaml:") && e.contains(": YAML: "), "{e}");
    assert_eq!(
        errors(&[("x.yaml", "just text\n"), ("y.yaml", "- 1\n")]),
        [
            "x.yaml:1:1: expected a profile (a mapping) or a list of profiles, found a scalar",
            "y.yaml:1:3: expected a profile (a mapping), found a scalar",
        ]
    );
}

#[test]
fn errors_are_collected_across_files() {
    let e = errors(&[
        ("a.yaml", "name: a\nmatch: {images: [\"a:*\"]}\nmode: x\n"),
        ("b.yaml", "name: b\nmatch: {images: [\"b:*\"]}\nexec: {deny: [x]}\n"),
    ]);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].starts_with("a.yaml:3:7: mode:") && e[1].starts_with("b.yaml:3:15: exec.deny[0]:"), "{e:#?}");
}

// ---- matching -----------------------------------------------------------------------------

fn matched(s: &ProfileSet, reference: &str, digest: Option<&str>) -> String {
    s.for_image(reference, digest).name.clone()
}

#[test]
fn digest_beats_any_pattern() {
    let s = set(&[
        ("a.yaml", "name: exact\nmatch: {images: [\"docker.io/library/nginx:1.25\"]}\n"),
        ("b.yaml", &format!("name: pinned\nmatch: {{digests: [\"{DIGEST}\"]}}\n")),
    ]);
    assert_eq!(matched(&s, "nginx:1.25", Some(DIGEST)), "pinned");
    assert_eq!(matched(&s, &format!("nginx:1.25@{DIGEST}"), None), "pinned");
    assert_eq!(matched(&s, DIGEST, None), "pinned");
    assert_eq!(matched(&s, "nginx:1.25", None), "exact");
    assert!(matches!(s.resolve("nginx:1.25", Some(DIGEST)).by, MatchedBy::Digest(d) if d == DIGEST));
}

#[test]
fn more_literal_characters_win() {
    let s = set(&[
        ("a.yaml", "name: any\nmatch: {images: [\"*\"]}\n"),
        ("b.yaml", "name: nginx\nmatch: {images: [\"nginx:*\"]}\n"),
        ("c.yaml", "name: nginx12\nmatch: {images: [\"nginx:1.2?\"]}\n"),
        ("d.yaml", "name: hub\nmatch: {images: [\"*/nginx:*\"]}\n"),
    ]);
    assert_eq!(matched(&s, "nginx:1.25", None), "nginx12");
    assert_eq!(matched(&s, "nginx:1.3", None), "nginx");
    assert_eq!(matched(&s, "quay.io/x/nginx:1", None), "hub");
    assert_eq!(matched(&s, "redis:7", None), "any");
    match s.resolve("nginx:1.25", None).by {
        MatchedBy::Image(p) => assert_eq!(p.written, "nginx:1.2?"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ties_go_to_the_earlier_file() {
    // Both patterns have 25 literal characters.
    let sources = [
        ("10-a.yaml", "name: a\nmatch: {images: [\"nginx:1.2?\"]}\n"),
        ("20-b.yaml", "name: b\nmatch: {images: [\"nginx:1.?5\"]}\n"),
    ];
    assert_eq!(matched(&set(&sources), "nginx:1.25", None), "a");
    let swapped = [sources[1], sources[0]];
    assert_eq!(matched(&set(&swapped), "nginx:1.25", None), "b");
}

#[test]
fn references_and_patterns_are_normalized() {
    let s = set(&[
        ("a.yaml", "name: short\nmatch: {images: [\"nginx:1.25\"]}\n"),
        ("b.yaml", "name: long\nmatch: {images: [\"docker.io/library/redis:*\"]}\n"),
        ("c.yaml", "name: ghcr\nmatch: {images: [\"ghcr.io/org/app:*\"]}\n"),
        ("d.yaml", "name: pinned-only\nmatch: {images: [\"alpine@*\"]}\n"),
    ]);
    for r in
        ["nginx:1.25", "docker.io/library/nginx:1.25", "docker.io/nginx:1.25", "index.docker.io/library/nginx:1.25"]
    {
        assert_eq!(matched(&s, r, None), "short", "{r}");
    }
    assert_eq!(matched(&s, "redis:7", None), "long");
    assert_eq!(matched(&s, "redis", None), "long", "untagged means :latest");
    assert_eq!(matched(&s, "ghcr.io/org/app:v1", None), "ghcr");
    assert_eq!(matched(&s, "org/app:v1", None), "default", "docker.io/org/app is another image");
    assert_eq!(matched(&s, &format!("alpine@{DIGEST}"), None), "pinned-only");
    assert_eq!(matched(&s, &format!("alpine:3@{DIGEST}"), None), "default", "tagged: matched on the tag");
}

#[test]
fn defaults_file_then_builtin() {
    let with = set(&[
        ("a.yaml", "name: a\nmatch: {images: [\"a:*\"]}\n"),
        ("fallback.yaml", "name: fallback\nmatch: {default: true}\ndeny_package_managers: true\n"),
    ]);
    assert_eq!(matched(&with, "b:1", None), "fallback");
    assert_eq!(with.resolve("b:1", None).by, MatchedBy::Default);
    let without = set(&[("a.yaml", "name: a\nmatch: {images: [\"a:*\"]}\n")]);
    let r = without.resolve("b:1", None);
    assert_eq!(r.by, MatchedBy::Builtin);
    assert_eq!((r.profile.name.as_str(), r.profile.mode), ("default", Some(Mode::Audit)));
    assert!(!r.profile.denies_anything());
    assert_eq!(ProfileSet::default().for_image("x", None), &Profile::builtin_default());
}

// ---- modes ----------------------------------------------------------------------------------

#[test]
fn annotation_beats_profile_beats_global() {
    let s = set(&[
        ("a.yaml", "name: a\nmatch: {images: [\"a:*\"]}\nmode: enforce\n"),
        ("b.yaml", "name: b\nmatch: {images: [\"b:*\"]}\n"),
    ]);
    let (a, b) = (s.for_image("a:1", None), s.for_image("b:1", None));
    let none = BTreeMap::new();
    let audit = BTreeMap::from([(MODE_ANNOTATION.to_owned(), "audit".to_owned())]);
    let enforce = BTreeMap::from([(MODE_ANNOTATION.to_owned(), "enforce".to_owned())]);
    assert_eq!(a.effective_mode(Mode::Audit, &none), Ok(Mode::Enforce));
    assert_eq!(b.effective_mode(Mode::Audit, &none), Ok(Mode::Audit));
    assert_eq!(b.effective_mode(Mode::Enforce, &none), Ok(Mode::Enforce));
    assert_eq!(a.effective_mode(Mode::Enforce, &audit), Ok(Mode::Audit));
    assert_eq!(b.effective_mode(Mode::Audit, &enforce), Ok(Mode::Enforce));
}

#[test]
fn an_invalid_annotation_is_an_error_that_falls_back_to_enforce() {
    let p = Profile::builtin_default();
    let bad = BTreeMap::from([(MODE_ANNOTATION.to_owned(), "Audit".to_owned())]);
    let e = p.effective_mode(Mode::Audit, &bad).expect_err("invalid annotation");
    assert_eq!(e.fallback, Mode::Enforce);
    assert_eq!(e.to_string(), "annotation palisade.io/mode=\"Audit\": unknown mode (audit | enforce); using enforce");
    assert!(Mode::Audit < Mode::Enforce);
}

// ---- exec and write decisions -----------------------------------------------------------------

#[test]
fn exec_decisions() {
    let s = set(&[(
        "n.yaml",
        "name: n\nmatch: {images: [\"n:*\"]}\ndeny_shells: true\ndeny_package_managers: true\nexec:\n  deny: [/**/curl]\n  allow_scripts: [/docker-entrypoint.sh]\n",
    )]);
    let p = s.for_image("n:1", None);
    assert_eq!(p.check_exec("/usr/sbin/nginx", None), Ok(()));
    assert_eq!(p.check_exec("/bin/sh", None), Err(ExecDenial::Shell));
    assert_eq!(p.check_exec("/bin/sh", Some("/docker-entrypoint.sh")), Ok(()));
    assert_eq!(p.check_exec("/bin/sh", Some("/tmp/evil.sh")), Err(ExecDenial::Shell));
    assert_eq!(p.check_exec("/usr/bin/apt-get", None), Err(ExecDenial::PackageManager));
    assert_eq!(p.check_exec("/usr/local/bin/curl", None), Err(ExecDenial::Denied("/**/curl".into())));
    assert_eq!(p.check_exec("/bin/busybox", None), Err(ExecDenial::Shell));
}

#[test]
fn exec_allow_is_exact_and_deny_wins() {
    let s = set(&[(
        "n.yaml",
        "name: n\nmatch: {images: [\"n:*\"]}\ndeny_shells: true\nexec:\n  allow: [/usr/sbin/nginx, /usr/bin/*]\n  deny: [/usr/bin/curl]\n  allow_scripts: [/entry.sh]\n",
    )]);
    let p = s.for_image("n:1", None);
    assert_eq!(p.check_exec("/usr/sbin/nginx", None), Ok(()));
    assert_eq!(p.check_exec("/usr/bin/env", None), Ok(()));
    assert_eq!(p.check_exec("/usr/bin/curl", None), Err(ExecDenial::Denied("/usr/bin/curl".into())));
    assert_eq!(p.check_exec("/usr/bin/x/y", None), Err(ExecDenial::NotAllowed));
    assert_eq!(p.check_exec("/app/server", None), Err(ExecDenial::NotAllowed), "the entrypoint is not implied");
    assert_eq!(p.check_exec("/entry.sh", None), Ok(()));
    assert_eq!(p.check_exec("/bin/sh", Some("/entry.sh")), Ok(()));
    assert_eq!(p.check_exec("/usr/bin/bash", None), Err(ExecDenial::Shell), "allow does not undo deny_shells");
}

#[test]
fn writes_under_immutable() {
    let s =
        set(&[("n.yaml", "name: n\nmatch: {images: [\"n:*\"]}\nimmutable: {enabled: true, allow_write: [/tmp]}\n")]);
    let p = s.for_image("n:1", None);
    let mounts = [PathBuf::from("/data")];
    assert!(p.write_allowed(Path::new("/tmp/x"), &mounts));
    assert!(!p.write_allowed(Path::new("/tmpx"), &mounts));
    assert!(p.write_allowed(Path::new("/data/db"), &mounts));
    assert!(p.write_allowed(Path::new("/dev/null"), &mounts));
    assert!(!p.write_allowed(Path::new("/etc/passwd"), &mounts));
    assert!(Profile::builtin_default().write_allowed(Path::new("/etc/passwd"), &[]));
}

// ---- files and the shipped profiles -------------------------------------------------------------

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("default")
}

#[test]
fn shipped_profiles_load_without_errors() {
    let s = ProfileSet::load(&[shipped()]).unwrap_or_else(|e| panic!("{}", messages(&e).join("\n")));
    let names: Vec<&str> = s.profiles().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["alpine", "busybox", "debian", "default", "nginx"], "file name order");
    assert_eq!(s.default_profile().name, "default");
    assert_eq!(s.default_profile().mode, Some(Mode::Audit));
    assert!(!s.default_profile().denies_anything());
    let nginx = s.for_image("docker.io/library/nginx:1.27-alpine", None);
    assert_eq!(nginx.name, "nginx");
    assert!(nginx.immutable.enabled && nginx.deny_shells && nginx.deny_package_managers);
    assert_eq!(nginx.mode, None, "shipped profiles follow the global mode");
    assert!(nginx.write_allowed(Path::new("/var/cache/nginx/client_temp/1"), &[]));
    assert!(nginx.write_allowed(Path::new("/run/nginx.pid"), &[]));
    assert!(!nginx.write_allowed(Path::new("/usr/share/nginx/html/index.html"), &[]));
    assert_eq!(nginx.check_exec("/bin/sh", Some("/docker-entrypoint.d/20-envsubst-on-templates.sh")), Ok(()));
    assert_eq!(nginx.check_exec("/bin/sh", None), Err(ExecDenial::Shell));
    assert_eq!(s.for_image("nginx", None).name, "nginx");
    assert_eq!(s.for_image(&format!("nginx@{DIGEST}"), None).name, "nginx");
    assert_eq!(s.for_image("debian:12", None).name, "debian");
    assert_eq!(s.for_image("ubuntu:24.04", None).name, "debian");
    assert_eq!(s.for_image("alpine:3.20", None).name, "alpine");
    assert_eq!(s.for_image("busybox:1.36", None).name, "busybox");
    assert_eq!(s.for_image("registry.example/app:1", None).name, "default");
}

#[test]
fn directories_load_yaml_files_in_name_order() {
    let dir = std::env::temp_dir().join(format!("palisade-profiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    std::fs::write(dir.join("b.yml"), "name: b\nmatch: {images: [\"x:*\"]}\n").expect("write");
    std::fs::write(dir.join("a.yaml"), "name: a\nmatch: {images: [\"x:?\"]}\n").expect("write");
    std::fs::write(dir.join(".hidden.yaml"), "broken: [").expect("write");
    std::fs::write(dir.join("notes.txt"), "broken: [").expect("write");
    let extra = dir.join("extra.conf");
    std::fs::write(&extra, "name: c\nmatch: {images: [\"c:*\"]}\n").expect("write");
    let s = ProfileSet::load(&[dir.clone(), extra]);
    let missing = ProfileSet::load(&[dir.join("missing")]);
    std::fs::remove_dir_all(&dir).expect("cleanup");
    let s = s.unwrap_or_else(|e| panic!("{}", messages(&e).join("\n")));
    let names: Vec<&str> = s.profiles().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let origin = &s.profiles()[1].origin.file;
    assert!(origin.ends_with("/b.yml"), "{origin}");
    let e = messages(&missing.expect_err("missing path"));
    assert!(e.len() == 1 && e[0].starts_with("read ") && e[0].contains("missing"), "{e:?}");
}

#[test]
fn file_errors_name_the_file_as_loaded() {
    let dir = std::env::temp_dir().join(format!("palisade-profiles-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    std::fs::write(dir.join("nginx.yaml"), "name: nginx\nmatch: {images: [\"nginx:*\"]}\nexec:\n  deny: [curl]\n")
        .expect("write");
    let r = ProfileSet::load(std::slice::from_ref(&dir));
    std::fs::remove_dir_all(&dir).expect("cleanup");
    let e = messages(&r.expect_err("relative path"));
    assert_eq!(
        e,
        [format!("{}:4:10: exec.deny[0]: not an absolute path (profile 'nginx')", dir.join("nginx.yaml").display())]
    );
}

#[test]
fn allow_writable_exec_takes_literal_absolute_paths_with_positioned_errors() {
    let ok = "name: x\nmatch: {images: [\"x:*\"]}\nimmutable:\n  enabled: true\n  allow_write: [/tmp]\n  allow_writable_exec: [/tmp/jit/, //data]\n";
    let set = ProfileSet::from_texts(&[("x.yaml", ok)]).expect("loads");
    let p = set.get("x").expect("x");
    assert_eq!(p.immutable.allow_writable_exec, [PathBuf::from("/tmp/jit"), PathBuf::from("/data")]);
    let text = "name: x\nmatch: {images: [\"x:*\"]}\nimmutable:\n  enabled: true\n  allow_writable_exec: [/tmp/*, /, tmp, /a/./b, 7]\n";
    assert_eq!(
        errors(&[("x.yaml", text)]),
        [
            "x.yaml:5:25: immutable.allow_writable_exec[0]: '/tmp/*' is a glob; allow_writable_exec takes literal paths (profile 'x')",
            "x.yaml:5:33: immutable.allow_writable_exec[1]: '/' would make every writable place executable; W^X needs narrower paths (profile 'x')",
            "x.yaml:5:36: immutable.allow_writable_exec[2]: not an absolute path (profile 'x')",
            "x.yaml:5:41: immutable.allow_writable_exec[3]: '/a/./b' has a '.' or '..' component (profile 'x')",
            "x.yaml:5:49: immutable.allow_writable_exec[4]: not an absolute path (profile 'x')",
        ]
    );
}
