//! The condition language: AST, parser and string escaping.

pub mod ast;
pub mod escaping;
pub mod parser;

pub use ast::{CmpOp, Comparator, Check, Expr, FieldExpr, Modifier, Operand, Rhs};
pub use parser::{parse, parse_with_depth, ParseError};
