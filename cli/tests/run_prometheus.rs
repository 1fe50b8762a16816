//! Privileged, end to end (issue 19, "metrics Falco dashboards understand"): a real Prometheus
//! (Debian's `prometheus`, run here with its own configuration, data directory and port)
//! scrapes a real `palisade run` every second while a test cgroup reads a marker file (a rule
//! fires), another cgroup floods over its syscall budget (budget drops) and the daemon reloads
//! (SIGHUP). Then every query of `deploy/grafana/palisade-dashboard.json` is run against
//! Prometheus' HTTP API, with Grafana's variables substituted, and each must return data; the
//! Falco-named alert families are checked exactly (rule name, Falco's and Falcosidekick's
//! priority numbers, source, tags).
//!
//! No container runs here, so no enforcement decision is made: the enforcement panels' series
//! are those `declare_profiles` makes at 0 for the loaded profile (the test checks that value).
//!
//! Needs root, a kernel with BTF and `/usr/bin/prometheus`; fails otherwise unless
//! PALISADE_ALLOW_SKIP_PRIVILEGED=1.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, TestCgroup, cgroup2_root, free_port, skip_or_fail};
use nix::sys::signal::{kill, Signal};
use serde_json::Value;

const RULE: &str = "Prometheus marker read";
const PROMETHEUS: &str = "/usr/bin/prometheus";

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A Prometheus server killed on drop.
struct Prometheus {
    child: Child,
    port: u16,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts Prometheus scraping `127.0.0.1:target_port/metrics` every second, its data in
    /// `dir`; waits until it is ready.
    fn start(dir: &Path, target_port: u16) -> Prometheus {
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
                 scrape_configs:\n  - job_name: palisade\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
            ),
        )
        .expect("prometheus.yml");
        let port = free_port();
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).expect("prometheus log"))
            .spawn()
            .expect("start prometheus");
        let prometheus = Prometheus { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while http_get(port, "/-/ready").0 != 200 {
            assert!(
                Instant::now() < deadline,
                "prometheus not ready:\n{}",
                std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        prometheus
    }

    /// An instant query: the `data.result` array (panics unless the API says success).
    fn query(&self, promql: &str) -> Vec<Value> {
        let (status, body) = http_get(
            self.port,
            &format!("/api/v1/query?query={}", percent_encode(promql)),
        );
        let v: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{promql}: HTTP {status}, {e}: {body}"));
        assert_eq!(v["status"], "success", "{promql}: {body}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `promql` returns data (30 s at most).
    fn wait_for(&self, promql: &str) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let result = self.query(promql);
            if !result.is_empty() {
                return result;
            }
            assert!(Instant::now() < deadline, "no data for {promql} after 30 s");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}


/// GET `path` from 127.0.0.1:`port` (HTTP/1.0: the answer is not chunked): status, body.
fn http_get(port: u16, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    if write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return (0, String::new());
    }
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0),
        body.to_owned(),
    )
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every `expr` of the dashboard's panels (rows included), with its panel's title.
fn dashboard_queries() -> Vec<(String, String)> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/palisade-dashboard.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dashboard: Value = serde_json::from_str(&text).expect("dashboard JSON");
    let mut panels: Vec<&Value> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .collect();
    let mut queries = Vec::new();
    while let Some(p) = panels.pop() {
        panels.extend(p["panels"].as_array().into_iter().flatten());
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().expect("a target's expr");
            queries.push((
                p["title"].as_str().unwrap_or_default().to_owned(),
                expr.to_owned(),
            ));
        }
    }
    queries
}

/// The dashboard's query variables: (name, metric, label) of each `label_values(metric, label)`.
fn dashboard_variables() -> Vec<(String, String, String)> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/palisade-dashboard.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("dashboard"))
        .expect("dashboard JSON");
    let mut variables = Vec::new();
    for v in dashboard["templating"]["list"]
        .as_array()
        .expect("templating")
        .iter()
        .filter(|v| v["type"] == "query")
    {
        let definition = v["definition"]
            .as_str()
            .expect("a query variable's definition");
        let args = definition
            .strip_prefix("label_values(")
            .and_then(|d| d.strip_suffix(')'))
            .expect("label_values(metric, label)");
        let (metric, label) = args.split_once(',').expect("metric, label");
        variables.push((
            v["name"].as_str().unwrap_or_default().to_owned(),
            metric.trim().to_owned(),
            label.trim().to_owned(),
        ));
    }
    variables
}

