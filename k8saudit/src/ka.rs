//! The k8saudit plugin's `ka.*` fields.
//!
//! Semantics follow the plugin (falcosecurity/plugins `k8saudit/pkg/k8saudit/extract.go`):
//! values are text (a JSON string's contents, anything else its compact JSON: `201`, `true`,
//! `{"kind":"User","name":"bob"}`); a path that is absent gives no value; list fields walk
//! arrays met on the way (`requestObject.spec.containers[*].securityContext.privileged`) and,
//! with an index (`[1]`), take that element of every array met instead; an empty list is no
//! value, as libsinsp treats a plugin field that set zero values. Every `ka.*` field is absent
//! on an event without `auditID`.
//!
//! Where the plugin's code contradicts its own field documentation, the documentation wins:
//! - `ka.sourceips` reads the event's `sourceIPs` (the plugin looks under
//!   `requestObject.rules`, so it never has a value);
//! - `ka.req.pod.*.eff_run_as_user`/`eff_run_as_group` combine the container's and the pod's
//!   `securityContext` (the plugin reads `runAsUser` beside `securityContext`, so always `0`);
//! - `ka.req.volume.hostpath[PATH]` checks every volume (libsinsp hands a key argument to the
//!   plugin with index 0, which makes the plugin check only the first volume).

use std::borrow::Cow;

use palisade_rules::{Extracted, FieldArg, FieldRef, Value};

use crate::json::Json;

/// One `ka.*` field, resolved once from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ka {
    /// A fixed path to one value.
    Path(&'static [&'static str]),
    /// A fixed path to an array; one value per element.
    PathList(&'static [&'static str]),
    UriParam,
    TargetPodName,
    Subjects(SubjectKind),
    SubjectHasName,
    FirstContainerImage,
    FirstContainerRepository,
    AnyContainerPrivileged,
    Container(PodList, PerContainer),
    /// `requestObject.rules[*].KEY`, flattened.
    RoleRules(&'static str),
    /// A walk under `requestObject.spec`, values that are absent skipped.
    Spec(&'static [&'static str]),
    VolumeTypes,
    VolumeHostPathKey,
    SourceIps,
}

/// Which subjects of a binding `ka.req.binding.subjects.*_names` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SubjectKind {
    User,
    ServiceAccount,
    NamespacedServiceAccount,
    Group,
}

/// `containers`, `initContainers` or `ephemeralContainers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PodList {
    Containers,
    Init,
    Ephemeral,
}

impl PodList {
    fn key(self) -> &'static str {
        match self {
            PodList::Containers => "containers",
            PodList::Init => "initContainers",
            PodList::Ephemeral => "ephemeralContainers",
        }
    }
}

