//! Comparison primitives of the condition evaluator, following libsinsp exactly
//! (`filter_compare.cpp`, `value_parser.cpp`, `prefix_search.h`, `fnmatch(3)` in the C locale).
//!
//! Summary of the semantics implemented here:
//!
//! * **Strings** (`Str`, i.e. CHARBUF/FSPATH) are C strings upstream: every operator looks only at
//!   the bytes before the first NUL. `contains` = `strstr`, `icontains` = `strcasestr` (ASCII
//!   folding), `startswith`/`endswith` byte-wise, `<`..`>=` = `strcmp` (unsigned bytes), `glob`/
//!   `iglob` = `fnmatch(pattern = rhs, flags = 0 / FNM_CASEFOLD)` — `*` and `?` match `/`,
//!   `\` escapes, `[...]`, `[!...]` and `[^...]` sets with ranges and `[:class:]`. An empty needle
//!   is contained in everything. `regex` is an RE2 *POSIX-syntax* full match (see
//!   [`CompiledRegex`]); `pmatch` is a component-wise path-prefix match (see [`PathPrefixSet`]).
//! * **Buffers** (`Bytes`, BYTEBUF) compare with their full length (NULs included): `=`, `!=`,
//!   `contains`/`bcontains` (memmem), `startswith`/`bstartswith`, `endswith`. `bcontains` and
//!   `bstartswith` take their right-hand side as hex; every other operator takes the raw text.
//! * **Numbers**: `=`, `!=`, `<`, `<=`, `>`, `>=`. Constants are parsed like `sscanf("%d%c")`:
//!   optional blanks and sign, decimal digits only, nothing after; overflow saturates like
//!   `strtoll`/`strtoull`; a negative constant for an unsigned field wraps. DOUBLE fields only take
//!   integer constants that are parsed as a 32-bit `int` (`thread.cpu = 1.0` is an error).
//! * **Booleans**: `true`/`false` only; `=`/`!=`.
//! * **IP addresses**: `=`/`!=` between address and address; a network constant (`10.0.0.0/8`)
//!   matches an address inside it. A constant containing a `.` is IPv4, anything else IPv6. An
//!   IPv4 value never equals an IPv6 constant and vice versa (so `!=` is true across families).
//! * `in`/`intersects` compare element-wise with equality (see [`ValueSet`]).
//! * Modifiers (`op oneof|anyof|allof (list)`): exactly one / at least one / every item satisfies
//!   `value op item`; an empty list is always false. `pmatch` with a modifier is always false
//!   (upstream compares with `flt_compare`, which never implements `pmatch`).

use std::net::IpAddr;

use crate::condition::ast::{CmpOp, Modifier};
use crate::fields::FieldType;
use crate::value::Value;

mod constant;
mod glob;
mod pmatch;
mod regex;
mod set;
mod text;

pub use self::regex::CompiledRegex;
pub use constant::{parse_constant, parse_port, unhex};
pub use glob::glob_match;
pub use pmatch::PathPrefixSet;
pub use set::{
    apply_modifier, compare_with_modifier, regex_with_modifier, FxBuild, FxHasher, ValueSet,
};
pub use text::{
    c_str, compare_bytes, compare_str, contains, contains_ignore_ascii_case, trim_trailing_nuls,
};

// ---------------------------------------------------------------------------------------------
// Operator/type compatibility (flt_is_comparable)
// ---------------------------------------------------------------------------------------------

/// The operator as libsinsp prints it in errors (`==` prints as `=`).
fn op_name(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq2 => "=",
        o => o.as_str(),
    }
}

fn not_supported(op: CmpOp, what: &str) -> String {
    format!("'{}' operator not supported for {what}", op_name(op))
}

