//! Stage 2 of loading: collect lists, macros and rules across files, applying redefinition,
//! legacy `append: true`, `override: {key: append|replace}` and standalone `enabled:` exactly as
//! Falco's `rule_loader_collector` does.
//!
//! Invariants: an item keeps the index of its first definition (so a redefinition stays in
//! place); `visibility` is the load order of the latest definition/append of the item — a
//! macro or list may only see macros/lists whose index is lower than its visibility.

use std::collections::{BTreeSet, HashMap};

use super::diagnostic::Location;
use super::text::CondText;
use crate::priority::Priority;

/// An exception entry: a scalar or a (possibly nested) list of scalars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A single string.
    Scalar(String),
    /// A list of entries.
    List(Vec<Entry>),
}

/// One `exceptions:` item of a rule.
#[derive(Clone, Debug)]
pub struct ExceptionInfo {
    /// Where it is defined.
    pub loc: Location,
    /// `name:`.
    pub name: String,
    /// `fields:` (absent when only values are appended).
    pub fields: Option<Entry>,
    /// `comps:` (defaults are filled in by validation).
    pub comps: Option<Entry>,
    /// `values:`.
    pub values: Vec<Entry>,
}

/// A list definition.
#[derive(Clone, Debug)]
pub struct ListInfo {
    /// Where it was last defined.
    pub loc: Location,
    /// Name.
    pub name: String,
    /// Items, as written (YAML scalars as text).
    pub items: Vec<String>,
    /// Index of first definition.
    pub index: u32,
    /// Load order of the latest definition or append.
    pub visibility: u32,
}

/// A macro definition.
#[derive(Clone, Debug)]
pub struct MacroInfo {
    /// Where it was last defined.
    pub loc: Location,
    /// Name.
    pub name: String,
    /// The condition text with the places its pieces came from.
    pub cond: CondText,
    /// Index of first definition.
    pub index: u32,
    /// Load order of the latest definition or append.
    pub visibility: u32,
}

/// A rule definition, after all appends and overrides.
#[derive(Clone, Debug)]
pub struct RuleInfo {
    /// Where it was defined.
    pub loc: Location,
    /// Name.
    pub name: String,
    /// Condition.
    pub cond: CondText,
    /// Output format.
    pub output: String,
    /// Where the output is (for output errors).
    pub output_loc: Location,
    /// Description.
    pub desc: String,
    /// Priority.
    pub priority: Priority,
    /// Event source name (`syscall` unless given).
    pub source: String,
    /// Whether the source is one this engine knows.
    pub unknown_source: bool,
    /// `enabled:`.
    pub enabled: bool,
    /// `capture:` (kept for compatibility; Palisade does not capture per rule yet).
    pub capture: bool,
    /// `capture_duration:`.
    pub capture_duration: u32,
    /// `warn_evttypes:`.
    pub warn_evttypes: bool,
    /// `skip-if-unknown-filter:`.
    pub skip_if_unknown_filter: bool,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Exceptions.
    pub exceptions: Vec<ExceptionInfo>,
    /// Index of first definition.
    pub index: u32,
}

/// The fields of an append/replace update of a rule (`override:` or legacy `append: true`).
#[derive(Clone, Debug, Default)]
pub struct RuleUpdate {
    /// `source:` of the updating item, if given and non-empty.
    pub source: Option<String>,
    /// Condition piece.
    pub cond: Option<CondText>,
    /// Output piece.
    pub output: Option<String>,
    /// Description piece.
    pub desc: Option<String>,
    /// Tags.
    pub tags: Option<BTreeSet<String>>,
    /// Exceptions.
    pub exceptions: Option<Vec<ExceptionInfo>>,
    /// Priority (replace only).
    pub priority: Option<Priority>,
    /// `capture` (replace only).
    pub capture: Option<bool>,
    /// `capture_duration` (replace only).
    pub capture_duration: Option<u32>,
    /// `enabled` (replace only).
    pub enabled: Option<bool>,
    /// `warn_evttypes` (replace only).
    pub warn_evttypes: Option<bool>,
    /// `skip-if-unknown-filter` (replace only).
    pub skip_if_unknown_filter: Option<bool>,
}

impl RuleUpdate {
    fn has_any_value(&self) -> bool {
        self.cond.is_some()
            || self.output.is_some()
            || self.desc.is_some()
            || self.tags.is_some()
            || self.exceptions.is_some()
            || self.priority.is_some()
            || self.capture.is_some()
            || self.capture_duration.is_some()
            || self.enabled.is_some()
            || self.warn_evttypes.is_some()
            || self.skip_if_unknown_filter.is_some()
    }
}

