//! Single-value transformers: `tolower`, `toupper`, `b64`, `basename`, `len`.

use std::borrow::Cow;

use crate::value::Value;

use super::{c_str, Transformer};

fn trim_nuls(b: &[u8]) -> &[u8] {
    let mut n = b.len();
    while n > 0 && b[n - 1] == 0 {
        n -= 1;
    }
    &b[..n]
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
pub(super) fn map_one(t: Transformer, v: Value<'_>) -> Option<Value<'_>> {
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
pub(super) fn len_of(v: &Value<'_>) -> Option<u64> {
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

#[cfg(test)]
mod tests {
    use super::super::test_support::{list, lit, many, s, single, str_of};
    use super::super::{apply, ArgValue};
    use super::*;
    use crate::value::Extracted;

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
}
