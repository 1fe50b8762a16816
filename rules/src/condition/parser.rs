//! Recursive-descent parser for Falco conditions.
//!
//! Grammar (precedence low → high: `or` < `and` < `not` < check), as libsinsp parses it:
//!
//! ```text
//! Expr        ::= OrExpr
//! OrExpr      ::= AndExpr ( 'or' (Blank AndExpr | '(' Expr ')') )*          -- flattened
//! AndExpr     ::= NotExpr ( 'and' (Blank NotExpr | '(' Expr ')') )*
//! NotExpr     ::= ('not' Space+)* ( 'not(' Expr ')' | Check )              -- each 'not' toggles
//! Check       ::= '(' Expr ')' | Field Condition | Transformer Condition | Identifier
//! Condition   ::= 'exists'
//!               | NumOp (NumValue | XformOrVal)
//!               | StrOp (StrValue | XformOrVal)
//!               | StrOp Blank Modifier ListValue    -- Modifier followed by '(' or an identifier
//!                                                    -- that is not and/or/not
//!               | ListOp (ListValue | XformOrVal)
//! Field       ::= FieldName ( '[' (QuotedStr | FieldArgBareStr) ']' )?
//! Transformer ::= XName '(' XArg (',' XArg)* ')' ( '[' FieldArg ']' )?
//! XArg        ::= Number | HexNumber | QuotedStr | '(' [XListArg (',' XListArg)*] ')'
//!               | Transformer | Field
//! XListArg    ::= Field | Transformer | QuotedStr | Number
//! XformOrVal  ::= Transformer | 'val(' Field ')' ( '[' FieldArg ']' )?
//! ListValue   ::= '(' [StrValue (',' StrValue)*] ')' | Identifier
//! StrValue    ::= QuotedStr | BareStr
//! NumValue    ::= HexNumber | Number
//! NumOp       ::= '<=' | '<' | '>=' | '>'
//! StrOp       ::= '==' | '=' | '!=' | ('glob' | 'iglob' | 'contains' | 'icontains' | 'bcontains'
//!               | 'startswith' | 'bstartswith' | 'endswith' | 'regex') Blank
//! Modifier    ::= ('oneof' | 'anyof' | 'allof') Blank
//! ListOp      ::= 'intersects' | 'in' | 'pmatch'
//! XName       ::= 'tolower' | 'toupper' | 'b64' | 'basename' | 'len' | 'join' | 'concat' | 'getopt'
//!
//! Identifier      [a-zA-Z]+[a-zA-Z0-9_]*
//! FieldName       Identifier ('.' Identifier)+          (longest match)
//! FieldArgBareStr [^][\"'[:space:]]+
//! HexNumber       0[xX][0-9a-fA-F]+
//! Number          [+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)?
//! BareStr         [^()\"'[:space:]=,]+
//! QuotedStr       '…' or "…", ending at the first delimiter not preceded by '\'; unescaped
//! Blank           one or more of ' ' \t \b \r \n   (not \f \v, unlike [:space:])
//! ```
//!
//! Traps reproduced on purpose (each has a conformance vector): `and`/`or` need a blank or `(`
//! after them; word operators need a blank after them, symbol operators do not; `exists`
//! needs none (`a.b existsand c` parses); a quoted string ends at a delimiter not preceded by
//! a backslash, so `"a\\"` does not end at its second quote; a field name on the right-hand
//! side without `val()` is a plain string. Every `parse_*` level counts towards a depth limit
//! (libsinsp's `depth_guard`), so deeply nested input is an error, never a stack overflow.

use super::ast::{
    CmpOp, Comparator, Check, Expr, FieldExpr, Modifier, Operand, Rhs, TransformerArg,
    TransformerExpr,
};
use super::escaping::unescape;

/// Default depth limit of the condition parser (libsinsp's default).
pub const DEFAULT_MAX_DEPTH: u32 = 100;

/// Depth limit used by the rule loader (Falco's loader raises it).
pub const LOADER_MAX_DEPTH: u32 = 1000;

/// A parse error: a message and the byte offset where it was detected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong (libsinsp's wording where it has one).
    pub message: String,
    /// Byte offset in the condition.
    pub offset: usize,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

type PResult<T> = Result<T, ParseError>;

