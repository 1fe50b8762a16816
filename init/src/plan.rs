//! From a [`Policy`] to the list of Landlock rules: which paths get write rights, which get
//! execute rights.
//!
//! Landlock only allows; it cannot deny a file beneath an allowed directory. `deny_execute` and
//! `no_execute` are therefore realized by *splitting*: an `execute` directory with no excluded
//! path beneath it becomes one rule; one that holds an excluded path is replaced by one rule per
//! entry it contains, except the excluded entry, recursing only into the subdirectories that lead
//! to an excluded path. The cost is the number of entries in the directories on the way to
//! excluded paths (a few thousand for `/usr/bin`), not the size of the tree; it is bounded by
//! [`Limits::max_entries`].
//!
//! Denial is by file identity, but the daemon does the identity work: it lists every hard link
//! of a denied file found anywhere in the image in `deny_execute`, so palisade-init reads no more
//! than the split directories at container start.
//!
//! Symbolic links met in a walk get no rule (the kernel checks the file they resolve to, and a rule
//! on a link would land on its target). Paths that do not exist are skipped: a missing path can
//! only make the policy stricter.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::policy::Policy;

/// Bounds on the work done at startup.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Directory entries read in all walks together before giving up.
    pub max_entries: usize,
}

impl Default for Limits {
    /// 100,000 entries: a few times a distribution's `/usr`, about 100 ms of walking.
    fn default() -> Self {
        Self {
            max_entries: 100_000,
        }
    }
}

/// One path a Landlock rule is added for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    /// Canonical path (symbolic links resolved).
    pub path: PathBuf,
    /// Directory rules cover the hierarchy beneath; file rules only the file (only file rights).
    pub is_dir: bool,
}

/// The rules computed for one policy.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Rules granting the write rights.
    pub write: Vec<Rule>,
    /// Rules granting execute.
    pub execute: Vec<Rule>,
    /// Canonical `deny_execute` paths withheld from execute rules (denied programs).
    pub denied: Vec<PathBuf>,
    /// Canonical `no_execute` paths withheld from execute rules (writable places, W^X).
    pub no_execute: Vec<PathBuf>,
    /// Policy paths that do not exist (no rule).
    pub missing: Vec<PathBuf>,
    /// Writable paths (`write_beneath`) inside an execute rule and not excluded by `no_execute`:
    /// files written there can be run.
    pub writable_and_executable: Vec<PathBuf>,
    /// Directory entries read while planning.
    pub entries_walked: usize,
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot resolve {}: {source}", path.display())]
    Resolve {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot list {}: {source}", path.display())]
    List {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "more than {limit} directory entries to walk (reached at {}): narrow execute or deny_execute",
        path.display()
    )]
    TooManyEntries { limit: usize, path: PathBuf },
}

/// A resolved policy path.
struct Resolved {
    path: PathBuf,
    meta: std::fs::Metadata,
}

/// Canonicalizes `path`; `None` when it (or a component) does not exist.
fn resolve(path: &Path) -> Result<Option<Resolved>, PlanError> {
    let err = |source| PlanError::Resolve {
        path: path.to_owned(),
        source,
    };
    match std::fs::canonicalize(path) {
        Ok(canonical) => {
            let meta = std::fs::metadata(&canonical).map_err(err)?;
            Ok(Some(Resolved {
                path: canonical,
                meta,
            }))
        }
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => Ok(None),
        Err(e) => Err(err(e)),
    }
}

/// Counts walked entries against the limit.
struct Budget {
    used: usize,
    limit: usize,
}

impl Budget {
    fn take(&mut self, at: &Path) -> Result<(), PlanError> {
        self.used += 1;
        if self.used > self.limit {
            return Err(PlanError::TooManyEntries {
                limit: self.limit,
                path: at.to_owned(),
            });
        }
        Ok(())
    }
}

