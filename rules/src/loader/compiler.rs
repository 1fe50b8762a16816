//! Stage 3 of loading: expand lists textually, parse and resolve macros, rewrite exceptions,
//! type-check and compile every rule (Falco's `rule_loader_compiler`).
//!
//! Positions: every parsed text gets an id; AST positions are `(id << 32) | offset` so that a
//! node that came from a macro body still points into that macro's text after substitution.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::collector::{Collector, RuleInfo};
use super::diagnostic::{ItemKind, Location, SourceText};
use super::exceptions::rewrite_condition;
use super::lists::Lists;
use super::text::{CondText, OffsetMap};
use super::{LoadOptions, Report};
use crate::condition::ast::{Expr, Operand, Rhs, TransformerArg};
use crate::condition::parser::{parse_with_depth, LOADER_MAX_DEPTH};
use crate::engine::{Rule, Ruleset};
use crate::eval::compile as compile_filter;
use crate::evttype::event_types_of;
use crate::fields::Source;
use crate::output::OutputFormat;

const TEXT_SHIFT: u32 = 32;

/// A parsed text: where it came from and how its offsets map back.
struct ParsedText {
    cond: CondText,
    /// Maps offsets of the parsed text back to offsets of `cond` (list substitutions, then
    /// exception wrapping).
    maps: Vec<OffsetMap>,
    item: (ItemKind, String),
}

struct Ctx<'a> {
    report: &'a mut Report,
    /// The rule or macro being compiled: problems found in the macros it uses are reported
    /// as its own, pointing into the macro.
    current: Option<(ItemKind, String)>,
    texts: Vec<ParsedText>,
    sources: HashMap<Arc<str>, Arc<SourceText>>,
}

impl Ctx<'_> {
    fn location(&self, pos: usize) -> Location {
        let id = pos >> TEXT_SHIFT;
        let mut off = pos & ((1 << TEXT_SHIFT) - 1);
        let t = &self.texts[id];
        for m in t.maps.iter().rev() {
            off = m.map(off);
        }
        let (file, p) = t.cond.locate(off);
        match (&self.current, &t.item) {
            (Some(cur), (ItemKind::Macro, m)) if cur != &t.item => {
                Location { via: Some(m.clone()), ..Location::new(file, p, Some(cur.clone())) }
            }
            _ => Location::new(file, p, Some(t.item.clone())),
        }
    }

    fn emit(&mut self, error: bool, loc: Location, msg: String) {
        let src = self.sources.get(&loc.file).cloned().unwrap_or_else(|| {
            Arc::new(SourceText::new(loc.file.clone(), ""))
        });
        if error {
            self.report.error(&src, loc, msg);
        } else {
            self.report.warning(&src, loc, msg);
        }
    }

    fn error_at(&mut self, pos: usize, msg: String) {
        let loc = self.location(pos);
        self.emit(true, loc, msg);
    }

    fn warn_at(&mut self, pos: usize, msg: String) {
        let loc = self.location(pos);
        self.emit(false, loc, msg);
    }
}

fn rebase(e: &mut Expr, base: usize) {
    fn op(o: &mut Operand, base: usize) {
        match o {
            Operand::Field(f) => f.pos += base,
            Operand::Transformer(t) => {
                t.pos += base;
                t.args.iter_mut().for_each(|a| arg(a, base));
            }
        }
    }
    fn arg(a: &mut TransformerArg, base: usize) {
        match a {
            TransformerArg::Field(f) => f.pos += base,
            TransformerArg::Transformer(t) => {
                t.pos += base;
                t.args.iter_mut().for_each(|a| arg(a, base));
            }
            TransformerArg::Literal(_) => {}
            TransformerArg::List(xs) => xs.iter_mut().for_each(|a| arg(a, base)),
        }
    }
    match e {
        Expr::And(p, xs) | Expr::Or(p, xs) => {
            *p += base;
            xs.iter_mut().for_each(|x| rebase(x, base));
        }
        Expr::Not(p, x) => {
            *p += base;
            rebase(x, base);
        }
        Expr::Identifier(p, _) => *p += base,
        Expr::Check(c) => {
            c.pos += base;
            op(&mut c.lhs, base);
            if let Rhs::Field(o) = &mut c.rhs {
                op(o, base);
            }
        }
    }
}

/// Expand lists, parse; on error report it and return None.
fn parse_text(
    ctx: &mut Ctx<'_>,
    cond: CondText,
    text: String,
    mut maps: Vec<OffsetMap>,
    item: (ItemKind, String),
    lists: &Lists,
    used_lists: &mut HashSet<String>,
) -> Option<Expr> {
    let mut text = text;
    lists.substitute(&mut text, &mut maps, used_lists);
    let id = ctx.texts.len();
    ctx.texts.push(ParsedText { cond, maps, item });
    let base = id << TEXT_SHIFT;
    match parse_with_depth(&text, LOADER_MAX_DEPTH) {
        Ok(mut e) => {
            rebase(&mut e, base);
            Some(e)
        }
        Err(e) => {
            ctx.error_at(base + e.offset, e.message);
            None
        }
    }
}