/// Grafana's variables as Grafana would set them here: a 1 s scrape interval, the last 10 min,
/// every instance.
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "15s")
        .replace("$__range", "10m")
        .replace("$__interval", "1s")
        .replace("$instance", ".*")
}

fn label<'a>(series: &'a Value, name: &str) -> &'a str {
    series["metric"][name].as_str().unwrap_or("")
}

#[test]
fn every_dashboard_query_returns_data_from_a_real_prometheus() {
    if !common::privileged() {
        return;
    }
    let Some(root) = cgroup2_root() else {
        return skip_or_fail("no cgroup2 mount");
    };
    if !Path::new(PROMETHEUS).exists() {
        return skip_or_fail("no /usr/bin/prometheus (apt-get install prometheus)");
    }
    let queries = dashboard_queries();
    assert!(queries.len() >= 10, "the dashboard's queries: {queries:?}");

    let pid = std::process::id();
    let scratch = Scratch(std::env::temp_dir().join(format!("palisade-prometheus-{pid}")));
    let _ = std::fs::remove_dir_all(&scratch.0);
    std::fs::create_dir_all(scratch.0.join("profiles")).expect("scratch");
    let marker = scratch.0.join("marker");
    std::fs::write(&marker, "x").expect("marker");
    let flood_file = scratch.0.join("flood");
    std::fs::write(&flood_file, "x").expect("flood file");
    let rules = scratch.0.join("rules.yaml");
    // The second rule never matches; it makes the kernel record the flood's opens (the kernel
    // only records opens of the paths the rules name).
    std::fs::write(
        &rules,
        format!(
            "- rule: {RULE}\n  desc: test\n  condition: evt.type in (open, openat, openat2) and fd.name = \"{}\"\n  \
             output: \"marker read by %proc.name (file=%fd.name)\"\n  priority: WARNING\n  tags: [test, T1059.004]\n\
             - rule: Flood file read by nobody\n  desc: test\n  \
             condition: evt.type in (open, openat, openat2) and fd.name = \"{}\" and proc.name = no-such-program\n  \
             output: never\n  priority: DEBUG\n",
            marker.display(),
            flood_file.display()
        ),
    )
    .expect("rules file");
    std::fs::write(
        scratch.0.join("profiles/web.yaml"),
        "name: web\nmatch:\n  images: [\"web:*\"]\nmode: audit\ndeny_shells: true\n",
    )
    .expect("profile");

    let web_port = free_port();
    let mut extra: Vec<String> = Vec::new();
    for o in [
        "webserver.enabled=true".to_owned(),
        "webserver.listen_address=127.0.0.1".to_owned(),
        format!("webserver.listen_port={web_port}"),
        "webserver.prometheus_metrics_enabled=true".to_owned(),
        format!("profiles_dir={}", scratch.0.join("profiles").display()),
        "syscall_budget.rate=1000".to_owned(),
        "syscall_budget.burst=1000".to_owned(),
    ] {
        extra.push("-o".into());
        extra.push(o);
    }
    let daemon = Daemon::start_with(&extra, &[rules]);
    let prometheus = Prometheus::start(&scratch.0, web_port);
    prometheus.wait_for("up{job=\"palisade\"} == 1");

    // The scripted actions: one marker read, a flood over the budget, a reload.
    let quiet = TestCgroup::new(&root, &format!("palisade-prom-quiet-{pid}"));
    let flood = TestCgroup::new(&root, &format!("palisade-prom-flood-{pid}"));
    let read = quiet
        .spawn(
            Path::new("/bin/sh"),
            &format!("exec cat {} > /dev/null", marker.display()),
        )
        .wait()
        .expect("cat");
    assert!(read.success());
    let mut flooder = flood.spawn(
        Path::new("/bin/sh"),
        &format!("while :; do : < {}; done", flood_file.display()),
    );
    std::thread::sleep(Duration::from_millis(1500));
    let _ = flooder.kill();
    let _ = flooder.wait();
    kill(daemon.pid(), Signal::SIGHUP).expect("SIGHUP");

    let matches = prometheus.wait_for(&format!(
        "falcosecurity_falco_rules_matches_total{{rule_name=\"{RULE}\"}}"
    ));
    prometheus.wait_for("palisade_syscall_budget_drops_total");
    prometheus.wait_for("palisade_reloads_total{result=\"ok\"} >= 1");
    // Enough samples after the actions for every rate() window.
    std::thread::sleep(Duration::from_secs(4));

    let mut empty = Vec::new();
    for (name, metric, label) in dashboard_variables() {
        let (status, body) = http_get(
            prometheus.port,
            &format!(
                "/api/v1/label/{label}/values?match[]={}",
                percent_encode(&metric)
            ),
        );
        let values: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("variable {name}: HTTP {status}, {e}: {body}"));
        if values["data"].as_array().is_none_or(Vec::is_empty) {
            empty.push(format!("variable ${name}: label_values({metric}, {label})"));
        }
    }
    for (title, expr) in &queries {
        let promql = substitute(expr);
        if prometheus.query(&promql).is_empty() {
            empty.push(format!("{title}: {promql}"));
        }
    }

    // Exactly one series of the rule, under Falco's labels and Falco's priority number.
    assert_eq!(matches.len(), 1, "{matches:?}");
    let m = &matches[0];
    assert_eq!(
        [
            label(m, "rule_name"),
            label(m, "priority"),
            label(m, "source"),
            label(m, "tag_test"),
            label(m, "tag_T1059_004")
        ],
        [RULE, "4", "syscall", "true", "true"],
        "{m}"
    );
    assert_eq!(m["value"][1], "1", "{m}");
    let events = prometheus.query(&format!(
        "falcosecurity_falcosidekick_falco_events_total{{rule=\"{RULE}\"}}"
    ));
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(
        [
            label(e, "priority"),
            label(e, "priority_raw"),
            label(e, "source"),
            label(e, "k8s_pod_name")
        ],
        ["4", "warning", "syscall", ""],
        "Falcosidekick's numbering (Warning = 4 there too), no pod on the host: {e}"
    );
    assert_eq!(e["value"][1], "1", "{e}");
    let alerts = prometheus.query(&format!(
        "palisade_alerts_total{{rule=\"{RULE}\",priority=\"Warning\"}}"
    ));
    assert_eq!(
        alerts.first().map(|a| a["value"][1].clone()),
        Some(Value::from("1")),
        "{alerts:?}"
    );
    let decisions = prometheus.query("palisade_enforcement_decisions_total{profile=\"web\"}");
    assert_eq!(
        decisions.len(),
        2,
        "the loaded profile's two series: {decisions:?}"
    );
    assert!(
        decisions.iter().all(|d| d["value"][1] == "0"),
        "no decision without a container: {decisions:?}"
    );
    // Falco's other names, as Prometheus stored them.
    for name in [
        "falcosecurity_scap_n_evts_total",
        "falcosecurity_scap_n_drops_total",
        "falcosecurity_falco_outputs_queue_num_drops_total",
        "falcosecurity_evt_hostname_info",
        "falcosecurity_falco_kernel_release_info",
        "falcosecurity_scap_engine_name_info",
        "falcosecurity_falco_start_timestamp_nanoseconds",
        "falcosecurity_falco_reload_timestamp_nanoseconds",
        "falcosecurity_falco_host_boot_timestamp_nanoseconds",
        "falcosecurity_falco_host_num_cpus_total",
        "falcosecurity_falco_duration_seconds_total",
        "falcosecurity_falco_cpu_usage_ratio",
        "falcosecurity_falco_memory_rss_bytes",
        "falcosecurity_falco_memory_vsz_bytes",
        "falcosecurity_falco_sha256_rules_files_info{file_name=\"rules.yaml\"}",
    ] {
        assert_eq!(prometheus.query(name).len(), 1, "{name}");
    }
    let info = prometheus.query("falcosecurity_falco_version_info");
    assert_eq!(
        info.first().map(|i| label(i, "version")),
        Some(env!("CARGO_PKG_VERSION")),
        "{info:?}"
    );

    drop(prometheus);
    let out = daemon.stop();
    assert!(
        empty.is_empty(),
        "dashboard queries without data:\n{}\n\ndaemon stderr:\n{}",
        empty.join("\n"),
        out.stderr
    );
    assert!(
        out.alerts.iter().any(|a| a["rule"] == RULE),
        "the marker read alerted:\n{}",
        out.stdout
    );
}
