//! Alerts in Falco's JSON shape, so Falcosidekick and existing pipelines work unchanged:
//! `{"hostname","output","output_fields","priority","rule","source","tags","time"}`, with
//! `time` in RFC 3339 UTC with nanoseconds.

use std::cell::RefCell;
use std::fmt::Write as _;

use serde_json::{Map, Value as Json};

use crate::engine::Rule;
use crate::output::{FieldValue, OutputFormat};
use crate::value::FieldSource;

/// Text room [`Alert::new`] leaves for an appended output (the daemon's container fields).
const APPEND_ROOM: usize = 256;
/// Field room [`Alert::new`] leaves for an appended output (the daemon's six container fields).
const APPEND_FIELDS: usize = 8;

/// One alert, ready to serialize.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Event time, nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// Rule name.
    pub rule: String,
    /// Priority name (`Warning`, ...).
    pub priority: &'static str,
    /// Source name (`syscall`, `k8s_audit`).
    pub source: &'static str,
    /// Rendered output text (without the time/priority prefix).
    pub output: String,
    /// Field values, in the order the output names them.
    pub output_fields: Vec<(String, FieldValue)>,
    /// Rule tags.
    pub tags: Vec<String>,
    /// Host name.
    pub hostname: String,
    /// Extra top-level keys (e.g. Palisade's `enforced`, `profile`).
    pub extra: Vec<(String, Json)>,
}

impl Alert {
    /// Build the alert for `rule` matching `event`.
    ///
    /// The text and the fields are rendered straight into the alert's buffers, sized from what
    /// the rule rendered before, with room for an [`Alert::append_output`] (the daemon appends
    /// the container's fields to every alert): one allocation each instead of a growth series.
    pub fn new(rule: &Rule, event: &dyn FieldSource, time_ns: u64, hostname: &str) -> Alert {
        let mut output = String::with_capacity(rule.output.text_len_hint() + APPEND_ROOM);
        let mut output_fields = Vec::with_capacity(rule.output.field_count() + APPEND_FIELDS);
        rule.output.render_into(event, &mut output, &mut output_fields);
        Alert {
            time_ns,
            rule: rule.name.clone(),
            priority: rule.priority.name(),
            source: rule.source.name(),
            output,
            output_fields,
            tags: rule.tags.clone(),
            hostname: hostname.to_owned(),
            extra: Vec::new(),
        }
    }

    /// Falco's `append_output`: `format`, rendered against `event`, is appended to the output
    /// text (after a space) and its fields to `output_fields` (a field already there keeps its
    /// place and value).
    pub fn append_output(&mut self, format: &OutputFormat, event: &dyn FieldSource) {
        let before = self.output.len();
        self.output.push(' ');
        format.render_into(event, &mut self.output, &mut self.output_fields);
        if self.output.len() == before + 1 {
            self.output.truncate(before); // an empty text appends nothing, not even the space
        }
    }

    /// The Falco JSON object. `include_output`/`include_tags` mirror Falco's
    /// `json_include_output_property` and `json_include_tags_property`.
    pub fn to_json(&self, include_output: bool, include_tags: bool) -> Json {
        let mut m = Map::new();
        m.insert("hostname".into(), Json::String(self.hostname.clone()));
        if include_output {
            m.insert("output".into(), Json::String(format!("{}: {} {}", format_time(self.time_ns), self.priority, self.output)));
        }
        let mut fields = Map::new();
        for (k, v) in &self.output_fields {
            let j = match v {
                FieldValue::Missing => Json::Null,
                FieldValue::Number(n) => i64::try_from(*n)
                    .map(Json::from)
                    .or_else(|_| u64::try_from(*n).map(Json::from))
                    .unwrap_or(Json::Null),
                FieldValue::Text(t) => Json::String(t.clone()),
            };
            fields.insert(k.clone(), j);
        }
        m.insert("output_fields".into(), Json::Object(fields));
        m.insert("priority".into(), Json::String(self.priority.into()));
        m.insert("rule".into(), Json::String(self.rule.clone()));
        m.insert("source".into(), Json::String(self.source.into()));
        if include_tags {
            m.insert("tags".into(), Json::Array(self.tags.iter().cloned().map(Json::String).collect()));
        }
        m.insert("time".into(), Json::String(format_rfc3339(self.time_ns)));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Json::Object(m)
    }

