//! Reading profile files: the positioned YAML tree → [`Profile`]s, every error collected.
//!
//! The tree comes from `palisade_rules::yaml` (serde_yaml is archived and keeps no positions).
//! It is walked by hand rather than through serde: serde stops at the first error, while a
//! profile check must report every mistake in every file at once, each at its own line and
//! column. Errors inside one profile do not stop the others; a profile with errors is still
//! returned (without the bad values) so cross-profile checks (duplicate names, ambiguous
//! patterns) see it too. Any error fails the load as a whole.

use palisade_rules::yaml::{parse_documents, Node, NodeKind, Pos};

use crate::glob::{Glob, GlobKind};
use crate::profile::{ExecPolicy, ImagePattern, Immutable, Origin, Profile};
use crate::reference::{normalize_pattern, valid_digest};
use crate::ProfileError;

const PROFILE_KEYS: &[&str] = &[
    "name",
    "description",
    "match",
    "mode",
    "immutable",
    "deny_shells",
    "deny_package_managers",
    "exec",
    "enforce_rules",
];
const MATCH_KEYS: &[&str] = &["images", "digests", "default"];
const IMMUTABLE_KEYS: &[&str] = &["enabled", "allow_write", "allow_writable_exec"];
const EXEC_KEYS: &[&str] = &["deny", "allow", "allow_scripts"];

/// A profile with the positions the cross-profile checks report.
#[derive(Debug)]
pub(crate) struct Read {
    pub profile: Profile,
    pub name_pos: Pos,
    /// Index in `match.digests` and position of each digest.
    pub digest_pos: Vec<(usize, Pos)>,
    /// Where the profile became a default: `match.default` or `name`, and its position.
    pub default_at: (&'static str, Pos),
}

/// Reads every profile of `text`, read from `file`, appending errors to `errors`.
pub(crate) fn read_text(file: &str, text: &str, errors: &mut Vec<ProfileError>) -> Vec<Read> {
    let docs = match parse_documents(text) {
        Ok(docs) => docs,
        Err(e) => {
            errors.push(ProfileError::at(file, e.pos, format!("YAML: {}", e.message), None));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    let first_error = errors.len();
    for doc in &docs {
        match &doc.kind {
            NodeKind::Null => {}
            NodeKind::Map(_) => out.extend(read_profile(file, doc, errors)),
            NodeKind::Seq(items) => {
                for item in items {
                    if item.as_map().is_some() {
                        out.extend(read_profile(file, item, errors));
                    } else {
                        let m = format!("expected a profile (a mapping), found a {}", item.kind_name());
                        errors.push(ProfileError::at(file, item.pos, m, None));
                    }
                }
            }
            NodeKind::Scalar(..) => {
                let m = "expected a profile (a mapping) or a list of profiles, found a scalar".to_owned();
                errors.push(ProfileError::at(file, doc.pos, m, None));
            }
        }
    }
    // In file order, whatever the order the checks ran in.
    errors[first_error..].sort_by_key(|e| match e {
        ProfileError::At { pos, .. } => *pos,
        ProfileError::Read { .. } => Pos::default(),
    });
    out
}

struct Reader<'a> {
    file: &'a str,
    profile: Option<String>,
    errors: &'a mut Vec<ProfileError>,
}

fn read_profile(file: &str, node: &Node, errors: &mut Vec<ProfileError>) -> Option<Read> {
    let mut r = Reader { file, profile: None, errors };
    let name_pair = node.as_map().and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("name")));
    let name_pos = name_pair.map_or(node.pos, |(_, v)| v.pos);
    // A bad or missing name is reported, and the rest of the profile is still checked.
    let name = match name_pair {
        Some((_, v)) => r.name(v),
        None => {
            r.err(node.pos, "name: missing (every profile needs a unique name)".into());
            None
        }
    };
    r.profile.clone_from(&name);
    let mut p = Profile::builtin_default();
    p.name = name.clone().unwrap_or_default();
    p.description = String::new();
    p.origin = Origin { file: file.to_owned(), pos: node.pos };
    p.mode = None;
    p.is_default = p.name == "default";
    let mut read = Read { profile: p, name_pos, digest_pos: Vec::new(), default_at: ("name", name_pos) };
    let mut match_pos = None;
    for (key, k, v) in r.keys("", node, PROFILE_KEYS) {
        let p = &mut read.profile;
        match key {
            "description" => p.description = r.string(key, v).unwrap_or_default(),
            "match" => {
                match_pos = Some(k.pos);
                r.matching(v, &mut read);
            }
            "mode" => {
                p.mode = r.string(key, v).and_then(|s| s.parse().map_err(|e| r.err(v.pos, format!("mode: {e}"))).ok())
            }
            "immutable" => p.immutable = r.immutable(v),
            "deny_shells" => p.deny_shells = r.boolean(key, v).unwrap_or_default(),
            "deny_package_managers" => p.deny_package_managers = r.boolean(key, v).unwrap_or_default(),
            "exec" => p.exec = r.exec(v),
            "enforce_rules" => {
                for (i, item) in r.list(key, v).iter().enumerate() {
                    let key = format!("enforce_rules[{i}]");
                    match r.string(&key, item) {
                        Some(s) if s.trim().is_empty() => r.err(item.pos, format!("{key}: empty rule name")),
                        Some(s) => p.enforce_rules.push(s),
                        None => {}
                    }
                }
            }
            _ => {}
        }
    }
    let p = &read.profile;
    if p.images.is_empty() && p.digests.is_empty() && !p.is_default {
        let m = "match: the profile matches no image (give match.images, match.digests or match.default: true)";
        r.err(match_pos.unwrap_or(node.pos), m.into());
    }
    name.map(|_| read)
}

