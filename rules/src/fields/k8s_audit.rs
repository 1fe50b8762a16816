//! Field table of the `k8s_audit` source.
//!
//! Order: the generic `evt.*` fields libsinsp offers for every event source, then the k8saudit
//! plugin's `ka.*` fields in the plugin's order, then the json plugin's `json.*` fields and
//! their legacy `jevt.*` aliases. Plugin list fields (`string (list)`) carry `IS_LIST`; fields
//! the plugin declares with an optional index take `OptionalIndex`, keyed ones `RequiredKey`.
//! All plugin-declared types here are strings (including `ka.response.code`, the
//! `ka.req.pod.host_*` flags and `jevt.rawtime`), exactly as the plugins declare them.

use super::flags::IS_LIST;
use super::{field as f, ArgKind as A, FieldDef, FieldType as T};


#[rustfmt::skip]
pub(super) static FIELDS: &[FieldDef] = &[

    // k8saudit plugin: `ka.*`.
    f("ka.auditid", T::Str, A::None, 0, "Unique id of the audit event."),
    f("ka.stage", T::Str, A::None, 0, "Request stage (RequestReceived, ResponseComplete, ...)."),
    f("ka.auth.decision", T::Str, A::None, 0, "Authorization decision for the request."),
    f("ka.auth.reason", T::Str, A::None, 0, "Reason given for the authorization decision."),
    f("ka.auth.openshift.decision", T::Str, A::None, 0, "OpenShift API server extension's authentication decision."),
    f("ka.validations.admission.policy.failure", T::Str, A::None, 0, "Failure reason from a validating admission policy."),
    f("ka.security.pod.violations", T::Str, A::None, 0, "Pod security policy violation reason."),
    f("ka.auth.openshift.username", T::Str, A::None, 0, "User name seen by OpenShift authentication."),
    f("ka.user.name", T::Str, A::None, 0, "Name of the user making the request."),
    f("ka.user.groups", T::Str, A::None, IS_LIST, "Groups the requesting user belongs to."),
    f("ka.impuser.name", T::Str, A::None, 0, "Impersonated user name, if any."),
    f("ka.verb", T::Str, A::None, 0, "Action requested (get, create, delete, ...)."),
    f("ka.uri", T::Str, A::None, 0, "Request URI as sent by the client."),
    f("ka.uri.param", T::Str, A::RequiredKey, 0, "Value of one query parameter of the URI, by name: `ka.uri.param[NAME]`."),
    f("ka.target.name", T::Str, A::None, 0, "Name of the target object."),
    f("ka.target.namespace", T::Str, A::None, 0, "Namespace of the target object."),
    f("ka.target.resource", T::Str, A::None, 0, "Resource type of the target object."),
    f("ka.target.subresource", T::Str, A::None, 0, "Subresource of the target object."),
    f("ka.target.pod.name", T::Str, A::None, 0, "Name of the target pod."),
    f("ka.req.binding.subjects", T::Str, A::None, IS_LIST, "Subjects bound by a (cluster) role binding in the request."),
    f("ka.req.binding.subjects.user_names", T::Str, A::None, IS_LIST, "User names bound by a role binding in the request."),
    f("ka.req.binding.subjects.serviceaccount_names", T::Str, A::None, IS_LIST, "Service account names bound by a role binding in the request."),
    f("ka.req.binding.subjects.serviceaccount_ns_names", T::Str, A::None, IS_LIST, "Namespaced service account names bound by a role binding."),
    f("ka.req.binding.subjects.group_names", T::Str, A::None, IS_LIST, "Group names bound by a role binding in the request."),
    f("ka.req.binding.role", T::Str, A::None, 0, "Role referenced by a role binding in the request."),
    f("ka.req.binding.subject.has_name", T::Str, A::RequiredKey, 0, "Deprecated; always `N/A`."),
    f("ka.req.configmap.name", T::Str, A::None, 0, "Name of the configmap in the request."),
    f("ka.req.configmap.obj", T::Str, A::None, 0, "Whole configmap object in the request, as text."),
    f("ka.req.pod.containers.args", T::Str, A::OptionalIndex, IS_LIST, "Arguments of the pod's containers."),
    f("ka.req.pod.containers.command", T::Str, A::OptionalIndex, IS_LIST, "Commands of the pod's containers."),
    f("ka.req.pod.containers.name", T::Str, A::OptionalIndex, IS_LIST, "Names of the pod's containers."),
    f("ka.req.pod.containers.image", T::Str, A::OptionalIndex, IS_LIST, "Images of the pod's containers."),
    f("ka.req.container.image", T::Str, A::None, 0, "Deprecated: image of the pod's first container."),
    f("ka.req.pod.containers.image.repository", T::Str, A::OptionalIndex, IS_LIST, "Image repositories of the pod's containers."),
    f("ka.req.container.image.repository", T::Str, A::None, 0, "Deprecated: image repository of the pod's first container."),
    f("ka.req.pod.host_ipc", T::Str, A::None, 0, "The pod's hostIPC setting."),
    f("ka.req.pod.host_network", T::Str, A::None, 0, "The pod's hostNetwork setting."),
    f("ka.req.container.host_network", T::Str, A::None, 0, "Deprecated alias of `ka.req.pod.host_network`."),
    f("ka.req.pod.host_pid", T::Str, A::None, 0, "The pod's hostPID setting."),
    f("ka.req.pod.containers.host_port", T::Str, A::OptionalIndex, IS_LIST, "hostPort values of the pod's containers."),
    f("ka.req.pod.containers.privileged", T::Str, A::OptionalIndex, IS_LIST, "privileged flags of the pod's containers."),
    f("ka.req.container.privileged", T::Str, A::None, 0, "Deprecated: true when any container of the pod is privileged."),
    f("ka.req.pod.containers.allow_privilege_escalation", T::Str, A::OptionalIndex, IS_LIST, "allowPrivilegeEscalation flags of the pod's containers."),
    f("ka.req.pod.containers.read_only_fs", T::Str, A::OptionalIndex, IS_LIST, "readOnlyRootFilesystem flags of the pod's containers."),
    f("ka.req.pod.run_as_user", T::Str, A::None, 0, "Pod-level runAsUser uid."),
    f("ka.req.pod.containers.run_as_user", T::Str, A::OptionalIndex, IS_LIST, "runAsUser uids of the pod's containers."),
    f("ka.req.pod.containers.eff_run_as_user", T::Str, A::OptionalIndex, IS_LIST, "Effective starting uids of the pod's containers (pod and container settings combined)."),
    f("ka.req.pod.run_as_group", T::Str, A::None, 0, "Pod-level runAsGroup gid."),
    f("ka.req.pod.containers.run_as_group", T::Str, A::OptionalIndex, IS_LIST, "runAsGroup gids of the pod's containers."),
    f("ka.req.pod.containers.eff_run_as_group", T::Str, A::OptionalIndex, IS_LIST, "Effective starting gids of the pod's containers."),
    f("ka.req.pod.containers.proc_mount", T::Str, A::OptionalIndex, IS_LIST, "procMount types of the pod's containers."),
    f("ka.req.role.rules", T::Str, A::None, IS_LIST, "Rules of the role or cluster role in the request."),
    f("ka.req.role.rules.apiGroups", T::Str, A::OptionalIndex, IS_LIST, "API groups named by the role's rules."),
    f("ka.req.role.rules.nonResourceURLs", T::Str, A::OptionalIndex, IS_LIST, "Non-resource URLs named by the role's rules."),
    f("ka.req.role.rules.verbs", T::Str, A::OptionalIndex, IS_LIST, "Verbs named by the role's rules."),
    f("ka.req.role.rules.resources", T::Str, A::OptionalIndex, IS_LIST, "Resources named by the role's rules."),
    f("ka.req.pod.fs_group", T::Str, A::None, 0, "The pod's fsGroup gid."),
    f("ka.req.pod.supplemental_groups", T::Str, A::None, IS_LIST, "The pod's supplemental group gids."),
    f("ka.req.pod.containers.add_capabilities", T::Str, A::OptionalIndex, IS_LIST, "Capabilities added to the pod's containers."),
    f("ka.req.service.type", T::Str, A::None, 0, "Type of the service in the request."),
    f("ka.req.service.ports", T::Str, A::OptionalIndex, IS_LIST, "Ports of the service in the request."),
    f("ka.req.pod.volumes.hostpath", T::Str, A::OptionalIndex, IS_LIST, "hostPath paths of the pod's volumes."),
    f("ka.req.volume.hostpath", T::Str, A::RequiredKey, 0, "Deprecated: true when a volume uses the given host path prefix."),
    f("ka.req.pod.volumes.flexvolume_driver", T::Str, A::OptionalIndex, IS_LIST, "Flexvolume drivers of the pod's volumes."),
    f("ka.req.pod.volumes.volume_type", T::Str, A::OptionalIndex, IS_LIST, "Types of the pod's volumes."),
    f("ka.resp.name", T::Str, A::None, 0, "Name of the object in the response."),
    f("ka.response.code", T::Str, A::None, 0, "HTTP response code (text)."),
    f("ka.response.reason", T::Str, A::None, 0, "Reason given in the response, usually on failure."),
    f("ka.useragent", T::Str, A::None, 0, "User agent of the requesting client."),
    f("ka.sourceips", T::Str, A::OptionalIndex, IS_LIST, "Source IP addresses of the requesting client."),
    f("ka.cluster.name", T::Str, A::None, 0, "Name of the Kubernetes cluster."),
    f("ka.req.pod.initContainers.name", T::Str, A::OptionalIndex, IS_LIST, "Names of the pod's init containers."),
    f("ka.req.pod.initContainers.image", T::Str, A::OptionalIndex, IS_LIST, "Images of the pod's init containers."),
    f("ka.req.pod.initContainers.image.repository", T::Str, A::OptionalIndex, IS_LIST, "Image repositories of the pod's init containers."),
    f("ka.req.pod.initContainers.command", T::Str, A::OptionalIndex, IS_LIST, "Commands of the pod's init containers."),
    f("ka.req.pod.initContainers.args", T::Str, A::OptionalIndex, IS_LIST, "Arguments of the pod's init containers."),
    f("ka.req.pod.initContainers.privileged", T::Str, A::OptionalIndex, IS_LIST, "privileged flags of the pod's init containers."),
    f("ka.req.pod.initContainers.allow_privilege_escalation", T::Str, A::OptionalIndex, IS_LIST, "allowPrivilegeEscalation flags of the pod's init containers."),
    f("ka.req.pod.initContainers.read_only_fs", T::Str, A::OptionalIndex, IS_LIST, "readOnlyRootFilesystem flags of the pod's init containers."),
    f("ka.req.pod.initContainers.run_as_user", T::Str, A::OptionalIndex, IS_LIST, "runAsUser uids of the pod's init containers."),
    f("ka.req.pod.initContainers.eff_run_as_user", T::Str, A::OptionalIndex, IS_LIST, "Effective starting uids of the pod's init containers."),
    f("ka.req.pod.initContainers.run_as_group", T::Str, A::OptionalIndex, IS_LIST, "runAsGroup gids of the pod's init containers."),
    f("ka.req.pod.initContainers.eff_run_as_group", T::Str, A::OptionalIndex, IS_LIST, "Effective starting gids of the pod's init containers."),
    f("ka.req.pod.initContainers.proc_mount", T::Str, A::OptionalIndex, IS_LIST, "procMount types of the pod's init containers."),
    f("ka.req.pod.initContainers.add_capabilities", T::Str, A::OptionalIndex, IS_LIST, "Capabilities added to the pod's init containers."),
    f("ka.req.pod.initContainers.host_port", T::Str, A::OptionalIndex, IS_LIST, "hostPort values of the pod's init containers."),
    f("ka.req.pod.ephemeralContainers.name", T::Str, A::OptionalIndex, IS_LIST, "Names of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.image", T::Str, A::OptionalIndex, IS_LIST, "Images of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.image.repository", T::Str, A::OptionalIndex, IS_LIST, "Image repositories of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.command", T::Str, A::OptionalIndex, IS_LIST, "Commands of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.args", T::Str, A::OptionalIndex, IS_LIST, "Arguments of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.privileged", T::Str, A::OptionalIndex, IS_LIST, "privileged flags of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.allow_privilege_escalation", T::Str, A::OptionalIndex, IS_LIST, "allowPrivilegeEscalation flags of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.read_only_fs", T::Str, A::OptionalIndex, IS_LIST, "readOnlyRootFilesystem flags of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.run_as_user", T::Str, A::OptionalIndex, IS_LIST, "runAsUser uids of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.eff_run_as_user", T::Str, A::OptionalIndex, IS_LIST, "Effective starting uids of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.run_as_group", T::Str, A::OptionalIndex, IS_LIST, "runAsGroup gids of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.eff_run_as_group", T::Str, A::OptionalIndex, IS_LIST, "Effective starting gids of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.proc_mount", T::Str, A::OptionalIndex, IS_LIST, "procMount types of the pod's ephemeral containers."),
    f("ka.req.pod.ephemeralContainers.add_capabilities", T::Str, A::OptionalIndex, IS_LIST, "Capabilities added to the pod's ephemeral containers."),

    // json plugin: `json.*` and the legacy `jevt.*` aliases.
    f("json.value", T::Str, A::RequiredKey, 0, "Value at a JSON pointer in the event payload: `json.value[/a/b]`."),
    f("json.obj", T::Str, A::None, 0, "Whole JSON payload of the event, as text."),
    f("json.rawtime", T::Str, A::None, 0, "Event time, same value as `evt.rawtime` (text)."),
    f("jevt.value", T::Str, A::RequiredKey, 0, "Legacy alias of `json.value`."),
    f("jevt.obj", T::Str, A::None, 0, "Legacy alias of `json.obj`."),
    f("jevt.rawtime", T::Str, A::None, 0, "Legacy alias of `json.rawtime`."),
];

