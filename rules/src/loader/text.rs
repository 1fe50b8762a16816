//! Condition texts that remember where each piece came from, so an error at a byte offset of
//! an appended, list-expanded, exception-rewritten condition still names the right file,
//! line and column.

use std::sync::Arc;

use super::diagnostic::{pos_in_scalar, SourceText};
use crate::yaml::Pos;

#[derive(Clone, Debug)]
struct Piece {
    /// Offset of this piece in the combined text.
    start: usize,
    src: Arc<SourceText>,
    node_pos: Pos,
    value: String,
}

/// A condition assembled from one or more YAML scalars (a definition plus appends).
#[derive(Clone, Debug)]
pub struct CondText {
    text: String,
    pieces: Vec<Piece>,
}

impl CondText {
    /// A condition from one YAML scalar.
    pub fn new(value: String, src: Arc<SourceText>, node_pos: Pos) -> Self {
        CondText {
            text: value.clone(),
            pieces: vec![Piece { start: 0, src, node_pos, value }],
        }
    }

    /// The combined text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Append another piece, separated by a blank (as Falco does).
    pub fn append(&mut self, other: CondText) {
        let base = self.text.len() + 1;
        self.text.push(' ');
        self.text.push_str(&other.text);
        self.pieces.extend(other.pieces.into_iter().map(|mut p| {
            p.start += base;
            p
        }));
    }

    /// The file and position of a byte offset of the combined text.
    pub fn locate(&self, offset: usize) -> (Arc<str>, Pos) {
        let piece = self
            .pieces
            .iter()
            .rev()
            .find(|p| p.start <= offset)
            .unwrap_or(&self.pieces[0]);
        let pos = pos_in_scalar(&piece.src, piece.node_pos, &piece.value, offset - piece.start.min(offset));
        (piece.src.name.clone(), pos)
    }
}

/// Records textual edits so offsets in an edited text can be mapped back to the original.
#[derive(Clone, Debug, Default)]
pub struct OffsetMap {
    /// (new_start, new_end, old_start, old_end), in increasing order.
    edits: Vec<(usize, usize, usize, usize)>,
}

impl OffsetMap {
    /// Record that `old[old_start..old_end]` became `new[new_start..new_end]`.
    pub fn push(&mut self, new_start: usize, new_end: usize, old_start: usize, old_end: usize) {
        self.edits.push((new_start, new_end, old_start, old_end));
    }

    /// Map an offset of the new text to the original text.
    pub fn map(&self, off: usize) -> usize {
        let mut delta: isize = 0;
        for &(ns, ne, os, oe) in &self.edits {
            if off < ns {
                break;
            }
            if off < ne {
                return os;
            }
            delta = oe as isize - ne as isize;
        }
        (off as isize + delta).max(0) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_map_shifts_and_collapses() {
        let mut m = OffsetMap::default();
        // "a in (L)" -> "a in (x, y)": old 6..7 became new 6..10
        m.push(6, 10, 6, 7);
        assert_eq!(m.map(2), 2);
        assert_eq!(m.map(8), 6);
        assert_eq!(m.map(10), 7);
    }

    #[test]
    fn appended_piece_is_located_in_its_own_file() {
        let a = Arc::new(SourceText::new("a.yaml", "- macro: m\n  condition: x.y = 1\n"));
        let b = Arc::new(SourceText::new("b.yaml", "- macro: m\n  condition: or x.y = 2\n"));
        let mut c = CondText::new("x.y = 1".into(), a, Pos { line: 2, col: 14 });
        c.append(CondText::new("or x.y = 2".into(), b, Pos { line: 2, col: 14 }));
        assert_eq!(c.text(), "x.y = 1 or x.y = 2");
        let (file, pos) = c.locate(11);
        assert_eq!(&*file, "b.yaml");
        assert_eq!(pos, Pos { line: 2, col: 17 });
    }
}
