//! `palisade.yaml`: Falco's configuration keys where Falco has the concept, plus Palisade's own.
//!
//! ```yaml
//! rules_files: [/etc/palisade/rules.d]    # files and directories (their *.yaml, sorted), in order
//! rules:                                   # applied in order after loading
//!   - disable: {rule: "Read sensitive file untrusted"}   # rule names may use `*`
//!   - enable: {tag: network}
//! priority: debug
//! rule_matching: first                     # first | all
//! json_output: false
//! json_include_output_property: true
//! json_include_tags_property: true
//! stdout_output: {enabled: true}
//! file_output: {enabled: false, keep_alive: false, filename: ./events.txt}
//! program_output: {enabled: false, keep_alive: false, program: "jq '{text: .output}' | curl ..."}
//! http_output: {enabled: false, url: "", user_agent: "falcosecurity/falco", insecure: false,
//!               ca_cert: "", ca_path: "", mtls: false, client_cert: "", client_key: ""}
//! syslog_output: {enabled: false}
//! webserver: {enabled: false, listen_address: 0.0.0.0, listen_port: 8765, prometheus_metrics_enabled: false,
//!             k8s_healthz_endpoint: /healthz, ssl_enabled: false, ssl_certificate: /etc/palisade/palisade.pem}   # cert + key in one PEM, as Falco
//! watch_config_files: true
//! syscall_event_drops: {actions: [log], rate: 0.03333, max_burst: 1}
//! outputs_queue: {capacity: 1024}
//! syscall_budget:                          # per-cgroup budget of frequent syscall records (opens,
//!   enabled: true                          #   socket I/O, dup, close, mmap) in the kernel; rare
//!   rate: 10000                            #   calls and process events are never budgeted.
//!   burst: 1000                            #   records/s refilling each cgroup; bucket size
//!   rare_rate: 1000                        # the same for rare calls (chmod, setuid, mount ...),
//!   rare_burst: 200                        #   a bucket of their own
//!   actions: [log, alert]                  # per-container drop report: ignore | log | alert
//!   report_rate: 0.03333                   #   reports per second per container (token bucket)
//!   report_max_burst: 1
//! ring_buffer_mib: 8                       # the kernel's event ring buffer (one for all CPUs): a
//!                                          #   power of two, 1 ..= 1024; at start only
//! alert_aggregation: {enabled: true, window: 1s}   # identical alerts: first at once, then a count
//! log_level: info                          # emergency alert critical error warning notice info debug
//! log_stderr: true                         # the daemon's own messages to stderr
//! log_syslog: false                        # ... and to syslog (/dev/log)
//! # Falco's stock falco.yaml is accepted as is: falco_keys.rs's table says, for every Falco key,
//! # whether it is honoured (config_files, time_format_iso_8601, json_include_message_property,
//! # json_include_output_fields_property, append_output, metrics, ...) or warned about once.
//! # Palisade's own
//! log_format: text                         # text | json (one JSON object a line), for stderr
//! mode: audit                              # audit | enforce (profiles may override; enforcement
//! profiles_dir: /etc/palisade/profiles     # backends are a later issue: until then, audit only)
//! host_monitoring: true
//! fail_closed: false                      # refuse a container the daemon cannot arm (the
//!                                          # hook's own failure_policy covers an unreachable daemon)
//! mode_annotation:                         # who may loosen a container's mode with the
//!   allow_loosen: false                    #   palisade.io/mode annotation (enforce -> audit):
//!   loosen_namespaces: []                  #   anyone, or containers of these namespaces (globs)
//! hook_socket: /run/palisade/hook.sock
//! hook_socket_group: ""                    # a group (name or gid) that may use the hook socket
//!                                          #   besides root (socket mode 0660); empty: root only
//! hook_socket_max_connections: 64          # served at once; more are refused at once
//! nri: {enabled: true, socket_path: /var/run/nri/nri.sock}
//! containerd_socket: /run/containerd/containerd.sock
//! k8s_audit:                               # the k8s_audit source (Falco's k8saudit plugin)
//!   enabled: false
//!   listen_address: 127.0.0.1              # loopback unless configured: any pod could post
//!   listen_port: 9765                      #   forged events to a webhook on 0.0.0.0
//!   endpoint: /k8s-audit                   # kube-apiserver --audit-webhook-config-file target
//!   files: []                              # audit logs (--audit-log-path) to follow like tail -F
//!   ssl_enabled: false                     # HTTPS (rustls)
//!   ssl_certificate: ""                    #   certificate chain PEM
//!   ssl_private_key: ""                    #   its key PEM (empty: in ssl_certificate)
//!   ssl_client_ca: ""                      # set: clients need a certificate it signed (mTLS)
//!   bearer_token_file: ""                  # set: `Authorization: Bearer <token in file>` required
//! ```
//!
//! Every key is optional; the defaults are [`Config::default`]'s (without a file: alerts to
//! stdout only). An unknown key, a wrong type or a bad value is an error naming file, line and
//! column: a security tool must not run on a configuration it misread. Differences from Falco's
//! defaults: `syslog_output` and `webserver` are off unless configured (a daemon started by hand
//! or by tests should not claim a port or syslog), and `outputs_queue.capacity` is bounded.

