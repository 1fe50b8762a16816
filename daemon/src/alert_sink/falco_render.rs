//! Falco's rendering switches that change an alert's text after it is written:
//! `time_format_iso_8601`, `json_include_message_property` and
//! `json_include_output_fields_property`. At their defaults (off, off, on) nothing here runs;
//! otherwise the written JSON is re-read and rewritten (keys stay sorted), a cost only their
//! users pay.

use palisade_rules::alert::{format_rfc3339, Alert};
use serde_json::Value;

use crate::config::Config;

/// The switches, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FalcoRender {
    /// Text lines (and JSON `output`) start with an ISO 8601 UTC time.
    iso_time: bool,
    /// JSON gets `message`: the output without time and priority.
    message: bool,
    /// JSON keeps `output_fields`.
    output_fields: bool,
}

impl FalcoRender {
    pub(super) fn of(c: &Config) -> FalcoRender {
        FalcoRender {
            iso_time: c.time_format_iso_8601,
            message: c.json_include_message_property,
            output_fields: c.json_include_output_fields_property,
        }
    }

    fn is_default(self) -> bool {
        !self.iso_time && !self.message && self.output_fields
    }

    /// Rewrites a text line of `alert` (`text`) and its JSON (`json`, empty when not rendered).
    pub(super) fn apply(self, alert: &Alert, text: Option<&mut String>, json: &mut String) {
        if self.is_default() {
            return;
        }
        let iso_line = || format!("{}: {} {}", format_rfc3339(alert.time_ns), alert.priority, alert.output);
        if let Some(text) = text {
            if self.iso_time {
                *text = iso_line();
            }
        }
        if json.is_empty() {
            return;
        }
        let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(json) else { return };
        if self.iso_time && map.contains_key("output") {
            map.insert("output".into(), Value::String(iso_line()));
        }
        if self.message {
            map.insert("message".into(), Value::String(alert.output.clone()));
        }
        if !self.output_fields {
            map.remove("output_fields");
        }
        if let Ok(rewritten) = serde_json::to_string(&Value::Object(map)) {
            *json = rewritten;
        }
    }
}

#[cfg(test)]
#[path = "falco_render_tests.rs"]
mod tests;