#[cfg(test)]
mod tests {
    use super::super::{ArgKind, FieldType, Source};

    /// The `k8s_audit`-source part of the 126 base fields the upstream rules use
    /// (conformance analysis §7).
    const RULE_FIELDS: &[&str] = &[
        // jevt
        "jevt.obj",
        "jevt.rawtime",
        "jevt.value",
        // ka
        "ka.auth.decision",
        "ka.auth.reason",
        "ka.req.binding.role",
        "ka.req.binding.subjects",
        "ka.req.configmap.name",
        "ka.req.configmap.obj",
        "ka.req.pod.containers.image",
        "ka.req.pod.containers.image.repository",
        "ka.req.pod.containers.privileged",
        "ka.req.pod.ephemeralContainers.image",
        "ka.req.pod.ephemeralContainers.privileged",
        "ka.req.pod.host_ipc",
        "ka.req.pod.host_network",
        "ka.req.pod.host_pid",
        "ka.req.pod.initContainers.image",
        "ka.req.pod.initContainers.privileged",
        "ka.req.pod.volumes.hostpath",
        "ka.req.role.rules",
        "ka.req.role.rules.resources",
        "ka.req.role.rules.verbs",
        "ka.req.service.ports",
        "ka.req.service.type",
        "ka.resp.name",
        "ka.response.code",
        "ka.response.reason",
        "ka.target.name",
        "ka.target.namespace",
        "ka.target.resource",
        "ka.target.subresource",
        "ka.uri",
        "ka.uri.param",
        "ka.user.name",
        "ka.verb",
    ];

