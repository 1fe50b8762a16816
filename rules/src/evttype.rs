//! Which event types a condition can match (libsinsp `ppm_codes.cpp` semantics).
//!
//! `and` intersects its children's sets, `or` unites them; negation is pushed down to the
//! leaves by De Morgan's laws. Leaves: `evt.type`/`syscall.type` with `=`, `==`, `in` give
//! their names, `!=` the complement; `evt.num` checks with a known answer (`evt.num = 0`
//! never holds, `evt.num > 0` always does) give the empty or full set; every other check is
//! neutral (the full set, unchanged by negation).

use crate::condition::ast::{Check, Expr, Operand, Rhs};
use crate::condition::CmpOp;
use crate::event_types;

/// A set of event type codes (see [`crate::event_types`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventTypeSet {
    words: Vec<u64>,
}

impl EventTypeSet {
    /// No event type.
    pub fn empty() -> Self {
        EventTypeSet { words: vec![0; event_types::count().div_ceil(64)] }
    }

    /// Every event type.
    pub fn all() -> Self {
        let mut s = Self::empty();
        for code in 0..event_types::count() {
            s.insert(code as u16);
        }
        s
    }

    /// Add a code.
    pub fn insert(&mut self, code: u16) {
        self.words[code as usize / 64] |= 1 << (code % 64);
    }

    /// Whether a code is in the set.
    pub fn contains(&self, code: u16) -> bool {
        self.words.get(code as usize / 64).is_some_and(|w| w & (1 << (code % 64)) != 0)
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// Whether it holds every event type.
    pub fn is_all(&self) -> bool {
        self.len() == event_types::count()
    }

    fn intersect(&mut self, o: &Self) {
        self.words.iter_mut().zip(&o.words).for_each(|(a, b)| *a &= b);
    }

    fn union(&mut self, o: &Self) {
        self.words.iter_mut().zip(&o.words).for_each(|(a, b)| *a |= b);
    }

    fn complement(&self) -> Self {
        let mut s = Self::all();
        s.words.iter_mut().zip(&self.words).for_each(|(a, b)| *a &= !b);
        s
    }

    /// The codes in the set.
    pub fn codes(&self) -> impl Iterator<Item = u16> + '_ {
        (0..event_types::count() as u16).filter(|c| self.contains(*c))
    }

    /// The names in the set.
    pub fn names(&self) -> Vec<&'static str> {
        self.codes().filter_map(event_types::name).collect()
    }
}

/// The event types `expr` can match.
pub fn event_types_of(expr: &Expr) -> EventTypeSet {
    visit(expr, false)
}

fn visit(e: &Expr, negated: bool) -> EventTypeSet {
    match e {
        Expr::And(_, xs) | Expr::Or(_, xs) => {
            let conj = matches!(e, Expr::And(..)) != negated;
            let mut acc = if conj { EventTypeSet::all() } else { EventTypeSet::empty() };
            for x in xs {
                let s = visit(x, negated);
                if conj {
                    acc.intersect(&s)
                } else {
                    acc.union(&s)
                }
            }
            acc
        }
        Expr::Not(_, x) => visit(x, !negated),
        Expr::Identifier(..) => EventTypeSet::all(),
        Expr::Check(c) => leaf(c, negated),
    }
}

fn names_to_set<'a>(names: impl IntoIterator<Item = &'a str>) -> EventTypeSet {
    let mut s = EventTypeSet::empty();
    for n in names {
        if let Some(code) = event_types::code(n) {
            s.insert(code);
        }
    }
    s
}

enum Invariant {
    Empty,
    All,
}

fn evt_num_invariant(c: &Check) -> Option<Invariant> {
    let Operand::Field(f) = &c.lhs else { return None };
    if f.name != "evt.num" || f.arg.is_some() || c.cmp.modifier.is_some() {
        return None;
    }
    let num = |s: &str| s.parse::<u64>().ok();
    match (&c.rhs, c.cmp.op) {
        (Rhs::List(vs), CmpOp::In) => vs.iter().all(|v| num(v) == Some(0)).then_some(Invariant::Empty),
        (Rhs::Value(v), op) => {
            let n = num(v)?;
            match op {
                CmpOp::Eq | CmpOp::Eq2 if n == 0 => Some(Invariant::Empty),
                CmpOp::Ne if n == 0 => Some(Invariant::All),
                CmpOp::Lt if n <= 1 => Some(Invariant::Empty),
                CmpOp::Le if n == 0 => Some(Invariant::Empty),
                CmpOp::Gt if n == 0 => Some(Invariant::All),
                CmpOp::Ge if n <= 1 => Some(Invariant::All),
                _ => None,
            }
        }
        _ => None,
    }
}

fn leaf(c: &Check, negated: bool) -> EventTypeSet {
    let flip = |s: EventTypeSet| if negated { s.complement() } else { s };
    match evt_num_invariant(c) {
        Some(Invariant::Empty) => return flip(EventTypeSet::empty()),
        Some(Invariant::All) => return flip(EventTypeSet::all()),
        None => {}
    }
    let is_evttype = matches!(&c.lhs, Operand::Field(f) if (f.name == "evt.type" || f.name == "syscall.type") && f.arg.is_none());
    if !is_evttype || c.cmp.modifier.is_some() {
        if is_evttype && c.cmp.op == CmpOp::Exists {
            return flip(EventTypeSet::all());
        }
        return EventTypeSet::all();
    }
    let names = match (&c.rhs, c.cmp.op) {
        (Rhs::Value(v), CmpOp::Eq | CmpOp::Eq2 | CmpOp::Ne | CmpOp::In) => names_to_set([v.as_str()]),
        (Rhs::List(vs), CmpOp::In) => names_to_set(vs.iter().map(String::as_str)),
        (_, CmpOp::Exists) => return flip(EventTypeSet::all()),
        _ => return EventTypeSet::all(),
    };
    let set = if c.cmp.op == CmpOp::Ne { names.complement() } else { names };
    flip(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::parse;

    fn names(cond: &str) -> Vec<&'static str> {
        let mut n = event_types_of(&parse(cond).expect("parse")).names();
        n.sort_unstable();
        n
    }

    #[test]
    fn set_algebra() {
        assert_eq!(names("evt.type = open and proc.name = cat"), ["open"]);
        assert_eq!(names("evt.type in (open, openat) and not evt.type = open"), ["openat"]);
        assert_eq!(names("(evt.type = open or evt.type = execve) and proc.name = x"), ["execve", "open"]);
        assert!(names("evt.num = 0").is_empty());
        assert!(event_types_of(&parse("proc.name = cat").expect("parse")).is_all());
        assert!(event_types_of(&parse("not proc.name = cat").expect("parse")).is_all());
        assert_eq!(names("not evt.type != open"), ["open"]);
        assert_eq!(event_types_of(&parse("evt.type != open").expect("parse")).len(), event_types::count() - 1);
    }
}
