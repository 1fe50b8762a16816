//! Constant parsing (`string_to_rawval`): numbers, booleans, addresses, networks, hex buffers
//! and ports.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::condition::ast::CmpOp;
use crate::fields::FieldType;
use crate::value::Value;

use super::{check_comparable, not_supported};

/// `sscanf(s, "%d%c")`-style scan: optional leading white space, optional sign, at least one
/// decimal digit, nothing after. Returns the sign and the magnitude (saturated above `u64::MAX`).
fn scan_decimal(s: &str) -> Option<(bool, u128)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let digits_start = i;
    let mut mag: u128 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        mag = (mag * 10 + u128::from(b[i] - b'0')).min(u128::from(u64::MAX) + 1);
        i += 1;
    }
    if i == digits_start || i != b.len() {
        return None;
    }
    Some((neg, mag))
}

fn not_a_number(s: &str) -> String {
    format!("{s} is not a valid number")
}

/// `strtoull` semantics (negative values wrap, overflow saturates).
fn parse_u64(s: &str) -> Result<u64, String> {
    let (neg, mag) = scan_decimal(s).ok_or_else(|| not_a_number(s))?;
    if mag > u128::from(u64::MAX) {
        return Ok(u64::MAX);
    }
    let v = mag as u64;
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// `strtoll` semantics (overflow saturates).
fn parse_i64(s: &str) -> Result<i64, String> {
    let (neg, mag) = scan_decimal(s).ok_or_else(|| not_a_number(s))?;
    Ok(if neg {
        if mag >= 1u128 << 63 {
            i64::MIN
        } else {
            -(mag as i64)
        }
    } else if mag > i64::MAX as u128 {
        i64::MAX
    } else {
        mag as i64
    })
}

/// libsinsp's `parsed32` (`%d` into an `int`: the `long` result truncated to 32 bits).
fn parse_i32(s: &str) -> Result<i32, String> {
    parse_i64(s).map(|v| v as i32)
}

/// libsinsp's `parseu8` (`%u` into a `uint32_t`, then truncated to 8 bits).
fn parse_u8(s: &str) -> Result<u8, String> {
    parse_u64(s).map(|v| v as u32 as u8)
}

/// `inet_pton(AF_INET)`: strict dotted quad, no leading zeros.
fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    s.parse::<Ipv4Addr>().ok()
}

/// `inet_pton(AF_INET6)`.
fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    s.parse::<Ipv6Addr>().ok()
}

/// Decode a hex string (`sinsp_utils::unhex`): even length, hex digits only, either case.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() & 1 == 1 || !b.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let val = |c: u8| -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => c - b'A' + 10,
        }
    };
    Some(
        b.chunks_exact(2)
            .map(|p| (val(p[0]) << 4) | val(p[1]))
            .collect(),
    )
}

/// Parse a right-hand-side literal into the constant compared against a field of type `ty` with
/// operator `op`, as libsinsp does at compile time (`add_filtercheck_value` +
/// `string_to_rawval`). Errors are libsinsp's texts.
///
/// * `bcontains`/`bstartswith` on BYTEBUF: hex (`68656c6c6f`), else
///   `filter error: bcontains and bstartswith operator support hex strings only`.
/// * Any other operator on BYTEBUF: the raw text bytes (NUL allowed).
/// * Every other type rejects NUL bytes.
/// * CHARBUF/FSPATH: the text; INT*: `strtoll`; UINT*/times: `strtoull`; DOUBLE: a 32-bit
///   integer; BOOL: `true`/`false`; IPADDR: v4 if the text has a `.`, else v6; IPNET: `addr/len`.
///
/// For `regex` the text is the pattern (build a [`CompiledRegex`]); for `pmatch` it is a search
/// path (build a [`PathPrefixSet`]). Port fields (`fd.port`, …) also accept service names: use
/// [`parse_port`] for them.
///
/// [`CompiledRegex`]: super::CompiledRegex
/// [`PathPrefixSet`]: super::PathPrefixSet
pub fn parse_constant(ty: FieldType, op: CmpOp, text: &str) -> Result<Value<'static>, String> {
    if matches!(op, CmpOp::BContains | CmpOp::BStartsWith) {
        if ty != FieldType::Bytes {
            return Err(check_comparable(op, None, ty, false)
                .err()
                .unwrap_or_else(|| not_supported(op, "this field")));
        }
        return unhex(text)
            .map(|b| Value::Bytes(Cow::Owned(b)))
            .ok_or_else(|| {
                "filter error: bcontains and bstartswith operator support hex strings only"
                    .to_string()
            });
    }
    if ty == FieldType::Bytes {
        return Ok(Value::Bytes(Cow::Owned(text.as_bytes().to_vec())));
    }
    if text.as_bytes().contains(&0) {
        return Err("filter error: filter value cannot contain a NUL byte (\\x00)".to_string());
    }
    match ty {
        FieldType::Str | FieldType::Path => Ok(Value::string(text.to_string())),
        FieldType::Signed => parse_i64(text).map(Value::Signed),
        FieldType::Unsigned | FieldType::RelTime | FieldType::AbsTime => {
            parse_u64(text).map(Value::Unsigned)
        }
        FieldType::Double => parse_i32(text).map(|v| Value::Double(f64::from(v))),
        FieldType::Bool => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("filter error: unrecognized boolean value {text}")),
        },
        FieldType::IpAddr => {
            if text.contains('.') {
                parse_ipv4(text)
                    .map(|a| Value::Ip(IpAddr::V4(a)))
                    .ok_or_else(|| format!("unrecognized IPv4 address {text}"))
            } else {
                parse_ipv6(text)
                    .map(|a| Value::Ip(IpAddr::V6(a)))
                    .ok_or_else(|| format!("unrecognized IPv6 address {text}"))
            }
        }
        FieldType::IpNet => parse_net(text),
        FieldType::Bytes => unreachable_bytes(),
    }
}

