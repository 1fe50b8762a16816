//! The compiled ruleset: rules indexed by event type, evaluated against events.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::condition::Expr;
use crate::eval::{CheckCache, Filter};
use crate::evttype::EventTypeSet;
use crate::event_types;
use crate::fields::Source;
use crate::output::OutputFormat;
use crate::priority::Priority;
use crate::value::FieldSource;

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// Priority.
    pub priority: Priority,
    /// Event source.
    pub source: Source,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// Whether the rule is enabled.
    pub enabled: bool,
    /// `capture:` (kept for Falco compatibility; Palisade does not capture per rule yet).
    pub capture: bool,
    /// `capture_duration:` in milliseconds.
    pub capture_duration: u32,
    /// The condition after list, macro and exception expansion.
    pub condition: Expr,
    /// The condition as written, after appends/overrides.
    pub condition_text: String,
    /// Output format text (after appends and extra outputs).
    pub output_text: String,
    /// The compiled output.
    pub output: OutputFormat,
    /// The compiled condition.
    pub filter: Filter,
    /// Event types the condition can match (syscall rules).
    pub event_types: EventTypeSet,
}

/// Whether evaluation stops at the first matching rule (Falco's `rule_matching`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RuleMatching {
    /// Stop at the first match, in load order.
    #[default]
    First,
    /// Report every matching rule.
    All,
}

impl std::str::FromStr for RuleMatching {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "first" => Ok(RuleMatching::First),
            "all" => Ok(RuleMatching::All),
            other => Err(format!("unknown rule_matching '{other}' (expected first or all)")),
        }
    }
}

#[derive(Debug, Default)]
struct SourceIndex {
    /// Per event type code: the rules to evaluate, in load order.
    by_type: Vec<Vec<u32>>,
    /// Every active rule of the source, in load order (events without a type, index off).
    all: Vec<u32>,
}

/// The rules, ready to evaluate.
#[derive(Debug)]
pub struct Ruleset {
    rules: Vec<Rule>,
    by_name: HashMap<String, usize>,
    min_priority: Priority,
    matching: RuleMatching,
    use_index: bool,
    index: HashMap<Source, SourceIndex>,
    cache_slots: usize,
}

thread_local! {
    static CHECK_CACHE: RefCell<CheckCache> = RefCell::new(CheckCache::default());
}

impl Ruleset {
    /// Build from compiled rules (in load order).
    pub fn new(mut rules: Vec<Rule>) -> Ruleset {
        // Checks used by more than one rule (or twice in one) get a memo slot.
        let mut uses: HashMap<String, u32> = HashMap::new();
        for r in &mut rules {
            r.filter.checks_mut(&mut |c| *uses.entry(c.key.clone()).or_default() += 1);
        }
        let mut slots: HashMap<String, u32> = HashMap::new();
        for r in &mut rules {
            r.filter.checks_mut(&mut |c| {
                if uses.get(&c.key).is_some_and(|n| *n > 1) {
                    let next = slots.len() as u32;
                    c.cache_slot = Some(*slots.entry(c.key.clone()).or_insert(next));
                }
            });
        }
        let cache_slots = slots.len();
        let by_name = rules.iter().enumerate().map(|(i, r)| (r.name.clone(), i)).collect();
        let mut rs = Ruleset {
            rules,
            by_name,
            min_priority: Priority::Debug,
            matching: RuleMatching::First,
            use_index: true,
            index: HashMap::new(),
            cache_slots,
        };
        rs.reindex();
        rs
    }

    fn reindex(&mut self) {
        self.index.clear();
        let types = event_types::count();
        for (i, r) in self.rules.iter().enumerate() {
            if !r.enabled || !r.priority.at_least(self.min_priority) {
                continue;
            }
            let idx = self.index.entry(r.source).or_default();
            if idx.by_type.is_empty() {
                idx.by_type = vec![Vec::new(); types];
            }
            idx.all.push(i as u32);
            for code in r.event_types.codes() {
                idx.by_type[code as usize].push(i as u32);
            }
        }
    }

    /// Every rule (enabled or not), in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.by_name.get(name).map(|&i| &self.rules[i])
    }

    /// Only evaluate rules at least this severe.
    pub fn set_min_priority(&mut self, p: Priority) {
        self.min_priority = p;
        self.reindex();
    }

    /// First match or all matches.
    pub fn set_rule_matching(&mut self, m: RuleMatching) {
        self.matching = m;
    }

    /// Turn the event-type index off (every rule of the source meets every event); for
    /// measuring what the index buys.
    pub fn set_use_index(&mut self, on: bool) {
        self.use_index = on;
    }

    /// Enable or disable rules selected by `pred`; returns how many changed.
    pub fn set_enabled_where(&mut self, enabled: bool, pred: impl Fn(&Rule) -> bool) -> usize {
        let mut n = 0;
        for r in &mut self.rules {
            if pred(r) && r.enabled != enabled {
                r.enabled = enabled;
                n += 1;
            }
        }
        self.reindex();
        n
    }

    /// Number of enabled rules that pass the priority filter.
    pub fn active_count(&self) -> usize {
        self.index.values().map(|i| i.all.len()).sum()
    }

    /// The active rules of `source` (enabled and at least the minimum priority), in load order.
    pub fn active_rules(&self, source: Source) -> impl Iterator<Item = &Rule> + '_ {
        self.index.get(&source).into_iter().flat_map(|idx| idx.all.iter().map(|&i| &self.rules[i as usize]))
    }

    /// The event types some active rule of `source` can match (what the kernel must deliver).
    pub fn wanted_event_types(&self, source: Source) -> EventTypeSet {
        let mut s = EventTypeSet::empty();
        if let Some(idx) = self.index.get(&source) {
            for (code, rules) in idx.by_type.iter().enumerate() {
                if !rules.is_empty() {
                    s.insert(code as u16);
                }
            }
        }
        s
    }

    /// Evaluate `event` of `source`, appending the matching rules to `out` (cleared first).
    pub fn evaluate<'r>(&'r self, source: Source, event: &dyn FieldSource, out: &mut Vec<&'r Rule>) {
        out.clear();
        let Some(idx) = self.index.get(&source) else { return };
        let candidates: &[u32] = match (self.use_index, event.event_type()) {
            (true, Some(code)) => idx.by_type.get(code as usize).map_or(&[], Vec::as_slice),
            _ => &idx.all,
        };
        CHECK_CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            cache.next_event(self.cache_slots);
            for &i in candidates {
                let rule = &self.rules[i as usize];
                if rule.filter.matches_cached(event, &mut cache) {
                    out.push(rule);
                    if self.matching == RuleMatching::First {
                        return;
                    }
                }
            }
        });
    }
}
