//! Loading Falco rule files: reader (YAML → items) → collector (lists, macros, rules,
//! overrides, appends) → compiler (list substitution, macro resolution, exceptions, type
//! checking, evt.type index). Mirrors Falco's `rule_loader_{reader,collector,compiler}`.
//!
//! ```no_run
//! let mut loader = palisade_rules::Loader::new();
//! loader.add_file("/etc/falco/falco_rules.yaml").unwrap();
//! let loaded = loader.compile();
//! for d in &loaded.report.diagnostics { eprintln!("{d}"); }
//! let ruleset = loaded.ruleset.expect("no errors");
//! ```

pub mod collector;
mod compiler;
pub mod diagnostic;
mod exceptions;
mod lists;
mod reader;
pub mod text;

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use collector::{Collector, Entry, ExceptionInfo};
pub use diagnostic::{Diagnostic, ItemKind, Location, Severity, SourceText};
pub use exceptions::validate_exception;

use crate::engine::Ruleset;

/// The Falco engine version whose rule language this crate implements.
pub const ENGINE_VERSION: EngineVersion = EngineVersion(0, 63, 0);

/// A `major.minor.patch` version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EngineVersion(pub u32, pub u32, pub u32);

impl EngineVersion {
    /// Parse `x.y.z` (a leading `v` and a pre-release/build suffix are tolerated).
    pub fn parse(s: &str) -> Option<EngineVersion> {
        let s = s.trim().trim_start_matches('v');
        let core = s.split(['-', '+']).next()?;
        let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
        let v = EngineVersion(it.next()??, it.next()??, it.next()??);
        it.next().is_none().then_some(v)
    }

    /// Whether an engine of version `self` can load rules requiring `required`: same major,
    /// and not older.
    pub fn compatible_with(self, required: EngineVersion) -> bool {
        self.0 == required.0 && self >= required
    }
}

impl fmt::Display for EngineVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Everything a load said: diagnostics and what the files required.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Errors and warnings, in the order found.
    pub diagnostics: Vec<Diagnostic>,
    /// The highest `required_engine_version` seen.
    pub required_engine_version: EngineVersion,
    /// Each `required_plugin_versions` entry: alternatives as (name, version).
    pub required_plugin_versions: Vec<Vec<(String, String)>>,
    /// What was reported already (a hash set: a linear search per diagnostic made loading
    /// quadratic when every rule warns).
    seen: HashSet<(Severity, Location, String)>,
}

impl Report {
    fn push(&mut self, severity: Severity, src: &SourceText, location: Location, message: String) {
        // A macro used by several rules would otherwise report the same problem per rule.
        if !self.seen.insert((severity, location.clone(), message.clone())) {
            return;
        }
        let snippet = src.line(location.pos.line).to_owned();
        self.diagnostics.push(Diagnostic { severity, message, location, snippet });
    }

    /// Add an error.
    pub fn error(&mut self, src: &SourceText, location: Location, message: String) {
        self.push(Severity::Error, src, location, message);
    }

    /// Add a warning.
    pub fn warning(&mut self, src: &SourceText, location: Location, message: String) {
        self.push(Severity::Warning, src, location, message);
    }

    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }

    /// Whether any error was found.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

/// Check `required_plugin_versions` against the plugins (or built-in equivalents) available:
/// every requirement needs one alternative present with a compatible version (same major,
/// not older). Returns the first unmet requirement's description.
pub fn check_plugin_requirements(
    required: &[Vec<(String, String)>],
    available: &[(&str, &str)],
) -> Result<(), String> {
    for alternatives in required {
        let met = alternatives.iter().any(|(name, version)| {
            available.iter().any(|(n, v)| {
                n == name
                    && match (EngineVersion::parse(v), EngineVersion::parse(version)) {
                        (Some(have), Some(want)) => have.compatible_with(want),
                        _ => false,
                    }
            })
        });
        if !met {
            let wanted: Vec<String> =
                alternatives.iter().map(|(n, v)| format!("{n} >= {v}")).collect();
            return Err(format!("plugin requirement not satisfied: {}", wanted.join(" or ")));
        }
    }
    Ok(())
}