    /// Falco's text line: `HH:MM:SS.nnnnnnnnn: Priority output`.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.output.len() + 40);
        self.write_text(&mut out);
        out
    }

    /// [`Alert::to_text`], appended to `out`.
    pub fn write_text(&self, out: &mut String) {
        write_time(out, self.time_ns);
        let _ = write!(out, ": {} {}", self.priority, self.output);
    }

    /// [`Alert::to_json`]'s text, byte for byte, written straight into `out`: the alert path
    /// renders every alert, and building a `serde_json::Value` tree (a map, a string per key
    /// and value) first cost more than the rest of the path. Keys are sorted as serde_json's
    /// map sorts them; a later key of the same name wins, as a map insert does.
    pub fn write_json(&self, out: &mut String, include_output: bool, include_tags: bool) {
        enum Top<'a> {
            Text(&'a str),
            Output,
            Fields,
            Tags,
            Time,
            Json(&'a Json),
        }
        let mut top: Vec<(&str, Top<'_>)> = Vec::with_capacity(8 + self.extra.len());
        top.push(("hostname", Top::Text(&self.hostname)));
        if include_output {
            top.push(("output", Top::Output));
        }
        top.push(("output_fields", Top::Fields));
        top.push(("priority", Top::Text(self.priority)));
        top.push(("rule", Top::Text(&self.rule)));
        top.push(("source", Top::Text(self.source)));
        if include_tags {
            top.push(("tags", Top::Tags));
        }
        top.push(("time", Top::Time));
        top.extend(self.extra.iter().map(|(k, v)| (k.as_str(), Top::Json(v))));
        sort_last_wins(&mut top);
        out.push('{');
        for (i, (key, value)) in top.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_str(out, key);
            out.push(':');
            match value {
                Top::Text(t) => write_json_str(out, t),
                Top::Output => {
                    // The text line, escaped in place: time and priority need no escaping.
                    out.push('"');
                    write_time(out, self.time_ns);
                    out.push_str(": ");
                    push_escaped(out, self.priority);
                    out.push(' ');
                    push_escaped(out, &self.output);
                    out.push('"');
                }
                Top::Fields => self.write_fields(out),
                Top::Tags => {
                    out.push('[');
                    for (i, tag) in self.tags.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        write_json_str(out, tag);
                    }
                    out.push(']');
                }
                Top::Time => {
                    out.push('"');
                    write_rfc3339(out, self.time_ns);
                    out.push('"');
                }
                Top::Json(v) => {
                    let _ = write!(out, "{v}");
                }
            }
        }
        out.push('}');
    }

    fn write_fields(&self, out: &mut String) {
        FIELD_ORDER.with(|order| {
            let mut order = order.borrow_mut();
            order.update(&self.output_fields);
            out.push('{');
            for (i, &at) in order.order.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let (key, value) = &self.output_fields[at];
                write_json_str(out, key);
                out.push(':');
                match value {
                    FieldValue::Missing => out.push_str("null"),
                    FieldValue::Number(n) => match (i64::try_from(*n), u64::try_from(*n)) {
                        (Ok(n), _) => {
                            let _ = write!(out, "{n}");
                        }
                        (_, Ok(n)) => {
                            let _ = write!(out, "{n}");
                        }
                        _ => out.push_str("null"),
                    },
                    FieldValue::Text(t) => write_json_str(out, t),
                }
            }
            out.push('}');
        });
    }
}

thread_local! {
    /// The last alert's `output_fields` order, per rendering thread ([`FieldOrder`]).
    static FIELD_ORDER: RefCell<FieldOrder> = RefCell::new(FieldOrder::default());
}

/// The JSON order of a list of field keys (sorted, a repeated key's last value kept), with the
/// keys it was computed for. Alerts of one rule name the same keys in the same order, and a storm
/// is one rule: comparing the keys costs a fraction of sorting them again for every alert.
#[derive(Default)]
struct FieldOrder {
    keys: Vec<String>,
    /// Indexes into the fields, in output order.
    order: Vec<usize>,
}

impl FieldOrder {
    fn update(&mut self, fields: &[(String, FieldValue)]) {
        let same = self.keys.len() == fields.len() && self.keys.iter().zip(fields).all(|(a, (b, _))| a == b);
        if same {
            return;
        }
        let mut sorted: Vec<(&str, usize)> = fields.iter().enumerate().map(|(i, (k, _))| (k.as_str(), i)).collect();
        sort_last_wins(&mut sorted);
        self.order.clear();
        self.order.extend(sorted.iter().map(|&(_, i)| i));
        self.keys.clear();
        self.keys.extend(fields.iter().map(|(k, _)| k.clone()));
    }
}

/// Sorts by key, keeping of equal keys only the last pushed (a map's insert).
fn sort_last_wins<T>(entries: &mut Vec<(&str, T)>) {
    entries.sort_by(|a, b| a.0.cmp(b.0)); // stable: equal keys stay in push order
    let mut i = 0;
    while i + 1 < entries.len() {
        if entries[i].0 == entries[i + 1].0 {
            entries.remove(i);
        } else {
            i += 1;
        }
    }
}

