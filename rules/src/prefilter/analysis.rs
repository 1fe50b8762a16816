//! From a condition to a [`Dnf`]: negation pushed down to the leaves (De Morgan), `and` as a
//! cross product, `or` as a concatenation, each leaf ([`Check`]) mapped to the constraint it
//! implies on an open event, or to no constraint.

use std::collections::BTreeSet;

use crate::condition::ast::{Check, CmpOp, Expr, Operand, Rhs};

use super::domain::{
    and, or, Alt, Dnf, PathSet, ACC_READ_ONLY, ACC_READ_WRITE, ACC_WRITE_ONLY, ALL_TYPES, TYPE_CREAT, TYPE_OPEN,
    TYPE_OPENAT, TYPE_OPENAT2,
};

/// The kernel's `comm` length: `TASK_COMM_LEN` (16) minus the NUL.
pub(super) const COMM_LEN: usize = 15;

/// The open-family event type names and their bits.
pub(super) const OPEN_TYPES: [(&str, u8); 4] =
    [("open", TYPE_OPEN), ("openat", TYPE_OPENAT), ("openat2", TYPE_OPENAT2), ("creat", TYPE_CREAT)];

fn type_bit(name: &str) -> u8 {
    OPEN_TYPES.iter().find(|(n, _)| *n == name).map_or(0, |(_, b)| *b)
}

/// `name` as the kernel's `comm` holds it: at most [`COMM_LEN`] bytes. `None` when the cut
/// would split a character (such a name cannot be compared as text).
pub(super) fn comm_of(name: &str) -> Option<&str> {
    if name.len() <= COMM_LEN {
        Some(name)
    } else {
        name.get(..COMM_LEN)
    }
}

/// The open events for which `e` (negated if `negated`) can be true.
pub(super) fn analyze(e: &Expr, negated: bool) -> Dnf {
    match e {
        Expr::And(_, xs) | Expr::Or(_, xs) => {
            // not (a and b) = not a or not b; not (a or b) = not a and not b.
            let conj = matches!(e, Expr::And(..)) != negated;
            let mut acc: Dnf = if conj { vec![Alt::any()] } else { Vec::new() };
            for x in xs {
                let d = analyze(x, negated);
                acc = if conj { and(&acc, &d) } else { or(acc, d) };
                if conj && acc.is_empty() {
                    break;
                }
            }
            acc
        }
        Expr::Not(_, x) => analyze(x, !negated),
        // Expanded conditions hold no macro references; an unknown one constrains nothing.
        Expr::Identifier(..) => vec![Alt::any()],
        Expr::Check(c) => leaf(c, negated),
    }
}

/// One check. Only `evt.type` is interpreted under negation (its value always exists, so
/// `not evt.type in S` is `evt.type in complement(S)`); every other negated check is
/// unconstrained.
fn leaf(c: &Check, negated: bool) -> Dnf {
    let any = vec![Alt::any()];
    let Operand::Field(f) = &c.lhs else { return any };
    let items: Vec<&str> = match &c.rhs {
        Rhs::Value(v) => vec![v.as_str()],
        Rhs::List(vs) => vs.iter().map(String::as_str).collect(),
        Rhs::None | Rhs::Field(_) => return any,
    };
    if f.arg.is_some() || items.is_empty() {
        return any;
    }
    if f.name == "evt.type" {
        return event_type(c, &items, negated);
    }
    if negated {
        return any;
    }
    // With a modifier (`oneof`, `anyof`, `allof`), a match needs at least one item to match:
    // the items read as a disjunction either way.
    let op = c.cmp.op;
    let equality = matches!(op, CmpOp::Eq | CmpOp::Eq2 | CmpOp::In);
    let alt = match f.name.as_str() {
        "evt.is_open_read" | "evt.is_open_write"
            if equality && c.cmp.modifier.is_none() && items.iter().all(|v| *v == "true") =>
        {
            let read = f.name == "evt.is_open_read";
            let access = ACC_READ_WRITE | if read { ACC_READ_ONLY } else { ACC_WRITE_ONLY };
            Some(Alt { access, ..Alt::any() })
        }
        "fd.name" => fd_name(op, c.cmp.modifier.is_some(), &items),
        "fd.directory" => fd_directory(op, &items),
        "fd.filename" if equality => {
            // libsinsp keeps the whole name when it ends with `/`: such a value is a path.
            let (paths, names): (Vec<&str>, Vec<&str>) = items.iter().partition(|v| v.contains('/'));
            let exact = paths.into_iter().map(str::to_owned).collect();
            let basenames = names.into_iter().map(str::to_owned).collect();
            Some(Alt::path(PathSet { exact, basenames, ..PathSet::default() }))
        }
        "fd.nameraw" if c.cmp.modifier.is_none() && items.iter().all(|v| implies_dotdot(op, v)) => {
            Some(Alt { dotdot: true, ..Alt::any() })
        }
        "proc.name" if equality => {
            let comms: Option<BTreeSet<String>> = items.iter().map(|v| comm_of(v).map(str::to_owned)).collect();
            comms.map(|comms| Alt { comms: Some(comms), ..Alt::any() })
        }
        _ => None,
    };
    alt.map_or(any, |a| vec![a])
}

