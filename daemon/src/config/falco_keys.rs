//! Falco's `falco.yaml` keys and what Palisade does with each: the one table ([`FALCO_KEYS`]).
//!
//! A Falco user's configuration must start Palisade unchanged. Every key of Falco's stock file
//! (0.44) — nested ones too — is in the table, with one of three treatments:
//!
//! - [`Treatment::Honoured`]: read into [`super::Config`] with Falco's meaning (the table says
//!   where it acts). Nothing happens here; serde reads it.
//! - [`Treatment::NotApplicable`]: the concept does not exist in Palisade (its own eBPF
//!   programs instead of Falco's drivers, no plugins, no libsinsp tables). The key is removed
//!   before serde reads the rest, and one warning names its full dotted path and says why —
//!   unless its value asks for what Palisade does anyway (`capture.enabled: false`,
//!   `base_syscalls` at its defaults), which is not worth a line on every start.
//! - [`Treatment::Translated`]: Falco's form is rewritten into Palisade's own keys (a `k8saudit`
//!   plugin into `k8s_audit`, `outputs_queue.capacity: 0` into a bound); the function returns
//!   the warnings the rewrite owes.
//!
//! Keys are looked up after the drop-ins (`config_files`) are merged and `-o` applied, so a key
//! from either is treated the same. A key in none of the table and unknown to [`super::Config`]
//! stays an error (file:line:col): a misspelt key must not be ignored.

use serde_json::{Map, Value};

/// One warning about a key that was accepted but is not applied (or applied differently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The key's full dotted path (`engine`, `http_output.echo`, `plugins[container]`).
    pub key: String,
    /// `file:line:col` where the key is written, when it is in a file (not for `-o` keys).
    pub at: Option<String>,
    /// Why it does not apply, or what was done instead.
    pub reason: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{at}: {}: {}", self.key, self.reason),
            None => write!(f, "{}: {}", self.key, self.reason),
        }
    }
}

/// A warning about `key` (no position yet: [`super::load`] adds it).
pub(super) fn warning(key: impl Into<String>, reason: impl Into<String>) -> ConfigWarning {
    ConfigWarning { key: key.into(), at: None, reason: reason.into() }
}

