//! Rule exceptions: validation of `fields`/`comps`, and the rewrite of a rule's condition into
//! `(<cond>) and not (<exception>)` exactly as Falco's `build_rule_exception_infos` does
//! (including its quoting quirks, which upstream notes "break string escaping").

use super::collector::{Entry, ExceptionInfo};
use super::diagnostic::Location;
use crate::condition::parser::parse_operand_prefix;
use crate::condition::{CmpOp, Operand};
use crate::fields::Source;

const OPERATORS: [&str; 20] = [
    "exists", "<=", "<", ">=", ">", "==", "=", "!=", "glob", "iglob", "contains", "icontains",
    "bcontains", "startswith", "bstartswith", "endswith", "regex", "intersects", "in", "pmatch",
];

/// Whether `op` is a string operator with a list modifier (`startswith oneof`).
pub(super) fn is_str_operator_with_modifier(op: &str) -> bool {
    let mut parts = op.split(' ').filter(|p| !p.is_empty());
    let (Some(base), Some(m), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    matches!(m, "oneof" | "anyof" | "allof")
        && matches!(
            CmpOp::parse(base),
            Some(
                CmpOp::Eq | CmpOp::Eq2 | CmpOp::Ne | CmpOp::Contains | CmpOp::IContains
                    | CmpOp::BContains | CmpOp::StartsWith | CmpOp::BStartsWith | CmpOp::EndsWith
                    | CmpOp::Glob | CmpOp::IGlob | CmpOp::Regex
            )
        )
}

fn is_list_operator(op: &str) -> bool {
    matches!(op, "intersects" | "in" | "pmatch") || is_str_operator_with_modifier(op)
}

/// Whether `text` is a field (or transformer of fields) the source offers, as a whole.
fn is_valid_lhs_field(source: Source, text: &str) -> bool {
    fn fields_ok(source: Source, op: &Operand) -> bool {
        use crate::condition::ast::TransformerArg;
        fn arg_ok(source: Source, a: &TransformerArg) -> bool {
            match a {
                TransformerArg::Field(f) => source.lookup(&f.name).is_some(),
                TransformerArg::Transformer(t) => t.args.iter().all(|a| arg_ok(source, a)),
                TransformerArg::Literal(_) => true,
                TransformerArg::List(xs) => xs.iter().all(|a| arg_ok(source, a)),
            }
        }
        match op {
            Operand::Field(f) => source.lookup(&f.name).is_some(),
            Operand::Transformer(t) => t.args.iter().all(|a| arg_ok(source, a)),
        }
    }
    matches!(parse_operand_prefix(text), Ok((op, n)) if n == text.len() && fields_ok(source, &op))
}

fn trim_comp(s: &str) -> String {
    s.trim_matches([' ', '\t', '\r', '\n']).to_owned()
}

/// Validate an exception and fill in default comps (`=` per field for field lists, `in` for a
/// single field). `source` is None for rules of an unknown source (fields are not checked).
pub fn validate_exception(source: Option<Source>, ex: &mut ExceptionInfo) -> Result<(), (String, Location)> {
    let err = |m: String| Err((m, ex.loc.clone()));
    match &ex.fields {
        Some(Entry::List(fields)) => {
            let n = fields.len();
            let comps = ex.comps.get_or_insert_with(|| Entry::List(vec![Entry::Scalar("=".into()); n]));
            let Entry::List(comps) = comps else {
                return err("Fields and comps lists must have equal length".into());
            };
            if comps.len() != n {
                return err("Fields and comps lists must have equal length".into());
            }
            for c in comps.iter_mut() {
                let Entry::Scalar(s) = c else {
                    return err("comps must be strings".into());
                };
                *s = trim_comp(s);
                if !OPERATORS.contains(&s.as_str()) && !is_str_operator_with_modifier(s) {
                    return err(format!("'{s}' is not a supported comparison operator"));
                }
            }
            if let Some(source) = source {
                for f in fields {
                    match f {
                        Entry::Scalar(f) if is_valid_lhs_field(source, f) => {}
                        Entry::Scalar(f) => return err(format!("'{f}' is not a supported filter field")),
                        Entry::List(_) => return err("fields must be strings".into()),
                    }
                }
            }
        }
        Some(Entry::Scalar(field)) => {
            let comp = ex.comps.get_or_insert_with(|| Entry::Scalar("in".into()));
            let Entry::Scalar(comp) = comp else {
                return err("Fields and comps must both be strings".into());
            };
            *comp = trim_comp(comp);
            if !matches!(comp.as_str(), "in" | "pmatch" | "intersects") && !is_str_operator_with_modifier(comp) {
                return err("When fields is a single value, comps must be one of (in, pmatch, intersects) or a modifier operator (e.g. startswith oneof)".into());
            }
            if let Some(source) = source {
                if !is_valid_lhs_field(source, field) {
                    return err(format!("'{field}' is not a supported filter field"));
                }
            }
        }
        None => return err("Rule exception item must have fields property with a list of fields".into()),
    }
    Ok(())
}

fn quote_item(s: &str) -> String {
    if s.contains(' ') && !s.starts_with(['"', '\'']) {
        format!("\"{s}\"")
    } else {
        s.to_owned()
    }
}

fn paren_item(s: &str) -> String {
    if s.starts_with('(') {
        s.to_owned()
    } else {
        format!("({s})")
    }
}

/// The text `(<cond>)` followed by ` and not <exception>` per exception with values.
/// Returns the new condition, or an error naming the exception.
pub(super) fn rewrite_condition(cond: &str, exceptions: &[ExceptionInfo]) -> Result<String, (String, Location)> {
    let mut out = format!("({cond})");
    for ex in exceptions {
        let mut icond = String::new();
        match (&ex.fields, &ex.comps) {
            (Some(Entry::Scalar(field)), Some(Entry::Scalar(comp))) => {
                for v in &ex.values {
                    let Entry::Scalar(v) = v else {
                        return Err(("Expected values array to contain a list of strings".into(), ex.loc.clone()));
                    };
                    if icond.is_empty() {
                        icond = format!("({field} {comp} (");
                    } else {
                        icond.push_str(", ");
                    }
                    icond.push_str(&quote_item(v));
                }
                if !icond.is_empty() {
                    icond.push_str("))");
                }
            }
            (Some(Entry::List(fields)), Some(Entry::List(comps))) => {
                icond.push('(');
                for values in &ex.values {
                    let items: &[Entry] = match values {
                        Entry::List(items) => items,
                        Entry::Scalar(_) => &[],
                    };
                    if fields.len() != items.len() {
                        return Err(("Fields and values lists must have equal length".into(), ex.loc.clone()));
                    }
                    if icond != "(" {
                        icond.push_str(" or ");
                    }
                    icond.push('(');
                    for (k, (field, item)) in fields.iter().zip(items).enumerate() {
                        let (Entry::Scalar(field), Entry::Scalar(comp)) = (field, &comps[k]) else {
                            continue;
                        };
                        if k > 0 {
                            icond.push_str(" and ");
                        }
                        let istr = match item {
                            Entry::List(vs) => {
                                let parts: Vec<String> = vs
                                    .iter()
                                    .map(|v| match v {
                                        Entry::Scalar(s) => quote_item(s),
                                        Entry::List(_) => String::new(),
                                    })
                                    .collect();
                                format!("({})", parts.join(", "))
                            }
                            Entry::Scalar(s) if is_list_operator(comp) => paren_item(s),
                            Entry::Scalar(s) => quote_item(s),
                        };
                        icond.push_str(&format!(" {field} {comp} {istr}"));
                    }
                    icond.push(')');
                }
                icond.push(')');
                if icond == "()" {
                    icond.clear();
                }
            }
            _ => {}
        }
        if !icond.is_empty() {
            out.push_str(" and not ");
            out.push_str(&icond);
        }
    }
    Ok(out)
}
