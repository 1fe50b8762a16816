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
//! Alias expansion is bounded (see [`NODE_BUDGET`]): aliases are copied into the tree, so a
//! "billion laughs" document of a few hundred bytes would otherwise expand to billions of
//! nodes. The one reader serves rules files, `palisade.yaml` and profiles alike.
//!
//! yaml-cpp also tolerates a plain scalar that starts with `!` (such as `desc: != after x`),
//! which YAML reads as a tag: a non-core tag on a plain scalar is folded back into its text.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver, Tag};

/// A position in a source text (1-based line and column, byte-free).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// Fixed part of the budget on a document's expanded size, in nodes: the nodes built for a
/// text of `n` bytes, aliases expanded, may number at most `NODE_BUDGET + n`. Without aliases a
/// text cannot hold more nodes than it has bytes, so only alias expansion can exceed the
/// budget; one million nodes is ~40 times the upstream Falco rules (~25,000 nodes) and
/// costs ~100 MB at most.
pub const NODE_BUDGET: usize = 1_000_000;

/// Fixed part of the budget on the expanded document's scalar text, in bytes: at most
/// `SCALAR_BYTES_BUDGET + n` for a text of `n` bytes, so one long anchored scalar aliased many
/// times cannot expand either.
pub const SCALAR_BYTES_BUDGET: usize = 64 << 20;

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
    parse_documents_until(text, None)
}

/// [`parse_documents`], giving up (an error at the current position, message
/// [`INTERRUPTED`]) once `cancel` is set: a rules file of 100,000 rules takes a while to read.
pub fn parse_documents_until(text: &str, cancel: Option<&AtomicBool>) -> Result<Vec<Node>, YamlError> {
    let mut fixed: Option<String> = None;
    for _ in 0..1000 {
        let current = fixed.as_deref().unwrap_or(text);
        match parse_once(current, cancel) {
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
    parse_once(fixed.as_deref().unwrap_or(text), cancel)
}

/// The message of the error [`parse_documents_until`] gives when cancelled.
pub const INTERRUPTED: &str = "interrupted";

fn parse_once(text: &str, cancel: Option<&AtomicBool>) -> Result<Vec<Node>, YamlError> {
    let mut builder = Builder {
        cancel,
        node_budget: NODE_BUDGET.saturating_add(text.len()),
        byte_budget: SCALAR_BYTES_BUDGET.saturating_add(text.len()),
        ..Builder::default()
    };
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

/// A collection being built; its position, anchor id, items, and the [`Size`] counted when it
/// started (its own size is the difference at its end).
enum Frame {
    Seq(Pos, usize, Vec<Node>, Size),
    Map(Pos, usize, Vec<(Node, Node)>, Option<Node>, Size),
}

/// The expanded size of (part of) a document: nodes and scalar bytes.
#[derive(Clone, Copy, Debug, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
}

#[derive(Default)]
struct Builder<'c> {
    /// Checked at every event: once set, nothing more is built (the parser still scans the
    /// rest of the text, which is cheap next to building it).
    cancel: Option<&'c AtomicBool>,
    docs: Vec<Node>,
    stack: Vec<Frame>,
    /// Anchored nodes with their expanded size, which an alias adds again.
    anchors: HashMap<usize, (Node, Size)>,
    /// Everything built so far, aliases expanded (invariant: within the budgets, else `error`).
    total: Size,
    node_budget: usize,
    byte_budget: usize,
    /// The first error; once set, further events are ignored (nothing more is built).
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

impl Builder<'_> {
    /// Counts `add` into the total, or records the budget error at `pos` (an alias) and
    /// returns false.
    fn spend(&mut self, add: Size, pos: Pos) -> bool {
        let nodes = self.total.nodes.saturating_add(add.nodes);
        let bytes = self.total.bytes.saturating_add(add.bytes);
        if nodes > self.node_budget || bytes > self.byte_budget {
            let what = if nodes > self.node_budget {
                format!("{} nodes", self.node_budget)
            } else {
                format!("{} bytes of scalar text", self.byte_budget)
            };
            self.error = Some(YamlError {
                pos,
                message: format!(
                    "alias expansion exceeds the limit of {what} for this document (anchors and aliases nested to expand exponentially?)"
                ),
            });
            return false;
        }
        self.total = Size { nodes, bytes };
        true
    }

    /// The size counted since `start`, plus the collection node itself.
    fn since(&self, start: Size) -> Size {
        Size { nodes: self.total.nodes - start.nodes + 1, bytes: self.total.bytes - start.bytes }
    }

    fn push_node(&mut self, node: Node, anchor: usize, size: Size) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(_, _, items, _)) => items.push(node),
            Some(Frame::Map(_, _, pairs, key, _)) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder<'_> {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        if self.error.is_some() {
            return;
        }
        let pos = pos_of(&span);
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            self.error = Some(YamlError { pos, message: INTERRUPTED.into() });
            return;
        }
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
                let size = Size { nodes: 1, bytes: node_bytes(&kind) };
                // Text from the source itself: within the budget by construction (n bytes).
                self.total = Size { nodes: self.total.nodes + 1, bytes: self.total.bytes + size.bytes };
                self.push_node(Node { pos, kind }, anchor, size);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq(pos, anchor, Vec::new(), self.total))
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(pos, anchor, Vec::new(), None, self.total))
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(p, anchor, items, start)) = self.stack.pop() {
                    let size = self.since(start);
                    self.total.nodes += 1;
                    self.push_node(Node { pos: p, kind: NodeKind::Seq(items) }, anchor, size);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(p, anchor, pairs, _, start)) = self.stack.pop() {
                    let size = self.since(start);
                    self.total.nodes += 1;
                    self.push_node(Node { pos: p, kind: NodeKind::Map(pairs) }, anchor, size);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id).map(|(_, size)| *size) {
                // The size is checked before the subtree is cloned.
                Some(size) => {
                    if self.spend(size, pos) {
                        if let Some((node, _)) = self.anchors.get(&id) {
                            let node = node.clone();
                            self.push_node(node, 0, size);
                        }
                    }
                }
                None => self.error = Some(YamlError { pos, message: "unknown anchor".into() }),
            },
            Event::DocumentEnd | Event::DocumentStart(_) | Event::StreamStart
            | Event::StreamEnd | Event::Nothing => {}
        }
    }
}

