//! The abstract domain of the analysis: an [`Alt`] is a conjunction of one constraint per
//! dimension (event type, access mode, path, process name), a [`Dnf`] a disjunction of them.
//! Every operation here over-approximates: the events an operation's result admits include
//! every event its inputs' boolean combination admits.

use std::collections::{BTreeMap, BTreeSet};

/// `evt.type = open`.
pub(super) const TYPE_OPEN: u8 = 1;
/// `evt.type = openat`.
pub(super) const TYPE_OPENAT: u8 = 2;
/// `evt.type = openat2`.
pub(super) const TYPE_OPENAT2: u8 = 4;
/// `evt.type = creat` (always a write for the kernel).
pub(super) const TYPE_CREAT: u8 = 8;
/// Every open-family type.
pub(super) const ALL_TYPES: u8 = TYPE_OPEN | TYPE_OPENAT | TYPE_OPENAT2 | TYPE_CREAT;

/// Access mode `O_RDONLY`: `evt.is_open_read` only.
pub(super) const ACC_READ_ONLY: u8 = 1;
/// Access mode `O_WRONLY`: `evt.is_open_write` only.
pub(super) const ACC_WRITE_ONLY: u8 = 2;
/// Access mode `O_RDWR`: both.
pub(super) const ACC_READ_WRITE: u8 = 4;
/// Access mode 3: neither (the kernel side reports it as both).
pub(super) const ACC_NEITHER: u8 = 8;
/// Every access mode.
pub(super) const ALL_ACCESS: u8 = ACC_READ_ONLY | ACC_WRITE_ONLY | ACC_READ_WRITE | ACC_NEITHER;

/// Above this many alternatives a disjunction is merged (soundly, by union).
const MAX_ALTS: usize = 64;
/// Subsumption pruning is quadratic: only below this many alternatives.
const MAX_PRUNE: usize = 256;

/// The last component of a path: what follows the last `/` (the whole text without one).
pub(super) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A disjunction of path atoms: equal to an exact path, starting with a byte prefix, or
/// having a last component. Empty: no path.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PathSet {
    pub(super) exact: BTreeSet<String>,
    pub(super) prefixes: BTreeSet<String>,
    pub(super) basenames: BTreeSet<String>,
}

impl PathSet {
    /// Whether one of the atoms matches `path`.
    pub(super) fn matches(&self, path: &str) -> bool {
        self.exact.contains(path) || self.has_prefix_of(path) || self.basenames.contains(basename(path))
    }

    /// Whether one of the prefixes starts `path`. With many prefixes (a rule set of 100,000
    /// rules gives tens of thousands), each prefix of `path` is looked up instead of every
    /// prefix tried: [`PathSet::normalize`] checks every exact path, and trying every prefix
    /// there made the capture plan quadratic.
    fn has_prefix_of(&self, path: &str) -> bool {
        if self.prefixes.len() <= 16 {
            return self.prefixes.iter().any(|p| path.starts_with(p.as_str()));
        }
        (0..=path.len()).filter(|&i| path.is_char_boundary(i)).any(|i| self.prefixes.contains(&path[..i]))
    }

    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefixes.is_empty() && self.basenames.is_empty()
    }

    /// Drop atoms another atom already covers: longer prefixes of a prefix, exact paths a
    /// prefix or basename matches.
    pub(super) fn normalize(&mut self) {
        let prefixes = std::mem::take(&mut self.prefixes);
        // Sorted: a prefix `q` of `p` sorts before `p`, and everything between them starts with
        // `q` too (so was dropped if `q` was kept): the last kept prefix is the only one to
        // compare with. Linear, where comparing with every kept one was quadratic.
        let mut last: Option<String> = None;
        for p in prefixes {
            if last.as_deref().is_some_and(|q| p.starts_with(q)) {
                continue;
            }
            last = Some(p.clone());
            self.prefixes.insert(p);
        }
        let exact = std::mem::take(&mut self.exact);
        self.exact = exact.into_iter().filter(|e| !self.matches(e)).collect();
    }

    fn union_with(&mut self, o: &PathSet) {
        self.exact.extend(o.exact.iter().cloned());
        self.prefixes.extend(o.prefixes.iter().cloned());
        self.basenames.extend(o.basenames.iter().cloned());
        self.normalize();
    }

    /// Over-approximates the paths both sets match: `(∨ aᵢ) ∧ (∨ bⱼ) = ∨ (aᵢ ∧ bⱼ)`, each pair
    /// exactly when it is representable (exact ∧ x, prefix ∧ prefix, basename ∧ basename) and by
    /// one of the two atoms otherwise (prefix ∧ basename).
    fn intersect(&self, o: &PathSet) -> PathSet {
        let mut r = PathSet::default();
        r.exact.extend(self.exact.iter().filter(|e| o.matches(e)).cloned());
        r.exact.extend(o.exact.iter().filter(|e| self.matches(e)).cloned());
        for p in &self.prefixes {
            for q in &o.prefixes {
                if p.starts_with(q.as_str()) {
                    r.prefixes.insert(p.clone());
                } else if q.starts_with(p.as_str()) {
                    r.prefixes.insert(q.clone());
                }
            }
        }
        r.basenames.extend(self.basenames.intersection(&o.basenames).cloned());
        let mut mixed = |prefixes: &BTreeSet<String>, basenames: &BTreeSet<String>| {
            if basenames.is_empty() {
                return;
            }
            for p in prefixes {
                // A subtree is usually narrower than a name found anywhere, except the root's.
                if p.len() > 1 {
                    r.prefixes.insert(p.clone());
                } else {
                    r.basenames.extend(basenames.iter().cloned());
                }
            }
        };
        mixed(&self.prefixes, &o.basenames);
        mixed(&o.prefixes, &self.basenames);
        r.normalize();
        r
    }

    /// Whether every path `o` matches is matched by `self` (a sufficient test).
    fn covers(&self, o: &PathSet) -> bool {
        o.exact.iter().all(|e| self.matches(e))
            && o.prefixes.iter().all(|p| self.prefixes.iter().any(|q| p.starts_with(q.as_str())))
            && o.basenames.is_subset(&self.basenames)
    }
}

