use std::path::{Path, PathBuf};

use super::*;
use crate::config::{parse, Config, ConfigFile, Strategy};

fn ok(text: &str, overrides: &[&str]) -> Config {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    parse(text, "falco.yaml", &o).unwrap_or_else(|e| panic!("{e}"))
}

fn keys(c: &Config) -> Vec<&str> {
    c.warnings.iter().map(|w| w.key.as_str()).collect()
}

fn stock() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/falco/config/falco.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The warnings Falco's stock falco.yaml (0.44) gets, in the table's order, with where they are.
const STOCK_WARNINGS: &[(&str, &str)] = &[
    ("engine", "falco.yaml:441:1"),
    ("plugins[container]", "falco.yaml:595:1"),
    ("plugins_hostinfo", "falco.yaml:622:1"),
    ("outputs_queue.capacity", "falco.yaml:748:3"),
    ("http_output.keep_alive", "falco.yaml:886:3"),
    ("http_output.max_consecutive_timeouts", "falco.yaml:888:3"),
    ("libs_logger", "falco.yaml:1008:1"),
    ("output_timeout", "falco.yaml:1044:1"),
    ("syscall_event_timeouts", "falco.yaml:1061:1"),
    ("syscall_event_drops.threshold", "falco.yaml:1103:3"),
    ("falco_libs", "falco.yaml:1367:1"),
];

#[test]
fn the_stock_falco_yaml_parses_with_one_warning_per_key_that_does_not_apply() {
    let c = ok(&stock(), &[]);
    let got: Vec<(&str, &str)> = c.warnings.iter().map(|w| (w.key.as_str(), w.at.as_deref().unwrap_or("-"))).collect();
    assert_eq!(got, STOCK_WARNINGS);
    // Honoured keys carry the stock values.
    assert_eq!(c.config_files, [ConfigFile::Path(PathBuf::from("/etc/falco/config.d"))]);
    assert_eq!(c.rules_files.len(), 3);
    assert!(!c.time_format_iso_8601 && !c.json_include_message_property && c.json_include_output_fields_property);
    assert_eq!(c.outputs_queue.capacity, UNBOUNDED_STANDIN);
    assert!(c.webserver.enabled && c.webserver.listen_port == 8765 && c.syslog_output.enabled);
    assert_eq!(c.http_output.ca_path, "/etc/ssl/certs");
    assert_eq!((c.log_syslog, c.syscall_event_drops.max_burst), (true, 1));
    assert_eq!(c.append_output.len(), 1);
    assert_eq!(c.append_output[0].suggested_output, Some(true));
    assert_eq!((c.metrics.enabled, c.metrics.interval.as_str()), (false, "1h"));
    assert!(!c.k8s_audit.enabled, "load_plugins is empty: no k8saudit");
}

/// Every key of the stock file, nested ones too, is in the table or read by `Config`'s own
/// sections: a new Falco key shows up here first.
#[test]
fn every_stock_key_is_in_the_table() {
    let docs = palisade_rules::yaml::parse_documents(&stock()).expect("yaml");
    let table: Vec<&str> = FALCO_KEYS.iter().map(|k| k.path).collect();
    let mut missing = Vec::new();
    for (k, v) in docs[0].as_map().expect("mapping") {
        let key = k.as_str().expect("key");
        if table.contains(&key) {
            continue;
        }
        match v.as_map() {
            Some(pairs) if table.iter().any(|t| t.starts_with(&format!("{key}."))) => {
                for (sub, _) in pairs {
                    let path = format!("{key}.{}", sub.as_str().expect("key"));
                    if !table.contains(&path.as_str()) {
                        missing.push(path);
                    }
                }
            }
            _ => missing.push(key.to_owned()),
        }
    }
    assert!(missing.is_empty(), "Falco keys not in the table: {missing:?}");
    let listed = falco_key_table();
    assert_eq!(listed.len(), FALCO_KEYS.len());
    assert!(listed.iter().any(|(k, t)| *k == "engine" && t.starts_with("not applicable: ")), "{listed:?}");
}