/// A JSON string as serde_json writes it: `"` and `\` escaped, `\b \f \n \r \t` short,
/// other control characters as `\u00xx`, everything else (non-ASCII included) as is.
fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// The bytes [`push_escaped`] must escape: control characters, `"` and `\`.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// `s` as the inside of a JSON string ([`write_json_str`]). The runs between escapes are
/// copied whole: every alert's output text and field values pass through here.
fn push_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(off) = bytes[start..].iter().position(|&b| ESCAPED[usize::from(b)]) {
        let i = start + off;
        out.push_str(&s[start..i]);
        match bytes[i] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm; written here because
/// pulling a date crate for one conversion is not worth it).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2026-11-23T06:14:19.123456789Z`.
pub fn format_rfc3339(ns: u64) -> String {
    let mut out = String::with_capacity(30);
    write_rfc3339(&mut out, ns);
    out
}

fn write_rfc3339(out: &mut String, ns: u64) {
    let secs = (ns / 1_000_000_000) as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        ns % 1_000_000_000
    );
}

/// `06:14:19.123456789` (UTC).
pub fn format_time(ns: u64) -> String {
    let mut out = String::with_capacity(18);
    write_time(&mut out, ns);
    out
}

fn write_time(out: &mut String, ns: u64) {
    let secs = ns / 1_000_000_000;
    let sod = secs % 86_400;
    let _ = write!(out, "{:02}:{:02}:{:02}.{:09}", sod / 3600, (sod / 60) % 60, sod % 60, ns % 1_000_000_000);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formats() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        // 2024-02-29T12:34:56.000000007Z
        assert_eq!(format_rfc3339(1_709_210_096_000_000_007), "2024-02-29T12:34:56.000000007Z");
        assert_eq!(format_time(1_709_210_096_000_000_007), "12:34:56.000000007");
    }

    #[test]
    fn write_json_is_to_json_byte_for_byte() {
        let alert = Alert {
            time_ns: 1_709_210_096_000_000_007,
            rule: "Rule \"quoted\" \\ back".into(),
            priority: "Warning",
            source: "syscall",
            output: "tab\there nl\n cr\r bell\u{7} del\u{7f} ünïcode ✓ \u{1f} \u{8}\u{c}".into(),
            output_fields: vec![
                ("proc.name".into(), FieldValue::Text("cat".into())),
                ("fd.name".into(), FieldValue::Missing),
                ("big".into(), FieldValue::Number(i128::from(u64::MAX))),
                ("neg".into(), FieldValue::Number(-5)),
                ("huge".into(), FieldValue::Number(i128::MAX)),
                ("proc.name".into(), FieldValue::Text("later wins".into())),
            ],
            tags: vec!["a".into(), "b\"".into()],
            hostname: "h".into(),
            extra: vec![
                ("enforced".into(), Json::Bool(true)),
                ("profile".into(), Json::String("nginx".into())),
                ("rule".into(), Json::String("extra overrides".into())),
            ],
        };
        for (output, tags) in [(true, true), (false, false), (true, false)] {
            let mut text = String::new();
            alert.write_json(&mut text, output, tags);
            assert_eq!(text, alert.to_json(output, tags).to_string());
        }
        assert_eq!(alert.to_text(), format!("{}: Warning {}", format_time(alert.time_ns), alert.output));
    }

    #[test]
    fn the_remembered_field_order_follows_the_keys() {
        // Alternating alerts of as many fields, different keys (and a repeated one): each is
        // what to_json gives, whether the order was remembered or computed.
        let alert = |keys: &[&str]| Alert {
            time_ns: 7,
            rule: "r".into(),
            priority: "Warning",
            source: "syscall",
            output: "o".into(),
            output_fields: keys.iter().enumerate().map(|(i, k)| ((*k).to_owned(), FieldValue::Number(i as i128))).collect(),
            tags: vec![],
            hostname: "h".into(),
            extra: vec![],
        };
        let (a, b) = (alert(&["z", "a", "m"]), alert(&["m", "b", "m"]));
        for alert in [&a, &a, &b, &b, &a] {
            let mut text = String::new();
            alert.write_json(&mut text, true, true);
            assert_eq!(text, alert.to_json(true, true).to_string());
        }
    }

    #[test]
    fn append_output_adds_text_and_new_fields_only() {
        use crate::fields::Source;
        use crate::testing::MapEvent;
        let mut ev = MapEvent::new(Source::Syscall);
        ev.set_str("container.id", "4f3a9b2c1d0e").set_str("proc.name", "cat");
        let mut alert = Alert {
            time_ns: 0,
            rule: "r".into(),
            priority: "Warning",
            source: "syscall",
            output: "read by cat".into(),
            output_fields: vec![("proc.name".into(), FieldValue::Text("cat".into()))],
            tags: vec![],
            hostname: "h".into(),
            extra: vec![],
        };
        let extra = OutputFormat::compile("container_id=%container.id process=%proc.name", Source::Syscall).expect("compile");
        alert.append_output(&extra, &ev);
        assert_eq!(alert.output, "read by cat container_id=4f3a9b2c1d0e process=cat");
        let names: Vec<&str> = alert.output_fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["proc.name", "container.id"]);
    }
}