/// One alternative: an event type among `types`, an access mode among `access`, a path in
/// `path` (`None`: any path), a process name in `comms` (`None`: any name) and, when
/// `dotdot`, a path as passed (`fd.nameraw`) that contains `../`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Alt {
    pub(super) types: u8,
    pub(super) access: u8,
    pub(super) path: Option<PathSet>,
    pub(super) comms: Option<BTreeSet<String>>,
    pub(super) dotdot: bool,
}

/// A disjunction of alternatives; empty: the condition cannot hold for an open event.
pub(super) type Dnf = Vec<Alt>;

impl Alt {
    /// No constraint at all.
    pub(super) fn any() -> Alt {
        Alt { types: ALL_TYPES, access: ALL_ACCESS, path: None, comms: None, dotdot: false }
    }

    /// Only a path constraint.
    pub(super) fn path(path: PathSet) -> Alt {
        Alt { path: Some(path), ..Alt::any() }
    }

    fn is_any(&self) -> bool {
        *self == Alt::any()
    }

    /// The conjunction, or `None` when a dimension becomes empty (the pair cannot hold).
    fn and(&self, o: &Alt) -> Option<Alt> {
        let types = self.types & o.types;
        let access = self.access & o.access;
        let path = match (&self.path, &o.path) {
            (None, p) | (p, None) => p.clone(),
            (Some(a), Some(b)) => Some(a.intersect(b)),
        };
        let comms = match (&self.comms, &o.comms) {
            (None, c) | (c, None) => c.clone(),
            (Some(a), Some(b)) => Some(a.intersection(b).cloned().collect()),
        };
        let empty = types == 0
            || access == 0
            || path.as_ref().is_some_and(PathSet::is_empty)
            || comms.as_ref().is_some_and(BTreeSet::is_empty);
        (!empty).then_some(Alt { types, access, path, comms, dotdot: self.dotdot || o.dotdot })
    }

    /// Widen `self` to admit every event `o` admits (union per dimension).
    fn join(&mut self, o: &Alt) {
        self.types |= o.types;
        self.access |= o.access;
        self.dotdot &= o.dotdot;
        match (&mut self.path, &o.path) {
            (Some(a), Some(b)) => a.union_with(b),
            (p, _) => *p = None,
        }
        match (&mut self.comms, &o.comms) {
            (Some(a), Some(b)) => a.extend(b.iter().cloned()),
            (c, _) => *c = None,
        }
    }

    /// Whether every event `o` admits is admitted by `self` (a sufficient test).
    fn covers(&self, o: &Alt) -> bool {
        o.types & !self.types == 0
            && o.access & !self.access == 0
            && (!self.dotdot || o.dotdot)
            && match (&self.path, &o.path) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) => a.covers(b),
            }
            && match (&self.comms, &o.comms) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(a), Some(b)) => b.is_subset(a),
            }
    }
}

/// The conjunction of two disjunctions: the cross product of their alternatives.
pub(super) fn and(a: &[Alt], b: &[Alt]) -> Dnf {
    let product = a.iter().flat_map(|x| b.iter().filter_map(move |y| x.and(y))).collect();
    compact(product)
}

/// The disjunction of two disjunctions.
pub(super) fn or(mut a: Dnf, b: Dnf) -> Dnf {
    a.extend(b);
    compact(a)
}

/// Group the alternatives by `key` and join each group. With a key made of all dimensions
/// but one, this is exact: `(x ∧ p) ∨ (x ∧ q) = x ∧ (p ∨ q)`.
fn merge_by<K: Ord>(alts: Dnf, key: impl Fn(&Alt) -> K) -> Dnf {
    let mut groups: BTreeMap<K, Alt> = BTreeMap::new();
    for alt in alts {
        match groups.entry(key(&alt)) {
            std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().join(&alt),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(alt);
            }
        }
    }
    groups.into_values().collect()
}

/// Shrink a disjunction without losing events: merge alternatives that differ in one
/// dimension only, drop alternatives another one covers; above [`MAX_ALTS`] merge further,
/// by union (which only admits more events).
fn compact(alts: Dnf) -> Dnf {
    if alts.iter().any(Alt::is_any) {
        return vec![Alt::any()];
    }
    let mut alts = alts;
    loop {
        let before = alts.len();
        alts = merge_by(alts, |a| (a.types, a.access, a.comms.clone(), a.dotdot));
        alts = merge_by(alts, |a| (a.types, a.access, a.path.clone(), a.dotdot));
        alts = merge_by(alts, |a| (a.access, a.path.clone(), a.comms.clone(), a.dotdot));
        alts = merge_by(alts, |a| (a.types, a.path.clone(), a.comms.clone(), a.dotdot));
        if alts.len() == before {
            break;
        }
    }
    if alts.len() <= MAX_PRUNE {
        let mut keep = vec![true; alts.len()];
        for i in 0..alts.len() {
            let covered = (0..alts.len()).any(|j| j != i && keep[j] && alts[j].covers(&alts[i]));
            keep[i] = !covered;
        }
        let mut flags = keep.into_iter();
        alts.retain(|_| flags.next().unwrap_or(true));
    }
    if alts.len() > MAX_ALTS {
        alts = merge_by(alts, |a| (a.types, a.access));
    }
    if alts.len() > MAX_ALTS {
        alts = merge_by(alts, |_| ());
    }
    alts
}
