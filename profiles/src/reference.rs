//! Image references and patterns in one canonical form.
//!
//! Runtimes report the same image differently: Docker and `ctr` users write `nginx:1.25`,
//! containerd and CRI report `docker.io/library/nginx:1.25`. Both references and patterns are
//! brought to Docker's fully qualified form before matching, so `nginx:*` and
//! `docker.io/library/nginx:*` are the same pattern:
//!
//! - a first component with a `.` or `:`, or `localhost`, is a registry; otherwise the registry
//!   is `docker.io` (`index.docker.io` is `docker.io` too);
//! - a Docker Hub name without `/` is an official image: `library/` is prepended;
//! - a reference with neither tag nor digest gets the tag `latest` (what the runtime pulls);
//! - the digest (`@sha256:…`) is split off; patterns match `registry/path:tag`, or
//!   `registry/path@digest` for a reference pinned only by digest (it has no tag);
//! - a reference that is only a digest or an image ID (`sha256:…`, 64 hex digits) has no name.
//!
//! A pattern whose first character is a wildcard, or whose first `/`-component holds one,
//! cannot be qualified (`*/nginx:*`: is `*` a registry?) and is matched as written against the
//! canonical form; image-pattern wildcards cross `/`, so `*/nginx:*` still matches
//! `docker.io/library/nginx:1.25`.

/// The registry Docker assumes for unqualified names.
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// A reference split into its canonical parts: the form profile image patterns are matched
/// against. Not the Falco split (`palisade_events::containers::ImageRef`), which keeps the
/// reference as the runtime reported it because `container.image.repository` must read as in
/// Falco (`nginx`, not `docker.io/library/nginx`); the two answer different questions, hence
/// two types with two names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalRef {
    /// `registry/path` (empty for a bare digest or image ID).
    pub name: String,
    /// The tag, if the reference has one (`latest` when it has neither tag nor digest).
    pub tag: Option<String>,
    /// The digest, if the reference is pinned (`sha256:…`).
    pub digest: Option<String>,
}

impl CanonicalRef {
    /// Normalizes a reference as a runtime reports it. Never fails: a malformed reference is
    /// qualified as far as it can be and will simply match fewer patterns.
    pub fn parse(reference: &str) -> CanonicalRef {
        let reference = reference.trim();
        let (rest, digest) = match reference.split_once('@') {
            Some((r, d)) => (r, Some(d.to_owned())),
            None => (reference, None),
        };
        if digest.is_none() && is_image_id(rest) {
            let digest = if rest.contains(':') { rest.to_owned() } else { format!("sha256:{rest}") };
            return CanonicalRef { name: String::new(), tag: None, digest: Some(digest) };
        }
        let (name, tag) = split_tag(rest);
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_owned()),
            (None, None) => Some("latest".to_owned()),
            (None, Some(_)) => None,
        };
        CanonicalRef { name: qualify(name), tag, digest }
    }

    /// The text image patterns are matched against: `name:tag`, else `name@digest`.
    pub fn match_text(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(t), _) => format!("{}:{t}", self.name),
            (None, Some(d)) if !self.name.is_empty() => format!("{}@{d}", self.name),
            _ => self.name.clone(),
        }
    }
}

/// Whether `s` is an image ID or bare digest: `sha256:<64 hex>` or 64 hex digits.
fn is_image_id(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Splits `name[:tag]`: the tag follows the last `:` after the last `/`.
fn split_tag(s: &str) -> (&str, Option<&str>) {
    let last = s.rfind('/').map_or(0, |i| i + 1);
    match s[last..].rfind(':') {
        Some(i) => (&s[..last + i], Some(&s[last + i + 1..])),
        None => (s, None),
    }
}

/// `registry/path` for a name without tag or digest.
fn qualify(name: &str) -> String {
    let (registry, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first, rest.to_owned()),
        Some(_) => (DEFAULT_REGISTRY, name.to_owned()),
        None => (DEFAULT_REGISTRY, name.to_owned()),
    };
    let registry = if registry == "index.docker.io" { DEFAULT_REGISTRY } else { registry };
    if registry == DEFAULT_REGISTRY && !path.contains('/') {
        format!("{registry}/library/{path}")
    } else {
        format!("{registry}/{path}")
    }
}

const WILDCARDS: [char; 4] = ['*', '?', '[', '\\'];

/// Why an image pattern is rejected before glob compilation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("empty pattern")]
    Empty,
    #[error("'{0}' has no tag: write '{0}:*' for every tag or '{0}:latest' for the latest")]
    NoTag(String),
    #[error("'{0}' has whitespace")]
    Whitespace(String),
}

