//! Extraction on hand-made audit events: the values of the fields the upstream
//! `k8s_audit_rules.yaml` reads, exactly as the plugins render them.

use palisade_rules::{Extracted, FieldArg, FieldRef, FieldSource, Source, Value};

use crate::{parse_payload, AuditError, AuditEvent};

const POD_CREATE: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse",
 "auditID":"pod-1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"create",
 "user":{"username":"alice","groups":["devs","system:authenticated"]},
 "sourceIPs":["10.0.0.7","fd00::7"],"userAgent":"kubectl/v1.29.0",
 "objectRef":{"resource":"pods","namespace":"default","name":"web","apiVersion":"v1"},
 "responseStatus":{"metadata":{},"code":201},
 "requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"default"},
  "spec":{"hostNetwork":true,"hostPID":false,
   "securityContext":{"runAsUser":1000,"supplementalGroups":[5,6]},
   "volumes":[{"name":"etc","hostPath":{"path":"/etc","type":""}},{"name":"cache","emptyDir":{}},
              {"name":"sock","hostPath":{"path":"/var/run/docker.sock"}}],
   "initContainers":[{"name":"init","image":"busybox:1.36","securityContext":{"privileged":false}}],
   "containers":[
    {"name":"nginx","image":"nginx:1.25","ports":[{"containerPort":80},{"containerPort":443,"hostPort":8443}],
     "command":["nginx","-g","daemon off;"]},
    {"name":"tools","image":"docker.io/library/busybox@sha256:abcd","args":["sleep","3600"],
     "securityContext":{"privileged":true,"runAsUser":0,"capabilities":{"add":["NET_ADMIN","SYS_TIME"]}}}]}},
 "responseObject":{"kind":"Pod","metadata":{"name":"web","namespace":"default"}},
 "requestReceivedTimestamp":"2024-05-01T10:00:00.000000Z","stageTimestamp":"2024-05-01T10:00:00.123456Z",
 "annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"devs\""}}"#;

const POD_EXEC: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"exec-1","stage":"ResponseStarted",
 "requestURI":"/api/v1/namespaces/default/pods/web/exec?command=%2Fbin%2Fsh&command=-c&container=nginx&stdin=true&tty=true",
 "verb":"create","user":{"username":"bob"},
 "objectRef":{"resource":"pods","namespace":"default","name":"web","apiVersion":"v1","subresource":"exec"},
 "responseStatus":{"metadata":{},"code":101},
 "stageTimestamp":"2024-05-01T10:01:00Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;

const BINDING: &str = r#"{"kind":"Event","auditID":"crb-1","stage":"ResponseComplete","verb":"create",
 "requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings","user":{"username":"admin"},
 "objectRef":{"resource":"clusterrolebindings","name":"ops-admin","apiGroup":"rbac.authorization.k8s.io"},
 "responseStatus":{"metadata":{},"code":201},
 "requestObject":{"kind":"ClusterRoleBinding","metadata":{"name":"ops-admin"},
  "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
  "subjects":[{"kind":"User","name":"carol","apiGroup":"rbac.authorization.k8s.io"},
              {"kind":"Group","name":"ops"},
              {"kind":"ServiceAccount","name":"deployer","namespace":"ci"}]},
 "stageTimestamp":"2024-05-01T10:02:00.5Z"}"#;

const ROLE: &str = r#"{"kind":"Event","auditID":"cr-1","stage":"ResponseComplete","verb":"create",
 "objectRef":{"resource":"clusterroles","name":"pod-exec"},"responseStatus":{"code":201},
 "requestObject":{"kind":"ClusterRole","rules":[
   {"apiGroups":[""],"resources":["pods","pods/exec"],"verbs":["get","create"]},
   {"nonResourceURLs":["/healthz"],"verbs":["*"]}]},
 "stageTimestamp":"2024-05-01T10:03:00Z"}"#;

const SERVICE: &str = r#"{"kind":"Event","auditID":"svc-1","stage":"ResponseComplete","verb":"create",
 "objectRef":{"resource":"services","name":"web"},
 "requestObject":{"kind":"Service","spec":{"type":"NodePort","ports":[{"port":80,"nodePort":30080,"protocol":"TCP"}]}},
 "stageTimestamp":"2024-05-01T10:04:00Z"}"#;

