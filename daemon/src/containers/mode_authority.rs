//! Who may loosen a container's mode. The `palisade.io/mode` annotation comes from whoever
//! creates the container (in Kubernetes, every workload author), so it may always tighten
//! (audit → enforce) but loosens (enforce → audit) only where the node's configuration
//! (`mode_annotation` in `palisade.yaml`) allows: everywhere, or in listed namespaces. A refused
//! loosening keeps the stricter mode, is logged, and becomes one `Palisade mode override
//! refused` alert (collected by the registry, drained and sent by the event loop).
//!
//! The namespace is the pod's Kubernetes namespace for a CRI container, else the containerd
//! namespace (`ctr -n`): a pod never qualifies through containerd's `k8s.io`.

use palisade_profiles::glob::{Glob, GlobKind};
use palisade_profiles::{Mode, ModeAnnotationError};
use palisade_rules::alert::Alert;
use palisade_rules::output::FieldValue;
use serde_json::Value as Json;

use super::ContainerMeta;

/// The rule name of refused overrides.
pub const RULE: &str = "Palisade mode override refused";

/// The node's rule for loosening annotations. The default refuses every loosening.
#[derive(Debug, Clone, Default)]
pub struct ModeAuthority {
    /// Any container may loosen.
    pub allow_loosen: bool,
    /// Containers in a namespace matching one of these may loosen.
    pub loosen_namespaces: Vec<Glob>,
}

/// A loosening the node refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedOverride {
    /// What the annotation asked for.
    pub requested: Mode,
    /// What applies (the profile's or the configured mode).
    pub applied: Mode,
    /// The namespace judged (pod namespace, else containerd namespace).
    pub namespace: String,
}

