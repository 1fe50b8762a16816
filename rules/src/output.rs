//! Rule output formats: `%field` tokens in literal text (libsinsp `sinsp_evt_formatter`).
//!
//! Grammar: an optional leading `*` (print every field, `<NA>` when missing — the default
//! here as in Falco's JSON-era behaviour), then literal text with tokens
//! `%[width]FIELD`, where FIELD is a field with optional `[arg]` or a transformer call. The
//! longest prefix after `%` that names a known field wins (`%proc.name.` stops before the
//! trailing dot). `%container.info` is deprecated upstream and renders as nothing.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::condition::ast::Operand;
use crate::condition::parser::parse_operand_prefix;
use crate::eval::{compile_operand, Extractor};
use crate::fields::{FieldType, Source};
use crate::value::{Extracted, FieldSource, Value};

/// A compiled output format.
#[derive(Debug)]
pub struct OutputFormat {
    parts: Vec<Part>,
    fields: Vec<OutputField>,
    /// The longest text rendered so far ([`OutputFormat::text_len_hint`]).
    text_len: AtomicUsize,
}

#[derive(Debug)]
enum Part {
    Literal(String),
    Field { index: usize, width: Option<usize> },
}

#[derive(Debug)]
struct OutputField {
    /// The token as written after `%` (`proc.aname[2]`), used as the JSON key.
    name: String,
    extractor: Extractor,
    ty: FieldType,
}

/// An output format error: message and byte offset in the format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputError {
    /// Message.
    pub message: String,
    /// Byte offset of the bad token.
    pub offset: usize,
}

/// One field value of a rendered alert, for `output_fields`.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// The field was missing.
    Missing,
    /// A number.
    Number(i128),
    /// Anything else, rendered as text.
    Text(String),
}

impl OutputFormat {
    /// Compile `format` against `source`'s fields.
    pub fn compile(format: &str, source: Source) -> Result<OutputFormat, OutputError> {
        let format = format.strip_prefix('*').unwrap_or(format);
        let mut parts = Vec::new();
        let mut fields: Vec<OutputField> = Vec::new();
        let mut lit = String::new();
        let mut rest = format;
        let mut offset = format.len() - rest.len();
        while let Some(i) = rest.find('%') {
            lit.push_str(&rest[..i]);
            let token_start = offset + i;
            let after = &rest[i + 1..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            let width = if digits > 0 { after[..digits].parse().ok() } else { None };
            let body = &after[digits..];
            if let Some(after_info) = body.strip_prefix("container.info") {
                rest = after_info;
                offset = format.len() - rest.len();
                continue;
            }
            let (operand, used) = longest_known_operand(body, source).ok_or_else(|| OutputError {
                message: format!("invalid formatting token %{}", body.split_whitespace().next().unwrap_or("")),
                offset: token_start,
            })?;
            let name = body[..used].to_owned();
            let (extractor, ty, _) = compile_operand(&operand, source).map_err(|e| OutputError {
                message: e.message,
                offset: token_start,
            })?;
            if !lit.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut lit)));
            }
            let index = match fields.iter().position(|f| f.name == name) {
                Some(i) => i,
                None => {
                    fields.push(OutputField { name, extractor, ty });
                    fields.len() - 1
                }
            };
            parts.push(Part::Field { index, width });
            rest = &body[used..];
            offset = format.len() - rest.len();
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Literal(lit));
        }
        Ok(OutputFormat { parts, fields, text_len: AtomicUsize::new(0) })
    }

    /// The field tokens, in first-appearance order.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// How many distinct fields the format names.
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// Render the text and the field values.
    pub fn render(&self, event: &dyn FieldSource) -> (String, Vec<(&str, FieldValue)>) {
        let mut text = String::new();
        let mut fields: Vec<(String, FieldValue)> = Vec::with_capacity(self.fields.len());
        self.render_into(event, &mut text, &mut fields);
        let named = self.fields.iter().map(|f| f.name.as_str()).zip(fields.into_iter().map(|(_, v)| v)).collect();
        (text, named)
    }

    /// A capacity for the rendered text: the longest text rendered so far (a hint, shared by
    /// every thread rendering with this format; so an alert's text is allocated once).
    pub fn text_len_hint(&self) -> usize {
        self.text_len.load(Ordering::Relaxed)
    }

    /// Renders the text onto `text` and the field values onto `fields`, each field's value
    /// extracted once. A field whose name `fields` already holds is not pushed again (Falco's
    /// `append_output`: the first keeps its place); its value there is this format's value
    /// too, since the same token names the same extractor on the same event.
    ///
    /// The alert path calls this for every alert: it writes into the alert's own buffers and
    /// allocates nothing else than the field values' text.
    pub fn render_into<K>(&self, event: &dyn FieldSource, text: &mut String, fields: &mut Vec<(K, FieldValue)>)
    where
        K: AsRef<str> + for<'a> From<&'a str>,
    {
        let base = fields.len();
        // Where each of this format's fields has its value in `fields` (on the stack: outputs
        // name a few dozen fields at most; a longer one spills to the heap).
        let mut inline = [0usize; 64];
        let mut spilled = Vec::new();
        let at: &mut [usize] = if self.fields.len() <= inline.len() {
            &mut inline[..self.fields.len()]
        } else {
            spilled.resize(self.fields.len(), 0);
            &mut spilled
        };
        for (f, slot) in self.fields.iter().zip(at.iter_mut()) {
            *slot = match fields[..base].iter().position(|(k, _)| k.as_ref() == f.name) {
                Some(i) => i,
                None => {
                    fields.push((K::from(f.name.as_str()), field_value(f, event)));
                    fields.len() - 1
                }
            };
        }
        let text_start = text.len();
        for p in &self.parts {
            match p {
                Part::Literal(s) => text.push_str(s),
                Part::Field { index, width } => {
                    let start = text.len();
                    match &fields[at[*index]].1 {
                        FieldValue::Missing => text.push_str("<NA>"),
                        FieldValue::Number(n) => {
                            let _ = write!(text, "{n}");
                        }
                        FieldValue::Text(t) => text.push_str(t),
                    }
                    if let Some(w) = width {
                        let written = text[start..].chars().count();
                        text.extend(std::iter::repeat_n(' ', w.saturating_sub(written)));
                    }
                }
            }
        }
        self.text_len.fetch_max(text.len() - text_start, Ordering::Relaxed);
    }
}

