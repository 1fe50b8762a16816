//! The `k8s_audit` event source: Kubernetes audit events (`audit.k8s.io/v1` `Event` objects)
//! seen through [`palisade_rules::FieldSource`] with the field semantics of Falco's k8saudit
//! plugin (`ka.*`) and json plugin (`json.*`, legacy `jevt.*`), plus the generic `evt.*`
//! fields libsinsp gives plugin events.
//!
//! An event is parsed once ([`AuditEvent::from_value`], [`parse_payload`]) into a tree that
//! keeps the API server's key order (so objects render as Falco renders them) and then
//! extracted from many times; field dispatch goes through a table indexed by
//! [`palisade_rules::FieldId`], not by comparing names.

mod extract;
mod json;
mod ka;
mod time;

use std::fmt;

use serde::Deserialize;

use json::Json;

/// One audit event (an `audit.k8s.io/v1` Event object), parsed once, extracted many times.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    root: Json,
    time_ns: u64,
    num: u64,
}

impl AuditEvent {
    /// Build from a parsed JSON value: it must be an object whose `kind`, if present, is
    /// `Event`, and whose `stageTimestamp` (or, without one, `requestReceivedTimestamp`), if
    /// present, is an RFC 3339 timestamp.
    ///
    /// `serde_json::Value` has already sorted object keys; [`parse_payload`] parses bytes
    /// directly and keeps the original order for rendering.
    pub fn from_value(v: serde_json::Value) -> Result<AuditEvent, AuditError> {
        let root = Json::deserialize(v).map_err(|source| AuditError::Json { at: At::default(), source })?;
        AuditEvent::from_json(root, At::default())
    }

    /// Parse one event from JSON text.
    pub fn from_slice(bytes: &[u8]) -> Result<AuditEvent, AuditError> {
        let root: Json =
            serde_json::from_slice(bytes).map_err(|source| AuditError::Json { at: At::default(), source })?;
        AuditEvent::from_json(root, At::default())
    }

    fn from_json(root: Json, at: At) -> Result<AuditEvent, AuditError> {
        if !matches!(root, Json::Obj(_)) {
            return Err(AuditError::NotObject { at, found: root.type_name() });
        }
        match root.get("kind") {
            None => {}
            Some(Json::Str(k)) if k == "Event" => {}
            Some(other) => {
                return Err(AuditError::NotEvent { at, kind: other.to_compact() });
            }
        }
        let mut time_ns = 0;
        for field in ["stageTimestamp", "requestReceivedTimestamp"] {
            if let Some(v) = root.get(field) {
                let text = v.as_str().unwrap_or_default();
                time_ns = time::parse_rfc3339_ns(text)
                    .ok_or_else(|| AuditError::BadTimestamp { at, field, value: v.to_compact() })?;
                break;
            }
        }
        Ok(AuditEvent { root, time_ns, num: 0 })
    }

    /// `stageTimestamp` (RFC 3339 with fraction) in ns since the epoch; without one,
    /// `requestReceivedTimestamp`; 0 if the event has neither.
    pub fn time_ns(&self) -> u64 {
        self.time_ns
    }

    /// The event's sequence number (`evt.num`); 0 until the caller numbers it.
    pub fn num(&self) -> u64 {
        self.num
    }

    /// Set the sequence number `evt.num` reports (libsinsp numbers events from 1 in the order
    /// it reads them).
    pub fn set_num(&mut self, num: u64) {
        self.num = num;
    }

    /// The event as compact JSON, keys in their original order (what the k8saudit plugin
    /// stores as the event payload).
    pub fn to_json_string(&self) -> String {
        self.root.to_compact()
    }
}

/// Where in a payload an item sits: line (1-based, for JSON lines) and index in an
/// `EventList`'s `items` or a top-level array (0-based). Displays as a message prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct At {
    /// Line of a JSON-lines payload.
    pub line: Option<usize>,
    /// Index of the item in `items` (or in a top-level array).
    pub item: Option<usize>,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.item) {
            (Some(l), Some(i)) => write!(f, "line {l}, items[{i}]: "),
            (Some(l), None) => write!(f, "line {l}: "),
            (None, Some(i)) => write!(f, "items[{i}]: "),
            (None, None) => Ok(()),
        }
    }
}

/// Why (part of) an audit payload was rejected.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Not JSON (the position inside the text is in `source`).
    #[error("{at}invalid JSON: {source}")]
    Json {
        /// Where.
        at: At,
        /// The parser's error, with line and column.
        source: serde_json::Error,
    },
    /// An event that is not a JSON object.
    #[error("{at}an audit event must be a JSON object, found {found}")]
    NotObject {
        /// Where.
        at: At,
        /// The JSON type found.
        found: &'static str,
    },
    /// An object whose `kind` is not `Event`.
    #[error("{at}kind is {kind}, expected \"Event\"")]
    NotEvent {
        /// Where.
        at: At,
        /// The `kind` value, as JSON.
        kind: String,
    },
    /// A payload that is neither an `Event`, an `EventList` nor an array of them (the
    /// k8saudit plugin's wording).
    #[error("{at}data not recognized as a k8s audit event (kind {kind}; expected \"Event\" or \"EventList\")")]
    NotRecognized {
        /// Where.
        at: At,
        /// The `kind` value as JSON, or `absent`.
        kind: String,
    },
    /// An `EventList` without an `items` array.
    #[error("{at}EventList has no items array")]
    NoItems {
        /// Where.
        at: At,
    },
    /// A timestamp that does not parse.
    #[error("{at}{field} {value} is not an RFC 3339 timestamp")]
    BadTimestamp {
        /// Where.
        at: At,
        /// `stageTimestamp` or `requestReceivedTimestamp`.
        field: &'static str,
        /// The value, as JSON.
        value: String,
    },
}

