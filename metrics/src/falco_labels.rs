//! The label sets of the Falco-named families (`falco` module): Falco's rule-match labels with
//! one `tag_<tag>="true"` label per rule tag, and Falcosidekick's per-alert labels.

use std::sync::Arc;

use prometheus_client::encoding::{
    EncodeLabel, EncodeLabelKey, EncodeLabelSet, EncodeLabelValue, LabelSetEncoder,
};

use crate::labels::LabelValue;

/// Falco's number for a priority (`falco_common::priority_type`: Emergency 0 … Debug 7), as
/// `falcosecurity_falco_rules_matches_total`'s `priority` label carries it; `None` for a name
/// that is not a Falco priority.
pub(crate) fn falco_priority(name: &str) -> Option<u8> {
    PRIORITIES
        .iter()
        .position(|p| p.eq_ignore_ascii_case(name))
        .map(|i| i as u8)
        .or_else(|| name.eq_ignore_ascii_case("info").then_some(6))
}

/// Falcosidekick's number for a priority (its `PriorityType`: Debug 1 … Emergency 8; 0 for
/// none), the `priority` label of `falcosecurity_falcosidekick_falco_events_total`.
pub(crate) fn sidekick_priority(name: &str) -> u8 {
    falco_priority(name).map_or(0, |p| 8 - p)
}

/// Falco's priority names, in Falco's order.
const PRIORITIES: [&str; 8] = [
    "Emergency",
    "Alert",
    "Critical",
    "Error",
    "Warning",
    "Notice",
    "Informational",
    "Debug",
];

/// A label name as libs' Prometheus converter writes it (`prometheus_sanitize_metric_name`):
/// every character outside `[a-zA-Z0-9_]` becomes `_`, runs of `_` become one, and a name
/// that does not start with a letter or `_` gets a leading `_`. So the tag `T1059.004` is the
/// label `tag_T1059_004`.
pub(crate) fn sanitized_label_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// The `tag_<tag>` label names of a rule's tags: sanitized, sorted, without duplicates (two
/// tags that sanitize alike would otherwise repeat a label name and make the scrape invalid).
pub(crate) fn tag_labels(tags: &[String]) -> Arc<[Box<str>]> {
    let mut names: Vec<Box<str>> = tags
        .iter()
        .map(|t| sanitized_label_name(&format!("tag_{t}")).into())
        .collect();
    names.sort();
    names.dedup();
    names.into()
}

/// `falcosecurity_falco_rules_matches_total`'s labels: `rule_name`, `priority` (Falco's
/// number), `source` and `tag_<tag>="true"` per tag, as Falco's `falco_metrics.cpp` writes them.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(crate) struct MatchLabels {
    pub(crate) rule_name: LabelValue,
    pub(crate) priority: u8,
    pub(crate) source: LabelValue,
    pub(crate) tags: Arc<[Box<str>]>,
}

impl EncodeLabelSet for MatchLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabel::encode(&("rule_name", &self.rule_name), encoder.encode_label())?;
        EncodeLabel::encode(
            &("priority", u64::from(self.priority)),
            encoder.encode_label(),
        )?;
        EncodeLabel::encode(&("source", &self.source), encoder.encode_label())?;
        for tag in self.tags.iter() {
            EncodeLabel::encode(&(Key(tag), "true"), encoder.encode_label())?;
        }
        Ok(())
    }
}

/// A label name already made valid ([`sanitized_label_name`]).
struct Key<'a>(&'a str);

impl EncodeLabelKey for Key<'_> {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelKeyEncoder,
    ) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.0)
    }
}

impl EncodeLabelValue for &LabelValue {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder,
    ) -> Result<(), std::fmt::Error> {
        (*self).encode(encoder)
    }
}

/// `falcosecurity_falcosidekick_falco_events_total`'s labels, as Falcosidekick sets them from
/// the alert (`hostname`, `rule`, `priority` its number, `priority_raw` the lowercase name,
/// `source`, and `k8s_ns_name`/`k8s_pod_name` from the `k8s.ns.name`/`k8s.pod.name` fields,
/// empty outside a pod).
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub(crate) struct EventLabels {
    pub(crate) hostname: LabelValue,
    pub(crate) rule: LabelValue,
    pub(crate) priority: u8,
    pub(crate) priority_raw: LabelValue,
    pub(crate) source: LabelValue,
    pub(crate) k8s_ns_name: LabelValue,
    pub(crate) k8s_pod_name: LabelValue,
}

/// `falcosecurity_falco_version_info`'s, `falcosecurity_evt_hostname_info`'s, ... one label.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(crate) struct OneLabel(pub(crate) &'static str, pub(crate) LabelValue);

impl EncodeLabelSet for OneLabel {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabel::encode(&(self.0, &self.1), encoder.encode_label())
    }
}

/// `falcosecurity_falco_sha256_{rules,config}_files_info`'s labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub(crate) struct FileLabels {
    pub(crate) file_name: LabelValue,
    pub(crate) sha256: LabelValue,
}

/// `falcosecurity_scap_engine_name_info`'s labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub(crate) struct EngineLabels {
    pub(crate) engine_name: &'static str,
    pub(crate) evt_source: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_numbered_as_falco_and_falcosidekick_number_them() {
        assert_eq!(falco_priority("Emergency"), Some(0));
        assert_eq!(falco_priority("Warning"), Some(4));
        assert_eq!(falco_priority("Notice"), Some(5));
        assert_eq!(falco_priority("info"), Some(6));
        assert_eq!(falco_priority("Debug"), Some(7));
        assert_eq!(falco_priority("Bogus"), None);
        assert_eq!(sidekick_priority("Warning"), 4);
        assert_eq!(sidekick_priority("Critical"), 6);
        assert_eq!(sidekick_priority("Emergency"), 8);
        assert_eq!(sidekick_priority("Debug"), 1);
        assert_eq!(sidekick_priority("Bogus"), 0);
    }

    #[test]
    fn tag_label_names_are_sanitized_like_libs() {
        assert_eq!(sanitized_label_name("tag_T1059.004"), "tag_T1059_004");
        assert_eq!(
            sanitized_label_name("tag_NIST_800-53_AC-2"),
            "tag_NIST_800_53_AC_2"
        );
        assert_eq!(sanitized_label_name("tag_a..b"), "tag_a_b");
        assert_eq!(sanitized_label_name("1x"), "_1x");
        let tags = ["T1059.004", "T1059_004", "container"].map(String::from);
        assert_eq!(
            &*tag_labels(&tags),
            &["tag_T1059_004".into(), "tag_container".into()] as &[Box<str>]
        );
    }
}