/// Whether `fd.nameraw <op> value` being true means the raw path contains `../` (traversal
/// checks: `contains '../'`, `glob '*../*'`). Globs with classes or escapes are not read.
fn implies_dotdot(op: CmpOp, value: &str) -> bool {
    match op {
        CmpOp::Eq | CmpOp::Eq2 | CmpOp::In | CmpOp::Contains | CmpOp::StartsWith | CmpOp::EndsWith => {
            value.contains("../")
        }
        CmpOp::Glob => !value.contains(['[', '\\']) && value.split(['*', '?']).any(|piece| piece.contains("../")),
        _ => false,
    }
}

/// `evt.type` with `=`, `in` or `!=`: the open-family types it admits.
fn event_type(c: &Check, items: &[&str], negated: bool) -> Dnf {
    let bits = items.iter().fold(0, |acc, n| acc | type_bit(n));
    let positive = match (c.cmp.op, c.cmp.modifier, items.len()) {
        (CmpOp::Eq | CmpOp::Eq2 | CmpOp::In, None, _) => true,
        (CmpOp::Ne, None, 1) => false,
        _ => return vec![Alt::any()],
    };
    let types = if positive != negated { bits } else { ALL_TYPES & !bits };
    match types {
        0 => Vec::new(),
        types => vec![Alt { types, ..Alt::any() }],
    }
}

/// A path constraint from prefixes; an empty or `/` prefix admits every absolute path.
fn prefixes<'a>(exact: impl IntoIterator<Item = String>, prefixes: impl IntoIterator<Item = &'a str>) -> Option<Alt> {
    let mut set = PathSet { exact: exact.into_iter().collect(), ..PathSet::default() };
    for p in prefixes {
        if p.is_empty() || p == "/" {
            return None;
        }
        set.prefixes.insert(p.to_owned());
    }
    set.normalize();
    Some(Alt::path(set))
}

/// The literal text of a glob before its first special character (`*`, `?`, `[`, `\`), and
/// whether that is the whole pattern.
fn glob_literal(pattern: &str) -> (&str, bool) {
    match pattern.find(['*', '?', '[', '\\']) {
        Some(i) => (&pattern[..i], false),
        None => (pattern, true),
    }
}

/// A `pmatch` search path as a raw prefix: its components joined with `/` (pmatch skips empty
/// components), cut before the first glob character. Without globs the result is the search
/// path itself, which is a prefix of every path below it.
fn pmatch_prefix(search: &str) -> String {
    let mut out = String::new();
    for comp in search.split('/').filter(|c| !c.is_empty()) {
        out.push('/');
        let (lit, whole) = glob_literal(comp);
        out.push_str(lit);
        if !whole {
            break;
        }
    }
    out
}

fn fd_name(op: CmpOp, modified: bool, items: &[&str]) -> Option<Alt> {
    match op {
        CmpOp::Eq | CmpOp::Eq2 | CmpOp::In => prefixes(items.iter().map(|v| (*v).to_owned()), []),
        CmpOp::StartsWith => prefixes([], items.iter().copied()),
        CmpOp::Glob => {
            let (exact, globs): (Vec<&str>, Vec<&str>) = items.iter().partition(|v| glob_literal(v).1);
            prefixes(exact.into_iter().map(str::to_owned), globs.into_iter().map(|g| glob_literal(g).0))
        }
        // `pmatch` with a modifier never matches; no constraint is still sound.
        CmpOp::PMatch if !modified => {
            let ps: Vec<String> = items.iter().map(|v| pmatch_prefix(v)).collect();
            prefixes([], ps.iter().map(String::as_str))
        }
        _ => None,
    }
}

/// `fd.directory` is the path without its last component for a file (libsinsp), the path
/// itself for a directory: `fd.directory = D` admits `D` and what starts with `D/`.
fn fd_directory(op: CmpOp, items: &[&str]) -> Option<Alt> {
    match op {
        CmpOp::Eq | CmpOp::Eq2 | CmpOp::In => {
            if items.iter().any(|d| !d.starts_with('/')) {
                return None;
            }
            let below: Vec<String> =
                items.iter().map(|d| if d.ends_with('/') { (*d).to_owned() } else { format!("{d}/") }).collect();
            prefixes(items.iter().map(|d| (*d).to_owned()), below.iter().map(String::as_str))
        }
        // The directory is a prefix of the path.
        CmpOp::StartsWith => prefixes([], items.iter().copied()),
        _ => None,
    }
}
