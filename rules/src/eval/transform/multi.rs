//! Multi-value transformers: `join`, `concat`, `getopt`.

use std::borrow::Cow;

use crate::value::{Extracted, Value};

use super::{c_str, flatten, ArgValue};

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

pub(super) fn join(args: Vec<ArgValue<'_>>) -> Extracted<'static> {
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

pub(super) fn concat(args: Vec<ArgValue<'_>>) -> Extracted<'static> {
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

pub(super) fn getopt<'a>(args: Vec<ArgValue<'a>>, selector: Option<&str>) -> Extracted<'a> {
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
    use super::super::test_support::{list, lit, many, one, single, str_of};
    use super::super::{apply, Transformer};
    use super::*;

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
}
