//! Comparison primitives of the condition evaluator, following libsinsp exactly
//! (`filter_compare.cpp`, `value_parser.cpp`, `prefix_search.h`, `fnmatch(3)` in the C locale).
//!
//! Summary of the semantics implemented here:
//!
//! * **Strings** (`Str`, i.e. CHARBUF/FSPATH) are C strings upstream: every operator looks only at
//!   the bytes before the first NUL. `contains` = `strstr`, `icontains` = `strcasestr` (ASCII
//!   folding), `startswith`/`endswith` byte-wise, `<`..`>=` = `strcmp` (unsigned bytes), `glob`/
//!   `iglob` = `fnmatch(pattern = rhs, flags = 0 / FNM_CASEFOLD)` — `*` and `?` match `/`,
//!   `\` escapes, `[...]`, `[!...]` and `[^...]` sets with ranges and `[:class:]`. An empty needle
//!   is contained in everything. `regex` is an RE2 *POSIX-syntax* full match (see
//!   [`CompiledRegex`]); `pmatch` is a component-wise path-prefix match (see [`PathPrefixSet`]).
//! * **Buffers** (`Bytes`, BYTEBUF) compare with their full length (NULs included): `=`, `!=`,
//!   `contains`/`bcontains` (memmem), `startswith`/`bstartswith`, `endswith`. `bcontains` and
//!   `bstartswith` take their right-hand side as hex; every other operator takes the raw text.
//! * **Numbers**: `=`, `!=`, `<`, `<=`, `>`, `>=`. Constants are parsed like `sscanf("%d%c")`:
//!   optional blanks and sign, decimal digits only, nothing after; overflow saturates like
//!   `strtoll`/`strtoull`; a negative constant for an unsigned field wraps. DOUBLE fields only take
//!   integer constants that are parsed as a 32-bit `int` (`thread.cpu = 1.0` is an error).
//! * **Booleans**: `true`/`false` only; `=`/`!=`.
//! * **IP addresses**: `=`/`!=` between address and address; a network constant (`10.0.0.0/8`)
//!   matches an address inside it. A constant containing a `.` is IPv4, anything else IPv6. An
//!   IPv4 value never equals an IPv6 constant and vice versa (so `!=` is true across families).
//! * `in`/`intersects` compare element-wise with equality (see [`ValueSet`]).
//! * Modifiers (`op oneof|anyof|allof (list)`): exactly one / at least one / every item satisfies
//!   `value op item`; an empty list is always false. `pmatch` with a modifier is always false
//!   (upstream compares with `flt_compare`, which never implements `pmatch`).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::condition::ast::{CmpOp, Modifier};
use crate::fields::FieldType;
use crate::value::Value;

// ---------------------------------------------------------------------------------------------
// Byte helpers
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// glob (fnmatch, C locale, flags 0 or FNM_CASEFOLD)
// ---------------------------------------------------------------------------------------------

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

        if let Some(nc) = plain {
            let is_range = get(pi) == b'-' && get(pi + 1) != 0 && get(pi + 1) != b']';
            if !is_range && nc == fnc {
                return BracketScan::Matched(pi);
            }
            cold = nc;
            c = get(pi);
            pi += 1;
        } else if c == b'[' && get(pi) == b'.' {
            let startp = pi;
            let mut len = 0usize;
            loop {
                pi += 1;
                let cc = get(pi);
                if cc == b'.' && get(pi + 1) == b']' {
                    pi += 2;
                    break;
                }
                if cc == 0 {
                    return BracketScan::Fail;
                }
                len += 1;
            }
            let is_range = get(pi) == b'-' && get(pi + 1) != 0;
            if len != 1 {
                return BracketScan::Fail;
            }
            let sym = p[startp + 1];
            if !is_range && t == sym {
                return BracketScan::Matched(pi);
            }
            cold = sym;
            c = get(pi);
            pi += 1;
        } else {
            let nc = fold(c, ci);
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
                let startp = pi;
                let mut len = 0usize;
                loop {
                    pi += 1;
                    let cc = get(pi);
                    if cc == b'.' && get(pi + 1) == b']' {
                        pi += 2;
                        break;
                    }
                    if cc == 0 {
                        return BracketScan::Fail;
                    }
                    len += 1;
                }
                if len != 1 {
                    return BracketScan::Fail;
                }
                cend = p[startp + 1];
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

// ---------------------------------------------------------------------------------------------
// pmatch
// ---------------------------------------------------------------------------------------------

/// A fast, non-cryptographic hasher (FxHash) for the constant sets built at compile time.
#[derive(Clone, Copy, Default)]
pub struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `BuildHasher` for [`FxHasher`].
pub type FxBuild = BuildHasherDefault<FxHasher>;

#[derive(Debug)]
enum PathChild {
    /// A search path ends here: everything below matches.
    Leaf,
    /// Longer search paths continue below.
    Node(Box<PathNode>),
}

#[derive(Debug, Default)]
struct PathNode {
    /// Components without glob characters, looked up by hash.
    dirs: HashMap<Box<[u8]>, PathChild, FxBuild>,
    /// Components containing `?`, `*` or `[`, matched with [`glob_match`] in insertion order.
    globs: Vec<(Box<[u8]>, PathChild)>,
}

/// Splits a path on `/`, skipping empty components (`//a/b/` → `a`, `b`).
fn path_components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&c| c == b'/').filter(|c| !c.is_empty())
}

impl PathNode {
    fn add(&mut self, comps: &[&[u8]]) {
        let Some((first, rest)) = comps.split_first() else {
            return;
        };
        let is_glob = first.iter().any(|c| matches!(c, b'?' | b'*' | b'['));
        let slot: Option<&mut PathChild> = if is_glob {
            self.globs
                .iter_mut()
                .find(|(k, _)| &**k == *first)
                .map(|(_, v)| v)
        } else {
            self.dirs.get_mut(*first)
        };
        match slot {
            None => {
                let child = if rest.is_empty() {
                    PathChild::Leaf
                } else {
                    let mut n = PathNode::default();
                    n.add(rest);
                    PathChild::Node(Box::new(n))
                };
                if is_glob {
                    self.globs.push(((*first).into(), child));
                } else {
                    self.dirs.insert((*first).into(), child);
                }
            }
            // An existing shorter search path already covers this one.
            Some(PathChild::Leaf) => {}
            Some(slot @ PathChild::Node(_)) => {
                if rest.is_empty() {
                    // This path is a prefix of longer ones: they are redundant now.
                    *slot = PathChild::Leaf;
                } else if let PathChild::Node(n) = slot {
                    n.add(rest);
                }
            }
        }
    }

    /// `rest` is the part of the path after the current component.
    fn matches(&self, comp: &[u8], rest: &[u8]) -> bool {
        if let Some(child) = self.dirs.get(comp) {
            if Self::check(child, rest) {
                return true;
            }
        }
        self.globs
            .iter()
            .any(|(pat, child)| glob_match(pat, comp, false) && Self::check(child, rest))
    }

    fn check(child: &PathChild, rest: &[u8]) -> bool {
        match child {
            PathChild::Leaf => true,
            PathChild::Node(n) => match next_component(rest) {
                // The path ends above the search path: `/var` does not match `/var/lib`.
                None => false,
                Some((comp, rest)) => n.matches(comp, rest),
            },
        }
    }
}

/// The next non-empty component of `path` and what follows it.
fn next_component(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = path.iter().position(|&c| c != b'/')?;
    let p = &path[start..];
    match p.iter().position(|&c| c == b'/') {
        Some(end) => Some((&p[..end], &p[end..])),
        None => Some((p, &[])),
    }
}

