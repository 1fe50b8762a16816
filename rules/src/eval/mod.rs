//! Compiled conditions and their evaluation over a [`FieldSource`].
//!
//! A [`Filter`] is a tree of `and`/`or`/`not` over [`CompiledCheck`]s. Right-hand constants
//! are parsed once at compile time into typed values, hash sets, path sets or regexes, so
//! evaluation allocates nothing for plain fields. Semantics follow libsinsp:
//! - a check whose field is missing from the event is false, whatever the operator
//!   (`exists` excepted, which is exactly "present");
//! - a list field with `in` is true when *every* extracted value is in the set, with
//!   `intersects` when *any* is; a scalar field with either is plain membership;
//! - `proc.aname` and the other ancestor fields without an index match if *any* ancestor
//!   matches (the [`FieldSource`] returns all ancestors as a list, and the check uses
//!   "any" semantics for every operator).

mod compile;
pub mod ops;
pub mod transform;

pub use compile::{compile, compile_operand, CompileError, CompileOutput, Warning};

use crate::condition::{CmpOp, Modifier};
use crate::value::{Extracted, FieldRef, FieldSource, Value};
use ops::{compare, compare_with_modifier, CompiledRegex, PathPrefixSet, ValueSet};
use transform::{ArgValue, Transformer};

/// A compiled condition.
#[derive(Debug)]
pub enum Filter {
    /// All children true (short-circuit, in order).
    And(Vec<Filter>),
    /// Any child true (short-circuit, in order).
    Or(Vec<Filter>),
    /// Negation.
    Not(Box<Filter>),
    /// A comparison.
    Check(Box<CompiledCheck>),
}

/// What a check reads from the event.
#[derive(Debug)]
pub enum Extractor {
    /// A field.
    Field(FieldRef),
    /// A transformer over arguments.
    Transform(Transformer, Vec<XArg>, Option<String>),
}

/// A transformer argument.
#[derive(Debug)]
pub enum XArg {
    /// A field or nested transformer, and whether it yields a list (a one-value list must
    /// still reach the transformer as a list: `len(fd.types)` counts types, not characters).
    Extract(Extractor, bool),
    /// A literal.
    Literal(Vec<u8>),
    /// A list of arguments.
    List(Vec<XArg>),
}

