//! The hook's own configuration: `/etc/palisade/hook.json` (or `--config FILE`).
//!
//! Every key is optional; an unknown key or a malformed file is an error (a security hook must not
//! silently fall back to defaults it was not given).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the hook looks for its configuration when no `--config` is given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/palisade/hook.json";

/// What happens to a container when the daemon cannot be reached or does not answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailurePolicy {
    /// Let the container start unmonitored (logged).
    Open,
    /// Fail the container's creation.
    Closed,
}

/// The hook's settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HookConfig {
    /// The daemon's hook socket. Default `/run/palisade/hook.sock`.
    pub socket: PathBuf,
    /// How long `createRuntime` waits for "armed", a restarting daemon's socket included.
    /// Default 2000 ms.
    pub timeout_ms: u64,
    /// Default `open`.
    pub failure_policy: FailurePolicy,
    /// Where the hook logs (it never writes to stdout). Default `/var/log/palisade/hook.log`.
    pub log_file: PathBuf,
}

impl Default for HookConfig {
    fn default() -> Self {
        HookConfig {
            socket: PathBuf::from("/run/palisade/hook.sock"),
            timeout_ms: 2000,
            failure_policy: FailurePolicy::Open,
            log_file: PathBuf::from("/var/log/palisade/hook.log"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
}

impl HookConfig {
    /// Reads `path`; a missing file at the default path means the defaults, anywhere else an error.
    pub fn load(path: &Path, explicit: bool) -> Result<HookConfig, ConfigError> {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(HookConfig::default())
            }
            Err(source) => return Err(ConfigError::Read { path: path.to_owned(), source }),
        };
        serde_json::from_slice(&text).map_err(|source| ConfigError::Parse { path: path.to_owned(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_file_keeps_other_defaults() {
        let c: HookConfig = serde_json::from_str(r#"{"failure_policy":"closed","timeout_ms":50}"#).expect("parse");
        assert_eq!(c.failure_policy, FailurePolicy::Closed);
        assert_eq!(c.timeout_ms, 50);
        assert_eq!(c.socket, HookConfig::default().socket);
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let e = serde_json::from_str::<HookConfig>(r#"{"fail_closed":true}"#).expect_err("must fail");
        assert!(e.to_string().contains("unknown field `fail_closed`"), "{e}");
    }

    #[test]
    fn missing_default_file_means_defaults_but_missing_explicit_file_fails() {
        let p = Path::new("/nonexistent/palisade/hook.json");
        assert_eq!(HookConfig::load(p, false).expect("defaults"), HookConfig::default());
        let e = HookConfig::load(p, true).expect_err("explicit");
        assert!(e.to_string().starts_with("read /nonexistent/palisade/hook.json"), "{e}");
    }
}
