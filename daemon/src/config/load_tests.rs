use super::*;
use crate::config::{LogFormat, LogLevel, Mode, RuleSelection, Selector};

fn ok(text: &str, overrides: &[&str]) -> Config {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    parse(text, "palisade.yaml", &o).unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str, overrides: &[&str]) -> String {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    parse(text, "palisade.yaml", &o).expect_err("must fail").to_string()
}

#[test]
fn empty_file_is_the_defaults() {
    assert_eq!(ok("", &[]), Config::default());
    assert_eq!(ok("# nothing\n", &[]), Config::default());
}

#[test]
fn falco_keys_and_palisade_keys() {
    let c = ok(
        "rules_files:\n  - /etc/palisade/rules.d\n  - ./extra.yaml\n\
         rules:\n  - disable:\n      rule: \"Read sensitive file untrusted\"\n  - enable:\n      tag: network\n\
         priority: warning\nrule_matching: all\njson_output: true\n\
         file_output:\n  enabled: true\n  keep_alive: true\n  filename: /var/log/palisade.json\n\
         http_output:\n  enabled: true\n  url: http://sidekick:2801/\n\
         webserver:\n  enabled: true\n  listen_port: 9376\n  prometheus_metrics_enabled: true\n\
         outputs_queue:\n  capacity: 64\nmode: enforce\nhost_monitoring: false\n\
         nri:\n  socket_path: /run/nri.sock\n",
        &[],
    );
    assert_eq!(c.rules_files, [PathBuf::from("/etc/palisade/rules.d"), PathBuf::from("./extra.yaml")]);
    assert_eq!(
        c.rules,
        [
            RuleSelection::Disable(Selector::Rule("Read sensitive file untrusted".into())),
            RuleSelection::Enable(Selector::Tag("network".into()))
        ]
    );
    assert_eq!((c.priority.as_str(), c.rule_matching.as_str(), c.json_output), ("warning", "all", true));
    assert!(c.file_output.enabled && c.file_output.keep_alive);
    assert_eq!(c.http_output.user_agent, "falcosecurity/falco", "defaults fill what the file leaves out");
    assert_eq!((c.webserver.listen_port, c.webserver.prometheus_metrics_enabled), (9376, true));
    assert_eq!((c.outputs_queue.capacity, c.mode, c.host_monitoring), (64, Mode::Enforce, false));
    assert_eq!((c.nri.enabled, c.nri.socket_path.as_path()), (true, Path::new("/run/nri.sock")));
}

#[test]
fn unknown_key_names_file_line_and_column() {
    let e = err("priority: debug\nwebserver:\n  enabled: true\n  listen_prot: 80\n", &[]);
    assert!(e.starts_with("palisade.yaml:4:3: webserver.listen_prot: unknown field `listen_prot`"), "{e}");
    let e = err("json_output: true\nload_plugin: []\n", &[]);
    assert!(e.starts_with("palisade.yaml:2:1: load_plugin: unknown field `load_plugin`"), "{e}");
}

#[test]
fn wrong_types_and_values_are_precise() {
    let e = err("webserver:\n  listen_port: high\n", &[]);
    assert!(e.starts_with("palisade.yaml:2:3: webserver.listen_port: invalid type: string \"high\""), "{e}");
    let e = err("priority: loud\n", &[]);
    assert_eq!(e, "palisade.yaml: priority: unknown priority \"loud\" (emergency ... debug)");
    let e = err("http_output:\n  enabled: true\n", &[]);
    assert!(e.contains("http_output.url: required"), "{e}");
    let e = err("mode: block\n", &[]);
    assert!(e.starts_with("palisade.yaml:1:1: mode: unknown variant `block`"), "{e}");
    let e = err("- a\n- b\n", &[]);
    assert_eq!(e, "palisade.yaml:1:1: the configuration must be a mapping, found a sequence");
    let e = err("rules:\n  - disable:\n      name: x\n", &[]);
    assert!(e.starts_with("palisade.yaml:2:5: rules[0].disable: unknown variant `name`"), "{e}");
}

#[test]
fn overrides_set_nested_keys_append_lists_and_win_over_the_file() {
    let c = ok(
        "json_output: false\nrules_files: [/a.yaml]\n",
        &["json_output=true", "webserver.listen_port=9000", "rules_files[]=/b.yaml", "http_output.url=http://x/"],
    );
    assert!(c.json_output);
    assert_eq!(c.webserver.listen_port, 9000);
    assert_eq!(c.rules_files, [PathBuf::from("/a.yaml"), PathBuf::from("/b.yaml")]);
    assert_eq!(c.http_output.url, "http://x/");
    let e = err("", &["json_output"]);
    assert_eq!(e, "-o json_output: expected KEY=VALUE");
    let e = err("", &["webserver.bogus=1"]);
    assert!(e.contains("webserver.bogus: unknown field `bogus`"), "{e}");
    let e = err("json_output: true\n", &["json_output.x=1"]);
    assert_eq!(e, "-o json_output.x=1: json_output is not a mapping");
}

#[test]
fn yaml_syntax_errors_have_positions() {
    let e = err("webserver:\n  enabled: [true\n", &[]);
    assert!(e.starts_with("palisade.yaml:"), "{e}");
}

