//! Families of the web server and the k8s-audit source. Every label value is a `&'static str`
//! chosen by the caller's code (a reason, a phase, a source name), so each family has a handful
//! of series.
//!
//! | family | type | labels |
//! |---|---|---|
//! | `palisade_web_connections_refused_total` | counter | `reason` = `connection_limit` \| `per_client_limit` |
//! | `palisade_web_deadline_closed_total` | counter | `phase` = `idle` \| `head` \| `request` |
//! | `palisade_k8s_audit_rejected_total` | counter | `reason` = `unauthorized` \| `too_large` \| `busy` \| `queue_full` \| `invalid` |
//! | `palisade_k8s_audit_bad_lines_total` | counter | `source` = `file` \| `webhook` |
//! | `palisade_k8s_audit_budget_spent_total` | counter | |

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::Metrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

/// The families of this module, registered by [`Metrics::new`].
pub(crate) struct SourceFamilies {
    web_refused: Family<ReasonLabels, Counter>,
    web_deadline: Family<PhaseLabels, Counter>,
    audit_rejected: Family<ReasonLabels, Counter>,
    audit_bad_lines: Family<SourceLabels, Counter>,
    audit_budget_spent: Counter,
}

impl SourceFamilies {
    pub(crate) fn register(registry: &mut Registry) -> SourceFamilies {
        let families = SourceFamilies {
            web_refused: Family::default(),
            web_deadline: Family::default(),
            audit_rejected: Family::default(),
            audit_bad_lines: Family::default(),
            audit_budget_spent: Counter::default(),
        };
        registry.register(
            "web_connections_refused",
            "Connections the web server closed at accept, by limit reached",
            families.web_refused.clone(),
        );
        registry.register(
            "web_deadline_closed",
            "Connections the web server closed at their deadline, by what they were doing",
            families.web_deadline.clone(),
        );
        registry.register(
            "k8s_audit_rejected",
            "k8s audit webhook requests refused, by reason",
            families.audit_rejected.clone(),
        );
        registry.register(
            "k8s_audit_bad_lines",
            "k8s audit log lines and webhook items that were not audit events (skipped), by source",
            families.audit_bad_lines.clone(),
        );
        registry.register(
            "k8s_audit_budget_spent",
            "Event-loop drains that forwarded their whole k8s audit alert budget and left alerts for the next drain",
            families.audit_budget_spent.clone(),
        );
        families
    }
}

impl Metrics {
    /// Counts a connection closed at accept (`palisade_web_connections_refused_total{reason}`).
    pub fn web_connection_refused(&self, reason: &'static str) {
        self.sources.web_refused.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Counts a connection closed at its deadline (`palisade_web_deadline_closed_total{phase}`).
    pub fn web_deadline_closed(&self, phase: &'static str) {
        self.sources.web_deadline.get_or_create(&PhaseLabels { phase }).inc();
    }

    /// Counts a refused webhook request (`palisade_k8s_audit_rejected_total{reason}`).
    pub fn k8s_audit_rejected(&self, reason: &'static str) {
        self.sources.audit_rejected.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Counts `n` skipped lines or items (`palisade_k8s_audit_bad_lines_total{source}`).
    pub fn k8s_audit_bad_lines(&self, source: &'static str, n: u64) {
        self.sources.audit_bad_lines.get_or_create(&SourceLabels { source }).inc_by(n);
    }

    /// Counts a drain that spent its audit alert budget (`palisade_k8s_audit_budget_spent_total`).
    pub fn k8s_audit_budget_spent(&self) {
        self.sources.audit_budget_spent.inc();
    }
}
