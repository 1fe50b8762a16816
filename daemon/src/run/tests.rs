//! The loop with a scripted record source: no root, no kernel. Alerts go to a file output
//! and are read back from the file; captures are read back with the capture reader.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use palisade_capture::recording::session::{self, Captures, Progress};
use palisade_capture::recording::replay;
use palisade_ebpf::abi::{self, kind, ExecEvent};
use palisade_events::event::EventBuilder;
use palisade_events::pipeline::Evaluator;
use palisade_events::process::{ProcessTable, Users};
use palisade_metrics::Metrics;

use super::*;
use crate::containers::cgroup::Cgroups;
use crate::containers::registry::{self, CgroupScope, Facts, Stage};
use crate::containers::Registry;

/// Batches handed out one per drain; the test pushes more between steps. Also the kernel's
/// budget counters the test sets, and the budgets the daemon set.
#[derive(Clone, Default)]
struct Script(
    Arc<Mutex<VecDeque<Vec<Vec<u8>>>>>,
    Arc<Mutex<crate::kernel::BudgetCounts>>,
    Arc<Mutex<Vec<abi::BudgetConf>>>,
    /// Whether the source hands its records over (pinned detection).
    Arc<AtomicBool>,
);

impl Script {
    fn push(&self, batch: Vec<Vec<u8>>) {
        self.0.lock().expect("script").push_back(batch);
    }

    /// Batches not drained yet.
    fn pending(&self) -> usize {
        self.0.lock().expect("script").len()
    }
}

impl RecordSource for Script {
    fn wait(&mut self, _timeout: Duration) -> Result<(), String> {
        Ok(())
    }
    fn drain(&mut self, f: &mut dyn FnMut(&[u8])) -> usize {
        let batch = self.0.lock().expect("script").pop_front().unwrap_or_default();
        batch.iter().for_each(|r| f(r));
        batch.len()
    }
    fn drops(&self) -> u64 {
        0
    }
    fn configure(&mut self, _capture: &crate::kernel::Capture) -> Result<(), String> {
        Ok(())
    }
    fn set_budget(&mut self, budget: abi::BudgetConf) -> Result<(), String> {
        self.2.lock().expect("script").push(budget);
        Ok(())
    }
    fn budget_counts(&self) -> crate::kernel::BudgetCounts {
        self.1.lock().expect("script").clone()
    }
    fn hands_over(&self) -> bool {
        self.3.load(Ordering::Relaxed)
    }
}

struct NoScope;

impl CgroupScope for NoScope {
    fn track(&mut self, _id: u64) -> Result<(), String> {
        Ok(())
    }
    fn untrack(&mut self, _id: u64) -> Result<(), String> {
        Ok(())
    }
    fn watch_untracked(&mut self, _on: bool) -> Result<(), String> {
        Ok(())
    }
}

/// An exec of `/bin/<comm>` by `pid` in cgroup `cgroup`.
fn exec(pid: u32, comm: &str, cgroup: u64) -> Vec<u8> {
    let mut e: ExecEvent = bytemuck::Zeroable::zeroed();
    e.hdr.kind = kind::EXEC;
    e.hdr.abi = abi::ABI_VERSION;
    e.hdr.pid = pid;
    e.hdr.tid = pid;
    e.hdr.ppid = 1;
    e.hdr.cgroup_id = cgroup;
    e.hdr.ts_ns = u64::from(pid) * 1000;
    e.hdr.comm[..comm.len()].copy_from_slice(comm.as_bytes());
    let file = format!("/bin/{comm}");
    e.filename[..file.len()].copy_from_slice(file.as_bytes());
    e.filename_len = file.len() as u32;
    e.args[..file.len()].copy_from_slice(file.as_bytes());
    e.args_len = file.len() as u32 + 1;
    bytemuck::bytes_of(&e).to_vec()
}

/// A rule alerting on execs, named `name`, with the pid and container id in its output.
fn rule(name: &str) -> String {
    format!(
        "- rule: {name}\n  desc: t\n  condition: evt.type = execve\n  output: \"pid=%proc.pid name=%proc.name container=%container.id image=%container.image.repository\"\n  priority: WARNING\n"
    )
}