mod defaults;
mod dropins;
mod falco_keys;
mod falco_sections;
mod load;
mod plugins;

use std::path::PathBuf;

use serde::Deserialize;

pub use defaults::{DefaultRules, BUILTIN_RULES, BUILTIN_RULES_NAME, INSTALLED_RULES_DIR};
pub use dropins::{ConfigFile, Strategy};
pub use falco_keys::{falco_key_table, ConfigWarning, UNBOUNDED_STANDIN};
pub use falco_sections::{AppendMatch, AppendOutput, MetricsConfig};
pub use load::{load, parse, ConfigError};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub rules_files: Vec<PathBuf>,
    pub rules: Vec<RuleSelection>,
    pub priority: String,
    pub rule_matching: String,
    pub json_output: bool,
    pub json_include_output_property: bool,
    pub json_include_tags_property: bool,
    pub stdout_output: Enabled,
    pub file_output: FileOutput,
    pub program_output: ProgramOutput,
    pub http_output: HttpOutput,
    pub syslog_output: SyslogOutput,
    pub webserver: Webserver,
    pub watch_config_files: bool,
    pub syscall_event_drops: SyscallEventDrops,
    pub outputs_queue: OutputsQueue,
    pub syscall_budget: SyscallBudget,
    /// Palisade's: the kernel's event ring buffer, one for all CPUs, in MiB (a power of two,
    /// 1 ..= 1024; read at start). It holds the records between two drains, and all of a
    /// restart's gap with `--pin-root` (8 MiB: about 7,500 records).
    pub ring_buffer_mib: u32,
    pub alert_aggregation: AlertAggregation,
    /// Falco's `log_level`: the least severe daemon message logged (not alerts: see `priority`).
    pub log_level: LogLevel,
    /// Falco's `log_stderr`: daemon messages go to stderr.
    pub log_stderr: bool,
    /// Falco's `log_syslog`: daemon messages go to syslog too.
    pub log_syslog: bool,
    /// Palisade's: how stderr messages are written.
    pub log_format: LogFormat,
    pub mode: Mode,
    pub profiles_dir: PathBuf,
    pub host_monitoring: bool,
    pub fail_closed: bool,
    pub mode_annotation: ModeAnnotation,
    pub hook_socket: PathBuf,
    /// Palisade's: who may use the hook socket besides root (name or gid; empty: root only).
    pub hook_socket_group: String,
    /// Palisade's: connections the hook socket serves at once (more are refused at once).
    pub hook_socket_max_connections: usize,
    pub nri: Nri,
    pub containerd_socket: PathBuf,
    pub k8s_audit: K8sAudit,
    /// Falco's `config_files`: drop-ins merged after this file ([`dropins`]).
    pub config_files: Vec<ConfigFile>,
    /// Falco's `time_format_iso_8601`: text alerts start with `2024-02-29T12:34:56.000000007Z`
    /// instead of `12:34:56.000000007` (JSON's `time` is ISO 8601 either way).
    pub time_format_iso_8601: bool,
    /// Falco's `json_include_message_property`: JSON alerts carry `message`, the output without
    /// its time and priority.
    pub json_include_message_property: bool,
    /// Falco's `json_include_output_fields_property`: JSON alerts carry `output_fields`.
    pub json_include_output_fields_property: bool,
    /// Falco's `append_output`: text appended to the output of matching rules.
    pub append_output: Vec<AppendOutput>,
    /// Falco's `metrics`, parsed (Palisade serves its counters on `/metrics`).
    pub metrics: MetricsConfig,
    /// Falco keys accepted but not applied, one warning each (logged at start and on reload).
    #[serde(skip)]
    pub warnings: Vec<ConfigWarning>,
    /// The `config_files` drop-ins read, in merge order.
    #[serde(skip)]
    pub included_files: Vec<PathBuf>,
    /// Load [`BUILTIN_RULES`] (before `rules_files`): set by [`Config::with_default_rules`]
    /// when nothing names any rules.
    #[serde(skip)]
    pub builtin_rules: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            rules_files: Vec::new(),
            rules: Vec::new(),
            priority: "debug".into(),
            rule_matching: "first".into(),
            json_output: false,
            json_include_output_property: true,
            json_include_tags_property: true,
            stdout_output: Enabled { enabled: true },
            file_output: FileOutput::default(),
            program_output: ProgramOutput::default(),
            http_output: HttpOutput::default(),
            syslog_output: SyslogOutput::default(),
            webserver: Webserver::default(),
            watch_config_files: true,
            syscall_event_drops: SyscallEventDrops::default(),
            outputs_queue: OutputsQueue::default(),
            syscall_budget: SyscallBudget::default(),
            ring_buffer_mib: crate::kernel::DEFAULT_RING_MIB,
            alert_aggregation: AlertAggregation::default(),
            log_level: LogLevel::Info,
            log_stderr: true,
            log_syslog: false,
            log_format: LogFormat::Text,
            mode: Mode::Audit,
            profiles_dir: PathBuf::from("/etc/palisade/profiles"),
            host_monitoring: true,
            fail_closed: false,
            mode_annotation: ModeAnnotation::default(),
            hook_socket: PathBuf::from("/run/palisade/hook.sock"),
            hook_socket_group: String::new(),
            hook_socket_max_connections: 64,
            nri: Nri::default(),
            containerd_socket: PathBuf::from("/run/containerd/containerd.sock"),
            k8s_audit: K8sAudit::default(),
            config_files: Vec::new(),
            time_format_iso_8601: false,
            json_include_message_property: false,
            json_include_output_fields_property: true,
            append_output: Vec::new(),
            metrics: MetricsConfig::default(),
            warnings: Vec::new(),
            included_files: Vec::new(),
            builtin_rules: false,
        }
    }
}