const CONFIGMAP: &str = r#"{"kind":"Event","auditID":"cm-1","stage":"ResponseComplete","verb":"create",
 "objectRef":{"resource":"configmaps","name":"creds","namespace":"default"},
 "responseStatus":{"code":409,"reason":"AlreadyExists"},
 "requestObject":{"kind":"ConfigMap","data":{"b":"x","aws_access_key_id":"AKIA"}},
 "stageTimestamp":"2024-05-01T10:05:00Z"}"#;

fn event(text: &str) -> AuditEvent {
    AuditEvent::from_slice(text.as_bytes()).expect("valid event")
}

/// `name` or `name[arg]` resolved in the k8s_audit table.
fn field(spec: &str) -> FieldRef {
    let (name, arg) = match spec.split_once('[') {
        Some((n, rest)) => {
            let a = rest.strip_suffix(']').expect("closing bracket");
            (n, Some(a.parse::<i64>().map_or_else(|_| FieldArg::Key(a.to_owned()), FieldArg::Index)))
        }
        None => (spec, None),
    };
    let (id, def, _) = Source::K8sAudit.lookup(name).unwrap_or_else(|| panic!("{name} not a k8s_audit field"));
    FieldRef { id, name: def.name, ty: def.ty, arg }
}

fn texts(e: &AuditEvent, spec: &str) -> Option<Vec<String>> {
    match e.extract(&field(spec)) {
        Extracted::Missing => None,
        Extracted::One(v) => Some(vec![render(&v)]),
        Extracted::Many(vs) => Some(vs.iter().map(render).collect()),
    }
}

fn render(v: &Value<'_>) -> String {
    let mut s = String::new();
    v.render(&mut s);
    s
}

/// One value (of a single-valued field).
fn one(e: &AuditEvent, spec: &str) -> Option<String> {
    match e.extract(&field(spec)) {
        Extracted::Missing => None,
        Extracted::One(v) => Some(render(&v)),
        Extracted::Many(vs) => panic!("{spec} gave a list: {vs:?}"),
    }
}

/// The values of a list field (which must come as a list).
fn list(e: &AuditEvent, spec: &str) -> Option<Vec<String>> {
    match e.extract(&field(spec)) {
        Extracted::Missing => None,
        Extracted::Many(vs) => Some(vs.iter().map(render).collect()),
        Extracted::One(v) => panic!("{spec} gave one value: {v:?}"),
    }
}

fn strs(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|s| (*s).to_owned()).collect())
}