/// nginx containers may not run `/bin/late` (audit: alerts only).
fn profiles() -> palisade_profiles::ProfileSet {
    let nginx = "name: nginx\nmatch:\n  images: [\"nginx:*\"]\nmode: audit\nexec:\n  deny: [/bin/late]\n";
    palisade_profiles::ProfileSet::from_texts(&[("nginx.yaml", nginx)]).unwrap_or_else(|e| panic!("profiles: {e:?}"))
}

/// A temporary directory with a rules file, an alerts file, a fake /proc and cgroup mount.
struct Fixture {
    dir: tempfile::TempDir,
    script: Script,
    hup: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    captures: Sender<session::Control>,
}

impl Fixture {
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// The configuration: rules, JSON alerts to `alerts.json`, and the text of `outputs.yaml`
    /// when a test wrote one (a reload's new outputs).
    fn config(dir: &Path) -> Config {
        Fixture::try_config(dir).expect("config")
    }

    fn try_config(dir: &Path) -> Result<Config, String> {
        let extra = std::fs::read_to_string(dir.join("outputs.yaml")).unwrap_or_default();
        let yaml = format!(
            "rules_files: [{rules}]\njson_output: true\nstdout_output: {{enabled: false}}\nfile_output: {{enabled: true, keep_alive: true, filename: {alerts}}}\n{extra}",
            rules = dir.join("rules.yaml").display(),
            alerts = dir.join("alerts.json").display(),
        );
        crate::config::parse(&yaml, "palisade.yaml", &[]).map_err(|e| e.to_string())
    }

    fn new(rules: &str) -> (Fixture, Daemon<Script>) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("rules.yaml"), rules).expect("rules");
        std::fs::create_dir_all(dir.path().join("proc/42")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("cg/default/web")).expect("mkdir");
        std::fs::write(dir.path().join("proc/42/cgroup"), "0::/default/web\n").expect("write");
        let config = Fixture::config(dir.path());
        let loaded = rules_load::load(&config).expect("rules load");
        let plan = crate::capture::plan(&loaded.ruleset);
        let cgroups = Cgroups::new(dir.path().join("cg"), dir.path().join("proc"));
        let registry = Registry::new(Box::new(NoScope), cgroups, dir.path().join("proc"))
            .with_profiles(Arc::new(profiles()), palisade_profiles::Mode::Audit)
            .shared();
        let (control, _requests) = Control::new();
        let (captures, requests) = mpsc::channel();
        let hooks = Arc::new(hook_server::Context {
            registry: SharedRegistry::clone(&registry),
            containerd: None,
            status: Mutex::default(),
            fail_closed: false,
            backend: None,
            control: Arc::new(control),
            socket: Arc::default(),
        });
        let sink = AlertSink::start(&config).expect("outputs");
        let reload_dir = dir.path().to_owned();
        let script = Script::default();
        let (hup, stop) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let parts = Parts {
            source: script.clone(),
            config,
            config_path: Some(dir.path().join("palisade.yaml")),
            reload_config: Box::new(move || Fixture::try_config(&reload_dir)),
            rules: Arc::new(loaded.ruleset),
            rule_files: loaded.files,
            plan,
            registry,
            backend: None,
            hooks,
            captures: Captures::new(requests),
            metrics: Metrics::new(),
            audit: None,
            table: ProcessTable::offline(),
            users: Users::default(),
            builder: EventBuilder::new(0),
            evaluator: Evaluator::new("testhost".into()),
            hostname: "testhost".into(),
            boot_to_wall: 0,
            stop: Arc::clone(&stop),
            hup: Arc::clone(&hup),
            started: Instant::now(),
        };
        let fx = Fixture { dir, script: script.clone(), hup, stop, captures };
        (fx, Daemon::new(parts, sink))
    }

    /// Reads what is queued (one step), stops the daemon (one last step, which reads nothing)
    /// and returns the alerts written: (rule, output fields).
    fn finish(&self, mut daemon: Daemon<Script>) -> (Stats, Vec<(String, serde_json::Value)>) {
        assert!(daemon.step().expect("step"));
        self.stop.store(true, Ordering::Relaxed);
        assert!(!daemon.step().expect("last step"), "a stopping step ends the loop");
        let (stats, drops, dropped) = daemon.finish(false);
        assert_eq!((drops, dropped), (0, 0));
        let text = std::fs::read_to_string(self.path("alerts.json")).unwrap_or_default();
        let alerts = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("alert json");
                (v["rule"].as_str().unwrap_or_default().to_owned(), v["output_fields"].clone())
            })
            .collect();
        (stats, alerts)
    }
}