/// The right-hand side of `pmatch`: a set of search paths; a path matches when one of them is a
/// component-wise prefix of it (`/var/run` matches `/var/run` and `/var/run/docker`, not `/var`
/// nor `/var/runx`). Components are split on `/` with empty ones skipped, so `/etc/` = `/etc` =
/// `etc`; a search path of `/` matches everything. A component containing `?`, `*` or `[` is a
/// glob over that one component (`/opt/*/subdir`). Built once; matching does not allocate.
///
/// Upstream (`path_prefix_map::match_components_glob`) advances its component iterator inside
/// the loop over glob entries, so with two glob siblings at one level the second can be tested
/// against the wrong component, in hash-map order. This implements the intended semantics.
#[derive(Debug, Default)]
pub struct PathPrefixSet {
    /// `None`: no search path; `Leaf`: `/` was added.
    root: Option<PathChild>,
}

impl PathPrefixSet {
    /// Build the set.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut set = PathPrefixSet::default();
        for p in paths {
            set.add(p);
        }
        set
    }

    /// Add one search path.
    pub fn add(&mut self, path: &[u8]) {
        let comps: Vec<&[u8]> = path_components(path).collect();
        if comps.is_empty() {
            self.root = Some(PathChild::Leaf);
            return;
        }
        match &mut self.root {
            Some(PathChild::Leaf) => {}
            Some(PathChild::Node(n)) => n.add(&comps),
            None => {
                let mut n = PathNode::default();
                n.add(&comps);
                self.root = Some(PathChild::Node(Box::new(n)));
            }
        }
    }

    /// Whether `path` is matched (trailing NULs are ignored, as upstream).
    pub fn matches(&self, path: &[u8]) -> bool {
        match &self.root {
            None => false,
            Some(child) => PathNode::check(child, trim_trailing_nuls(path)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Operator/type compatibility (flt_is_comparable)
// ---------------------------------------------------------------------------------------------

/// The operator as libsinsp prints it in errors (`==` prints as `=`).
fn op_name(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq2 => "=",
        o => o.as_str(),
    }
}

fn not_supported(op: CmpOp, what: &str) -> String {
    format!("'{}' operator not supported for {what}", op_name(op))
}

/// Whether `op` (with `modifier`) applies to a field of type `ty` (`is_list`: a list field or a
/// list-valued transformer), as libsinsp's `flt_is_comparable`; the error is its text (upstream
/// prefixes it with `filter error: `).
///
/// `FieldType` does not keep the integer width: every `Signed` is accepted like INT64 and every
/// `Unsigned` like UINT64 (upstream also accepts list fields of UINT64 only, not UINT32).
pub fn check_comparable(
    op: CmpOp,
    modifier: Option<Modifier>,
    ty: FieldType,
    is_list: bool,
) -> Result<(), String> {
    if op == CmpOp::Exists {
        return Ok(());
    }
    if is_list {
        return match ty {
            FieldType::Str
            | FieldType::Unsigned
            | FieldType::RelTime
            | FieldType::AbsTime
            | FieldType::Bool
            | FieldType::IpAddr
            | FieldType::IpNet => match op {
                CmpOp::In | CmpOp::Intersects => Ok(()),
                // sic: upstream lacks the "for".
                _ => Err(not_supported(op, "").replace(" for ", " ") + "list filters"),
            },
            _ => Err(format!(
                "list filters are not supported for type '{}'",
                ty.name()
            )),
        };
    }
    let eq_like = matches!(op, CmpOp::Eq | CmpOp::Eq2 | CmpOp::Ne);
    match ty {
        FieldType::Signed
        | FieldType::Unsigned
        | FieldType::RelTime
        | FieldType::AbsTime
        | FieldType::Double => {
            if eq_like || op.is_numeric_op() || matches!(op, CmpOp::In | CmpOp::Intersects) {
                Ok(())
            } else {
                Err(not_supported(op, "numeric filters"))
            }
        }
        // sic: upstream says "numeric" for booleans too.
        FieldType::Bool => {
            if eq_like || matches!(op, CmpOp::In | CmpOp::Intersects) {
                Ok(())
            } else {
                Err(not_supported(op, "numeric filters"))
            }
        }
        FieldType::IpAddr | FieldType::IpNet => {
            if eq_like || matches!(op, CmpOp::In | CmpOp::Intersects) {
                Ok(())
            } else if modifier.is_some() {
                Err(format!(
                    "'{}' with modifier not supported for ip address and network filters",
                    op_name(op)
                ))
            } else {
                Err(not_supported(op, "ip address and network filters"))
            }
        }
        FieldType::Str | FieldType::Path => match op {
            CmpOp::BContains | CmpOp::BStartsWith => Err(not_supported(op, "string filters")),
            _ => Ok(()),
        },
        FieldType::Bytes => match op {
            CmpOp::Eq
            | CmpOp::Eq2
            | CmpOp::Ne
            | CmpOp::Contains
            | CmpOp::In
            | CmpOp::StartsWith
            | CmpOp::EndsWith
            | CmpOp::Intersects
            | CmpOp::BContains
            | CmpOp::BStartsWith => Ok(()),
            _ => Err(not_supported(op, "buffer filters")),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Constant parsing (string_to_rawval)
// ---------------------------------------------------------------------------------------------

/// `sscanf(s, "%d%c")`-style scan: optional leading white space, optional sign, at least one
/// decimal digit, nothing after. Returns the sign and the magnitude (saturated above `u64::MAX`).
fn scan_decimal(s: &str) -> Option<(bool, u128)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let digits_start = i;
    let mut mag: u128 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        mag = (mag * 10 + u128::from(b[i] - b'0')).min(u128::from(u64::MAX) + 1);
        i += 1;
    }
    if i == digits_start || i != b.len() {
        return None;
    }
    Some((neg, mag))
}

fn not_a_number(s: &str) -> String {
    format!("{s} is not a valid number")
}

/// `strtoull` semantics (negative values wrap, overflow saturates).
fn parse_u64(s: &str) -> Result<u64, String> {
    let (neg, mag) = scan_decimal(s).ok_or_else(|| not_a_number(s))?;
    if mag > u128::from(u64::MAX) {
        return Ok(u64::MAX);
    }
    let v = mag as u64;
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// `strtoll` semantics (overflow saturates).
fn parse_i64(s: &str) -> Result<i64, String> {
    let (neg, mag) = scan_decimal(s).ok_or_else(|| not_a_number(s))?;
    Ok(if neg {
        if mag >= 1u128 << 63 {
            i64::MIN
        } else {
            -(mag as i64)
        }
    } else if mag > i64::MAX as u128 {
        i64::MAX
    } else {
        mag as i64
    })
}

/// libsinsp's `parsed32` (`%d` into an `int`: the `long` result truncated to 32 bits).
fn parse_i32(s: &str) -> Result<i32, String> {
    parse_i64(s).map(|v| v as i32)
}

/// libsinsp's `parseu8` (`%u` into a `uint32_t`, then truncated to 8 bits).
fn parse_u8(s: &str) -> Result<u8, String> {
    parse_u64(s).map(|v| v as u32 as u8)
}

/// `inet_pton(AF_INET)`: strict dotted quad, no leading zeros.
fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    s.parse::<Ipv4Addr>().ok()
}

/// `inet_pton(AF_INET6)`.
fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    s.parse::<Ipv6Addr>().ok()
}

/// Decode a hex string (`sinsp_utils::unhex`): even length, hex digits only, either case.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() & 1 == 1 || !b.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let val = |c: u8| -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => c - b'A' + 10,
        }
    };
    Some(
        b.chunks_exact(2)
            .map(|p| (val(p[0]) << 4) | val(p[1]))
            .collect(),
    )
}

