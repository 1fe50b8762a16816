//! The typed field registry: every field a condition or an output may name, per event source.
//!
//! A field is `class.name` (e.g. `proc.name`), optionally with an argument in brackets
//! (`proc.aname[2]`, `jevt.value[/a/b]`) or, for the `evt.arg`-style families, as a dotted
//! suffix (`evt.arg.flags` is field `evt.arg` with key `flags`). The tables are data only; the
//! compiler uses the type and flags to reject operators that do not fit (Falco's
//! `flt_is_comparable`), and [`crate::FieldSource`] implementations map a [`FieldId`] back to a
//! value.
//!
//! Every `syscall` field has an extractor in `palisade-events` except those `<NA>` by design,
//! listed with the reason for each in [`UNSUPPLIED`] (`unsupplied.rs`, rendered in
//! `docs/fields.md`); the events crate's registry audit test keeps the two in step.

mod domains;
mod generic;
mod k8s_audit;
mod syscall;
mod unsupplied;

pub use domains::{condition_domains, NAME_FIELDS};
pub use unsupplied::{unsupplied, Unsupplied, UNSUPPLIED};

use std::fmt;
use std::sync::OnceLock;

/// The value type of a field, condensed from libsinsp's `ppm_param_type` to what changes the
/// meaning of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Text (CHARBUF); compared byte-wise.
    Str,
    /// A filesystem path (FSPATH/FSRELPATH); compared like `Str`.
    Path,
    /// Raw bytes (BYTEBUF); `bcontains`/`bstartswith` take hex on the right-hand side.
    Bytes,
    /// Signed integer (INT8..INT64, ERRNO, FD, PID).
    Signed,
    /// Unsigned integer (UINT8..UINT64, PORT, FLAGS, MODE, SYSCALLID, SIGTYPE, UID, GID).
    Unsigned,
    /// Relative time in nanoseconds.
    RelTime,
    /// Absolute time in nanoseconds since the epoch.
    AbsTime,
    /// Floating point (DOUBLE).
    Double,
    /// Boolean (`true`/`false`).
    Bool,
    /// An IPv4 or IPv6 address.
    IpAddr,
    /// An IPv4 or IPv6 network (`10.0.0.0/8`).
    IpNet,
}

impl FieldType {
    /// The name used in `palisade rules fields` and in error messages (libsinsp's names).
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Str => "CHARBUF",
            FieldType::Path => "FSPATH",
            FieldType::Bytes => "BYTEBUF",
            FieldType::Signed => "INT64",
            FieldType::Unsigned => "UINT64",
            FieldType::RelTime => "RELTIME",
            FieldType::AbsTime => "ABSTIME",
            FieldType::Double => "DOUBLE",
            FieldType::Bool => "BOOL",
            FieldType::IpAddr => "IPADDR",
            FieldType::IpNet => "IPNET",
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a field takes an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// No argument: `proc.name`.
    None,
    /// An optional numeric index: `proc.aname` or `proc.aname[2]`.
    OptionalIndex,
    /// A required numeric index: `proc.aname` without one is an error.
    RequiredIndex,
    /// An optional string key: `container.mount.dest[/etc]`.
    OptionalKey,
    /// A required string key: `jevt.value[/a/b]`, `ka.uri.param[name]`.
    RequiredKey,
    /// A required key given either in brackets or as a dotted suffix: `evt.arg.flags`,
    /// `evt.arg[0]`, `evt.arg[flags]`.
    DottedOrBracketed,
}

/// Field property flags (subset of libsinsp's `EPF_*` that changes behaviour here).
pub mod flags {
    /// The field yields several values; only `exists`, `in`, `intersects` apply.
    pub const IS_LIST: u16 = 1 << 0;
    /// Deprecated: using it in a condition or output is a warning.
    pub const DEPRECATED: u16 = 1 << 1;
    /// Not allowed on the right-hand side (`val()`) and not in transformers.
    pub const NO_RHS: u16 = 1 << 2;
    /// Cannot be an argument of a transformer.
    pub const NO_TRANSFORMER: u16 = 1 << 3;
    /// May be printed in outputs but not used in conditions.
    pub const PRINT_ONLY: u16 = 1 << 4;
    /// May be used in conditions but not printed.
    pub const FILTER_ONLY: u16 = 1 << 5;
}

/// One registry entry.
#[derive(Clone, Copy, Debug)]
pub struct FieldDef {
    /// Full name, e.g. `proc.aname`, `evt.arg`.
    pub name: &'static str,
    /// Value type.
    pub ty: FieldType,
    /// How the field takes an argument.
    pub arg: ArgKind,
    /// `flags::*` bits.
    pub flags: u16,
    /// One-line description, shown by `palisade rules fields`.
    pub desc: &'static str,
}