/// Falco's `log_level` names, most severe first (syslog's order). `tracing` has fewer levels:
/// emergency to error log errors only, warning warnings too, notice and info informational
/// messages, debug everything ([`LogLevel::tracing_filter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Emergency,
    Alert,
    Critical,
    Error,
    Warning,
    Notice,
    Info,
    Debug,
}

impl LogLevel {
    /// The `tracing` filter directive (an `EnvFilter` level) this level maps to.
    pub fn tracing_filter(self) -> &'static str {
        match self {
            LogLevel::Emergency | LogLevel::Alert | LogLevel::Critical | LogLevel::Error => "error",
            LogLevel::Warning => "warn",
            LogLevel::Notice | LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

/// `log_format`: human text lines, or one JSON object a line (fields kept as keys), for log
/// collectors. Neither has ANSI colours unless stderr is a terminal (journald stores the bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// `mode_annotation`: the authority of the `palisade.io/mode` annotation. It may always tighten
/// a container's mode (audit → enforce); it loosens (enforce → audit) only where this allows.
/// The default refuses every loosening: whoever creates a container (in Kubernetes, every
/// workload author) must not be able to switch its enforcement off. A refused loosening keeps
/// the stricter mode, is logged and raises one `Palisade mode override refused` alert.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModeAnnotation {
    /// Any container's annotation may loosen its mode.
    pub allow_loosen: bool,
    /// Containers in these namespaces may loosen: globs (`*`, `?`, `[a-z]`) over the pod's
    /// Kubernetes namespace for CRI containers, else the containerd namespace (`ctr -n NS`).
    /// A CRI container is never matched by its containerd namespace (`k8s.io`).
    pub loosen_namespaces: Vec<String>,
}

/// One `rules:` entry: enable or disable rules by name (with `*` wildcards) or tag.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum RuleSelection {
    Enable(Selector),
    Disable(Selector),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Selector {
    Rule(String),
    Tag(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Audit,
    Enforce,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Enabled {
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileOutput {
    pub enabled: bool,
    pub keep_alive: bool,
    pub filename: PathBuf,
}

impl Default for FileOutput {
    fn default() -> Self {
        FileOutput { enabled: false, keep_alive: false, filename: PathBuf::from("./events.txt") }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProgramOutput {
    pub enabled: bool,
    pub keep_alive: bool,
    pub program: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpOutput {
    pub enabled: bool,
    pub url: String,
    pub user_agent: String,
    pub insecure: bool,
    pub ca_cert: String,
    pub ca_path: String,
    pub mtls: bool,
    pub client_cert: String,
    pub client_key: String,
    /// Falco's CA bundle file: used as `ca_cert` when that is empty.
    pub ca_bundle: String,
}

impl Default for HttpOutput {
    fn default() -> Self {
        HttpOutput {
            enabled: false,
            url: String::new(),
            user_agent: "falcosecurity/falco".into(),
            insecure: false,
            ca_cert: String::new(),
            ca_path: String::new(),
            mtls: false,
            client_cert: String::new(),
            client_key: String::new(),
            ca_bundle: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyslogOutput {
    pub enabled: bool,
    /// Palisade's addition: the syslog socket (Falco always uses `/dev/log`).
    pub socket: PathBuf,
}

impl Default for SyslogOutput {
    fn default() -> Self {
        SyslogOutput { enabled: false, socket: PathBuf::from("/dev/log") }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Webserver {
    pub enabled: bool,
    pub listen_address: String,
    pub listen_port: u16,
    pub prometheus_metrics_enabled: bool,
    /// Falco's: the health check's path (`/healthz`; a kubelet's liveness probe names it).
    pub k8s_healthz_endpoint: String,
    /// Falco's: serve HTTPS with `ssl_certificate`.
    pub ssl_enabled: bool,
    /// Falco's: one PEM file holding the certificate chain and its private key.
    pub ssl_certificate: PathBuf,
}

impl Default for Webserver {
    fn default() -> Self {
        Webserver {
            enabled: false,
            listen_address: "0.0.0.0".into(),
            listen_port: 8765,
            prometheus_metrics_enabled: false,
            k8s_healthz_endpoint: palisade_web::HEALTHZ_PATH.into(),
            ssl_enabled: false,
            ssl_certificate: PathBuf::from("/etc/palisade/palisade.pem"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyscallEventDrops {
    /// `ignore`, `log`, `alert` (Falco's `exit` is not offered: a security daemon keeps running).
    pub actions: Vec<DropAction>,
    /// Reports per second (token bucket), as Falco.
    pub rate: f64,
    pub max_burst: u32,
}

impl Default for SyscallEventDrops {
    fn default() -> Self {
        SyscallEventDrops { actions: vec![DropAction::Log], rate: 0.03333, max_burst: 1 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DropAction {
    Ignore,
    Log,
    Alert,
}

/// `syscall_budget`: token buckets per cgroup in the kernel programs for syscall records, one
/// for the frequent calls (`kernel::conf_table::BUDGETED_EVENTS`), one for the rare ones, so one flooding cgroup cannot fill the shared
/// ring buffer and starve the others. Records over budget are counted per cgroup and reported
/// per container (metric, `palisade status`, the `Palisade internal: syscall event budget
/// exceeded` alert). Size `rate` below what the daemon evaluates per second (alerting records
/// cost most), divided by the cgroups expected to flood at once; `burst` × the cgroups that may
/// burst together must fit the ring buffer (`ring_buffer_mib`, 8 MiB: ~5,300 syscall records), which a burst
/// fills faster than the daemon's 10 ms drain empties it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyscallBudget {
    pub enabled: bool,
    /// Records per second refilling each cgroup's bucket (1 ..= 100,000,000).
    pub rate: u64,
    /// Bucket size in records (1 ..= 1,000,000).
    pub burst: u64,
    /// The same for the rare calls (every captured call not in `BUDGETED_EVENTS`): their own
    /// bucket, so a flood of opens leaves them untouched while a flood of one of them is held.
    pub rare_rate: u64,
    pub rare_burst: u64,
    /// What a container's drops do: `ignore`, `log`, `alert`.
    pub actions: Vec<DropAction>,
    /// Reports per second per container (token bucket), as `syscall_event_drops.rate`.
    pub report_rate: f64,
    pub report_max_burst: u32,
}

impl Default for SyscallBudget {
    fn default() -> Self {
        SyscallBudget {
            enabled: true,
            rate: 10_000,
            burst: 1_000,
            rare_rate: 1_000,
            rare_burst: 200,
            actions: vec![DropAction::Log, DropAction::Alert],
            report_rate: 0.03333,
            report_max_burst: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputsQueue {
    /// Alerts waiting for the outputs; beyond it they are counted and dropped, never blocking
    /// the event path. Falco's 0 (unbounded) is refused: memory is not a queue.
    pub capacity: usize,
}

impl Default for OutputsQueue {
    fn default() -> Self {
        OutputsQueue { capacity: 1024 }
    }
}

/// Identical-alert aggregation (see `alert_sink::aggregate`): the first of identical alerts (same
/// rule, process, container and output) is emitted at once, the identical ones within `window`
/// after it are counted into one summary alert at the window's end. Off: every alert is a line,
/// as Falco writes them.
///
/// On by default: an alert storm (one process repeating an alerting action in a loop) otherwise
/// fills the outputs' queues, and the distinct alerts behind it are dropped — the storm blinds
/// the detection. With aggregation the storm costs two lines per window and its count is exact.
/// One second keeps the summary close to real time while folding any loop faster than 1/s.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertAggregation {
    pub enabled: bool,
    /// `500ms`, `1s`, `2m`, or a number of seconds; from 1 ms to 1 h.
    #[serde(deserialize_with = "load::duration")]
    pub window: std::time::Duration,
}

impl Default for AlertAggregation {
    fn default() -> Self {
        AlertAggregation { enabled: true, window: std::time::Duration::from_secs(1) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Nri {
    pub enabled: bool,
    pub socket_path: PathBuf,
}

impl Default for Nri {
    fn default() -> Self {
        Nri { enabled: true, socket_path: PathBuf::from("/var/run/nri/nri.sock") }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct K8sAudit {
    pub enabled: bool,
    /// Default `127.0.0.1`: a webhook on every interface lets any pod post forged audit events
    /// (or flood the daemon); expose it deliberately, with TLS and a token or client certificates.
    /// The same address and port as `webserver` share one listener (with the same TLS).
    pub listen_address: String,
    pub listen_port: u16,
    pub endpoint: String,
    pub files: Vec<PathBuf>,
    /// Serve the webhook over HTTPS.
    pub ssl_enabled: bool,
    /// The certificate chain (PEM).
    pub ssl_certificate: PathBuf,
    /// Its private key (PEM); empty: in `ssl_certificate`, as Falco's combined file.
    pub ssl_private_key: PathBuf,
    /// CA certificates (PEM) that sign accepted client certificates: set, every webhook request
    /// needs one (mutual TLS, what kube-apiserver's webhook kubeconfig `client-certificate` sends).
    pub ssl_client_ca: PathBuf,
    /// A file holding a token: set, every webhook request needs `Authorization: Bearer <token>`
    /// (kube-apiserver's webhook kubeconfig `token`). Compared in constant time.
    pub bearer_token_file: PathBuf,
}

impl Default for K8sAudit {
    fn default() -> Self {
        K8sAudit {
            enabled: false,
            listen_address: "127.0.0.1".into(),
            listen_port: 9765,
            endpoint: "/k8s-audit".into(),
            files: Vec::new(),
            ssl_enabled: false,
            ssl_certificate: PathBuf::new(),
            ssl_private_key: PathBuf::new(),
            ssl_client_ca: PathBuf::new(),
            bearer_token_file: PathBuf::new(),
        }
    }
}
