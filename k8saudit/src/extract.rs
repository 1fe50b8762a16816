//! [`FieldSource`] for [`AuditEvent`]: dispatch through a table indexed by field id, the
//! generic `evt.*` fields, the json plugin's `json.*`/`jevt.*` fields and `ka.uri.param`'s
//! query parsing.

use std::borrow::Cow;
use std::sync::OnceLock;

use palisade_rules::alert::{format_rfc3339, format_time};
use palisade_rules::{Extracted, FieldArg, FieldRef, FieldSource, Source, Value};

use crate::json::Json;
use crate::ka::{self, Ka};
use crate::AuditEvent;

/// What a field of the `k8s_audit` table reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    /// Not a field we can give a value for (`evt.reltime`: no capture start).
    None,
    EvtNum,
    EvtTime,
    EvtTimeS,
    EvtTimeIso8601,
    EvtDatetime,
    EvtDatetimeS,
    EvtRawtime,
    EvtRawtimeS,
    EvtRawtimeNs,
    EvtPluginName,
    EvtPluginInfo,
    EvtSource,
    EvtIsAsync,
    EvtHostname,
    JsonValue,
    JsonObj,
    JsonRawtime,
    Ka(Ka),
}

impl Field {
    fn from_name(name: &str) -> Field {
        match name {
            "evt.num" => Field::EvtNum,
            "evt.time" => Field::EvtTime,
            "evt.time.s" => Field::EvtTimeS,
            "evt.time.iso8601" => Field::EvtTimeIso8601,
            "evt.datetime" => Field::EvtDatetime,
            "evt.datetime.s" => Field::EvtDatetimeS,
            "evt.rawtime" => Field::EvtRawtime,
            "evt.rawtime.s" => Field::EvtRawtimeS,
            "evt.rawtime.ns" => Field::EvtRawtimeNs,
            "evt.pluginname" => Field::EvtPluginName,
            "evt.plugininfo" => Field::EvtPluginInfo,
            "evt.source" => Field::EvtSource,
            "evt.is_async" => Field::EvtIsAsync,
            "evt.hostname" => Field::EvtHostname,
            "json.value" | "jevt.value" => Field::JsonValue,
            "json.obj" | "jevt.obj" => Field::JsonObj,
            "json.rawtime" | "jevt.rawtime" => Field::JsonRawtime,
            other => Ka::from_name(other).map_or(Field::None, Field::Ka),
        }
    }
}

/// The `k8s_audit` field table resolved once: entry `i` is what field id `i` reads.
fn table() -> &'static [(&'static str, Field)] {
    static TABLE: OnceLock<Vec<(&'static str, Field)>> = OnceLock::new();
    TABLE.get_or_init(|| Source::K8sAudit.fields().iter().map(|d| (d.name, Field::from_name(d.name))).collect())
}

/// Resolve a reference: by id when it names a `k8s_audit` field, else by name.
fn resolve(field: &FieldRef) -> Field {
    match table().get(usize::from(field.id.0)) {
        Some((name, f)) if *name == field.name => *f,
        _ => Field::from_name(field.name),
    }
}

fn owned(s: String) -> Extracted<'static> {
    Extracted::One(Value::string(s))
}

fn text(v: &Json) -> Value<'_> {
    match v {
        Json::Str(s) => Value::str(s),
        other => Value::string(other.to_compact()),
    }
}

impl FieldSource for AuditEvent {
    fn event_type(&self) -> Option<u16> {
        None
    }

    fn extract<'a>(&'a self, field: &FieldRef) -> Extracted<'a> {
        let ns = self.time_ns;
        match resolve(field) {
            Field::Ka(k) => ka::extract(&self.root, k, field),
            Field::JsonValue => json_value(&self.root, field.arg.as_ref()),
            Field::JsonObj => owned(self.root.to_pretty()),
            Field::JsonRawtime => owned(ns.to_string()),
            Field::EvtNum => Extracted::One(Value::Unsigned(self.num)),
            Field::EvtTime => owned(format_time(ns)),
            Field::EvtTimeS => owned(format_time(ns)[..8].to_owned()),
            Field::EvtTimeIso8601 => owned(format_rfc3339(ns)),
            Field::EvtDatetime => owned(datetime(ns)),
            Field::EvtDatetimeS => owned(datetime(ns)[..19].to_owned()),
            Field::EvtRawtime => Extracted::One(Value::Unsigned(ns)),
            Field::EvtRawtimeS => Extracted::One(Value::Unsigned(ns / 1_000_000_000)),
            Field::EvtRawtimeNs => Extracted::One(Value::Unsigned(ns % 1_000_000_000)),
            Field::EvtPluginName => Extracted::One(Value::str("k8saudit")),
            Field::EvtPluginInfo => owned(self.root.to_compact()),
            Field::EvtSource => Extracted::One(Value::str("k8s_audit")),
            Field::EvtIsAsync => Extracted::One(Value::Bool(false)),
            Field::EvtHostname => hostname().map_or(Extracted::Missing, |h| Extracted::One(Value::str(h))),
            Field::None => Extracted::Missing,
        }
    }
}