    fn def(name: &str) -> &'static super::FieldDef {
        match Source::K8sAudit.lookup(name) {
            Some((_, d, None)) => d,
            _ => panic!("{name} not registered as a plain name"),
        }
    }

    #[test]
    fn rule_fields_resolve() {
        assert_eq!(RULE_FIELDS.len(), 36);
        for name in RULE_FIELDS {
            def(name);
            assert!(
                Source::Syscall.lookup(name).is_none(),
                "{name} leaked into syscall"
            );
        }
    }

    #[test]
    fn generic_event_fields_present() {
        for name in [
            "evt.num",
            "evt.time",
            "evt.time.s",
            "evt.time.iso8601",
            "evt.datetime",
            "evt.datetime.s",
            "evt.rawtime",
            "evt.rawtime.s",
            "evt.rawtime.ns",
            "evt.reltime",
            "evt.source",
            "evt.plugininfo",
            "evt.pluginname",
            "evt.is_async",
            "evt.asynctype",
            "evt.hostname",
        ] {
            let d = def(name);
            let sys = match Source::Syscall.lookup(name) {
                Some((_, d, _)) => d,
                None => panic!("{name} missing from syscall"),
            };
            assert_eq!(
                (d.ty, d.arg, d.flags),
                (sys.ty, sys.arg, sys.flags),
                "{name}"
            );
        }
        assert_eq!(def("evt.rawtime").ty, FieldType::AbsTime);
        assert!(Source::K8sAudit.lookup("evt.type").is_none());
        assert!(Source::K8sAudit.lookup("proc.name").is_none());
    }

    #[test]
    fn lists_and_arguments() {
        for name in [
            "ka.req.pod.containers.image",
            "ka.req.pod.containers.image.repository",
            "ka.req.pod.containers.privileged",
            "ka.req.role.rules",
            "ka.req.role.rules.verbs",
            "ka.req.role.rules.resources",
            "ka.user.groups",
            "ka.req.pod.volumes.hostpath",
            "ka.req.binding.subjects",
            "ka.req.service.ports",
        ] {
            assert!(def(name).is_list(), "{name} should be a list");
        }
        for name in [
            "ka.verb",
            "ka.uri",
            "ka.target.name",
            "ka.req.pod.host_pid",
            "jevt.value",
        ] {
            assert!(!def(name).is_list(), "{name} should not be a list");
        }
        assert_eq!(
            def("ka.req.pod.containers.image").arg,
            ArgKind::OptionalIndex
        );
        assert_eq!(def("ka.uri.param").arg, ArgKind::RequiredKey);
        assert_eq!(def("jevt.value").arg, ArgKind::RequiredKey);
        assert_eq!(def("json.value").arg, ArgKind::RequiredKey);
        assert_eq!(def("ka.verb").arg, ArgKind::None);
        assert_eq!(def("ka.response.code").ty, FieldType::Str);
    }
}
