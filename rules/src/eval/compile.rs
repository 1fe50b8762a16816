//! Type-checking compilation of a (macro-free) condition AST into a [`Filter`].
//!
//! Operator/type rules follow libsinsp's `flt_is_comparable`:
//! - strings and paths: every operator but `bcontains`/`bstartswith`;
//! - numbers and times: `= != < <= > >= in intersects exists`;
//! - booleans: `= != in intersects exists`;
//! - IP addresses and networks: `= != in intersects exists`, modifiers only on `==`/`!=`;
//! - byte buffers: `= != contains startswith endswith in intersects bcontains bstartswith exists`;
//! - list fields: only `exists`, `in`, `intersects`.
//!
//! (Implemented by [`super::ops::check_comparable`].) Constants may not contain NUL unless compared against a byte buffer; `regex` takes no
//! `val()`; a transformer's `[arg]` is only for `getopt`.

use crate::condition::ast::{Check, Expr, FieldExpr, Operand, Rhs, TransformerArg, TransformerExpr};
use crate::condition::CmpOp;
use crate::fields::{flags, ArgKind, FieldType, Source};
use crate::value::{FieldArg, FieldRef, Value};

use super::ops::{check_comparable, parse_constant, CompiledRegex, PathPrefixSet, ValueSet};
use super::transform::{check_bracket_arg, result_shape, ArgShape, Transformer};
use super::{CompiledCheck, CompiledRhs, Extractor, Filter, XArg};

/// A compile error at a position of the AST (see [`Expr::pos`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// Message (lowercase, no trailing period).
    pub message: String,
    /// Position of the offending node.
    pub pos: usize,
    /// Whether the error is an unknown field (rules with `skip-if-unknown-filter` are skipped).
    pub unknown_field: bool,
}

/// A compile warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Message.
    pub message: String,
    /// Position.
    pub pos: usize,
}

/// The result of compiling one condition.
#[derive(Debug)]
pub struct CompileOutput {
    /// The filter.
    pub filter: Filter,
    /// Warnings (e.g. a field name used as a string constant).
    pub warnings: Vec<Warning>,
}

struct Compiler {
    source: Source,
    warnings: Vec<Warning>,
}

type CResult<T> = Result<T, CompileError>;

fn err<T>(pos: usize, message: impl Into<String>) -> CResult<T> {
    Err(CompileError { message: message.into(), pos, unknown_field: false })
}

/// Compile `expr` for `source`.
pub fn compile(expr: &Expr, source: Source) -> Result<CompileOutput, CompileError> {
    let mut c = Compiler { source, warnings: Vec::new() };
    let filter = c.expr(expr)?;
    Ok(CompileOutput { filter, warnings: c.warnings })
}

/// Compile a lone field or transformer (as used in output formats): the extractor, its type
/// and whether it yields a list.
pub fn compile_operand(op: &Operand, source: Source) -> Result<(Extractor, FieldType, bool), CompileError> {
    let mut c = Compiler { source, warnings: Vec::new() };
    c.operand(op, false)
}

impl Compiler {
    fn expr(&mut self, e: &Expr) -> CResult<Filter> {
        Ok(match e {
            Expr::And(_, xs) => Filter::And(xs.iter().map(|x| self.expr(x)).collect::<CResult<_>>()?),
            Expr::Or(_, xs) => Filter::Or(xs.iter().map(|x| self.expr(x)).collect::<CResult<_>>()?),
            Expr::Not(_, x) => Filter::Not(Box::new(self.expr(x)?)),
            Expr::Identifier(pos, name) => return err(*pos, format!("unexpected identifier '{name}'")),
            Expr::Check(c) => Filter::Check(Box::new(self.check(c)?)),
        })
    }

    fn field(&self, f: &FieldExpr) -> CResult<(FieldRef, u16)> {
        let Some((id, def, dotted)) = self.source.lookup(&f.name) else {
            let hint = self.source.suggest(&f.name).map(|s| format!("; did you mean '{s}'?")).unwrap_or_default();
            return Err(CompileError {
                message: format!("filter_check called with nonexistent field {}{hint}", f.name),
                pos: f.pos,
                unknown_field: true,
            });
        };
        let arg = match (dotted, &f.arg) {
            (Some(_), Some(_)) => return err(f.pos, format!("field '{}' takes one argument", f.name)),
            (Some(k), None) => Some(k.to_owned()),
            (None, a) => a.clone(),
        };
        let arg = match (def.arg, arg) {
            (ArgKind::None, Some(_)) => return err(f.pos, format!("field '{}' does not take an argument", def.name)),
            (ArgKind::None, None) => None,
            (ArgKind::RequiredIndex | ArgKind::RequiredKey | ArgKind::DottedOrBracketed, None) => {
                return err(f.pos, format!("field '{}' requires an argument", def.name))
            }
            (ArgKind::OptionalIndex | ArgKind::RequiredIndex, Some(a)) => match a.parse::<i64>() {
                Ok(i) if i >= 0 && i <= u32::MAX as i64 => Some(FieldArg::Index(i)),
                _ => return err(f.pos, format!("field '{}' takes a numeric argument, not '{a}'", def.name)),
            },
            (ArgKind::DottedOrBracketed, Some(a)) => match a.parse::<i64>() {
                Ok(i) if i >= 0 => Some(FieldArg::Index(i)),
                _ if a.is_empty() => return err(f.pos, format!("field '{}' requires an argument", def.name)),
                _ => Some(FieldArg::Key(a)),
            },
            (_, Some(a)) => Some(FieldArg::Key(a)),
            (_, None) => None,
        };
        // Ancestor fields without an index (`proc.aname`) are not list fields: the source
        // yields every ancestor and any match counts, for every operator.
        Ok((FieldRef { id, name: def.name, ty: def.ty, arg }, def.flags))
    }

