//! List substitution in condition texts, as Falco's `resolve_list` does it (textually, in
//! definition order), but only with the lists a text names.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::text::OffsetMap;

fn quote_item(s: &str) -> String {
    if s.contains(' ') && !s.starts_with(['"', '\'']) {
        format!("\"{s}\"")
    } else {
        s.to_owned()
    }
}

/// Falco's delimiters around a list name in a condition (see [`resolve_list`]).
fn is_list_delim(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '(' | ')' | ',' | '=')
}

/// The words of `text` between list delimiters: where a list name can be substituted.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_list_delim).filter(|w| !w.is_empty())
}

/// The lists, flattened, in definition order, with an index by name.
///
/// Falco substitutes every list into every condition text in turn; with one list per few
/// rules that is rules × lists searches, the quadratic part of loading large rule sets. A
/// list name without delimiters can only be substituted where it is a whole word of the
/// text, so a text is matched only against the lists it names (and those named by what was
/// substituted into it), still in definition order: the same result as trying them all.
pub(super) struct Lists {
    items: Vec<(String, Vec<String>)>,
    by_name: HashMap<String, usize>,
    /// Lists whose names contain a delimiter (or are empty): tried on every text, as Falco does.
    always: Vec<usize>,
}

impl Lists {
    pub(super) fn new(items: Vec<(String, Vec<String>)>) -> Lists {
        let mut by_name = HashMap::new();
        let mut always = Vec::new();
        for (i, (name, _)) in items.iter().enumerate() {
            if name.is_empty() || name.contains(is_list_delim) {
                always.push(i);
            } else {
                by_name.insert(name.clone(), i);
            }
        }
        Lists { items, by_name, always }
    }

    /// Substitutes the lists into `text` in definition order, recording the edits in `maps`.
    pub(super) fn substitute(&self, text: &mut String, maps: &mut Vec<OffsetMap>, used: &mut HashSet<String>) {
        let mut pending: BTreeSet<usize> = self.always.iter().copied().collect();
        pending.extend(words(text).filter_map(|w| self.by_name.get(w).copied()));
        while let Some(i) = pending.pop_first() {
            let (name, items) = &self.items[i];
            if resolve_list(text, name, items, maps) {
                used.insert(name.clone());
                // What was substituted may name lists defined later, which are substituted
                // in turn (lists defined earlier had their turn already).
                for item in items {
                    let quoted = quote_item(item);
                    pending.extend(words(&quoted).filter_map(|w| self.by_name.get(w).copied()).filter(|&j| j > i));
                }
            }
        }
    }
}

/// Falco's `resolve_list`: substitute `name` wherever it is delimited by blanks, `(),=` or
/// the ends of the text, recording each edit.
fn resolve_list(cnd: &mut String, name: &str, items: &[String], maps: &mut Vec<OffsetMap>) -> bool {
    const BLANKS: &[u8] = b" \t\n\r";
    let is_delim = |b: u8| BLANKS.contains(&b) || b"(),=".contains(&b);
    let mut used = false;
    let mut start = cnd.find(name);
    while let Some(mut s) = start {
        let b = cnd.as_bytes();
        let mut end = s + name.len();
        if (s == 0 || is_delim(b[s - 1])) && (end >= b.len() || is_delim(b[end])) {
            while s > 0 && BLANKS.contains(&b[s - 1]) {
                s -= 1;
            }
            while end < b.len() && BLANKS.contains(&b[end]) {
                end += 1;
            }
            let sub = items.iter().map(|v| quote_item(v)).collect::<Vec<_>>().join(", ");
            if sub.is_empty() {
                if s > 0 && b[s - 1] == b',' {
                    s -= 1;
                } else if end < b.len() && b[end] == b',' {
                    end += 1;
                }
            }
            let mut new = String::with_capacity(cnd.len() + sub.len() + 2);
            if s > 0 {
                new.push_str(&cnd[..s]);
                new.push(' ');
            }
            new.push_str(&sub);
            new.push(' ');
            let new_end = new.len();
            new.push_str(&cnd[end..]);
            let mut m = OffsetMap::default();
            m.push(s, new_end, s, end);
            maps.push(m);
            *cnd = new;
            used = true;
            // Falco resumes the search one past `start + sub.len() + 1`.
            let from = s + sub.len() + 2;
            start = cnd.get(from..).and_then(|r| r.find(name)).map(|i| i + from);
        } else {
            start = cnd.get(s + 1..).and_then(|r| r.find(name)).map(|i| i + s + 1);
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Falco's way: every list, in definition order, tried on the text.
    fn naive(lists: &[(String, Vec<String>)], text: &str) -> String {
        let mut text = text.to_owned();
        for (name, items) in lists {
            resolve_list(&mut text, name, items, &mut Vec::new());
        }
        text
    }

    fn list(name: &str, items: &[&str]) -> (String, Vec<String>) {
        (name.to_owned(), items.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn substituting_only_named_lists_gives_falcos_result() {
        let defs = vec![
            list("early", &["e1"]),
            list("outer", &["o1", "inner", "early", "two words"]),
            list("inner", &["i1", "i2"]),
            list("empty", &[]),
            list("has space", &["s1"]),
            list("unused", &["u1"]),
        ];
        let lists = Lists::new(defs.clone());
        for text in [
            "proc.name in (outer)",
            "proc.name in (inner, outer) and fd.name=early",
            "proc.name in (empty, x) or a in (x,empty) or b in (empty)",
            "proc.name in (has space) and outer_not_a_list = 1 and (outer)",
            "proc.name contains \"outer\" and fd.name in (unused)",
            "nothing here",
        ] {
            let mut got = text.to_owned();
            let mut used = HashSet::new();
            lists.substitute(&mut got, &mut Vec::new(), &mut used);
            assert_eq!(got, naive(&defs, text), "for {text:?}");
        }
        let mut got = "a in (outer)".to_owned();
        let mut used = HashSet::new();
        lists.substitute(&mut got, &mut Vec::new(), &mut used);
        assert_eq!(got, "a in ( o1, i1, i2 , early, \"two words\" )");
        let mut used: Vec<String> = used.into_iter().collect();
        used.sort();
        assert_eq!(used, ["inner", "outer"]);
    }
}
