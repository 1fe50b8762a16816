//! The policy file the daemon writes for one confined container (through the runc wrapper).
//!
//! ```json
//! {"version": 2,
//!  "write_beneath": ["/tmp", "/var/cache/nginx", "/dev"],
//!  "execute": ["/"],
//!  "deny_execute": ["/bin/sh", "/opt/tools/bash", "/usr/bin/apt-get"],
//!  "no_execute": ["/tmp", "/var/cache/nginx", "/dev", "/run"]}
//! ```
//!
//! `version` is required; the four path lists default to empty (an empty list allows nothing).
//! Unknown fields are errors, so a typo never silently weakens a policy. Paths must be absolute;
//! they are resolved when `palisade-init` starts, in the mount namespace it runs in.
//!
//! There is no mode: a policy always confines. An audited container is not wrapped at all (the
//! daemon judges it from its tracepoints), so nothing a container could put in a policy file can
//! switch enforcement off. Version 1 (which had `mode`) is refused.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The policy format this build reads.
pub const POLICY_VERSION: u32 = 2;

/// Largest policy file accepted (a policy lists paths, not file contents).
pub const MAX_POLICY_BYTES: u64 = 1 << 20;

/// One parsed and validated policy file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Format version, must be [`POLICY_VERSION`].
    pub version: u32,
    /// Writes (open for writing, truncate, create, remove, rename, link, mkdir, mknod, symlink)
    /// are allowed only beneath these directories, or on these files.
    #[serde(default)]
    pub write_beneath: Vec<PathBuf>,
    /// Execution is allowed only of these files or of files beneath these directories.
    #[serde(default)]
    pub execute: Vec<PathBuf>,
    /// Files (or directories) that must not be executed even when an `execute` entry covers
    /// them: the shells, package managers and `exec.deny` matches the daemon found anywhere in
    /// the image, every hard link already listed (palisade-init does not look for links).
    #[serde(default)]
    pub deny_execute: Vec<PathBuf>,
    /// Directories (or files) whose whole subtree must not be executable: the container's
    /// writable places (W^X). Excluded from `execute` like `deny_execute`, but named apart so
    /// `--explain` can say why.
    #[serde(default)]
    pub no_execute: Vec<PathBuf>,
}

/// Why a policy file was refused. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy {}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not one only the wrapper could have put there.
    #[error("policy {}: refused: {why}", path.display())]
    Untrusted { path: PathBuf, why: String },
    #[error("policy {}: larger than {MAX_POLICY_BYTES} bytes", path.display())]
    TooLarge { path: PathBuf },
    #[error("policy {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("policy {}: unsupported version {found} (this palisade-init reads version {POLICY_VERSION})", path.display())]
    Version { path: PathBuf, found: u32 },
    #[error("policy {}: {field}[{index}] {value:?}: {problem}", path.display())]
    BadPath {
        path: PathBuf,
        field: &'static str,
        index: usize,
        value: PathBuf,
        problem: &'static str,
    },
}