#[test]
fn a_value_that_asks_for_what_palisade_does_is_silent_and_any_other_warns_once() {
    assert!(ok("capture:\n  enabled: false\n  path_prefix: /tmp/falco\n", &[]).warnings.is_empty());
    let c = ok("capture:\n  enabled: true\n", &[]);
    assert_eq!(keys(&c), ["capture"]);
    assert_eq!(c.warnings[0].to_string(), format!("falco.yaml:1:1: capture: {}", c.warnings[0].reason));
    assert!(ok("base_syscalls: {custom_set: [], repair: false, all: false}\n", &[]).warnings.is_empty());
    assert_eq!(keys(&ok("base_syscalls: {custom_set: [open], repair: true}\n", &[])), ["base_syscalls"]);
    assert!(ok("webserver: {threadiness: 0}\nbuffered_outputs: false\nlibs_logger: {enabled: false}\n", &[]).warnings.is_empty());
    assert_eq!(keys(&ok("webserver: {threadiness: 4}\nbuffered_outputs: true\n", &[])), ["buffered_outputs", "webserver.threadiness"]);
    // From -o: no file position.
    let c = ok("", &["engine.kind=kmod"]);
    assert_eq!((keys(&c), c.warnings[0].at.clone()), (vec!["engine"], None));
}

#[test]
fn unknown_keys_stay_errors_beside_falco_ones() {
    let e = parse("engine: {kind: kmod}\nwebserver:\n  threadiness: 0\n  listen_prot: 1\n", "falco.yaml", &[]).expect_err("unknown");
    assert!(e.to_string().starts_with("falco.yaml:4:3: webserver.listen_prot: unknown field"), "{e}");
    let e = parse("falco_libz: {}\n", "falco.yaml", &[]).expect_err("unknown");
    assert!(e.to_string().starts_with("falco.yaml:1:1: falco_libz: unknown field"), "{e}");
    let e = parse("metrics:\n  enabled: true\n  intervall: 1h\n", "falco.yaml", &[]).expect_err("unknown");
    assert!(e.to_string().starts_with("falco.yaml:3:3: metrics.intervall: unknown field"), "{e}");
}

#[test]
fn outputs_queue_capacity_zero_is_a_documented_bound() {
    let c = ok("outputs_queue:\n  capacity: 0\n", &[]);
    assert_eq!(c.outputs_queue.capacity, UNBOUNDED_STANDIN);
    assert_eq!(keys(&c), ["outputs_queue.capacity"]);
    assert!(c.warnings[0].reason.contains("unbounded"), "{}", c.warnings[0]);
    let c = ok("outputs_queue:\n  capacity: 10\n", &[]);
    assert_eq!((c.outputs_queue.capacity, c.warnings.len()), (10, 0));
    assert_eq!(ok("", &["outputs_queue.capacity=0"]).outputs_queue.capacity, UNBOUNDED_STANDIN);
}

