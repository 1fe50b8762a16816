//! Byte helpers (C-string views, substring search) and the string/buffer part of the comparison
//! (`flt_compare_string`, `flt_compare_buffer`).

use crate::condition::ast::CmpOp;

use super::glob::glob_match;

/// The bytes of `b` before its first NUL (a C string view).
#[inline]
pub fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// `b` without trailing NUL bytes (how libsinsp normalizes a string before set lookups, regex
/// matching and transformers).
#[inline]
pub fn trim_trailing_nuls(b: &[u8]) -> &[u8] {
    let mut n = b.len();
    while n > 0 && b[n - 1] == 0 {
        n -= 1;
    }
    &b[..n]
}

/// Fast substring test (`memmem`). An empty needle is always found.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let n = needle.len();
    if n == 0 {
        return Some(0);
    }
    if n > haystack.len() {
        return None;
    }
    let first = needle[0];
    let rest = &needle[1..];
    let last_start = haystack.len() - n;
    let mut i = 0;
    while i <= last_start {
        match haystack[i..=last_start].iter().position(|&c| c == first) {
            None => return None,
            Some(off) => {
                let s = i + off;
                if &haystack[s + 1..s + n] == rest {
                    return Some(s);
                }
                i = s + 1;
            }
        }
    }
    None
}

/// ASCII case-insensitive substring test (`strcasestr` in the C locale). An empty needle is always
/// found.
pub fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    let n = needle.len();
    if n == 0 {
        return true;
    }
    if n > haystack.len() {
        return false;
    }
    let first = needle[0].to_ascii_lowercase();
    for s in 0..=haystack.len() - n {
        if haystack[s].to_ascii_lowercase() == first
            && haystack[s + 1..s + n].eq_ignore_ascii_case(&needle[1..])
        {
            return true;
        }
    }
    false
}

/// Byte-wise string comparison as upstream's `flt_compare_string` (both sides are C strings).
/// `Regex` and `PMatch` are not handled here (false), `Exists` is true.
pub fn compare_str(op: CmpOp, lhs: &[u8], rhs: &[u8]) -> bool {
    let b = c_str(rhs);
    match op {
        CmpOp::Eq | CmpOp::Eq2 | CmpOp::In | CmpOp::Intersects => cstr_eq(lhs, b),
        CmpOp::Ne => !cstr_eq(lhs, b),
        CmpOp::StartsWith => lhs.starts_with(b),
        CmpOp::Contains => contains(c_str(lhs), b),
        CmpOp::IContains => contains_ignore_ascii_case(c_str(lhs), b),
        CmpOp::EndsWith => c_str(lhs).ends_with(b),
        CmpOp::Glob => glob_match(b, lhs, false),
        CmpOp::IGlob => glob_match(b, lhs, true),
        CmpOp::Lt => c_str(lhs) < b,
        CmpOp::Le => c_str(lhs) <= b,
        CmpOp::Gt => c_str(lhs) > b,
        CmpOp::Ge => c_str(lhs) >= b,
        CmpOp::Exists => true,
        CmpOp::Regex | CmpOp::PMatch | CmpOp::BContains | CmpOp::BStartsWith => false,
    }
}

/// `strcmp(a, b) == 0` where `b` has no NUL.
#[inline]
fn cstr_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() >= b.len() && &a[..b.len()] == b && (a.len() == b.len() || a[b.len()] == 0)
}