/// Parse a right-hand-side literal into the constant compared against a field of type `ty` with
/// operator `op`, as libsinsp does at compile time (`add_filtercheck_value` +
/// `string_to_rawval`). Errors are libsinsp's texts.
///
/// * `bcontains`/`bstartswith` on BYTEBUF: hex (`68656c6c6f`), else
///   `filter error: bcontains and bstartswith operator support hex strings only`.
/// * Any other operator on BYTEBUF: the raw text bytes (NUL allowed).
/// * Every other type rejects NUL bytes.
/// * CHARBUF/FSPATH: the text; INT*: `strtoll`; UINT*/times: `strtoull`; DOUBLE: a 32-bit
///   integer; BOOL: `true`/`false`; IPADDR: v4 if the text has a `.`, else v6; IPNET: `addr/len`.
///
/// For `regex` the text is the pattern (build a [`CompiledRegex`]); for `pmatch` it is a search
/// path (build a [`PathPrefixSet`]). Port fields (`fd.port`, …) also accept service names: use
/// [`parse_port`] for them.
pub fn parse_constant(ty: FieldType, op: CmpOp, text: &str) -> Result<Value<'static>, String> {
    if matches!(op, CmpOp::BContains | CmpOp::BStartsWith) {
        if ty != FieldType::Bytes {
            return Err(check_comparable(op, None, ty, false)
                .err()
                .unwrap_or_else(|| not_supported(op, "this field")));
        }
        return unhex(text)
            .map(|b| Value::Bytes(Cow::Owned(b)))
            .ok_or_else(|| {
                "filter error: bcontains and bstartswith operator support hex strings only"
                    .to_string()
            });
    }
    if ty == FieldType::Bytes {
        return Ok(Value::Bytes(Cow::Owned(text.as_bytes().to_vec())));
    }
    if text.as_bytes().contains(&0) {
        return Err("filter error: filter value cannot contain a NUL byte (\\x00)".to_string());
    }
    match ty {
        FieldType::Str | FieldType::Path => Ok(Value::string(text.to_string())),
        FieldType::Signed => parse_i64(text).map(Value::Signed),
        FieldType::Unsigned | FieldType::RelTime | FieldType::AbsTime => {
            parse_u64(text).map(Value::Unsigned)
        }
        FieldType::Double => parse_i32(text).map(|v| Value::Double(f64::from(v))),
        FieldType::Bool => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("filter error: unrecognized boolean value {text}")),
        },
        FieldType::IpAddr => {
            if text.contains('.') {
                parse_ipv4(text)
                    .map(|a| Value::Ip(IpAddr::V4(a)))
                    .ok_or_else(|| format!("unrecognized IPv4 address {text}"))
            } else {
                parse_ipv6(text)
                    .map(|a| Value::Ip(IpAddr::V6(a)))
                    .ok_or_else(|| format!("unrecognized IPv6 address {text}"))
            }
        }
        FieldType::IpNet => parse_net(text),
        FieldType::Bytes => unreachable_bytes(),
    }
}

#[cold]
fn unreachable_bytes() -> Result<Value<'static>, String> {
    Err("internal error: bytes handled above".to_string())
}

fn parse_net(text: &str) -> Result<Value<'static>, String> {
    if text.contains('.') {
        let Some((ip, mask)) = text.split_once('/') else {
            return Err(format!("unrecognized IP network {text}"));
        };
        let addr = parse_ipv4(ip).ok_or_else(|| format!("unrecognized IP address {text}"))?;
        let len = parse_u8(mask)?;
        if len > 32 {
            return Err(format!("invalid netmask {mask}"));
        }
        Ok(Value::Net(IpAddr::V4(addr), len))
    } else {
        let Some((ip, mask)) = text.split_once('/') else {
            return Err(format!("invalid v6 netmask: {text}"));
        };
        let addr = parse_ipv6(ip).ok_or_else(|| format!("unrecognized IPv6 address {text}"))?;
        let len = parse_u8(mask)?;
        if len == 0 || len > 128 {
            return Err(format!("invalid v6 netmask {mask}"));
        }
        Ok(Value::Net(IpAddr::V6(addr), len))
    }
}

/// Parse a constant for a PORT field (`fd.port`, `fd.sport`, …): empty → 0, digits → the number
/// (truncated to 16 bits as upstream's `stoi` + `uint16_t`), otherwise a service name looked up in
/// `/etc/services` like `getservbyname(name, NULL)` (`http` → 80).
pub fn parse_port(text: &str) -> Result<Value<'static>, String> {
    if text.as_bytes().contains(&0) {
        return Err("filter error: filter value cannot contain a NUL byte (\\x00)".to_string());
    }
    if text.is_empty() {
        return Ok(Value::Unsigned(0));
    }
    if text.bytes().all(|c| c.is_ascii_digit()) {
        // std::stoi: out of `int` range throws std::out_of_range("stoi").
        let v: i64 = match text.trim_start_matches('0') {
            "" => 0,
            t if t.len() > 10 => return Err("stoi".to_string()),
            t => t.parse().map_err(|_| "stoi".to_string())?,
        };
        if v > i64::from(i32::MAX) {
            return Err("stoi".to_string());
        }
        return Ok(Value::Unsigned(u64::from(v as u16)));
    }
    let services = std::fs::read_to_string("/etc/services").unwrap_or_default();
    lookup_service(&services, text)
        .map(|p| Value::Unsigned(u64::from(p)))
        .ok_or_else(|| format!("unrecognized protocol {text}"))
}