/// Whether `op` (with `modifier`) applies to a field of type `ty` (`is_list`: a list field or a
/// list-valued transformer), as libsinsp's `flt_is_comparable`; the error is its text (upstream
/// prefixes it with `filter error: `).
///
/// `FieldType` does not keep the integer width: every `Signed` is accepted like INT64 and every
/// `Unsigned` like UINT64 (upstream also accepts list fields of UINT64 only, not UINT32).
pub fn check_comparable(
    op: CmpOp,
    modifier: Option<Modifier>,
    ty: FieldType,
    is_list: bool,
) -> Result<(), String> {
    if op == CmpOp::Exists {
        return Ok(());
    }
    if is_list {
        return match ty {
            FieldType::Str
            | FieldType::Unsigned
            | FieldType::RelTime
            | FieldType::AbsTime
            | FieldType::Bool
            | FieldType::IpAddr
            | FieldType::IpNet => match op {
                CmpOp::In | CmpOp::Intersects => Ok(()),
                // sic: upstream lacks the "for".
                _ => Err(not_supported(op, "").replace(" for ", " ") + "list filters"),
            },
            _ => Err(format!(
                "list filters are not supported for type '{}'",
                ty.name()
            )),
        };
    }
    let eq_like = matches!(op, CmpOp::Eq | CmpOp::Eq2 | CmpOp::Ne);
    match ty {
        FieldType::Signed
        | FieldType::Unsigned
        | FieldType::RelTime
        | FieldType::AbsTime
        | FieldType::Double => {
            if eq_like || op.is_numeric_op() || matches!(op, CmpOp::In | CmpOp::Intersects) {
                Ok(())
            } else {
                Err(not_supported(op, "numeric filters"))
            }
        }
        // sic: upstream says "numeric" for booleans too.
        FieldType::Bool => {
            if eq_like || matches!(op, CmpOp::In | CmpOp::Intersects) {
                Ok(())
            } else {
                Err(not_supported(op, "numeric filters"))
            }
        }
        FieldType::IpAddr | FieldType::IpNet => {
            if eq_like || matches!(op, CmpOp::In | CmpOp::Intersects) {
                Ok(())
            } else if modifier.is_some() {
                Err(format!(
                    "'{}' with modifier not supported for ip address and network filters",
                    op_name(op)
                ))
            } else {
                Err(not_supported(op, "ip address and network filters"))
            }
        }
        FieldType::Str | FieldType::Path => match op {
            CmpOp::BContains | CmpOp::BStartsWith => Err(not_supported(op, "string filters")),
            _ => Ok(()),
        },
        FieldType::Bytes => match op {
            CmpOp::Eq
            | CmpOp::Eq2
            | CmpOp::Ne
            | CmpOp::Contains
            | CmpOp::In
            | CmpOp::StartsWith
            | CmpOp::EndsWith
            | CmpOp::Intersects
            | CmpOp::BContains
            | CmpOp::BStartsWith => Ok(()),
            _ => Err(not_supported(op, "buffer filters")),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison (flt_compare)
// ---------------------------------------------------------------------------------------------

fn compare_ord(op: CmpOp, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    match (op, ord) {
        (CmpOp::Exists, _) => true,
        (CmpOp::Ne, None) => true, // NaN != x
        (_, None) => false,
        (CmpOp::Eq | CmpOp::Eq2 | CmpOp::In | CmpOp::Intersects, Some(o)) => o == Equal,
        (CmpOp::Ne, Some(o)) => o != Equal,
        (CmpOp::Lt, Some(o)) => o == Less,
        (CmpOp::Le, Some(o)) => o != Greater,
        (CmpOp::Gt, Some(o)) => o == Greater,
        (CmpOp::Ge, Some(o)) => o != Less,
        _ => false,
    }
}

/// Whether `addr` is inside `net/len` (same family only).
pub fn ip_in_net(addr: &IpAddr, net: &IpAddr, len: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            (u32::from(*a) & mask) == (u32::from(*n) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let len = u32::from(len.min(128));
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            (u128::from(*a) & mask) == (u128::from(*n) & mask)
        }
        _ => false,
    }
}

fn ip_eq_op(op: CmpOp, same_family: bool, equal: bool) -> bool {
    if !same_family {
        // Upstream: a right-hand side of the other family's size compares as "not equal".
        return op == CmpOp::Ne;
    }
    match op {
        CmpOp::Eq | CmpOp::Eq2 | CmpOp::In | CmpOp::Intersects => equal,
        CmpOp::Ne => !equal,
        CmpOp::Exists => true,
        _ => false,
    }
}

/// Compare one extracted value (`lhs`) with one constant or right-hand-side value (`rhs`), as
/// libsinsp's `flt_compare` for the type of `lhs`. `in`/`intersects` mean equality here (for set
/// membership use [`ValueSet`]); `regex` and `pmatch` are false here (use [`CompiledRegex`] and
/// [`PathPrefixSet`]); `exists` is true. Values of unrelated kinds are never equal (`!=` is true
/// for them).
pub fn compare(op: CmpOp, lhs: &Value<'_>, rhs: &Value<'_>) -> bool {
    use Value::*;
    match (lhs, rhs) {
        (Str(a), Str(b) | Bytes(b)) => compare_str(op, a, b),
        (Bytes(a), Bytes(b) | Str(b)) => compare_bytes(op, a, b),
        (Signed(a), Signed(b)) => compare_ord(op, Some(a.cmp(b))),
        (Unsigned(a), Unsigned(b)) => compare_ord(op, Some(a.cmp(b))),
        (Signed(a), Unsigned(b)) => compare_ord(op, Some(i128::from(*a).cmp(&i128::from(*b)))),
        (Unsigned(a), Signed(b)) => compare_ord(op, Some(i128::from(*a).cmp(&i128::from(*b)))),
        (Double(a), Double(b)) => compare_ord(op, a.partial_cmp(b)),
        (Double(a), Signed(b)) => compare_ord(op, a.partial_cmp(&(*b as f64))),
        (Double(a), Unsigned(b)) => compare_ord(op, a.partial_cmp(&(*b as f64))),
        (Signed(a), Double(b)) => compare_ord(op, (*a as f64).partial_cmp(b)),
        (Unsigned(a), Double(b)) => compare_ord(op, (*a as f64).partial_cmp(b)),
        (Bool(a), Bool(b)) => match op {
            CmpOp::Eq | CmpOp::Eq2 | CmpOp::In | CmpOp::Intersects => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Exists => true,
            _ => false,
        },
        (Ip(a), Ip(b)) => ip_eq_op(op, a.is_ipv4() == b.is_ipv4(), a == b),
        (Ip(a), Net(n, len)) | (Net(a, _), Net(n, len)) => {
            ip_eq_op(op, a.is_ipv4() == n.is_ipv4(), ip_in_net(a, n, *len))
        }
        (Net(n, len), Ip(a)) => ip_eq_op(op, a.is_ipv4() == n.is_ipv4(), ip_in_net(a, n, *len)),
        _ => matches!(op, CmpOp::Ne | CmpOp::Exists),
    }
}

#[cfg(test)]
mod test_support {
    use super::*;

    pub(super) fn s(x: &str) -> Value<'static> {
        Value::string(x.to_string())
    }
    pub(super) fn ip(x: &str) -> Value<'static> {
        Value::Ip(x.parse().expect("test ip"))
    }
    pub(super) fn pc(ty: FieldType, op: CmpOp, text: &str) -> Value<'static> {
        parse_constant(ty, op, text).expect("test constant")
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{ip, pc, s};
    use super::*;

    #[test]
    fn net_compare_ipv4() {
        // filter_op_net_compare.ut.cpp: server 142.251.111.147, client 172.40.111.222
        let sip = ip("142.251.111.147");
        let ipc = |t: &str| pc(FieldType::IpAddr, CmpOp::Eq, t);
        let net = |t: &str| pc(FieldType::IpNet, CmpOp::Eq, t);
        assert!(compare(CmpOp::Eq2, &sip, &ipc("142.251.111.147")));
        assert!(compare(
            CmpOp::Eq2,
            &ip("172.40.111.222"),
            &ipc("172.40.111.222")
        ));
        assert!(!compare(CmpOp::Ne, &sip, &ipc("142.251.111.147")));
        assert!(compare(CmpOp::Ne, &sip, &ipc("0:0:0:0:0:0:0:1")));
        assert!(!compare(CmpOp::Eq2, &sip, &ipc("0:0:0:0:0:0:0:1")));
        assert!(compare(CmpOp::Eq2, &sip, &net("142.0.0.0/4")));
        assert!(compare(CmpOp::Eq2, &sip, &net("142.251.0.0/8")));
        assert!(compare(CmpOp::Eq2, &sip, &net("142.251.111.0/16")));
        assert!(compare(CmpOp::Ne, &sip, &net("10.0.0.0/8")));
        assert!(compare(CmpOp::Ne, &sip, &net("2001:db8:abcd:0012::0/64")));
        assert!(!compare(CmpOp::Eq2, &sip, &net("10.0.0.0/8")));
        assert!(!compare(CmpOp::Eq2, &sip, &net("2001:db8:abcd:0012::0/64")));
        assert!(compare(CmpOp::Eq, &sip, &net("0.0.0.0/0")));
        assert!(compare(CmpOp::Eq, &sip, &net("142.251.111.147/32")));
        assert!(!compare(CmpOp::Eq, &sip, &net("142.251.111.146/32")));
    }

    #[test]
    fn net_compare_ipv6() {
        let sip = ip("2001:4860:4860::8888");
        let ipc = |t: &str| pc(FieldType::IpAddr, CmpOp::Eq, t);
        let net = |t: &str| pc(FieldType::IpNet, CmpOp::Eq, t);
        assert!(compare(CmpOp::Eq2, &sip, &ipc("2001:4860:4860::8888")));
        assert!(compare(CmpOp::Eq2, &ip("::1"), &ipc("::1")));
        assert!(!compare(CmpOp::Ne, &sip, &ipc("2001:4860:4860::8888")));
        assert!(compare(CmpOp::Ne, &sip, &ipc("127.0.0.1")));
        assert!(!compare(CmpOp::Eq2, &sip, &ipc("127.0.0.1")));
        assert!(compare(CmpOp::Eq2, &sip, &net("2001::0/16")));
        assert!(compare(CmpOp::Eq2, &sip, &net("2001:4860::0/32")));
        assert!(compare(CmpOp::Eq2, &sip, &net("2001:4860:4860::8888/48")));
        assert!(compare(CmpOp::Ne, &sip, &net("10::0/16")));
        assert!(compare(CmpOp::Ne, &sip, &net("10.0.0.0/8")));
        assert!(!compare(CmpOp::Eq2, &sip, &net("10.0.0.0/8")));
        assert!(!compare(CmpOp::Eq2, &sip, &net("2001:db8:abcd:0012::0/64")));
        assert!(compare(CmpOp::Eq, &sip, &net("2000::/7")));
        assert!(!compare(CmpOp::Eq, &sip, &net("2100::/8")));
    }

    #[test]
    fn numeric_compare() {
        // filter_op_numeric_compare.ut.cpp: evt.cpu = 1 (INT16), fd.num = -1
        let cpu = Value::Signed(1);
        let n = |op, v: &Value<'_>, t: &str| compare(op, v, &pc(FieldType::Signed, op, t));
        assert!(n(CmpOp::Lt, &cpu, "300"));
        assert!(!n(CmpOp::Gt, &cpu, "300"));
        assert!(n(CmpOp::Lt, &cpu, "2"));
        assert!(n(CmpOp::Gt, &cpu, "-500"));
        assert!(n(CmpOp::Le, &cpu, "500"));
        assert!(n(CmpOp::Le, &cpu, "1025"));
        assert!(!n(CmpOp::Ge, &cpu, "1025"));
        let fd = Value::Signed(-1);
        assert!(!n(CmpOp::Ge, &fd, "0"));
        assert!(!n(CmpOp::Gt, &fd, "0"));
        assert!(n(CmpOp::Lt, &fd, "0"));
        assert!(!n(CmpOp::Gt, &fd, "4294967295"));
        assert!(!n(CmpOp::Lt, &fd, "-1"));
        assert!(n(CmpOp::Gt, &fd, "-65535"));
        assert!(n(CmpOp::Eq, &fd, "-1"));
        assert!(n(CmpOp::Ne, &fd, "1"));
        let u = Value::Unsigned(5);
        assert!(compare(
            CmpOp::Ge,
            &u,
            &pc(FieldType::Unsigned, CmpOp::Ge, "5")
        ));
        assert!(
            compare(CmpOp::Gt, &u, &Value::Signed(-1)),
            "mixed kinds compare by value"
        );
        assert!(compare(
            CmpOp::Le,
            &Value::Double(0.5),
            &pc(FieldType::Double, CmpOp::Le, "1")
        ));
        assert!(!compare(CmpOp::Contains, &u, &Value::Unsigned(5)));
        assert!(compare(CmpOp::Eq, &Value::Bool(true), &Value::Bool(true)));
        assert!(compare(CmpOp::Ne, &Value::Bool(true), &Value::Bool(false)));
        assert!(!compare(CmpOp::Lt, &Value::Bool(false), &Value::Bool(true)));
        assert!(!compare(CmpOp::Eq, &s("1"), &Value::Unsigned(1)));
        assert!(compare(CmpOp::Ne, &s("1"), &Value::Unsigned(1)));
    }

    #[test]
    fn comparability() {
        use FieldType::*;
        let ok = |op, ty| check_comparable(op, None, ty, false).is_ok();
        assert!(ok(CmpOp::Lt, Str));
        assert!(ok(CmpOp::PMatch, Path));
        assert!(!ok(CmpOp::BContains, Str));
        assert!(ok(CmpOp::BContains, Bytes));
        assert!(!ok(CmpOp::Glob, Bytes));
        assert!(!ok(CmpOp::Regex, Bytes));
        assert!(ok(CmpOp::Lt, Double));
        assert!(!ok(CmpOp::Contains, Double));
        assert!(!ok(CmpOp::Lt, Bool));
        assert!(ok(CmpOp::Intersects, Bool));
        assert!(!ok(CmpOp::Lt, IpAddr));
        assert!(ok(CmpOp::Exists, IpNet));
        assert_eq!(
            check_comparable(CmpOp::Contains, None, Signed, false),
            Err("'contains' operator not supported for numeric filters".to_string())
        );
        assert_eq!(
            check_comparable(CmpOp::Glob, None, Bool, false),
            Err("'glob' operator not supported for numeric filters".to_string())
        );
        assert_eq!(
            check_comparable(CmpOp::Regex, None, IpAddr, false),
            Err("'regex' operator not supported for ip address and network filters".to_string())
        );
        assert_eq!(
            check_comparable(CmpOp::Regex, Some(Modifier::AllOf), IpAddr, false),
            Err(
                "'regex' with modifier not supported for ip address and network filters"
                    .to_string()
            )
        );
        assert!(check_comparable(CmpOp::Eq2, Some(Modifier::AnyOf), IpAddr, false).is_ok());
        assert_eq!(
            check_comparable(CmpOp::Glob, None, Bytes, false),
            Err("'glob' operator not supported for buffer filters".to_string())
        );
        assert_eq!(
            check_comparable(CmpOp::Eq, None, Str, true),
            Err("'=' operator not supported list filters".to_string())
        );
        assert_eq!(
            check_comparable(CmpOp::In, None, Signed, true),
            Err("list filters are not supported for type 'INT64'".to_string())
        );
        assert!(check_comparable(CmpOp::Intersects, None, Str, true).is_ok());
        assert!(check_comparable(CmpOp::Exists, None, Signed, true).is_ok());
    }
}