impl Reader<'_> {
    fn err(&mut self, pos: Pos, message: String) {
        self.errors.push(ProfileError::at(self.file, pos, message, self.profile.clone()));
    }

    /// The known `(key, key node, value)` pairs of a mapping at `path`; reports a non-mapping,
    /// unknown keys and duplicate keys.
    fn keys<'n>(
        &mut self,
        path: &str,
        node: &'n Node,
        allowed: &[&'static str],
    ) -> Vec<(&'static str, &'n Node, &'n Node)> {
        let Some(pairs) = node.as_map() else {
            if !node.is_null() {
                self.err(node.pos, format!("{path}: expected a mapping, found a {}", node.kind_name()));
            }
            return Vec::new();
        };
        let dotted = |k: &str| if path.is_empty() { k.to_owned() } else { format!("{path}.{k}") };
        let mut out: Vec<(&'static str, &Node, &Node)> = Vec::new();
        for (k, v) in pairs {
            let Some(text) = k.as_str() else {
                self.err(k.pos, format!("{}: keys must be strings, found a {}", dotted(""), k.kind_name()));
                continue;
            };
            match allowed.iter().find(|a| **a == text) {
                None => {
                    let m = format!("{}: unknown key (expected one of: {})", dotted(text), allowed.join(", "));
                    self.err(k.pos, m);
                }
                Some(known) => match out.iter().find(|(seen, _, _)| seen == known) {
                    Some((_, first, _)) => {
                        let m = format!("{}: duplicate key (first at line {})", dotted(text), first.pos.line);
                        self.err(k.pos, m);
                    }
                    None => out.push((known, k, v)),
                },
            }
        }
        out
    }

    fn name(&mut self, v: &Node) -> Option<String> {
        let name = self.string("name", v)?;
        let ok = !name.is_empty()
            && name.len() <= 128
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && name.as_bytes()[0].is_ascii_alphanumeric();
        if !ok {
            let m = format!("name: {name:?} is not a profile name (letters, digits, '.', '_', '-'; 128 at most; starting with a letter or digit)");
            self.err(v.pos, m);
            return None;
        }
        Some(name)
    }

    fn string(&mut self, key: &str, v: &Node) -> Option<String> {
        match &v.kind {
            NodeKind::Scalar(s, _) => Some(s.clone()),
            _ => {
                self.err(v.pos, format!("{key}: expected a string, found a {}", v.kind_name()));
                None
            }
        }
    }

    fn boolean(&mut self, key: &str, v: &Node) -> Option<bool> {
        let b = v.as_bool();
        if b.is_none() {
            let found = v.as_str().map_or_else(|| format!("a {}", v.kind_name()), |s| format!("{s:?}"));
            self.err(v.pos, format!("{key}: expected true or false, found {found}"));
        }
        b
    }

    /// The items of a list (null is the empty list).
    fn list<'n>(&mut self, key: &str, v: &'n Node) -> &'n [Node] {
        match &v.kind {
            NodeKind::Seq(items) => items,
            NodeKind::Null => &[],
            _ => {
                self.err(v.pos, format!("{key}: expected a list, found a {}", v.kind_name()));
                &[]
            }
        }
    }

    fn matching(&mut self, node: &Node, read: &mut Read) {
        for (key, k, v) in self.keys("match", node, MATCH_KEYS) {
            match key {
                "images" => {
                    for (i, item) in self.list("match.images", v).iter().enumerate() {
                        let key = format!("match.images[{i}]");
                        let Some(written) = self.string(&key, item) else { continue };
                        let glob = normalize_pattern(&written).map_err(|e| e.to_string()).and_then(|n| {
                            Glob::new(&n, GlobKind::Image).map_err(|e| format!("bad glob '{written}': {e}"))
                        });
                        let glob = match glob {
                            Ok(g) => g,
                            Err(e) => {
                                self.err(item.pos, format!("{key}: {e}"));
                                continue;
                            }
                        };
                        let images = &read.profile.images;
                        if let Some(j) = images.iter().position(|p| p.glob.as_str() == glob.as_str()) {
                            self.err(item.pos, format!("{key}: duplicate pattern (same as match.images[{j}])"));
                            continue;
                        }
                        read.profile.images.push(ImagePattern { index: i, written, glob, pos: item.pos });
                    }
                }
                "digests" => {
                    for (i, item) in self.list("match.digests", v).iter().enumerate() {
                        let key = format!("match.digests[{i}]");
                        let Some(d) = self.string(&key, item) else { continue };
                        if let Err(e) = valid_digest(&d) {
                            self.err(item.pos, format!("{key}: {e}"));
                        } else if let Some(j) = read.profile.digests.iter().position(|x| *x == d) {
                            let first = read.digest_pos[j].0;
                            self.err(item.pos, format!("{key}: duplicate digest (same as match.digests[{first}])"));
                        } else {
                            read.profile.digests.push(d);
                            read.digest_pos.push((i, item.pos));
                        }
                    }
                }
                "default" => {
                    if let Some(b) = self.boolean("match.default", v) {
                        read.profile.is_default = b;
                        read.default_at = ("match.default", k.pos);
                    }
                }
                _ => {}
            }
        }
    }

    fn immutable(&mut self, node: &Node) -> Immutable {
        let mut out = Immutable::default();
        for (key, _, v) in self.keys("immutable", node, IMMUTABLE_KEYS) {
            match key {
                "enabled" => out.enabled = self.boolean("immutable.enabled", v).unwrap_or_default(),
                "allow_write" => {
                    let glob = "allow_write takes literal paths (writes are allowed beneath them)";
                    let root = "'/' allows every write; use immutable.enabled: false";
                    out.allow_write = self.literal_paths("immutable.allow_write", v, glob, root);
                }
                "allow_writable_exec" => {
                    let glob = "allow_writable_exec takes literal paths";
                    let root = "'/' would make every writable place executable; W^X needs narrower paths";
                    out.allow_writable_exec = self.literal_paths("immutable.allow_writable_exec", v, glob, root);
                }
                _ => {}
            }
        }
        out
    }

    /// A list of literal absolute paths other than `/` (an error each for a glob, with
    /// `glob_why`, and for `/`, with `root_why`).
    fn literal_paths(&mut self, key: &str, v: &Node, glob_why: &str, root_why: &str) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for (i, item) in self.list(key, v).iter().enumerate() {
            let key = format!("{key}[{i}]");
            let Some(path) = self.abs_path(&key, item) else { continue };
            if path.contains(['*', '?', '[', '\\']) {
                self.err(item.pos, format!("{key}: '{path}' is a glob; {glob_why}"));
            } else if path == "/" {
                self.err(item.pos, format!("{key}: {root_why}"));
            } else {
                out.push(path.into());
            }
        }
        out
    }

    fn exec(&mut self, node: &Node) -> ExecPolicy {
        let mut out = ExecPolicy::default();
        for (key, _, v) in self.keys("exec", node, EXEC_KEYS) {
            let list_key = format!("exec.{key}");
            let mut globs = Vec::new();
            for (i, item) in self.list(&list_key, v).iter().enumerate() {
                let key = format!("{list_key}[{i}]");
                let Some(path) = self.abs_path(&key, item) else { continue };
                match Glob::new(&path, GlobKind::Path) {
                    Ok(g) => globs.push(g),
                    Err(e) => self.err(item.pos, format!("{key}: bad glob '{path}': {e}")),
                }
            }
            match key {
                "deny" => out.deny = globs,
                "allow" => out.allow = globs,
                _ => out.allow_scripts = globs,
            }
        }
        out
    }

    /// An absolute path without `.`/`..` components; repeated and trailing `/` are dropped.
    fn abs_path(&mut self, key: &str, v: &Node) -> Option<String> {
        let s = self.string(key, v)?;
        if !s.starts_with('/') {
            self.err(v.pos, format!("{key}: not an absolute path"));
            return None;
        }
        let parts: Vec<&str> = s.split('/').filter(|c| !c.is_empty()).collect();
        if parts.iter().any(|c| matches!(*c, "." | "..")) {
            self.err(v.pos, format!("{key}: '{s}' has a '.' or '..' component"));
            return None;
        }
        Some(format!("/{}", parts.join("/")))
    }
}
