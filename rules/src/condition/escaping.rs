//! Unescaping of quoted strings in conditions (libsinsp `unescape_str` semantics).
//!
//! Inside `"…"` or `'…'`: `\b \f \n \r \t \\ \/`, `\"` only inside double quotes, `\'` only
//! inside single quotes, `\xHH` (exactly two hex digits), and `\<space>`, which yields a single
//! backslash (a legacy tolerance an upstream sandbox rule relies on). Anything else is an error.

/// Unescape `raw`, which includes its opening and closing quote.
pub fn unescape(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let quote = bytes[0];
    let body = &bytes[1..bytes.len() - 1];
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = body.get(i) else {
            // A trailing lone backslash before the closing quote cannot happen: the lexer
            // would not have ended the string there. Keep it literally to stay total.
            out.push(b'\\');
            break;
        };
        i += 1;
        match e {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b' ' | b'\\' => out.push(b'\\'),
            b'/' => out.push(b'/'),
            b'"' | b'\'' if e == quote => out.push(e),
            b'"' => return Err("invalid \\\" escape in '-quoted string".into()),
            b'\'' => return Err("invalid \\' escape in \"-quoted string".into()),
            b'x' => {
                let hex = body.get(i..i + 2);
                let Some(hex) = hex else {
                    return Err("truncated hex char escape sequence".into());
                };
                let s = std::str::from_utf8(hex).unwrap_or("");
                match u8::from_str_radix(s, 16) {
                    Ok(v) if hex.iter().all(u8::is_ascii_hexdigit) => out.push(v),
                    _ => {
                        return Err(format!(
                            "invalid hex char escape sequence: {}",
                            String::from_utf8_lossy(hex)
                        ))
                    }
                }
                i += 2;
            }
            other => {
                return Err(format!(
                    "unsupported string escape sequence: \\{}",
                    char::from(other)
                ))
            }
        }
    }
    Ok(match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#""a\nb""#).as_deref(), Ok("a\nb"));
        assert_eq!(unescape(r#""a\"b""#).as_deref(), Ok("a\"b"));
        assert!(unescape(r#"'a\"b'"#).is_err());
        assert!(unescape(r#""a\'b""#).is_err());
        assert_eq!(unescape(r#"'a\'b'"#).as_deref(), Ok("a'b"));
        assert_eq!(unescape(r#""\ ""#).as_deref(), Ok("\\"));
        assert_eq!(unescape(r#""\x41""#).as_deref(), Ok("A"));
        assert!(unescape(r#""\x4""#).is_err());
        assert!(unescape(r#""\xZZ""#).is_err());
        assert!(unescape(r#""\q""#).is_err());
    }
}
