//! A loaded profile and the decisions it implies (mode, exec, writes).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use palisade_rules::yaml::Pos;

use crate::catalog;
use crate::glob::Glob;

/// The annotation that overrides a container's mode.
pub const MODE_ANNOTATION: &str = "palisade.io/mode";

/// Paths the runtime itself provides and a container writes to in normal operation (`/dev/null`,
/// `/dev/shm`, terminals, `/proc/self`): writable whatever `immutable` says. Volumes and mounts
/// declared in the OCI spec are writable as well; they are not known here.
pub const RUNTIME_WRITABLE: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/console",
    "/dev/ptmx",
    "/dev/pts",
    "/dev/shm",
    "/dev/mqueue",
    "/dev/stdout",
    "/dev/stderr",
    "/proc/self",
    "/proc/thread-self",
];

/// Whether violations are blocked or only reported. `Enforce` is the stricter (`Audit < Enforce`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// Allow and report what would have been denied.
    #[default]
    Audit,
    /// Deny with `EPERM` and report.
    Enforce,
}

impl Mode {
    /// `audit` or `enforce`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Audit => "audit",
            Mode::Enforce => "enforce",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;

    /// Exactly `audit` or `enforce` (lowercase, as everywhere in Palisade's configuration).
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "audit" => Ok(Mode::Audit),
            "enforce" => Ok(Mode::Enforce),
            _ => Err(format!("unknown mode {s:?} (audit | enforce)")),
        }
    }
}

/// The `palisade.io/mode` annotation holds neither `audit` nor `enforce`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("annotation {MODE_ANNOTATION}={value:?}: unknown mode (audit | enforce); using {fallback}")]
pub struct ModeAnnotationError {
    /// The annotation's value.
    pub value: String,
    /// The mode to apply anyway: always [`Mode::Enforce`]; an unreadable request never weakens.
    pub fallback: Mode,
}

/// An image pattern as written and in canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagePattern {
    /// Its index in `match.images`.
    pub index: usize,
    /// As written in the file.
    pub written: String,
    /// Qualified and compiled (see [`crate::reference`]).
    pub glob: Glob,
    /// Where it is written.
    pub pos: Pos,
}

/// `immutable:`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Immutable {
    /// Deny writes outside the declared mounts, `allow_write` and [`RUNTIME_WRITABLE`], and
    /// mounts (from the container's entrypoint on: the runtime's own mounts precede it).
    pub enabled: bool,
    /// Directories (or files) beneath which writes stay allowed; literal absolute paths.
    pub allow_write: Vec<PathBuf>,
    /// The W^X exception: literal absolute paths beneath which files may be both written and
    /// executed. Named after the hole it opens (writable *and* executable), so a reviewer cannot
    /// mistake it for a plain exec allow: everywhere else an immutable container's writable places
    /// (its mounts, `allow_write`, the runtime's tmpfs) are never executable.
    pub allow_writable_exec: Vec<PathBuf>,
}

/// `exec:`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecPolicy {
    /// Programs that may not be executed (path globs).
    pub deny: Vec<Glob>,
    /// When non-empty, the only programs that may be executed (path globs).
    pub allow: Vec<Glob>,
    /// Scripts a denied shell may still interpret (`#!/bin/sh` entrypoints), path globs.
    pub allow_scripts: Vec<Glob>,
}

/// Where a profile was defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file, as it was named when loaded (empty for the built-in default).
    pub file: String,
    /// The position of the profile's mapping.
    pub pos: Pos,
}

/// One per-image profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Unique name (reported in alerts).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Where it was loaded from.
    pub origin: Origin,
    /// `match.images`.
    pub images: Vec<ImagePattern>,
    /// `match.digests`.
    pub digests: Vec<String>,
    /// Applies to images no other profile matches (`match.default: true` or the name `default`).
    pub is_default: bool,
    /// `mode`; `None` follows the global mode.
    pub mode: Option<Mode>,
    /// `immutable`.
    pub immutable: Immutable,
    /// `deny_shells`.
    pub deny_shells: bool,
    /// `deny_package_managers`.
    pub deny_package_managers: bool,
    /// `exec`.
    pub exec: ExecPolicy,
    /// `enforce_rules`: reserved (accepted, not used yet).
    pub enforce_rules: Vec<String>,
}

