use super::*;

fn tags(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| (*s).to_owned()).collect()
}

fn in_pod<'a>(id: &'a str, ns: &'a str, pod: &'a str) -> Option<MatchContainer<'a>> {
    Some(MatchContainer {
        id,
        k8s_ns_name: ns,
        k8s_pod_name: pod,
    })
}

fn matched<'a>(
    rule: &'a str,
    priority: &'a str,
    tags: &'a [String],
    container: Option<MatchContainer<'a>>,
) -> RuleMatch<'a> {
    RuleMatch {
        rule,
        priority,
        source: "syscall",
        tags,
        hostname: "node1",
        container,
    }
}

/// The exact lines Falco's `falco_metrics.cpp` writes for a rule's matches (label names and
/// values; Falco orders labels by name, we in Falco's fixed order then tags sorted).
#[test]
fn rule_matches_carry_falcos_names_and_labels() {
    let m = Metrics::new();
    let t = tags(&["container", "T1555", "mitre_credential_access", "T1059.004"]);
    for _ in 0..3 {
        m.rule_match(&matched(
            "Read sensitive file untrusted",
            "Warning",
            &t,
            None,
        ));
    }
    m.rule_match(&matched(
        "Terminal \"shell\"",
        "Notice",
        &[],
        in_pod("c1", "prod", "web-1"),
    ));
    let text = m.encode();
    assert!(
        text.contains(
            "\nfalcosecurity_falco_rules_matches_total{rule_name=\"Read sensitive file untrusted\",priority=\"4\",source=\"syscall\",\
             tag_T1059_004=\"true\",tag_T1555=\"true\",tag_container=\"true\",tag_mitre_credential_access=\"true\"} 3\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nfalcosecurity_falco_rules_matches_total{rule_name=\"Terminal \\\"shell\\\"\",priority=\"5\",source=\"syscall\"} 1\n"), "{text}");
    assert!(
        text.contains("# TYPE falcosecurity_falco_rules_matches counter\n"),
        "{text}"
    );
    // Palisade's own family counts them too.
    assert!(text.contains("palisade_alerts_total{rule=\"Read sensitive file untrusted\",priority=\"Warning\"} 3\n"), "{text}");
    // Falcosidekick's, with the pod.
    assert!(
        text.contains(
            "falcosecurity_falcosidekick_falco_events_total{hostname=\"node1\",rule=\"Read sensitive file untrusted\",priority=\"4\",\
             priority_raw=\"warning\",source=\"syscall\",k8s_ns_name=\"\",k8s_pod_name=\"\"} 3\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "falcosecurity_falcosidekick_falco_events_total{hostname=\"node1\",rule=\"Terminal \\\"shell\\\"\",priority=\"3\",\
             priority_raw=\"notice\",source=\"syscall\",k8s_ns_name=\"prod\",k8s_pod_name=\"web-1\"} 1\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("# EOF\n") && text.matches("# EOF").count() == 1,
        "{text}"
    );
}

#[test]
fn falcos_wrapper_and_kernel_families_are_served() {
    let m = Metrics::new();
    m.event("openat");
    m.event("execve");
    m.event("k8s_audit");
    m.set_kernel_drops(7);
    m.set_outputs_queue(0, 10, 2);
    let text = m.encode();
    for line in [
        "falcosecurity_scap_n_evts_total 2\n",
        "falcosecurity_scap_n_drops_total 7\n",
        "falcosecurity_falco_outputs_queue_num_drops_total 2\n",
        "palisade_kernel_drops_total 7\n",
        &format!("falcosecurity_falco_version_info{{version=\"{}\"}} 1\n", env!("CARGO_PKG_VERSION")),
        "falcosecurity_scap_engine_name_info{engine_name=\"palisade_ebpf\",evt_source=\"syscall\"} 1\n",
        "falcosecurity_falco_duration_seconds_total 0\n",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    for prefix in [
        "falcosecurity_evt_hostname_info{hostname=\"",
        "falcosecurity_falco_kernel_release_info{kernel_release=\"",
        "falcosecurity_falco_start_timestamp_nanoseconds 1",
        "falcosecurity_falco_reload_timestamp_nanoseconds 1",
        "falcosecurity_falco_host_boot_timestamp_nanoseconds 1",
        "falcosecurity_falco_host_num_cpus_total ",
        "falcosecurity_falco_cpu_usage_ratio ",
        "falcosecurity_falco_memory_rss_bytes ",
        "falcosecurity_falco_memory_vsz_bytes ",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(prefix)),
            "{prefix:?} in\n{text}"
        );
    }
}

#[test]
fn a_reload_moves_the_reload_timestamp() {
    let m = Metrics::new();
    let ts = |text: &str| -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix("falcosecurity_falco_reload_timestamp_nanoseconds "))
            .and_then(|v| v.parse().ok())
            .expect("reload timestamp")
    };
    let before = ts(&m.encode());
    std::thread::sleep(std::time::Duration::from_millis(2));
    m.reload(false);
    assert_eq!(
        ts(&m.encode()),
        before,
        "a refused reload keeps the timestamp"
    );
    m.reload(true);
    assert!(ts(&m.encode()) > before);
}

