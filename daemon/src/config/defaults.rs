//! The rules a daemon runs when nothing names any (no `rules_files`, no `-r`): what
//! `install.sh` installs (`/etc/palisade/rules.d`) when it is there, else Palisade's own
//! default rules compiled into the binary, so `palisade run` on a fresh machine watches
//! containers at once. Falco's rule files are not built in: they are Falco's to ship.

use std::path::{Path, PathBuf};

use super::Config;

/// Where `install.sh` puts the rules.
pub const INSTALLED_RULES_DIR: &str = "/etc/palisade/rules.d";

/// The name the built-in rules carry in diagnostics and logs.
pub const BUILTIN_RULES_NAME: &str = "(built-in) palisade_rules.yaml";

/// `rules/default/palisade_rules.yaml`, as built.
pub const BUILTIN_RULES: &str = include_str!("../../../rules/default/palisade_rules.yaml");

/// Which rules a configuration loads when it names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultRules {
    /// `rules_files` (or `-r`) named rules: no default applies.
    Configured,
    /// The installed directory.
    Installed(PathBuf),
    /// The built-in file.
    BuiltIn,
}

impl Config {
    /// Gives a configuration that names no rules the default ones: `installed` if it is a
    /// directory, else [`BUILTIN_RULES`] (`builtin_rules`).
    pub fn with_default_rules(&mut self, installed: &Path) -> DefaultRules {
        if !self.rules_files.is_empty() {
            return DefaultRules::Configured;
        }
        if installed.is_dir() {
            self.rules_files = vec![installed.to_owned()];
            return DefaultRules::Installed(installed.to_owned());
        }
        self.builtin_rules = true;
        DefaultRules::BuiltIn
    }
}