/// Falco's messages for these situations (other tools grep for them).
pub mod messages {
    /// Deprecated legacy `append: true`.
    pub const WARNING_APPEND: &str = "'append' key is deprecated. Add an 'append' entry (e.g. \
        'condition: append') under 'override' instead.";
    /// Deprecated standalone `enabled:`.
    pub const WARNING_ENABLED: &str = "The standalone 'enabled' key usage is deprecated. The \
        correct approach requires also a 'replace' entry under the 'override' key (i.e. \
        'enabled: replace').";
    /// `override` together with `append: true`.
    pub const ERROR_OVERRIDE_APPEND: &str = "Keys 'override' and 'append: true' cannot be used \
        together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.";
    /// Macro append without a macro.
    pub const ERROR_NO_PREVIOUS_MACRO: &str = "Macro uses 'append' or 'override.condition: \
        append' but no macro by that name already exists";
    /// List append without a list.
    pub const ERROR_NO_PREVIOUS_LIST: &str = "List uses 'append' or 'override.items: append' \
        but no list by that name already exists";
    /// Rule append without a rule.
    pub const ERROR_NO_PREVIOUS_RULE_APPEND: &str = "Rule uses 'append' or 'override.<key>: \
        append' but no rule by that name already exists";
    /// Rule replace without a rule.
    pub const ERROR_NO_PREVIOUS_RULE_REPLACE: &str = "An 'override.<key>: replace' to a rule was \
        requested but no rule by that name already exists";
}

/// A collection error: message and where.
pub type CollectError = (String, Location);

/// Items collected so far, in definition order.
#[derive(Debug, Default)]
pub struct Collector {
    next_index: u32,
    /// Lists in first-definition order.
    pub lists: Vec<ListInfo>,
    /// Macros in first-definition order.
    pub macros: Vec<MacroInfo>,
    /// Rules in first-definition order.
    pub rules: Vec<RuleInfo>,
    list_by_name: HashMap<String, usize>,
    macro_by_name: HashMap<String, usize>,
    rule_by_name: HashMap<String, usize>,
}

impl Collector {
    fn bump(&mut self) -> u32 {
        let id = self.next_index;
        self.next_index += 1;
        id
    }

    /// Look a list up by name.
    pub fn list(&self, name: &str) -> Option<&ListInfo> {
        self.list_by_name.get(name).map(|&i| &self.lists[i])
    }

    /// Look a rule up by name.
    pub fn rule(&self, name: &str) -> Option<&RuleInfo> {
        self.rule_by_name.get(name).map(|&i| &self.rules[i])
    }

    /// Define (or redefine in place) a list.
    pub fn define_list(&mut self, mut info: ListInfo) {
        let id = self.bump();
        info.visibility = id;
        match self.list_by_name.get(&info.name) {
            Some(&i) => {
                info.index = self.lists[i].index;
                self.lists[i] = info;
            }
            None => {
                info.index = id;
                self.list_by_name.insert(info.name.clone(), self.lists.len());
                self.lists.push(info);
            }
        }
    }

    /// Append items to an existing list.
    pub fn append_list(&mut self, info: ListInfo) -> Result<(), CollectError> {
        let Some(&i) = self.list_by_name.get(&info.name) else {
            return Err((messages::ERROR_NO_PREVIOUS_LIST.into(), info.loc));
        };
        let id = self.bump();
        let prev = &mut self.lists[i];
        prev.items.extend(info.items);
        prev.visibility = id;
        Ok(())
    }

    /// Define (or redefine in place) a macro.
    pub fn define_macro(&mut self, mut info: MacroInfo) {
        let id = self.bump();
        info.visibility = id;
        match self.macro_by_name.get(&info.name) {
            Some(&i) => {
                info.index = self.macros[i].index;
                self.macros[i] = info;
            }
            None => {
                info.index = id;
                self.macro_by_name.insert(info.name.clone(), self.macros.len());
                self.macros.push(info);
            }
        }
    }

    /// Append a condition piece to an existing macro.
    pub fn append_macro(&mut self, info: MacroInfo) -> Result<(), CollectError> {
        let Some(&i) = self.macro_by_name.get(&info.name) else {
            return Err((messages::ERROR_NO_PREVIOUS_MACRO.into(), info.loc));
        };
        let id = self.bump();
        let prev = &mut self.macros[i];
        prev.cond.append(info.cond);
        prev.visibility = id;
        Ok(())
    }

    fn find_prev_rule(
        &self,
        name: &str,
        source: Option<&str>,
        loc: &Location,
    ) -> Result<Option<usize>, CollectError> {
        let prev = self.rule_by_name.get(name).copied();
        if let (Some(i), Some(src)) = (prev, source) {
            let prev_src = &self.rules[i].source;
            if !prev_src.is_empty() && !src.is_empty() && prev_src != src {
                return Err((
                    "Rule has been re-defined with a different source".into(),
                    loc.clone(),
                ));
            }
        }
        Ok(prev)
    }

    /// Define (or redefine in place) a rule. Exceptions must already be validated.
    pub fn define_rule(&mut self, mut info: RuleInfo) -> Result<(), CollectError> {
        let prev = self.find_prev_rule(&info.name, Some(&info.source), &info.loc)?;
        let id = self.bump();
        match prev {
            Some(i) => {
                info.index = self.rules[i].index;
                self.rules[i] = info;
            }
            None => {
                info.index = id;
                self.rule_by_name.insert(info.name.clone(), self.rules.len());
                self.rules.push(info);
            }
        }
        Ok(())
    }