#[test]
fn a_loaded_k8saudit_plugin_configures_the_k8s_audit_source() {
    let yaml = "plugins:\n  - name: k8saudit\n    library_path: libk8saudit.so\n    init_config:\n      sslCertificate: /etc/falco/falco.pem\n      maxEventSize: 262144\n    open_params: \"https://:9443/audit\"\n  - name: json\n    library_path: libjson.so\n    init_config: \"\"\nload_plugins: [k8saudit, json]\n";
    let c = ok(yaml, &[]);
    let k = &c.k8s_audit;
    assert!(k.enabled && k.ssl_enabled);
    assert_eq!((k.listen_address.as_str(), k.listen_port, k.endpoint.as_str()), ("0.0.0.0", 9443, "/audit"));
    assert_eq!(k.ssl_certificate, Path::new("/etc/falco/falco.pem"));
    assert_eq!(keys(&c), ["plugins[k8saudit].init_config.maxEventSize"]);
    assert_eq!(c.warnings[0].at.as_deref(), Some("falco.yaml:1:1"));

    let c = ok("plugins:\n  - {name: k8saudit, open_params: \"file:///var/log/audit.log\"}\nload_plugins: [k8saudit]\n", &[]);
    assert!(c.k8s_audit.enabled && c.k8s_audit.files == [PathBuf::from("/var/log/audit.log")]);
    let c = ok("plugins:\n  - {name: k8saudit, open_params: \"http://127.0.0.1:9765/k8s-audit\"}\n", &[]);
    assert!(!c.k8s_audit.enabled && c.warnings.is_empty(), "not in load_plugins: not loaded, as Falco");
    let c = ok("plugins:\n  - {name: cloudtrail, library_path: libcloudtrail.so}\nload_plugins: [cloudtrail, gcpaudit]\n", &[]);
    assert_eq!(keys(&c), ["plugins[cloudtrail]", "load_plugins"]);
}

#[test]
fn rendering_and_output_keys_are_read() {
    let c = ok(
        "time_format_iso_8601: true\njson_include_message_property: true\njson_include_output_fields_property: false\n\
         http_output: {ca_bundle: /etc/ssl/bundle.pem, echo: false, compress_uploads: false}\n\
         append_output:\n  - match: {source: syscall, tags: [container], rule: R}\n    extra_output: \"on CPU %evt.cpu\"\n\
         \x20 - extra_fields: [evt.hostname]\n    suggested_output: false\n",
        &[],
    );
    assert!(c.time_format_iso_8601 && c.json_include_message_property && !c.json_include_output_fields_property);
    assert_eq!(c.http_output.ca_bundle, "/etc/ssl/bundle.pem");
    let extra = c.extra_outputs();
    assert_eq!(extra.len(), 1, "the entry without extra_output adds no text");
    assert_eq!((extra[0].source.as_str(), extra[0].tags.as_slice(), extra[0].rule.as_str()), ("syscall", ["container".to_owned()].as_slice(), "R"));
    assert_eq!(extra[0].format, "on CPU %evt.cpu");
    assert_eq!(keys(&c), ["append_output[1].extra_fields", "append_output[1].suggested_output"]);
    assert_eq!(keys(&ok("metrics: {enabled: true, interval: 15m}\n", &[])), ["metrics.enabled"]);
}

/// A scratch directory removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("palisade-dropins-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("mkdir");
        Dir(d)
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const MAIN_KEYS: &str = "rules_files: [/a.yaml]\nstdout_output: {enabled: true}\npriority: debug\n";
const DROPIN: &str = "rules_files: [/b.yaml]\nstdout_output: {enabled: false}\njson_output: true\n";

fn with_dropin(d: &Dir, strategy: Option<&str>) -> Config {
    let file = d.write("conf.d/10-x.yaml", DROPIN);
    let entry = match strategy {
        None => format!("  - {}\n", file.display()),
        Some(s) => format!("  - path: {}\n    strategy: {s}\n", file.display()),
    };
    ok(&format!("{MAIN_KEYS}config_files:\n{entry}"), &[])
}

