//! Falco's `load_plugins` and `plugins`, read into what Palisade has built in.
//!
//! Palisade runs no plugins. The ones a Falco user loads map as follows:
//! - `k8saudit` (loaded): its `open_params` and `init_config.sslCertificate` configure the
//!   built-in `k8s_audit` source — `http://HOST:PORT/PATH` (or `https://`, then TLS with
//!   `sslCertificate`, Falco's default `/etc/falco/falco.pem`) is the webhook (an empty host
//!   is every interface, as the plugin listens), `file://PATH` or a bare path an audit log to
//!   follow. Its other `init_config` keys (sizes, async extraction) are warned about.
//! - `json`: its fields (`json.value[...]`, `jevt.*`) are built in; nothing to do.
//! - `container`: Palisade reads container metadata itself (containerd, CRI, podman); one
//!   warning, since Falco ≥ 0.41 loads it by default.
//! - anything else loaded: one warning each (its source and fields are not available).
//!
//! Entries of `plugins` that `load_plugins` does not name are not loaded by Falco either, and
//! are accepted silently (except `container`, above).

use serde_json::{Map, Value};

use super::falco_keys::{set, take, warning, ConfigWarning};

/// `load_plugins` (and with it `plugins`).
pub(super) fn load_plugins(root: &mut Map<String, Value>, value: Value) -> Vec<ConfigWarning> {
    let plugins = take(root, "plugins").unwrap_or(Value::Null);
    let names: Vec<String> = match &value {
        Value::Array(items) => items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect(),
        Value::Null => Vec::new(),
        other => return vec![warning("load_plugins", format!("expected a list of plugin names, found {other}"))],
    };
    translate(root, &names, &plugins)
}

/// `plugins` without `load_plugins`: nothing is loaded.
pub(super) fn plugins(root: &mut Map<String, Value>, value: Value) -> Vec<ConfigWarning> {
    translate(root, &[], &value)
}

fn translate(root: &mut Map<String, Value>, loaded: &[String], plugins: &Value) -> Vec<ConfigWarning> {
    let entries: Vec<&Map<String, Value>> = plugins.as_array().map(|a| a.iter().filter_map(Value::as_object).collect()).unwrap_or_default();
    let name_of = |e: &Map<String, Value>| e.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut warnings = Vec::new();
    for entry in &entries {
        let name = name_of(entry);
        if name == "container" {
            warnings.push(warning(
                "plugins[container]",
                "Palisade reads container metadata itself (containerd, CRI, podman); the plugin and its init_config are not used",
            ));
        }
    }
    for name in loaded {
        let entry = entries.iter().find(|e| name_of(e) == *name);
        match (name.as_str(), entry) {
            ("json" | "container", _) => {}
            ("k8saudit", Some(entry)) => warnings.extend(k8saudit(root, entry)),
            (_, None) => warnings.push(warning(
                "load_plugins",
                format!("{name:?} has no entry in plugins (Falco refuses to start); ignored"),
            )),
            (_, Some(_)) => warnings.push(warning(
                format!("plugins[{name}]"),
                "Palisade runs no plugins: its event source and fields are not available",
            )),
        }
    }
    warnings
}

/// The `k8saudit` plugin's settings into `k8s_audit`.
fn k8saudit(root: &mut Map<String, Value>, entry: &Map<String, Value>) -> Vec<ConfigWarning> {
    let mut warnings = Vec::new();
    let params = entry.get("open_params").and_then(Value::as_str).unwrap_or("http://:9765/k8s-audit").trim();
    let init = entry.get("init_config").and_then(Value::as_object).cloned().unwrap_or_default();
    set(root, "k8s_audit.enabled", Value::Bool(true));
    let web = params.strip_prefix("http://").map(|r| (r, false)).or_else(|| params.strip_prefix("https://").map(|r| (r, true)));
    match web {
        Some((rest, tls)) => {
            let (authority, path) = rest.split_once('/').map_or((rest, "/"), |(a, p)| (a, p));
            let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "9765"));
            let host = host.trim_start_matches('[').trim_end_matches(']');
            match port.parse::<u16>() {
                Ok(port) => set(root, "k8s_audit.listen_port", Value::from(port)),
                Err(_) => warnings.push(warning("plugins[k8saudit].open_params", format!("bad port {port:?}; 9765 used"))),
            }
            let host = if host.is_empty() { "0.0.0.0" } else { host };
            set(root, "k8s_audit.listen_address", Value::from(host));
            set(root, "k8s_audit.endpoint", Value::from(format!("/{path}")));
            if tls {
                let cert = init.get("sslCertificate").and_then(Value::as_str).unwrap_or("/etc/falco/falco.pem");
                set(root, "k8s_audit.ssl_enabled", Value::Bool(true));
                set(root, "k8s_audit.ssl_certificate", Value::from(cert));
            }
        }
        None => {
            let file = params.strip_prefix("file://").unwrap_or(params);
            set(root, "k8s_audit.files", Value::Array(vec![Value::from(file)]));
        }
    }
    for key in init.keys().filter(|k| *k != "sslCertificate") {
        warnings.push(warning(
            format!("plugins[k8saudit].init_config.{key}"),
            "the built-in k8s_audit source has its own limits (a webhook body up to 64 MiB)",
        ));
    }
    warnings
}