/// A per-container field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PerContainer {
    /// `args` or `command`: each container's words joined by spaces.
    Words(&'static str),
    /// `name` or `image`: every container must have one.
    Required(&'static str),
    Repository,
    HostPort,
    /// A path under each container; containers without it are skipped.
    Optional(&'static [&'static str]),
    /// `runAsUser`/`runAsGroup` of the container, else of the pod, else `0`.
    Effective(&'static str),
}

impl Ka {
    /// The `ka.*` field called `name`, if the plugin defines it.
    pub(crate) fn from_name(name: &str) -> Option<Ka> {
        use Ka::*;
        if let Some(rest) = name.strip_prefix("ka.req.pod.") {
            for list in [PodList::Containers, PodList::Init, PodList::Ephemeral] {
                if let Some(f) = rest.strip_prefix(list.key()).and_then(|r| r.strip_prefix('.')) {
                    return PerContainer::from_name(f).map(|p| Container(list, p));
                }
            }
        }
        Some(match name {
            "ka.auditid" => Path(&["auditID"]),
            "ka.stage" => Path(&["stage"]),
            "ka.auth.decision" => Path(&["annotations", "authorization.k8s.io/decision"]),
            "ka.auth.reason" => Path(&["annotations", "authorization.k8s.io/reason"]),
            "ka.auth.openshift.decision" => Path(&["annotations", "authentication.openshift.io/decision"]),
            "ka.auth.openshift.username" => Path(&["annotations", "authentication.openshift.io/username"]),
            "ka.validations.admission.policy.failure" => {
                Path(&["annotations", "validation.policy.admission.k8s.io/validation_failure"])
            }
            "ka.security.pod.violations" => Path(&["annotations", "pod-security.kubernetes.io/audit-violations"]),
            "ka.user.name" => Path(&["user", "username"]),
            "ka.user.groups" => PathList(&["user", "groups"]),
            "ka.impuser.name" => Path(&["impersonatedUser", "username"]),
            "ka.verb" => Path(&["verb"]),
            "ka.uri" => Path(&["requestURI"]),
            "ka.uri.param" => UriParam,
            "ka.target.name" | "ka.req.configmap.name" => Path(&["objectRef", "name"]),
            "ka.target.namespace" => Path(&["objectRef", "namespace"]),
            "ka.target.resource" => Path(&["objectRef", "resource"]),
            "ka.target.subresource" => Path(&["objectRef", "subresource"]),
            "ka.target.pod.name" => TargetPodName,
            "ka.req.binding.subjects" => PathList(&["requestObject", "subjects"]),
            "ka.req.binding.subjects.user_names" => Subjects(SubjectKind::User),
            "ka.req.binding.subjects.serviceaccount_names" => Subjects(SubjectKind::ServiceAccount),
            "ka.req.binding.subjects.serviceaccount_ns_names" => Subjects(SubjectKind::NamespacedServiceAccount),
            "ka.req.binding.subjects.group_names" => Subjects(SubjectKind::Group),
            "ka.req.binding.role" => Path(&["requestObject", "roleRef", "name"]),
            "ka.req.binding.subject.has_name" => SubjectHasName,
            "ka.req.configmap.obj" => Path(&["requestObject", "data"]),
            "ka.req.container.image" => FirstContainerImage,
            "ka.req.container.image.repository" => FirstContainerRepository,
            "ka.req.pod.host_ipc" => Path(&["requestObject", "spec", "hostIPC"]),
            "ka.req.pod.host_network" | "ka.req.container.host_network" => {
                Path(&["requestObject", "spec", "hostNetwork"])
            }
            "ka.req.pod.host_pid" => Path(&["requestObject", "spec", "hostPID"]),
            "ka.req.container.privileged" => AnyContainerPrivileged,
            "ka.req.pod.run_as_user" => Path(&["requestObject", "spec", "securityContext", "runAsUser"]),
            "ka.req.pod.run_as_group" => Path(&["requestObject", "spec", "securityContext", "runAsGroup"]),
            "ka.req.role.rules" => PathList(&["requestObject", "rules"]),
            "ka.req.role.rules.apiGroups" => RoleRules("apiGroups"),
            "ka.req.role.rules.nonResourceURLs" => RoleRules("nonResourceURLs"),
            "ka.req.role.rules.verbs" => RoleRules("verbs"),
            "ka.req.role.rules.resources" => RoleRules("resources"),
            "ka.req.pod.fs_group" => Path(&["requestObject", "spec", "securityContext", "fsGroup"]),
            "ka.req.pod.supplemental_groups" => {
                PathList(&["requestObject", "spec", "securityContext", "supplementalGroups"])
            }
            "ka.req.service.type" => Path(&["requestObject", "spec", "type"]),
            "ka.req.service.ports" => Spec(&["ports"]),
            "ka.req.pod.volumes.hostpath" => Spec(&["volumes", "hostPath", "path"]),
            "ka.req.volume.hostpath" => VolumeHostPathKey,
            "ka.req.pod.volumes.flexvolume_driver" => Spec(&["volumes", "flexVolume", "driver"]),
            "ka.req.pod.volumes.volume_type" => VolumeTypes,
            "ka.resp.name" => Path(&["responseObject", "metadata", "name"]),
            "ka.response.code" => Path(&["responseStatus", "code"]),
            "ka.response.reason" => Path(&["responseStatus", "reason"]),
            "ka.useragent" => Path(&["userAgent"]),
            "ka.sourceips" => SourceIps,
            "ka.cluster.name" => Path(&["annotations", "cluster_name"]),
            _ => return None,
        })
    }
}

impl PerContainer {
    fn from_name(name: &str) -> Option<PerContainer> {
        use PerContainer::*;
        Some(match name {
            "args" => Words("args"),
            "command" => Words("command"),
            "name" => Required("name"),
            "image" => Required("image"),
            "image.repository" => Repository,
            "host_port" => HostPort,
            "privileged" => Optional(&["securityContext", "privileged"]),
            "allow_privilege_escalation" => Optional(&["securityContext", "allowPrivilegeEscalation"]),
            "read_only_fs" => Optional(&["securityContext", "readOnlyRootFilesystem"]),
            "run_as_user" => Optional(&["securityContext", "runAsUser"]),
            "run_as_group" => Optional(&["securityContext", "runAsGroup"]),
            "proc_mount" => Optional(&["securityContext", "procMount"]),
            "add_capabilities" => Optional(&["securityContext", "capabilities", "add"]),
            "eff_run_as_user" => Effective("runAsUser"),
            "eff_run_as_group" => Effective("runAsGroup"),
            _ => return None,
        })
    }
}

/// A value's text: a string's contents, anything else as compact JSON.
fn text(v: &Json) -> Cow<'_, str> {
    match v {
        Json::Str(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_compact()),
    }
}