/// Replace macro identifiers; `visible` tells which macros this text may use.
fn resolve_macros(
    e: &mut Expr,
    macros: &HashMap<String, Option<Expr>>,
    visible: &dyn Fn(&str) -> bool,
    path: &mut Vec<String>,
    used: &mut HashSet<String>,
) -> Result<(), (usize, String)> {
    match e {
        Expr::And(_, xs) | Expr::Or(_, xs) => {
            for x in xs {
                resolve_macros(x, macros, visible, path, used)?;
            }
        }
        Expr::Not(_, x) => resolve_macros(x, macros, visible, path, used)?,
        Expr::Check(_) => {}
        Expr::Identifier(pos, name) => {
            let body = match macros.get(name.as_str()) {
                Some(Some(body)) if visible(name) => body,
                Some(None) if visible(name) => return Err((*pos, String::new())),
                _ => return Err((*pos, format!("Undefined macro '{name}' used in filter."))),
            };
            if path.iter().any(|p| p == name) {
                return Err((*pos, format!("reference loop in macro '{name}'")));
            }
            path.push(name.clone());
            let mut sub = body.clone();
            resolve_macros(&mut sub, macros, visible, path, used)?;
            path.pop();
            used.insert(name.clone());
            *e = sub;
        }
    }
    Ok(())
}

/// Warnings Falco's `filter_warning_resolver` gives: deprecated fields, `<NA>` comparisons.
fn condition_warnings(ctx: &mut Ctx<'_>, e: &Expr) {
    let mut found: Vec<(usize, String)> = Vec::new();
    e.walk(&mut |x| {
        if let Expr::Check(c) = x {
            if let Operand::Field(f) = &c.lhs {
                if f.name == "evt.dir" {
                    found.push((c.pos, "usage of deprecated field 'evt.dir' has been detected in the rule condition".into()));
                }
                let unsafe_field = f.name.starts_with("ka.") || f.name.starts_with("jevt.");
                let eq = matches!(c.cmp.op.as_str(), "==" | "=" | "!=" | "in" | "intersects" | "pmatch");
                let na = match &c.rhs {
                    Rhs::Value(v) => v == "<NA>",
                    Rhs::List(vs) => vs.iter().any(|v| v == "<NA>"),
                    _ => false,
                };
                if unsafe_field && eq && na {
                    found.push((c.pos, "Comparing a field value with <NA> is unsafe and can lead to unpredictable behavior of the rule condition. If you need to check for the existence of a field, consider using the 'exists' operator instead.".into()));
                }
            }
        }
    });
    for (pos, msg) in found {
        ctx.warn_at(pos, msg);
    }
}

/// Compile the collected items into a ruleset. Errors go to `report`.
pub(super) fn compile(
    col: &Collector,
    options: &LoadOptions,
    files: &[Arc<SourceText>],
    report: &mut Report,
    cancel: Option<&AtomicBool>,
) -> Option<Ruleset> {
    let cancelled = || super::is_cancelled(cancel);
    let sources: HashMap<Arc<str>, Arc<SourceText>> = files.iter().map(|s| (s.name.clone(), s.clone())).collect();
    let mut ctx = Ctx { report, current: None, texts: Vec::new(), sources };

    // Lists: flatten references to lists defined earlier than the referencing definition.
    let mut used_lists: HashSet<String> = HashSet::new();
    let lists: Vec<(String, Vec<String>)> = col
        .lists
        .iter()
        .map(|l| {
            let mut items = Vec::new();
            for it in &l.items {
                match col.list(it) {
                    Some(r) if r.index < l.visibility => {
                        used_lists.insert(it.clone());
                        items.extend(r.items.iter().cloned());
                    }
                    _ => items.push(it.clone()),
                }
            }
            (l.name.clone(), items)
        })
        .collect();
    let lists = Lists::new(lists);

    // Macros: parse in order, then resolve each with the macros visible to it.
    let mut parsed: HashMap<String, Option<Expr>> = HashMap::new();
    for m in &col.macros {
        if cancelled() {
            return None;
        }
        let item = (ItemKind::Macro, m.name.clone());
        let e = parse_text(&mut ctx, m.cond.clone(), m.cond.text().to_owned(), Vec::new(), item, &lists, &mut used_lists);
        parsed.insert(m.name.clone(), e);
    }
    let index_of: HashMap<&str, u32> = col.macros.iter().map(|m| (m.name.as_str(), m.index)).collect();
    let mut used_macros: HashSet<String> = HashSet::new();
    for m in &col.macros {
        let Some(Some(mut e)) = parsed.get(&m.name).cloned() else { continue };
        let vis = m.visibility;
        let visible = |n: &str| index_of.get(n).is_some_and(|&i| i < vis);
        ctx.current = Some((ItemKind::Macro, m.name.clone()));
        let resolved = resolve_macros(&mut e, &parsed, &visible, &mut vec![m.name.clone()], &mut used_macros);
        match resolved {
            Ok(()) => {
                parsed.insert(m.name.clone(), Some(e));
            }
            Err((pos, msg)) => {
                if !msg.is_empty() {
                    ctx.error_at(pos, msg);
                }
                parsed.insert(m.name.clone(), None);
            }
        }
        ctx.current = None;
    }

    // Rules.
    let mut rules = Vec::new();
    for r in &col.rules {
        if cancelled() {
            return None;
        }
        if r.unknown_source {
            continue;
        }
        let Some(source) = Source::from_name(&r.source) else { continue };
        ctx.current = Some((ItemKind::Rule, r.name.clone()));
        if let Some(rule) = compile_rule(&mut ctx, r, source, options, &lists, &parsed, &mut used_lists, &mut used_macros) {
            rules.push(rule);
        }
        ctx.current = None;
    }

    for m in &col.macros {
        if !used_macros.contains(&m.name) {
            let loc = m.loc.clone();
            ctx.emit(false, loc, "Macro not referred to by any other rule/macro".into());
        }
    }
    for l in &col.lists {
        if !used_lists.contains(&l.name) {
            let loc = l.loc.clone();
            ctx.emit(false, loc, "List not referred to by any other rule/macro".into());
        }
    }
    Some(Ruleset::new(rules))
}