#[test]
fn pod_create_fields() {
    let e = event(POD_CREATE);
    assert_eq!(one(&e, "ka.auditid").as_deref(), Some("pod-1"));
    assert_eq!(one(&e, "ka.verb").as_deref(), Some("create"));
    assert_eq!(one(&e, "ka.user.name").as_deref(), Some("alice"));
    assert_eq!(list(&e, "ka.user.groups"), strs(&["devs", "system:authenticated"]));
    assert_eq!(one(&e, "ka.target.resource").as_deref(), Some("pods"));
    assert_eq!(one(&e, "ka.target.namespace").as_deref(), Some("default"));
    assert_eq!(one(&e, "ka.target.name").as_deref(), Some("web"));
    assert_eq!(one(&e, "ka.target.subresource"), None);
    assert_eq!(one(&e, "ka.target.pod.name").as_deref(), Some("web"));
    assert_eq!(one(&e, "ka.resp.name").as_deref(), Some("web"));
    assert_eq!(one(&e, "ka.response.code").as_deref(), Some("201"));
    assert_eq!(one(&e, "ka.response.reason"), None);
    assert_eq!(one(&e, "ka.auth.decision").as_deref(), Some("allow"));
    assert_eq!(one(&e, "ka.auth.reason").as_deref(), Some("RBAC: allowed by ClusterRoleBinding \"devs\""));
    assert_eq!(one(&e, "ka.useragent").as_deref(), Some("kubectl/v1.29.0"));
    assert_eq!(list(&e, "ka.sourceips"), strs(&["10.0.0.7", "fd00::7"]));
    assert_eq!(list(&e, "ka.sourceips[1]"), strs(&["fd00::7"]));

    assert_eq!(one(&e, "ka.req.pod.host_network").as_deref(), Some("true"));
    assert_eq!(one(&e, "ka.req.container.host_network").as_deref(), Some("true"));
    assert_eq!(one(&e, "ka.req.pod.host_pid").as_deref(), Some("false"));
    assert_eq!(one(&e, "ka.req.pod.host_ipc"), None);
    assert_eq!(one(&e, "ka.req.pod.run_as_user").as_deref(), Some("1000"));
    assert_eq!(list(&e, "ka.req.pod.supplemental_groups"), strs(&["5", "6"]));

    let images = ["nginx:1.25", "docker.io/library/busybox@sha256:abcd"];
    assert_eq!(list(&e, "ka.req.pod.containers.image"), strs(&images));
    assert_eq!(list(&e, "ka.req.pod.containers.image[1]"), strs(&images[1..]));
    assert_eq!(list(&e, "ka.req.pod.containers.image[2]"), None);
    assert_eq!(one(&e, "ka.req.container.image").as_deref(), Some("nginx:1.25"));
    assert_eq!(list(&e, "ka.req.pod.containers.image.repository"), strs(&["nginx", "docker.io/library/busybox"]));
    assert_eq!(one(&e, "ka.req.container.image.repository").as_deref(), Some("nginx"));
    assert_eq!(list(&e, "ka.req.pod.containers.name"), strs(&["nginx", "tools"]));
    // Only containers that set the flag have a value, as in the plugin.
    assert_eq!(list(&e, "ka.req.pod.containers.privileged"), strs(&["true"]));
    assert_eq!(list(&e, "ka.req.pod.containers.privileged[0]"), None);
    assert_eq!(one(&e, "ka.req.container.privileged").as_deref(), Some("true"));
    assert_eq!(list(&e, "ka.req.pod.containers.add_capabilities"), strs(&[r#"["NET_ADMIN","SYS_TIME"]"#]));
    assert_eq!(list(&e, "ka.req.pod.containers.command"), strs(&["nginx -g daemon off;"]));
    assert_eq!(list(&e, "ka.req.pod.containers.args"), strs(&["sleep 3600"]));
    assert_eq!(list(&e, "ka.req.pod.containers.host_port"), strs(&["80", "8443"]));
    assert_eq!(list(&e, "ka.req.pod.containers.run_as_user"), strs(&["0"]));
    assert_eq!(list(&e, "ka.req.pod.containers.eff_run_as_user"), strs(&["1000", "0"]));
    assert_eq!(list(&e, "ka.req.pod.containers.eff_run_as_group"), strs(&["0", "0"]));

    assert_eq!(list(&e, "ka.req.pod.initContainers.image"), strs(&["busybox:1.36"]));
    assert_eq!(list(&e, "ka.req.pod.initContainers.privileged"), strs(&["false"]));
    assert_eq!(list(&e, "ka.req.pod.ephemeralContainers.image"), None);
    assert_eq!(list(&e, "ka.req.pod.ephemeralContainers.privileged"), None);

    assert_eq!(list(&e, "ka.req.pod.volumes.hostpath"), strs(&["/etc", "/var/run/docker.sock"]));
    assert_eq!(list(&e, "ka.req.pod.volumes.hostpath[2]"), strs(&["/var/run/docker.sock"]));
    assert_eq!(list(&e, "ka.req.pod.volumes.volume_type"), strs(&["hostPath", "emptyDir", "hostPath"]));
    assert_eq!(one(&e, "ka.req.volume.hostpath[/var/run/docker.sock]").as_deref(), Some("true"));
    assert_eq!(one(&e, "ka.req.volume.hostpath[/var/run*]").as_deref(), Some("true"));
    assert_eq!(one(&e, "ka.req.volume.hostpath[/proc*]").as_deref(), Some("false"));

    assert_eq!(one(&e, "jevt.value[/stage]").as_deref(), Some("ResponseComplete"));
    assert_eq!(one(&e, "json.value[/requestObject/spec/volumes/0/hostPath/path]").as_deref(), Some("/etc"));
    assert_eq!(
        one(&e, "jevt.value[/requestObject/spec/volumes]").as_deref(),
        Some(r#"[{"name":"etc","hostPath":{"path":"/etc","type":""}},{"name":"cache","emptyDir":{}},{"name":"sock","hostPath":{"path":"/var/run/docker.sock"}}]"#)
    );
    assert_eq!(
        one(&e, "jevt.value[/annotations/authorization.k8s.io~1decision]").as_deref(),
        Some("allow")
    );
    assert_eq!(one(&e, "jevt.value[/requestObject/spec/tls]"), None);
    assert_eq!(one(&e, "jevt.rawtime").as_deref(), Some("1714557600123456000"));
    assert_eq!(e.extract(&field("evt.rawtime")), Extracted::One(Value::Unsigned(1_714_557_600_123_456_000)));
    assert_eq!(one(&e, "evt.time.iso8601").as_deref(), Some("2024-05-01T10:00:00.123456000Z"));
    assert_eq!(one(&e, "evt.time").as_deref(), Some("10:00:00.123456000"));
    assert_eq!(one(&e, "evt.datetime.s").as_deref(), Some("2024-05-01 10:00:00"));
    assert_eq!(one(&e, "evt.source").as_deref(), Some("k8s_audit"));
    assert_eq!(one(&e, "evt.pluginname").as_deref(), Some("k8saudit"));
    assert_eq!(e.extract(&field("evt.reltime")), Extracted::Missing);
    let obj = one(&e, "jevt.obj").expect("jevt.obj");
    assert!(obj.starts_with("{\n  \"kind\": \"Event\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n"), "{obj}");
}

#[test]
fn pod_exec_fields() {
    let e = event(POD_EXEC);
    assert_eq!(one(&e, "ka.uri.param[command]").as_deref(), Some("/bin/sh"));
    assert_eq!(one(&e, "ka.uri.param[container]").as_deref(), Some("nginx"));
    assert_eq!(one(&e, "ka.uri.param[missing]"), None);
    assert_eq!(
        one(&e, "ka.uri").as_deref(),
        Some("/api/v1/namespaces/default/pods/web/exec?command=%2Fbin%2Fsh&command=-c&container=nginx&stdin=true&tty=true")
    );
    assert_eq!(one(&e, "ka.target.subresource").as_deref(), Some("exec"));
    assert_eq!(one(&e, "ka.target.pod.name"), None);
    assert_eq!(one(&e, "ka.response.code").as_deref(), Some("101"));
    assert_eq!(one(&e, "ka.auth.reason").as_deref(), Some(""));
    assert_eq!(one(&e, "jevt.value[/stage]").as_deref(), Some("ResponseStarted"));
    assert_eq!(list(&e, "ka.user.groups"), None);
    assert_eq!(list(&e, "ka.req.pod.containers.image"), None);
    assert_eq!(one(&e, "ka.req.container.privileged"), None);
    assert_eq!(one(&e, "ka.req.volume.hostpath[/etc]"), None);
}

#[test]
fn binding_fields() {
    let e = event(BINDING);
    assert_eq!(one(&e, "ka.req.binding.role").as_deref(), Some("cluster-admin"));
    assert_eq!(
        list(&e, "ka.req.binding.subjects"),
        strs(&[
            r#"{"kind":"User","name":"carol","apiGroup":"rbac.authorization.k8s.io"}"#,
            r#"{"kind":"Group","name":"ops"}"#,
            r#"{"kind":"ServiceAccount","name":"deployer","namespace":"ci"}"#,
        ])
    );
    assert_eq!(list(&e, "ka.req.binding.subjects.user_names"), strs(&["carol"]));
    assert_eq!(list(&e, "ka.req.binding.subjects.group_names"), strs(&["ops"]));
    assert_eq!(list(&e, "ka.req.binding.subjects.serviceaccount_names"), strs(&["deployer"]));
    assert_eq!(list(&e, "ka.req.binding.subjects.serviceaccount_ns_names"), strs(&["ci:deployer"]));
    assert_eq!(one(&e, "ka.req.binding.subject.has_name[carol]").as_deref(), Some("true"));
    assert_eq!(one(&e, "ka.target.resource").as_deref(), Some("clusterrolebindings"));
    assert_eq!(one(&e, "evt.rawtime.ns").as_deref(), Some("500000000"));
}

#[test]
fn role_service_configmap_fields() {
    let e = event(ROLE);
    assert_eq!(list(&e, "ka.req.role.rules.verbs"), strs(&["get", "create", "*"]));
    assert_eq!(list(&e, "ka.req.role.rules.verbs[1]"), strs(&["*"]));
    assert_eq!(list(&e, "ka.req.role.rules.resources"), strs(&["pods", "pods/exec"]));
    assert_eq!(list(&e, "ka.req.role.rules.apiGroups"), strs(&[""]));
    assert_eq!(list(&e, "ka.req.role.rules.nonResourceURLs"), strs(&["/healthz"]));
    assert_eq!(
        list(&e, "ka.req.role.rules"),
        strs(&[
            r#"{"apiGroups":[""],"resources":["pods","pods/exec"],"verbs":["get","create"]}"#,
            r#"{"nonResourceURLs":["/healthz"],"verbs":["*"]}"#,
        ])
    );

    let e = event(SERVICE);
    assert_eq!(one(&e, "ka.req.service.type").as_deref(), Some("NodePort"));
    // The plugin renders the whole ports array as one value, with or without an index.
    let ports = r#"[{"port":80,"nodePort":30080,"protocol":"TCP"}]"#;
    assert_eq!(list(&e, "ka.req.service.ports"), strs(&[ports]));
    assert_eq!(list(&e, "ka.req.service.ports[0]"), strs(&[ports]));

    let e = event(CONFIGMAP);
    assert_eq!(one(&e, "ka.req.configmap.name").as_deref(), Some("creds"));
    assert_eq!(one(&e, "ka.req.configmap.obj").as_deref(), Some(r#"{"b":"x","aws_access_key_id":"AKIA"}"#));
    assert_eq!(one(&e, "ka.response.code").as_deref(), Some("409"));
    assert_eq!(one(&e, "ka.response.reason").as_deref(), Some("AlreadyExists"));
}

#[test]
fn ka_fields_need_an_audit_id_json_fields_do_not() {
    let e = event(r#"{"kind":"Event","verb":"get","stage":"ResponseComplete"}"#);
    assert_eq!(one(&e, "ka.verb"), None);
    assert_eq!(one(&e, "ka.req.binding.subject.has_name[x]"), None);
    assert_eq!(one(&e, "jevt.value[/verb]").as_deref(), Some("get"));
    assert_eq!(one(&e, "jevt.value[verb]").as_deref(), Some("get"));
    assert_eq!(one(&e, "jevt.rawtime").as_deref(), Some("0"));
    assert_eq!(e.time_ns(), 0);
}

#[test]
fn list_fields_come_as_lists_for_in_and_intersects() {
    let e = event(POD_CREATE);
    for name in ["ka.user.groups", "ka.req.pod.containers.image", "ka.req.pod.volumes.hostpath"] {
        assert!(matches!(e.extract(&field(name)), Extracted::Many(_)), "{name}");
    }
    let _ = texts(&e, "ka.verb");
}

#[test]
fn timestamps() {
    let e = event(r#"{"kind":"Event","auditID":"a","requestReceivedTimestamp":"2024-05-01T10:00:00Z"}"#);
    assert_eq!(e.time_ns(), 1_714_557_600_000_000_000);
    let err = AuditEvent::from_slice(br#"{"auditID":"a","stageTimestamp":"yesterday"}"#).expect_err("bad time");
    assert_eq!(err.to_string(), r#"stageTimestamp "yesterday" is not an RFC 3339 timestamp"#);
    let e = AuditEvent::from_value(serde_json::json!({"auditID": "v", "stageTimestamp": "2024-05-01T10:00:00Z"}))
        .expect("from value");
    assert_eq!(one(&e, "ka.auditid").as_deref(), Some("v"));
}

#[test]
fn from_value_checks_kind_and_shape() {
    let err = AuditEvent::from_value(serde_json::json!([1])).expect_err("array");
    assert_eq!(err.to_string(), "an audit event must be a JSON object, found an array");
    let err = AuditEvent::from_value(serde_json::json!({"kind": "Pod"})).expect_err("kind");
    assert_eq!(err.to_string(), r#"kind is "Pod", expected "Event""#);
}

#[test]
fn payload_event_list_with_bad_items() {
    let payload = br#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[
        {"kind":"Event","auditID":"1","stageTimestamp":"2024-05-01T10:00:00Z"},
        {"kind":"Event","auditID":"2","stageTimestamp":"2024-13-01T10:00:00Z"},
        "junk",
        {"kind":"Event","auditID":"4","stageTimestamp":"2024-05-01T10:00:01Z"}]}"#;
    let (events, errors) = parse_payload(payload);
    assert_eq!(events.iter().map(|e| one(e, "ka.auditid").unwrap_or_default()).collect::<Vec<_>>(), ["1", "4"]);
    assert_eq!(events.iter().map(AuditEvent::num).collect::<Vec<_>>(), [1, 2]);
    let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        msgs,
        [
            r#"items[1]: stageTimestamp "2024-13-01T10:00:00Z" is not an RFC 3339 timestamp"#,
            "items[2]: an audit event must be a JSON object, found a string",
        ]
    );
}

#[test]
fn payload_json_lines_with_bad_lines() {
    let payload = format!(
        "{}\n\n{{\"kind\":\"Event\",\"auditID\":\"x\",\n{}\n{{\"kind\":0}}\n",
        POD_EXEC.replace('\n', ""),
        BINDING.replace('\n', "")
    );
    let (events, errors) = parse_payload(payload.as_bytes());
    assert_eq!(events.len(), 2);
    assert_eq!(one(&events[1], "ka.auditid").as_deref(), Some("crb-1"));
    assert_eq!(errors.len(), 2);
    assert!(matches!(errors[0], AuditError::Json { at: crate::At { line: Some(3), item: None }, .. }), "{errors:?}");
    assert!(errors[0].to_string().starts_with("line 3: invalid JSON: "), "{}", errors[0]);
    assert_eq!(
        errors[1].to_string(),
        r#"line 5: data not recognized as a k8s audit event (kind 0; expected "Event" or "EventList")"#
    );
}

#[test]
fn payload_single_event_array_and_garbage() {
    let (events, errors) = parse_payload(POD_CREATE.as_bytes());
    assert_eq!((events.len(), errors.len()), (1, 0));
    let (events, errors) = parse_payload(format!("[{POD_EXEC},{ROLE}]").as_bytes());
    assert_eq!((events.len(), errors.len()), (2, 0));
    let (events, errors) = parse_payload(b"  \n ");
    assert_eq!((events.len(), errors.len()), (0, 0));
    let (events, errors) = parse_payload(b"{\"kind\": \"Event\",\n \"auditID\": }");
    assert_eq!(events.len(), 0);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].to_string().contains("line 2 column"), "{}", errors[0]);
    let (_, errors) = parse_payload(br#"{"kind":"EventList"}"#);
    assert_eq!(errors[0].to_string(), "EventList has no items array");
}

/// A bad first line (a torn write) costs that line only: the JSON lines after it are kept.
#[test]
fn payload_json_lines_with_a_bad_first_line() {
    let payload = format!("\"kind\":\"Event\",\"auditID\":\"x\"}}\n{}\n{}\n", POD_EXEC.replace('\n', ""), BINDING.replace('\n', ""));
    let (events, errors) = parse_payload(payload.as_bytes());
    assert_eq!(events.len(), 2, "{errors:?}");
    assert_eq!(one(&events[1], "ka.auditid").as_deref(), Some("crb-1"));
    assert_eq!(errors.len(), 1);
    assert!(errors[0].to_string().starts_with("line 1: "), "{}", errors[0]);
}

/// A broken pretty-printed document is still one error with the parser's position, not one
/// per line.
#[test]
fn payload_broken_document_is_one_error() {
    let (events, errors) = parse_payload(b"{\n  \"kind\": \"EventList\",\n  \"items\": [\n    {\"a\": 1},\n");
    assert!(events.is_empty());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(matches!(errors[0], AuditError::Json { at: crate::At { line: None, item: None }, .. }), "{errors:?}");
}