fn value(s: Cow<'_, str>) -> Value<'_> {
    Value::Str(match s {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    })
}

fn one(s: Cow<'_, str>) -> Extracted<'_> {
    Extracted::One(value(s))
}

/// Several values; none is no value.
fn many<'a>(values: impl IntoIterator<Item = Cow<'a, str>>) -> Extracted<'a> {
    let values: Vec<Value<'a>> = values.into_iter().map(value).collect();
    if values.is_empty() {
        Extracted::Missing
    } else {
        Extracted::Many(values)
    }
}

/// Follow `keys` from `v`. An array met before a key is walked element by element (each
/// element continuing with the remaining keys, `None` where that fails) or, with `index`,
/// replaced by its element `index`. An empty key stands for the value itself. `None` when the
/// walk fails outside an array walk. This is the plugin's `getValuesRecursive`.
fn walk<'a>(mut v: &'a Json, index: Option<usize>, keys: &[&str]) -> Option<Vec<Option<&'a Json>>> {
    for (i, k) in keys.iter().enumerate() {
        if let Json::Arr(items) = v {
            match index {
                None => {
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        match walk(item, index, &keys[i..]) {
                            Some(found) => out.extend(found),
                            None => out.push(None),
                        }
                    }
                    return Some(out);
                }
                Some(n) => v = items.get(n)?,
            }
        }
        if !k.is_empty() {
            v = v.get(k)?;
        }
    }
    Some(vec![Some(v)])
}

/// The texts of the values found, absent ones skipped.
fn texts_skip_missing<'a>(found: &[Option<&'a Json>]) -> Vec<Cow<'a, str>> {
    found.iter().flatten().map(|v| text(v)).collect()
}

/// The texts of the values found; `None` when one is absent.
fn texts_all<'a>(found: &[Option<&'a Json>]) -> Option<Vec<Cow<'a, str>>> {
    found.iter().map(|v| v.map(text)).collect()
}

/// Extract `ka` from the event `root`.
pub(crate) fn extract<'a>(root: &'a Json, ka: Ka, field: &FieldRef) -> Extracted<'a> {
    if root.get("auditID").is_none() {
        return Extracted::Missing;
    }
    values(root, ka, field).unwrap_or(Extracted::Missing)
}

/// The field's values; `None` where the plugin gives none (absent, or of the wrong shape).
fn values<'a>(root: &'a Json, ka: Ka, field: &FieldRef) -> Option<Extracted<'a>> {
    let index = match &field.arg {
        Some(FieldArg::Index(i)) => Some(usize::try_from(*i).ok()?),
        _ => None,
    };
    let key = || field.arg.as_ref().map(FieldArg::key).unwrap_or_default();
    let spec = || root.path(&["requestObject", "spec"]);
    let flag = |on: bool| one(Cow::Borrowed(if on { "true" } else { "false" }));
    Some(match ka {
        Ka::Path(keys) => one(text(root.path(keys)?)),
        Ka::PathList(keys) => many(root.path(keys)?.as_array()?.iter().map(text)),
        Ka::UriParam => {
            let param = crate::extract::query_param(&text(root.get("requestURI")?), &key())?;
            Extracted::One(Value::Str(Cow::Owned(param)))
        }
        Ka::TargetPodName => {
            let target = root.get("objectRef");
            let attr = |k: &str| target.and_then(|t| t.get(k)).and_then(Json::as_str).unwrap_or_default();
            if attr("resource") != "pods" || !attr("subresource").is_empty() {
                return None;
            }
            one(text(root.path(&["responseObject", "metadata", "name"])?))
        }
        Ka::Subjects(kind) => many(subject_names(root, kind)?),
        Ka::SubjectHasName => one(Cow::Borrowed("true")),
        Ka::FirstContainerImage => one(container_images(spec()?, PodList::Containers, Some(0))?.into_iter().next()?),
        Ka::FirstContainerRepository => {
            let images = container_images(spec()?, PodList::Containers, Some(0))?;
            one(Cow::Owned(repository(images.first()?).to_owned()))
        }
        Ka::AnyContainerPrivileged => {
            let found = walk(spec()?, None, &["containers", "securityContext", "privileged"])?;
            flag(found.iter().any(|v| matches!(v, Some(Json::Bool(true)))))
        }
        Ka::Container(list, per) => container_field(spec()?, list, per, index)?,
        Ka::RoleRules(what) => {
            let found = walk(root.get("requestObject")?, index, &["rules", what])?;
            many(found.into_iter().flatten().filter_map(Json::as_array).flatten().map(text))
        }
        Ka::Spec(keys) => many(texts_skip_missing(&walk(spec()?, index, keys)?)),
        Ka::VolumeTypes => {
            let found = walk(spec()?, index, &["volumes", ""])?;
            let members = found.into_iter().flatten().filter_map(|v| match v {
                Json::Obj(members) => Some(members),
                _ => None,
            });
            many(members.flatten().filter(|(k, _)| k != "name").map(|(k, _)| Cow::Borrowed(k.as_str())))
        }
        Ka::VolumeHostPathKey => {
            let arg = key();
            let paths = texts_skip_missing(&walk(spec()?, None, &["volumes", "hostPath", "path"])?);
            flag(paths.iter().any(|p| match arg.strip_suffix('*') {
                Some(prefix) => p.starts_with(prefix),
                None => *p == arg,
            }))
        }
        Ka::SourceIps => {
            let ips = root.get("sourceIPs")?.as_array()?;
            match index {
                None => many(ips.iter().map(text)),
                Some(i) => many(ips.get(i).map(text)),
            }
        }
    })
}