#[test]
fn a_reload_between_two_drains_switches_rules_at_the_boundary() {
    let (fx, mut daemon) = Fixture::new(&rule("Old rule"));
    fx.script.push(vec![exec(101, "one", 0)]);
    assert!(daemon.step().expect("step"));
    // SIGHUP with a record already waiting: the step drains it with the old rules, then reloads.
    fx.script.push(vec![exec(102, "two", 0)]);
    std::fs::write(fx.path("rules.yaml"), rule("New rule")).expect("rewrite rules");
    fx.hup.store(true, Ordering::Relaxed);
    assert!(daemon.step().expect("step"));
    fx.script.push(vec![exec(103, "three", 0)]);
    assert!(daemon.step().expect("step"));
    let (stats, alerts) = fx.finish(daemon);
    let got: Vec<(String, serde_json::Value)> =
        alerts.into_iter().map(|(r, f)| (r, f["proc.pid"].clone())).collect();
    assert_eq!(
        got,
        [
            ("Old rule".to_owned(), serde_json::json!(101)),
            ("Old rule".to_owned(), serde_json::json!(102)),
            ("New rule".to_owned(), serde_json::json!(103)),
        ]
    );
    assert_eq!(stats, Stats { records: 3, events: 3, alerts: 3 });
}

#[test]
fn a_broken_reload_keeps_the_running_rules() {
    let (fx, mut daemon) = Fixture::new(&rule("Old rule"));
    std::fs::write(fx.path("rules.yaml"), "- rule: [broken").expect("rewrite rules");
    fx.hup.store(true, Ordering::Relaxed);
    assert!(daemon.step().expect("a refused reload is not a daemon error"));
    fx.script.push(vec![exec(201, "one", 0)]);
    assert!(daemon.step().expect("step"));
    let (_, alerts) = fx.finish(daemon);
    let rules: Vec<&str> = alerts.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(rules, [reload::REFUSED_RULE, "Old rule"]);
    assert_eq!(alerts[0].1["palisade.stage"], "rules");
}

#[test]
fn a_capture_holds_exactly_the_records_drained_while_it_ran_and_replays() {
    let (fx, mut daemon) = Fixture::new(&rule("Exec"));
    fx.script.push(vec![exec(301, "before", 0)]);
    assert!(daemon.step().expect("step"));
    let file = std::fs::File::create(fx.path("c.pcap")).expect("capture file");
    let (progress, answers) = mpsc::channel();
    let start = session::Control::Start {
        id: 7,
        file,
        path: "c.pcap".into(),
        container: None,
        duration: None,
        progress,
    };
    fx.captures.send(start).expect("start");
    fx.script.push(vec![exec(302, "during1", 0), exec(303, "during2", 0)]);
    assert!(daemon.step().expect("step"));
    assert_eq!(answers.try_recv(), Ok(Progress::Started));
    fx.captures.send(session::Control::Stop { id: 7 }).expect("stop");
    fx.script.push(vec![exec(304, "after", 0)]);
    assert!(daemon.step().expect("step"));
    let Ok(Progress::Ended { end, .. }) = answers.try_recv() else { panic!("the capture ended") };
    assert_eq!(end.records, 2);
    let data = std::fs::read(fx.path("c.pcap")).expect("read capture");
    let mut pids = Vec::new();
    let summary = replay::run(&data, |r| pids.push(r.data.process.pid)).expect("replays");
    assert_eq!(summary.records, 2);
    assert_eq!(pids, [302, 303], "only the records drained while it ran");
    let (_, alerts) = fx.finish(daemon);
    assert_eq!(alerts.len(), 4, "the capture changes no alert");
}

