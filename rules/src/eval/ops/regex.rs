//! regex: RE2 POSIX-syntax patterns, translated to the `regex` crate.

use super::text::trim_trailing_nuls;

/// A `regex` right-hand side: RE2 with `RE2::POSIX` options, matched against the whole value
/// (`ANCHOR_BOTH`). POSIX syntax means: no Perl classes (`\d \s \w`), no `\b \B`, no `(?…)`
/// groups or flags, no `\A \z \C \Q…\E \pN`, stacked repetitions allowed (`a**`, `a*?` is
/// `(a*)?`), a `{` that does not start a valid `{n}`, `{n,}`, `{n,m}` is a literal, and `^`/`$`
/// match at line boundaries. The value has trailing NULs removed and invalid UTF-8 replaced by
/// U+FFFD before matching (allocation only in that case).
#[derive(Clone, Debug)]
pub struct CompiledRegex {
    re: regex::bytes::Regex,
    pattern: String,
}

impl CompiledRegex {
    /// Compile; the error is `invalid regex pattern: …`.
    pub fn new(pattern: &str) -> Result<Self, String> {
        if pattern.as_bytes().contains(&0) {
            return Err("filter error: filter value cannot contain a NUL byte (\\x00)".to_string());
        }
        let translated =
            translate_posix_re(pattern).map_err(|e| format!("invalid regex pattern: {e}"))?;
        let re = regex::bytes::RegexBuilder::new(&format!("\\A(?:{translated})\\z"))
            .build()
            .map_err(|e| {
                let msg = e.to_string();
                let last = msg
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                format!(
                    "invalid regex pattern: {}",
                    last.trim_start_matches("error: ")
                )
            })?;
        Ok(CompiledRegex {
            re,
            pattern: pattern.to_string(),
        })
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Full match of the value.
    pub fn is_match(&self, value: &[u8]) -> bool {
        let v = trim_trailing_nuls(value);
        match std::str::from_utf8(v) {
            Ok(_) => self.re.is_match(v),
            Err(_) => self.re.is_match(String::from_utf8_lossy(v).as_bytes()),
        }
    }
}

/// Hex-escape one pattern character for the Rust regex syntax.
fn push_lit(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || !c.is_ascii() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:x}}}", c as u32));
    }
}

/// Parse one RE2 escape (the text after `\`): the literal character it denotes.
fn parse_escape(chars: &[char], i: &mut usize) -> Result<char, String> {
    let Some(&c) = chars.get(*i) else {
        return Err("trailing \\".to_string());
    };
    *i += 1;
    let bad = |c: char| Err(format!("invalid escape sequence: \\{c}"));
    match c {
        '1'..='7' => {
            // A single non-zero digit would be a back-reference; octal needs a following digit.
            if !matches!(chars.get(*i), Some('0'..='7')) {
                return bad(c);
            }
            let mut v = c.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                match chars.get(*i).and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        v = v * 8 + d;
                        *i += 1;
                    }
                    None => break,
                }
            }
            char::from_u32(v).ok_or_else(|| format!("invalid escape sequence: \\{c}"))
        }
        '0' => {
            let mut v = 0u32;
            for _ in 0..2 {
                match chars.get(*i).and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        v = v * 8 + d;
                        *i += 1;
                    }
                    None => break,
                }
            }
            char::from_u32(v).ok_or_else(|| "invalid escape sequence: \\0".to_string())
        }
        'x' => {
            if chars.get(*i) == Some(&'{') {
                let start = *i + 1;
                let end = chars[start..]
                    .iter()
                    .position(|&d| d == '}')
                    .map(|p| start + p);
                let Some(end) = end else {
                    return Err("invalid escape sequence: \\x{".to_string());
                };
                let hex: String = chars[start..end].iter().collect();
                *i = end + 1;
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|v| *v <= 0x10FFFF && !hex.is_empty())
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("invalid escape sequence: \\x{{{hex}}}"))
            } else {
                let hex: String = chars
                    .get(*i..*i + 2)
                    .map(|s| s.iter().collect())
                    .unwrap_or_default();
                if hex.len() != 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("invalid escape sequence: \\x{hex}"));
                }
                *i += 2;
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("invalid escape sequence: \\x{hex}"))
            }
        }
        'a' => Ok('\x07'),
        'f' => Ok('\x0c'),
        'n' => Ok('\n'),
        'r' => Ok('\r'),
        't' => Ok('\t'),
        'v' => Ok('\x0b'),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(c),
        c => bad(c),
    }
}

/// Translate an RE2 POSIX-syntax pattern into an equivalent Rust `regex` pattern, rejecting what
/// RE2 rejects in that mode.
fn translate_posix_re(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '\\' => {
                let lit = parse_escape(&chars, &mut i)?;
                push_lit(&mut out, lit);
            }
            '(' => {
                if chars.get(i) == Some(&'?') {
                    return Err("missing argument to repetition operator: ?".to_string());
                }
                out.push('(');
            }
            '^' => out.push_str("(?m:^)"),
            '$' => out.push_str("(?m:$)"),
            '{' => match parse_repeat(&chars, i) {
                Some((lo, hi, next)) => {
                    if lo > 1000 || hi.is_some_and(|h| h > 1000 || h < lo) {
                        let s: String = chars[i - 1..next].iter().collect();
                        return Err(format!("bad repetition operator: {s}"));
                    }
                    out.extend(&chars[i - 1..next]);
                    i = next;
                }
                None => push_lit(&mut out, '{'),
            },
            '}' => push_lit(&mut out, '}'),
            '[' => i = translate_class(&chars, i, &mut out)?,
            '.' | '*' | '+' | '?' | '|' | ')' => out.push(c),
            c => push_lit(&mut out, c),
        }
    }
    Ok(out)
}