    /// Compile an operand; returns the extractor, its type and whether it is a list.
    fn operand(&mut self, op: &Operand, rhs: bool) -> CResult<(Extractor, FieldType, bool)> {
        match op {
            Operand::Field(f) => {
                let (r, fl) = self.field(f)?;
                if rhs && fl & flags::NO_RHS != 0 {
                    return err(f.pos, format!("field '{}' cannot be used on the right-hand side", f.name));
                }
                let ty = r.ty;
                Ok((Extractor::Field(r), ty, fl & flags::IS_LIST != 0))
            }
            Operand::Transformer(t) if t.name == "val" => {
                if t.arg.is_some() {
                    return err(t.pos, "transformer 'val' does not support field arguments");
                }
                match t.args.as_slice() {
                    [TransformerArg::Field(f)] => self.operand(&Operand::Field(f.clone()), true),
                    _ => err(t.pos, "'val' takes exactly one field"),
                }
            }
            Operand::Transformer(t) => self.transformer(t),
        }
    }

    fn transformer(&mut self, t: &TransformerExpr) -> CResult<(Extractor, FieldType, bool)> {
        let Some(kind) = Transformer::from_name(&t.name) else {
            return err(t.pos, format!("unknown transformer '{}'", t.name));
        };
        let mut args = Vec::new();
        let mut shapes = Vec::new();
        for a in &t.args {
            let (x, s) = self.xarg(a)?;
            args.push(x);
            shapes.push(s);
        }
        let (ty, is_list) = result_shape(kind, &shapes, t.arg.is_some())
            .and_then(|r| t.arg.as_deref().map_or(Ok(()), |a| check_bracket_arg(kind, a)).map(|()| r))
            .map_err(|m| CompileError { message: m, pos: t.pos, unknown_field: false })?;
        Ok((Extractor::Transform(kind, args, t.arg.clone()), ty, is_list))
    }

    fn xarg(&mut self, a: &TransformerArg) -> CResult<(XArg, ArgShape)> {
        Ok(match a {
            TransformerArg::Field(f) => {
                let (r, fl) = self.field(f)?;
                if fl & flags::NO_TRANSFORMER != 0 {
                    return err(f.pos, format!("field '{}' cannot be used in a transformer", f.name));
                }
                let shape = ArgShape::Field { ty: r.ty, is_list: fl & flags::IS_LIST != 0 };
                let is_list = fl & flags::IS_LIST != 0;
                (XArg::Extract(Extractor::Field(r), is_list), shape)
            }
            TransformerArg::Transformer(t) => {
                let (x, ty, is_list) = self.transformer(t)?;
                (XArg::Extract(x, is_list), ArgShape::Field { ty, is_list })
            }
            TransformerArg::Literal(s) => (XArg::Literal(s.as_bytes().to_vec()), ArgShape::Literal),
            TransformerArg::List(xs) => {
                let mut items = Vec::new();
                let mut shapes = Vec::new();
                for x in xs {
                    let (i, s) = self.xarg(x)?;
                    items.push(i);
                    shapes.push(s);
                }
                (XArg::List(items), ArgShape::List(shapes))
            }
        })
    }

