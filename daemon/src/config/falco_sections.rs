//! Falco sections with no Palisade counterpart before Falco's file was accepted: `append_output`
//! and `metrics`, and the warnings their values owe (parts Palisade does not apply).

use serde::Deserialize;
use serde_json::Value;

use super::falco_keys::{warning, ConfigWarning};
use super::Config;

/// One `append_output` entry (Falco ≥ 0.39): for the rules `match` selects (all when empty),
/// `extra_output` is appended to the output text at load time, as Falco compiles it in.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppendOutput {
    #[serde(rename = "match")]
    pub matches: AppendMatch,
    /// A format (`on CPU %evt.cpu`) appended to the output after a space.
    pub extra_output: String,
    /// Fields added to `output_fields` only: not applied yet (a warning says so).
    pub extra_fields: Vec<Value>,
    /// Falco: append the fields plugins suggest. Palisade always appends its container fields
    /// (`container_id=... k8s_pod_name=...`), which is what the container plugin suggests.
    pub suggested_output: Option<bool>,
}

/// Which rules an [`AppendOutput`] applies to: all the given conditions hold.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppendMatch {
    pub source: String,
    /// The rule carries all of these tags.
    pub tags: Vec<String>,
    pub rule: String,
}

/// Falco's `metrics` section, read so a Falco file is checked (types, unknown keys) rather than
/// skipped. Palisade's counters are always kept and served on `/metrics` when
/// `webserver.prometheus_metrics_enabled` is set; periodic snapshots (`interval`,
/// `output_rule`, `output_file`) are not written (a warning says so when `enabled`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// Falco's interval text (`1h`, `15m`, `30s`).
    pub interval: String,
    pub output_rule: bool,
    pub output_file: String,
    pub rules_counters_enabled: bool,
    pub resource_utilization_enabled: bool,
    pub state_counters_enabled: bool,
    pub kernel_event_counters_enabled: bool,
    pub kernel_event_counters_per_cpu_enabled: bool,
    pub libbpf_stats_enabled: bool,
    pub plugins_metrics_enabled: bool,
    pub kernel_iter_event_counters_enabled: bool,
    pub jemalloc_stats_enabled: bool,
    pub convert_memory_to_mb: bool,
    pub include_empty_values: bool,
}

impl Default for MetricsConfig {
    /// Falco's stock values.
    fn default() -> Self {
        MetricsConfig {
            enabled: false,
            interval: "1h".into(),
            output_rule: true,
            output_file: String::new(),
            rules_counters_enabled: true,
            resource_utilization_enabled: true,
            state_counters_enabled: true,
            kernel_event_counters_enabled: true,
            kernel_event_counters_per_cpu_enabled: false,
            libbpf_stats_enabled: true,
            plugins_metrics_enabled: true,
            kernel_iter_event_counters_enabled: true,
            jemalloc_stats_enabled: false,
            convert_memory_to_mb: true,
            include_empty_values: false,
        }
    }
}

/// Warnings about values of honoured sections that Palisade applies only in part.
pub(super) fn warnings(c: &Config) -> Vec<ConfigWarning> {
    let mut out = Vec::new();
    for (i, a) in c.append_output.iter().enumerate() {
        if !a.extra_fields.is_empty() {
            out.push(warning(
                format!("append_output[{i}].extra_fields"),
                "fields added to output_fields alone are not supported; put them in extra_output",
            ));
        }
        if a.suggested_output == Some(false) {
            out.push(warning(
                format!("append_output[{i}].suggested_output"),
                "Palisade always appends its container fields to rule alerts",
            ));
        }
    }
    if c.metrics.enabled {
        out.push(warning(
            "metrics.enabled",
            "periodic metrics snapshots (interval, output_rule, output_file) are not written; Palisade's \
             counters are served on /metrics with webserver.prometheus_metrics_enabled",
        ));
    }
    out
}

impl Config {
    /// The rules loader's `append_output` options.
    pub fn extra_outputs(&self) -> Vec<palisade_rules::loader::ExtraOutput> {
        self.append_output
        .iter()
        .filter(|a| !a.extra_output.trim().is_empty())
        .map(|a| palisade_rules::loader::ExtraOutput {
            source: a.matches.source.clone(),
            tags: a.matches.tags.clone(),
            rule: a.matches.rule.clone(),
            format: a.extra_output.clone(),
        })
        .collect()
}
}