#[test]
fn a_container_armed_mid_stream_gets_container_fields_and_its_profile_from_then_on() {
    let (fx, mut daemon) = Fixture::new(&rule("Exec"));
    use std::os::unix::fs::MetadataExt;
    let cgroup = std::fs::metadata(fx.path("cg/default/web")).expect("stat").ino();
    fx.script.push(vec![exec(42, "early", cgroup)]);
    assert!(daemon.step().expect("step"));
    let facts = Facts { name: "web".into(), image: "docker.io/library/nginx:1.25".into(), ..Default::default() };
    daemon.registry().lock().expect("registry").report("c0ffee", facts, registry::Source::Nri);
    crate::containers::registry::arm(daemon.registry(), "c0ffee", 42, Stage::CreateRuntime).expect("arm");
    fx.script.push(vec![exec(43, "late", cgroup)]);
    assert!(daemon.step().expect("step"));
    let (_, alerts) = fx.finish(daemon);
    let got: Vec<(String, String, String, String)> = alerts
        .iter()
        .map(|(rule, f)| {
            let s = |k: &str| f[k].as_str().map(str::to_owned).unwrap_or_else(|| f[k].to_string());
            (rule.clone(), s("proc.pid"), s("container.id"), s("container.image.repository"))
        })
        .collect();
    let row = |r: &str, pid: &str, id: &str, image: &str| (r.to_owned(), pid.to_owned(), id.to_owned(), image.to_owned());
    assert_eq!(
        got,
        [
            row("Exec", "42", "host", "null"),
            // The container's profile judges its records from arming on, before the rules.
            row("Palisade enforcement", "null", "c0ffee", "docker.io/library/nginx"),
            row("Exec", "43", "c0ffee", "docker.io/library/nginx"),
        ]
    );
    let decision = &alerts[1].1;
    assert_eq!(
        (&decision["palisade.action"], &decision["palisade.target"], &decision["proc.name"]),
        (&serde_json::json!("exec"), &serde_json::json!("/bin/late"), &serde_json::json!("late"))
    );
}