/// The compiled right-hand side of a check.
#[derive(Debug)]
pub enum CompiledRhs {
    /// `exists`.
    None,
    /// One typed constant.
    One(Value<'static>),
    /// A set of constants for `in`/`intersects`.
    Set(ValueSet),
    /// A modifier and its constants (`startswith oneof (...)`).
    Modified(Modifier, Vec<Value<'static>>),
    /// `pmatch` paths.
    Paths(PathPrefixSet),
    /// A fully anchored regular expression.
    Regex(CompiledRegex),
    /// Another field or transformer (`val(x)`, `tolower(x)`).
    Extract(Extractor),
}

/// One compiled comparison.
#[derive(Debug)]
pub struct CompiledCheck {
    /// Left-hand side.
    pub lhs: Extractor,
    /// Whether the left-hand side yields a list (`in` means "every value").
    pub lhs_is_list: bool,
    /// Operator.
    pub op: CmpOp,
    /// Right-hand side.
    pub rhs: CompiledRhs,
    /// `!=` holds only when *every* extracted value differs (libsinsp's endpoint fields
    /// `fd.ip`, `fd.net`, `fd.port`, `fd.proto` compare both ends of a socket this way).
    pub ne_all: bool,
    /// The check's canonical text: checks with equal keys give equal results on one event.
    pub key: String,
    /// Memo slot, when the check is shared by several rules.
    pub cache_slot: Option<u32>,
}

impl Extractor {
    /// Extract this operand's values from `src`.
    pub fn extract<'a>(&'a self, src: &'a dyn FieldSource) -> Extracted<'a> {
        match self {
            Extractor::Field(f) => src.extract(f),
            Extractor::Transform(t, args, bracket) => {
                let vals = args.iter().map(|a| a.eval(src)).collect();
                transform::apply(*t, vals, bracket.as_deref())
            }
        }
    }
}

impl XArg {
    fn eval<'a>(&'a self, src: &'a dyn FieldSource) -> ArgValue<'a> {
        match self {
            XArg::Extract(e, is_list) => ArgValue::Values(match e.extract(src) {
                Extracted::One(v) if *is_list => Extracted::Many(vec![v]),
                other => other,
            }),
            XArg::Literal(l) => ArgValue::Literal(l),
            XArg::List(xs) => ArgValue::List(xs.iter().map(|x| x.eval(src)).collect()),
        }
    }
}

/// Per-event memo of check results shared by several rules (libsinsp's compare cache): the
/// same check (`proc.name in (shell_binaries)`, `container.id != host`) appears in dozens of
/// rules, and one event evaluates it once. A slot is valid while its stamp equals the current
/// generation; starting a new event bumps the generation, which invalidates every slot at once.
#[derive(Debug, Default)]
pub struct CheckCache {
    generation: u32,
    stamps: Vec<u32>,
    results: Vec<bool>,
}

impl CheckCache {
    /// Forget every result (call once per event).
    pub fn next_event(&mut self, slots: usize) {
        if self.stamps.len() < slots {
            self.stamps.resize(slots, 0);
            self.results.resize(slots, false);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
    }
}

impl Filter {
    /// Evaluate against one event, without memoization.
    pub fn matches(&self, src: &dyn FieldSource) -> bool {
        self.matches_cached(src, &mut CheckCache::default())
    }

    /// Evaluate against one event, memoizing shared checks in `cache`.
    pub fn matches_cached(&self, src: &dyn FieldSource, cache: &mut CheckCache) -> bool {
        match self {
            Filter::And(xs) => xs.iter().all(|x| x.matches_cached(src, cache)),
            Filter::Or(xs) => xs.iter().any(|x| x.matches_cached(src, cache)),
            Filter::Not(x) => !x.matches_cached(src, cache),
            Filter::Check(c) => match c.cache_slot {
                Some(slot) if cache.stamps.get(slot as usize) == Some(&cache.generation) => {
                    cache.results[slot as usize]
                }
                Some(slot) if (slot as usize) < cache.stamps.len() => {
                    let r = c.matches(src);
                    cache.stamps[slot as usize] = cache.generation;
                    cache.results[slot as usize] = r;
                    r
                }
                _ => c.matches(src),
            },
        }
    }

    /// Visit every check mutably (to assign cache slots).
    pub fn checks_mut(&mut self, f: &mut impl FnMut(&mut CompiledCheck)) {
        match self {
            Filter::And(xs) | Filter::Or(xs) => xs.iter_mut().for_each(|x| x.checks_mut(f)),
            Filter::Not(x) => x.checks_mut(f),
            Filter::Check(c) => f(c),
        }
    }
}

impl CompiledCheck {
    /// Evaluate against one event.
    pub fn matches(&self, src: &dyn FieldSource) -> bool {
        let lhs = self.lhs.extract(src);
        let values = lhs.values();
        if self.op == CmpOp::Exists {
            return !values.is_empty();
        }
        if values.is_empty() {
            return false;
        }
        match &self.rhs {
            CompiledRhs::None => false,
            CompiledRhs::Set(set) => {
                if self.lhs_is_list && self.op == CmpOp::In {
                    values.iter().all(|v| set.contains(v))
                } else {
                    values.iter().any(|v| set.contains(v))
                }
            }
            CompiledRhs::Paths(paths) => values.iter().any(|v| v.as_bytes().is_some_and(|b| paths.matches(b))),
            CompiledRhs::Regex(re) => values.iter().any(|v| v.as_bytes().is_some_and(|b| re.is_match(b))),
            CompiledRhs::One(c) if self.ne_all => values.iter().all(|v| compare(self.op, v, c)),
            CompiledRhs::One(c) => values.iter().any(|v| compare(self.op, v, c)),
            CompiledRhs::Modified(m, items) => values.iter().any(|v| compare_with_modifier(self.op, *m, v, items)),
            CompiledRhs::Extract(e) => {
                let rhs = e.extract(src);
                let rvals = rhs.values();
                match self.op {
                    CmpOp::In | CmpOp::Intersects => {
                        let member = |v: &Value<'_>| rvals.iter().any(|r| compare(CmpOp::Eq, v, r));
                        if self.lhs_is_list && self.op == CmpOp::In {
                            values.iter().all(member)
                        } else {
                            values.iter().any(member)
                        }
                    }
                    CmpOp::PMatch => {
                        let set = PathPrefixSet::new(rvals.iter().filter_map(Value::as_bytes));
                        values.iter().any(|v| v.as_bytes().is_some_and(|b| set.matches(b)))
                    }
                    op => match rvals.first() {
                        Some(r) => values.iter().any(|v| compare(op, v, r)),
                        None => false,
                    },
                }
            }
        }
    }
}