/// `2018-10-25 17:55:18.926631000` (UTC), libsinsp's `evt.datetime` layout.
fn datetime(ns: u64) -> String {
    let iso = format_rfc3339(ns);
    let iso = iso.strip_suffix('Z').unwrap_or(&iso);
    iso.replacen('T', " ", 1)
}

/// `FALCO_HOSTNAME` if set (as libsinsp), else the kernel's host name.
fn hostname() -> Option<&'static str> {
    static HOST: OnceLock<Option<String>> = OnceLock::new();
    HOST.get_or_init(|| {
        let name = std::env::var("FALCO_HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())?;
        let name = name.trim();
        (!name.is_empty()).then(|| name.to_owned())
    })
    .as_deref()
}

/// `json.value[POINTER]`: the value at an RFC 6901 pointer (`/a/b`, `~1` for `/`, `~0` for
/// `~`; array elements by decimal index; the leading `/` optional, as in the json plugin);
/// strings by their contents, anything else as compact JSON. An empty pointer is the whole
/// event.
fn json_value<'a>(root: &'a Json, arg: Option<&FieldArg>) -> Extracted<'a> {
    let pointer = arg.map(FieldArg::key).unwrap_or_default();
    if pointer.is_empty() {
        return owned(root.to_compact());
    }
    let pointer = pointer.strip_prefix('/').unwrap_or(&pointer);
    let mut v = root;
    for token in pointer.split('/') {
        let token = if token.contains('~') {
            Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(token)
        };
        match v.step(&token) {
            Some(next) => v = next,
            None => return Extracted::Missing,
        }
    }
    Extracted::One(text(v))
}

/// The first value of query parameter `key` in `uri`, decoded as Go's `url.ParseQuery`
/// does (`+` is a space, `%XX` a byte). `None` when absent, and — as the plugin gives up on
/// any parse error — when the URI has a control character, a bad `%` escape or a `;` in
/// its query.
pub(crate) fn query_param(uri: &str, key: &str) -> Option<Vec<u8>> {
    if uri.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return None;
    }
    let uri = uri.split_once('#').map_or(uri, |(u, _)| u);
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    unescape(path, false)?;
    let mut found = None;
    for pair in query.split('&') {
        if pair.contains(';') {
            return None;
        }
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (unescape(k, true)?, unescape(v, true)?);
        if found.is_none() && k == key.as_bytes() {
            found = Some(v);
        }
    }
    found
}

/// Percent-decode `s` (and `+` as space in query components); `None` on a bad escape.
fn unescape(s: &str, query: bool) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                let hi = hex(*b.get(i + 1)?)?;
                let lo = hex(*b.get(i + 2)?)?;
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            b'+' if query => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plugin_field_is_resolved() {
        let unresolved: Vec<&str> = table()
            .iter()
            .filter(|(name, f)| *f == Field::None && !name.starts_with("evt.reltime") && *name != "evt.asynctype")
            .map(|(name, _)| *name)
            .collect();
        assert!(unresolved.is_empty(), "no extraction for {unresolved:?}");
    }

    #[test]
    fn query_params() {
        let uri = "/api/v1/namespaces/default/pods/nginx/exec?command=bash&command=-c&container=nginx&x=a+b%2Fc&flag";
        let q = |k: &str| query_param(uri, k).map(|v| String::from_utf8(v).expect("utf-8"));
        assert_eq!(q("command").as_deref(), Some("bash"));
        assert_eq!(q("container").as_deref(), Some("nginx"));
        assert_eq!(q("x").as_deref(), Some("a b/c"));
        assert_eq!(q("flag").as_deref(), Some(""));
        assert_eq!(q("stdin"), None);
        assert_eq!(query_param("/p?a=1;b=2", "a"), None);
        assert_eq!(query_param("/p?a=%zz&b=2", "b"), None);
        assert_eq!(query_param("/p%zz?a=1", "a"), None);
        assert_eq!(query_param("/p?a=1#b=2", "b"), None);
        assert_eq!(query_param("/p", "a"), None);
    }

    #[test]
    fn datetime_layouts() {
        let ns = 1_540_490_118_926_631_000;
        assert_eq!(datetime(ns), "2018-10-25 17:55:18.926631000");
        assert_eq!(&datetime(ns)[..19], "2018-10-25 17:55:18");
        assert_eq!(&format_time(ns)[..8], "17:55:18");
    }
}