    /// The rule an update applies to, checking sources. `validate` is called on each newly
    /// added exception with the rule's source (None when unknown).
    fn prev_rule_for_update(
        &mut self,
        name: &str,
        upd: &RuleUpdate,
        loc: &Location,
        missing: &str,
        nothing: &str,
    ) -> Result<usize, CollectError> {
        let prev = self.find_prev_rule(name, upd.source.as_deref(), loc)?;
        let Some(i) = prev else {
            return Err((missing.into(), loc.clone()));
        };
        if !upd.has_any_value() {
            return Err((nothing.into(), loc.clone()));
        }
        Ok(i)
    }

    /// Append to an existing rule (`override: {key: append}` or legacy `append: true`).
    pub fn append_rule(
        &mut self,
        name: &str,
        upd: RuleUpdate,
        loc: &Location,
        validate: &dyn Fn(&str, &mut ExceptionInfo) -> Result<(), CollectError>,
    ) -> Result<(), CollectError> {
        let i = self.prev_rule_for_update(
            name,
            &upd,
            loc,
            messages::ERROR_NO_PREVIOUS_RULE_APPEND,
            "Appended rule must have exceptions or condition property",
        )?;
        self.bump();
        let prev = &mut self.rules[i];
        if let Some(c) = upd.cond.filter(|c| !c.text().is_empty()) {
            prev.cond.append(c);
        }
        for (dst, piece) in [(&mut prev.output, upd.output), (&mut prev.desc, upd.desc)] {
            if let Some(p) = piece.filter(|p| !p.is_empty()) {
                dst.push(' ');
                dst.push_str(&p);
            }
        }
        if let Some(tags) = upd.tags {
            prev.tags.extend(tags);
        }
        for mut ex in upd.exceptions.unwrap_or_default() {
            match prev.exceptions.iter_mut().find(|e| e.name == ex.name) {
                None => {
                    if ex.fields.is_none() {
                        return Err((
                            "Rule exception must have fields property with a list of fields"
                                .into(),
                            ex.loc,
                        ));
                    }
                    if ex.values.is_empty() {
                        return Err((
                            "Rule exception must have values property with a list of values"
                                .into(),
                            ex.loc,
                        ));
                    }
                    let source = if prev.unknown_source { "" } else { prev.source.as_str() };
                    validate(source, &mut ex)?;
                    prev.exceptions.push(ex);
                }
                Some(existing) => {
                    if ex.fields.is_some() {
                        return Err((
                            "Can not append exception fields to existing exception, only values"
                                .into(),
                            ex.loc,
                        ));
                    }
                    if ex.comps.is_some() {
                        return Err((
                            "Can not append exception comps to existing exception, only values"
                                .into(),
                            ex.loc,
                        ));
                    }
                    existing.values.extend(ex.values);
                }
            }
        }
        Ok(())
    }

    /// Replace keys of an existing rule (`override: {key: replace}`).
    pub fn replace_rule(
        &mut self,
        name: &str,
        upd: RuleUpdate,
        loc: &Location,
    ) -> Result<(), CollectError> {
        let i = self.prev_rule_for_update(
            name,
            &upd,
            loc,
            messages::ERROR_NO_PREVIOUS_RULE_REPLACE,
            "The rule must have at least one field that can be replaced",
        )?;
        self.bump();
        let prev = &mut self.rules[i];
        if let Some(c) = upd.cond {
            prev.cond = c;
        }
        if let Some(o) = upd.output {
            prev.output = o;
        }
        if let Some(d) = upd.desc {
            prev.desc = d;
        }
        if let Some(t) = upd.tags {
            prev.tags = t;
        }
        if let Some(e) = upd.exceptions {
            prev.exceptions = e;
        }
        if let Some(p) = upd.priority {
            prev.priority = p;
        }
        if let Some(c) = upd.capture {
            prev.capture = c;
        }
        if let Some(c) = upd.capture_duration {
            prev.capture_duration = c;
        }
        if let Some(e) = upd.enabled {
            prev.enabled = e;
        }
        if let Some(w) = upd.warn_evttypes {
            prev.warn_evttypes = w;
        }
        if let Some(s) = upd.skip_if_unknown_filter {
            prev.skip_if_unknown_filter = s;
        }
        Ok(())
    }

    /// Standalone `enabled:` on an existing rule (deprecated form).
    pub fn enable_rule(&mut self, name: &str, enabled: bool, loc: &Location) -> Result<(), CollectError> {
        let Some(&i) = self.rule_by_name.get(name) else {
            return Err((
                "Rule has 'enabled' key but no rule by that name already exists".into(),
                loc.clone(),
            ));
        };
        self.rules[i].enabled = enabled;
        Ok(())
    }
}
