//! glob (fnmatch, C locale, flags 0 or FNM_CASEFOLD).

use super::text::c_str;

/// glibc's CHAR_CLASS_MAX_LENGTH.
const CHAR_CLASS_MAX_LENGTH: usize = 256;

#[inline]
fn fold(c: u8, ci: bool) -> u8 {
    if ci {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

/// `[:name:]` membership in the C locale (bytes >= 0x80 belong to no class).
fn in_char_class(name: &[u8], c: u8) -> Option<bool> {
    Some(match name {
        b"alnum" => c.is_ascii_alphanumeric(),
        b"alpha" => c.is_ascii_alphabetic(),
        b"blank" => c == b' ' || c == b'\t',
        b"cntrl" => c.is_ascii_control(),
        b"digit" => c.is_ascii_digit(),
        b"graph" => c.is_ascii_graphic(),
        b"lower" => c.is_ascii_lowercase(),
        b"print" => c.is_ascii_graphic() || c == b' ',
        b"punct" => c.is_ascii_punctuation(),
        b"space" => matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'),
        b"upper" => c.is_ascii_uppercase(),
        b"xdigit" => c.is_ascii_hexdigit(),
        _ => return None,
    })
}

/// Falco's glob: `fnmatch(3)` with flags 0 (or `FNM_CASEFOLD`) in the C locale. `*` and `?` match
/// any byte including `/` and a leading `.`; `\x` matches `x`; `[...]` sets support `!`/`^`
/// negation, ranges, `[:class:]`, `[=c=]` and `[.c.]`; an unterminated `[` is a literal. Pattern and
/// text are C strings (anything from the first NUL on is ignored).
pub fn glob_match(pattern: &[u8], text: &[u8], case_insensitive: bool) -> bool {
    let p = c_str(pattern);
    let t = c_str(text);
    let ci = case_insensitive;
    let (mut pi, mut ti) = (0usize, 0usize);
    // Backtracking point: (pattern index after the last `*`, text index it is tried at).
    let mut star: Option<(usize, usize)> = None;
    loop {
        let step: Option<(usize, usize)> = if pi < p.len() {
            let c = fold(p[pi], ci);
            match c {
                b'*' => {
                    star = Some((pi + 1, ti));
                    pi += 1;
                    continue;
                }
                b'?' => (ti < t.len()).then_some((pi + 1, ti + 1)),
                b'\\' => match p.get(pi + 1) {
                    None => None,
                    Some(&e) => {
                        (ti < t.len() && fold(t[ti], ci) == fold(e, ci)).then_some((pi + 2, ti + 1))
                    }
                },
                b'[' => {
                    if ti < t.len() {
                        bracket_step(p, pi + 1, t[ti], ci).map(|np| (np, ti + 1))
                    } else {
                        None
                    }
                }
                _ => (ti < t.len() && fold(t[ti], ci) == c).then_some((pi + 1, ti + 1)),
            }
        } else if ti == t.len() {
            return true;
        } else {
            None
        };
        match step {
            Some((np, nt)) => {
                pi = np;
                ti = nt;
            }
            None => match star {
                Some((sp, st)) if st < t.len() => {
                    star = Some((sp, st + 1));
                    pi = sp;
                    ti = st + 1;
                }
                _ => return false,
            },
        }
    }
}

/// Match one bracket element (`start` is just after its `[`) against the text byte `t`:
/// the pattern index after the element, or `None`. Mirrors glibc's `fnmatch_loop.c` for a
/// single-byte locale without collation rules, including malformed sets (an unterminated `[` is a
/// literal `[`; a trailing `\\` or an unknown `[:class:]` fails).
fn bracket_step(p: &[u8], start: usize, t: u8, ci: bool) -> Option<usize> {
    match_bracket_impl(p, start, t, ci)
}

/// Outcome of scanning a bracket expression.
enum BracketScan {
    /// The set matched; skip to its end from this index.
    Matched(usize),
    /// The set ended at this index (after `]`) without a match.
    NoMatch(usize),
    /// Treat the `[` as a literal character; the element ends at this index.
    Literal(usize),
    /// The whole match fails here (malformed pattern).
    Fail,
}

fn match_bracket_impl(p: &[u8], start: usize, t: u8, ci: bool) -> Option<usize> {
    let get = |i: usize| -> u8 { p.get(i).copied().unwrap_or(0) };
    let not = get(start) == b'!' || get(start) == b'^';
    match scan_bracket(p, start, t, ci, not) {
        BracketScan::Fail => None,
        BracketScan::Literal(next) => (fold(b'[', ci) == fold(t, ci)).then_some(next),
        BracketScan::NoMatch(next) => not.then_some(next),
        BracketScan::Matched(from) => {
            // Skip the rest of the set.
            let mut pi = from;
            loop {
                let c = get(pi);
                pi += 1;
                if c == b']' {
                    break;
                }
                if c == 0 {
                    return None;
                }
                if c == b'\\' {
                    if get(pi) == 0 {
                        return None;
                    }
                    pi += 1;
                } else if c == b'[' && get(pi) == b':' {
                    let startp = pi;
                    let mut n = 0usize;
                    loop {
                        pi += 1;
                        let cc = get(pi);
                        n += 1;
                        if n == CHAR_CLASS_MAX_LENGTH {
                            return None;
                        }
                        if get(pi) == b':' && get(pi + 1) == b']' {
                            break;
                        }
                        if !(b'a'..=b'y').contains(&cc) {
                            pi = startp - 2;
                            break;
                        }
                    }
                    pi += 2;
                } else if c == b'[' && get(pi) == b'=' {
                    pi += 1;
                    if get(pi) == 0 {
                        return None;
                    }
                    pi += 1;
                    if get(pi) != b'=' || get(pi + 1) != b']' {
                        return None;
                    }
                    pi += 2;
                } else if c == b'[' && get(pi) == b'.' {
                    loop {
                        pi += 1;
                        let cc = get(pi);
                        if cc == 0 {
                            return None;
                        }
                        if cc == b'.' && get(pi + 1) == b']' {
                            break;
                        }
                    }
                    pi += 2;
                }
            }
            (!not).then_some(pi)
        }
    }
}

/// A collating symbol `[.x.]` whose `.` is at `dot` (just after its `[`): the index after the
/// closing `.]` and the symbol. None when unterminated or not exactly one byte long (fnmatch
/// in the C locale knows no multi-character collating elements).
fn collating_symbol(p: &[u8], dot: usize) -> Option<(usize, u8)> {
    let end = (dot + 1..p.len().saturating_sub(1)).find(|&i| p[i] == b'.' && p[i + 1] == b']');
    match end {
        Some(end) if p[dot + 1..end].contains(&0) => None,
        Some(end) if end == dot + 2 => Some((end + 2, p[dot + 1])),
        _ => None,
    }
}

/// Scan the members of a bracket expression (`start` is just after `[`).
fn scan_bracket(p: &[u8], start: usize, t: u8, ci: bool, not: bool) -> BracketScan {
    let get = |i: usize| -> u8 { p.get(i).copied().unwrap_or(0) };
    let p_init = start;
    let mut pi = if not { start + 1 } else { start };
    let fnc = fold(t, ci);
    let mut c = get(pi);
    pi += 1;
    loop {
        // Resolve the current member into `cold` (its value for ranges) and advance `c`.
        let cold: u8;
        let mut plain: Option<u8> = None;
        if c == b'\\' {
            if get(pi) == 0 {
                return BracketScan::Fail;
            }
            plain = Some(fold(get(pi), ci));
            pi += 1;
        } else if c == b'[' && get(pi) == b':' {
            let startp = pi;
            let mut len = 0usize;
            let mut is_class = true;
            loop {
                if len == CHAR_CLASS_MAX_LENGTH {
                    return BracketScan::Fail;
                }
                pi += 1;
                let cc = get(pi);
                if cc == b':' && get(pi + 1) == b']' {
                    pi += 2;
                    break;
                }
                if !(b'a'..=b'y').contains(&cc) {
                    pi = startp;
                    is_class = false;
                    break;
                }
                len += 1;
            }
            if is_class {
                match in_char_class(&p[startp + 1..startp + 1 + len], t) {
                    None => return BracketScan::Fail,
                    Some(true) => return BracketScan::Matched(pi),
                    Some(false) => {}
                }
                c = get(pi);
                pi += 1;
                if c == b']' {
                    return BracketScan::NoMatch(pi);
                }
                continue;
            }
            plain = Some(b'[');
        } else if c == b'[' && get(pi) == b'=' {
            let startp = pi;
            let e = get(pi + 1);
            if e == 0 || get(pi + 2) != b'=' || get(pi + 3) != b']' {
                pi = startp;
                plain = Some(b'[');
            } else {
                pi += 4;
                if t == e {
                    return BracketScan::Matched(pi);
                }
                c = get(pi);
                pi += 1;
                if c == b']' {
                    return BracketScan::NoMatch(pi);
                }
                continue;
            }
        } else if c == 0 {
            return BracketScan::Literal(p_init);
        }

        if plain.is_none() && c == b'[' && get(pi) == b'.' {
            let Some((after, sym)) = collating_symbol(p, pi) else {
                return BracketScan::Fail;
            };
            pi = after;
            let is_range = get(pi) == b'-' && get(pi + 1) != 0;
            if !is_range && t == sym {
                return BracketScan::Matched(pi);
            }
            cold = sym;
            c = get(pi);
            pi += 1;
        } else {
            let nc = plain.unwrap_or_else(|| fold(c, ci));
            let is_range = get(pi) == b'-' && get(pi + 1) != 0 && get(pi + 1) != b']';
            if !is_range && nc == fnc {
                return BracketScan::Matched(pi);
            }
            cold = nc;
            c = get(pi);
            pi += 1;
        }

        if c == b'-' && get(pi) != b']' {
            let mut cend = get(pi);
            pi += 1;
            if cend == b'[' && get(pi) == b'.' {
                let Some((after, sym)) = collating_symbol(p, pi) else {
                    return BracketScan::Fail;
                };
                pi = after;
                cend = sym;
            } else {
                if cend == b'\\' {
                    cend = get(pi);
                    pi += 1;
                }
                if cend == 0 {
                    return BracketScan::Fail;
                }
                cend = fold(cend, ci);
            }
            if cold <= fnc && fnc <= cend {
                return BracketScan::Matched(pi);
            }
            c = get(pi);
            pi += 1;
        }
        if c == b']' {
            return BracketScan::NoMatch(pi);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_basics() {
        let g = |p: &str, t: &str| glob_match(p.as_bytes(), t.as_bytes(), false);
        assert!(g("my*", "myexe"));
        assert!(g("*exe", "myexe"));
        assert!(!g("bash", "myexe"));
        assert!(!g("sh*", "myexe"));
        assert!(g("", ""));
        assert!(!g("", "a"));
        assert!(g("*", ""));
        assert!(g("*", ".hidden"));
        assert!(g("?", "/"));
        assert!(g("/opt/*", "/opt/dir/sub/file"), "* crosses /");
        assert!(g("/opt/*/file", "/opt/a/b/file"));
        assert!(!g("/opt/?", "/opt/ab"));
        assert!(g("a?c", "abc"));
        assert!(!g("a?c", "ac"));
        assert!(g("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!g("*a*b*c*", "xxaxxcxxbxx"));
        assert!(g("**", "anything"));
        assert!(g("*?", "x"));
        assert!(!g("*?", ""));
        // Escapes.
        assert!(g("\\*", "*"));
        assert!(!g("\\*", "x"));
        assert!(g("a\\b", "ab"));
        assert!(!g("abc\\", "abc"), "a trailing backslash never matches");
        // Case.
        assert!(!g("MY*", "myexe"));
        assert!(glob_match(b"MY*", b"myexe", true));
        assert!(glob_match(b"*EXE", b"myExe", true));
        assert!(glob_match(b"[A-C]x", b"bX", true));
        assert!(!glob_match(b"[A-C]x", b"bX", false));
        // C strings.
        assert!(g("abc", "abc\0def"));
    }

    #[test]
    fn glob_brackets() {
        let g = |p: &str, t: &str| glob_match(p.as_bytes(), t.as_bytes(), false);
        assert!(g("[abc]", "b"));
        assert!(!g("[abc]", "d"));
        assert!(g("[!abc]", "d"));
        assert!(!g("[!abc]", "a"));
        assert!(g("[^abc]", "d"), "^ negates like ! without POSIXLY_CORRECT");
        assert!(g("[a-c]", "b"));
        assert!(!g("[a-c]", "d"));
        assert!(!g("[c-a]", "b"), "reversed range is empty");
        assert!(g("[]]", "]"), "] first is a member");
        assert!(g("[!]]", "a"));
        assert!(!g("[!]]", "]"));
        assert!(g("[a-]", "-"));
        assert!(g("[-a]", "-"));
        assert!(g("[[:digit:]]", "7"));
        assert!(!g("[[:digit:]]", "x"));
        assert!(g("[[:alpha:][:digit:]]", "x"));
        assert!(g("[![:space:]]", "x"));
        assert!(!g("[[:foo:]]", "f"), "unknown class fails");
        assert!(g("[[:upper:]]", "Q"));
        assert!(glob_match(b"[[:upper:]]", b"Q", true));
        assert!(g("[[.a.]]", "a"));
        assert!(!g("[[.ab.]]", "a"), "multi-char collating symbol fails");
        assert!(g("[[=a=]]", "a"));
        assert!(g("[\\]]", "]"));
        assert!(g("[a\\-z]", "-"));
        assert!(!g("[a\\-z]", "b"));
        // Unterminated: a literal `[`.
        assert!(g("[", "["));
        assert!(g("[ab", "[ab"));
        assert!(
            !g("[ab", "a"),
            "matched member then no closing bracket fails"
        );
        assert!(g("x[", "x["));
        assert!(!g("[", ""));
        assert!(g("*[", "abc["));
        // Bytes above 0x7f are plain members.
        assert!(glob_match(b"[\xc3]", b"\xc3", false));
    }
}
