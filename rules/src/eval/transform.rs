//! Field transformers (`tolower(proc.name)`, `join(",", (a, b))`, `getopt(proc.args, "e:")[e]`),
//! following libsinsp's `sinsp_filter_transformers/*.cpp` and
//! `sinsp_filtercheck_multivalue_transformer.cpp`.
//!
//! # Single-value transformers (exactly one argument)
//!
//! They apply to each value of their argument; a list stays a list (except `len`). A missing
//! argument stays missing (the check is then false, `exists` included). Trailing NUL bytes of
//! each input value are ignored.
//!
//! * `tolower` / `toupper` — ASCII case mapping (C locale `tolower`/`toupper`); CHARBUF and
//!   FSPATH only (`toupper(evt.rawres)` is a compile error). Values already in the target case are
//!   passed through without copying.
//! * `b64` — base64 decoding (CHARBUF and BYTEBUF only; not FSPATH). Padding is optional and at
//!   most two `=` are stripped; any other non-alphabet byte, a length of 1 mod 4 or non-zero
//!   trailing bits make the decoding fail, and then the whole extraction fails (missing value, so
//!   the check is false). `b64("")` is `""`. On a BYTEBUF the result keeps upstream's NUL
//!   terminator in its length (`b64(buf) = "hello"` is false upstream for the same reason).
//! * `basename` — the text after the last `/` (`/usr/bin/` → `""`, `hello` → `hello`);
//!   CHARBUF/FSPATH only.
//! * `len` — UINT64: the number of values of a list argument (list fields, list literals and list
//!   transformers, even when they hold 0 or 1 value — sources must return list fields as
//!   [`Extracted::Many`]); otherwise the byte length of a string up to its first NUL, or of a
//!   buffer. `len` of a missing value is missing.
//!
//! # Multi-value transformers
//!
//! Upstream tells the two families apart by argument count: a single-value name with 0 or 2+
//! arguments fails with `unknown multivalue transformer`, a multi-value name with exactly one
//! argument with ``unknown field transfomer '…'`` (sic).
//!
//! * `join(sep, list)` — CHARBUF: the list's values, each up to its first NUL, separated by `sep`
//!   (between items only: `join(",", ())` is `""`, `join("->", ("a"))` is `a`). `sep` must be a
//!   single value and `list` a list (a list field, a list literal, or a list transformer). Numbers
//!   inside a list literal are rendered in decimal. Missing `sep` or any missing list element →
//!   missing.
//! * `concat(a, b, ...)` — CHARBUF: at least two arguments, each a single CHARBUF value (field or
//!   literal; FSPATH fields are rejected as upstream), each appended up to its first NUL. Any
//!   missing argument → missing.
//! * `getopt(argv, optstring)` — list of CHARBUF: parses `argv` like POSIX `getopt(3)` with the
//!   short-option `optstring` (`x` = flag, `x:` = takes a value; a leading `:` and `::` are
//!   accepted and change nothing). Scanning stops at `--`, at the first non-option (an entry not
//!   starting with `-`, or `-` alone, or an empty entry); `--long` entries are skipped. Each entry
//!   is a cluster (`-abc`); a flag yields its letter; an option with a value yields its letter and
//!   then the value — the rest of the entry (`-p8080`) or else the next entry (`-p 8080`), which
//!   may itself start with `-`; an option whose value is missing yields only `""`; an unknown
//!   option yields `"?"`. With a selector `getopt(...)[x]` (exactly one character; upstream also
//!   rejects anything else at compile time) the result is a single CHARBUF: for the *last*
//!   occurrence of `-x`, its value (or `x` itself for a flag, `""` if the value is missing); if
//!   `-x` does not occur the value is missing. Unknown options are ignored in selector mode.
//!   Selectors are only allowed on `getopt`.

use std::borrow::Cow;

use crate::fields::FieldType;
use crate::value::{Extracted, Value};

/// A transformer name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transformer {
    /// `tolower`.
    ToLower,
    /// `toupper`.
    ToUpper,
    /// `b64`.
    B64,
    /// `basename`.
    Basename,
    /// `len`.
    Len,
    /// `join`.
    Join,
    /// `concat`.
    Concat,
    /// `getopt`.
    Getopt,
}

impl Transformer {
    /// Every transformer.
    pub const ALL: [Transformer; 8] = [
        Transformer::ToLower,
        Transformer::ToUpper,
        Transformer::B64,
        Transformer::Basename,
        Transformer::Len,
        Transformer::Join,
        Transformer::Concat,
        Transformer::Getopt,
    ];

    /// Look a transformer up by name (`val` is not a transformer: it is the identity).
    pub fn from_name(name: &str) -> Option<Transformer> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The name as written.
    pub fn name(self) -> &'static str {
        match self {
            Transformer::ToLower => "tolower",
            Transformer::ToUpper => "toupper",
            Transformer::B64 => "b64",
            Transformer::Basename => "basename",
            Transformer::Len => "len",
            Transformer::Join => "join",
            Transformer::Concat => "concat",
            Transformer::Getopt => "getopt",
        }
    }

    /// Whether this is a multi-value transformer (`join`, `concat`, `getopt`).
    pub fn is_multivalue(self) -> bool {
        matches!(
            self,
            Transformer::Join | Transformer::Concat | Transformer::Getopt
        )
    }
}

/// The compile-time shape of a transformer argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgShape {
    /// A field, or a nested transformer's result: its type and whether it is a list.
    Field {
        /// Value type.
        ty: FieldType,
        /// Whether it yields a list.
        is_list: bool,
    },
    /// A literal (quoted string or number): a CHARBUF.
    Literal,
    /// A parenthesised list of arguments: a CHARBUF list.
    List(Vec<ArgShape>),
}

impl ArgShape {
    /// The type and list-ness upstream sees for this argument.
    fn shape(&self) -> (FieldType, bool) {
        match self {
            ArgShape::Field { ty, is_list } => (*ty, *is_list),
            ArgShape::Literal => (FieldType::Str, false),
            ArgShape::List(_) => (FieldType::Str, true),
        }
    }
}

