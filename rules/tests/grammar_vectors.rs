//! libsinsp's condition vectors (`../shared/falco/conformance/grammar_cases.jsonl`): every
//! parse-level and compile-level vector must classify as upstream says, and compile-level
//! warning counts must match.
//!
//! libsinsp's compiler tests use a mock filtercheck class `c.*` (`c.true`, `c.false`, ... as
//! CHARBUF, `c.buffer` as BYTEBUF). We map each mock to a real field of the same type, which
//! keeps exactly what the vector tests (operator/type compatibility and syntax).

mod common;

use palisade_rules::condition::parser::{parse, parse_with_depth};
use palisade_rules::eval::compile;
use palisade_rules::Source;
use serde_json::Value as Json;

/// Vectors whose outcome legitimately differs, by line, with the reason. At most 1%.
const EXCEPTIONS: &[(usize, &str)] = &[];

pub fn map_mock_fields(cond: &str) -> String {
    cond.replace("c.true", "proc.name")
        .replace("c.false", "proc.exe")
        .replace("c.buffer", "evt.buffer")
        .replace("c.doublequote", "proc.cmdline")
        .replace("c.singlequote", "proc.args")
}

fn vectors() -> Vec<(usize, Json)> {
    let path = common::falco_dir().join("conformance/grammar_cases.jsonl");
    let text = std::fs::read_to_string(&path).expect("read vectors");
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, serde_json::from_str(l).expect("json line")))
        .collect()
}

#[test]
fn parse_level_vectors_classify_as_upstream() {
    let mut failures = Vec::new();
    let mut n = 0;
    for (line, v) in vectors() {
        if v["level"] != "parse" || EXCEPTIONS.iter().any(|(l, _)| *l == line) {
            continue;
        }
        n += 1;
        let cond = v["condition"].as_str().expect("condition");
        let want = v["expect"] == "valid";
        let got = parse(cond);
        if got.is_ok() != want {
            failures.push(format!("line {line}: {cond:?} expected {} got {:?}", v["expect"], got.map(|e| e.to_string())));
        }
        // Upstream re-tests every vector with the blanks between tokens permuted: a valid
        // condition stays valid with tabs and newlines in place of spaces.
        if want && !cond.contains(['"', '\'']) {
            for blank in ["\t", "\n", "\r\n  "] {
                let permuted = cond.replace(' ', blank);
                if parse(&permuted).is_err() {
                    failures.push(format!("line {line}: {permuted:?} (blanks permuted) should parse"));
                }
            }
        }
    }
    assert_eq!(n, 574);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn compile_level_vectors_classify_as_upstream() {
    let mut failures = Vec::new();
    let mut n = 0;
    for (line, v) in vectors() {
        if v["level"] != "compile" || EXCEPTIONS.iter().any(|(l, _)| *l == line) {
            continue;
        }
        n += 1;
        let cond = map_mock_fields(v["condition"].as_str().expect("condition"));
        let want = v["expect"] == "valid";
        let got = parse(&cond).map_err(|e| e.message).and_then(|e| compile(&e, Source::Syscall).map_err(|e| e.message));
        match (&got, want) {
            (Ok(out), true) => {
                let note = v["note"].as_str().unwrap_or("");
                if let Some(w) = note.strip_prefix("expected warnings: ") {
                    let want_w: usize = w.trim().parse().expect("warning count");
                    if out.warnings.len() != want_w {
                        failures.push(format!("line {line}: {cond:?} expected {want_w} warnings, got {:?}", out.warnings));
                    }
                }
            }
            (Err(_), false) => {}
            _ => failures.push(format!("line {line}: {cond:?} expected {} got {:?}", v["expect"], got.as_ref().map(|_| "ok"))),
        }
    }
    assert_eq!(n, 382);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn depth_limit_regression() {
    // libsinsp rejects 100,000 '(' with "exceeded max depth"; so do we, without overflowing.
    let e = parse(&"(".repeat(100_000)).expect_err("too deep");
    assert!(e.message.contains("exceeded max depth"), "{}", e.message);
    // Deep but legal nesting within the loader's limit parses.
    let nested = format!("{}a.b = 1{}", "(".repeat(150), ")".repeat(150));
    assert!(parse_with_depth(&nested, 1000).is_ok());
    assert!(parse(&nested).is_err());
}