/// Parse a whole condition with the default depth limit.
pub fn parse(input: &str) -> PResult<Expr> {
    parse_with_depth(input, DEFAULT_MAX_DEPTH)
}

/// Parse a whole condition with an explicit depth limit.
pub fn parse_with_depth(input: &str, max_depth: u32) -> PResult<Expr> {
    let mut p = Parser::new(input, max_depth);
    if input.is_empty() {
        return Err(p.error("filter input string is empty"));
    }
    let expr = p.parse_or()?;
    if p.pos != p.end {
        return Err(p.error(format!(
            "unexpected token after '{}', expecting 'or', 'and'",
            p.last_token
        )));
    }
    Ok(expr)
}

/// Parse a field or transformer at the start of `input` (as output formats do) and return it
/// with the number of bytes consumed.
pub fn parse_operand_prefix(input: &str) -> PResult<(Operand, usize)> {
    let mut p = Parser::new(input, DEFAULT_MAX_DEPTH);
    let op = p.parse_field_or_transformer()?;
    Ok((op, p.pos))
}

const TRANSFORMERS: [&str; 8] =
    ["tolower(", "toupper(", "b64(", "basename(", "len(", "join(", "concat(", "getopt("];

const STR_OPS: [(&str, CmpOp, bool); 12] = [
    ("==", CmpOp::Eq2, false),
    ("=", CmpOp::Eq, false),
    ("!=", CmpOp::Ne, false),
    ("glob", CmpOp::Glob, true),
    ("iglob", CmpOp::IGlob, true),
    ("contains", CmpOp::Contains, true),
    ("icontains", CmpOp::IContains, true),
    ("bcontains", CmpOp::BContains, true),
    ("startswith", CmpOp::StartsWith, true),
    ("bstartswith", CmpOp::BStartsWith, true),
    ("endswith", CmpOp::EndsWith, true),
    ("regex", CmpOp::Regex, true),
];

const NUM_OPS: [(&str, CmpOp); 4] =
    [("<=", CmpOp::Le), ("<", CmpOp::Lt), (">=", CmpOp::Ge), (">", CmpOp::Gt)];

const LIST_OPS: [(&str, CmpOp); 3] =
    [("intersects", CmpOp::Intersects), ("in", CmpOp::In), ("pmatch", CmpOp::PMatch)];

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 0x08 | b'\r' | b'\n')
}

fn is_posix_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

fn is_ident_rest(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    /// Cursor. Like libsinsp, which reads a C string, a NUL byte ends the input.
    pos: usize,
    end: usize,
    last_token: String,
    depth: u32,
    max_depth: u32,
}

