//! The Falco rules language for Palisade: rule files, conditions, fields, evaluation and
//! alert formatting. No I/O beyond reading rule files, no async, no kernel.
//!
//! Stages: [`yaml`] (documents with positions) → [`loader`] (reader, collector, compiler) →
//! [`engine::Ruleset`] (rules indexed by event type) → [`alert`] (Falco JSON).

pub mod alert;
pub mod condition;
pub mod engine;
pub mod eval;
pub mod event_types;
pub mod evttype;
pub mod fields;
pub mod loader;
pub mod output;
pub mod prefilter;
pub mod priority;
pub mod synthetic;
pub mod testing;
pub mod value;
pub mod yaml;

pub use engine::{Rule, RuleMatching, Ruleset};
pub use fields::{FieldDef, FieldId, FieldType, Source};
pub use loader::{Diagnostic, Loaded, Loader};
pub use priority::Priority;
pub use value::{Extracted, FieldArg, FieldRef, FieldSource, Value};