#[test]
fn config_files_merge_with_each_strategy() {
    let d = Dir::new("strategies");
    let rules = |c: &Config| c.rules_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>();
    // append (the default, and for a bare path): lists appended, other keys overridden, new added.
    let c = with_dropin(&d, None);
    assert_eq!((rules(&c), c.stdout_output.enabled, c.json_output), (vec!["/a.yaml".into(), "/b.yaml".into()], false, true));
    assert_eq!(c.included_files, [d.0.join("conf.d/10-x.yaml")]);
    assert_eq!(rules(&with_dropin(&d, Some("append"))), ["/a.yaml", "/b.yaml"]);
    // override: every key the drop-in has wins.
    let c = with_dropin(&d, Some("override"));
    assert_eq!((rules(&c), c.stdout_output.enabled, c.json_output), (vec!["/b.yaml".into()], false, true));
    // add-only: only new keys.
    let c = with_dropin(&d, Some("add-only"));
    assert_eq!((rules(&c), c.stdout_output.enabled, c.json_output), (vec!["/a.yaml".into()], true, true));
    assert_eq!(c.config_files[0].strategy(), Strategy::AddOnly);
    // -o wins over every file.
    let file = d.0.join("conf.d/10-x.yaml");
    assert!(!ok(&format!("config_files: [{}]\n", file.display()), &["json_output=false"]).json_output);
}

#[test]
fn a_config_directory_merges_its_files_in_name_order_and_a_missing_path_is_skipped() {
    let d = Dir::new("dir");
    d.write("conf.d/20-b.yaml", "priority: error\nrules_files: [/2.yaml]\n");
    d.write("conf.d/10-a.yaml", "priority: warning\nrules_files: [/1.yaml]\n");
    let c = ok(&format!("config_files: [{}, /nonexistent/config.d]\nrules_files: [/0.yaml]\n", d.0.join("conf.d").display()), &[]);
    assert_eq!(c.priority, "error");
    assert_eq!(c.rules_files, [PathBuf::from("/0.yaml"), PathBuf::from("/1.yaml"), PathBuf::from("/2.yaml")]);
    assert_eq!(c.included_files, [d.0.join("conf.d/10-a.yaml"), d.0.join("conf.d/20-b.yaml")]);
}

#[test]
fn drop_in_errors_and_warnings_name_the_drop_in() {
    let d = Dir::new("errors");
    let bad = d.write("bad.yaml", "json_output: true\nwebserver:\n  listen_prot: 1\n");
    let e = parse(&format!("config_files: [{}]\n", bad.display()), "falco.yaml", &[]).expect_err("unknown key");
    assert!(e.to_string().starts_with(&format!("{}:3:3: webserver.listen_prot: unknown field", bad.display())), "{e}");
    let nested = d.write("nested.yaml", "json_output: true\nconfig_files: [/x.yaml]\n");
    let e = parse(&format!("config_files: [{}]\n", nested.display()), "falco.yaml", &[]).expect_err("nested");
    assert_eq!(e.to_string(), format!("{}:2:1: config_files: an included file may not include others", nested.display()));
    let warn = d.write("warn.yaml", "\nengine: {kind: kmod}\n");
    let c = ok(&format!("config_files: [{}]\n", warn.display()), &[]);
    assert_eq!(c.warnings[0].at, Some(format!("{}:2:1", warn.display())));
    let e = parse("config_files: [{path: /x, strategy: merge}]\n", "falco.yaml", &[]).expect_err("bad strategy");
    assert!(e.to_string().contains("config_files:"), "{e}");
}

#[test]
fn append_output_reaches_the_matching_rules_outputs() {
    let d = Dir::new("append");
    let rule = |name: &str, tag: &str| {
        format!("- rule: {name}\n  desc: d\n  condition: evt.type = open\n  output: opened by %proc.name\n  priority: WARNING\n  tags: [{tag}]\n")
    };
    let file = d.write("r.yaml", &format!("{}{}", rule("Tagged", "t"), rule("Other", "u")));
    let c = ok(
        &format!("rules_files: [{}]\nappend_output:\n  - match: {{tags: [t]}}\n    extra_output: \"on CPU %evt.cpu\"\n", file.display()),
        &[],
    );
    let loaded = crate::rules_load::load(&c).expect("rules");
    let fields = |name: &str| -> Vec<String> {
        let r = loaded.ruleset.rules().iter().find(|r| r.name == name).expect("rule");
        r.output.field_names().map(str::to_owned).collect()
    };
    assert_eq!(fields("Tagged"), ["proc.name", "evt.cpu"]);
    assert_eq!(fields("Other"), ["proc.name"]);
}

