//! Which open-family events (`open`, `openat`, `openat2`, `creat`) some active rule can match:
//! a necessary condition on the opened path, the access mode and the process name, which the
//! kernel side checks to drop the other open events before they reach user space.
//!
//! # Analysis
//!
//! Each active syscall rule whose event types include an open-family type is analysed over its
//! expanded condition ([`crate::Rule::condition`]). The result is a disjunction of
//! *alternatives*; an alternative is a conjunction of one constraint per dimension:
//!
//! - event type: a subset of the four open-family types;
//! - access mode: a subset of {`O_RDONLY`, `O_WRONLY`, `O_RDWR`, neither (mode 3)} — a set of
//!   modes rather than of directions, so that `evt.is_open_read = true and
//!   evt.is_open_write = true` keeps `O_RDWR` instead of becoming empty;
//! - path: any, or a disjunction of atoms (exact path, raw byte prefix, last component);
//! - process name: any, or a set of names cut to the kernel's 15-byte `comm`;
//! - traversal: whether the path as passed (`fd.nameraw`) must contain `../`.
//!
//! Negation is pushed to the leaves by De Morgan's laws (evaluation is two-valued: a check on a
//! missing field is false, and `not` inverts it). `and` takes the cross product of the
//! alternatives and intersects each pair per dimension; `or` concatenates. Alternatives that
//! differ in one dimension only are merged exactly, alternatives covered by another are dropped,
//! and beyond 64 alternatives they are merged by union.
//!
//! Leaves: `evt.type =`/`in`/`!=` (also negated: the type always exists) restrict the types;
//! `evt.is_open_read = true` / `evt.is_open_write = true` the access modes; `fd.name` with
//! `=`/`in` (exact), `startswith` (prefix), `glob` (its literal head as prefix, or exact without
//! wildcards), `pmatch` (the search path as prefix, cut at the first glob character);
//! `fd.directory = D` (exact `D` — libsinsp gives a directory's own path — or prefix `D/`; `/`
//! admits any path) and `startswith`; `fd.filename =` (last component); `proc.name =`/`in` (names); `fd.nameraw` checks whose
//! truth implies a `../` in it (`contains '../'`, `glob '*../*../*'`) the traversal flag. List modifiers
//! (`startswith oneof (...)`) need at least one item to match, so their items read as a
//! disjunction. Everything else — negated checks on other fields, `contains`, `endswith`,
//! case-insensitive operators, regexes, transformers, `val()` right-hand sides, other fields —
//! constrains nothing.
//!
//! # Soundness
//!
//! For every leaf, the constraint holds of every open event on which the check (or its
//! negation, for `evt.type`) is true; `and`, `or` and every merge only admit more events than
//! the boolean combination of their inputs (see `domain.rs`). So every event a rule matches is
//! admitted by one of its alternatives, and [`open_interest`] adds each alternative to the
//! direction(s) the kernel checks for the modes it admits: `O_RDONLY` → read, `O_WRONLY` →
//! write, `O_RDWR` and mode 3 → either (the kernel passes both), `creat` → write. An
//! alternative with a path constraint adds its path atoms and drops its names (a weaker
//! condition); one without adds its names, or lets every path through.
//!
//! # Precision
//!
//! Some upstream rules have open alternatives with no exact, prefix, last-component, name or
//! traversal form, and force a whole direction through: `fd.name endswith release_agent`,
//! `fd.directory = /` (writes). ("Directory traversal monitored file read" would force every
//! read through by its `fd.name contains "id_rsa"` but for its `fd.nameraw` traversal check.)
//! Disabling or tuning such rules is what narrows the filter.
//!
//! # Contract with the kernel side
//!
//! - `path` is `fd.name` as the monitor will report it: absolute, resolved, no empty components;
//!   `raw` is the path as passed to the call (`fd.nameraw`).
//! - `creat` is checked with `read = false, write = true`; an access mode of 3 (neither read nor
//!   write) with `read = true, write = true`.
//! - `comm` is the name the monitor reports as `proc.name`. A task renamed after `exec`
//!   (`prctl(PR_SET_NAME)`, thread names) has a `comm` that may differ from it: comparing such a
//!   task's current `comm` can drop events a `proc.name` rule would match.

mod analysis;
mod domain;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use crate::engine::Ruleset;
use crate::event_types;
use crate::evttype::EventTypeSet;
use crate::fields::Source;

use analysis::{analyze, COMM_LEN, OPEN_TYPES};
use domain::{Alt, PathSet, ACC_NEITHER, ACC_READ_ONLY, ACC_READ_WRITE, ACC_WRITE_ONLY, TYPE_CREAT};

/// What the kernel must let through for one access direction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathInterest {
    /// Every path passes.
    pub all: bool,
    /// Paths equal to one of these pass.
    pub exact: BTreeSet<String>,
    /// Paths starting with one of these pass (a raw byte prefix, not bounded by components:
    /// `/etc` also matches `/etcx`).
    pub prefixes: BTreeSet<String>,
    /// Paths whose last component (after the last `/`) is one of these pass.
    pub basenames: BTreeSet<String>,
    /// Processes with one of these names (at most 15 bytes, like the kernel's `comm`) pass,
    /// whatever the path.
    pub comms: BTreeSet<String>,
    /// Opens whose path as passed (`fd.nameraw`) contains `../` pass (directory traversal).
    pub raw_dotdot: bool,
}

