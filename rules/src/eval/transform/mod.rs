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

use crate::value::{Extracted, Value};

mod multi;
mod shape;
mod single;

pub use shape::{check_bracket_arg, result_shape, ArgShape};
pub use single::b64_decode;

use multi::{concat, getopt, join};
use single::{len_of, map_one};

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

fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
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

#[cfg(test)]
mod test_support {
    use super::*;

    pub(super) fn s(x: &str) -> Value<'static> {
        Value::string(x.to_string())
    }
    pub(super) fn one(x: &str) -> ArgValue<'static> {
        ArgValue::Values(Extracted::One(s(x)))
    }
    pub(super) fn many(xs: &[&str]) -> ArgValue<'static> {
        ArgValue::Values(Extracted::Many(xs.iter().map(|x| s(x)).collect()))
    }
    pub(super) fn lit(x: &'static str) -> ArgValue<'static> {
        ArgValue::Literal(x.as_bytes())
    }
    pub(super) fn list(xs: &[&'static str]) -> ArgValue<'static> {
        ArgValue::List(xs.iter().map(|x| lit(x)).collect())
    }
    pub(super) fn str_of(e: &Extracted<'_>) -> Vec<String> {
        e.values()
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes().expect("text")).into_owned())
            .collect()
    }
    pub(super) fn single(t: Transformer, x: &str) -> Extracted<'static> {
        apply(t, vec![one(x)], None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for t in Transformer::ALL {
            assert_eq!(Transformer::from_name(t.name()), Some(t));
        }
        assert_eq!(Transformer::from_name("val"), None);
        assert_eq!(Transformer::from_name("storage"), None);
        assert_eq!(Transformer::from_name("TOLOWER"), None);
    }
}