/// Why an exec is (or would be) denied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecDenial {
    /// A shell, with `deny_shells`.
    Shell,
    /// A package manager, with `deny_package_managers`.
    PackageManager,
    /// Matches this `exec.deny` pattern.
    Denied(String),
    /// `exec.allow` is non-empty and nothing in it matches.
    NotAllowed,
}

impl fmt::Display for ExecDenial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecDenial::Shell => f.write_str("shell (deny_shells)"),
            ExecDenial::PackageManager => f.write_str("package manager (deny_package_managers)"),
            ExecDenial::Denied(p) => write!(f, "exec.deny {p}"),
            ExecDenial::NotAllowed => f.write_str("not in exec.allow"),
        }
    }
}

impl Profile {
    /// The profile for images nothing matches when no file provides one: audit, nothing denied.
    pub fn builtin_default() -> Profile {
        Profile {
            name: "default".into(),
            description: "built-in: audit, nothing denied".into(),
            origin: Origin { file: String::new(), pos: Pos::default() },
            images: Vec::new(),
            digests: Vec::new(),
            is_default: true,
            mode: Some(Mode::Audit),
            immutable: Immutable::default(),
            deny_shells: false,
            deny_package_managers: false,
            exec: ExecPolicy::default(),
            enforce_rules: Vec::new(),
        }
    }

    /// The container's mode: the `palisade.io/mode` annotation, else the profile's `mode`, else
    /// `global`. An annotation that is neither `audit` nor `enforce` is an error carrying the
    /// mode to apply anyway ([`Mode::Enforce`]): report it, do not weaken.
    pub fn effective_mode(
        &self,
        global: Mode,
        annotations: &BTreeMap<String, String>,
    ) -> Result<Mode, ModeAnnotationError> {
        match annotations.get(MODE_ANNOTATION) {
            Some(v) => v.parse().map_err(|_| ModeAnnotationError { value: v.clone(), fallback: Mode::Enforce }),
            None => Ok(self.mode.unwrap_or(global)),
        }
    }

    /// Whether the profile denies anything at all (a profile that denies nothing need not be
    /// armed in the kernel).
    pub fn denies_anything(&self) -> bool {
        self.immutable.enabled || self.denies_exec()
    }

    /// Whether some program may not be executed (shells, package managers, `exec`).
    pub fn denies_exec(&self) -> bool {
        self.deny_shells || self.deny_package_managers || !self.exec.deny.is_empty() || !self.exec.allow.is_empty()
    }

    /// The user-space reading of an exec of `path` (as resolved by the kernel), `script` being
    /// the script it interprets when `path` is a `#!` interpreter. Precedence: `exec.deny` >
    /// shells (unless interpreting an `allow_scripts` script) > package managers > `exec.allow`
    /// (which always admits `allow_scripts` and, while interpreting one, its interpreter).
    pub fn check_exec(&self, path: &str, script: Option<&str>) -> Result<(), ExecDenial> {
        if let Some(g) = self.exec.deny.iter().find(|g| g.matches(path) || script.is_some_and(|s| g.matches(s))) {
            return Err(ExecDenial::Denied(g.as_str().to_owned()));
        }
        let allowed_script = script.is_some_and(|s| self.exec.allow_scripts.iter().any(|g| g.matches(s)));
        if self.deny_shells && catalog::is_shell(path) && !allowed_script {
            return Err(ExecDenial::Shell);
        }
        if self.deny_package_managers && catalog::is_package_manager(path) {
            return Err(ExecDenial::PackageManager);
        }
        let listed = |p: &str| self.exec.allow.iter().chain(&self.exec.allow_scripts).any(|g| g.matches(p));
        if !self.exec.allow.is_empty() && !listed(path) && !allowed_script {
            return Err(ExecDenial::NotAllowed);
        }
        Ok(())
    }

    /// The user-space reading of a write to `path` given the container's mount destinations:
    /// allowed when immutability is off, or `path` is (beneath) a mount, an `allow_write` entry
    /// or a [`RUNTIME_WRITABLE`] path. Component-wise: `/tmpfoo` is not beneath `/tmp`.
    pub fn write_allowed(&self, path: &Path, mounts: &[PathBuf]) -> bool {
        !self.immutable.enabled
            || mounts.iter().chain(&self.immutable.allow_write).any(|m| path.starts_with(m))
            || RUNTIME_WRITABLE.iter().any(|r| path.starts_with(r))
    }
}