/// The canonical text of an image pattern (see the module docs), or why it is not one.
pub fn normalize_pattern(pattern: &str) -> Result<String, PatternError> {
    if pattern.is_empty() {
        return Err(PatternError::Empty);
    }
    if pattern.contains(char::is_whitespace) {
        return Err(PatternError::Whitespace(pattern.to_owned()));
    }
    let last = pattern.rsplit('/').next().unwrap_or(pattern);
    if !last.contains([':', '@', '*']) {
        return Err(PatternError::NoTag(pattern.to_owned()));
    }
    let first = pattern.split('/').next().unwrap_or(pattern);
    let verbatim = pattern.starts_with(WILDCARDS) || (pattern.contains('/') && first.contains(WILDCARDS));
    if verbatim {
        return Ok(pattern.to_owned());
    }
    let (rest, digest) = match pattern.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (pattern, None),
    };
    let (name, tag) = split_tag(rest);
    let mut out = qualify(name);
    if let Some(t) = tag {
        out.push(':');
        out.push_str(t);
    }
    if let Some(d) = digest {
        out.push('@');
        out.push_str(d);
    }
    Ok(out)
}

/// Whether `d` is a well-formed OCI digest (`algorithm:encoded`; `sha256` and `sha512` are
/// checked for length and lowercase hex).
pub fn valid_digest(d: &str) -> Result<(), String> {
    let Some((alg, enc)) = d.split_once(':') else {
        return Err(format!("'{d}' is not a digest (expected 'sha256:<64 hex digits>')"));
    };
    let hex_len = match alg {
        "sha256" => Some(64),
        "sha512" => Some(128),
        _ => None,
    };
    let ok = match hex_len {
        Some(len) => enc.len() == len && enc.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        None => {
            !alg.is_empty()
                && alg.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
                && enc.len() >= 32
                && enc.bytes().all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b))
        }
    };
    match (ok, hex_len) {
        (true, _) => Ok(()),
        (false, Some(len)) => Err(format!("'{d}' is not a {alg} digest ({len} lowercase hex digits after '{alg}:')")),
        (false, None) => Err(format!("'{d}' is not a digest (expected 'sha256:<64 hex digits>')")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn references_are_qualified_like_docker() {
        let t = |r: &str| CanonicalRef::parse(r).match_text();
        assert_eq!(t("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(t("nginx:1.25"), "docker.io/library/nginx:1.25");
        assert_eq!(t("docker.io/library/nginx:1.25"), "docker.io/library/nginx:1.25");
        assert_eq!(t("index.docker.io/library/nginx:1.25"), "docker.io/library/nginx:1.25");
        assert_eq!(t("docker.io/nginx:1.25"), "docker.io/library/nginx:1.25");
        assert_eq!(t("bitnami/nginx:1"), "docker.io/bitnami/nginx:1");
        assert_eq!(t("ghcr.io/org/app:v1"), "ghcr.io/org/app:v1");
        assert_eq!(t("localhost/app:v1"), "localhost/app:v1");
        assert_eq!(t("registry:5000/app"), "registry:5000/app:latest");
        assert_eq!(t(&format!("nginx:1.25@{D}")), "docker.io/library/nginx:1.25");
        assert_eq!(t(&format!("nginx@{D}")), format!("docker.io/library/nginx@{D}"));
    }

    #[test]
    fn digests_and_image_ids() {
        let r = CanonicalRef::parse(&format!("nginx:1.25@{D}"));
        assert_eq!(r.digest.as_deref(), Some(D));
        let id = CanonicalRef::parse(D);
        assert_eq!((id.name.as_str(), id.digest.as_deref()), ("", Some(D)));
        let bare = CanonicalRef::parse(&D[7..]);
        assert_eq!(bare.digest.as_deref(), Some(D));
    }

    #[test]
    fn patterns_are_qualified_unless_their_registry_is_a_wildcard() {
        let n = |p: &str| normalize_pattern(p).expect(p);
        assert_eq!(n("nginx:*"), "docker.io/library/nginx:*");
        assert_eq!(n("nginx:1.2?"), "docker.io/library/nginx:1.2?");
        assert_eq!(n("ngin?:1"), "docker.io/library/ngin?:1");
        assert_eq!(n("docker.io/library/nginx:*"), "docker.io/library/nginx:*");
        assert_eq!(n("library/*"), "docker.io/library/*");
        assert_eq!(n("quay.io/org/*"), "quay.io/org/*");
        assert_eq!(n("*/nginx:*"), "*/nginx:*");
        assert_eq!(n("*"), "*");
        assert_eq!(n("docker.*/x:1"), "docker.*/x:1");
        assert_eq!(n("nginx@sha256:*"), "docker.io/library/nginx@sha256:*");
    }

    #[test]
    fn pattern_errors() {
        assert_eq!(normalize_pattern(""), Err(PatternError::Empty));
        assert_eq!(normalize_pattern("nginx"), Err(PatternError::NoTag("nginx".into())));
        assert_eq!(normalize_pattern("ghcr.io/a/b"), Err(PatternError::NoTag("ghcr.io/a/b".into())));
        assert_eq!(normalize_pattern("a b:1"), Err(PatternError::Whitespace("a b:1".into())));
    }

    #[test]
    fn digest_validation() {
        assert!(valid_digest(D).is_ok());
        assert!(valid_digest("sha256:abc").is_err());
        assert!(valid_digest(&D.to_uppercase().replace("SHA256", "sha256")).is_err());
        assert!(valid_digest("blake3:0123456789abcdef0123456789abcdef").is_ok());
        assert!(valid_digest("nodigest").is_err());
    }
}
