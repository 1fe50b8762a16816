//! Values extracted from events and the [`FieldSource`] trait the evaluator reads them through.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::fields::{FieldId, FieldType};

/// The argument of a field reference, as written: `proc.aname[2]` → `Index(2)`,
/// `jevt.value[/a]` and `evt.arg.flags` → `Key`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FieldArg {
    /// A numeric argument.
    Index(i64),
    /// A string argument.
    Key(String),
}

impl FieldArg {
    /// The numeric index, if this is one.
    pub fn index(&self) -> Option<i64> {
        match self {
            FieldArg::Index(i) => Some(*i),
            FieldArg::Key(_) => None,
        }
    }
    /// The argument as text (an index printed in decimal).
    pub fn key(&self) -> Cow<'_, str> {
        match self {
            FieldArg::Index(i) => Cow::Owned(i.to_string()),
            FieldArg::Key(k) => Cow::Borrowed(k),
        }
    }
}

/// A resolved field reference handed to [`FieldSource::extract`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldRef {
    /// The field's index in its source table.
    pub id: FieldId,
    /// The field's registered name (`evt.arg` for `evt.arg.flags`).
    pub name: &'static str,
    /// The declared type.
    pub ty: FieldType,
    /// The argument, if any.
    pub arg: Option<FieldArg>,
}

/// One extracted value. Text is kept as bytes: Falco compares byte-wise and events may carry
/// invalid UTF-8.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// Text (also paths).
    Str(Cow<'a, [u8]>),
    /// Raw bytes.
    Bytes(Cow<'a, [u8]>),
    /// Signed integer.
    Signed(i64),
    /// Unsigned integer (also times in ns).
    Unsigned(u64),
    /// Floating point.
    Double(f64),
    /// Boolean.
    Bool(bool),
    /// IP address.
    Ip(IpAddr),
    /// IP network: address and prefix length.
    Net(IpAddr, u8),
}

impl<'a> Value<'a> {
    /// A borrowed string value.
    pub fn str(s: &'a str) -> Value<'a> {
        Value::Str(Cow::Borrowed(s.as_bytes()))
    }
    /// An owned string value.
    pub fn string(s: String) -> Value<'static> {
        Value::Str(Cow::Owned(s.into_bytes()))
    }
    /// The bytes of a text or buffer value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(b) | Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
    /// Detach from the event's lifetime.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Str(b) => Value::Str(Cow::Owned(b.into_owned())),
            Value::Bytes(b) => Value::Bytes(Cow::Owned(b.into_owned())),
            Value::Signed(v) => Value::Signed(v),
            Value::Unsigned(v) => Value::Unsigned(v),
            Value::Double(v) => Value::Double(v),
            Value::Bool(v) => Value::Bool(v),
            Value::Ip(v) => Value::Ip(v),
            Value::Net(a, p) => Value::Net(a, p),
        }
    }
    /// Render as Falco prints it in outputs.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Value::Str(b) | Value::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
            Value::Signed(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Unsigned(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Double(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
            Value::Ip(a) => {
                let _ = write!(out, "{a}");
            }
            Value::Net(a, p) => {
                let _ = write!(out, "{a}/{p}");
            }
        }
    }
}

/// The result of extracting one field from one event.
#[derive(Clone, Debug, PartialEq)]
pub enum Extracted<'a> {
    /// The event has no value for this field (Falco's `<NA>`).
    Missing,
    /// One value (every non-list field).
    One(Value<'a>),
    /// Several values (list fields such as `ka.req.pod.containers.image`).
    Many(Vec<Value<'a>>),
}

impl<'a> Extracted<'a> {
    /// The values as a slice (empty when missing).
    pub fn values(&self) -> &[Value<'a>] {
        match self {
            Extracted::Missing => &[],
            Extracted::One(v) => std::slice::from_ref(v),
            Extracted::Many(v) => v,
        }
    }
}

/// What the evaluator reads an event through. The monitor implements it over its decoded
/// kernel events and process table; tests implement it over maps.
///
/// Values borrow from `self`, so scalar fields are extracted without allocation.
pub trait FieldSource {
    /// The event's type code, as numbered by [`crate::event_types`]; `None` for sources without
    /// event types (plugin sources such as `k8s_audit`).
    fn event_type(&self) -> Option<u16>;

    /// Extract `field` from the event.
    fn extract<'a>(&'a self, field: &FieldRef) -> Extracted<'a>;
}