/// A rule's match in a pod's container is counted under Palisade's, Falco's and
/// Falcosidekick's names, the last with the pod; the host's match without one; the profile's
/// would-deny decision in `palisade_enforcement_decisions_total`.
#[test]
fn rule_matches_are_counted_under_falcos_names_with_their_pod() {
    let (fx, mut daemon) = Fixture::new(&rule("Exec"));
    use std::os::unix::fs::MetadataExt;
    let cgroup = std::fs::metadata(fx.path("cg/default/web")).expect("stat").ino();
    let pod = palisade_events::containers::PodMeta { name: "web-1".into(), namespace: "prod".into(), ..Default::default() };
    let facts = Facts { name: "web".into(), image: "docker.io/library/nginx:1.25".into(), pod: Some(pod), ..Default::default() };
    daemon.registry().lock().expect("registry").report("c0ffee", facts, registry::Source::Nri);
    crate::containers::registry::arm(daemon.registry(), "c0ffee", 42, Stage::CreateRuntime).expect("arm");
    fx.script.push(vec![exec(43, "late", cgroup), exec(44, "early", 1)]);
    assert!(daemon.step().expect("step"));
    let text = daemon.p.metrics.encode();
    drop(fx.finish(daemon));
    for line in [
        "palisade_alerts_total{rule=\"Exec\",priority=\"Warning\"} 2\n",
        "falcosecurity_falco_rules_matches_total{rule_name=\"Exec\",priority=\"4\",source=\"syscall\"} 2\n",
        "falcosecurity_falcosidekick_falco_events_total{hostname=\"testhost\",rule=\"Exec\",priority=\"4\",priority_raw=\"warning\",\
         source=\"syscall\",k8s_ns_name=\"prod\",k8s_pod_name=\"web-1\"} 1\n",
        "falcosecurity_falcosidekick_falco_events_total{hostname=\"testhost\",rule=\"Exec\",priority=\"4\",priority_raw=\"warning\",\
         source=\"syscall\",k8s_ns_name=\"\",k8s_pod_name=\"\"} 1\n",
        "palisade_enforcement_decisions_total{profile=\"nginx\",enforced=\"false\"} 1\n",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
}

/// The handover: a stopping daemon whose detection is pinned reads no more records (they stay
/// in the pinned ring buffer for its successor), sends what it read, and ends the captures.
#[test]
fn stopping_leaves_unread_records_and_ends_the_running_captures() {
    let (fx, mut daemon) = Fixture::new(&rule("Exec"));
    fx.script.3.store(true, Ordering::Relaxed);
    fx.script.push(vec![exec(400, "read", 0)]);
    let file = std::fs::File::create(fx.path("s.pcap")).expect("capture file");
    let (progress, answers) = mpsc::channel();
    let start = session::Control::Start { id: 9, file, path: "s.pcap".into(), container: None, duration: None, progress };
    fx.captures.send(start).expect("start");
    assert!(daemon.step().expect("step"));
    assert_eq!(answers.try_recv(), Ok(Progress::Started));
    // Queued when the signal comes: the stopping step leaves it for the successor.
    fx.script.push(vec![exec(401, "last", 0)]);
    fx.stop.store(true, Ordering::Relaxed);
    assert!(!daemon.step().expect("last step"), "a stopping step ends the loop");
    let (stats, _, _) = daemon.finish(false);
    assert_eq!(stats, Stats { records: 1, events: 1, alerts: 1 }, "only the record read before the signal");
    let text = std::fs::read_to_string(fx.path("alerts.json")).expect("alerts");
    assert_eq!(text.lines().count(), 1, "the alert read before the signal is sent: {text}");
    assert!(text.contains("\"proc.name\":\"read\""), "{text}");
    assert_eq!(fx.script.pending(), 1, "the last record is still there for the successor");
    let Ok(Progress::Ended { end, .. }) = answers.try_recv() else { panic!("the capture ended") };
    assert_eq!((end.reason.as_str(), end.records), ("daemon stopping", 1));
}

/// Without pinned detection the ring goes with the daemon: a stopping daemon reads it once
/// more, so what arrived before the signal is still alerted.
#[test]
fn stopping_unpinned_reads_the_last_records() {
    let (fx, mut daemon) = Fixture::new(&rule("Exec"));
    fx.script.push(vec![exec(401, "last", 0)]);
    fx.stop.store(true, Ordering::Relaxed);
    assert!(!daemon.step().expect("last step"), "a stopping step ends the loop");
    let (stats, _, _) = daemon.finish(false);
    assert_eq!(stats, Stats { records: 1, events: 1, alerts: 1 });
    assert_eq!(fx.script.pending(), 0);
    let text = std::fs::read_to_string(fx.path("alerts.json")).expect("alerts");
    assert!(text.contains("\"proc.name\":\"last\""), "{text}");
}

/// Issue 17: a configuration whose output cannot start made `reload` return
/// `DaemonError::Outputs` and the daemon exit 2 (a crash loop under `Restart=always`). Each of
/// the four bad outputs is refused whole: the step goes on, the old file output keeps receiving
/// alerts, the refusal is an alert, a metric and a counted reload error.
#[test]
fn a_reload_whose_output_cannot_start_is_refused_and_the_old_outputs_keep_running() {
    let bad_outputs = [
        ("file", "file_output: {enabled: true, keep_alive: true, filename: /nonexistent-palisade/dir/alerts.json}\n"),
        ("http", "http_output: {enabled: true, url: \"ftp://127.0.0.1/alerts\"}\n"),
        ("http", "http_output: {enabled: true, url: \"https://127.0.0.1:9/\", ca_cert: /nonexistent-palisade/ca.pem}\n"),
        ("syslog", "syslog_output: {enabled: true, socket: /nonexistent-palisade/log}\n"),
    ];
    for (output, yaml) in bad_outputs {
        let (fx, mut daemon) = Fixture::new(&rule("Exec"));
        fx.script.push(vec![exec(501, "before", 0)]);
        assert!(daemon.step().expect("step"));
        // (The file case repeats the `file_output` key: the later one wins.)
        std::fs::write(fx.path("outputs.yaml"), yaml).expect("outputs.yaml");
        fx.hup.store(true, Ordering::Relaxed);
        assert!(daemon.step().expect("a refused reload is not a daemon error"), "{output}: the loop goes on");
        fx.script.push(vec![exec(502, "after", 0)]);
        assert!(daemon.step().expect("step"));
        assert_eq!(daemon.reload_errors, 1, "{output}");
        let metrics = daemon.p.metrics.encode();
        assert!(metrics.contains("palisade_reloads_total{result=\"error\"} 1\n"), "{output}: {metrics}");
        let (_, alerts) = fx.finish(daemon);
        let got: Vec<(&str, String)> = alerts
            .iter()
            .map(|(r, f)| (r.as_str(), f["proc.pid"].as_u64().map_or_else(|| f["palisade.output"].to_string(), |p| p.to_string())))
            .collect();
        assert_eq!(
            got,
            [("Exec", "501".to_owned()), (reload::REFUSED_RULE, format!("\"{output}\"")), ("Exec", "502".to_owned())],
            "{yaml}"
        );
        let refusal = &alerts[1].1;
        assert_eq!(refusal["palisade.stage"], "outputs");
        assert_eq!(refusal["palisade.config"], fx.path("palisade.yaml").display().to_string());
    }
}

/// A reload with good new outputs swaps them: the next alert goes to the new file only.
#[test]
fn a_reload_with_new_outputs_swaps_them_between_two_drains() {
    let (fx, mut daemon) = Fixture::new(&rule("Exec"));
    fx.script.push(vec![exec(601, "old", 0)]);
    assert!(daemon.step().expect("step"));
    let new_file = fx.path("new.json");
    std::fs::write(fx.path("outputs.yaml"), format!("syslog_output: {{enabled: false}}\nhttp_output: {{enabled: false}}\nprogram_output: {{enabled: true, keep_alive: true, program: \"cat >> {}\"}}\n", new_file.display())).expect("outputs.yaml");
    fx.hup.store(true, Ordering::Relaxed);
    assert!(daemon.step().expect("step"));
    assert_eq!(daemon.reloads, 1);
    fx.script.push(vec![exec(602, "new", 0)]);
    assert!(daemon.step().expect("step"));
    let (_, alerts) = fx.finish(daemon);
    assert_eq!(alerts.len(), 2, "the file output stays configured: both in it");
    let program: Vec<String> = std::fs::read_to_string(&new_file).unwrap_or_default().lines().map(str::to_owned).collect();
    assert_eq!(program.len(), 1, "the new program output got the alert after the reload: {program:?}");
    assert!(program[0].contains("pid=602"), "{program:?}");
}

/// Identical alerts of one process through the loop: one line at once, then a summary with the
/// count at stop; the distinct alert of another process between them is not delayed.
#[test]
fn a_storm_of_one_process_is_aggregated_and_counted_and_others_pass() {
    let (fx, mut daemon) = Fixture::new(&rule("Exec"));
    let storm: Vec<Vec<u8>> = (0..2000).map(|_| exec(701, "storm", 0)).collect();
    fx.script.push(storm);
    assert!(daemon.step().expect("step"));
    fx.script.push(vec![exec(702, "distinct", 0)]);
    assert!(daemon.step().expect("step"));
    let (stats, alerts) = fx.finish(daemon);
    assert_eq!(stats.alerts, 2001, "every alert raised is counted");
    assert_eq!(alerts.len(), 3, "the first, the distinct one, the summary");
    let got: Vec<(&str, serde_json::Value, serde_json::Value)> =
        alerts.iter().map(|(r, f)| (r.as_str(), f["proc.pid"].clone(), f["palisade.repeated"].clone())).collect();
    assert_eq!(
        got,
        [
            ("Exec", serde_json::json!(701), serde_json::Value::Null),
            ("Exec", serde_json::json!(702), serde_json::Value::Null),
            ("Exec", serde_json::json!(701), serde_json::json!(1999)),
        ]
    );
}

#[test]
fn budget_drops_are_reported_for_the_container_that_owns_the_cgroup() {
    let (fx, mut daemon) = Fixture::new(&rule("Exec"));
    assert_eq!(
        fx.script.2.lock().expect("script").as_slice(),
        [abi::BudgetConf { rate: 10_000, burst: 1_000, rare_rate: 1_000, rare_burst: 200, enabled: 1, _pad: 0 }],
        "the configured budget reaches the kernel at start"
    );
    use std::os::unix::fs::MetadataExt;
    let cgroup = std::fs::metadata(fx.path("cg/default/web")).expect("stat").ino();
    let facts = Facts { name: "web".into(), image: "docker.io/library/nginx:1.25".into(), ..Default::default() };
    daemon.registry().lock().expect("registry").report("c0ffee", facts, registry::Source::Nri);
    crate::containers::registry::arm(daemon.registry(), "c0ffee", 42, Stage::CreateRuntime).expect("arm");
    *fx.script.1.lock().expect("script") =
        crate::kernel::BudgetCounts { per_cgroup: vec![(cgroup, 1234), (1, 5)], ..Default::default() };
    std::thread::sleep(HOUSEKEEPING_INTERVAL + Duration::from_millis(50));
    assert!(daemon.step().expect("step: housekeeping is due"));
    let status = daemon.p.hooks.status.lock().expect("status").clone();
    let listed: Vec<(&str, &str, u64)> =
        status.budget_drops.iter().map(|d| (d.container_id.as_str(), d.container_name.as_str(), d.drops)).collect();
    assert_eq!(listed, [("c0ffee", "web", 1234), ("host", "host", 5)]);
    let (_, alerts) = fx.finish(daemon);
    let mut budget: Vec<(String, String, serde_json::Value)> = alerts
        .iter()
        .filter(|(rule, _)| rule == crate::kernel::budget_report::RULE)
        .map(|(_, f)| (f["container.id"].as_str().unwrap_or_default().to_owned(), f["container.name"].as_str().unwrap_or_default().to_owned(), f["n_drops"].clone()))
        .collect();
    budget.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        budget,
        [
            ("c0ffee".to_owned(), "web".to_owned(), serde_json::json!(1234)),
            ("host".to_owned(), "host".to_owned(), serde_json::json!(5)),
        ]
    );
}