/// The loaded files by base name and digest, as Falco lists them; a reload replaces the list.
#[test]
fn loaded_files_are_listed_by_name_and_sha256() {
    let dir = std::env::temp_dir().join(format!("palisade-metrics-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (rules, config) = (dir.join("rules.yaml"), dir.join("palisade.yaml"));
    std::fs::write(&rules, "x").expect("rules");
    std::fs::write(&config, "").expect("config");
    let m = Metrics::new();
    m.set_loaded_files(&[rules, dir.join("missing.yaml")], std::slice::from_ref(&config));
    let text = m.encode();
    std::fs::remove_dir_all(&dir).expect("cleanup");
    assert!(
        text.contains(
            "falcosecurity_falco_sha256_rules_files_info{file_name=\"rules.yaml\",\
             sha256=\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\"} 1\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "falcosecurity_falco_sha256_config_files_info{file_name=\"palisade.yaml\",\
             sha256=\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"} 1\n"
        ),
        "{text}"
    );
    assert!(!text.contains("missing.yaml"), "{text}");
    m.set_loaded_files(&[], &[]);
    assert!(
        !m.encode().contains("sha256="),
        "a reload's list replaces the previous one"
    );
}

/// A pod's series go once none of its containers is known; the pod-less series stay.
#[test]
fn series_of_gone_pods_are_forgotten() {
    let m = Metrics::new();
    let none: [String; 0] = [];
    m.rule_match(&matched("R", "Warning", &none, in_pod("a1", "ns", "pod-a")));
    m.rule_match(&matched("R", "Warning", &none, in_pod("a2", "ns", "pod-a")));
    m.rule_match(&matched("R", "Warning", &none, in_pod("b1", "ns", "pod-b")));
    m.rule_match(&matched("R", "Warning", &none, in_pod("ctr1", "", "")));
    m.rule_match(&matched("R", "Warning", &none, None));
    let text = m.encode();
    assert!(text.contains("k8s_pod_name=\"pod-a\"} 2\n"), "{text}");
    assert!(
        text.contains("k8s_ns_name=\"\",k8s_pod_name=\"\"} 2\n"),
        "{text}"
    );

    // a1 and ctr1 gone: pod-a still has a2, the pod-less series stays.
    m.retain_containers(|id| id != "a1" && id != "ctr1");
    let text = m.encode();
    assert!(text.contains("k8s_pod_name=\"pod-a\"} 2\n"), "{text}");
    assert!(text.contains("k8s_pod_name=\"pod-b\"} 1\n"), "{text}");
    assert!(
        text.contains("k8s_ns_name=\"\",k8s_pod_name=\"\"} 2\n"),
        "{text}"
    );

    // Every container gone: the pods' series go, the rule's Falco series stays.
    m.retain_containers(|_| false);
    let text = m.encode();
    assert!(!text.contains("pod-a") && !text.contains("pod-b"), "{text}");
    assert!(
        text.contains("k8s_ns_name=\"\",k8s_pod_name=\"\"} 2\n"),
        "{text}"
    );
    assert!(text.contains("falcosecurity_falco_rules_matches_total{rule_name=\"R\",priority=\"4\",source=\"syscall\"} 5\n"), "{text}");
    assert_eq!(
        m.falco.event_series.lock().made,
        1,
        "the host's entry is all that is left"
    );
}

/// Pods beyond the cap share the overflow series.
#[test]
fn pod_series_are_capped() {
    let m = Metrics::new();
    let none: [String; 0] = [];
    for i in 0..MAX_SERIES_PER_FAMILY + 5 {
        let (id, pod) = (format!("c{i}"), format!("pod-{i}"));
        m.rule_match(&matched("R", "Warning", &none, in_pod(&id, "ns", &pod)));
    }
    let text = m.encode();
    let series = text
        .lines()
        .filter(|l| l.starts_with("falcosecurity_falcosidekick_falco_events_total{"))
        .count();
    assert_eq!(
        series,
        MAX_SERIES_PER_FAMILY + 1,
        "the cap plus the overflow series"
    );
    assert!(
        text.contains(&format!("rule=\"{OVERFLOW}\""))
            && text.contains("k8s_pod_name=\"__overflow__\"} 5\n"),
        "overflow series"
    );
}

/// `rule_match` (Palisade's, Falco's and Falcosidekick's families) against `alert` (Palisade's
/// alone), in the same run: `cargo test --release -p palisade-metrics rule_match_cost -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn rule_match_cost() {
    let m = Metrics::new();
    let t = tags(&["container", "shell", "mitre_execution", "T1059.004"]);
    let rules = [
        "Terminal shell in container",
        "Read sensitive file untrusted",
        "Write below etc",
        "Launch Suspicious Network Tool",
    ];
    let pods = [
        in_pod("c1", "prod", "web-1"),
        in_pod("c2", "prod", "web-2"),
        None,
        in_pod("c3", "", ""),
    ];
    let calls = 4_000_000u32;
    let start = std::time::Instant::now();
    for n in 0..calls {
        m.alert(std::hint::black_box(rules[(n % 4) as usize]), "Warning");
    }
    let alert = start.elapsed().as_nanos() as f64 / f64::from(calls);
    let start = std::time::Instant::now();
    for n in 0..calls {
        let i = (n % 4) as usize;
        m.rule_match(std::hint::black_box(&matched(
            rules[i],
            "Warning",
            &t,
            pods[(n as usize / 4) % 4],
        )));
    }
    let rule_match = start.elapsed().as_nanos() as f64 / f64::from(calls);
    println!(
        "alert(): {alert:.1} ns/call; rule_match(): {rule_match:.1} ns/call ({:.2}x)",
        rule_match / alert
    );
}