/// The result type and list-ness of `t` applied to `args`, or libsinsp's error text. With
/// `has_bracket_arg` (`getopt(...)[x]`) also call [`check_bracket_arg`] with the text.
pub fn result_shape(
    t: Transformer,
    args: &[ArgShape],
    has_bracket_arg: bool,
) -> Result<(FieldType, bool), String> {
    let no_arg = || {
        format!(
            "filter error: transformer '{}' does not support field arguments",
            t.name()
        )
    };
    if !t.is_multivalue() {
        if args.len() != 1 {
            return Err("unknown multivalue transformer".to_string());
        }
        if has_bracket_arg {
            return Err(no_arg());
        }
        let (ty, is_list) = args[0].shape();
        let ok = match t {
            Transformer::ToLower | Transformer::ToUpper | Transformer::Basename => {
                matches!(ty, FieldType::Str | FieldType::Path)
            }
            Transformer::B64 => matches!(ty, FieldType::Str | FieldType::Bytes),
            Transformer::Len => {
                is_list || matches!(ty, FieldType::Str | FieldType::Path | FieldType::Bytes)
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "can't add field transformer: type '{}' is not supported by '{}' transformer applied on {}field",
                ty.name(),
                t.name(),
                if is_list { "list " } else { "" }
            ));
        }
        return Ok(match t {
            Transformer::Len => (FieldType::Unsigned, false),
            _ => (ty, is_list),
        });
    }

    if args.len() == 1 {
        return Err(if has_bracket_arg {
            no_arg()
        } else {
            format!("unknown field transfomer '{}'", t.name())
        });
    }
    let shapes: Vec<(FieldType, bool)> = args.iter().map(ArgShape::shape).collect();
    match t {
        Transformer::Join => {
            if shapes.len() != 2 {
                return Err("join() requires exactly 2 arguments: separator and list".to_string());
            }
            if shapes[0].1 {
                return Err(
                    "join() first argument (separator) must be a single value, not a list"
                        .to_string(),
                );
            }
            if !shapes[1].1 {
                return Err("join() second argument must be a list".to_string());
            }
            if has_bracket_arg {
                return Err("transformer 'join' does not support field arguments".to_string());
            }
            Ok((FieldType::Str, false))
        }
        Transformer::Concat => {
            if shapes.len() < 2 {
                return Err("concat() requires at least 2 arguments".to_string());
            }
            if shapes
                .iter()
                .any(|&(ty, list)| ty != FieldType::Str || list)
            {
                return Err("concat() arguments must be strings".to_string());
            }
            if has_bracket_arg {
                return Err("transformer 'concat' does not support field arguments".to_string());
            }
            Ok((FieldType::Str, false))
        }
        Transformer::Getopt => {
            if shapes.len() != 2 {
                return Err(
                    "getopt() requires exactly 2 arguments: args list and optstring".to_string(),
                );
            }
            if !shapes[0].1 {
                return Err("getopt() first argument must be a list".to_string());
            }
            if shapes[1].1 {
                return Err(
                    "getopt() second argument (optstring) must be a single value".to_string(),
                );
            }
            if shapes[0].0 != FieldType::Str || shapes[1].0 != FieldType::Str {
                return Err("getopt() arguments must be strings".to_string());
            }
            Ok((FieldType::Str, !has_bracket_arg))
        }
        _ => Err("unknown multivalue transformer".to_string()),
    }
}

/// Validate the text of a `[...]` argument after a transformer (only `getopt` takes one, and
/// it must be exactly one character).
pub fn check_bracket_arg(t: Transformer, arg: &str) -> Result<(), String> {
    match t {
        Transformer::Getopt if arg.len() == 1 => Ok(()),
        Transformer::Getopt => {
            Err("getopt() field argument must be a single option character".to_string())
        }
        _ => Err(format!(
            "filter error: transformer '{}' does not support field arguments",
            t.name()
        )),
    }
}

/// A transformer argument at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum ArgValue<'a> {
    /// What a field or nested transformer extracted.
    Values(Extracted<'a>),
    /// A literal.
    Literal(&'a [u8]),
    /// A parenthesised list; nested lists and list values are flattened.
    List(Vec<ArgValue<'a>>),
}

/// Apply `t` to its evaluated arguments. `bracket_arg` is the `[x]` selector of `getopt`.
/// Argument counts and types are assumed checked by [`result_shape`]; a mismatch yields
/// [`Extracted::Missing`].
pub fn apply<'a>(
    t: Transformer,
    args: Vec<ArgValue<'a>>,
    bracket_arg: Option<&str>,
) -> Extracted<'a> {
    if t.is_multivalue() {
        return match t {
            Transformer::Join => join(args),
            Transformer::Concat => concat(args),
            _ => getopt(args, bracket_arg),
        };
    }
    let Some(arg) = args.into_iter().next() else {
        return Extracted::Missing;
    };
    let input = match arg {
        ArgValue::Values(e) => e,
        ArgValue::Literal(b) => Extracted::One(Value::Str(Cow::Borrowed(b))),
        list @ ArgValue::List(_) => {
            let mut out = Vec::new();
            if !flatten(list, &mut out) {
                return Extracted::Missing;
            }
            Extracted::Many(out)
        }
    };
    match input {
        Extracted::Missing => Extracted::Missing,
        Extracted::One(v) => match t {
            Transformer::Len => {
                len_of(&v).map_or(Extracted::Missing, |n| Extracted::One(Value::Unsigned(n)))
            }
            _ => map_one(t, v).map_or(Extracted::Missing, Extracted::One),
        },
        Extracted::Many(vs) => match t {
            Transformer::Len => Extracted::One(Value::Unsigned(vs.len() as u64)),
            _ => {
                let mut out = Vec::with_capacity(vs.len());
                for v in vs {
                    match map_one(t, v) {
                        Some(v) => out.push(v),
                        None => return Extracted::Missing,
                    }
                }
                Extracted::Many(out)
            }
        },
    }
}

