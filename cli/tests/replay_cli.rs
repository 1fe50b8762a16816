//! `palisade replay --source k8s_audit`: a file of audit events evaluated offline with the
//! upstream k8s audit rules prints exactly the expected alerts and a per-rule summary.

mod common;

use std::process::Command;

#[test]
fn replays_audit_event_files() {
    let shared = common::shared();
    let traces = shared.join("falco/traces/falco_legacy/trace_files/k8s_audit");
    let dir = std::env::temp_dir().join(format!("palisade-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    // JSON lines, as --audit-log-path writes them: a privileged pod, an ordinary one, and a
    // line that is not an event.
    let mut text = String::new();
    for f in ["create_nginx_pod_privileged.json", "create_nginx_pod_unprivileged.json"] {
        text.push_str(std::fs::read_to_string(traces.join(f)).expect("trace").trim_end());
        text.push('\n');
    }
    text.push_str("{\"kind\":\"Pod\"}\n");
    let file = dir.join("audit.log");
    std::fs::write(&file, text).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["replay", "--source", "k8s_audit", "--json", "-r"])
        .arg(shared.join("falco/k8saudit/k8s_audit_rules.yaml"))
        .arg(&file)
        .output()
        .expect("run palisade replay");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let alerts: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).expect("alert JSON")).collect();
    let rules: Vec<&str> = alerts.iter().filter_map(|a| a["rule"].as_str()).collect();
    assert_eq!(rules, ["Create Privileged Pod"], "{stdout}");
    assert_eq!(alerts[0]["source"], "k8s_audit");
    assert!(stderr.contains("line 3"), "the bad line is named: {stderr}");
    assert!(stderr.contains("replayed 2 events (1 unreadable items)"), "{stderr}");
    assert!(stderr.contains("     1  Create Privileged Pod"), "{stderr}");
}

/// A scratch directory for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("palisade-replay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

/// A file that is no capture and no audit JSON is refused with a non-zero exit naming the file
/// and the formats replay reads (it used to replay "0 events" and exit 0).
#[test]
fn refuses_unknown_formats() {
    let dir = scratch("unknown");
    // Pseudo-random bytes (a fixed LCG, so the first byte is known not to open JSON or a magic).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect();
    assert!(!matches!(bytes[0], b'{' | b'[' | 0x0A | 0x1F | b' ' | b'\t' | b'\r'), "first byte {:#x}", bytes[0]);
    let file = dir.join("random.bin");
    std::fs::write(&file, &bytes).expect("write");
    let shared = common::shared();
    let rules = shared.join("falco/k8saudit/k8s_audit_rules.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_palisade")).args(["replay", "-r"]).arg(&rules).arg(&file).output().expect("run palisade replay");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("{}: unknown format: expected a Palisade capture", file.display())), "{stderr}");
    assert!(stderr.contains(".scap capture") && stderr.contains("--source k8s_audit"), "{stderr}");
    // Told it is audit events, it still fails: nothing in it could be read.
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["replay", "--source", "k8s_audit", "-r"])
        .arg(&rules)
        .arg(&file)
        .output()
        .expect("run palisade replay");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("{}: no audit event could be read", file.display())), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A gzip bomb (2 GiB of zeros in ~2 MB: 32 gzip members of 64 MiB each) is refused once the
/// decompressed size passes the 1 GiB limit, quickly, with the limit named: never inflated whole.
#[test]
fn refuses_gzip_bomb() {
    let dir = scratch("bomb");
    let member = Command::new("sh").args(["-c", "head -c 67108864 /dev/zero | gzip -9"]).output().expect("run gzip");
    assert!(member.status.success() && member.stdout.starts_with(&[0x1F, 0x8B]), "gzip failed");
    let bomb: Vec<u8> = member.stdout.repeat(32);
    assert!(bomb.len() < 4 << 20, "the bomb is small: {} bytes", bomb.len());
    let file = dir.join("bomb.scap.gz");
    std::fs::write(&file, &bomb).expect("write");
    let shared = common::shared();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["replay", "-r"])
        .arg(shared.join("falco/rules/falco_rules.yaml"))
        .arg(&file)
        .output()
        .expect("run palisade replay");
    let took = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: refused: the gzip data decompresses to more than 1073741824 bytes (1024 MiB)", file.display())),
        "{stderr}"
    );
    assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
}