#[expect(clippy::too_many_arguments, reason = "one call site; the stage's state passed explicitly")]
fn compile_rule(
    ctx: &mut Ctx<'_>,
    r: &RuleInfo,
    source: Source,
    options: &LoadOptions,
    lists: &Lists,
    macros: &HashMap<String, Option<Expr>>,
    used_lists: &mut HashSet<String>,
    used_macros: &mut HashSet<String>,
) -> Option<Rule> {
    let item = (ItemKind::Rule, r.name.clone());
    let mut text = r.cond.text().to_owned();
    let mut maps = Vec::new();
    if !r.exceptions.is_empty() {
        match rewrite_condition(&text, &r.exceptions) {
            Ok(t) => {
                let mut m = OffsetMap::default();
                m.push(0, 1, 0, 0);
                m.push(text.len() + 1, t.len(), text.len(), text.len());
                maps.push(m);
                text = t;
            }
            Err((msg, loc)) => {
                ctx.emit(true, loc, msg);
                return None;
            }
        }
    }

    let mut output_text = r.output.clone();
    for extra in &options.extra_outputs {
        if (!extra.source.is_empty() && extra.source != r.source)
            || !extra.tags.iter().all(|t| r.tags.contains(t))
            || (!extra.rule.is_empty() && extra.rule != r.name)
        {
            continue;
        }
        output_text.push(' ');
        output_text.push_str(&extra.format);
    }
    if output_text.contains("%container.info") {
        ctx.emit(false, r.loc.clone(), "%container.info is deprecated and no more useful, and will be dropped by Falco 1.0.0. The container plugin will automatically add required fields to the output message.".into());
        output_text = output_text.replace("%container.info", "");
    }
    let output = match OutputFormat::compile(&output_text, source) {
        Ok(o) => o,
        Err(e) if r.skip_if_unknown_filter && e.message.starts_with("invalid formatting token") => {
            ctx.emit(false, r.output_loc.clone(), e.message);
            return None;
        }
        Err(e) => {
            ctx.emit(true, r.output_loc.clone(), e.message);
            return None;
        }
    };
    if output_text.contains("evt.dir") {
        ctx.emit(false, r.output_loc.clone(), "usage of deprecated field 'evt.dir' has been detected in the rule output".into());
    }

    let mut expr = parse_text(ctx, r.cond.clone(), text, maps, item, lists, used_lists)?;
    if let Err((pos, msg)) = resolve_macros(&mut expr, macros, &|_| true, &mut Vec::new(), used_macros) {
        if !msg.is_empty() {
            ctx.error_at(pos, msg);
        }
        return None;
    }
    condition_warnings(ctx, &expr);
    let compiled = match compile_filter(&expr, source) {
        Ok(c) => c,
        Err(e) if e.unknown_field && r.skip_if_unknown_filter => {
            ctx.warn_at(e.pos, e.message);
            return None;
        }
        Err(e) => {
            ctx.error_at(e.pos, e.message);
            return None;
        }
    };
    for w in compiled.warnings {
        ctx.warn_at(w.pos, w.message);
    }
    let event_types = event_types_of(&expr);
    if source == Source::Syscall && r.warn_evttypes && event_types.len() > 100 {
        ctx.emit(false, r.loc.clone(), "Rule matches too many evt.type values. This has a significant performance penalty.".into());
    }
    Some(Rule {
        name: r.name.clone(),
        desc: r.desc.clone(),
        priority: r.priority,
        source,
        tags: r.tags.iter().cloned().collect(),
        enabled: r.enabled,
        capture: r.capture,
        capture_duration: r.capture_duration,
        condition: expr,
        condition_text: r.cond.text().to_owned(),
        output_text,
        output,
        filter: compiled.filter,
        event_types,
    })
}
