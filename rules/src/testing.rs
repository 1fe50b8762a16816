//! A table-backed [`FieldSource`] for tests, conformance vectors and benchmarks.
//!
//! Fields without argument are stored densely by [`FieldId`], so extraction costs an index
//! and a clone-free borrow, close to what a real event decoder costs.

use std::borrow::Cow;

use crate::event_types;
use crate::fields::Source;
use crate::value::{Extracted, FieldArg, FieldRef, FieldSource, Value};

/// An event made of field values.
#[derive(Clone, Debug)]
pub struct MapEvent {
    source: Source,
    event_type: Option<u16>,
    plain: Vec<Option<Vec<Value<'static>>>>,
    with_arg: Vec<(u16, FieldArg, Vec<Value<'static>>)>,
}

impl MapEvent {
    /// An empty event of `source`. For syscall events, set `evt.type` to give it a type.
    pub fn new(source: Source) -> MapEvent {
        MapEvent { source, event_type: None, plain: vec![None; source.fields().len()], with_arg: Vec::new() }
    }

    /// Set a field (by its full name as a rule writes it, e.g. `proc.aname[2]`,
    /// `evt.arg.flags`) to one or several values. Panics on an unknown field: tests should
    /// not silently set nothing.
    pub fn set(&mut self, name: &str, values: Vec<Value<'static>>) -> &mut Self {
        let (base, arg) = match name.find('[') {
            Some(i) if name.ends_with(']') => (&name[..i], Some(name[i + 1..name.len() - 1].to_owned())),
            _ => (name, None),
        };
        let (id, def, dotted) =
            self.source.lookup(base).unwrap_or_else(|| panic!("unknown field {base} in {}", self.source));
        let arg = dotted.map(str::to_owned).or(arg);
        if def.name == "evt.type" {
            if let Some(Value::Str(s)) = values.first() {
                self.event_type = event_types::code(&String::from_utf8_lossy(s));
            }
        }
        match arg {
            None => self.plain[id.0 as usize] = Some(values),
            Some(a) => {
                let arg = match a.parse::<i64>() {
                    Ok(i) => FieldArg::Index(i),
                    Err(_) => FieldArg::Key(a),
                };
                self.with_arg.retain(|(i, x, _)| !(*i == id.0 && *x == arg));
                self.with_arg.push((id.0, arg, values));
            }
        }
        self
    }

    /// Set a text field.
    pub fn set_str(&mut self, name: &str, value: &str) -> &mut Self {
        self.set(name, vec![Value::Str(Cow::Owned(value.as_bytes().to_vec()))])
    }

    /// Set a numeric field.
    pub fn set_u64(&mut self, name: &str, value: u64) -> &mut Self {
        self.set(name, vec![Value::Unsigned(value)])
    }

    /// Set a signed numeric field.
    pub fn set_i64(&mut self, name: &str, value: i64) -> &mut Self {
        self.set(name, vec![Value::Signed(value)])
    }
}

fn borrow<'a>(values: &'a [Value<'static>]) -> Extracted<'a> {
    let b = |v: &'a Value<'static>| match v {
        Value::Str(s) => Value::Str(Cow::Borrowed(s.as_ref())),
        Value::Bytes(s) => Value::Bytes(Cow::Borrowed(s.as_ref())),
        other => other.clone(),
    };
    match values {
        [] => Extracted::Missing,
        [one] => Extracted::One(b(one)),
        many => Extracted::Many(many.iter().map(b).collect()),
    }
}

impl FieldSource for MapEvent {
    fn event_type(&self) -> Option<u16> {
        self.event_type
    }

    fn extract<'a>(&'a self, field: &FieldRef) -> Extracted<'a> {
        match &field.arg {
            None => match self.plain.get(field.id.0 as usize) {
                Some(Some(v)) => borrow(v),
                _ => Extracted::Missing,
            },
            Some(arg) => self
                .with_arg
                .iter()
                .find(|(i, a, _)| *i == field.id.0 && a == arg)
                .map_or(Extracted::Missing, |(_, _, v)| borrow(v)),
        }
    }
}
