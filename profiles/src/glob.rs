//! Glob patterns for image references and executable paths.
//!
//! Syntax (both kinds): `*` any run of characters, `?` one character, `[abc]` / `[a-z]` one
//! character of a class (`[!a]` or `[^a]` negated, `]` first is literal), `\x` the literal `x`.
//! An unterminated class or a trailing `\` is an error, not a literal (fnmatch would read it
//! literally; a typo in a security policy should be reported).
//!
//! - [`GlobKind::Image`]: `*`, `?` and classes match any character, `/` included (image
//!   references are not paths; `*/nginx:*` matches `docker.io/library/nginx:1.25`).
//! - [`GlobKind::Path`]: `*`, `?` and classes never match `/`; `**` as a whole component
//!   matches any number of components, none included (`/usr/**/bin/*` matches `/usr/bin/x` and
//!   `/usr/local/bin/x`; a trailing `/opt/app/**` matches `/opt/app` and everything beneath).
//!
//! Matching is a table over pattern tokens × text characters: linear in both, no backtracking
//! blow-up whatever the pattern.

/// Which characters wildcards may cross.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobKind {
    /// Image references: wildcards match `/`.
    Image,
    /// Absolute paths: wildcards stay inside one component, `**` spans components.
    Path,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Lit(char),
    One,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `**/` inside a path pattern: `(.*/)?`.
    AnyDirs,
    /// A trailing `/**` of a path pattern: `(/.*)?`.
    AnySuffix,
}

/// A compiled glob pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    text: String,
    kind: GlobKind,
    toks: Vec<Tok>,
}

/// Why a pattern does not compile.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    #[error("unterminated '[' class")]
    UnterminatedClass,
    #[error("trailing '\\' escapes nothing")]
    TrailingEscape,
    #[error("a '[...]' class in a path cannot match '/'")]
    SlashInClass,
    #[error("'**' must be a whole path component (`/a/**/b`, `/a/**`)")]
    PartialGlobStar,
    #[error("inverted class range '{0}-{1}'")]
    InvertedRange(char, char),
}

impl Glob {
    /// Compiles `text` as a glob of `kind`.
    pub fn new(text: &str, kind: GlobKind) -> Result<Glob, GlobError> {
        let chars: Vec<char> = text.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '*' if kind == GlobKind::Path && chars.get(i + 1) == Some(&'*') => {
                    let starts = i == 0 || chars[i - 1] == '/';
                    let next = chars.get(i + 2);
                    if !starts || !matches!(next, None | Some('/')) {
                        return Err(GlobError::PartialGlobStar);
                    }
                    if next.is_some() {
                        toks.push(Tok::AnyDirs);
                        i += 3;
                    } else {
                        // The component's leading `/` becomes part of the optional suffix.
                        if toks.last() == Some(&Tok::Lit('/')) {
                            toks.pop();
                            toks.push(Tok::AnySuffix);
                        } else {
                            toks.push(Tok::Star);
                        }
                        i += 2;
                    }
                    continue;
                }
                '*' => {
                    if toks.last() != Some(&Tok::Star) {
                        toks.push(Tok::Star);
                    }
                }
                '?' => toks.push(Tok::One),
                '\\' => {
                    let e = *chars.get(i + 1).ok_or(GlobError::TrailingEscape)?;
                    toks.push(Tok::Lit(e));
                    i += 1;
                }
                '[' => {
                    let (tok, next) = class(&chars, i + 1, kind)?;
                    toks.push(tok);
                    i = next;
                    continue;
                }
                _ => toks.push(Tok::Lit(c)),
            }
            i += 1;
        }
        Ok(Glob { text: text.to_owned(), kind, toks })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The kind the pattern was compiled as.
    pub fn kind(&self) -> GlobKind {
        self.kind
    }

    /// Whether the pattern has no wildcard (it matches exactly one text).
    pub fn is_literal(&self) -> bool {
        self.toks.iter().all(|t| matches!(t, Tok::Lit(_)))
    }

    /// How many literal (non-wildcard) characters the pattern has: its specificity.
    pub fn literal_len(&self) -> usize {
        self.toks.iter().filter(|t| matches!(t, Tok::Lit(_))).count()
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        let n = t.len();
        let crosses = |c: char| self.kind == GlobKind::Image || c != '/';
        let mut cur = vec![false; n + 1];
        cur[0] = true;
        for tok in &self.toks {
            let mut next = vec![false; n + 1];
            match tok {
                Tok::Lit(l) => (0..n).for_each(|j| next[j + 1] = cur[j] && t[j] == *l),
                Tok::One => (0..n).for_each(|j| next[j + 1] = cur[j] && crosses(t[j])),
                Tok::Class { negated, ranges } => (0..n).for_each(|j| {
                    let inside = ranges.iter().any(|&(lo, hi)| lo <= t[j] && t[j] <= hi);
                    next[j + 1] = cur[j] && crosses(t[j]) && inside != *negated;
                }),
                Tok::Star => {
                    let mut run = false;
                    for j in 0..=n {
                        if j > 0 && !crosses(t[j - 1]) {
                            run = false;
                        }
                        run |= cur[j];
                        next[j] = run;
                    }
                }
                Tok::AnyDirs => {
                    let mut before = false;
                    for j in 0..=n {
                        next[j] = cur[j] || (before && t[j - 1] == '/');
                        before |= cur[j];
                    }
                }
                Tok::AnySuffix => {
                    next.copy_from_slice(&cur);
                    next[n] |= (0..n).any(|j| cur[j] && t[j] == '/');
                }
            }
            if !next.iter().any(|&b| b) {
                return false;
            }
            cur = next;
        }
        cur[n]
    }
}

