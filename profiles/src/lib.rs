//! Per-image enforcement profiles: the schema, loading with positioned errors, and the choice
//! of a profile for an image. No kernel code: the enforcement backends (BPF-LSM, Landlock)
//! consume [`Profile`]s; [`catalog`] names what `deny_shells` and `deny_package_managers` mean.
//!
//! # Schema
//!
//! A file holds one profile (a mapping), a list of profiles, or several `---` documents of
//! either. Unknown keys are errors. The full reference with examples is `profiles/README.md`.
//!
//! ```yaml
//! name: nginx                    # required, unique: [A-Za-z0-9._-], starts alphanumeric
//! description: free text         # optional
//! match:
//!   images: ["nginx:*"]          # image globs, qualified like Docker (see `reference`)
//!   digests: ["sha256:…"]        # exact digests; beat any image pattern
//!   default: false               # true: the profile for unmatched images (implied by name `default`)
//! mode: enforce                  # audit | enforce; omitted: the global mode
//! immutable:
//!   enabled: true                # deny writes outside mounts, allow_write and RUNTIME_WRITABLE,
//!                                # and mounts once the entrypoint runs
//!   allow_write: [/var/cache/nginx, /var/run, /tmp]   # literal absolute paths, writable beneath
//!   allow_writable_exec: []      # W^X exception: literal paths both writable and executable
//! deny_shells: true              # catalog::shells(), by name and by file identity
//! deny_package_managers: true    # catalog::package_managers()
//! exec:
//!   deny: [/usr/bin/curl]        # absolute path globs (`*` in a component, `**` across)
//!   allow: []                    # non-empty: nothing else may be executed
//!   allow_scripts: [/docker-entrypoint.sh]  # scripts a denied shell may still interpret
//! enforce_rules: []              # reserved: Falco rule names (checked as strings, unused)
//! ```
//!
//! # Decisions
//!
//! - **Choice** ([`ProfileSet::resolve`]): a digest match wins over any pattern; among matching
//!   patterns the one with the most literal (non-wildcard) characters wins; ties go to the
//!   earlier profile in load order (paths as given, each directory's files by name, profiles in
//!   file order). Then the default profile, else [`Profile::builtin_default`] (audit, nothing
//!   denied). Two profiles with the same pattern or digest, two defaults and duplicate names are
//!   load errors: the choice is never ambiguous.
//! - **Mode** ([`Profile::effective_mode`]): annotation `palisade.io/mode` > profile `mode` >
//!   global. An invalid annotation is an error carrying `enforce` as the mode to apply: a typo
//!   must not silently weaken a container. The daemon lets the annotation loosen (enforce →
//!   audit) only where its `mode_annotation` configuration allows.
//! - **`exec.allow`** is exact: the container's entrypoint is *not* implied (whoever creates the
//!   container chooses its command, `kubectl run --command -- sh` included; the profile belongs
//!   to the image). `allow_scripts` entries are executable too, and a shell interpreting one of
//!   them is allowed even under `deny_shells` (the `#!/bin/sh` entrypoints of official images);
//!   the shell run directly stays denied. `exec.deny` beats everything.

pub mod catalog;
pub mod glob;
mod load;
pub mod profile;
pub mod reference;
mod render;
mod set;

use std::path::PathBuf;

use palisade_rules::yaml::Pos;

pub use catalog::{is_package_manager, is_shell, package_managers, shells};
pub use profile::{
    ExecDenial, ExecPolicy, ImagePattern, Immutable, Mode, ModeAnnotationError, Origin, Profile, MODE_ANNOTATION,
    RUNTIME_WRITABLE,
};
pub use set::{MatchedBy, ProfileSet, Resolved};

/// A profile file that cannot be read or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file or directory cannot be read.
    #[error("read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// An error at a position: `file:line:col: key: message (profile 'name')`.
    #[error("{file}:{}:{}: {message}{}", pos.line, pos.col, in_profile(profile.as_deref()))]
    At { file: String, pos: Pos, message: String, profile: Option<String> },
}

impl ProfileError {
    pub(crate) fn at(file: &str, pos: Pos, message: String, profile: Option<String>) -> ProfileError {
        ProfileError::At { file: file.to_owned(), pos, message, profile }
    }
}

fn in_profile(profile: Option<&str>) -> String {
    profile.map_or_else(String::new, |p| format!(" (profile '{p}')"))
}

#[cfg(test)]
mod tests;