/// Buffer comparison as upstream's `flt_compare_buffer` (full lengths, NULs included).
pub fn compare_bytes(op: CmpOp, lhs: &[u8], rhs: &[u8]) -> bool {
    match op {
        CmpOp::Eq | CmpOp::Eq2 | CmpOp::In | CmpOp::Intersects => lhs == rhs,
        CmpOp::Ne => lhs != rhs,
        CmpOp::Contains | CmpOp::BContains => contains(lhs, rhs),
        CmpOp::StartsWith | CmpOp::BStartsWith => lhs.starts_with(rhs),
        CmpOp::EndsWith => lhs.ends_with(rhs),
        CmpOp::Exists => true,
        _ => false,
    }
}
#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::super::compare;
    use super::super::test_support::{pc, s};
    use super::*;
    use crate::fields::FieldType;
    use crate::value::Value;

    #[test]
    fn contains_variants() {
        assert!(contains(b"/opt/dir", b"/dir"));
        assert!(contains(b"abc", b""));
        assert!(contains(b"", b""));
        assert!(!contains(b"", b"a"));
        assert!(!contains(b"ab", b"abc"));
        assert!(contains(b"aaab", b"aab"));
        assert!(contains_ignore_ascii_case(
            b"/opt/dir/SUBDIR/file.txt",
            b"/subdir"
        ));
        assert!(!contains_ignore_ascii_case(
            b"/opt/dir/SUBDIR/file.txt",
            b"notthis"
        ));
        assert!(contains_ignore_ascii_case(b"x", b""));
    }

    #[test]
    fn bytebuf_compare() {
        // filter_op_bytebuf.ut.cpp: buffer "hello", then "a\0b"
        let hello = Value::Bytes(Cow::Borrowed(b"hello"));
        let b = |op, t: &str| compare(op, &hello, &pc(FieldType::Bytes, op, t));
        assert!(b(CmpOp::BContains, "68656c6c6f"));
        assert!(b(CmpOp::BContains, "656c6C"));
        assert!(!b(CmpOp::BContains, "20"));
        assert!(!b(CmpOp::BContains, "656c6cAA"));
        assert!(b(CmpOp::BStartsWith, "68"));
        assert!(b(CmpOp::BStartsWith, "68656c6c6f"));
        assert!(!b(CmpOp::BStartsWith, "65"));
        assert!(!b(CmpOp::BStartsWith, "656c6C"));
        assert!(!b(CmpOp::BStartsWith, "20"));
        assert!(b(CmpOp::EndsWith, "llo"));
        assert!(b(CmpOp::Contains, "ell"));
        let anb = Value::Bytes(Cow::Borrowed(b"a\0b"));
        let c = |op, t: &str| compare(op, &anb, &pc(FieldType::Bytes, op, t));
        assert!(c(CmpOp::Eq, "a\0b"));
        assert!(!c(CmpOp::Eq, "ab"));
        assert!(!c(CmpOp::Eq, "a"), "buffers compare their whole length");
        assert!(c(CmpOp::Ne, "a"));
        assert!(c(CmpOp::BContains, "610062"));
        assert!(!c(CmpOp::BContains, "610162"));
        assert!(c(CmpOp::BStartsWith, "6100"));
        assert!(!c(CmpOp::BStartsWith, "6101"));
        assert!(c(CmpOp::EndsWith, "\0b"));
    }

    #[test]
    fn string_compare() {
        let v = s("myexe");
        let c = |op, t: &str| compare(op, &v, &s(t));
        assert!(c(CmpOp::Eq, "myexe"));
        assert!(!c(CmpOp::Eq, "myex"));
        assert!(!c(CmpOp::Eq, "myexee"));
        assert!(c(CmpOp::Ne, "bash"));
        assert!(c(CmpOp::Contains, "yex"));
        assert!(c(CmpOp::Contains, ""));
        assert!(c(CmpOp::IContains, "YEX"));
        assert!(c(CmpOp::StartsWith, "my"));
        assert!(c(CmpOp::StartsWith, ""));
        assert!(!c(CmpOp::StartsWith, "ex"));
        assert!(c(CmpOp::EndsWith, "exe"));
        assert!(!c(CmpOp::EndsWith, "my"));
        assert!(c(CmpOp::Glob, "m?e*"));
        assert!(c(CmpOp::IGlob, "M?E*"));
        assert!(c(CmpOp::Lt, "n"));
        assert!(c(CmpOp::Gt, "myex"));
        assert!(c(CmpOp::Ge, "myexe"));
        assert!(c(CmpOp::Le, "myexe"));
        assert!(
            !c(CmpOp::Regex, "myexe"),
            "regex goes through CompiledRegex"
        );
        assert!(!c(CmpOp::PMatch, "myexe"));
        assert!(c(CmpOp::Exists, ""));
        // C-string semantics of extracted text.
        let nul = Value::Str(Cow::Borrowed(b"ab\0cd"));
        assert!(compare(CmpOp::Eq, &nul, &s("ab")));
        assert!(!compare(CmpOp::Contains, &nul, &s("cd")));
        assert!(!compare(CmpOp::EndsWith, &nul, &s("cd")));
        assert!(compare(CmpOp::EndsWith, &nul, &s("b")));
        // Bytes above 0x7f compare unsigned.
        assert!(compare(
            CmpOp::Gt,
            &Value::Str(Cow::Borrowed(b"\xc3")),
            &s("z")
        ));
    }
}