impl std::fmt::Display for Glob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses a class starting just after its `[`: the token and the index after its `]`.
fn class(chars: &[char], start: usize, kind: GlobKind) -> Result<(Tok, usize), GlobError> {
    let mut i = start;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let mut c = *chars.get(i).ok_or(GlobError::UnterminatedClass)?;
        if c == ']' && !first {
            break;
        }
        first = false;
        if c == '\\' {
            i += 1;
            c = *chars.get(i).ok_or(GlobError::UnterminatedClass)?;
        }
        let mut hi = c;
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&h| h != ']') {
            hi = chars[i + 2];
            i += 2;
            if hi < c {
                return Err(GlobError::InvertedRange(c, hi));
            }
        }
        if kind == GlobKind::Path && c <= '/' && '/' <= hi && !negated {
            return Err(GlobError::SlashInClass);
        }
        ranges.push((c, hi));
        i += 1;
    }
    Ok((Tok::Class { negated, ranges }, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(p: &str) -> Glob {
        Glob::new(p, GlobKind::Image).expect("valid image glob")
    }

    fn path(p: &str) -> Glob {
        Glob::new(p, GlobKind::Path).expect("valid path glob")
    }

    #[test]
    fn image_wildcards_cross_slashes() {
        assert!(image("*/nginx:*").matches("docker.io/library/nginx:1.25"));
        assert!(image("docker.io/library/nginx:1.2?").matches("docker.io/library/nginx:1.25"));
        assert!(!image("docker.io/library/nginx:1.2?").matches("docker.io/library/nginx:1.250"));
        assert!(image("*").matches(""));
        assert!(image("a[0-9]b").matches("a5b"));
        assert!(image("a[!0-9]b").matches("a/b"));
        assert!(image(r"a\*b").matches("a*b"));
        assert!(!image(r"a\*b").matches("axb"));
        assert!(image("[]]").matches("]"));
    }

    #[test]
    fn path_wildcards_stay_in_one_component() {
        assert!(path("/usr/bin/*").matches("/usr/bin/curl"));
        assert!(!path("/usr/bin/*").matches("/usr/bin/x/curl"));
        assert!(!path("/usr/?in/x").matches("/usr//in/x"));
        assert!(path("/usr/**/bin/*").matches("/usr/bin/x"));
        assert!(path("/usr/**/bin/*").matches("/usr/local/share/bin/x"));
        assert!(!path("/usr/**/bin/*").matches("/usrbin/x"));
        assert!(path("/opt/app/**").matches("/opt/app"));
        assert!(path("/opt/app/**").matches("/opt/app/a/b"));
        assert!(!path("/opt/app/**").matches("/opt/apps"));
        assert!(path("/**").matches("/anything/at/all"));
        assert!(path("/**/sh").matches("/sh"));
        assert!(!path("/a[!x]b").matches("/a/b"));
    }

    #[test]
    fn specificity_counts_literal_characters() {
        assert_eq!(image("nginx:*").literal_len(), 6);
        assert_eq!(image(r"a\*[xy]?").literal_len(), 2);
        assert!(image("a:b").is_literal());
        assert!(!image("a:?").is_literal());
    }

    #[test]
    fn bad_patterns_are_errors() {
        let e = |p: &str, k| Glob::new(p, k).expect_err(p);
        assert_eq!(e("nginx:[0-9", GlobKind::Image), GlobError::UnterminatedClass);
        assert_eq!(e("nginx\\", GlobKind::Image), GlobError::TrailingEscape);
        assert_eq!(e("/a[/]b", GlobKind::Path), GlobError::SlashInClass);
        assert_eq!(e("/usr/b**", GlobKind::Path), GlobError::PartialGlobStar);
        assert_eq!(e("/usr/**x", GlobKind::Path), GlobError::PartialGlobStar);
        assert_eq!(e("a[z-a]", GlobKind::Image), GlobError::InvertedRange('z', 'a'));
    }

    #[test]
    fn many_stars_stay_fast() {
        let g = image(&"*a".repeat(200));
        assert!(!g.matches(&"a".repeat(199)));
    }
}