/// RAII-free depth accounting: `enter` increments and fails past the limit; callers `leave`.
macro_rules! guarded {
    ($self:ident, $body:expr) => {{
        $self.enter()?;
        let r = $body;
        $self.depth -= 1;
        r
    }};
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, max_depth: u32) -> Self {
        let bytes = src.as_bytes();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Parser { src, bytes, pos: 0, end, last_token: String::new(), depth: 0, max_depth }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError { message: message.into(), offset: self.pos }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth >= self.max_depth {
            self.depth -= 1;
            return Err(self.error(format!("exceeded max depth limit of {}", self.max_depth)));
        }
        Ok(())
    }

    fn peek(&self) -> u8 {
        if self.pos < self.end {
            self.bytes[self.pos]
        } else {
            0
        }
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.pos..self.end]
    }

    fn take(&mut self, n: usize) -> &'a str {
        let s = &self.src[self.pos..self.pos + n];
        self.pos += n;
        self.last_token = s.to_owned();
        s
    }

    // ---- lexing ----

    fn lex_blank(&mut self) -> bool {
        let start = self.pos;
        while self.pos < self.end && is_blank(self.bytes[self.pos]) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn lex_str(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s.as_bytes()) {
            self.take(s.len());
            true
        } else {
            false
        }
    }

    /// A word operator: the literal, then a mandatory blank (consumed). Backtracks otherwise.
    fn lex_word(&mut self, s: &str) -> bool {
        let (saved_pos, saved_tok) = (self.pos, self.last_token.clone());
        if self.lex_str(s) {
            if self.lex_blank() {
                return true;
            }
            self.pos = saved_pos;
            self.last_token = saved_tok;
        }
        false
    }

    fn ident_len(r: &[u8]) -> usize {
        if r.first().is_some_and(|&b| is_ident_start(b)) {
            1 + r[1..].iter().take_while(|&&b| is_ident_rest(b)).count()
        } else {
            0
        }
    }

    fn lex_identifier(&mut self) -> bool {
        let n = Self::ident_len(self.rest());
        n > 0 && {
            self.take(n);
            true
        }
    }

    fn field_name_len(r: &[u8]) -> usize {
        let mut n = Self::ident_len(r);
        if n == 0 {
            return 0;
        }
        let mut segments = 0;
        while r.get(n) == Some(&b'.') {
            let seg = Self::ident_len(&r[n + 1..]);
            if seg == 0 {
                break;
            }
            n += 1 + seg;
            segments += 1;
        }
        if segments == 0 {
            0
        } else {
            n
        }
    }

    fn lex_field_name(&mut self) -> bool {
        let n = Self::field_name_len(self.rest());
        n > 0 && {
            self.take(n);
            true
        }
    }

    fn lex_while(&mut self, ok: impl Fn(u8) -> bool) -> bool {
        let n = self.rest().iter().take_while(|&&b| ok(b)).count();
        n > 0 && {
            self.take(n);
            true
        }
    }

    fn lex_field_arg_bare_str(&mut self) -> bool {
        self.lex_while(|b| !matches!(b, b'[' | b']' | b'"' | b'\'') && !is_posix_space(b))
    }

    fn lex_bare_str(&mut self) -> bool {
        self.lex_while(|b| {
            !matches!(b, b'(' | b')' | b'"' | b'\'' | b'=' | b',') && !is_posix_space(b)
        })
    }

    fn lex_hex_num(&mut self) -> bool {
        let r = self.rest();
        if r.len() > 2 && r[0] == b'0' && (r[1] == b'x' || r[1] == b'X') {
            let digits = r[2..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if digits > 0 {
                self.take(2 + digits);
                return true;
            }
        }
        false
    }

    fn lex_num(&mut self) -> bool {
        let r = self.rest();
        let mut n = usize::from(matches!(r.first(), Some(b'+' | b'-')));
        let digits = r[n..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        n += digits;
        if r.get(n) == Some(&b'.') {
            n += 1;
        }
        n += r[n..].iter().take_while(|b| b.is_ascii_digit()).count();
        if matches!(r.get(n), Some(b'e' | b'E'))
            && matches!(r.get(n + 1), Some(b'+' | b'-'))
            && r.get(n + 2).is_some_and(|b| b.is_ascii_digit())
        {
            n += 2;
            n += r[n..].iter().take_while(|b| b.is_ascii_digit()).count();
        }
        self.take(n);
        true
    }

    /// A quoted string; on success `last_token` holds the unescaped value.
    fn lex_quoted_str(&mut self) -> PResult<bool> {
        let delim = self.peek();
        if delim != b'\'' && delim != b'"' {
            return Ok(false);
        }
        let start = self.pos;
        let mut prev = b'\\';
        let mut i = self.pos;
        while i < self.end {
            let c = self.bytes[i];
            if c == delim && prev != b'\\' {
                let raw = &self.src[start..=i];
                self.pos = i + 1;
                let value = unescape(raw).map_err(|m| ParseError { message: m, offset: start })?;
                self.last_token = value;
                return Ok(true);
            }
            prev = c;
            i += 1;
        }
        Ok(false)
    }

    fn lex_transformer(&mut self) -> bool {
        for t in TRANSFORMERS {
            if self.lex_str(t) {
                return true;
            }
        }
        false
    }

    fn lex_not_blank(&mut self) -> bool {
        let r = self.rest();
        if r.starts_with(b"not") {
            let spaces = r[3..].iter().take_while(|&&b| is_posix_space(b)).count();
            if spaces > 0 {
                self.take(3 + spaces);
                return true;
            }
        }
        false
    }

    // ---- grammar ----

    fn parse_field_or_transformer(&mut self) -> PResult<Operand> {
        guarded!(self, {
            let pos = self.pos;
            if self.lex_field_name() {
                let name = self.last_token.clone();
                Ok(Operand::Field(self.parse_field_remainder(name, pos)?))
            } else if self.lex_transformer() {
                self.lex_blank();
                let name = self.transformer_name();
                Ok(Operand::Transformer(self.parse_transformer_remainder(name, pos)?))
            } else {
                Err(self.error(format!("unexpected token after '{}'", self.last_token)))
            }
        })
    }

    fn transformer_name(&self) -> String {
        self.last_token.trim_end_matches('(').to_owned()
    }

    fn parse_or(&mut self) -> PResult<Expr> {
        guarded!(self, {
            let pos = self.pos;
            self.lex_blank();
            let mut children = vec![self.parse_and()?];
            self.lex_blank();
            while self.lex_str("or") {
                let child = if !self.lex_blank() {
                    if self.lex_str("(") {
                        self.parse_embedded_remainder()?
                    } else {
                        return Err(self.error("expected blank or '(' after 'or'"));
                    }
                } else {
                    self.parse_and()?
                };
                children.push(child);
                self.lex_blank();
            }
            Ok(if children.len() > 1 {
                Expr::Or(pos, children)
            } else {
                children.pop().expect("one child")
            })
        })
    }

    fn parse_and(&mut self) -> PResult<Expr> {
        guarded!(self, {
            let pos = self.pos;
            self.lex_blank();
            let mut children = vec![self.parse_not()?];
            self.lex_blank();
            while self.lex_str("and") {
                let child = if !self.lex_blank() {
                    if self.lex_str("(") {
                        self.parse_embedded_remainder()?
                    } else {
                        return Err(self.error("expected blank or '(' after 'and'"));
                    }
                } else {
                    self.parse_not()?
                };
                children.push(child);
                self.lex_blank();
            }
            Ok(if children.len() > 1 {
                Expr::And(pos, children)
            } else {
                children.pop().expect("one child")
            })
        })
    }

    fn parse_not(&mut self) -> PResult<Expr> {
        guarded!(self, {
            let pos = self.pos;
            self.lex_blank();
            let mut negate = false;
            while self.lex_not_blank() {
                negate = !negate;
            }
            let child = if self.lex_str("not(") {
                negate = !negate;
                self.parse_embedded_remainder()?
            } else {
                self.parse_check()?
            };
            Ok(if negate { Expr::Not(pos, Box::new(child)) } else { child })
        })
    }

    fn parse_embedded_remainder(&mut self) -> PResult<Expr> {
        guarded!(self, {
            self.lex_blank();
            let child = self.parse_or()?;
            self.lex_blank();
            if !self.lex_str(")") {
                return Err(self.error("expected a ')' token"));
            }
            Ok(child)
        })
    }

    fn parse_check(&mut self) -> PResult<Expr> {
        guarded!(self, {
            let pos = self.pos;
            self.lex_blank();
            if self.lex_str("(") {
                self.parse_embedded_remainder()
            } else if self.lex_field_name() {
                let name = self.last_token.clone();
                let lhs = Operand::Field(self.parse_field_remainder(name, pos)?);
                self.parse_condition(lhs, pos)
            } else if self.lex_transformer() {
                self.lex_blank();
                let name = self.transformer_name();
                let lhs = Operand::Transformer(self.parse_transformer_remainder(name, pos)?);
                self.parse_condition(lhs, pos)
            } else if self.lex_identifier() {
                Ok(Expr::Identifier(pos, self.last_token.clone()))
            } else {
                Err(self.error("expected a '(' token, a field check, or an identifier"))
            }
        })
    }

    fn parse_field_remainder(&mut self, name: String, pos: usize) -> PResult<FieldExpr> {
        guarded!(self, {
            let arg = self.parse_optional_field_arg()?;
            Ok(FieldExpr { pos, name, arg })
        })
    }

    fn parse_optional_field_arg(&mut self) -> PResult<Option<String>> {
        if !self.lex_str("[") {
            return Ok(None);
        }
        if !self.lex_quoted_str()? && !self.lex_field_arg_bare_str() {
            return Err(
                self.error("expected a valid field argument: a quoted string or a bare string")
            );
        }
        let arg = self.last_token.clone();
        if !self.lex_str("]") {
            return Err(self.error("expected a ']' token"));
        }
        Ok(Some(arg))
    }

    fn parse_transformer_remainder(&mut self, name: String, pos: usize) -> PResult<TransformerExpr> {
        guarded!(self, {
            self.lex_blank();
            let mut args = Vec::new();
            loop {
                let arg_pos = self.pos;
                args.push(self.parse_transformer_arg(arg_pos)?);
                self.lex_blank();
                if !self.lex_str(",") {
                    break;
                }
            }
            self.lex_blank();
            if !self.lex_str(")") {
                return Err(self.error("expected a ')' token closing the transformer"));
            }
            let arg = self.parse_optional_field_arg()?;
            Ok(TransformerExpr { pos, name, args, arg })
        })
    }

    fn parse_transformer_arg(&mut self, pos: usize) -> PResult<TransformerArg> {
        guarded!(self, {
            self.lex_blank();
            if self.lex_hex_num() || self.lex_num() || self.lex_quoted_str()? {
                Ok(TransformerArg::Literal(self.last_token.clone()))
            } else if self.lex_str("(") {
                self.parse_transformer_list()
            } else if self.lex_transformer() {
                let name = self.transformer_name();
                Ok(TransformerArg::Transformer(self.parse_transformer_remainder(name, pos)?))
            } else if self.lex_field_name() {
                let name = self.last_token.clone();
                Ok(TransformerArg::Field(self.parse_field_remainder(name, pos)?))
            } else {
                Err(self.error(
                    "expected field transformer argument: field, transformer, quoted string, \
                     number, or transformer list",
                ))
            }
        })
    }

    fn parse_transformer_list(&mut self) -> PResult<TransformerArg> {
        let mut items = Vec::new();
        self.lex_blank();
        if self.lex_str(")") {
            return Ok(TransformerArg::List(items));
        }
        items.push(self.parse_transformer_list_arg()?);
        self.lex_blank();
        while self.lex_str(",") {
            self.lex_blank();
            items.push(self.parse_transformer_list_arg()?);
            self.lex_blank();
        }
        if !self.lex_str(")") {
            return Err(self.error("expected ')'"));
        }
        Ok(TransformerArg::List(items))
    }

    fn parse_transformer_list_arg(&mut self) -> PResult<TransformerArg> {
        let pos = self.pos;
        if self.lex_field_name() {
            let name = self.last_token.clone();
            Ok(TransformerArg::Field(self.parse_field_remainder(name, pos)?))
        } else if self.lex_transformer() {
            self.lex_blank();
            let name = self.transformer_name();
            Ok(TransformerArg::Transformer(self.parse_transformer_remainder(name, pos)?))
        } else if self.lex_quoted_str()? || self.lex_hex_num() || self.lex_num() {
            Ok(TransformerArg::Literal(self.last_token.clone()))
        } else {
            Err(self.error(
                "expected transformer list argument: field, transformer, quoted string, or number",
            ))
        }
    }

    fn parse_condition(&mut self, lhs: Operand, pos: usize) -> PResult<Expr> {
        guarded!(self, {
            self.lex_blank();
            if self.lex_str("exists") {
                let cmp = Comparator { op: CmpOp::Exists, modifier: None };
                return Ok(Expr::Check(Box::new(Check { pos, lhs, cmp, rhs: Rhs::None })));
            }
            self.lex_blank();
            let (cmp, rhs) = if let Some(op) = self.lex_num_op() {
                (Comparator { op, modifier: None }, self.parse_num_value_or_transformer()?)
            } else if let Some((op, word)) = self.lex_str_op() {
                let had_blank = word || self.lex_blank();
                let (saved_pos, saved_tok) = (self.pos, self.last_token.clone());
                let modifier = if had_blank { self.lex_modifier() } else { None };
                match modifier {
                    Some(m) if self.list_value_follows() && !self.bool_keyword_follows() => {
                        (Comparator { op, modifier: Some(m) }, self.parse_list_value()?)
                    }
                    _ => {
                        self.pos = saved_pos;
                        self.last_token = saved_tok;
                        (Comparator { op, modifier: None }, self.parse_str_value_or_transformer()?)
                    }
                }
            } else if let Some(op) = self.lex_list_op() {
                (Comparator { op, modifier: None }, self.parse_list_value_or_transformer()?)
            } else {
                return Err(self.error(
                    "expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', \
                     '==', '=', '!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains', \
                     'startswith', 'bstartswith', 'endswith', 'regex', 'intersects', 'in', \
                     'pmatch'",
                ));
            };
            Ok(Expr::Check(Box::new(Check { pos, lhs, cmp, rhs })))
        })
    }

    fn lex_num_op(&mut self) -> Option<CmpOp> {
        NUM_OPS.into_iter().find(|(s, _)| self.lex_str(s)).map(|(_, op)| op)
    }

    /// A string operator and whether it was a word operator (whose blank is consumed).
    fn lex_str_op(&mut self) -> Option<(CmpOp, bool)> {
        for (s, op, word) in STR_OPS {
            let hit = if word { self.lex_word(s) } else { self.lex_str(s) };
            if hit {
                return Some((op, word));
            }
        }
        None
    }

    fn lex_list_op(&mut self) -> Option<CmpOp> {
        LIST_OPS.into_iter().find(|(s, _)| self.lex_str(s)).map(|(_, op)| op)
    }

    fn lex_modifier(&mut self) -> Option<Modifier> {
        ["oneof", "anyof", "allof"]
            .into_iter()
            .find(|m| self.lex_word(m))
            .and_then(Modifier::parse)
    }

    fn list_value_follows(&self) -> bool {
        self.peek() == b'(' || Self::ident_len(self.rest()) > 0
    }

    fn bool_keyword_follows(&self) -> bool {
        let r = self.rest();
        ["and", "or", "not"].iter().any(|kw| {
            r.starts_with(kw.as_bytes())
                && r.get(kw.len()).is_none_or(|b| !b.is_ascii_alphanumeric())
        })
    }

    fn parse_num_value_or_transformer(&mut self) -> PResult<Rhs> {
        guarded!(self, {
            self.lex_blank();
            if let Some(op) = self.try_parse_transformer_or_val()? {
                Ok(Rhs::Field(op))
            } else if self.lex_hex_num() || self.lex_num() {
                Ok(Rhs::Value(self.last_token.clone()))
            } else {
                Err(self.error(
                    "expected a number value or a field with a valid transformer: 'val', \
                     'tolower', 'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'",
                ))
            }
        })
    }

    fn parse_str_value_or_transformer(&mut self) -> PResult<Rhs> {
        guarded!(self, {
            self.lex_blank();
            if let Some(op) = self.try_parse_transformer_or_val()? {
                Ok(Rhs::Field(op))
            } else if self.lex_quoted_str()? || self.lex_bare_str() {
                Ok(Rhs::Value(self.last_token.clone()))
            } else {
                Err(self.error(
                    "expected a string value or a field with a valid transformer: 'val', \
                     'tolower', 'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'",
                ))
            }
        })
    }

    /// A plain string value (list items): no transformer allowed.
    fn parse_plain_str_value(&mut self) -> PResult<Option<String>> {
        self.enter()?;
        self.lex_blank();
        let r = if self.lex_quoted_str()? || self.lex_bare_str() {
            Ok(Some(self.last_token.clone()))
        } else {
            Ok(None)
        };
        self.depth -= 1;
        r
    }

    fn try_parse_list(&mut self) -> PResult<Option<Vec<String>>> {
        if !self.lex_str("(") {
            return Ok(None);
        }
        let mut values = Vec::new();
        self.lex_blank();
        // An unparseable first item means the list must be empty (libsinsp swallows the
        // error of the first item and then requires ')').
        let first = match self.parse_plain_str_value() {
            Ok(v) => v,
            Err(e) if e.message.starts_with("exceeded max depth") => return Err(e),
            Err(_) => None,
        };
        if let Some(v) = first {
            values.push(v);
            self.lex_blank();
            while self.lex_str(",") {
                match self.parse_plain_str_value()? {
                    Some(v) => values.push(v),
                    None => return Err(self.error("expected a string value")),
                }
                self.lex_blank();
            }
        }
        if !self.lex_str(")") {
            return Err(self.error("expected a ')' token"));
        }
        Ok(Some(values))
    }

    fn parse_list_value(&mut self) -> PResult<Rhs> {
        guarded!(self, {
            self.lex_blank();
            if let Some(list) = self.try_parse_list()? {
                Ok(Rhs::List(list))
            } else if self.lex_identifier() {
                Ok(Rhs::Value(self.last_token.clone()))
            } else {
                Err(self.error("expected a list or an identifier"))
            }
        })
    }

    fn parse_list_value_or_transformer(&mut self) -> PResult<Rhs> {
        guarded!(self, {
            self.lex_blank();
            if let Some(list) = self.try_parse_list()? {
                Ok(Rhs::List(list))
            } else if let Some(op) = self.try_parse_transformer_or_val()? {
                Ok(Rhs::Field(op))
            } else if self.lex_identifier() {
                Ok(Rhs::Value(self.last_token.clone()))
            } else {
                Err(self.error(
                    "expected a list, an identifier, or a field with a valid transformer: 'val', \
                     'tolower', 'toupper', 'b64', 'basename', 'len', 'join', 'concat', 'getopt'",
                ))
            }
        })
    }

    fn try_parse_transformer_or_val(&mut self) -> PResult<Option<Operand>> {
        guarded!(self, {
            self.lex_blank();
            let pos = self.pos;
            if self.lex_str("val(") {
                self.lex_blank();
                let field_pos = self.pos;
                if !self.lex_field_name() {
                    return Err(self.error("expected a field within 'val' transformer"));
                }
                let name = self.last_token.clone();
                let field = self.parse_field_remainder(name, field_pos)?;
                self.lex_blank();
                if !self.lex_str(")") {
                    return Err(self.error("expected a ')' token closing the transformer"));
                }
                let arg = self.parse_optional_field_arg()?;
                Ok(Some(Operand::Transformer(TransformerExpr {
                    pos,
                    name: "val".to_owned(),
                    args: vec![TransformerArg::Field(field)],
                    arg,
                })))
            } else if self.lex_transformer() {
                self.lex_blank();
                let name = self.transformer_name();
                Ok(Some(Operand::Transformer(self.parse_transformer_remainder(name, pos)?)))
            } else {
                Ok(None)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}")).to_string()
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canon("evt.type=open and proc.name in (ash, bash)"),
                   "(evt.type = open and proc.name in (ash, bash))");
        assert_eq!(canon("not not a"), "a");
        // Found by the condition_parser fuzz target: printed `not not w`, which parses as `w`.
        assert_eq!(canon(" (not (not\r\x08\x08\r\r\x08w\r\r\x08 )\r\x08 )"), "not (not w)");
        assert_eq!(canon("not (not w)"), "not (not w)");
        assert_eq!(canon("not a"), "not a");
        assert_eq!(canon("a.b exists"), "a.b exists");
        assert_eq!(canon("a.b = 'x y'"), "a.b = \"x y\"");
        assert_eq!(canon("a.b startswith oneof (x, y)"), "a.b startswith oneof (x, y)");
        assert_eq!(canon("a.b = val(c.d)"), "a.b = val(c.d)");
        assert_eq!(canon("tolower(a.b) = x"), "tolower(a.b) = x");
        assert_eq!(canon("a.b[\"\"] exists"), "a.b[\"\"] exists");
        assert_eq!(canon("a or (b and c) or d"), "(a or (b and c) or d)");
    }

    #[test]
    fn traps() {
        assert!(parse("a andb").is_err());
        assert!(parse("a orb").is_err());
        assert!(parse("notz").is_ok());
        assert!(parse("a.b existsand m").is_ok());
        assert!(parse("a.b containsvalue").is_err());
        assert!(parse("a.b in()").is_ok());
        assert!(parse("").is_err());
        assert_eq!(canon("(proc.args endswith \\)"), "proc.args endswith \"\\\\\"");
    }

    #[test]
    fn depth_limit_is_an_error_not_a_crash() {
        let deep = "(".repeat(100_000);
        let e = parse(&deep).expect_err("deep input");
        assert_eq!(e.message, "exceeded max depth limit of 100");
        let e = parse_with_depth(&deep, LOADER_MAX_DEPTH).expect_err("deep input");
        assert_eq!(e.message, "exceeded max depth limit of 1000");
    }
}