impl ModeAuthority {
    /// From `palisade.yaml`'s `mode_annotation` (patterns already checked when it was loaded).
    pub fn from_config(c: &crate::config::ModeAnnotation) -> Result<ModeAuthority, String> {
        let loosen_namespaces = c
            .loosen_namespaces
            .iter()
            .map(|ns| Glob::new(ns, GlobKind::Image).map_err(|e| format!("mode_annotation.loosen_namespaces: {ns:?}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(ModeAuthority { allow_loosen: c.allow_loosen, loosen_namespaces })
    }

    /// The mode of a container whose profile (or the configuration) says `base` and whose
    /// annotation, if any, reads as `annotation`, in `namespace`: the mode, and the refusal
    /// when the annotation asked to loosen and may not. An unreadable annotation applies
    /// `enforce` (a typo never weakens), which is never a loosening.
    pub fn decide(
        &self,
        base: Mode,
        annotation: Option<Result<Mode, ModeAnnotationError>>,
        namespace: &str,
    ) -> (Mode, Option<RefusedOverride>) {
        let requested = match annotation {
            None => return (base, None),
            Some(Ok(m)) => m,
            Some(Err(e)) => e.fallback,
        };
        if requested >= base || self.may_loosen(namespace) {
            return (requested, None);
        }
        (base, Some(RefusedOverride { requested, applied: base, namespace: namespace.to_owned() }))
    }

    fn may_loosen(&self, namespace: &str) -> bool {
        self.allow_loosen || (!namespace.is_empty() && self.loosen_namespaces.iter().any(|g| g.matches(namespace)))
    }
}

/// The namespace a container is judged by: its pod's, else its containerd namespace.
pub fn namespace_of(meta: &ContainerMeta) -> &str {
    meta.pod.as_ref().map_or(meta.namespace.as_str(), |p| p.namespace.as_str())
}

/// The alert of a refused override for container `meta` (Falco's JSON shape, priority Warning).
pub fn alert(refused: &RefusedOverride, meta: &ContainerMeta, time_ns: u64, hostname: &str) -> Alert {
    let text = |s: &str| FieldValue::Text(s.to_owned());
    let output = format!(
        "Palisade refused mode override {}={} (applied {}; loosening not allowed for namespace {:?} by mode_annotation) | profile={} container_id={} container_name={} image={}",
        palisade_profiles::MODE_ANNOTATION,
        refused.requested,
        refused.applied,
        refused.namespace,
        meta.profile_name(),
        meta.short_id(),
        meta.name,
        meta.image.full,
    );
    let pod = meta.pod.as_ref();
    Alert {
        time_ns,
        rule: RULE.into(),
        priority: "Warning",
        source: "syscall",
        output,
        output_fields: vec![
            ("container.id".into(), text(meta.short_id())),
            ("container.name".into(), text(&meta.name)),
            ("container.image.repository".into(), text(&meta.image.repository)),
            ("container.image.tag".into(), text(&meta.image.tag)),
            ("k8s.ns.name".into(), text(pod.map_or("", |p| p.namespace.as_str()))),
            ("k8s.pod.name".into(), text(pod.map_or("", |p| p.name.as_str()))),
        ],
        tags: vec!["palisade".into(), "enforcement".into(), "mode".into()],
        hostname: hostname.to_owned(),
        extra: vec![
            ("requested_mode".into(), Json::String(refused.requested.to_string())),
            ("mode".into(), Json::String(refused.applied.to_string())),
            ("profile".into(), Json::String(meta.profile_name().to_owned())),
            ("namespace".into(), Json::String(refused.namespace.clone())),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority(allow_loosen: bool, namespaces: &[&str]) -> ModeAuthority {
        let c = crate::config::ModeAnnotation {
            allow_loosen,
            loosen_namespaces: namespaces.iter().map(|s| (*s).to_owned()).collect(),
        };
        ModeAuthority::from_config(&c).expect("patterns")
    }

    fn bad(value: &str) -> Option<Result<Mode, ModeAnnotationError>> {
        Some(Err(ModeAnnotationError { value: value.into(), fallback: Mode::Enforce }))
    }

    #[test]
    fn loosening_is_refused_by_default_tightening_always_applies() {
        let a = ModeAuthority::default();
        let refused = RefusedOverride { requested: Mode::Audit, applied: Mode::Enforce, namespace: "default".into() };
        assert_eq!(a.decide(Mode::Enforce, Some(Ok(Mode::Audit)), "default"), (Mode::Enforce, Some(refused)));
        assert_eq!(a.decide(Mode::Audit, Some(Ok(Mode::Enforce)), "default"), (Mode::Enforce, None));
        assert_eq!(a.decide(Mode::Audit, Some(Ok(Mode::Audit)), "default"), (Mode::Audit, None));
        assert_eq!(a.decide(Mode::Enforce, None, "default"), (Mode::Enforce, None));
        assert_eq!(a.decide(Mode::Audit, bad("Audit"), "default"), (Mode::Enforce, None), "a typo enforces");
    }

    #[test]
    fn listed_namespaces_or_allow_loosen_may_loosen() {
        let a = authority(false, &["dev-*", "ci"]);
        assert_eq!(a.decide(Mode::Enforce, Some(Ok(Mode::Audit)), "dev-alice"), (Mode::Audit, None));
        assert_eq!(a.decide(Mode::Enforce, Some(Ok(Mode::Audit)), "ci"), (Mode::Audit, None));
        assert_eq!(a.decide(Mode::Enforce, Some(Ok(Mode::Audit)), "cix").0, Mode::Enforce);
        assert_eq!(a.decide(Mode::Enforce, Some(Ok(Mode::Audit)), "").0, Mode::Enforce);
        assert_eq!(authority(true, &[]).decide(Mode::Enforce, Some(Ok(Mode::Audit)), "prod"), (Mode::Audit, None));
    }

    #[test]
    fn a_pod_is_judged_by_its_kubernetes_namespace() {
        let mut meta = ContainerMeta { namespace: "k8s.io".into(), ..Default::default() };
        assert_eq!(namespace_of(&meta), "k8s.io");
        meta.pod = Some(super::super::PodMeta { namespace: "team-a".into(), ..Default::default() });
        assert_eq!(namespace_of(&meta), "team-a");
    }

    #[test]
    fn the_alert_names_the_container_and_both_modes() {
        let meta = ContainerMeta {
            full_id: "0123456789abcdef".into(),
            name: "web".into(),
            image: super::super::ImageRef::parse("docker.io/library/nginx:1.25"),
            ..Default::default()
        };
        let refused = RefusedOverride { requested: Mode::Audit, applied: Mode::Enforce, namespace: "default".into() };
        let a = alert(&refused, &meta, 7, "node1");
        assert_eq!((a.rule.as_str(), a.priority, a.source, a.time_ns), (RULE, "Warning", "syscall", 7));
        assert_eq!(
            a.output,
            "Palisade refused mode override palisade.io/mode=audit (applied enforce; loosening not allowed for namespace \"default\" by mode_annotation) | profile= container_id=0123456789ab container_name=web image=docker.io/library/nginx:1.25"
        );
        assert_eq!(a.output_fields[0], ("container.id".to_owned(), FieldValue::Text("0123456789ab".into())));
        assert_eq!(a.output_fields[2], ("container.image.repository".to_owned(), FieldValue::Text("docker.io/library/nginx".into())));
        assert_eq!(a.extra[0], ("requested_mode".to_owned(), Json::String("audit".into())));
        assert_eq!(a.extra[1], ("mode".to_owned(), Json::String("enforce".into())));
    }
}