    fn constant(&mut self, ty: FieldType, op: CmpOp, text: &str, pos: usize) -> CResult<Value<'static>> {
        if text.contains('\0') && ty != FieldType::Bytes {
            return err(pos, "filter error: NUL byte in a value of a non-buffer field");
        }
        self.value_warnings(op, text, pos);
        parse_constant(ty, op, text).map_err(|m| CompileError { message: m, pos, unknown_field: false })
    }

    /// libsinsp's heuristics: a constant that is a field name or a transformer call is probably
    /// a mistake (missing `val()`).
    fn value_warnings(&mut self, op: CmpOp, text: &str, pos: usize) {
        let stripped: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if op == CmpOp::Regex && !regex_needs_regex(text) {
            self.warnings.push(Warning {
                message: format!("regex check with '{text}' may be optimized with simpler operators such as '=', 'contains', 'startswith', 'endswith'"),
                pos,
            });
        }
        if self.source.lookup(&stripped).is_some() {
            self.warnings.push(Warning {
                message: format!("'{text}' may be a valid field misused as a const string value"),
                pos,
            });
        }
        for t in ["val", "tolower", "toupper", "b64", "basename", "len", "join", "concat", "getopt"] {
            if stripped.len() >= t.len() + 2 && stripped.starts_with(t) && stripped.as_bytes()[t.len()] == b'(' && stripped.ends_with(')') {
                self.warnings.push(Warning {
                    message: format!("'{text}' may be a valid field transformer misused as a const string value"),
                    pos,
                });
            }
        }
    }

    fn check(&mut self, c: &Check) -> CResult<CompiledCheck> {
        let (lhs, ty, is_list) = self.operand(&c.lhs, false)?;
        let op = c.cmp.op;
        let modifier = c.cmp.modifier;
        check_comparable(op, modifier, ty, is_list)
            .map_err(|m| CompileError { message: format!("filter error: {m}"), pos: c.pos, unknown_field: false })?;
        self.check_event_type_names(c)?;
        let rhs = match &c.rhs {
            Rhs::None => CompiledRhs::None,
            Rhs::Field(r) => {
                if op == CmpOp::Regex {
                    return err(c.pos, "filter error: 'regex' does not support right-hand field comparisons");
                }
                let (x, rty, _) = self.operand(r, true)?;
                if !compatible(ty, rty) {
                    return err(c.pos, format!("filter error: cannot compare a field of type '{ty}' with a field of type '{rty}'"));
                }
                CompiledRhs::Extract(x)
            }
            Rhs::Value(_) | Rhs::List(_) if modifier.is_some() || op.is_list_op() => {
                let items = literals(&c.rhs);
                let constants = items.iter().map(|v| self.constant(ty, op, v, c.pos)).collect::<CResult<Vec<_>>>()?;
                match (modifier, op) {
                    (Some(m), _) => CompiledRhs::Modified(m, constants),
                    (None, CmpOp::PMatch) => CompiledRhs::Paths(PathPrefixSet::new(items.iter().map(|s| s.as_bytes()))),
                    _ => CompiledRhs::Set(ValueSet::new(constants)),
                }
            }
            Rhs::Value(v) if op == CmpOp::Regex => {
                self.constant(ty, op, v, c.pos)?;
                match CompiledRegex::new(v) {
                    Ok(re) => CompiledRhs::Regex(re),
                    Err(e) => return err(c.pos, format!("filter error: {e}")),
                }
            }
            Rhs::Value(v) => CompiledRhs::One(self.constant(ty, op, v, c.pos)?),
            Rhs::List(_) => return err(c.pos, format!("filter error: '{}' does not take a list", op.as_str())),
        };
        let ne_all = op == CmpOp::Ne
            && matches!(&c.lhs, Operand::Field(f) if matches!(f.name.as_str(), "fd.ip" | "fd.net" | "fd.port" | "fd.proto"));
        Ok(CompiledCheck { lhs, lhs_is_list: is_list, op, rhs, ne_all, key: c.to_string(), cache_slot: None })
    }
}

impl Compiler {
    /// `evt.type = foo` with a name no event has is an error, as in libsinsp ("unknown event
    /// type"); rules with `skip-if-unknown-filter` are skipped instead.
    fn check_event_type_names(&self, c: &Check) -> CResult<()> {
        let Operand::Field(f) = &c.lhs else { return Ok(()) };
        if self.source != Source::Syscall || f.name != "evt.type" || f.arg.is_some() {
            return Ok(());
        }
        match literals(&c.rhs).into_iter().find(|n| crate::event_types::code(n).is_none()) {
            Some(bad) => Err(CompileError { message: format!("unknown event type {bad}"), pos: c.pos, unknown_field: true }),
            None => Ok(()),
        }
    }
}

/// The literal constants of a right-hand side (one for a value, all of a list).
fn literals(rhs: &Rhs) -> Vec<&str> {
    match rhs {
        Rhs::Value(v) => vec![v],
        Rhs::List(vs) => vs.iter().map(String::as_str).collect(),
        Rhs::None | Rhs::Field(_) => Vec::new(),
    }
}

/// Whether two field types can be compared with each other (`x = val(y)`).
fn compatible(a: FieldType, b: FieldType) -> bool {
    use FieldType::*;
    let class = |t: FieldType| match t {
        Str | Path => 0,
        Signed | Unsigned | RelTime | AbsTime | Double => 1,
        Bool => 2,
        IpAddr | IpNet => 3,
        Bytes => 4,
    };
    class(a) == class(b)
}

/// libsinsp's heuristic: does a regex use anything simpler operators cannot express?
fn regex_needs_regex(v: &str) -> bool {
    const SPECIAL: &[u8] = b".+*?^$()[]{}|\\";
    const OCCURRENCE: &[u8] = b"+*?";
    let b = v.as_bytes();
    let len = b.len();
    let mut i = 0;
    while i < len {
        if (i == 0 && b[i] == b'^') || (i == len - 1 && b[i] == b'$') {
            i += 1;
            continue;
        }
        if ((i == 0 && len > 1) || (len >= 2 && i == len - 2))
            && b[i] == b'.'
            && b.get(i + 1).is_some_and(|c| OCCURRENCE.contains(c))
        {
            i += 2;
            continue;
        }
        if SPECIAL.contains(&b[i]) {
            return true;
        }
        i += 1;
    }
    false
}