/// What Palisade does with one Falco key.
pub(super) enum Treatment {
    /// Read by serde into `Config`; the text says where it takes effect.
    Honoured(&'static str),
    /// Removed and warned about with `reason`, unless `same` says its value asks for what
    /// Palisade does anyway.
    NotApplicable { reason: &'static str, same: fn(&Value) -> bool },
    /// Removed and rewritten into Palisade's keys by the function (given the root mapping and
    /// the removed value), which returns its warnings.
    Translated(fn(&mut Map<String, Value>, Value) -> Vec<ConfigWarning>),
}

/// One row of the table.
pub(super) struct FalcoKey {
    pub(super) path: &'static str,
    pub(super) treatment: Treatment,
}

const fn honoured(path: &'static str, where_: &'static str) -> FalcoKey {
    FalcoKey { path, treatment: Treatment::Honoured(where_) }
}

const fn not_applicable(path: &'static str, reason: &'static str, same: fn(&Value) -> bool) -> FalcoKey {
    FalcoKey { path, treatment: Treatment::NotApplicable { reason, same } }
}

const fn translated(path: &'static str, f: fn(&mut Map<String, Value>, Value) -> Vec<ConfigWarning>) -> FalcoKey {
    FalcoKey { path, treatment: Treatment::Translated(f) }
}

fn never(_: &Value) -> bool {
    false
}

fn is_false(v: &Value) -> bool {
    v == &Value::Bool(false)
}

fn is_zero(v: &Value) -> bool {
    v.as_u64() == Some(0)
}

/// A section off: `{enabled: false}` (or no `enabled` at all).
fn section_off(v: &Value) -> bool {
    v.get("enabled").is_none_or(is_false)
}

/// `base_syscalls` at Falco's defaults: the syscalls the rules need, which is what Palisade's
/// capture plan picks.
fn base_syscalls_default(v: &Value) -> bool {
    let empty_list = |k: &str| v.get(k).is_none_or(|l| l.as_array().is_some_and(Vec::is_empty) || l.is_null());
    let off = |k: &str| v.get(k).is_none_or(is_false);
    empty_list("custom_set") && off("repair") && off("all")
}

/// Falco's stock value: 0 (auto).
fn threadiness_auto(v: &Value) -> bool {
    is_zero(v)
}

/// Every Falco key Palisade knows, in `falco.yaml`'s order. A test checks that each key of the
/// stock file is here and that every `Honoured` one is read by `Config`.
pub(super) const FALCO_KEYS: &[FalcoKey] = &[
    honoured("config_files", "drop-in files merged after the main one (append, override, add-only)"),
    honoured("watch_config_files", "a change to the configuration or a rules file reloads"),
    honoured("rules_files", "the rules loaded, in order; directories' *.yaml sorted"),
    honoured("rules", "enable/disable selections by rule name or tag"),
    not_applicable(
        "engine",
        "Palisade loads its own CO-RE eBPF programs on tracepoints: there is no kmod/ebpf/modern_ebpf \
         driver to choose (its one ring buffer is sized by ring_buffer_mib; a capture is replayed with \
         `palisade replay`)",
        never,
    ),
    not_applicable(
        "capture",
        "rule-triggered captures are not implemented; record a container with `palisade capture`",
        section_off,
    ),
    translated("load_plugins", super::plugins::load_plugins),
    translated("plugins", super::plugins::plugins),
    not_applicable(
        "plugins_hostinfo",
        "Palisade runs no plugins: container metadata and the k8s_audit source are built in",
        never,
    ),
    honoured("time_format_iso_8601", "alert text lines start with an ISO 8601 UTC time"),
    not_applicable(
        "buffer_format_base64",
        "Palisade's events carry no data buffers to print (no evt.buffer)",
        is_false,
    ),
    honoured("priority", "rules less severe are not loaded"),
    honoured("json_output", "alerts as Falco JSON"),
    honoured("json_include_output_property", "JSON `output`"),
    honoured("json_include_message_property", "JSON `message` (the output without time and priority)"),
    honoured("json_include_output_fields_property", "JSON `output_fields`"),
    honoured("json_include_tags_property", "JSON `tags`"),
    not_applicable(
        "buffered_outputs",
        "Palisade's outputs write and flush every batch of alerts as it comes (unbuffered)",
        is_false,
    ),
    honoured("rule_matching", "first or all matching rules per event"),
    translated("outputs_queue.capacity", outputs_queue_capacity),
    honoured("append_output", "extra_output appended to the matching rules' output at load"),
    honoured("stdout_output", "alerts on stdout"),
    honoured("syslog_output", "alerts to syslog (/dev/log)"),
    honoured("file_output", "alerts appended to a file"),
    honoured("http_output.enabled", "alerts POSTed"),
    honoured("http_output.url", "where"),
    honoured("http_output.user_agent", "User-Agent"),
    honoured("http_output.insecure", "no certificate check"),
    honoured("http_output.ca_cert", "CA file"),
    honoured("http_output.ca_bundle", "CA file when ca_cert is empty"),
    honoured("http_output.ca_path", "CA directory"),
    honoured("http_output.mtls", "client certificate"),
    honoured("http_output.client_cert", "client certificate"),
    honoured("http_output.client_key", "client key"),
    not_applicable("http_output.echo", "the HTTP output does not print the server's answers", is_false),
    not_applicable("http_output.compress_uploads", "alerts are POSTed uncompressed", is_false),
    not_applicable(
        "http_output.keep_alive",
        "the HTTP output always keeps its connection open between alerts",
        |v| v == &Value::Bool(true),
    ),
    not_applicable(
        "http_output.max_consecutive_timeouts",
        "each request has its own 10 s timeout; a failed alert is counted and the next is sent",
        never,
    ),
    honoured("program_output", "alerts piped to a program"),
    honoured("webserver.enabled", "/healthz (and /metrics)"),
    not_applicable(
        "webserver.threadiness",
        "the web server sizes its own threads (Falco's 0: automatic)",
        threadiness_auto,
    ),
    honoured("webserver.listen_port", "port"),
    honoured("webserver.listen_address", "address"),
    honoured("webserver.k8s_healthz_endpoint", "the health check's path"),
    honoured("webserver.prometheus_metrics_enabled", "/metrics"),
    honoured("webserver.ssl_enabled", "HTTPS"),
    honoured("webserver.ssl_certificate", "certificate and key in one PEM"),
    honoured("log_stderr", "daemon messages to stderr"),
    honoured("log_syslog", "daemon messages to syslog"),
    honoured("log_level", "daemon messages' least severity"),
    not_applicable(
        "libs_logger",
        "Palisade has no libscap/libsinsp: all its messages follow log_level",
        section_off,
    ),
    not_applicable(
        "output_timeout",
        "outputs never block the event loop: each has its own queue and thread, and an alert a slow \
         output cannot take is dropped and counted (palisade_outputs_dropped_total)",
        never,
    ),
    not_applicable(
        "syscall_event_timeouts",
        "Palisade drains its ring buffer every 10 ms; a quiet system is not an error",
        never,
    ),
    not_applicable(
        "syscall_event_drops.threshold",
        "Palisade counts lost records exactly and acts on every drop",
        never,
    ),
    translated("syscall_event_drops.actions", drop_actions),
    honoured("syscall_event_drops.rate", "reports per second"),
    honoured("syscall_event_drops.max_burst", "report burst"),
    not_applicable("syscall_event_drops.simulate_drops", "drops cannot be simulated", is_false),
    honoured("metrics", "parsed; Palisade's counters are on /metrics with webserver.prometheus_metrics_enabled"),
    not_applicable(
        "base_syscalls",
        "Palisade captures the syscalls the loaded rules and profiles need; the set cannot be widened or narrowed",
        base_syscalls_default,
    ),
    not_applicable(
        "falco_libs",
        "Palisade keeps its own process table (no libsinsp thread table or snaplen to size)",
        never,
    ),
    // Keys of older falco.yaml files (before 0.41), so an upgraded user's file starts too.
    not_applicable("grpc", "Falco's gRPC API is not offered; use http_output", section_off),
    not_applicable("grpc_output", "Falco's gRPC output is not offered; use http_output", section_off),
    not_applicable("modern_bpf", "see engine: Palisade's own eBPF programs", never),
    not_applicable("syscall_buf_size_preset", "see engine: Palisade's one ring buffer is sized by ring_buffer_mib", never),
    not_applicable("syscall_drop_failed_exit", "see engine: Palisade's own eBPF programs", never),
    not_applicable("container_engines", "Palisade asks containerd, CRI and podman itself", never),
    not_applicable("metadata_download", "Palisade has no Kubernetes metadata client", never),
];

/// `outputs_queue.capacity: 0` is Falco's unbounded queue; Palisade keeps every queue bounded
/// (an unbounded one lets a slow output take all memory, which Falco's own docs warn ends in
/// an OOM kill) and reads 0 as [`UNBOUNDED_STANDIN`] alerts per output.
fn outputs_queue_capacity(root: &mut Map<String, Value>, value: Value) -> Vec<ConfigWarning> {
    if !is_zero(&value) {
        set(root, "outputs_queue.capacity", value);
        return Vec::new();
    }
    set(root, "outputs_queue.capacity", Value::from(UNBOUNDED_STANDIN));
    vec![warning(
        "outputs_queue.capacity",
        format!(
            "0 (Falco: unbounded) is read as {UNBOUNDED_STANDIN} alerts per output: an unbounded queue lets \
             a slow output exhaust memory; beyond it alerts are dropped and counted"
        ),
    )]
}

/// `syscall_event_drops.actions`: `ignore`, `log` and `alert` as Falco; Falco's `exit` is
/// taken out with a warning — a security daemon that stops on a drop blinds itself for good,
/// which is what whoever causes the drops wants.
fn drop_actions(root: &mut Map<String, Value>, value: Value) -> Vec<ConfigWarning> {
    let Value::Array(items) = value else {
        set(root, "syscall_event_drops.actions", value);
        return Vec::new();
    };
    let (exit, kept): (Vec<Value>, Vec<Value>) = items.into_iter().partition(|v| v.as_str() == Some("exit"));
    set(root, "syscall_event_drops.actions", Value::Array(kept));
    if exit.is_empty() {
        return Vec::new();
    }
    vec![warning(
        "syscall_event_drops.actions",
        "exit is not offered: the daemon keeps running (stopping on drops would blind it); the other actions apply",
    )]
}

/// What `outputs_queue.capacity: 0` stands for: 64 Ki alerts per output (at ~1 KiB each, 64 MiB
/// at most), far beyond any burst the default 1,024 does not absorb.
pub const UNBOUNDED_STANDIN: usize = 65_536;

/// The table as text, one `(path, treatment)` a row: what `palisade` does with each Falco key
/// (for documentation and `config check`-style listings).
pub fn falco_key_table() -> Vec<(&'static str, String)> {
    FALCO_KEYS
        .iter()
        .map(|k| {
            let what = match &k.treatment {
                Treatment::Honoured(text) => format!("honoured: {text}"),
                Treatment::NotApplicable { reason, .. } => format!("not applicable: {reason}"),
                Treatment::Translated(_) => "translated into Palisade's keys".to_owned(),
            };
            (k.path, what)
        })
        .collect()
}

/// The value at dotted `path` under `root`, removed (an emptied parent mapping stays).
pub(super) fn take(root: &mut Map<String, Value>, path: &str) -> Option<Value> {
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (Some(parent), last),
        None => (None, path),
    };
    let map = match parent {
        None => root,
        Some(parent) => {
            let mut node = root;
            for part in parent.split('.') {
                node = node.get_mut(part)?.as_object_mut()?;
            }
            node
        }
    };
    map.remove(last)
}

/// Sets dotted `path` under `root`, creating mappings on the way (a non-mapping on the way is
/// replaced: only translations call this, on paths they own).
pub(super) fn set(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut node = root;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            node.insert(part.to_owned(), value);
            return;
        }
        let next = node.entry(part).or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Value::Object(map) = next else { return };
        node = map;
    }
}

/// Applies the table to `root`: removes what does not apply and translates what Falco spells
/// differently. Returns the warnings, one per key, in the table's order.
pub(super) fn apply(root: &mut Value) -> Vec<ConfigWarning> {
    let Some(map) = root.as_object_mut() else { return Vec::new() };
    let mut warnings = Vec::new();
    for key in FALCO_KEYS {
        match &key.treatment {
            Treatment::Honoured(_) => {}
            Treatment::NotApplicable { reason, same } => {
                if let Some(value) = take(map, key.path) {
                    if !same(&value) {
                        warnings.push(warning(key.path, *reason));
                    }
                }
            }
            Treatment::Translated(f) => {
                if let Some(value) = take(map, key.path) {
                    warnings.extend(f(map, value));
                }
            }
        }
    }
    warnings
}

#[cfg(test)]
#[path = "falco_keys_tests.rs"]
mod tests;
