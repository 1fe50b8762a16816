//! A small YAML document tree that keeps the position of every node.
//!
//! Why not serde_yaml: it is archived upstream and keeps no positions, while every rule-file
//! error must name the line and column of the item, and of the condition inside it. We build
//! this tree from `saphyr-parser` events (a maintained YAML 1.2 parser that reports spans).
//!
//! YAML 1.2 matters: Falco's yaml-cpp reads a bare `=` in `comps: [=]` as the string `=`, which
//! YAML 1.1 loaders reject. Scalars are kept as text with their style; typing (`true`,
//! integers) happens where a key's meaning is known. Anchors and aliases are resolved.
//!
//! yaml-cpp also tolerates a plain scalar that starts with `!` (such as `desc: != after x`),
//! which YAML reads as a tag: a non-core tag on a plain scalar is folded back into its text.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver, Tag};

/// A position in a source text (1-based line and column, byte-free).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

/// A YAML node with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// What it is.
    pub kind: NodeKind,
}

/// The kinds of YAML node.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// `~`, `null` or an empty value.
    Null,
    /// A scalar: its text and whether it was quoted (quoted scalars are always strings).
    Scalar(String, bool),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The text of a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// A scalar read as a YAML 1.2 core-schema boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            NodeKind::Scalar(s, false) => match s.as_str() {
                "true" | "True" | "TRUE" => Some(true),
                "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// The items of a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(v) => Some(v),
            _ => None,
        }
    }

    /// The pairs of a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(v) => Some(v),
            _ => None,
        }
    }

    /// Look up a key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    /// Whether the node is null.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    /// A short name of the node's kind for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Scalar(..) => "scalar",
            NodeKind::Seq(_) => "sequence",
            NodeKind::Map(_) => "mapping",
        }
    }
}

/// A YAML syntax error with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// The parser's message.
    pub message: String,
}

/// Parse every document of `text`.
///
/// yaml-cpp (Falco) and libyaml accept a flow sequence whose closing bracket sits at the
/// indentation of its key (`items: [\n    a,\n  ]`, as in upstream falco-sandbox_rules.yaml);
/// YAML 1.2 and saphyr reject it as "invalid indentation". When that error points at a line
/// holding only a closing bracket, that line is indented further and parsing retried, so
/// such files load as they do in Falco. Columns elsewhere are unchanged.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut fixed: Option<String> = None;
    for _ in 0..1000 {
        let current = fixed.as_deref().unwrap_or(text);
        match parse_once(current) {
            Ok(docs) => return Ok(docs),
            Err(e) if e.message.contains("indentation") => {
                let mut lines: Vec<&str> = current.split('\n').collect();
                let Some(line) = lines.get(e.pos.line.saturating_sub(1)) else { return Err(e) };
                let t = line.trim();
                if !matches!(t, "]" | "}" | "]," | "},") {
                    return Err(e);
                }
                let deeper = format!("    {line}");
                let idx = e.pos.line - 1;
                lines[idx] = &deeper;
                fixed = Some(lines.join("\n"));
            }
            Err(e) => return Err(e),
        }
    }
    parse_once(fixed.as_deref().unwrap_or(text))
}

fn parse_once(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| YamlError {
        pos: Pos { line: e.marker().line(), col: e.marker().col() + 1 },
        message: e.info().to_owned(),
    })?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.docs)
}

enum Frame {
    Seq(Pos, usize, Vec<Node>),
    Map(Pos, usize, Vec<(Node, Node)>, Option<Node>),
}

#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    error: Option<YamlError>,
}

fn pos_of(span: &Span) -> Pos {
    Pos { line: span.start.line(), col: span.start.col() + 1 }
}

fn tag_prefix(tag: &Tag) -> Option<String> {
    if tag.is_yaml_core_schema() {
        None
    } else {
        Some(format!("{}{}", tag.handle, tag.suffix))
    }
}

impl Builder {
    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, pairs, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        let pos = pos_of(&span);
        match ev {
            Event::Scalar(value, style, anchor, tag) => {
                let quoted = !matches!(style, ScalarStyle::Plain);
                let mut text = value.into_owned();
                if let Some(prefix) = tag.as_deref().and_then(tag_prefix) {
                    if !quoted {
                        text = if text.is_empty() { prefix } else { format!("{prefix} {text}") };
                    }
                }
                let kind = if !quoted && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL")
                {
                    NodeKind::Null
                } else {
                    NodeKind::Scalar(text, quoted)
                };
                self.push_node(Node { pos, kind }, anchor);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(pos, anchor, Vec::new())),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(pos, anchor, Vec::new(), None))
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(p, anchor, items)) = self.stack.pop() {
                    self.push_node(Node { pos: p, kind: NodeKind::Seq(items) }, anchor);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(p, anchor, pairs, _)) = self.stack.pop() {
                    self.push_node(Node { pos: p, kind: NodeKind::Map(pairs) }, anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.push_node(node, 0),
                None if self.error.is_none() => {
                    self.error = Some(YamlError { pos, message: "unknown anchor".into() })
                }
                None => {}
            },
            Event::DocumentEnd | Event::DocumentStart(_) | Event::StreamStart
            | Event::StreamEnd | Event::Nothing => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_kinds() {
        let docs = parse_documents("- rule: a\n  comps: [=]\n  desc: != x\n---\n- list: b\n")
            .expect("parse");
        assert_eq!(docs.len(), 2);
        let item = &docs[0].as_seq().expect("seq")[0];
        assert_eq!(item.pos, Pos { line: 1, col: 3 });
        assert_eq!(item.get("comps").and_then(|c| c.as_seq()).map(|s| s[0].as_str()), Some(Some("=")));
        assert_eq!(item.get("desc").and_then(Node::as_str), Some("!= x"));
        assert_eq!(item.get("rule").map(|n| n.pos), Some(Pos { line: 1, col: 9 }));
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse_documents("- rule: a\n  x: [\n").expect_err("broken");
        assert!(e.pos.line >= 2, "{e:?}");
    }
}