fn trim_nuls(b: &[u8]) -> &[u8] {
    let mut n = b.len();
    while n > 0 && b[n - 1] == 0 {
        n -= 1;
    }
    &b[..n]
}

fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// Drop trailing NULs, borrowing when possible.
fn trimmed(b: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    let n = trim_nuls(&b).len();
    if n == b.len() {
        return b;
    }
    match b {
        Cow::Borrowed(s) => Cow::Borrowed(&s[..n]),
        Cow::Owned(mut v) => {
            v.truncate(n);
            Cow::Owned(v)
        }
    }
}

fn map_case(b: Cow<'_, [u8]>, upper: bool) -> Cow<'_, [u8]> {
    let b = trimmed(b);
    let needs = if upper {
        b.iter().any(u8::is_ascii_lowercase)
    } else {
        b.iter().any(u8::is_ascii_uppercase)
    };
    if !needs {
        return b;
    }
    let mut v = b.into_owned();
    if upper {
        v.make_ascii_uppercase();
    } else {
        v.make_ascii_lowercase();
    }
    Cow::Owned(v)
}

fn basename(b: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    let b = trimmed(b);
    match b.iter().rposition(|&c| c == b'/') {
        None => b,
        Some(i) => match b {
            Cow::Borrowed(s) => Cow::Borrowed(&s[i + 1..]),
            Cow::Owned(v) => Cow::Owned(v[i + 1..].to_vec()),
        },
    }
}

/// One value through a single-value transformer; `None` = extraction fails.
fn map_one(t: Transformer, v: Value<'_>) -> Option<Value<'_>> {
    match (t, v) {
        (Transformer::ToLower, Value::Str(b)) => Some(Value::Str(map_case(b, false))),
        (Transformer::ToUpper, Value::Str(b)) => Some(Value::Str(map_case(b, true))),
        (Transformer::Basename, Value::Str(b)) => Some(Value::Str(basename(b))),
        (Transformer::B64, Value::Str(b)) => {
            b64_decode(trim_nuls(&b)).map(|d| Value::Str(Cow::Owned(d)))
        }
        (Transformer::B64, Value::Bytes(b)) => b64_decode(trim_nuls(&b)).map(|mut d| {
            // Upstream's string transformer keeps a NUL terminator in the length.
            if d.last() != Some(&0) {
                d.push(0);
            }
            Value::Bytes(Cow::Owned(d))
        }),
        _ => None,
    }
}

/// `len` of a single value.
fn len_of(v: &Value<'_>) -> Option<u64> {
    match v {
        Value::Str(b) => Some(c_str(b).len() as u64),
        Value::Bytes(b) => Some(b.len() as u64),
        _ => None,
    }
}

const B64_INVALID: u8 = 64;

fn b64_value(c: u8) -> u8 {
    match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => B64_INVALID,
    }
}

/// libsinsp's `Base64::decodeWithoutPadding`: standard alphabet, up to two trailing `=` ignored,
/// strict on everything else (including non-zero bits in the last character).
pub fn b64_decode(input: &[u8]) -> Option<Vec<u8>> {
    if input.is_empty() {
        return Some(Vec::new());
    }
    let mut n = input.len();
    if input[n - 1] == b'=' {
        n -= 1;
        if n > 0 && input[n - 1] == b'=' {
            n -= 1;
        }
    }
    if n == 0 {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(n / 4 * 3 + 2);
    for (pos, &ch) in input[..n].iter().enumerate() {
        let c = b64_value(ch);
        if c == B64_INVALID {
            return None;
        }
        let last = pos == n - 1;
        match pos % 4 {
            0 => {
                if last {
                    return None;
                }
                out.push(c << 2);
            }
            1 => {
                *out.last_mut()? |= c >> 4;
                if last {
                    return ((c & 0b1111) == 0).then_some(out);
                }
                out.push(c << 4);
            }
            2 => {
                *out.last_mut()? |= c >> 2;
                if last {
                    return ((c & 0b11) == 0).then_some(out);
                }
                out.push(c << 6);
            }
            _ => {
                *out.last_mut()? |= c;
            }
        }
    }
    Some(out)
}

/// Append the values of `arg` to `out`; false if any part is missing.
fn flatten<'a>(arg: ArgValue<'a>, out: &mut Vec<Value<'a>>) -> bool {
    match arg {
        ArgValue::Values(Extracted::Missing) => false,
        ArgValue::Values(Extracted::One(v)) => {
            out.push(v);
            true
        }
        ArgValue::Values(Extracted::Many(vs)) => {
            out.extend(vs);
            true
        }
        ArgValue::Literal(b) => {
            out.push(Value::Str(Cow::Borrowed(b)));
            true
        }
        ArgValue::List(items) => items.into_iter().all(|a| flatten(a, out)),
    }
}

/// The first value of a single-valued argument.
fn first_value(arg: ArgValue<'_>) -> Option<Value<'_>> {
    let mut vs = Vec::new();
    if !flatten(arg, &mut vs) {
        return None;
    }
    vs.into_iter().next()
}

/// The text of a value as string transformers see it: text and buffers as they are, other
/// values rendered (numbers in decimal).
fn text_of<'v>(v: &'v Value<'_>) -> Cow<'v, [u8]> {
    match v {
        Value::Str(b) | Value::Bytes(b) => Cow::Borrowed(&b[..]),
        other => {
            let mut s = String::new();
            other.render(&mut s);
            Cow::Owned(s.into_bytes())
        }
    }
}

fn join(args: Vec<ArgValue<'_>>) -> Extracted<'static> {
    let mut it = args.into_iter();
    let (Some(sep), Some(list), None) = (it.next(), it.next(), it.next()) else {
        return Extracted::Missing;
    };
    let Some(sep) = first_value(sep) else {
        return Extracted::Missing;
    };
    let sep = text_of(&sep).into_owned();
    let mut items = Vec::new();
    if !flatten(list, &mut items) {
        return Extracted::Missing;
    }
    let mut res = Vec::new();
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            res.extend_from_slice(&sep);
        }
        res.extend_from_slice(c_str(&text_of(v)));
    }
    Extracted::One(Value::Str(Cow::Owned(res)))
}

fn concat(args: Vec<ArgValue<'_>>) -> Extracted<'static> {
    if args.len() < 2 {
        return Extracted::Missing;
    }
    let mut res = Vec::new();
    for a in args {
        let Some(v) = first_value(a) else {
            return Extracted::Missing;
        };
        res.extend_from_slice(c_str(&text_of(&v)));
    }
    Extracted::One(Value::Str(Cow::Owned(res)))
}

/// Parsed `optstring`: which bytes are options and which take a value.
struct OptInfo {
    valid: [bool; 256],
    with_arg: [bool; 256],
}

fn parse_optstring(s: &[u8]) -> OptInfo {
    let mut info = OptInfo {
        valid: [false; 256],
        with_arg: [false; 256],
    };
    let mut i = usize::from(s.first() == Some(&b':'));
    while i < s.len() {
        let c = s[i];
        if c != b':' {
            info.valid[usize::from(c)] = true;
            if s.get(i + 1) == Some(&b':') {
                info.with_arg[usize::from(c)] = true;
                i += 1;
            }
        }
        i += 1;
    }
    info
}

fn getopt<'a>(args: Vec<ArgValue<'a>>, selector: Option<&str>) -> Extracted<'a> {
    let mut it = args.into_iter();
    let (Some(argv_arg), Some(opt_arg), None) = (it.next(), it.next(), it.next()) else {
        return Extracted::Missing;
    };
    let Some(optstring) = first_value(opt_arg) else {
        return Extracted::Missing;
    };
    let info = parse_optstring(&text_of(&optstring));
    let mut argv_vals = Vec::new();
    if !flatten(argv_arg, &mut argv_vals) {
        return Extracted::Missing;
    }
    let argv: Vec<Cow<'_, [u8]>> = argv_vals.iter().map(text_of).collect();

    let selector = match selector {
        None => None,
        Some(s) if s.len() == 1 => Some(s.as_bytes()[0]),
        Some(_) => return Extracted::Missing,
    };
    let mut results: Vec<Vec<u8>> = Vec::new();
    let mut selected: Option<Vec<u8>> = None;

    let mut idx = 0;
    while idx < argv.len() {
        let arg: &[u8] = &argv[idx];
        if arg == b"--" {
            break;
        }
        if arg.len() > 2 && arg[0] == b'-' && arg[1] == b'-' {
            idx += 1;
            continue;
        }
        if arg.is_empty() || arg[0] != b'-' || arg.len() == 1 {
            break;
        }
        let mut i = 1;
        while i < arg.len() {
            let opt = arg[i];
            let valid = opt != b':' && info.valid[usize::from(opt)];
            if !valid {
                if selector.is_none() {
                    results.push(b"?".to_vec());
                }
                i += 1;
                continue;
            }
            let sel_match = selector.is_none_or(|s| s == opt);
            let name = vec![opt];
            if !info.with_arg[usize::from(opt)] {
                if sel_match {
                    match selector {
                        Some(_) => selected = Some(name),
                        None => results.push(name),
                    }
                }
                i += 1;
                continue;
            }
            // The value: the rest of this entry, else the next entry.
            let value: Option<Vec<u8>> = if i + 1 < arg.len() {
                Some(arg[i + 1..].to_vec())
            } else if idx + 1 < argv.len() {
                idx += 1;
                Some(argv[idx].to_vec())
            } else {
                None
            };
            if sel_match {
                match (selector, value) {
                    (Some(_), v) => selected = Some(v.unwrap_or_default()),
                    (None, Some(v)) => {
                        results.push(name);
                        results.push(v);
                    }
                    (None, None) => results.push(Vec::new()),
                }
            }
            break;
        }
        idx += 1;
    }

    match selector {
        Some(_) => match selected {
            Some(v) => Extracted::One(Value::Str(Cow::Owned(v))),
            None => Extracted::Missing,
        },
        None => Extracted::Many(
            results
                .into_iter()
                .map(|v| Value::Str(Cow::Owned(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value<'static> {
        Value::string(x.to_string())
    }
    fn one(x: &str) -> ArgValue<'static> {
        ArgValue::Values(Extracted::One(s(x)))
    }
    fn many(xs: &[&str]) -> ArgValue<'static> {
        ArgValue::Values(Extracted::Many(xs.iter().map(|x| s(x)).collect()))
    }
    fn lit(x: &'static str) -> ArgValue<'static> {
        ArgValue::Literal(x.as_bytes())
    }
    fn list(xs: &[&'static str]) -> ArgValue<'static> {
        ArgValue::List(xs.iter().map(|x| lit(x)).collect())
    }
    fn str_of(e: &Extracted<'_>) -> Vec<String> {
        e.values()
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes().expect("text")).into_owned())
            .collect()
    }
    fn single(t: Transformer, x: &str) -> Extracted<'static> {
        apply(t, vec![one(x)], None)
    }

    #[test]
    fn names() {
        for t in Transformer::ALL {
            assert_eq!(Transformer::from_name(t.name()), Some(t));
        }
        assert_eq!(Transformer::from_name("val"), None);
        assert_eq!(Transformer::from_name("storage"), None);
        assert_eq!(Transformer::from_name("TOLOWER"), None);
    }

    #[test]
    fn case_mapping() {
        assert_eq!(str_of(&single(Transformer::ToUpper, "hello")), ["HELLO"]);
        assert_eq!(
            str_of(&single(Transformer::ToUpper, "eXcItED")),
            ["EXCITED"]
        );
        assert_eq!(str_of(&single(Transformer::ToUpper, "")), [""]);
        assert_eq!(
            str_of(&single(Transformer::ToLower, "NoT eXcItED")),
            ["not excited"]
        );
        assert_eq!(
            str_of(&single(Transformer::ToLower, "ÀB")),
            ["Àb"],
            "ASCII only"
        );
        let l = apply(
            Transformer::ToLower,
            vec![many(&["HELLO", "wOrLd", "one_1234"])],
            None,
        );
        assert_eq!(str_of(&l), ["hello", "world", "one_1234"]);
        assert!(matches!(l, Extracted::Many(_)), "a list stays a list");
        // Already lower case: passed through without a copy.
        let src = b"getcwd".to_vec();
        let r = apply(
            Transformer::ToLower,
            vec![ArgValue::Values(Extracted::One(Value::Str(Cow::Borrowed(
                &src,
            ))))],
            None,
        );
        assert!(matches!(r, Extracted::One(Value::Str(Cow::Borrowed(_)))));
        // Trailing NULs dropped.
        let r = apply(
            Transformer::ToUpper,
            vec![ArgValue::Values(Extracted::One(Value::Str(Cow::Borrowed(
                b"ab\0\0",
            ))))],
            None,
        );
        assert_eq!(r, Extracted::One(s("AB")));
        assert_eq!(
            apply(
                Transformer::ToUpper,
                vec![ArgValue::Values(Extracted::Missing)],
                None
            ),
            Extracted::Missing
        );
        assert_eq!(
            str_of(&apply(Transformer::ToUpper, vec![lit("abc")], None)),
            ["ABC"]
        );
        let nested = apply(
            Transformer::ToLower,
            vec![ArgValue::Values(single(Transformer::ToUpper, "GetCwd"))],
            None,
        );
        assert_eq!(str_of(&nested), ["getcwd"]);
    }

    #[test]
    fn b64() {
        assert_eq!(str_of(&single(Transformer::B64, "aGVsbG8=")), ["hello"]);
        assert_eq!(
            str_of(&single(Transformer::B64, "aGVsbG8")),
            ["hello"],
            "padding optional"
        );
        assert_eq!(str_of(&single(Transformer::B64, "aGVsbG8==")), ["hello"]);
        assert_eq!(
            str_of(&single(Transformer::B64, "d29ybGQgIQ==")),
            ["world !"]
        );
        assert_eq!(str_of(&single(Transformer::B64, "")), [""]);
        for bad in [
            "aGVsbG8===",
            "a",
            "aGVsbG8*",
            "====",
            "=",
            "aGVsbG9=",
            "YQ=x",
        ] {
            assert_eq!(single(Transformer::B64, bad), Extracted::Missing, "{bad}");
        }
        // A failing element fails the whole list.
        assert_eq!(
            apply(Transformer::B64, vec![many(&["YQ==", "!"])], None),
            Extracted::Missing
        );
        assert_eq!(
            str_of(&apply(Transformer::B64, vec![many(&["YQ==", "Yg"])], None)),
            ["a", "b"]
        );
        // BYTEBUF keeps upstream's NUL terminator.
        let r = apply(
            Transformer::B64,
            vec![ArgValue::Values(Extracted::One(Value::Bytes(
                Cow::Borrowed(b"aGk="),
            )))],
            None,
        );
        assert_eq!(
            r,
            Extracted::One(Value::Bytes(Cow::Owned(b"hi\0".to_vec())))
        );
        assert_eq!(b64_decode(b"AA==").expect("nul"), vec![0]);
    }

    #[test]
    fn basename() {
        let b = |x: &str| str_of(&single(Transformer::Basename, x));
        assert_eq!(b("/home/ubuntu/hello.txt"), ["hello.txt"]);
        assert_eq!(b("/usr/local/bin/cat"), ["cat"]);
        assert_eq!(b("/"), [""]);
        assert_eq!(b("/hello/"), [""]);
        assert_eq!(b("hello"), ["hello"]);
        assert_eq!(b(""), [""]);
        assert_eq!(b("/tmp/file_to_run"), ["file_to_run"]);
    }

    #[test]
    fn len() {
        let n = |e: Extracted<'_>| match e {
            Extracted::One(Value::Unsigned(n)) => n,
            other => panic!("not a length: {other:?}"),
        };
        assert_eq!(n(single(Transformer::Len, "/home/ubuntu/hello.txt")), 22);
        assert_eq!(n(single(Transformer::Len, "/")), 1);
        assert_eq!(n(single(Transformer::Len, "/tmp/file_to_run")), 16);
        assert_eq!(
            n(apply(Transformer::Len, vec![many(&["/hello"])], None)),
            1,
            "list of one"
        );
        assert_eq!(n(apply(Transformer::Len, vec![many(&[])], None)), 0);
        assert_eq!(
            n(apply(Transformer::Len, vec![many(&["file", "ipv4"])], None)),
            2
        );
        let nums = ArgValue::Values(Extracted::Many((1..=5).map(Value::Unsigned).collect()));
        assert_eq!(n(apply(Transformer::Len, vec![nums], None)), 5);
        let buf = ArgValue::Values(Extracted::One(Value::Bytes(Cow::Borrowed(&[
            1, 2, 0, 4, 5, 6,
        ]))));
        assert_eq!(n(apply(Transformer::Len, vec![buf], None)), 6);
        let nul = ArgValue::Values(Extracted::One(Value::Str(Cow::Borrowed(b"ab\0cd"))));
        assert_eq!(n(apply(Transformer::Len, vec![nul], None)), 2, "strnlen");
        assert_eq!(
            apply(
                Transformer::Len,
                vec![ArgValue::Values(Extracted::Missing)],
                None
            ),
            Extracted::Missing
        );
        assert_eq!(
            n(apply(Transformer::Len, vec![list(&["a", "b", "c"])], None)),
            3
        );
    }

    #[test]
    fn join_and_concat() {
        let j = |args: Vec<ArgValue<'static>>| str_of(&apply(Transformer::Join, args, None));
        let name = || one("/tmp/file_to_run");
        let dir = || one("/tmp");
        assert_eq!(
            j(vec![name(), ArgValue::List(vec![name(), dir()])]),
            ["/tmp/file_to_run/tmp/file_to_run/tmp"]
        );
        assert_eq!(
            j(vec![lit("-"), ArgValue::List(vec![name(), dir()])]),
            ["/tmp/file_to_run-/tmp"]
        );
        assert_eq!(j(vec![lit("-"), list(&["aaa", "bbb"])]), ["aaa-bbb"]);
        assert_eq!(j(vec![lit("->"), list(&["aaa"])]), ["aaa"]);
        assert_eq!(j(vec![lit(","), list(&[])]), [""]);
        assert_eq!(
            j(vec![
                lit("->"),
                ArgValue::List(vec![
                    ArgValue::Values(single(Transformer::ToUpper, "/tmp/file_to_run")),
                    lit("aaa")
                ])
            ]),
            ["/TMP/FILE_TO_RUN->aaa"]
        );
        let num = || ArgValue::Values(Extracted::One(Value::Unsigned(1)));
        assert_eq!(
            j(vec![lit(","), ArgValue::List(vec![num(), num()])]),
            ["1,1"]
        );
        assert_eq!(j(vec![lit(","), many(&["file", "ipv4"])]), ["file,ipv4"]);
        let inner = apply(
            Transformer::Join,
            vec![lit("->"), list(&["aaa", "bbb"])],
            None,
        );
        assert_eq!(
            j(vec![
                lit("-"),
                ArgValue::List(vec![dir(), ArgValue::Values(inner)])
            ]),
            ["/tmp-aaa->bbb"]
        );
        let nul = ArgValue::Values(Extracted::One(Value::Str(Cow::Borrowed(b"ab\0cd"))));
        assert_eq!(
            j(vec![lit("+"), ArgValue::List(vec![nul, lit("x")])]),
            ["ab+x"]
        );
        assert_eq!(
            apply(
                Transformer::Join,
                vec![
                    lit("-"),
                    ArgValue::List(vec![name(), ArgValue::Values(Extracted::Missing)])
                ],
                None
            ),
            Extracted::Missing
        );
        assert_eq!(
            apply(
                Transformer::Join,
                vec![ArgValue::Values(Extracted::Missing), list(&["a"])],
                None
            ),
            Extracted::Missing
        );

        let c = |args: Vec<ArgValue<'static>>| str_of(&apply(Transformer::Concat, args, None));
        assert_eq!(c(vec![name(), dir()]), ["/tmp/file_to_run/tmp"]);
        assert_eq!(c(vec![lit("aaa"), lit("bbb"), lit("ccc")]), ["aaabbbccc"]);
        assert_eq!(
            c(vec![name(), lit("aaa"), dir()]),
            ["/tmp/file_to_runaaa/tmp"]
        );
        let inner = apply(
            Transformer::Concat,
            vec![
                lit("aaa"),
                ArgValue::Values(single(Transformer::ToUpper, "/tmp/f")),
            ],
            None,
        );
        assert_eq!(c(vec![dir(), ArgValue::Values(inner)]), ["/tmpaaa/TMP/F"]);
        assert_eq!(
            apply(
                Transformer::Concat,
                vec![name(), ArgValue::Values(Extracted::Missing)],
                None
            ),
            Extracted::Missing
        );
        // Outer transformers over multi-value results.
        let joined = apply(
            Transformer::Join,
            vec![lit("-"), ArgValue::List(vec![name(), dir()])],
            None,
        );
        assert_eq!(
            apply(Transformer::Len, vec![ArgValue::Values(joined)], None),
            Extracted::One(Value::Unsigned(21))
        );
        let joined = apply(
            Transformer::Join,
            vec![lit("W"), list(&["YWFhL", "JiYg"])],
            None,
        );
        assert_eq!(
            str_of(&apply(
                Transformer::B64,
                vec![ArgValue::Values(joined)],
                None
            )),
            ["aaa-bbb"]
        );
        let cat = apply(Transformer::Concat, vec![lit("YWFh"), lit("YmJi")], None);
        assert_eq!(
            str_of(&apply(Transformer::B64, vec![ArgValue::Values(cat)], None)),
            ["aaabbb"]
        );
    }

    fn getopt_list(argv: &[&'static str], opts: &'static str) -> Vec<String> {
        str_of(&apply(
            Transformer::Getopt,
            vec![list(argv), lit(opts)],
            None,
        ))
    }
    fn getopt_sel(argv: &[&'static str], opts: &'static str, sel: &str) -> Option<String> {
        match apply(Transformer::Getopt, vec![list(argv), lit(opts)], Some(sel)) {
            Extracted::Missing => None,
            e => Some(str_of(&e).concat()),
        }
    }
    fn intersects(res: &[String], want: &[&str]) -> bool {
        res.iter().any(|r| want.contains(&r.as_str()))
    }

    #[test]
    fn getopt_list_mode() {
        let g = getopt_list;
        assert_eq!(g(&["-n", ""], "n"), ["n"]);
        assert_eq!(g(&["-t", "hello"], "t:"), ["t", "hello"]);
        assert_eq!(g(&["-nt", "hello"], "nt:"), ["n", "t", "hello"]);
        assert_eq!(g(&["-thello"], "t:"), ["t", "hello"]);
        assert_eq!(g(&["-n", "-t", "hello"], "nt:"), ["n", "t", "hello"]);
        assert_eq!(g(&["-n", "--", "-t"], "nt:"), ["n"]);
        assert_eq!(g(&["-x", "-n"], "n"), ["?", "n"]);
        assert_eq!(
            g(&["-l", "-p", "8080", "-e", "/bin/sh"], "lp:e:"),
            ["l", "p", "8080", "e", "/bin/sh"]
        );
        assert_eq!(g(&["-lpe", "/bin/sh"], "lp:e:"), ["l", "p", "e"]);
        assert_eq!(g(&["-lpe", "/bin/sh"], "lpe:"), ["l", "p", "e", "/bin/sh"]);
        assert_eq!(g(&["-n", "-t"], ""), ["?", "?"]);
        assert!(g(&[""], "n").is_empty());
        assert!(g(&["arg1", "arg2", "arg3"], "n").is_empty());
        assert!(g(&["arg1", "-n", "arg2"], "n").is_empty());
        assert!(g(&["-", "-n"], "n").is_empty());
        assert!(g(&["-"], "n").is_empty());
        assert_eq!(g(&["-t"], "t:"), [""]);
        assert_eq!(g(&["-t"], ":t:"), [""]);
        assert_eq!(g(&["-n", "--", "--"], "n"), ["n"]);
        assert!(g(&["--", "-n"], "n").is_empty());
        assert_eq!(g(&["-nat", "hello"], "na:t"), ["n", "a", "t"]);
        assert_eq!(g(&["-abcvalue"], "abc:"), ["a", "b", "c", "value"]);
        assert_eq!(g(&["-abc", "value"], "abc:"), ["a", "b", "c", "value"]);
        assert_eq!(g(&["-n", "-n", "-n"], "n"), ["n", "n", "n"]);
        assert_eq!(
            g(&["-t", "val1", "-t", "val2"], "t:"),
            ["t", "val1", "t", "val2"]
        );
        assert_eq!(g(&["-t", "-123"], "t:"), ["t", "-123"]);
        assert_eq!(g(&["-t", ""], "t:"), ["t", ""]);
        assert_eq!(
            g(&["-p", "22", "-i", "keyfile", "user@host"], "p:i:"),
            ["p", "22", "i", "keyfile"]
        );
        assert_eq!(
            g(&["-xzf", "file.tar.gz"], "xzf:"),
            ["x", "z", "f", "file.tar.gz"]
        );
        assert_eq!(
            g(&["-e", "/bin/sh", "attacker.com", "4444"], "e:"),
            ["e", "/bin/sh"]
        );
        assert_eq!(g(&["-rn", "pattern", "/path"], "rn"), ["r", "n"]);
        assert_eq!(
            g(
                &["-it", "-p", "8080:80", "-v", "/host:/container", "image"],
                "itp:v:"
            ),
            ["i", "t", "p", "8080:80", "v", "/host:/container"]
        );
        assert_eq!(g(&["-a1b2c3"], "a1b2c3"), ["a", "1", "b", "2", "c", "3"]);
        assert!(g(&["regular_file", "-f", "another_file"], "f:").is_empty());
        assert_eq!(
            g(&["-f", "another_file", "regular_file"], "f:"),
            ["f", "another_file"]
        );
        assert!(g(&["", "-n", ""], "n").is_empty());
        assert_eq!(g(&["-@", "-+"], "@+"), ["@", "+"]);
        assert_eq!(g(&["-nx"], "n"), ["n", "?"]);
        assert!(g(&["--exec"], "e:").is_empty());
        assert_eq!(g(&["--exec", "-n"], "n"), ["n"]);
        assert_eq!(g(&["-n", "file", "-t"], "nt"), ["n"]);
        assert_eq!(g(&["-t::x"], "t::"), ["t", "::x"]);
        assert_eq!(g(&["-:"], ":t"), ["?"], "':' is never an option");
        // The upstream `intersects` expectations.
        assert!(intersects(&g(&["-t"], "t:"), &[""]));
        assert!(!intersects(&g(&["-t"], "t:"), &["?", "t"]));
        assert!(!intersects(&g(&["-t"], ":t:"), &[":"]));
        // Argument extraction: a list field and a missing field.
        let r = apply(
            Transformer::Getopt,
            vec![many(&["-e", "/bin/sh"]), lit("e:")],
            None,
        );
        assert_eq!(str_of(&r), ["e", "/bin/sh"]);
        let r = apply(
            Transformer::Getopt,
            vec![ArgValue::Values(Extracted::Missing), lit("e:")],
            None,
        );
        assert_eq!(r, Extracted::Missing);
        let r = apply(Transformer::Getopt, vec![many(&["nc"]), lit("e:")], None);
        assert_eq!(
            r,
            Extracted::Many(vec![]),
            "no options: an empty list, not missing"
        );
        let r = apply(
            Transformer::Getopt,
            vec![many(&["-e", "x"]), one("e:")],
            None,
        );
        assert_eq!(str_of(&r), ["e", "x"], "optstring from a field");
    }

    #[test]
    fn getopt_selector() {
        let g = getopt_sel;
        assert_eq!(
            g(&["-n", "-t", "hello"], "nt:", "t").as_deref(),
            Some("hello")
        );
        assert_eq!(g(&["-n", "-t", "hello"], "nt:", "n").as_deref(), Some("n"));
        assert_eq!(
            g(&["-t", "v1", "-t", "v2"], "t:", "t").as_deref(),
            Some("v2")
        );
        assert_eq!(g(&["-t?"], "t:", "t").as_deref(), Some("?"));
        assert_eq!(g(&["-t:"], ":t:", "t").as_deref(), Some(":"));
        assert_eq!(g(&["-t"], "t:", "t").as_deref(), Some(""));
        assert_eq!(g(&["-t"], ":t:", "t").as_deref(), Some(""));
        assert_eq!(g(&["-n"], "nt:", "t"), None);
        assert_eq!(g(&["-t", "v1", "-t"], "t:", "t").as_deref(), Some(""));
        assert_eq!(
            g(&["-x", "-t", "v"], "t:", "x"),
            None,
            "unknown options are never selected"
        );
        assert_eq!(g(&["-n"], "n", ""), None);
        assert_eq!(g(&["-n"], "n", "nn"), None);
        let r = apply(
            Transformer::Getopt,
            vec![list(&["-e", "/bin/sh"]), lit("e:")],
            Some("e"),
        );
        assert!(
            matches!(r, Extracted::One(_)),
            "a selector yields one value"
        );
    }

    #[test]
    fn shapes() {
        use FieldType::*;
        let f = |ty, is_list| ArgShape::Field { ty, is_list };
        assert_eq!(
            result_shape(Transformer::ToLower, &[f(Str, false)], false),
            Ok((Str, false))
        );
        assert_eq!(
            result_shape(Transformer::ToUpper, &[f(Path, true)], false),
            Ok((Path, true))
        );
        assert_eq!(
            result_shape(Transformer::ToUpper, &[ArgShape::Literal], false),
            Ok((Str, false))
        );
        assert_eq!(
            result_shape(Transformer::ToUpper, &[f(Signed, false)], false),
            Err("can't add field transformer: type 'INT64' is not supported by 'toupper' transformer applied on field".to_string())
        );
        assert!(result_shape(Transformer::ToLower, &[f(Bytes, false)], false).is_err());
        assert!(result_shape(Transformer::B64, &[f(Signed, false)], false).is_err());
        assert!(result_shape(Transformer::B64, &[f(Path, false)], false).is_err());
        assert_eq!(
            result_shape(Transformer::B64, &[f(Bytes, false)], false),
            Ok((Bytes, false))
        );
        assert!(result_shape(Transformer::Basename, &[f(Bytes, false)], false).is_err());
        assert_eq!(
            result_shape(Transformer::Basename, &[f(Path, false)], false),
            Ok((Path, false))
        );
        assert_eq!(
            result_shape(Transformer::Len, &[f(Signed, true)], false),
            Ok((Unsigned, false))
        );
        assert_eq!(
            result_shape(Transformer::Len, &[f(Bytes, false)], false),
            Ok((Unsigned, false))
        );
        assert_eq!(
            result_shape(Transformer::Len, &[f(Unsigned, false)], false),
            Err("can't add field transformer: type 'UINT64' is not supported by 'len' transformer applied on field".to_string())
        );
        assert_eq!(
            result_shape(Transformer::Len, &[ArgShape::List(vec![])], false),
            Ok((Unsigned, false))
        );
        assert_eq!(
            result_shape(Transformer::ToLower, &[f(Str, false)], true),
            Err("filter error: transformer 'tolower' does not support field arguments".to_string())
        );
        assert_eq!(
            result_shape(Transformer::ToLower, &[f(Str, false), f(Str, false)], false),
            Err("unknown multivalue transformer".to_string())
        );
        assert_eq!(
            result_shape(Transformer::ToLower, &[], false),
            Err("unknown multivalue transformer".to_string())
        );

        let l = |n: usize| ArgShape::List(vec![ArgShape::Literal; n]);
        let j = |args: &[ArgShape]| result_shape(Transformer::Join, args, false);
        assert_eq!(j(&[ArgShape::Literal, l(2)]), Ok((Str, false)));
        assert_eq!(j(&[f(Str, false), f(Str, true)]), Ok((Str, false)));
        assert_eq!(j(&[ArgShape::Literal, l(0)]), Ok((Str, false)));
        assert_eq!(
            j(&[]),
            Err("join() requires exactly 2 arguments: separator and list".to_string())
        );
        assert_eq!(
            j(&[ArgShape::Literal]),
            Err("unknown field transfomer 'join'".to_string())
        );
        assert!(j(&[ArgShape::Literal, ArgShape::Literal, ArgShape::Literal]).is_err());
        assert_eq!(
            j(&[f(Str, true), l(2)]),
            Err("join() first argument (separator) must be a single value, not a list".to_string())
        );
        assert!(j(&[l(2), l(2)]).is_err());
        assert!(j(&[l(2), ArgShape::Literal]).is_err());
        assert_eq!(
            j(&[ArgShape::Literal, ArgShape::Literal]),
            Err("join() second argument must be a list".to_string())
        );
        assert_eq!(
            result_shape(Transformer::Join, &[ArgShape::Literal, l(1)], true),
            Err("transformer 'join' does not support field arguments".to_string())
        );
        assert_eq!(
            result_shape(Transformer::Join, &[ArgShape::Literal], true),
            Err("filter error: transformer 'join' does not support field arguments".to_string())
        );

        let c = |args: &[ArgShape]| result_shape(Transformer::Concat, args, false);
        assert_eq!(c(&[f(Str, false), f(Str, false)]), Ok((Str, false)));
        assert_eq!(
            c(&[ArgShape::Literal, ArgShape::Literal, ArgShape::Literal]),
            Ok((Str, false))
        );
        assert_eq!(
            c(&[]),
            Err("concat() requires at least 2 arguments".to_string())
        );
        assert_eq!(
            c(&[ArgShape::Literal]),
            Err("unknown field transfomer 'concat'".to_string())
        );
        assert_eq!(
            c(&[f(Str, true), ArgShape::Literal]),
            Err("concat() arguments must be strings".to_string())
        );
        assert!(c(&[l(2), ArgShape::Literal]).is_err());
        assert!(c(&[ArgShape::Literal, l(2)]).is_err());
        assert!(
            c(&[f(Path, false), ArgShape::Literal]).is_err(),
            "FSPATH is not CHARBUF"
        );
        assert!(c(&[f(Unsigned, false), ArgShape::Literal]).is_err());

        let g = |args: &[ArgShape], br| result_shape(Transformer::Getopt, args, br);
        assert_eq!(g(&[l(2), ArgShape::Literal], false), Ok((Str, true)));
        assert_eq!(
            g(&[f(Str, true), ArgShape::Literal], true),
            Ok((Str, false))
        );
        assert!(g(&[], false).is_err());
        assert_eq!(
            g(&[l(1)], false),
            Err("unknown field transfomer 'getopt'".to_string())
        );
        assert!(g(&[l(1), ArgShape::Literal, ArgShape::Literal], false).is_err());
        assert_eq!(
            g(&[ArgShape::Literal, ArgShape::Literal], false),
            Err("getopt() first argument must be a list".to_string())
        );
        assert_eq!(
            g(&[l(1), l(1)], false),
            Err("getopt() second argument (optstring) must be a single value".to_string())
        );
        assert_eq!(
            g(&[f(Unsigned, true), ArgShape::Literal], false),
            Err("getopt() arguments must be strings".to_string())
        );
        assert_eq!(check_bracket_arg(Transformer::Getopt, "t"), Ok(()));
        assert_eq!(
            check_bracket_arg(Transformer::Getopt, ""),
            Err("getopt() field argument must be a single option character".to_string())
        );
        assert!(check_bracket_arg(Transformer::Getopt, "-e").is_err());
        assert!(check_bracket_arg(Transformer::Join, "x").is_err());
    }
}
