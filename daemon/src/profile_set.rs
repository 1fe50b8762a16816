//! The per-image profiles the daemon runs with: read from `profiles_dir` at start and on
//! reload, and the configured `mode` as the profiles' default.

use crate::config::{self, Config};

/// The profiles under `profiles_dir` have errors: each names file:line:col and the profile.
#[derive(Debug, thiserror::Error)]
#[error("the profiles have {} errors:\n{}", .0.len(), .0.join("\n"))]
pub struct ProfilesError(pub Vec<String>);

/// The per-image profiles (`profiles_dir`; absent: the built-in audit default for every image).
/// A profile with errors refuses the start, naming file:line:col and the profile.
pub fn load(config: &Config) -> Result<palisade_profiles::ProfileSet, ProfilesError> {
    if !config.profiles_dir.exists() {
        return Ok(palisade_profiles::ProfileSet::default());
    }
    palisade_profiles::ProfileSet::load(std::slice::from_ref(&config.profiles_dir))
        .map_err(|errors| ProfilesError(errors.iter().map(ToString::to_string).collect()))
}

/// The configured `mode`: what a container runs under when neither its annotation nor its
/// profile says.
pub fn global_mode(config: &Config) -> palisade_profiles::Mode {
    match config.mode {
        config::Mode::Audit => palisade_profiles::Mode::Audit,
        config::Mode::Enforce => palisade_profiles::Mode::Enforce,
    }
}