/// One directory's entries, sorted by name, with their types (not following links).
fn list(
    dir: &Path,
    budget: &mut Budget,
) -> Result<Vec<(PathBuf, std::fs::FileType)>, PlanError> {
    let err = |source| PlanError::List {
        path: dir.to_owned(),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        let path = entry.path();
        budget.take(&path)?;
        let file_type = entry.file_type().map_err(err)?;
        entries.push((path, file_type));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// Computes the rules for `policy`, reading the file system as it is now.
pub fn plan(policy: &Policy, limits: Limits) -> Result<Plan, PlanError> {
    let mut plan = Plan::default();
    let mut budget = Budget {
        used: 0,
        limit: limits.max_entries,
    };

    for path in &policy.write_beneath {
        match resolve(path)? {
            Some(r) => plan.write.push(Rule {
                is_dir: r.meta.is_dir(),
                path: r.path,
            }),
            None => plan.missing.push(path.clone()),
        }
    }

    let mut denied: BTreeSet<PathBuf> = BTreeSet::new();
    for path in &policy.deny_execute {
        match resolve(path)? {
            Some(r) => {
                denied.insert(r.path);
            }
            None => plan.missing.push(path.clone()),
        }
    }
    let mut no_execute: BTreeSet<PathBuf> = BTreeSet::new();
    for path in &policy.no_execute {
        match resolve(path)? {
            Some(r) => {
                no_execute.insert(r.path);
            }
            None => plan.missing.push(path.clone()),
        }
    }
    let excluded: BTreeSet<PathBuf> = denied.union(&no_execute).cloned().collect();

    let mut roots: Vec<Resolved> = Vec::new();
    for path in &policy.execute {
        match resolve(path)? {
            Some(r) => roots.push(r),
            None => plan.missing.push(path.clone()),
        }
    }
    roots.sort_by(|a, b| a.path.cmp(&b.path));
    roots.dedup_by(|later, earlier| later.path == earlier.path);
    // A root beneath another root is covered (and split) by the outer one -- unless it lies in
    // a `no_execute` place, which the outer one withholds: such a root is the W^X exception the
    // profile asked for (`immutable.allow_writable_exec`) and gets rules of its own. Denied
    // programs stay denied inside it.
    let in_no_execute = |p: &Path| no_execute.iter().any(|n| p.starts_with(n));
    let outer: Vec<PathBuf> = roots.iter().map(|r| r.path.clone()).collect();
    roots.retain(|r| in_no_execute(&r.path) || !outer.iter().any(|o| r.path != *o && r.path.starts_with(o)));

    for root in &roots {
        let withheld = if in_no_execute(&root.path) { &denied } else { &excluded };
        if withheld.iter().any(|d| root.path.starts_with(d)) {
            continue;
        }
        if root.meta.is_dir() && excluded.iter().any(|d| d.starts_with(&root.path)) {
            split(&root.path, &excluded, &mut plan.execute, &mut budget)?;
        } else {
            plan.execute.push(Rule {
                path: root.path.clone(),
                is_dir: root.meta.is_dir(),
            });
        }
        for w in plan
            .write
            .iter()
            .filter(|w| w.path.starts_with(&root.path) || root.path.starts_with(&w.path))
        {
            let deeper = if w.path.starts_with(&root.path) {
                &w.path
            } else {
                &root.path
            };
            if !no_execute.iter().any(|n| deeper.starts_with(n)) {
                plan.writable_and_executable.push(deeper.clone());
            }
        }
    }

    plan.denied = denied.into_iter().collect();
    plan.no_execute = no_execute.into_iter().collect();
    plan.entries_walked = budget.used;
    Ok(plan)
}

/// Adds execute rules for everything beneath `dir` except the `excluded` paths.
fn split(
    dir: &Path,
    excluded: &BTreeSet<PathBuf>,
    out: &mut Vec<Rule>,
    budget: &mut Budget,
) -> Result<(), PlanError> {
    for (path, file_type) in list(dir, budget)? {
        if file_type.is_symlink() || excluded.contains(&path) {
            continue;
        }
        if file_type.is_dir() && excluded.iter().any(|d| d.starts_with(&path)) {
            split(&path, excluded, out, budget)?;
        } else {
            out.push(Rule {
                path,
                is_dir: file_type.is_dir(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics at the call")]
mod tests {
    use super::*;
    use std::fs;

    fn policy(write: &[&Path], execute: &[&Path], deny: &[&Path]) -> Policy {
        let v = |l: &[&Path]| l.iter().map(|p| p.to_path_buf()).collect();
        Policy {
            version: 2,
            write_beneath: v(write),
            execute: v(execute),
            deny_execute: v(deny),
            no_execute: Vec::new(),
        }
    }

    /// root/{bin/{sh,ls,cat,sub/{x,y}}, lib/{a,b}, tmp/}, bin/busybox-link -> ls (symlink)
    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        for d in ["bin/sub", "lib", "tmp"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "bin/sh",
            "bin/ls",
            "bin/cat",
            "bin/sub/x",
            "bin/sub/y",
            "lib/a",
            "lib/b",
        ] {
            fs::write(root.join(f), f).unwrap();
        }
        std::os::unix::fs::symlink("ls", root.join("bin/link")).unwrap();
        (dir, root)
    }

    fn rules(rules: &[Rule], root: &Path) -> Vec<String> {
        rules
            .iter()
            .map(|r| {
                let rel = r.path.strip_prefix(root).unwrap().display().to_string();
                if r.is_dir {
                    format!("{rel}/")
                } else {
                    rel
                }
            })
            .collect()
    }

    #[test]
    fn undenied_directories_are_one_rule() {
        let (_d, root) = tree();
        let p = plan(
            &policy(
                &[&root.join("tmp")],
                &[&root.join("bin"), &root.join("lib")],
                &[],
            ),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(rules(&p.write, &root), ["tmp/"]);
        assert_eq!(rules(&p.execute, &root), ["bin/", "lib/"]);
        assert_eq!(p.entries_walked, 0);
        assert!(p.writable_and_executable.is_empty());
    }

    #[test]
    fn a_denied_file_splits_only_its_directory() {
        let (_d, root) = tree();
        let p = plan(
            &policy(&[], &[&root], &[&root.join("bin/sub/x")]),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(
            rules(&p.execute, &root),
            ["bin/cat", "bin/ls", "bin/sh", "bin/sub/y", "lib/", "tmp/"]
        );
        assert_eq!(p.denied, [root.join("bin/sub/x")]);
        // root: 3 entries, bin: 5, bin/sub: 2
        assert_eq!(p.entries_walked, 10);
    }

    #[test]
    fn denial_through_a_symlink_and_of_a_directory() {
        let (_d, root) = tree();
        let p = plan(
            &policy(
                &[],
                &[&root.join("bin")],
                &[&root.join("bin/link"), &root.join("bin/sub")],
            ),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(rules(&p.execute, &root), ["bin/cat", "bin/sh"]);
        assert_eq!(p.denied, [root.join("bin/ls"), root.join("bin/sub")]);
    }

    #[test]
    fn hard_links_are_not_searched_the_daemon_lists_them() {
        let (_d, root) = tree();
        fs::hard_link(root.join("bin/sh"), root.join("lib/sh-copy")).unwrap();
        let mut p = policy(
            &[],
            &[&root.join("bin"), &root.join("lib")],
            &[&root.join("bin/sh")],
        );
        let only_named = plan(&p, Limits::default()).unwrap();
        assert_eq!(
            rules(&only_named.execute, &root),
            ["bin/cat", "bin/ls", "bin/sub/", "lib/"]
        );
        assert_eq!(only_named.entries_walked, 5, "only bin is read");
        p.deny_execute.push(root.join("lib/sh-copy"));
        let both = plan(&p, Limits::default()).unwrap();
        assert_eq!(
            rules(&both.execute, &root),
            ["bin/cat", "bin/ls", "bin/sub/", "lib/a", "lib/b"]
        );
        assert_eq!(both.denied, [root.join("bin/sh"), root.join("lib/sh-copy")]);
    }

    #[test]
    fn an_execute_root_inside_a_no_execute_place_is_the_exception() {
        let (_d, root) = tree();
        fs::create_dir_all(root.join("tmp/jit")).unwrap();
        fs::write(root.join("tmp/jit/code"), "x").unwrap();
        fs::write(root.join("tmp/other"), "x").unwrap();
        let mut p = policy(&[&root.join("tmp")], &[&root, &root.join("tmp/jit")], &[]);
        p.no_execute = vec![root.join("tmp")];
        let got = plan(&p, Limits::default()).unwrap();
        assert_eq!(rules(&got.execute, &root), ["bin/", "lib/", "tmp/jit/"]);
        // A denied program inside the exception stays denied.
        let mut p = policy(&[&root.join("tmp")], &[&root, &root.join("tmp/jit")], &[&root.join("tmp/jit/code")]);
        p.no_execute = vec![root.join("tmp")];
        let got = plan(&p, Limits::default()).unwrap();
        assert_eq!(rules(&got.execute, &root), ["bin/", "lib/"]);
    }

    #[test]
    fn no_execute_splits_like_deny_and_silences_the_overlap_warning() {
        let (_d, root) = tree();
        let mut p = policy(&[&root.join("tmp"), &root.join("bin/sub")], &[&root], &[&root.join("bin/sh")]);
        p.no_execute = vec![root.join("tmp"), root.join("gone")];
        let got = plan(&p, Limits::default()).unwrap();
        assert_eq!(
            rules(&got.execute, &root),
            ["bin/cat", "bin/ls", "bin/sub/", "lib/"]
        );
        assert_eq!(got.no_execute, [root.join("tmp")]);
        assert_eq!(got.denied, [root.join("bin/sh")]);
        assert_eq!(got.missing, [root.join("gone")]);
        // tmp is writable but not executable; bin/sub is writable and executable.
        assert_eq!(got.writable_and_executable, [root.join("bin/sub")]);
    }

    #[test]
    fn nested_and_denied_roots() {
        let (_d, root) = tree();
        let p = plan(
            &policy(
                &[],
                &[
                    &root.join("bin/sub"),
                    &root.join("bin"),
                    &root.join("bin/sh"),
                ],
                &[&root.join("bin/sub/y"), &root.join("bin/sh")],
            ),
            Limits::default(),
        )
        .unwrap();
        // bin/sub is covered by bin; bin/sh denied although listed
        assert_eq!(rules(&p.execute, &root), ["bin/cat", "bin/ls", "bin/sub/x"]);
    }

    #[test]
    fn missing_paths_are_skipped_and_overlaps_reported() {
        let (_d, root) = tree();
        let p = plan(
            &policy(
                &[&root.join("nope"), &root.join("bin/sub")],
                &[&root.join("gone/x"), &root.join("bin")],
                &[&root.join("lib/a/x")],
            ),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(
            p.missing,
            [root.join("nope"), root.join("lib/a/x"), root.join("gone/x")]
        );
        assert_eq!(rules(&p.execute, &root), ["bin/"]);
        assert_eq!(p.writable_and_executable, [root.join("bin/sub")]);
    }

    #[test]
    fn walks_are_bounded() {
        let (_d, root) = tree();
        let err = plan(
            &policy(&[], &[&root], &[&root.join("bin/sub/x")]),
            Limits { max_entries: 5 },
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("more than 5 directory entries to walk (reached at "),
            "{err}"
        );
    }
}
