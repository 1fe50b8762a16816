//! The condition AST and its canonical text form.
//!
//! Every node carries the byte offset where it starts in the condition text it was parsed
//! from. `Display` prints the canonical form Falco prints (libsinsp `ast.cpp as_string`):
//! logical nodes parenthesised as `(a and b)`, `not x` (`not (not x)` where libsinsp prints
//! `not not x`, which would parse back as `x`), values re-quoted with `"…"` when they
//! contain blanks, `=`, quotes, backslashes or control characters, lists as `(a, b)`.

use std::fmt;

/// A comparison operator without modifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`.
    Eq,
    /// `==`.
    Eq2,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `contains`.
    Contains,
    /// `icontains`.
    IContains,
    /// `bcontains`.
    BContains,
    /// `startswith`.
    StartsWith,
    /// `bstartswith`.
    BStartsWith,
    /// `endswith`.
    EndsWith,
    /// `glob`.
    Glob,
    /// `iglob`.
    IGlob,
    /// `regex`.
    Regex,
    /// `in`.
    In,
    /// `intersects`.
    Intersects,
    /// `pmatch`.
    PMatch,
    /// `exists` (unary).
    Exists,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Eq2 => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Contains => "contains",
            CmpOp::IContains => "icontains",
            CmpOp::BContains => "bcontains",
            CmpOp::StartsWith => "startswith",
            CmpOp::BStartsWith => "bstartswith",
            CmpOp::EndsWith => "endswith",
            CmpOp::Glob => "glob",
            CmpOp::IGlob => "iglob",
            CmpOp::Regex => "regex",
            CmpOp::In => "in",
            CmpOp::Intersects => "intersects",
            CmpOp::PMatch => "pmatch",
            CmpOp::Exists => "exists",
        }
    }

    /// Parse an operator word or symbol (exactly as written, no modifier).
    pub fn parse(s: &str) -> Option<CmpOp> {
        ALL_OPS.iter().copied().find(|o| o.as_str() == s)
    }

    /// Whether the operator takes a list on the right (`in`, `intersects`, `pmatch`).
    pub fn is_list_op(self) -> bool {
        matches!(self, CmpOp::In | CmpOp::Intersects | CmpOp::PMatch)
    }

    /// Whether the operator is numeric-only (`<`, `<=`, `>`, `>=`).
    pub fn is_numeric_op(self) -> bool {
        matches!(self, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge)
    }
}

/// Every operator, for lookups.
pub const ALL_OPS: [CmpOp; 20] = [
    CmpOp::Eq,
    CmpOp::Eq2,
    CmpOp::Ne,
    CmpOp::Lt,
    CmpOp::Le,
    CmpOp::Gt,
    CmpOp::Ge,
    CmpOp::Contains,
    CmpOp::IContains,
    CmpOp::BContains,
    CmpOp::StartsWith,
    CmpOp::BStartsWith,
    CmpOp::EndsWith,
    CmpOp::Glob,
    CmpOp::IGlob,
    CmpOp::Regex,
    CmpOp::In,
    CmpOp::Intersects,
    CmpOp::PMatch,
    CmpOp::Exists,
];

/// A list modifier on a string operator: `startswith oneof (a, b)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// Exactly one item matches.
    OneOf,
    /// At least one item matches.
    AnyOf,
    /// Every item matches (false for an empty list).
    AllOf,
}

impl Modifier {
    /// The modifier as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Modifier::OneOf => "oneof",
            Modifier::AnyOf => "anyof",
            Modifier::AllOf => "allof",
        }
    }
    /// Parse a modifier word.
    pub fn parse(s: &str) -> Option<Modifier> {
        match s {
            "oneof" => Some(Modifier::OneOf),
            "anyof" => Some(Modifier::AnyOf),
            "allof" => Some(Modifier::AllOf),
            _ => None,
        }
    }
}

/// An operator with its optional modifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Comparator {
    /// The base operator.
    pub op: CmpOp,
    /// The list modifier, if any.
    pub modifier: Option<Modifier>,
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.as_str())?;
        if let Some(m) = self.modifier {
            write!(f, " {}", m.as_str())?;
        }
        Ok(())
    }
}

/// A field reference as written: `proc.aname[2]`, `jevt.value["/a b"]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldExpr {
    /// Byte offset in the condition.
    pub pos: usize,
    /// The field name.
    pub name: String,
    /// The bracketed argument, if any (`[""]` is `Some("")`).
    pub arg: Option<String>,
}

/// A transformer call: `tolower(proc.name)`, `getopt(proc.args)[-e]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformerExpr {
    /// Byte offset in the condition.
    pub pos: usize,
    /// Transformer name (`tolower`, `join`, ...).
    pub name: String,
    /// Arguments.
    pub args: Vec<TransformerArg>,
    /// The bracketed argument after the call, if any.
    pub arg: Option<String>,
}

/// An argument of a transformer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransformerArg {
    /// A field.
    Field(FieldExpr),
    /// A nested transformer.
    Transformer(TransformerExpr),
    /// A literal (quoted string or number), unescaped.
    Literal(String),
    /// A parenthesised list of arguments.
    List(Vec<TransformerArg>),
}

