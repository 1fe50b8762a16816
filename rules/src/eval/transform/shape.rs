//! Compile-time checks of transformer arguments: [`ArgShape`], [`result_shape`] and
//! [`check_bracket_arg`].

use crate::fields::FieldType;

use super::Transformer;

/// The compile-time shape of a transformer argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgShape {
    /// A field, or a nested transformer's result: its type and whether it is a list.
    Field {
        /// Value type.
        ty: FieldType,
        /// Whether it yields a list.
        is_list: bool,
    },
    /// A literal (quoted string or number): a CHARBUF.
    Literal,
    /// A parenthesised list of arguments: a CHARBUF list.
    List(Vec<ArgShape>),
}

impl ArgShape {
    /// The type and list-ness upstream sees for this argument.
    fn shape(&self) -> (FieldType, bool) {
        match self {
            ArgShape::Field { ty, is_list } => (*ty, *is_list),
            ArgShape::Literal => (FieldType::Str, false),
            ArgShape::List(_) => (FieldType::Str, true),
        }
    }
}

/// The result type and list-ness of `t` applied to `args`, or libsinsp's error text. With
/// `has_bracket_arg` (`getopt(...)[x]`) also call [`check_bracket_arg`] with the text.
pub fn result_shape(
    t: Transformer,
    args: &[ArgShape],
    has_bracket_arg: bool,
) -> Result<(FieldType, bool), String> {
    let no_arg = || {
        format!(
            "filter error: transformer '{}' does not support field arguments",
            t.name()
        )
    };
    if !t.is_multivalue() {
        if args.len() != 1 {
            return Err("unknown multivalue transformer".to_string());
        }
        if has_bracket_arg {
            return Err(no_arg());
        }
        let (ty, is_list) = args[0].shape();
        let ok = match t {
            Transformer::ToLower | Transformer::ToUpper | Transformer::Basename => {
                matches!(ty, FieldType::Str | FieldType::Path)
            }
            Transformer::B64 => matches!(ty, FieldType::Str | FieldType::Bytes),
            Transformer::Len => {
                is_list || matches!(ty, FieldType::Str | FieldType::Path | FieldType::Bytes)
            }
            _ => false,
        };
        if !ok {
            return Err(format!(
                "can't add field transformer: type '{}' is not supported by '{}' transformer applied on {}field",
                ty.name(),
                t.name(),
                if is_list { "list " } else { "" }
            ));
        }
        return Ok(match t {
            Transformer::Len => (FieldType::Unsigned, false),
            _ => (ty, is_list),
        });
    }

    if args.len() == 1 {
        return Err(if has_bracket_arg {
            no_arg()
        } else {
            format!("unknown field transfomer '{}'", t.name())
        });
    }
    let shapes: Vec<(FieldType, bool)> = args.iter().map(ArgShape::shape).collect();
    match t {
        Transformer::Join => {
            if shapes.len() != 2 {
                return Err("join() requires exactly 2 arguments: separator and list".to_string());
            }
            if shapes[0].1 {
                return Err(
                    "join() first argument (separator) must be a single value, not a list"
                        .to_string(),
                );
            }
            if !shapes[1].1 {
                return Err("join() second argument must be a list".to_string());
            }
            if has_bracket_arg {
                return Err("transformer 'join' does not support field arguments".to_string());
            }
            Ok((FieldType::Str, false))
        }
        Transformer::Concat => {
            if shapes.len() < 2 {
                return Err("concat() requires at least 2 arguments".to_string());
            }
            if shapes
                .iter()
                .any(|&(ty, list)| ty != FieldType::Str || list)
            {
                return Err("concat() arguments must be strings".to_string());
            }
            if has_bracket_arg {
                return Err("transformer 'concat' does not support field arguments".to_string());
            }
            Ok((FieldType::Str, false))
        }
        Transformer::Getopt => {
            if shapes.len() != 2 {
                return Err(
                    "getopt() requires exactly 2 arguments: args list and optstring".to_string(),
                );
            }
            if !shapes[0].1 {
                return Err("getopt() first argument must be a list".to_string());
            }
            if shapes[1].1 {
                return Err(
                    "getopt() second argument (optstring) must be a single value".to_string(),
                );
            }
            if shapes[0].0 != FieldType::Str || shapes[1].0 != FieldType::Str {
                return Err("getopt() arguments must be strings".to_string());
            }
            Ok((FieldType::Str, !has_bracket_arg))
        }
        _ => Err("unknown multivalue transformer".to_string()),
    }
}