#[test]
fn mode_annotation_refuses_loosening_by_default_and_checks_its_patterns() {
    let d = ok("", &[]).mode_annotation;
    assert!(!d.allow_loosen && d.loosen_namespaces.is_empty());
    let c = ok("mode_annotation:\n  loosen_namespaces: [dev-*, ci]\n", &[]);
    assert_eq!(c.mode_annotation.loosen_namespaces, ["dev-*", "ci"]);
    assert_eq!(
        err("mode_annotation:\n  loosen_namespaces: [\"dev-[\"]\n", &[]),
        "palisade.yaml: mode_annotation.loosen_namespaces[0]: \"dev-[\": unterminated '[' class"
    );
    assert!(err("mode_annotation:\n  allow_loose: true\n", &[]).starts_with("palisade.yaml:2:3: "), "unknown keys are errors");
    let o = ok("", &["mode_annotation.allow_loosen=true", "mode_annotation.loosen_namespaces[]=dev-*"]).mode_annotation;
    assert!(o.allow_loosen && o.loosen_namespaces == ["dev-*"], "{o:?}");
}

#[test]
fn logging_keys_take_falcos_names() {
    let d = ok("", &[]);
    assert_eq!((d.log_level, d.log_stderr, d.log_syslog, d.log_format), (LogLevel::Info, true, false, LogFormat::Text));
    let c = ok("log_level: warning\nlog_stderr: false\nlog_syslog: true\nlog_format: json\n", &[]);
    assert_eq!((c.log_level, c.log_stderr, c.log_syslog, c.log_format), (LogLevel::Warning, false, true, LogFormat::Json));
    let names = ["emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"];
    let filters: Vec<&str> = names.iter().map(|n| ok(&format!("log_level: {n}\n"), &[]).log_level.tracing_filter()).collect();
    assert_eq!(filters, ["error", "error", "error", "error", "warn", "info", "info", "debug"]);
    assert_eq!(ok("", &["log_level=debug"]).log_level, LogLevel::Debug, "-o sets it too");
}

#[test]
fn bad_logging_values_are_errors() {
    assert!(err("log_level: verbose\n", &[]).contains("log_level"), "{}", err("log_level: verbose\n", &[]));
    assert!(err("log_format: xml\n", &[]).contains("log_format"));
    assert!(err("log_stderr: maybe\n", &[]).contains("log_stderr"));
}

#[test]
fn ring_buffer_size_is_a_power_of_two_within_bounds() {
    assert_eq!(ok("", &[]).ring_buffer_mib, 8);
    assert_eq!(ok("ring_buffer_mib: 64\n", &[]).ring_buffer_mib, 64);
    assert_eq!(err("ring_buffer_mib: 12\n", &[]), "palisade.yaml: ring_buffer_mib: 12 is not a power of two within 1 ..= 1024");
    assert!(err("", &["ring_buffer_mib=0"]).contains("ring_buffer_mib: 0 is not a power of two"));
    assert!(err("", &["ring_buffer_mib=2048"]).contains("ring_buffer_mib: 2048"));
}

#[test]
fn syscall_budget_defaults_and_bounds() {
    let d = ok("", &[]).syscall_budget;
    assert!(d.enabled && d.rate == 10_000 && d.burst == 1_000, "{d:?}");
    let c = ok("syscall_budget: {rate: 500, burst: 10, actions: [alert]}\n", &[]).syscall_budget;
    assert_eq!((c.rate, c.burst, c.actions.as_slice()), (500, 10, [crate::config::DropAction::Alert].as_slice()));
    assert_eq!(
        err("syscall_budget: {rate: 0}\n", &[]),
        "palisade.yaml: syscall_budget.rate: 0 is not within 1 ..= 100000000"
    );
    assert!(err("", &["syscall_budget.burst=2000000"]).contains("syscall_budget.burst"));
    assert!(!ok("", &["syscall_budget.enabled=false"]).syscall_budget.enabled);
    assert_eq!((d.rare_rate, d.rare_burst), (1_000, 200));
    assert!(err("", &["syscall_budget.rare_burst=0"]).contains("syscall_budget.rare_burst: 0"));
}

#[test]
fn alert_aggregation_is_on_for_a_second_by_default_and_takes_durations() {
    use std::time::Duration;
    let d = ok("", &[]).alert_aggregation;
    assert_eq!((d.enabled, d.window), (true, Duration::from_secs(1)));
    let c = ok("alert_aggregation: {enabled: false, window: 250ms}\n", &[]).alert_aggregation;
    assert_eq!((c.enabled, c.window), (false, Duration::from_millis(250)));
    assert_eq!(ok("alert_aggregation: {window: 2m}\n", &[]).alert_aggregation.window, Duration::from_secs(120));
    assert_eq!(ok("alert_aggregation: {window: 0.5}\n", &[]).alert_aggregation.window, Duration::from_millis(500));
    assert_eq!(ok("", &["alert_aggregation.window=3s"]).alert_aggregation.window, Duration::from_secs(3));
    let e = err("alert_aggregation:\n  window: soon\n", &[]);
    assert!(e.starts_with("palisade.yaml:2:3: alert_aggregation.window: "), "{e}");
    assert!(err("alert_aggregation: {window: 0s}\n", &[]).contains("outside 1ms ..= 1h"));
}