/// An audit rule (source k8s_audit) named `name`, alerting on every `get`.
fn audit_rule(name: &str) -> String {
    format!("- rule: {name}\n  desc: t\n  condition: ka.verb = get\n  output: \"id=%ka.auditid\"\n  priority: WARNING\n  source: k8s_audit\n")
}

/// Attaches a k8s_audit source (its worker) to the fixture's daemon.
fn with_audit(daemon: &mut Daemon<Script>) {
    let mut config = daemon.p.config.clone();
    config.k8s_audit.enabled = true;
    let stop = Arc::new(AtomicBool::new(false));
    let audit = AuditSource::start(&config, &daemon.p.rules, &daemon.p.metrics, "testhost", &stop).expect("audit source");
    daemon.p.audit = audit;
}

fn submit_audit(daemon: &Daemon<Script>, ids: std::ops::Range<usize>) {
    use crate::k8s_audit::worker::tests::event_list;
    let (reply, answer) = palisade_web::Reply::pair();
    let body = palisade_web::WebhookBody::unbudgeted(event_list(ids.map(|i| i.to_string())).into_bytes().into());
    let handler = daemon.p.audit.as_ref().expect("audit").handler();
    assert!(handler.submit(body, reply).is_ok(), "queued");
    assert_eq!(answer.blocking_recv().expect("answered"), palisade_web::Answer::Accepted);
}

