//! pmatch: component-wise path-prefix sets.

use std::collections::HashMap;

use super::glob::glob_match;
use super::set::FxBuild;
use super::text::trim_trailing_nuls;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