impl FieldDef {
    /// Whether the field yields a list of values.
    pub fn is_list(&self) -> bool {
        self.flags & flags::IS_LIST != 0
    }
    /// Whether the field is deprecated.
    pub fn is_deprecated(&self) -> bool {
        self.flags & flags::DEPRECATED != 0
    }
}

/// A table row (used by the per-source tables).
pub(super) const fn field(name: &'static str, ty: FieldType, arg: ArgKind, flags: u16, desc: &'static str) -> FieldDef {
    FieldDef { name, ty, arg, flags, desc }
}

/// Index of a field in its source's table. Stable for one build of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u16);

/// An event source: the name rules use in `source:` and the fields it offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// Kernel syscall events (with container and k8s metadata fields).
    Syscall,
    /// Kubernetes audit events.
    K8sAudit,
}

impl Source {
    /// Every source this crate knows.
    pub const ALL: [Source; 2] = [Source::Syscall, Source::K8sAudit];

    /// The name used in rule files (`source: k8s_audit`).
    pub fn name(self) -> &'static str {
        match self {
            Source::Syscall => "syscall",
            Source::K8sAudit => "k8s_audit",
        }
    }

    /// Parse a rule file's `source:` value.
    pub fn from_name(name: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The field table of this source: the generic event fields every source has
    /// (`evt.num`, `evt.time`, `evt.source`, ...) followed by the source's own.
    pub fn fields(self) -> &'static [FieldDef] {
        static SYSCALL: OnceLock<Vec<FieldDef>> = OnceLock::new();
        static K8S_AUDIT: OnceLock<Vec<FieldDef>> = OnceLock::new();
        let (cell, own) = match self {
            Source::Syscall => (&SYSCALL, syscall::FIELDS),
            Source::K8sAudit => (&K8S_AUDIT, k8s_audit::FIELDS),
        };
        cell.get_or_init(|| generic::FIELDS.iter().chain(own).copied().collect())
    }

    /// Look a field up by its full name. `evt.arg.flags`-style names resolve to the
    /// `DottedOrBracketed` family with the suffix as key.
    pub fn lookup(self, name: &str) -> Option<(FieldId, &'static FieldDef, Option<&str>)> {
        let table = self.fields();
        if let Some(i) = table.iter().position(|f| f.name == name) {
            return Some((FieldId(i as u16), &table[i], None));
        }
        // Dotted-argument families: the longest registered prefix followed by `.` wins.
        let mut best: Option<(usize, usize)> = None;
        for (i, f) in table.iter().enumerate() {
            if f.arg != ArgKind::DottedOrBracketed {
                continue;
            }
            if name.len() > f.name.len() + 1
                && name.starts_with(f.name)
                && name.as_bytes()[f.name.len()] == b'.'
                && best.is_none_or(|(_, l)| f.name.len() > l)
            {
                best = Some((i, f.name.len()));
            }
        }
        best.map(|(i, l)| (FieldId(i as u16), &table[i], Some(&name[l + 1..])))
    }

    /// The registered field name closest to `name` (at most two edits away), for "did you
    /// mean" hints.
    pub fn suggest(self, name: &str) -> Option<&'static str> {
        fn distance(a: &[u8], b: &[u8]) -> usize {
            let mut prev: Vec<usize> = (0..=b.len()).collect();
            for (i, ca) in a.iter().enumerate() {
                let mut cur = vec![i + 1; b.len() + 1];
                for (j, cb) in b.iter().enumerate() {
                    cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
                }
                prev = cur;
            }
            prev[b.len()]
        }
        self.fields()
            .iter()
            .map(|f| (distance(name.as_bytes(), f.name.as_bytes()), f.name))
            .filter(|(d, _)| *d <= 2)
            .min()
            .map(|(_, n)| n)
    }

    /// The definition behind an id.
    pub fn def(self, id: FieldId) -> &'static FieldDef {
        &self.fields()[id.0 as usize]
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_unique_names() {
        for source in Source::ALL {
            let mut names: Vec<_> = source.fields().iter().map(|f| f.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "duplicate field names in {source}");
        }
    }

    #[test]
    fn suggests_near_field_names() {
        assert_eq!(Source::Syscall.suggest("proc.nme"), Some("proc.name"));
        assert_eq!(Source::Syscall.suggest("completely.different"), None);
    }

    #[test]
    fn dotted_argument_resolves() {
        let (_, def, key) = Source::Syscall.lookup("evt.arg.flags").expect("evt.arg.flags");
        assert_eq!(def.name, "evt.arg");
        assert_eq!(key, Some("flags"));
    }
}