#[test]
fn no_rules_configured_means_the_installed_directory_or_the_built_in_rules() {
    use crate::config::DefaultRules;
    let d = Dir::new("defaults");
    let mut c = Config::default();
    assert_eq!(c.with_default_rules(&d.0.join("absent")), DefaultRules::BuiltIn);
    assert!(c.builtin_rules && c.rules_files.is_empty());
    let loaded = crate::rules_load::load(&c).expect("the built-in rules load");
    let names: Vec<&str> = loaded.ruleset.rules().iter().map(|r| r.name.as_str()).collect();
    assert!(names.contains(&"Palisade: sensitive file read in container"), "{names:?}");
    let mut c = Config::default();
    assert_eq!(c.with_default_rules(&d.0), DefaultRules::Installed(d.0.clone()));
    assert_eq!((c.rules_files.as_slice(), c.builtin_rules), ([d.0.clone()].as_slice(), false));
    let mut c = Config { rules_files: vec![PathBuf::from("/mine.yaml")], ..Config::default() };
    assert_eq!(c.with_default_rules(&d.0), DefaultRules::Configured);
    assert_eq!((c.rules_files.as_slice(), c.builtin_rules), ([PathBuf::from("/mine.yaml")].as_slice(), false));
}

#[test]
fn a_reload_watches_the_drop_ins_and_their_directories() {
    let d = Dir::new("watch");
    let file = d.write("conf.d/10-x.yaml", "json_output: true\n");
    let main = d.write("falco.yaml", "");
    let c = ok(&format!("config_files: [{}]\n", d.0.join("conf.d").display()), &[]);
    let watched = crate::rules_load::watched_files(Some(&main), &c, &[PathBuf::from("/r.yaml")]);
    assert_eq!(watched, [main.clone(), file, d.0.join("conf.d"), PathBuf::from("/r.yaml")]);
}

#[test]
fn the_installed_palisade_yaml_has_no_warnings() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../install/palisade.yaml");
    let text = std::fs::read_to_string(&path).expect("install/palisade.yaml");
    let c = parse(&text, "palisade.yaml", &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.warnings, []);
}

#[test]
fn a_drop_action_of_exit_is_taken_out_with_a_warning() {
    use crate::config::DropAction;
    let c = ok("syscall_event_drops:\n  actions: [log, exit, alert]\n", &[]);
    assert_eq!(c.syscall_event_drops.actions, [DropAction::Log, DropAction::Alert]);
    assert_eq!(keys(&c), ["syscall_event_drops.actions"]);
    assert_eq!(c.warnings[0].at.as_deref(), Some("falco.yaml:2:3"));
    let c = ok("syscall_event_drops:\n  actions: [ignore]\n", &[]);
    assert_eq!((c.syscall_event_drops.actions.as_slice(), c.warnings.len()), ([DropAction::Ignore].as_slice(), 0));
    assert!(parse("syscall_event_drops:\n  actions: [stop]\n", "falco.yaml", &[]).is_err(), "other values stay errors");
}

#[test]
fn the_health_check_path_is_falcos_k8s_healthz_endpoint() {
    let c = ok("webserver: {k8s_healthz_endpoint: /health}\n", &[]);
    assert!(c.warnings.is_empty(), "honoured: {:?}", c.warnings);
    assert_eq!(c.webserver.k8s_healthz_endpoint, "/health");
    assert_eq!(Config::default().webserver.k8s_healthz_endpoint, "/healthz");
    for bad in ["health", "/metrics", "/a b", "/h?x=1"] {
        let e = parse(&format!("webserver: {{k8s_healthz_endpoint: \"{bad}\"}}\n"), "falco.yaml", &[]).expect_err(bad);
        assert!(e.to_string().contains("webserver.k8s_healthz_endpoint"), "{bad}: {e}");
    }
}