/// The audit flood: a big batch is parsed and evaluated by the worker while the loop keeps
/// draining syscall records; each drain forwards at most `ALERTS_PER_DRAIN` audit alerts next to
/// every syscall alert of that drain, and in the end no alert of either source is missing.
#[test]
fn an_audit_flood_does_not_hold_the_syscall_loop_and_loses_nothing() {
    let (fx, mut daemon) = Fixture::new(&format!("{}{}", rule("Exec"), audit_rule("Audit get")));
    with_audit(&mut daemon);
    const AUDIT: usize = 3_000;
    submit_audit(&daemon, 0..AUDIT);
    let give_up = Instant::now() + Duration::from_secs(60);
    let mut pid = 1000;
    let mut before = daemon.stats();
    while daemon.stats().alerts < (AUDIT + (pid - 1000) as usize) as u64 || pid < 1020 {
        assert!(Instant::now() < give_up, "stuck at {:?}", daemon.stats());
        fx.script.push(vec![exec(pid, "cat", 0)]);
        pid += 1;
        assert!(daemon.step().expect("step"));
        let after = daemon.stats();
        assert_eq!(after.records - before.records, 1, "the step drained its syscall record");
        let audit_alerts = (after.alerts - before.alerts) - 1;
        assert!(audit_alerts <= crate::k8s_audit::ALERTS_PER_DRAIN as u64, "one drain forwarded {audit_alerts} audit alerts");
        before = after;
        // Pace the steps as the drain interval does, so the file output keeps up.
        std::thread::sleep(Duration::from_millis(5));
    }
    let (stats, alerts) = fx.finish(daemon);
    let syscall = alerts.iter().filter(|(r, _)| r == "Exec").count();
    let audit = alerts.iter().filter(|(r, _)| r == "Audit get").count();
    assert_eq!((syscall, audit), ((pid - 1000) as usize, AUDIT), "every alert of both sources arrived");
    assert_eq!(stats.events, (pid - 1000) as u64 + AUDIT as u64);
}