/// Validate the text of a `[...]` argument after a transformer (only `getopt` takes one, and
/// it must be exactly one character).
pub fn check_bracket_arg(t: Transformer, arg: &str) -> Result<(), String> {
    match t {
        Transformer::Getopt if arg.len() == 1 => Ok(()),
        Transformer::Getopt => {
            Err("getopt() field argument must be a single option character".to_string())
        }
        _ => Err(format!(
            "filter error: transformer '{}' does not support field arguments",
            t.name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        use FieldType::*;
        let f = |ty, is_list| ArgShape::Field { ty, is_list };
        assert_eq!(
            result_shape(Transformer::ToLower, &[f(Str, false)], false),
            Ok((Str, false))
        );
        assert_eq!(
            result_shape(Transformer::ToUpper, &[f(Path, true)], false),
            Ok((Path, true))
        );
        assert_eq!(
            result_shape(Transformer::ToUpper, &[ArgShape::Literal], false),
            Ok((Str, false))
        );
        assert_eq!(
            result_shape(Transformer::ToUpper, &[f(Signed, false)], false),
            Err("can't add field transformer: type 'INT64' is not supported by 'toupper' transformer applied on field".to_string())
        );
        assert!(result_shape(Transformer::ToLower, &[f(Bytes, false)], false).is_err());
        assert!(result_shape(Transformer::B64, &[f(Signed, false)], false).is_err());
        assert!(result_shape(Transformer::B64, &[f(Path, false)], false).is_err());
        assert_eq!(
            result_shape(Transformer::B64, &[f(Bytes, false)], false),
            Ok((Bytes, false))
        );
        assert!(result_shape(Transformer::Basename, &[f(Bytes, false)], false).is_err());
        assert_eq!(
            result_shape(Transformer::Basename, &[f(Path, false)], false),
            Ok((Path, false))
        );
        assert_eq!(
            result_shape(Transformer::Len, &[f(Signed, true)], false),
            Ok((Unsigned, false))
        );
        assert_eq!(
            result_shape(Transformer::Len, &[f(Bytes, false)], false),
            Ok((Unsigned, false))
        );
        assert_eq!(
            result_shape(Transformer::Len, &[f(Unsigned, false)], false),
            Err("can't add field transformer: type 'UINT64' is not supported by 'len' transformer applied on field".to_string())
        );
        assert_eq!(
            result_shape(Transformer::Len, &[ArgShape::List(vec![])], false),
            Ok((Unsigned, false))
        );
        assert_eq!(
            result_shape(Transformer::ToLower, &[f(Str, false)], true),
            Err("filter error: transformer 'tolower' does not support field arguments".to_string())
        );
        assert_eq!(
            result_shape(Transformer::ToLower, &[f(Str, false), f(Str, false)], false),
            Err("unknown multivalue transformer".to_string())
        );
        assert_eq!(
            result_shape(Transformer::ToLower, &[], false),
            Err("unknown multivalue transformer".to_string())
        );

        let l = |n: usize| ArgShape::List(vec![ArgShape::Literal; n]);
        let j = |args: &[ArgShape]| result_shape(Transformer::Join, args, false);
        assert_eq!(j(&[ArgShape::Literal, l(2)]), Ok((Str, false)));
        assert_eq!(j(&[f(Str, false), f(Str, true)]), Ok((Str, false)));
        assert_eq!(j(&[ArgShape::Literal, l(0)]), Ok((Str, false)));
        assert_eq!(
            j(&[]),
            Err("join() requires exactly 2 arguments: separator and list".to_string())
        );
        assert_eq!(
            j(&[ArgShape::Literal]),
            Err("unknown field transfomer 'join'".to_string())
        );
        assert!(j(&[ArgShape::Literal, ArgShape::Literal, ArgShape::Literal]).is_err());
        assert_eq!(
            j(&[f(Str, true), l(2)]),
            Err("join() first argument (separator) must be a single value, not a list".to_string())
        );
        assert!(j(&[l(2), l(2)]).is_err());
        assert!(j(&[l(2), ArgShape::Literal]).is_err());
        assert_eq!(
            j(&[ArgShape::Literal, ArgShape::Literal]),
            Err("join() second argument must be a list".to_string())
        );
        assert_eq!(
            result_shape(Transformer::Join, &[ArgShape::Literal, l(1)], true),
            Err("transformer 'join' does not support field arguments".to_string())
        );
        assert_eq!(
            result_shape(Transformer::Join, &[ArgShape::Literal], true),
            Err("filter error: transformer 'join' does not support field arguments".to_string())
        );

        let c = |args: &[ArgShape]| result_shape(Transformer::Concat, args, false);
        assert_eq!(c(&[f(Str, false), f(Str, false)]), Ok((Str, false)));
        assert_eq!(
            c(&[ArgShape::Literal, ArgShape::Literal, ArgShape::Literal]),
            Ok((Str, false))
        );
        assert_eq!(
            c(&[]),
            Err("concat() requires at least 2 arguments".to_string())
        );
        assert_eq!(
            c(&[ArgShape::Literal]),
            Err("unknown field transfomer 'concat'".to_string())
        );
        assert_eq!(
            c(&[f(Str, true), ArgShape::Literal]),
            Err("concat() arguments must be strings".to_string())
        );
        assert!(c(&[l(2), ArgShape::Literal]).is_err());
        assert!(c(&[ArgShape::Literal, l(2)]).is_err());
        assert!(
            c(&[f(Path, false), ArgShape::Literal]).is_err(),
            "FSPATH is not CHARBUF"
        );
        assert!(c(&[f(Unsigned, false), ArgShape::Literal]).is_err());

        let g = |args: &[ArgShape], br| result_shape(Transformer::Getopt, args, br);
        assert_eq!(g(&[l(2), ArgShape::Literal], false), Ok((Str, true)));
        assert_eq!(
            g(&[f(Str, true), ArgShape::Literal], true),
            Ok((Str, false))
        );
        assert!(g(&[], false).is_err());
        assert_eq!(
            g(&[l(1)], false),
            Err("unknown field transfomer 'getopt'".to_string())
        );
        assert!(g(&[l(1), ArgShape::Literal, ArgShape::Literal], false).is_err());
        assert_eq!(
            g(&[ArgShape::Literal, ArgShape::Literal], false),
            Err("getopt() first argument must be a list".to_string())
        );
        assert_eq!(
            g(&[l(1), l(1)], false),
            Err("getopt() second argument (optstring) must be a single value".to_string())
        );
        assert_eq!(
            g(&[f(Unsigned, true), ArgShape::Literal], false),
            Err("getopt() arguments must be strings".to_string())
        );
        assert_eq!(check_bracket_arg(Transformer::Getopt, "t"), Ok(()));
        assert_eq!(
            check_bracket_arg(Transformer::Getopt, ""),
            Err("getopt() field argument must be a single option character".to_string())
        );
        assert!(check_bracket_arg(Transformer::Getopt, "-e").is_err());
        assert!(check_bracket_arg(Transformer::Join, "x").is_err());
    }
}