/// The images of a pod list (`None` when one container has none, as the plugin errs then).
fn container_images(spec: &Json, list: PodList, index: Option<usize>) -> Option<Vec<Cow<'_, str>>> {
    texts_all(&walk(spec, index, &[list.key(), "image"])?)
}

/// An image's repository the plugin's way: up to the first `:`, then up to the first `@`.
fn repository(image: &str) -> &str {
    let before_colon = image.split(':').next().unwrap_or_default();
    before_colon.split('@').next().unwrap_or_default()
}

fn container_field(spec: &Json, list: PodList, per: PerContainer, index: Option<usize>) -> Option<Extracted<'_>> {
    let key = list.key();
    Some(match per {
        PerContainer::Words(what) => {
            let mut out = Vec::new();
            for words in walk(spec, index, &[key, what])?.into_iter().flatten() {
                let words: Vec<&str> = words.as_array()?.iter().map(Json::as_str).collect::<Option<_>>()?;
                out.push(Cow::Owned(words.join(" ")));
            }
            many(out)
        }
        PerContainer::Required(what) => many(texts_all(&walk(spec, index, &[key, what])?)?),
        PerContainer::Repository => {
            let images = container_images(spec, list, index)?;
            many(images.iter().map(|i| Cow::Owned(repository(i).to_owned())))
        }
        PerContainer::HostPort => {
            let mut out = Vec::new();
            for ports in walk(spec, index, &[key, "ports"])?.into_iter().flatten() {
                for port in ports.as_array()? {
                    if let Some(p) = port.get("hostPort").or_else(|| port.get("containerPort")) {
                        out.push(text(p));
                    }
                }
            }
            many(out)
        }
        PerContainer::Optional(path) => {
            let keys: Vec<&str> = std::iter::once(key).chain(path.iter().copied()).collect();
            many(texts_skip_missing(&walk(spec, index, &keys)?))
        }
        PerContainer::Effective(what) => {
            let pod = spec.path(&["securityContext", what]).map_or(Cow::Borrowed("0"), text);
            let found = walk(spec, index, &[key, "securityContext", what])?;
            many(found.into_iter().map(|v| v.map_or_else(|| pod.clone(), text)))
        }
    })
}

/// Names of the binding's subjects of `kind` (`namespace:name` for namespaced service
/// accounts); `None` when `subjects` is not an array.
fn subject_names(root: &Json, kind: SubjectKind) -> Option<Vec<Cow<'_, str>>> {
    let Some(subjects) = root.path(&["requestObject", "subjects"]) else { return Some(Vec::new()) };
    let wanted = match kind {
        SubjectKind::User => "User",
        SubjectKind::ServiceAccount | SubjectKind::NamespacedServiceAccount => "ServiceAccount",
        SubjectKind::Group => "Group",
    };
    let mut out = Vec::new();
    for s in subjects.as_array()? {
        let (Some(k), Some(name)) = (s.get("kind"), s.get("name")) else { continue };
        if text(k) != wanted {
            continue;
        }
        if kind == SubjectKind::NamespacedServiceAccount {
            let Some(ns) = s.get("namespace") else { continue };
            out.push(Cow::Owned(format!("{}:{}", text(ns), text(name))));
        } else {
            out.push(text(name));
        }
    }
    Some(out)
}