/// The scalar bytes of a node built from one event.
fn node_bytes(kind: &NodeKind) -> usize {
    match kind {
        NodeKind::Scalar(s, _) => s.len(),
        _ => 0,
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

    /// Nine levels of nine aliases each would expand to 9^9 (~387 million) nodes: the budget
    /// stops it at the alias where it runs out, quickly, before anything large is built.
    #[test]
    fn alias_bomb_is_bounded() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().zip(["b", "c", "d", "e", "f", "g", "h", "i"]) {
            let items = vec![format!("*{prev}"); 9].join(",");
            text.push_str(&format!("{name}: &{name} [{items}]\n"));
        }
        let started = std::time::Instant::now();
        let e = parse_documents(&text).expect_err("a bomb");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        // Levels a to f hold ~672,000 nodes, f alone 597,871: the first `*f` of line 7
        // (`g: &g [*f,...`, column 8) passes the budget of 1,000,000 nodes plus the text's length.
        assert_eq!(e.pos, Pos { line: 7, col: 8 }, "{e:?}");
        let budget = NODE_BUDGET + text.len();
        assert_eq!(
            e.message,
            format!("alias expansion exceeds the limit of {budget} nodes for this document (anchors and aliases nested to expand exponentially?)")
        );
    }

    /// One long anchored scalar aliased many times is bounded by its bytes, not its nodes.
    #[test]
    fn long_scalar_aliases_are_bounded() {
        let long = "x".repeat(1 << 20);
        let items = vec!["*a"; 100].join(", ");
        let text = format!("a: &a {long}\nb: [{items}]\n");
        let e = parse_documents(&text).expect_err("too much text");
        let budget = SCALAR_BYTES_BUDGET + text.len();
        assert!(e.message.starts_with(&format!("alias expansion exceeds the limit of {budget} bytes of scalar text")), "{e:?}");
        assert_eq!(e.pos.line, 2);
    }

    /// Ordinary anchors and aliases still resolve to copies of the anchored node.
    #[test]
    fn aliases_still_resolve() {
        let docs = parse_documents("a: &l [x, y]\nb: [*l, *l]\nc: *l\n").expect("parse");
        let b = docs[0].get("b").and_then(Node::as_seq).expect("b");
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].as_seq().map(|s| s.len()), Some(2));
        assert_eq!(docs[0].get("c").and_then(Node::as_seq).map(|s| s[1].as_str()), Some(Some("y")));
    }
}