impl Policy {
    /// Reads, parses and validates the policy at `path`.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let read_err = |source| PolicyError::Read {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        Self::read_from(path, file)
    }

    /// Reads, parses and validates the policy from an open `file`; `path` names it in errors.
    pub fn read_from(path: &Path, file: std::fs::File) -> Result<Self, PolicyError> {
        let read_err = |source| PolicyError::Read {
            path: path.to_owned(),
            source,
        };
        let mut text = String::new();
        file.take(MAX_POLICY_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(read_err)?;
        if text.len() as u64 > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge {
                path: path.to_owned(),
            });
        }
        Self::parse(path, &text)
    }

    /// Parses and validates policy text; `path` only names the source in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, PolicyError> {
        let parse_err = |source| PolicyError::Parse {
            path: path.to_owned(),
            source,
        };
        // The version first, so an old policy is named as such rather than by its first field
        // this version no longer knows.
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let found = serde_json::from_str::<Versioned>(text).map_err(parse_err)?.version;
        if found != POLICY_VERSION {
            return Err(PolicyError::Version {
                path: path.to_owned(),
                found,
            });
        }
        let policy: Policy = serde_json::from_str(text).map_err(parse_err)?;
        for (field, list) in [
            ("write_beneath", &policy.write_beneath),
            ("execute", &policy.execute),
            ("deny_execute", &policy.deny_execute),
            ("no_execute", &policy.no_execute),
        ] {
            for (index, value) in list.iter().enumerate() {
                let problem = if value.as_os_str().is_empty() {
                    Some("is empty")
                } else if !value.is_absolute() {
                    Some("is not an absolute path")
                } else if value.as_os_str().as_encoded_bytes().contains(&0) {
                    Some("contains a NUL byte")
                } else {
                    None
                };
                if let Some(problem) = problem {
                    return Err(PolicyError::BadPath {
                        path: path.to_owned(),
                        field,
                        index,
                        value: value.clone(),
                        problem,
                    });
                }
            }
        }
        Ok(policy)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics at the call")]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, String> {
        Policy::parse(Path::new("/p.json"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn full_policy_parses() {
        let p = parse(
            r#"{"version":2,"write_beneath":["/tmp"],"execute":["/usr/bin"],"deny_execute":["/bin/sh"],"no_execute":["/tmp"]}"#,
        )
        .unwrap();
        assert_eq!(p.write_beneath, [PathBuf::from("/tmp")]);
        assert_eq!(p.execute, [PathBuf::from("/usr/bin")]);
        assert_eq!(p.deny_execute, [PathBuf::from("/bin/sh")]);
        assert_eq!(p.no_execute, [PathBuf::from("/tmp")]);
    }

    #[test]
    fn lists_default_to_empty() {
        let p = parse(r#"{"version":2}"#).unwrap();
        assert_eq!(p, Policy { version: 2, ..Policy::default() });
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        assert_eq!(
            parse(r#"{"version":2,"execut":[]}"#).unwrap_err(),
            "policy /p.json: unknown field `execut`, expected one of `version`, `write_beneath`, \
             `execute`, `deny_execute`, `no_execute` at line 1 column 21"
        );
        assert_eq!(
            parse(r#"{"execute":[]}"#).unwrap_err(),
            "policy /p.json: missing field `version` at line 1 column 14"
        );
        // A version 1 policy (the one with `mode: audit`) is refused as such.
        assert_eq!(
            parse(r#"{"version":1,"mode":"audit"}"#).unwrap_err(),
            "policy /p.json: unsupported version 1 (this palisade-init reads version 2)"
        );
        assert_eq!(
            parse(r#"{"version":2,"mode":"audit"}"#).unwrap_err(),
            "policy /p.json: unknown field `mode`, expected one of `version`, `write_beneath`, \
             `execute`, `deny_execute`, `no_execute` at line 1 column 19"
        );
        assert_eq!(
            parse(r#"{"version":2,"execute":["/bin","usr/bin"]}"#).unwrap_err(),
            "policy /p.json: execute[1] \"usr/bin\": is not an absolute path"
        );
        assert_eq!(
            parse(r#"{"version":2,"write_beneath":[""]}"#).unwrap_err(),
            "policy /p.json: write_beneath[0] \"\": is empty"
        );
        assert_eq!(
            parse(r#"{"version":2,"no_execute":["tmp"]}"#).unwrap_err(),
            "policy /p.json: no_execute[0] \"tmp\": is not an absolute path"
        );
        assert_eq!(
            parse("{\"version\":2,\"deny_execute\":[\"/a\\u0000b\"]}").unwrap_err(),
            "policy /p.json: deny_execute[0] \"/a\\0b\": contains a NUL byte"
        );
        assert!(parse("{\"version\":2,")
            .unwrap_err()
            .starts_with("policy /p.json: EOF while parsing"));
    }

    #[test]
    fn oversized_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        std::fs::write(&path, vec![b' '; MAX_POLICY_BYTES as usize + 1]).unwrap();
        let err = Policy::load(&path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("policy {}: larger than 1048576 bytes", path.display())
        );
        let err = Policy::load(&dir.path().join("absent.json"))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("absent.json: cannot read: No such file or directory (os error 2)"),
            "{err}"
        );
    }
}