#[cold]
fn unreachable_bytes() -> Result<Value<'static>, String> {
    Err("internal error: bytes handled above".to_string())
}

fn parse_net(text: &str) -> Result<Value<'static>, String> {
    if text.contains('.') {
        let Some((ip, mask)) = text.split_once('/') else {
            return Err(format!("unrecognized IP network {text}"));
        };
        let addr = parse_ipv4(ip).ok_or_else(|| format!("unrecognized IP address {text}"))?;
        let len = parse_u8(mask)?;
        if len > 32 {
            return Err(format!("invalid netmask {mask}"));
        }
        Ok(Value::Net(IpAddr::V4(addr), len))
    } else {
        let Some((ip, mask)) = text.split_once('/') else {
            return Err(format!("invalid v6 netmask: {text}"));
        };
        let addr = parse_ipv6(ip).ok_or_else(|| format!("unrecognized IPv6 address {text}"))?;
        let len = parse_u8(mask)?;
        if len == 0 || len > 128 {
            return Err(format!("invalid v6 netmask {mask}"));
        }
        Ok(Value::Net(IpAddr::V6(addr), len))
    }
}

/// Parse a constant for a PORT field (`fd.port`, `fd.sport`, …): empty → 0, digits → the number
/// (truncated to 16 bits as upstream's `stoi` + `uint16_t`), otherwise a service name looked up in
/// `/etc/services` like `getservbyname(name, NULL)` (`http` → 80).
pub fn parse_port(text: &str) -> Result<Value<'static>, String> {
    if text.as_bytes().contains(&0) {
        return Err("filter error: filter value cannot contain a NUL byte (\\x00)".to_string());
    }
    if text.is_empty() {
        return Ok(Value::Unsigned(0));
    }
    if text.bytes().all(|c| c.is_ascii_digit()) {
        // std::stoi: out of `int` range throws std::out_of_range("stoi").
        let v: i64 = match text.trim_start_matches('0') {
            "" => 0,
            t if t.len() > 10 => return Err("stoi".to_string()),
            t => t.parse().map_err(|_| "stoi".to_string())?,
        };
        if v > i64::from(i32::MAX) {
            return Err("stoi".to_string());
        }
        return Ok(Value::Unsigned(u64::from(v as u16)));
    }
    let services = std::fs::read_to_string("/etc/services").unwrap_or_default();
    lookup_service(&services, text)
        .map(|p| Value::Unsigned(u64::from(p)))
        .ok_or_else(|| format!("unrecognized protocol {text}"))
}