/// Whether an optional cancel flag is raised.
fn is_cancelled(flag: Option<&AtomicBool>) -> bool {
    flag.is_some_and(|f| f.load(Ordering::Relaxed))
}

/// The outcome of compiling: the ruleset (absent when there were errors) and the report.
#[derive(Debug)]
pub struct Loaded {
    /// The compiled ruleset, if no error was found and the load was not interrupted.
    pub ruleset: Option<Ruleset>,
    /// The cancel flag ([`Loader::cancel_on`]) was raised: loading stopped early, no ruleset.
    pub interrupted: bool,
    /// Diagnostics and requirements.
    pub report: Report,
    /// Counts of what was collected (for summaries even when compilation failed).
    pub counts: Counts,
}

/// How many items were collected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rules (including disabled ones).
    pub rules: usize,
    /// Macros.
    pub macros: usize,
    /// Lists.
    pub lists: usize,
}

/// Options that change compilation.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Extra output appended to matching rules' outputs (Falco's `append_output`).
    pub extra_outputs: Vec<ExtraOutput>,
}

/// One `append_output` entry: appended to rules matching every given selector.
#[derive(Clone, Debug, Default)]
pub struct ExtraOutput {
    /// Only rules of this source (empty: any).
    pub source: String,
    /// Only rules carrying all these tags.
    pub tags: Vec<String>,
    /// Only this rule (empty: any).
    pub rule: String,
    /// The format text to append.
    pub format: String,
}

/// Loads rule files in order and compiles them into a [`Ruleset`].
#[derive(Debug, Default)]
pub struct Loader {
    sources: Vec<Arc<SourceText>>,
    collector: Collector,
    report: Report,
    options: LoadOptions,
    cancel: Option<Arc<AtomicBool>>,
}

impl Loader {
    /// An empty loader.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty loader with options.
    pub fn with_options(options: LoadOptions) -> Self {
        Loader { options, ..Self::default() }
    }

    /// Stop loading once `flag` is set (a signal handler sets it): reading and compiling check
    /// it between items, so a large rule set can be given up promptly. The [`Loaded`] then
    /// says `interrupted` and has no ruleset.
    pub fn cancel_on(&mut self, flag: Arc<AtomicBool>) {
        self.cancel = Some(flag);
    }

    /// Whether the cancel flag is raised.
    pub fn cancelled(&self) -> bool {
        is_cancelled(self.cancel.as_deref())
    }

    /// Read a rules file from disk (its path is used in diagnostics).
    pub fn add_file(&mut self, path: impl AsRef<Path>) -> std::io::Result<()> {
        if self.cancelled() {
            return Ok(());
        }
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)?;
        self.add_str(&path.display().to_string(), &text);
        Ok(())
    }

    /// Read rules from a string; `name` is used in diagnostics.
    pub fn add_str(&mut self, name: &str, text: &str) {
        if self.cancelled() {
            return;
        }
        let src = Arc::new(SourceText::new(name, text));
        self.sources.push(src.clone());
        reader::read(src, &mut self.collector, &mut self.report, self.cancel.as_deref());
    }

    /// Compile everything read so far.
    pub fn compile(self) -> Loaded {
        let counts = Counts {
            rules: self.collector.rules.len(),
            macros: self.collector.macros.len(),
            lists: self.collector.lists.len(),
        };
        let cancel = self.cancel.as_deref();
        let mut report = self.report;
        let ruleset = if is_cancelled(cancel) {
            None
        } else {
            compiler::compile(&self.collector, &self.options, &self.sources, &mut report, cancel)
        };
        let interrupted = is_cancelled(cancel);
        let ruleset = if report.has_errors() || interrupted { None } else { ruleset };
        Loaded { ruleset, interrupted, report, counts }
    }
}