/// The left-hand side of a check, or a `val()`/transformer right-hand side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A plain field.
    Field(FieldExpr),
    /// A transformer.
    Transformer(TransformerExpr),
}

impl Operand {
    /// Byte offset in the condition.
    pub fn pos(&self) -> usize {
        match self {
            Operand::Field(f) => f.pos,
            Operand::Transformer(t) => t.pos,
        }
    }
}

/// The right-hand side of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rhs {
    /// No value (`exists`).
    None,
    /// One literal value (unescaped).
    Value(String),
    /// A list of literal values: `(a, b)`.
    List(Vec<String>),
    /// A field or transformer whose value is compared: `tolower(x)`, or `val(proc.pname)`,
    /// which is a transformer named `val` with one field argument.
    Field(Operand),
}

/// A condition expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `a and b and ...` (flattened, at least two children).
    And(usize, Vec<Expr>),
    /// `a or b or ...` (flattened, at least two children).
    Or(usize, Vec<Expr>),
    /// `not x`.
    Not(usize, Box<Expr>),
    /// A macro reference (an identifier).
    Identifier(usize, String),
    /// A comparison.
    Check(Box<Check>),
}

/// One comparison: `lhs op rhs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Byte offset in the condition.
    pub pos: usize,
    /// The compared field or transformer.
    pub lhs: Operand,
    /// The operator.
    pub cmp: Comparator,
    /// The right-hand side.
    pub rhs: Rhs,
}

impl Expr {
    /// Byte offset where this expression starts.
    pub fn pos(&self) -> usize {
        match self {
            Expr::And(p, _) | Expr::Or(p, _) | Expr::Not(p, _) | Expr::Identifier(p, _) => *p,
            Expr::Check(c) => c.pos,
        }
    }

    /// Visit every node, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::And(_, xs) | Expr::Or(_, xs) => xs.iter().for_each(|x| x.walk(f)),
            Expr::Not(_, x) => x.walk(f),
            Expr::Identifier(..) | Expr::Check(_) => {}
        }
    }
}

/// Print a value as the canonical form writes it (libsinsp `escape_str`): control characters,
/// `\\` and `"` are escaped, and the whole value is double-quoted when it contains any of those or a
/// blank, `=`, `'` or NUL. An empty value prints as nothing, as upstream.
pub fn write_value(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    let mut quoted = false;
    let mut body = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{8}' => body.push_str("\\b"),
            '\u{c}' => body.push_str("\\f"),
            '\n' => body.push_str("\\n"),
            '\r' => body.push_str("\\r"),
            '\t' => body.push_str("\\t"),
            '\\' => body.push_str("\\\\"),
            '"' => body.push_str("\\\""),
            ' ' | '=' | '\'' | '\0' => body.push(c),
            c => {
                body.push(c);
                continue;
            }
        }
        quoted = true;
    }
    if quoted {
        write!(f, "\"{body}\"")
    } else {
        f.write_str(&body)
    }
}

/// Print `[arg]` after a field or transformer (`[""]` for an empty argument, as upstream).
fn write_field_arg(f: &mut impl fmt::Write, arg: Option<&str>) -> fmt::Result {
    match arg {
        None => Ok(()),
        Some("") => f.write_str("[\"\"]"),
        Some(arg) => {
            f.write_char('[')?;
            write_value(f, arg)?;
            f.write_char(']')
        }
    }
}

impl fmt::Display for FieldExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        write_field_arg(f, self.arg.as_deref())
    }
}

impl fmt::Display for TransformerArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransformerArg::Field(x) => x.fmt(f),
            TransformerArg::Transformer(x) => x.fmt(f),
            TransformerArg::Literal(s) => write_value(f, s),
            TransformerArg::List(xs) => {
                f.write_char('(')?;
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    x.fmt(f)?;
                }
                f.write_char(')')
            }
        }
    }
}

impl fmt::Display for TransformerExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            a.fmt(f)?;
        }
        f.write_char(')')?;
        write_field_arg(f, self.arg.as_deref())
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field(x) => x.fmt(f),
            Operand::Transformer(x) => x.fmt(f),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.lhs, self.cmp)?;
        match &self.rhs {
            Rhs::None => Ok(()),
            Rhs::Value(v) => {
                f.write_char(' ')?;
                write_value(f, v)
            }
            Rhs::List(vs) => {
                f.write_str(" (")?;
                for (i, v) in vs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_value(f, v)?;
                }
                f.write_char(')')
            }
            Rhs::Field(x) => write!(f, " {x}"),
        }
    }
}

use fmt::Write as _;

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::And(_, xs) | Expr::Or(_, xs) => {
                let sep = if matches!(self, Expr::And(..)) { " and " } else { " or " };
                f.write_char('(')?;
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    x.fmt(f)?;
                }
                f.write_char(')')
            }
            // `not (not x)` keeps its parentheses: printed as libsinsp does (`not not x`), it
            // would parse back as `x`, since a run of `not`s folds, and the canonical form
            // would stop being a fixed point.
            Expr::Not(_, x) if matches!(**x, Expr::Not(..)) => write!(f, "not ({x})"),
            Expr::Not(_, x) => write!(f, "not {x}"),
            Expr::Identifier(_, name) => f.write_str(name),
            Expr::Check(c) => c.fmt(f),
        }
    }
}
