//! From a [`Policy`] to the list of Landlock rules: which paths get write rights, which get
//! execute rights.
//!
//! Landlock only allows; it cannot deny a file beneath an allowed directory. `deny_execute` is
//! therefore realized by *splitting*: an `execute` directory with no denied file beneath it becomes
//! one rule; one that holds a denied file is replaced by one rule per entry it contains, except the
//! denied entry, recursing only into the subdirectories that lead to a denied file. The cost is the
//! number of entries in the directories on the way to denied files (a few thousand for `/usr/bin`),
//! not the size of the tree. Denial is by file identity: a denied file with other hard links has
//! every link inside the `execute` directories withheld too, which needs a full walk of those
//! directories (on that device); walks are bounded by [`Limits::max_entries`].
//!
//! Symbolic links met in a walk get no rule (the kernel checks the file they resolve to, and a rule
//! on a link would land on its target). Paths that do not exist are skipped: a missing path can
//! only make the policy stricter.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
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
    /// Canonical paths withheld from execute rules (the denied files and their hard links).
    pub denied: Vec<PathBuf>,
    /// Policy paths that do not exist (no rule).
    pub missing: Vec<PathBuf>,
    /// `execute` entries overlapping a `write_beneath` entry: files written there can be run.
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
) -> Result<Vec<(PathBuf, std::fs::FileType, u64)>, PlanError> {
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
        entries.push((path, file_type, entry.ino()));
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
    let mut linked_ids: BTreeSet<(u64, u64)> = BTreeSet::new();
    for path in &policy.deny_execute {
        match resolve(path)? {
            Some(r) => {
                if !r.meta.is_dir() && r.meta.nlink() > 1 {
                    linked_ids.insert((r.meta.dev(), r.meta.ino()));
                }
                denied.insert(r.path);
            }
            None => plan.missing.push(path.clone()),
        }
    }

    let mut roots: Vec<Resolved> = Vec::new();
    for path in &policy.execute {
        match resolve(path)? {
            Some(r) => roots.push(r),
            None => plan.missing.push(path.clone()),
        }
    }
    roots.sort_by(|a, b| a.path.cmp(&b.path));
    roots.dedup_by(|later, earlier| later.path == earlier.path);
    // A root beneath another root is covered (and split) by the outer one.
    let outer: Vec<PathBuf> = roots.iter().map(|r| r.path.clone()).collect();
    roots.retain(|r| !outer.iter().any(|o| r.path != *o && r.path.starts_with(o)));

    if !linked_ids.is_empty() {
        let devs: BTreeSet<u64> = linked_ids.iter().map(|(dev, _)| *dev).collect();
        for root in roots
            .iter()
            .filter(|r| r.meta.is_dir() && devs.contains(&r.meta.dev()))
        {
            find_links(&root.path, &linked_ids, &mut denied, &mut budget)?;
        }
    }

    for root in &roots {
        let id = (root.meta.dev(), root.meta.ino());
        if denied.iter().any(|d| root.path.starts_with(d)) || linked_ids.contains(&id) {
            continue;
        }
        if root.meta.is_dir() && denied.iter().any(|d| d.starts_with(&root.path)) {
            split(&root.path, &denied, &mut plan.execute, &mut budget)?;
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
            plan.writable_and_executable.push(deeper.clone());
        }
    }

    plan.denied = denied.into_iter().collect();
    plan.entries_walked = budget.used;
    Ok(plan)
}

/// Adds to `denied` every non-directory beneath `dir` whose (device, inode) is in `ids`.
fn find_links(
    dir: &Path,
    ids: &BTreeSet<(u64, u64)>,
    denied: &mut BTreeSet<PathBuf>,
    budget: &mut Budget,
) -> Result<(), PlanError> {
    let devs: BTreeSet<u64> = ids.iter().map(|(dev, _)| *dev).collect();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for (path, file_type, ino) in list(&dir, budget)? {
            if file_type.is_symlink() {
                continue;
            }
            // d_ino of a mount point is the covered directory's; stat to see the mounted one.
            if file_type.is_dir() {
                match std::fs::symlink_metadata(&path) {
                    Ok(meta) if devs.contains(&meta.dev()) => stack.push(path),
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(source) => return Err(PlanError::Resolve { path, source }),
                }
            } else if ids.iter().any(|(_, i)| *i == ino) {
                match std::fs::symlink_metadata(&path) {
                    Ok(meta) if ids.contains(&(meta.dev(), meta.ino())) => {
                        denied.insert(path);
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(source) => return Err(PlanError::Resolve { path, source }),
                }
            }
        }
    }
    Ok(())
}

/// Adds execute rules for everything beneath `dir` except the `denied` paths.
fn split(
    dir: &Path,
    denied: &BTreeSet<PathBuf>,
    out: &mut Vec<Rule>,
    budget: &mut Budget,
) -> Result<(), PlanError> {
    for (path, file_type, _) in list(dir, budget)? {
        if file_type.is_symlink() || denied.contains(&path) {
            continue;
        }
        if file_type.is_dir() && denied.iter().any(|d| d.starts_with(&path)) {
            split(&path, denied, out, budget)?;
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
    use crate::policy::Mode;
    use std::fs;

    fn policy(write: &[&Path], execute: &[&Path], deny: &[&Path]) -> Policy {
        let v = |l: &[&Path]| l.iter().map(|p| p.to_path_buf()).collect();
        Policy {
            version: 1,
            mode: Mode::Enforce,
            write_beneath: v(write),
            execute: v(execute),
            deny_execute: v(deny),
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
    fn hard_links_of_a_denied_file_are_denied() {
        let (_d, root) = tree();
        fs::hard_link(root.join("bin/sh"), root.join("lib/sh-copy")).unwrap();
        let p = plan(
            &policy(
                &[],
                &[&root.join("bin"), &root.join("lib")],
                &[&root.join("bin/sh")],
            ),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(
            rules(&p.execute, &root),
            ["bin/cat", "bin/ls", "bin/sub/", "lib/a", "lib/b"]
        );
        assert_eq!(p.denied, [root.join("bin/sh"), root.join("lib/sh-copy")]);
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
