//! Errors and warnings of rule loading, each naming the file, line, column and item.

use std::fmt;
use std::sync::Arc;

use crate::yaml::Pos;

/// Whether a diagnostic stops the load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The ruleset is rejected.
    Error,
    /// Reported; the ruleset still loads.
    Warning,
}

/// The kind of item a diagnostic is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// `- rule:`
    Rule,
    /// `- macro:`
    Macro,
    /// `- list:`
    List,
    /// `- required_engine_version:`
    RequiredEngineVersion,
    /// `- required_plugin_versions:`
    RequiredPluginVersions,
    /// An `exceptions:` entry of a rule.
    Exception,
    /// Anything else at the top level.
    Item,
}

impl ItemKind {
    /// The YAML key naming this kind.
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Rule => "rule",
            ItemKind::Macro => "macro",
            ItemKind::List => "list",
            ItemKind::RequiredEngineVersion => "required_engine_version",
            ItemKind::RequiredPluginVersions => "required_plugin_versions",
            ItemKind::Exception => "exception",
            ItemKind::Item => "item",
        }
    }
}

/// Where a diagnostic points: a file position and the enclosing item.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// The rules file (as given to the loader).
    pub file: Arc<str>,
    /// Line and column in the file.
    pub pos: Pos,
    /// The enclosing item's kind and name, if known.
    pub item: Option<(ItemKind, String)>,
    /// The macro the position is in, when a rule's problem sits in a macro it uses.
    pub via: Option<String>,
}

impl Location {
    /// A location in `file` at `pos` inside `item`.
    pub fn new(file: std::sync::Arc<str>, pos: Pos, item: Option<(ItemKind, String)>) -> Location {
        Location { file, pos, item, via: None }
    }
}

/// One error or warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What happened (Falco's wording where Falco has a message for it).
    pub message: String,
    /// Where.
    pub location: Location,
    /// The source line(s) the position points into, for display.
    pub snippet: String,
}

impl Diagnostic {
    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: error: message (rule 'name')`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.location;
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}:{}: {sev}: {}", l.file, l.pos.line, l.pos.col, self.message)?;
        if let Some((kind, name)) = &l.item {
            if name.is_empty() {
                write!(f, " ({})", kind.name())?;
            } else {
                write!(f, " ({} '{}'", kind.name(), name)?;
                if let Some(m) = &l.via {
                    write!(f, ", in macro '{m}'")?;
                }
                f.write_str(")")?;
            }
        }
        Ok(())
    }
}

/// A loaded source text, kept to compute positions inside conditions and to show snippets.
///
/// Lines are found through an index of their starts: a file of 100,000 rules can give a
/// diagnostic per rule, and finding each one's line by scanning the text from its start made
/// loading quadratic.
#[derive(Clone, Debug)]
pub struct SourceText {
    /// The name given to the loader (usually the path).
    pub name: Arc<str>,
    /// The whole text.
    pub text: Arc<str>,
    /// Byte offset of each line's start (invariant: `line_starts[0] == 0`, increasing).
    line_starts: Vec<usize>,
}

impl SourceText {
    /// A source named `name` (used in diagnostics) with its text.
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> SourceText {
        let text: Arc<str> = text.into();
        let line_starts =
            std::iter::once(0).chain(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1)).collect();
        SourceText { name: name.into(), text, line_starts }
    }

    /// The text from the start of line `line` (1-based) to the end of the file.
    fn text_from_line(&self, line: usize) -> &str {
        let start = self.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(self.text.len());
        &self.text[start.min(self.text.len())..]
    }

    /// The text of line `line` (1-based), without its newline.
    pub fn line(&self, line: usize) -> &str {
        self.text_from_line(line).lines().next().unwrap_or("")
    }
}

/// Where a byte offset inside a scalar's *value* lands in the file.
///
/// A single-line value starts at the node (after its opening quote, if any). For block
/// scalars (`>`, `|`) and multi-line values, the line holding the offset is found by content
/// below the node; if it cannot be found, the node's own position is returned.
pub fn pos_in_scalar(src: &SourceText, node_pos: Pos, value: &str, offset: usize) -> Pos {
    let mut offset = offset.min(value.len());
    while !value.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &value[..offset];
    let line_in_value = before.matches('\n').count();
    let col_in_line = before.rsplit('\n').next().map_or(0, |s| s.chars().count());
    let node_line = src.line(node_pos.line);
    let at_node = node_line.get(node_pos.col.saturating_sub(1)..).unwrap_or("");
    let opens_block = at_node.starts_with(['>', '|']);
    if line_in_value == 0 && !opens_block && !value.contains('\n') {
        let quote = at_node.starts_with(['"', '\'']);
        return Pos { line: node_pos.line, col: node_pos.col + usize::from(quote) + col_in_line };
    }
    // Block or multi-line scalar: folding changed line breaks, so find the text at the
    // offset itself (up to the end of its line) in the lines from the node on.
    let needle: &str = value[offset..].split('\n').next().unwrap_or("");
    let needle = &needle[..needle.char_indices().nth(24).map_or(needle.len(), |(i, _)| i)];
    let needle = needle.trim_end();
    if !needle.is_empty() {
        let first = node_pos.line.saturating_sub(1);
        let lines = src.text_from_line(node_pos.line).lines().enumerate().map(|(i, l)| (i + first, l)).take(500);
        for (i, l) in lines {
            if let Some(c) = l.find(needle) {
                return Pos { line: i + 1, col: l[..c].chars().count() + 1 };
            }
        }
    }
    node_pos
}