impl AuditError {
    /// Where the error is.
    pub fn at(&self) -> At {
        match self {
            AuditError::Json { at, .. }
            | AuditError::NotObject { at, .. }
            | AuditError::NotEvent { at, .. }
            | AuditError::NotRecognized { at, .. }
            | AuditError::NoItems { at }
            | AuditError::BadTimestamp { at, .. } => *at,
        }
    }
}

/// Splits a payload into events: an `EventList` (`{"kind":"EventList","items":[...]}`), a
/// single `Event`, an array of those, or JSON lines (one event or list per line, as the API
/// server's `--audit-log-path` writes). Bad items are reported per item (line and index plus
/// the reason) without losing the good ones. Events are numbered (`evt.num`) from 1.
pub fn parse_payload(bytes: &[u8]) -> (Vec<AuditEvent>, Vec<AuditError>) {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    match serde_json::from_slice::<Json>(bytes) {
        Ok(v) => split(v, At::default(), &mut events, &mut errors),
        Err(whole) if whole.is_eof() && bytes.iter().all(u8::is_ascii_whitespace) => {}
        Err(whole) => {
            let lines: Vec<(usize, &[u8])> = bytes
                .split(|&b| b == b'\n')
                .enumerate()
                .map(|(i, l)| (i + 1, l))
                .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
                .collect();
            // JSON lines when the first line is a value or some line an object of its own (a
            // line of a broken pretty-printed document hardly is: its members end in commas or
            // span lines); otherwise one broken document, reported once with the parser's
            // position. Not only the first line: a bad first line (a torn write, a partial line
            // after a rotation) must not cost the good lines after it.
            let first_is_value = lines.first().is_some_and(|(_, l)| serde_json::from_slice::<Json>(l).is_ok());
            let is_lines = first_is_value
                || lines.iter().any(|(_, l)| matches!(serde_json::from_slice::<Json>(l), Ok(Json::Obj(_))));
            if !is_lines {
                errors.push(AuditError::Json { at: At::default(), source: whole });
            } else {
                for (line, text) in lines {
                    let at = At { line: Some(line), item: None };
                    match serde_json::from_slice::<Json>(text) {
                        Ok(v) => split(v, at, &mut events, &mut errors),
                        Err(source) => errors.push(AuditError::Json { at, source }),
                    }
                }
            }
        }
    }
    for (i, e) in events.iter_mut().enumerate() {
        e.num = i as u64 + 1;
    }
    (events, errors)
}

/// One parsed value of a payload: an array (of events, lists or arrays), an `EventList`, or an
/// `Event` (a bare object without `kind` counts as one when it has an `auditID`).
fn split(v: Json, at: At, events: &mut Vec<AuditEvent>, errors: &mut Vec<AuditError>) {
    let kind = match v.get("kind") {
        Some(Json::Str(k)) => Some(k.as_str()),
        _ => None,
    };
    match (&v, kind) {
        (Json::Arr(_), _) => {
            let Json::Arr(items) = v else { return };
            for (i, item) in items.into_iter().enumerate() {
                split(item, At { item: Some(i), ..at }, events, errors);
            }
        }
        (Json::Obj(_), Some("EventList")) => {
            let Json::Obj(members) = v else { return };
            let items = members.into_iter().find(|(k, _)| k == "items").map(|(_, v)| v);
            match items {
                Some(Json::Arr(items)) => {
                    for (i, item) in items.into_iter().enumerate() {
                        let at = At { item: Some(i), ..at };
                        match AuditEvent::from_json(item, at) {
                            Ok(e) => events.push(e),
                            Err(e) => errors.push(e),
                        }
                    }
                }
                _ => errors.push(AuditError::NoItems { at }),
            }
        }
        (Json::Obj(_), Some("Event")) => match AuditEvent::from_json(v, at) {
            Ok(e) => events.push(e),
            Err(e) => errors.push(e),
        },
        (Json::Obj(_), None) if v.get("kind").is_none() && v.get("auditID").is_some() => {
            match AuditEvent::from_json(v, at) {
                Ok(e) => events.push(e),
                Err(e) => errors.push(e),
            }
        }
        _ => {
            let kind = v.get("kind").map_or_else(|| "absent".to_owned(), Json::to_compact);
            errors.push(AuditError::NotRecognized { at, kind });
        }
    }
}

#[cfg(test)]
mod tests;