fn field_value(f: &OutputField, event: &dyn FieldSource) -> FieldValue {
    let extracted = match f.extractor.extract(event) {
        // A list of one is shown as its value, an empty one as missing.
        Extracted::Many(mut many) if many.len() <= 1 => many.pop().map_or(Extracted::Missing, Extracted::One),
        extracted => extracted,
    };
    match extracted {
        Extracted::Missing => FieldValue::Missing,
        Extracted::One(Value::Signed(v)) if is_number(f.ty) => FieldValue::Number(v as i128),
        Extracted::One(Value::Unsigned(v)) if is_number(f.ty) => FieldValue::Number(v as i128),
        // A string the extractor built (a path, a command line) becomes the value as is; a
        // borrowed one is copied once at its size (every alert renders a few dozen of these).
        Extracted::One(Value::Str(Cow::Owned(bytes)) | Value::Bytes(Cow::Owned(bytes))) => {
            FieldValue::Text(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
        }
        Extracted::One(Value::Str(Cow::Borrowed(bytes)) | Value::Bytes(Cow::Borrowed(bytes))) => {
            FieldValue::Text(String::from_utf8_lossy(bytes).into_owned())
        }
        Extracted::One(one) => {
            let mut s = String::new();
            one.render(&mut s);
            FieldValue::Text(s)
        }
        Extracted::Many(many) => {
            let mut s = String::from("(");
            for (i, v) in many.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                v.render(&mut s);
            }
            s.push(')');
            FieldValue::Text(s)
        }
    }
}

fn is_number(ty: FieldType) -> bool {
    matches!(ty, FieldType::Signed | FieldType::Unsigned)
}

/// The longest prefix of `text` that parses as a field/transformer known to `source`.
fn longest_known_operand(text: &str, source: Source) -> Option<(Operand, usize)> {
    let (op, used) = parse_operand_prefix(text).ok()?;
    if known(&op, source) {
        return Some((op, used));
    }
    // Shrink a plain field name segment by segment: `%proc.name.x` → `proc.name`.
    if let Operand::Field(f) = &op {
        let mut name = f.name.as_str();
        while let Some(dot) = name.rfind('.') {
            name = &name[..dot];
            if source.lookup(name).is_some() {
                let (op, used) = parse_operand_prefix(name).ok()?;
                return Some((op, used));
            }
        }
    }
    None
}

fn known(op: &Operand, source: Source) -> bool {
    match op {
        Operand::Field(f) => source.lookup(&f.name).is_some(),
        Operand::Transformer(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_literals() {
        let f = OutputFormat::compile("File opened by %proc.name (file=%fd.name) %container.info", Source::Syscall)
            .expect("compile");
        assert_eq!(f.field_names().collect::<Vec<_>>(), ["proc.name", "fd.name"]);
        assert!(OutputFormat::compile("x %nope.field", Source::Syscall).is_err());
        let f = OutputFormat::compile("%proc.aname[2]. done", Source::Syscall).expect("compile");
        assert_eq!(f.field_names().collect::<Vec<_>>(), ["proc.aname[2]"]);
    }
}