/// The worker evaluates with the ruleset a reload installed.
#[test]
fn the_audit_worker_sees_reloaded_rules() {
    let (fx, mut daemon) = Fixture::new(&audit_rule("Audit old"));
    with_audit(&mut daemon);
    submit_audit(&daemon, 0..1);
    let give_up = Instant::now() + Duration::from_secs(30);
    while daemon.stats().alerts < 1 {
        assert!(Instant::now() < give_up, "no audit alert");
        assert!(daemon.step().expect("step"));
    }
    std::fs::write(fx.path("rules.yaml"), audit_rule("Audit new")).expect("rewrite rules");
    fx.hup.store(true, Ordering::Relaxed);
    assert!(daemon.step().expect("reload step"));
    assert!(daemon.step().expect("hands the new rules to the worker"));
    submit_audit(&daemon, 1..2);
    while daemon.stats().alerts < 2 {
        assert!(Instant::now() < give_up, "no second audit alert");
        assert!(daemon.step().expect("step"));
    }
    let (_, alerts) = fx.finish(daemon);
    let rules: Vec<&str> = alerts.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(rules, ["Audit old", "Audit new"]);
}

/// A reload whose TLS file is missing is refused (counted, the running rules stay), not a crash.
#[test]
fn a_reload_with_a_missing_tls_file_is_refused() {
    let (fx, mut daemon) = Fixture::new(&rule("Old rule"));
    let dir = fx.dir.path().to_owned();
    daemon.p.reload_config = Box::new(move || {
        let mut c = Fixture::config(&dir);
        c.k8s_audit.enabled = true;
        c.k8s_audit.ssl_enabled = true;
        c.k8s_audit.ssl_certificate = dir.join("missing.pem");
        Ok(c)
    });
    std::fs::write(fx.path("rules.yaml"), rule("New rule")).expect("rewrite rules");
    fx.hup.store(true, Ordering::Relaxed);
    assert!(daemon.step().expect("a refused reload is not a daemon error"));
    assert_eq!(daemon.reload_errors, 1);
    assert!(daemon.p.metrics.encode().contains("palisade_reloads_total{result=\"error\"} 1\n"));
    fx.script.push(vec![exec(501, "one", 0)]);
    assert!(daemon.step().expect("step"));
    let (_, alerts) = fx.finish(daemon);
    assert_eq!(alerts.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(), [reload::REFUSED_RULE, "Old rule"]);
    assert_eq!(alerts[0].1["palisade.stage"], "webserver");
}

/// The hook socket's refusals (issue 17: a connection cap and a peer check) reach the metrics
/// and `palisade status` at housekeeping.
#[test]
fn hook_socket_refusals_are_reported() {
    let (fx, mut daemon) = Fixture::new(&rule("Exec"));
    daemon.p.hooks.socket.refused_busy.store(7, Ordering::Relaxed);
    daemon.p.hooks.socket.refused_peer.store(2, Ordering::Relaxed);
    std::thread::sleep(HOUSEKEEPING_INTERVAL + Duration::from_millis(50));
    assert!(daemon.step().expect("step: housekeeping is due"));
    let status = daemon.p.hooks.status.lock().expect("status").clone();
    assert_eq!((status.hook_refused_busy, status.hook_refused_peer), (7, 2));
    let metrics = daemon.p.metrics.encode();
    assert!(metrics.contains("palisade_hook_socket_refused_total{reason=\"busy\"} 7\n"), "{metrics}");
    assert!(metrics.contains("palisade_hook_socket_refused_total{reason=\"peer\"} 2\n"), "{metrics}");
    drop(fx.finish(daemon));
}