/// What the kernel must let through, per access direction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenInterest {
    /// Opens for reading (`O_RDONLY`, `O_RDWR`): Falco's `evt.is_open_read`.
    pub read: PathInterest,
    /// Opens for writing (`O_WRONLY`, `O_RDWR`, `creat`): Falco's `evt.is_open_write`.
    pub write: PathInterest,
}

impl PathInterest {
    /// Whether an open of `path` (passed as `raw`) by a process named `comm` passes (the
    /// reference semantics of the kernel's check). A `comm` longer than 15 bytes is cut to 15.
    pub fn matches(&self, path: &str, raw: &str, comm: &str) -> bool {
        let comm = floor_comm(comm);
        self.all
            || (self.raw_dotdot && raw.contains("../"))
            || self.exact.contains(path)
            || self.prefixes.iter().any(|p| path.starts_with(p.as_str()))
            || self.basenames.contains(domain::basename(path))
            || self.comms.contains(comm)
    }

    /// Whether nothing passes.
    pub fn is_empty(&self) -> bool {
        !self.all
            && self.exact.is_empty()
            && self.prefixes.is_empty()
            && self.basenames.is_empty()
            && self.comms.is_empty()
            && !self.raw_dotdot
    }

    fn add(&mut self, alt: &Alt) {
        match (&alt.path, &alt.comms) {
            (Some(p), _) => {
                self.exact.extend(p.exact.iter().cloned());
                self.prefixes.extend(p.prefixes.iter().cloned());
                self.basenames.extend(p.basenames.iter().cloned());
            }
            (None, Some(c)) => self.comms.extend(c.iter().cloned()),
            (None, None) if alt.dotdot => self.raw_dotdot = true,
            (None, None) => self.all = true,
        }
    }

    /// Drop what another entry already lets through.
    fn normalize(&mut self) {
        if self.all {
            *self = PathInterest { all: true, ..PathInterest::default() };
            return;
        }
        let mut paths = PathSet {
            exact: std::mem::take(&mut self.exact),
            prefixes: std::mem::take(&mut self.prefixes),
            basenames: std::mem::take(&mut self.basenames),
        };
        paths.normalize();
        (self.exact, self.prefixes, self.basenames) = (paths.exact, paths.prefixes, paths.basenames);
    }
}

/// The longest prefix of `comm` of at most 15 bytes that ends on a character boundary.
fn floor_comm(comm: &str) -> &str {
    let mut end = comm.len().min(COMM_LEN);
    while !comm.is_char_boundary(end) {
        end -= 1;
    }
    &comm[..end]
}

impl OpenInterest {
    /// Whether an open passes: `read`/`write` as Falco's `evt.is_open_read`/`is_open_write`
    /// (see the module docs for `creat` and access mode 3).
    pub fn matches(&self, path: &str, raw: &str, comm: &str, read: bool, write: bool) -> bool {
        (read && self.read.matches(path, raw, comm)) || (write && self.write.matches(path, raw, comm))
    }
}

/// The open-family types of `set`, as bits.
fn open_types(set: &EventTypeSet) -> u8 {
    OPEN_TYPES
        .iter()
        .filter(|(name, _)| event_types::code(name).is_some_and(|c| set.contains(c)))
        .fold(0, |acc, (_, bit)| acc | bit)
}

/// The directions (read, write) the kernel checks for events of `types` with an access mode in
/// `access`; at least one for every such event.
fn directions(types: u8, access: u8) -> (bool, bool) {
    let (mut read, mut write) = (false, false);
    if types & !TYPE_CREAT != 0 {
        read = access & ACC_READ_ONLY != 0;
        write = access & ACC_WRITE_ONLY != 0;
        // Checked against both interests: either one will do.
        if access & (ACC_READ_WRITE | ACC_NEITHER) != 0 && !read && !write {
            read = true;
        }
    }
    if types & TYPE_CREAT != 0 {
        write = true;
    }
    (read, write)
}

/// Derive from `rules` the open events the kernel must deliver: every open-family event that
/// an active syscall rule can match passes [`OpenInterest::matches`].
pub fn open_interest(rules: &Ruleset) -> OpenInterest {
    let mut out = OpenInterest::default();
    for rule in rules.active_rules(Source::Syscall) {
        let rule_types = open_types(&rule.event_types);
        if rule_types == 0 {
            continue;
        }
        for alt in analyze(&rule.condition, false) {
            let types = alt.types & rule_types;
            if types == 0 {
                continue;
            }
            let (read, write) = directions(types, alt.access);
            if read {
                out.read.add(&alt);
            }
            if write {
                out.write.add(&alt);
            }
        }
    }
    out.read.normalize();
    out.write.normalize();
    out
}