/// The port of service `name` (or alias) in an `/etc/services`-formatted text.
fn lookup_service(services: &str, name: &str) -> Option<u16> {
    for line in services.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let (Some(svc), Some(port_proto)) = (words.next(), words.next()) else {
            continue;
        };
        if svc == name || words.any(|alias| alias == name) {
            if let Some(port) = port_proto.split('/').next().and_then(|p| p.parse().ok()) {
                return Some(port);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ip, pc, s};
    use super::*;

    #[test]
    fn ip_parse_errors() {
        let e = |ty, t: &str| parse_constant(ty, CmpOp::Eq, t).expect_err(t);
        assert_eq!(
            e(FieldType::IpAddr, "10.0.0.0/8"),
            "unrecognized IPv4 address 10.0.0.0/8"
        );
        assert_eq!(
            e(FieldType::IpAddr, "1.2.3"),
            "unrecognized IPv4 address 1.2.3"
        );
        assert_eq!(
            e(FieldType::IpAddr, "256.1.1.1"),
            "unrecognized IPv4 address 256.1.1.1"
        );
        assert_eq!(
            e(FieldType::IpAddr, "::ffff:1.2.3.4"),
            "unrecognized IPv4 address ::ffff:1.2.3.4"
        );
        assert_eq!(
            e(FieldType::IpAddr, "zz::1"),
            "unrecognized IPv6 address zz::1"
        );
        assert_eq!(
            e(FieldType::IpAddr, "localhost"),
            "unrecognized IPv6 address localhost"
        );
        assert_eq!(
            e(FieldType::IpNet, "10.0.0.1"),
            "unrecognized IP network 10.0.0.1"
        );
        assert_eq!(
            e(FieldType::IpNet, "10.0.0/8"),
            "unrecognized IP address 10.0.0/8"
        );
        assert_eq!(e(FieldType::IpNet, "10.0.0.0/33"), "invalid netmask 33");
        assert_eq!(e(FieldType::IpNet, "10.0.0.0/x"), "x is not a valid number");
        assert_eq!(e(FieldType::IpNet, "10.0.0.0/"), " is not a valid number");
        assert_eq!(e(FieldType::IpNet, "2001::"), "invalid v6 netmask: 2001::");
        assert_eq!(e(FieldType::IpNet, "2001::/0"), "invalid v6 netmask 0");
        assert_eq!(e(FieldType::IpNet, "2001::/129"), "invalid v6 netmask 129");
        assert_eq!(
            e(FieldType::IpNet, "20x1::/16"),
            "unrecognized IPv6 address 20x1::/16"
        );
        // The mask goes through an 8-bit truncation, as upstream.
        assert_eq!(
            pc(FieldType::IpNet, CmpOp::Eq, "10.0.0.0/264"),
            Value::Net(ip_addr("10.0.0.0"), 8)
        );
        assert_eq!(
            pc(FieldType::IpNet, CmpOp::Eq, "10.0.0.0/0"),
            Value::Net(ip_addr("10.0.0.0"), 0)
        );
        assert_eq!(pc(FieldType::IpAddr, CmpOp::Eq, "::1"), ip("::1"));
    }

    fn ip_addr(x: &str) -> IpAddr {
        x.parse().expect("test ip")
    }

    #[test]
    fn bytebuf_hex() {
        let hex = |t: &str| parse_constant(FieldType::Bytes, CmpOp::BContains, t);
        let err = "filter error: bcontains and bstartswith operator support hex strings only";
        for bad in ["g", "123Z", "abc_1", "2", "2g", "\0", "0x00"] {
            assert_eq!(hex(bad).expect_err(bad), err, "{bad}");
            assert_eq!(
                parse_constant(FieldType::Bytes, CmpOp::BStartsWith, bad).expect_err(bad),
                err
            );
        }
        assert_eq!(
            hex("12ab001fc5").expect("hex"),
            Value::Bytes(Cow::Owned(vec![0x12, 0xab, 0, 0x1f, 0xc5]))
        );
        assert_eq!(
            hex("656c6C").expect("hex"),
            Value::Bytes(Cow::Owned(b"ell".to_vec()))
        );
        assert_eq!(hex("").expect("hex"), Value::Bytes(Cow::Owned(vec![])));
        // Other operators on a buffer take the raw text, NUL included.
        assert_eq!(
            pc(FieldType::Bytes, CmpOp::Eq, "a\0b"),
            Value::Bytes(Cow::Owned(b"a\0b".to_vec()))
        );
        assert_eq!(
            pc(FieldType::Bytes, CmpOp::Contains, "6869"),
            Value::Bytes(Cow::Owned(b"6869".to_vec()))
        );
        // b-operators on other types are not comparable.
        assert_eq!(
            parse_constant(FieldType::Str, CmpOp::BContains, "3030").expect_err("str"),
            "'bcontains' operator not supported for string filters"
        );
    }

    #[test]
    fn numeric_parse() {
        let e = |ty, t: &str| parse_constant(ty, CmpOp::Eq, t).expect_err(t);
        assert_eq!(e(FieldType::Double, "1.0"), "1.0 is not a valid number");
        assert_eq!(pc(FieldType::Double, CmpOp::Eq, "1"), Value::Double(1.0));
        assert_eq!(pc(FieldType::Double, CmpOp::Lt, "-7"), Value::Double(-7.0));
        // DOUBLE constants are 32-bit ints: 2^32 truncates to 0.
        assert_eq!(
            pc(FieldType::Double, CmpOp::Eq, "4294967296"),
            Value::Double(0.0)
        );
        for bad in ["", "abc", "1.5", "1e3", "0x10", "12 ", "+", "-", "1-"] {
            assert_eq!(
                e(FieldType::Signed, bad),
                format!("{bad} is not a valid number")
            );
            assert_eq!(
                e(FieldType::Unsigned, bad),
                format!("{bad} is not a valid number")
            );
            assert_eq!(
                e(FieldType::AbsTime, bad),
                format!("{bad} is not a valid number")
            );
        }
        assert_eq!(
            pc(FieldType::Signed, CmpOp::Eq, "-500"),
            Value::Signed(-500)
        );
        assert_eq!(pc(FieldType::Signed, CmpOp::Eq, " +42"), Value::Signed(42));
        assert_eq!(
            pc(FieldType::Signed, CmpOp::Eq, "4294967295"),
            Value::Signed(4294967295)
        );
        assert_eq!(
            pc(FieldType::Signed, CmpOp::Eq, "99999999999999999999"),
            Value::Signed(i64::MAX)
        );
        assert_eq!(
            pc(FieldType::Signed, CmpOp::Eq, "-99999999999999999999"),
            Value::Signed(i64::MIN)
        );
        assert_eq!(
            pc(FieldType::Unsigned, CmpOp::Eq, "18446744073709551615"),
            Value::Unsigned(u64::MAX)
        );
        assert_eq!(
            pc(FieldType::Unsigned, CmpOp::Eq, "18446744073709551616"),
            Value::Unsigned(u64::MAX)
        );
        assert_eq!(
            pc(FieldType::Unsigned, CmpOp::Eq, "-1"),
            Value::Unsigned(u64::MAX)
        );
        assert_eq!(pc(FieldType::RelTime, CmpOp::Eq, "007"), Value::Unsigned(7));
        assert_eq!(pc(FieldType::Bool, CmpOp::Eq, "true"), Value::Bool(true));
        assert_eq!(pc(FieldType::Bool, CmpOp::Eq, "false"), Value::Bool(false));
        assert_eq!(
            e(FieldType::Bool, "1"),
            "filter error: unrecognized boolean value 1"
        );
        assert_eq!(
            e(FieldType::Bool, "True"),
            "filter error: unrecognized boolean value True"
        );
        let nul = "filter error: filter value cannot contain a NUL byte (\\x00)";
        assert_eq!(e(FieldType::Str, "\0"), nul);
        assert_eq!(e(FieldType::Path, "a\0"), nul);
        assert_eq!(e(FieldType::Signed, "1\0"), nul);
        assert_eq!(
            parse_constant(FieldType::Str, CmpOp::Glob, "\0?").expect_err("nul"),
            nul
        );
        assert_eq!(pc(FieldType::Str, CmpOp::Eq, "bash"), s("bash"));
    }

    #[test]
    fn port_parse() {
        assert_eq!(parse_port("").expect("empty"), Value::Unsigned(0));
        assert_eq!(parse_port("443").expect("443"), Value::Unsigned(443));
        assert_eq!(parse_port("65536").expect("wraps"), Value::Unsigned(0));
        assert_eq!(parse_port("99999999999").expect_err("stoi"), "stoi");
        let services = "# comment\nssh\t\t22/tcp\nhttp 80/tcp www # web\nhttp 80/udp\n";
        assert_eq!(lookup_service(services, "http"), Some(80));
        assert_eq!(lookup_service(services, "www"), Some(80));
        assert_eq!(lookup_service(services, "ssh"), Some(22));
        assert_eq!(lookup_service(services, "comment"), None);
        assert_eq!(
            parse_port("no-such-service-xyz").expect_err("unknown"),
            "unrecognized protocol no-such-service-xyz"
        );
    }
}