/// `{n}`, `{n,}` or `{n,m}` starting after `{` at `i`: (n, m, index after `}`).
fn parse_repeat(chars: &[char], mut i: usize) -> Option<(u32, Option<u32>, usize)> {
    let num = |i: &mut usize| -> Option<u32> {
        let start = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == start {
            return None;
        }
        let s: String = chars[start..*i].iter().collect();
        Some(s.parse::<u32>().unwrap_or(u32::MAX))
    };
    let lo = num(&mut i)?;
    let hi = if chars.get(i) == Some(&',') {
        i += 1;
        if chars.get(i) == Some(&'}') {
            None
        } else {
            Some(num(&mut i)?)
        }
    } else {
        Some(lo)
    };
    if chars.get(i) != Some(&'}') {
        return None;
    }
    Some((lo, hi, i + 1))
}

/// Translate a character class starting after `[` at `i`; returns the index after its `]`.
fn translate_class(chars: &[char], mut i: usize, out: &mut String) -> Result<usize, String> {
    let start = i;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = chars.get(i) else {
            let s: String = chars[start - 1..].iter().collect();
            return Err(format!("missing closing ]: {s}"));
        };
        if c == ']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        if c == '-' && !first && chars.get(i + 1) != Some(&']') {
            let s: String = chars[i..chars.len().min(i + 2)].iter().collect();
            return Err(format!("invalid character class range: {s}"));
        }
        first = false;
        if c == '[' && chars.get(i + 1) == Some(&':') {
            if let Some(end) = (i + 2..chars.len().saturating_sub(1))
                .find(|&j| chars[j] == ':' && chars[j + 1] == ']')
            {
                let name: String = chars[i + 2..end].iter().collect();
                let bare = name.strip_prefix('^').unwrap_or(&name);
                const CLASSES: [&str; 14] = [
                    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower",
                    "print", "punct", "space", "upper", "word", "xdigit",
                ];
                if !CLASSES.contains(&bare) {
                    return Err(format!("invalid character class range: [:{name}:]"));
                }
                out.push_str(&format!("[:{name}:]"));
                i = end + 2;
                continue;
            }
        }
        let lo = class_char(chars, &mut i)?;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&d| d != ']') {
            i += 1;
            let hi = class_char(chars, &mut i)?;
            if hi < lo {
                return Err(format!("invalid character class range: {lo}-{hi}"));
            }
            push_lit(out, lo);
            out.push('-');
            push_lit(out, hi);
        } else {
            push_lit(out, lo);
        }
    }
}

fn class_char(chars: &[char], i: &mut usize) -> Result<char, String> {
    let c = chars[*i];
    *i += 1;
    if c == '\\' {
        parse_escape(chars, i)
    } else {
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_semantics() {
        let r = |p: &str| CompiledRegex::new(p).expect(p);
        // filter_compiler.ut.cpp with evt.source = syscall
        assert!(r("^[s]{1}ysca[l]{2}$").is_match(b"syscall"));
        assert!(!r("yscal.*").is_match(b"syscall"));
        assert!(!r(".*yscal").is_match(b"syscall"));
        assert!(r("syscal.*").is_match(b"syscall"));
        assert!(!r("^unknown$").is_match(b"syscall"));
        assert!(r("^[A-Z]+$").is_match(b"SYSCALL"));
        assert!(r("/home/.*/dev").is_match(b"/home/u/dev"));
        assert!(
            !r("/home/.*/dev").is_match(b"/home/u/dev/x"),
            "full match only"
        );
        assert!(r("a|b").is_match(b"b"));
        assert!(!r("a|b").is_match(b"ab"));
        assert!(r("syscall\\.*").is_match(b"syscall.."));
        assert!(r("[[:digit:]]+").is_match(b"123"));
        assert!(
            r("a**").is_match(b"aaa"),
            "stacked repetition is allowed in POSIX mode"
        );
        assert!(r("a*?").is_match(b"aaa"));
        assert!(r("a{").is_match(b"a{"), "`{{` without a repeat is literal");
        assert!(r("a{,2}").is_match(b"a{,2}"));
        assert!(r("a{2}").is_match(b"aa"));
        assert!(
            r("\\<x\\>").is_match(b"<x>"),
            "escaped punctuation is literal"
        );
        assert!(r("[a&&b]").is_match(b"&"), "no class set operations");
        assert!(r("[[a]").is_match(b"["));
        assert!(r("[]a]").is_match(b"]"));
        assert!(r("\\x41").is_match(b"A"));
        assert!(r(".").is_match("é".as_bytes()), "UTF-8 aware");
        assert!(r("a.c").is_match(b"a\xffc"), "invalid UTF-8 becomes U+FFFD");
        assert!(r("abc").is_match(b"abc\0\0"), "trailing NULs ignored");
        assert!(!r("a.c").is_match(b"a\nc"));
        assert!(r("a$\nb").is_match(b"a\nb"), "$ matches at a line end");
        // Rejected in RE2 POSIX syntax.
        for bad in [
            "\\d",
            "\\w+",
            "[\\s]",
            "\\b",
            "(?i)abc",
            "(?:a)",
            "\\pL",
            "\\A",
            "\\z",
            "a{2,1}",
            "a{1001}",
            "(",
            "[a",
            "[z-a]",
            "[a-b-c]",
            "\\1",
            "[[:foo:]]",
        ] {
            let e = CompiledRegex::new(bad).expect_err(bad);
            assert!(e.starts_with("invalid regex pattern: "), "{bad}: {e}");
        }
        assert_eq!(r("x+").pattern(), "x+");
    }
}