/// The port of service `name` (or alias) in an `/etc/services`-formatted text.
fn lookup_service(services: &str, name: &str) -> Option<u16> {
    for line in services.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let (Some(svc), Some(port_proto)) = (words.next(), words.next()) else {
            continue;
        };
        if svc == name || words.any(|alias| alias == name) {
            if let Some(port) = port_proto.split('/').next().and_then(|p| p.parse().ok()) {
                return Some(port);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Comparison (flt_compare)
// ---------------------------------------------------------------------------------------------

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

fn compare_ord(op: CmpOp, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    match (op, ord) {
        (CmpOp::Exists, _) => true,
        (CmpOp::Ne, None) => true, // NaN != x
        (_, None) => false,
        (CmpOp::Eq | CmpOp::Eq2 | CmpOp::In | CmpOp::Intersects, Some(o)) => o == Equal,
        (CmpOp::Ne, Some(o)) => o != Equal,
        (CmpOp::Lt, Some(o)) => o == Less,
        (CmpOp::Le, Some(o)) => o != Greater,
        (CmpOp::Gt, Some(o)) => o == Greater,
        (CmpOp::Ge, Some(o)) => o != Less,
        _ => false,
    }
}

/// Whether `addr` is inside `net/len` (same family only).
pub fn ip_in_net(addr: &IpAddr, net: &IpAddr, len: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            (u32::from(*a) & mask) == (u32::from(*n) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let len = u32::from(len.min(128));
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            (u128::from(*a) & mask) == (u128::from(*n) & mask)
        }
        _ => false,
    }
}

fn ip_eq_op(op: CmpOp, same_family: bool, equal: bool) -> bool {
    if !same_family {
        // Upstream: a right-hand side of the other family's size compares as "not equal".
        return op == CmpOp::Ne;
    }
    match op {
        CmpOp::Eq | CmpOp::Eq2 | CmpOp::In | CmpOp::Intersects => equal,
        CmpOp::Ne => !equal,
        CmpOp::Exists => true,
        _ => false,
    }
}

/// Compare one extracted value (`lhs`) with one constant or right-hand-side value (`rhs`), as
/// libsinsp's `flt_compare` for the type of `lhs`. `in`/`intersects` mean equality here (for set
/// membership use [`ValueSet`]); `regex` and `pmatch` are false here (use [`CompiledRegex`] and
/// [`PathPrefixSet`]); `exists` is true. Values of unrelated kinds are never equal (`!=` is true
/// for them).
pub fn compare(op: CmpOp, lhs: &Value<'_>, rhs: &Value<'_>) -> bool {
    use Value::*;
    match (lhs, rhs) {
        (Str(a), Str(b) | Bytes(b)) => compare_str(op, a, b),
        (Bytes(a), Bytes(b) | Str(b)) => compare_bytes(op, a, b),
        (Signed(a), Signed(b)) => compare_ord(op, Some(a.cmp(b))),
        (Unsigned(a), Unsigned(b)) => compare_ord(op, Some(a.cmp(b))),
        (Signed(a), Unsigned(b)) => compare_ord(op, Some(i128::from(*a).cmp(&i128::from(*b)))),
        (Unsigned(a), Signed(b)) => compare_ord(op, Some(i128::from(*a).cmp(&i128::from(*b)))),
        (Double(a), Double(b)) => compare_ord(op, a.partial_cmp(b)),
        (Double(a), Signed(b)) => compare_ord(op, a.partial_cmp(&(*b as f64))),
        (Double(a), Unsigned(b)) => compare_ord(op, a.partial_cmp(&(*b as f64))),
        (Signed(a), Double(b)) => compare_ord(op, (*a as f64).partial_cmp(b)),
        (Unsigned(a), Double(b)) => compare_ord(op, (*a as f64).partial_cmp(b)),
        (Bool(a), Bool(b)) => match op {
            CmpOp::Eq | CmpOp::Eq2 | CmpOp::In | CmpOp::Intersects => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Exists => true,
            _ => false,
        },
        (Ip(a), Ip(b)) => ip_eq_op(op, a.is_ipv4() == b.is_ipv4(), a == b),
        (Ip(a), Net(n, len)) | (Net(a, _), Net(n, len)) => {
            ip_eq_op(op, a.is_ipv4() == n.is_ipv4(), ip_in_net(a, n, *len))
        }
        (Net(n, len), Ip(a)) => ip_eq_op(op, a.is_ipv4() == n.is_ipv4(), ip_in_net(a, n, *len)),
        _ => matches!(op, CmpOp::Ne | CmpOp::Exists),
    }
}

// ---------------------------------------------------------------------------------------------
// regex
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Sets and modifiers
// ---------------------------------------------------------------------------------------------

/// The constants of an `in`/`intersects` list (or `== anyof`/`!= allof`), built once, with
/// hash lookups for text, bytes, integers and addresses and a linear CIDR scan for networks.
/// Lookups never allocate. Semantics are upstream's set lookup: exact bytes (text with trailing
/// NULs removed), numeric equality, address equality, and an address matching a network
/// constant if inside it.
#[derive(Debug, Default)]
pub struct ValueSet {
    bytes: HashSet<Box<[u8]>, FxBuild>,
    min_len: usize,
    max_len: usize,
    ints: HashSet<i128, FxBuild>,
    doubles: HashSet<u64, FxBuild>,
    bools: [bool; 2],
    ips: HashSet<IpAddr, FxBuild>,
    nets: Vec<(IpAddr, u8)>,
    len: usize,
}

impl ValueSet {
    /// Build from the parsed constants.
    pub fn new(values: Vec<Value<'static>>) -> Self {
        let mut s = ValueSet {
            min_len: usize::MAX,
            ..Default::default()
        };
        s.len = values.len();
        for v in values {
            match v {
                Value::Str(b) => {
                    let b = trim_trailing_nuls(&b);
                    s.min_len = s.min_len.min(b.len());
                    s.max_len = s.max_len.max(b.len());
                    s.bytes.insert(b.into());
                }
                Value::Bytes(b) => {
                    s.min_len = s.min_len.min(b.len());
                    s.max_len = s.max_len.max(b.len());
                    s.bytes.insert(b.into_owned().into_boxed_slice());
                }
                Value::Signed(i) => {
                    s.ints.insert(i128::from(i));
                }
                Value::Unsigned(u) => {
                    s.ints.insert(i128::from(u));
                }
                Value::Double(d) => {
                    s.doubles.insert(d.to_bits());
                }
                Value::Bool(b) => s.bools[usize::from(b)] = true,
                Value::Ip(a) => {
                    s.ips.insert(a);
                }
                Value::Net(a, l) => s.nets.push((a, l)),
            }
        }
        s
    }

    /// Number of constants.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn contains_bytes(&self, b: &[u8]) -> bool {
        b.len() >= self.min_len && b.len() <= self.max_len && self.bytes.contains(b)
    }

    /// Whether `v` equals one of the constants.
    pub fn contains(&self, v: &Value<'_>) -> bool {
        match v {
            Value::Str(b) => self.contains_bytes(trim_trailing_nuls(b)),
            Value::Bytes(b) => self.contains_bytes(b),
            Value::Signed(i) => self.ints.contains(&i128::from(*i)),
            Value::Unsigned(u) => self.ints.contains(&i128::from(*u)),
            Value::Double(d) => {
                self.doubles.contains(&d.to_bits())
                    || (d.fract() == 0.0 && self.ints.contains(&(*d as i128)))
            }
            Value::Bool(b) => self.bools[usize::from(*b)],
            Value::Ip(a) => {
                self.ips.contains(a) || self.nets.iter().any(|(n, l)| ip_in_net(a, n, *l))
            }
            Value::Net(a, _) => {
                self.ips.contains(a) || self.nets.iter().any(|(n, l)| ip_in_net(a, n, *l))
            }
        }
    }

    /// `in` for a list-valued field: every extracted value is in the set (true when there are
    /// none).
    pub fn contains_all(&self, values: &[Value<'_>]) -> bool {
        values.iter().all(|v| self.contains(v))
    }

    /// `intersects`: at least one extracted value is in the set.
    pub fn contains_any(&self, values: &[Value<'_>]) -> bool {
        values.iter().any(|v| self.contains(v))
    }
}

/// Combine `n` per-item results with a modifier: `oneof` = exactly one true, `anyof` = at least
/// one, `allof` = all; always false when `n == 0`. Stops as early as the answer is known.
pub fn apply_modifier(m: Modifier, n: usize, mut item: impl FnMut(usize) -> bool) -> bool {
    if n == 0 {
        return false;
    }
    match m {
        Modifier::AnyOf => (0..n).any(item),
        Modifier::AllOf => (0..n).all(item),
        Modifier::OneOf => {
            let mut found = false;
            for i in 0..n {
                if item(i) {
                    if found {
                        return false;
                    }
                    found = true;
                }
            }
            found
        }
    }
}

/// `lhs op <modifier> (rhs...)` for a single value: each item compared with [`compare`]
/// (`in`/`intersects` as equality; `pmatch` never matches, as upstream). For `regex` the items are
/// compiled on every call — precompile with [`CompiledRegex`] and use [`regex_with_modifier`].
pub fn compare_with_modifier(
    op: CmpOp,
    m: Modifier,
    lhs: &Value<'_>,
    rhs: &[Value<'static>],
) -> bool {
    if op == CmpOp::Regex {
        let Some(text) = lhs.as_bytes() else {
            return false;
        };
        return apply_modifier(m, rhs.len(), |i| {
            rhs[i]
                .as_bytes()
                .and_then(|p| std::str::from_utf8(p).ok())
                .and_then(|p| CompiledRegex::new(p).ok())
                .is_some_and(|re| re.is_match(text))
        });
    }
    apply_modifier(m, rhs.len(), |i| compare(op, lhs, &rhs[i]))
}

/// `lhs regex <modifier> (patterns...)` with precompiled patterns.
pub fn regex_with_modifier(m: Modifier, lhs: &[u8], res: &[CompiledRegex]) -> bool {
    apply_modifier(m, res.len(), |i| res[i].is_match(lhs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value<'static> {
        Value::string(x.to_string())
    }
    fn ip(x: &str) -> Value<'static> {
        Value::Ip(x.parse().expect("test ip"))
    }
    fn pc(ty: FieldType, op: CmpOp, text: &str) -> Value<'static> {
        parse_constant(ty, op, text).expect("test constant")
    }

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
    fn pmatch_upstream() {
        // filter_op_pmatch.ut.cpp, fd.name = /opt/dir/subdir/file.txt
        let path = b"/opt/dir/subdir/file.txt".as_slice();
        let pm =
            |pats: &[&str]| PathPrefixSet::new(pats.iter().map(|p| p.as_bytes())).matches(path);
        assert!(pm(&["/opt/dir"]));
        assert!(pm(&["/opt/dir/subdir"]));
        assert!(!pm(&["/opt/dir2"]));
        assert!(pm(&["/opt/dir", "/opt/dir2"]));
        assert!(!pm(&["/opt/dir3", "/opt/dir2"]));
        assert!(pm(&["/opt/*"]));
        assert!(pm(&["/opt/*/subdir"]));
        assert!(pm(&["/opt/di?/subdir"]));
        assert!(!pm(&["/opt/dii?/subdir"]));
        assert!(pm(&["/opt/di[r]/subdir"]));
        assert!(!pm(&["/opt/di[!r]/subdir"]));
        assert!(!pm(&["/opt/di[t]/subdir"]));
        assert!(!pm(&["/opt/di/subdir"]));
        assert!(!pm(&["/opt/*/subdir2"]));
        assert!(pm(&["/opt/*/*"]));
        assert!(!pm(&["/opt/*/*/subsubdir"]));
        assert!(!pm(&[]));
    }

    #[test]
    fn pmatch_prefix_search() {
        // prefix_search.ut.cpp
        let set = PathPrefixSet::new(
            [
                "/var/run",
                "/var/run/dmesg",
                "/etc/",
                "/lib",
                "/usr/lib",
                "/usr/local",
            ]
            .iter()
            .map(|p| p.as_bytes()),
        );
        assert!(set.matches(b"/var/run/docker"));
        assert!(!set.matches(b"/boot"));
        assert!(!set.matches(b"/var/lib/messages"));
        assert!(!set.matches(b"/var"));
        assert!(set.matches(b"/var/run"));
        assert!(!set.matches(b"/usr"));
        assert!(set.matches(b"/etc"));
        assert!(set.matches(b"etc/x"), "relative paths split the same way");
        assert!(set.matches(b"//usr//lib//"), "empty components are skipped");
        assert!(!set.matches(b"/var/runx"));
        assert!(set.matches(b"/var/run\0\0"), "trailing NULs ignored");

        let glob = PathPrefixSet::new(
            ["/opt/*/subdir", "/opt2/*", "/opt3/*/subdir2/*"]
                .iter()
                .map(|p| p.as_bytes()),
        );
        assert!(!glob.matches(b"/opt"));
        assert!(glob.matches(b"/opt/dir/subdir"));
        assert!(glob.matches(b"/opt/dir/subdir/file.txt"));
        assert!(!glob.matches(b"/opt3/dir/subdir2"));
        assert!(glob.matches(b"/opt3/dir/subdir2/file.txt"));
        assert!(!glob.matches(b"/opt2"));
        assert!(glob.matches(b"/opt2/x"));

        let root = PathPrefixSet::new([b"/".as_slice()]);
        for p in ["/", "/one", "/one/two", "", "x"] {
            assert!(root.matches(p.as_bytes()), "{p}");
        }
        let mut shrink = PathPrefixSet::new([b"/usr/local/lib64".as_slice()]);
        assert!(!shrink.matches(b"/usr/local/bin"));
        shrink.add(b"/usr/local");
        assert!(shrink.matches(b"/usr/local/bin"));
        shrink.add(b"/usr/local/lib64/x");
        assert!(shrink.matches(b"/usr/local/other"));
        assert!(!shrink.matches(b"/usr"));
        // A literal and a glob at the same level: both are tried.
        let both = PathPrefixSet::new(["/a/b/c", "/a/*/d"].iter().map(|p| p.as_bytes()));
        assert!(both.matches(b"/a/b/d"));
        assert!(both.matches(b"/a/b/c"));
        assert!(!both.matches(b"/a/b/e"));
        // Two glob siblings.
        let globs = PathPrefixSet::new(["/x/a*/q", "/x/*b/r"].iter().map(|p| p.as_bytes()));
        assert!(globs.matches(b"/x/ab/r"));
        assert!(globs.matches(b"/x/ab/q"));
        assert!(!globs.matches(b"/x/ab/s"));
    }

    #[test]
    fn net_compare_ipv4() {
        // filter_op_net_compare.ut.cpp: server 142.251.111.147, client 172.40.111.222
        let sip = ip("142.251.111.147");
        let ipc = |t: &str| pc(FieldType::IpAddr, CmpOp::Eq, t);
        let net = |t: &str| pc(FieldType::IpNet, CmpOp::Eq, t);
        assert!(compare(CmpOp::Eq2, &sip, &ipc("142.251.111.147")));
        assert!(compare(
            CmpOp::Eq2,
            &ip("172.40.111.222"),
            &ipc("172.40.111.222")
        ));
        assert!(!compare(CmpOp::Ne, &sip, &ipc("142.251.111.147")));
        assert!(compare(CmpOp::Ne, &sip, &ipc("0:0:0:0:0:0:0:1")));
        assert!(!compare(CmpOp::Eq2, &sip, &ipc("0:0:0:0:0:0:0:1")));
        assert!(compare(CmpOp::Eq2, &sip, &net("142.0.0.0/4")));
        assert!(compare(CmpOp::Eq2, &sip, &net("142.251.0.0/8")));
        assert!(compare(CmpOp::Eq2, &sip, &net("142.251.111.0/16")));
        assert!(compare(CmpOp::Ne, &sip, &net("10.0.0.0/8")));
        assert!(compare(CmpOp::Ne, &sip, &net("2001:db8:abcd:0012::0/64")));
        assert!(!compare(CmpOp::Eq2, &sip, &net("10.0.0.0/8")));
        assert!(!compare(CmpOp::Eq2, &sip, &net("2001:db8:abcd:0012::0/64")));
        assert!(compare(CmpOp::Eq, &sip, &net("0.0.0.0/0")));
        assert!(compare(CmpOp::Eq, &sip, &net("142.251.111.147/32")));
        assert!(!compare(CmpOp::Eq, &sip, &net("142.251.111.146/32")));
    }

    #[test]
    fn net_compare_ipv6() {
        let sip = ip("2001:4860:4860::8888");
        let ipc = |t: &str| pc(FieldType::IpAddr, CmpOp::Eq, t);
        let net = |t: &str| pc(FieldType::IpNet, CmpOp::Eq, t);
        assert!(compare(CmpOp::Eq2, &sip, &ipc("2001:4860:4860::8888")));
        assert!(compare(CmpOp::Eq2, &ip("::1"), &ipc("::1")));
        assert!(!compare(CmpOp::Ne, &sip, &ipc("2001:4860:4860::8888")));
        assert!(compare(CmpOp::Ne, &sip, &ipc("127.0.0.1")));
        assert!(!compare(CmpOp::Eq2, &sip, &ipc("127.0.0.1")));
        assert!(compare(CmpOp::Eq2, &sip, &net("2001::0/16")));
        assert!(compare(CmpOp::Eq2, &sip, &net("2001:4860::0/32")));
        assert!(compare(CmpOp::Eq2, &sip, &net("2001:4860:4860::8888/48")));
        assert!(compare(CmpOp::Ne, &sip, &net("10::0/16")));
        assert!(compare(CmpOp::Ne, &sip, &net("10.0.0.0/8")));
        assert!(!compare(CmpOp::Eq2, &sip, &net("10.0.0.0/8")));
        assert!(!compare(CmpOp::Eq2, &sip, &net("2001:db8:abcd:0012::0/64")));
        assert!(compare(CmpOp::Eq, &sip, &net("2000::/7")));
        assert!(!compare(CmpOp::Eq, &sip, &net("2100::/8")));
    }

    #[test]
    fn net_modifiers() {
        let sip = ip("142.251.111.147");
        let list = |xs: &[&str]| -> Vec<Value<'static>> {
            xs.iter()
                .map(|x| pc(FieldType::IpAddr, CmpOp::Eq, x))
                .collect()
        };
        let m = |op, md, xs: &[&str]| compare_with_modifier(op, md, &sip, &list(xs));
        use Modifier::*;
        assert!(m(CmpOp::Eq2, AnyOf, &["142.251.111.147"]));
        assert!(m(CmpOp::Eq2, AnyOf, &["10.0.0.1", "142.251.111.147"]));
        assert!(!m(CmpOp::Eq2, AnyOf, &["10.0.0.1", "192.168.0.1"]));
        assert!(m(CmpOp::Eq2, AllOf, &["142.251.111.147"]));
        assert!(!m(CmpOp::Eq2, AllOf, &["142.251.111.147", "10.0.0.1"]));
        assert!(m(CmpOp::Eq2, OneOf, &["142.251.111.147"]));
        assert!(m(CmpOp::Eq2, OneOf, &["10.0.0.1", "142.251.111.147"]));
        assert!(!m(CmpOp::Eq2, OneOf, &["10.0.0.1", "192.168.0.1"]));
        assert!(m(CmpOp::Ne, AnyOf, &["10.0.0.1"]));
        assert!(!m(CmpOp::Ne, AnyOf, &["142.251.111.147"]));
        assert!(m(CmpOp::Ne, AllOf, &["10.0.0.1", "192.168.0.1"]));
    }

    #[test]
    fn ip_parse_errors() {
        let e = |ty, t: &str| parse_constant(ty, CmpOp::Eq, t).expect_err(t);
        assert_eq!(
            e(FieldType::IpAddr, "10.0.0.0/8"),
            "unrecognized IPv4 address 10.0.0.0/8"
        );
        assert_eq!(
            e(FieldType::IpAddr, "1.2.3"),
            "unrecognized IPv4 address 1.2.3"
        );
        assert_eq!(
            e(FieldType::IpAddr, "256.1.1.1"),
            "unrecognized IPv4 address 256.1.1.1"
        );
        assert_eq!(
            e(FieldType::IpAddr, "::ffff:1.2.3.4"),
            "unrecognized IPv4 address ::ffff:1.2.3.4"
        );
        assert_eq!(
            e(FieldType::IpAddr, "zz::1"),
            "unrecognized IPv6 address zz::1"
        );
        assert_eq!(
            e(FieldType::IpAddr, "localhost"),
            "unrecognized IPv6 address localhost"
        );
        assert_eq!(
            e(FieldType::IpNet, "10.0.0.1"),
            "unrecognized IP network 10.0.0.1"
        );
        assert_eq!(
            e(FieldType::IpNet, "10.0.0/8"),
            "unrecognized IP address 10.0.0/8"
        );
        assert_eq!(e(FieldType::IpNet, "10.0.0.0/33"), "invalid netmask 33");
        assert_eq!(e(FieldType::IpNet, "10.0.0.0/x"), "x is not a valid number");
        assert_eq!(e(FieldType::IpNet, "10.0.0.0/"), " is not a valid number");
        assert_eq!(e(FieldType::IpNet, "2001::"), "invalid v6 netmask: 2001::");
        assert_eq!(e(FieldType::IpNet, "2001::/0"), "invalid v6 netmask 0");
        assert_eq!(e(FieldType::IpNet, "2001::/129"), "invalid v6 netmask 129");
        assert_eq!(
            e(FieldType::IpNet, "20x1::/16"),
            "unrecognized IPv6 address 20x1::/16"
        );
        // The mask goes through an 8-bit truncation, as upstream.
        assert_eq!(
            pc(FieldType::IpNet, CmpOp::Eq, "10.0.0.0/264"),
            Value::Net(ip_addr("10.0.0.0"), 8)
        );
        assert_eq!(
            pc(FieldType::IpNet, CmpOp::Eq, "10.0.0.0/0"),
            Value::Net(ip_addr("10.0.0.0"), 0)
        );
        assert_eq!(pc(FieldType::IpAddr, CmpOp::Eq, "::1"), ip("::1"));
    }

    fn ip_addr(x: &str) -> IpAddr {
        x.parse().expect("test ip")
    }

    #[test]
    fn bytebuf_hex() {
        let hex = |t: &str| parse_constant(FieldType::Bytes, CmpOp::BContains, t);
        let err = "filter error: bcontains and bstartswith operator support hex strings only";
        for bad in ["g", "123Z", "abc_1", "2", "2g", "\0", "0x00"] {
            assert_eq!(hex(bad).expect_err(bad), err, "{bad}");
            assert_eq!(
                parse_constant(FieldType::Bytes, CmpOp::BStartsWith, bad).expect_err(bad),
                err
            );
        }
        assert_eq!(
            hex("12ab001fc5").expect("hex"),
            Value::Bytes(Cow::Owned(vec![0x12, 0xab, 0, 0x1f, 0xc5]))
        );
        assert_eq!(
            hex("656c6C").expect("hex"),
            Value::Bytes(Cow::Owned(b"ell".to_vec()))
        );
        assert_eq!(hex("").expect("hex"), Value::Bytes(Cow::Owned(vec![])));
        // Other operators on a buffer take the raw text, NUL included.
        assert_eq!(
            pc(FieldType::Bytes, CmpOp::Eq, "a\0b"),
            Value::Bytes(Cow::Owned(b"a\0b".to_vec()))
        );
        assert_eq!(
            pc(FieldType::Bytes, CmpOp::Contains, "6869"),
            Value::Bytes(Cow::Owned(b"6869".to_vec()))
        );
        // b-operators on other types are not comparable.
        assert_eq!(
            parse_constant(FieldType::Str, CmpOp::BContains, "3030").expect_err("str"),
            "'bcontains' operator not supported for string filters"
        );
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
    fn numeric_parse() {
        let e = |ty, t: &str| parse_constant(ty, CmpOp::Eq, t).expect_err(t);
        assert_eq!(e(FieldType::Double, "1.0"), "1.0 is not a valid number");
        assert_eq!(pc(FieldType::Double, CmpOp::Eq, "1"), Value::Double(1.0));
        assert_eq!(pc(FieldType::Double, CmpOp::Lt, "-7"), Value::Double(-7.0));
        // DOUBLE constants are 32-bit ints: 2^32 truncates to 0.
        assert_eq!(
            pc(FieldType::Double, CmpOp::Eq, "4294967296"),
            Value::Double(0.0)
        );
        for bad in ["", "abc", "1.5", "1e3", "0x10", "12 ", "+", "-", "1-"] {
            assert_eq!(
                e(FieldType::Signed, bad),
                format!("{bad} is not a valid number")
            );
            assert_eq!(
                e(FieldType::Unsigned, bad),
                format!("{bad} is not a valid number")
            );
            assert_eq!(
                e(FieldType::AbsTime, bad),
                format!("{bad} is not a valid number")
            );
        }
        assert_eq!(
            pc(FieldType::Signed, CmpOp::Eq, "-500"),
            Value::Signed(-500)
        );
        assert_eq!(pc(FieldType::Signed, CmpOp::Eq, " +42"), Value::Signed(42));
        assert_eq!(
            pc(FieldType::Signed, CmpOp::Eq, "4294967295"),
            Value::Signed(4294967295)
        );
        assert_eq!(
            pc(FieldType::Signed, CmpOp::Eq, "99999999999999999999"),
            Value::Signed(i64::MAX)
        );
        assert_eq!(
            pc(FieldType::Signed, CmpOp::Eq, "-99999999999999999999"),
            Value::Signed(i64::MIN)
        );
        assert_eq!(
            pc(FieldType::Unsigned, CmpOp::Eq, "18446744073709551615"),
            Value::Unsigned(u64::MAX)
        );
        assert_eq!(
            pc(FieldType::Unsigned, CmpOp::Eq, "18446744073709551616"),
            Value::Unsigned(u64::MAX)
        );
        assert_eq!(
            pc(FieldType::Unsigned, CmpOp::Eq, "-1"),
            Value::Unsigned(u64::MAX)
        );
        assert_eq!(pc(FieldType::RelTime, CmpOp::Eq, "007"), Value::Unsigned(7));
        assert_eq!(pc(FieldType::Bool, CmpOp::Eq, "true"), Value::Bool(true));
        assert_eq!(pc(FieldType::Bool, CmpOp::Eq, "false"), Value::Bool(false));
        assert_eq!(
            e(FieldType::Bool, "1"),
            "filter error: unrecognized boolean value 1"
        );
        assert_eq!(
            e(FieldType::Bool, "True"),
            "filter error: unrecognized boolean value True"
        );
        let nul = "filter error: filter value cannot contain a NUL byte (\\x00)";
        assert_eq!(e(FieldType::Str, "\0"), nul);
        assert_eq!(e(FieldType::Path, "a\0"), nul);
        assert_eq!(e(FieldType::Signed, "1\0"), nul);
        assert_eq!(
            parse_constant(FieldType::Str, CmpOp::Glob, "\0?").expect_err("nul"),
            nul
        );
        assert_eq!(pc(FieldType::Str, CmpOp::Eq, "bash"), s("bash"));
    }

    #[test]
    fn numeric_compare() {
        // filter_op_numeric_compare.ut.cpp: evt.cpu = 1 (INT16), fd.num = -1
        let cpu = Value::Signed(1);
        let n = |op, v: &Value<'_>, t: &str| compare(op, v, &pc(FieldType::Signed, op, t));
        assert!(n(CmpOp::Lt, &cpu, "300"));
        assert!(!n(CmpOp::Gt, &cpu, "300"));
        assert!(n(CmpOp::Lt, &cpu, "2"));
        assert!(n(CmpOp::Gt, &cpu, "-500"));
        assert!(n(CmpOp::Le, &cpu, "500"));
        assert!(n(CmpOp::Le, &cpu, "1025"));
        assert!(!n(CmpOp::Ge, &cpu, "1025"));
        let fd = Value::Signed(-1);
        assert!(!n(CmpOp::Ge, &fd, "0"));
        assert!(!n(CmpOp::Gt, &fd, "0"));
        assert!(n(CmpOp::Lt, &fd, "0"));
        assert!(!n(CmpOp::Gt, &fd, "4294967295"));
        assert!(!n(CmpOp::Lt, &fd, "-1"));
        assert!(n(CmpOp::Gt, &fd, "-65535"));
        assert!(n(CmpOp::Eq, &fd, "-1"));
        assert!(n(CmpOp::Ne, &fd, "1"));
        let u = Value::Unsigned(5);
        assert!(compare(
            CmpOp::Ge,
            &u,
            &pc(FieldType::Unsigned, CmpOp::Ge, "5")
        ));
        assert!(
            compare(CmpOp::Gt, &u, &Value::Signed(-1)),
            "mixed kinds compare by value"
        );
        assert!(compare(
            CmpOp::Le,
            &Value::Double(0.5),
            &pc(FieldType::Double, CmpOp::Le, "1")
        ));
        assert!(!compare(CmpOp::Contains, &u, &Value::Unsigned(5)));
        assert!(compare(CmpOp::Eq, &Value::Bool(true), &Value::Bool(true)));
        assert!(compare(CmpOp::Ne, &Value::Bool(true), &Value::Bool(false)));
        assert!(!compare(CmpOp::Lt, &Value::Bool(false), &Value::Bool(true)));
        assert!(!compare(CmpOp::Eq, &s("1"), &Value::Unsigned(1)));
        assert!(compare(CmpOp::Ne, &s("1"), &Value::Unsigned(1)));
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

    #[test]
    fn modifiers_upstream() {
        // cmp_operator_modifiers.cpp, proc.name = myexe
        let v = s("myexe");
        let m = |op, md, xs: &[&str]| {
            let rhs: Vec<Value<'static>> = xs.iter().map(|x| s(x)).collect();
            compare_with_modifier(op, md, &v, &rhs)
        };
        use CmpOp::*;
        use Modifier::*;
        assert!(m(Eq2, OneOf, &["myexe", "bash"]));
        assert!(m(Eq2, OneOf, &["myexe"]));
        assert!(!m(Eq2, OneOf, &["bash", "sh"]));
        assert!(!m(Eq2, OneOf, &["myexe", "myexe"]));
        assert!(m(Eq2, AnyOf, &["myexe", "bash"]));
        assert!(!m(Eq2, AnyOf, &["bash", "sh"]));
        assert!(m(Eq2, AnyOf, &["myexe", "myexe"]));
        assert!(m(Eq2, AllOf, &["myexe"]));
        assert!(!m(Eq2, AllOf, &["myexe", "bash"]));
        assert!(!m(Eq2, AllOf, &["bash", "sh"]));
        assert!(m(Eq2, AllOf, &["myexe", "myexe"]));
        assert!(m(Ne, OneOf, &["myexe", "myexe", "bash"]));
        assert!(!m(Ne, OneOf, &["myexe", "myexe"]));
        assert!(!m(Ne, OneOf, &["bash", "sh"]));
        assert!(m(Ne, OneOf, &["myexe", "bash"]));
        assert!(m(Ne, AnyOf, &["bash", "sh"]));
        assert!(m(Ne, AnyOf, &["myexe", "bash"]));
        assert!(m(Ne, AllOf, &["bash", "sh"]));
        assert!(!m(Ne, AllOf, &["myexe", "bash"]));
        assert!(m(Contains, OneOf, &["myex", "bash"]));
        assert!(!m(Contains, OneOf, &["my", "exe"]));
        assert!(m(Contains, AllOf, &["my", "exe"]));
        assert!(!m(Contains, AllOf, &["myex", "bash"]));
        assert!(m(IContains, OneOf, &["MYEX", "BASH"]));
        assert!(!m(IContains, OneOf, &["MY", "EXE"]));
        assert!(m(IContains, AllOf, &["MY", "EXE"]));
        assert!(m(StartsWith, OneOf, &["my", "bash"]));
        assert!(!m(StartsWith, OneOf, &["my", "mye"]));
        assert!(m(StartsWith, AllOf, &["my", "mye"]));
        assert!(!m(StartsWith, AllOf, &["my", "bash"]));
        assert!(m(EndsWith, OneOf, &["exe", "sh"]));
        assert!(!m(EndsWith, OneOf, &["exe", "yexe"]));
        assert!(m(EndsWith, AllOf, &["exe", "yexe"]));
        assert!(m(Glob, OneOf, &["my*", "bash"]));
        assert!(!m(Glob, OneOf, &["my*", "*exe"]));
        assert!(m(Glob, AllOf, &["my*", "*exe"]));
        assert!(!m(Glob, AllOf, &["bash", "sh*"]));
        assert!(m(IGlob, OneOf, &["MY*", "BASH"]));
        assert!(!m(IGlob, OneOf, &["MY*", "*EXE"]));
        assert!(m(IGlob, AllOf, &["MY*", "*EXE"]));
        assert!(m(Regex, OneOf, &["my.*", "b.*"]));
        assert!(!m(Regex, OneOf, &["b.*", "sh.*"]));
        assert!(!m(Regex, OneOf, &["my.*", ".*exe"]));
        assert!(m(Regex, AnyOf, &["my.*", ".*exe"]));
        assert!(m(Regex, AllOf, &["my.*", ".*exe"]));
        assert!(!m(Regex, AllOf, &["my.*", "b.*"]));
        let up = s("MYEXE");
        let mu = |op, md, xs: &[&str]| {
            let rhs: Vec<Value<'static>> = xs.iter().map(|x| s(x)).collect();
            compare_with_modifier(op, md, &up, &rhs)
        };
        assert!(mu(Eq2, OneOf, &["MYEXE", "BASH"]));
        assert!(mu(Ne, OneOf, &["MYEXE", "BASH"]));
        assert!(!mu(Ne, OneOf, &["BASH", "SH"]));
        assert!(!mu(Ne, AllOf, &["MYEXE", "BASH"]));
        // Empty right-hand side: always false.
        for op in [Eq2, Ne] {
            for md in [OneOf, AnyOf, AllOf] {
                assert!(!m(op, md, &[]), "{op:?} {md:?}");
            }
        }
        // pmatch with a modifier never matches (upstream flt_compare has no pmatch).
        assert!(!m(PMatch, AnyOf, &["/"]));
        let res = [
            CompiledRegex::new("my.*").expect("re"),
            CompiledRegex::new(".*exe").expect("re"),
        ];
        assert!(regex_with_modifier(AllOf, b"myexe", &res));
        assert!(!regex_with_modifier(OneOf, b"myexe", &res));
        assert!(!regex_with_modifier(AnyOf, b"myexe", &[]));
    }

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

    #[test]
    fn value_set() {
        let set = ValueSet::new(vec![s("bash"), s("sh"), s("zsh")]);
        assert_eq!(set.len(), 3);
        assert!(set.contains(&s("sh")));
        assert!(!set.contains(&s("s")));
        assert!(!set.contains(&s("fish")));
        assert!(set.contains(&Value::Str(Cow::Borrowed(b"bash\0"))));
        assert!(set.contains_all(&[s("sh"), s("bash")]));
        assert!(!set.contains_all(&[s("sh"), s("fish")]));
        assert!(set.contains_all(&[]));
        assert!(set.contains_any(&[s("fish"), s("zsh")]));
        assert!(!set.contains_any(&[]));
        let nums = ValueSet::new(vec![Value::Unsigned(22), Value::Unsigned(80)]);
        assert!(nums.contains(&Value::Unsigned(80)));
        assert!(nums.contains(&Value::Signed(22)));
        assert!(!nums.contains(&Value::Unsigned(443)));
        let nets = ValueSet::new(vec![
            pc(FieldType::IpNet, CmpOp::In, "10.0.0.0/8"),
            pc(FieldType::IpNet, CmpOp::In, "fd00::/8"),
        ]);
        assert!(nets.contains(&ip("10.1.2.3")));
        assert!(nets.contains(&ip("fd12::1")));
        assert!(!nets.contains(&ip("11.0.0.1")));
        let ips = ValueSet::new(vec![ip("127.0.0.1"), ip("::1")]);
        assert!(ips.contains(&ip("::1")));
        assert!(!ips.contains(&ip("127.0.0.2")));
        let bools = ValueSet::new(vec![Value::Bool(true)]);
        assert!(bools.contains(&Value::Bool(true)));
        assert!(!bools.contains(&Value::Bool(false)));
        let bytes = ValueSet::new(vec![Value::Bytes(Cow::Borrowed(b"a\0"))]);
        assert!(bytes.contains(&Value::Bytes(Cow::Borrowed(b"a\0"))));
        assert!(!bytes.contains(&Value::Bytes(Cow::Borrowed(b"a"))));
        let empty = ValueSet::new(vec![]);
        assert!(empty.is_empty());
        assert!(!empty.contains(&s("")));
        let many: Vec<Value<'static>> = (0..50).map(|i| s(&format!("proc{i}"))).collect();
        let big = ValueSet::new(many);
        assert!(big.contains(&s("proc49")));
        assert!(!big.contains(&s("proc50")));
    }

    #[test]
    fn comparability() {
        use FieldType::*;
        let ok = |op, ty| check_comparable(op, None, ty, false).is_ok();
        assert!(ok(CmpOp::Lt, Str));
        assert!(ok(CmpOp::PMatch, Path));
        assert!(!ok(CmpOp::BContains, Str));
        assert!(ok(CmpOp::BContains, Bytes));
        assert!(!ok(CmpOp::Glob, Bytes));
        assert!(!ok(CmpOp::Regex, Bytes));
        assert!(ok(CmpOp::Lt, Double));
        assert!(!ok(CmpOp::Contains, Double));
        assert!(!ok(CmpOp::Lt, Bool));
        assert!(ok(CmpOp::Intersects, Bool));
        assert!(!ok(CmpOp::Lt, IpAddr));
        assert!(ok(CmpOp::Exists, IpNet));
        assert_eq!(
            check_comparable(CmpOp::Contains, None, Signed, false),
            Err("'contains' operator not supported for numeric filters".to_string())
        );
        assert_eq!(
            check_comparable(CmpOp::Glob, None, Bool, false),
            Err("'glob' operator not supported for numeric filters".to_string())
        );
        assert_eq!(
            check_comparable(CmpOp::Regex, None, IpAddr, false),
            Err("'regex' operator not supported for ip address and network filters".to_string())
        );
        assert_eq!(
            check_comparable(CmpOp::Regex, Some(Modifier::AllOf), IpAddr, false),
            Err(
                "'regex' with modifier not supported for ip address and network filters"
                    .to_string()
            )
        );
        assert!(check_comparable(CmpOp::Eq2, Some(Modifier::AnyOf), IpAddr, false).is_ok());
        assert_eq!(
            check_comparable(CmpOp::Glob, None, Bytes, false),
            Err("'glob' operator not supported for buffer filters".to_string())
        );
        assert_eq!(
            check_comparable(CmpOp::Eq, None, Str, true),
            Err("'=' operator not supported list filters".to_string())
        );
        assert_eq!(
            check_comparable(CmpOp::In, None, Signed, true),
            Err("list filters are not supported for type 'INT64'".to_string())
        );
        assert!(check_comparable(CmpOp::Intersects, None, Str, true).is_ok());
        assert!(check_comparable(CmpOp::Exists, None, Signed, true).is_ok());
    }

    #[test]
    fn port_parse() {
        assert_eq!(parse_port("").expect("empty"), Value::Unsigned(0));
        assert_eq!(parse_port("443").expect("443"), Value::Unsigned(443));
        assert_eq!(parse_port("65536").expect("wraps"), Value::Unsigned(0));
        assert_eq!(parse_port("99999999999").expect_err("stoi"), "stoi");
        let services = "# comment\nssh\t\t22/tcp\nhttp 80/tcp www # web\nhttp 80/udp\n";
        assert_eq!(lookup_service(services, "http"), Some(80));
        assert_eq!(lookup_service(services, "www"), Some(80));
        assert_eq!(lookup_service(services, "ssh"), Some(22));
        assert_eq!(lookup_service(services, "comment"), None);
        assert_eq!(
            parse_port("no-such-service-xyz").expect_err("unknown"),
            "unrecognized protocol no-such-service-xyz"
        );
    }
}
