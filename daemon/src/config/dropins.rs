//! Falco's `config_files`: more configuration files merged into the main one, in order, after
//! it (Falco ≥ 0.38 semantics).
//!
//! Each entry is a path or `{path, strategy}`; a directory stands for its regular files in
//! lexicographical order; a path that does not exist is skipped, as Falco does (its stock file
//! names `/etc/falco/config.d`, which a host may not have). An included file may not include
//! others (`config_files` in it is an error), nor be the main file. The merge is per top-level
//! key, as Falco's:
//! - `append` (default): a sequence already set gets the new items appended; any other key is
//!   overridden; a new key is added;
//! - `override`: an existing key is overridden, a new one added;
//! - `add-only`: an existing key is kept, a new one added.
//!
//! `-o` options are applied after the merge (the command line wins).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::load::{ConfigError, Source};

/// One `config_files` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ConfigFile {
    /// A path, merged with `append`.
    Path(PathBuf),
    /// A path with its strategy.
    With {
        path: PathBuf,
        #[serde(default)]
        strategy: Strategy,
    },
}

impl ConfigFile {
    pub fn path(&self) -> &Path {
        match self {
            ConfigFile::Path(p) | ConfigFile::With { path: p, .. } => p,
        }
    }

    pub fn strategy(&self) -> Strategy {
        match self {
            ConfigFile::Path(_) => Strategy::Append,
            ConfigFile::With { strategy, .. } => *strategy,
        }
    }
}

/// How an included file's keys meet the ones already set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    #[default]
    Append,
    Override,
    AddOnly,
}

/// Merges `into` (the main file's value) with the files its `config_files` names; each file read
/// is pushed onto `sources` (for positions) and its keys' owner recorded in `Source::keys`.
pub(super) fn merge(into: &mut Value, sources: &mut Vec<Source>) -> Result<(), ConfigError> {
    let Some(entries) = into.get("config_files").cloned() else { return Ok(()) };
    let main = sources.first().map(|s| s.origin.clone()).unwrap_or_default();
    let bad = |message: String| ConfigError::Invalid { origin: main.clone(), message };
    let entries: Vec<ConfigFile> = match entries {
        Value::Null => Vec::new(),
        other => serde_json::from_value(other)
            .map_err(|e| bad(format!("config_files: {e} (a path, or {{path, strategy: append|override|add-only}})")))?,
    };
    let main_path = std::fs::canonicalize(&main).ok();
    for entry in entries {
        for file in files_of(entry.path()).map_err(|source| ConfigError::Read { path: entry.path().to_owned(), source })? {
            if main_path.is_some() && std::fs::canonicalize(&file).ok() == main_path {
                return Err(bad(format!("config_files: {} is the main configuration file", file.display())));
            }
            let source = Source::read(&file)?;
            if let Some(pos) = source.key_pos("config_files") {
                return Err(ConfigError::At {
                    origin: source.origin.clone(),
                    pos,
                    message: "config_files: an included file may not include others".into(),
                });
            }
            let value = source.value();
            let index = sources.len();
            sources.push(source);
            apply(into, value, entry.strategy(), |key| sources_own(sources, index, key));
        }
    }
    Ok(())
}

fn sources_own(sources: &mut [Source], index: usize, key: &str) {
    for (i, s) in sources.iter_mut().enumerate() {
        if i == index {
            s.owns.insert(key.to_owned());
        } else {
            s.owns.remove(key);
        }
    }
}

/// The files `path` stands for: itself, a directory's regular files sorted, or none.
fn files_of(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    if !path.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(path)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    files.sort();
    Ok(files)
}

/// Merges one included file's top-level `value` into `into` with `strategy`; `took(key)` is
/// called for every key whose value now comes (at least partly) from it.
pub(super) fn apply(into: &mut Value, value: Value, strategy: Strategy, mut took: impl FnMut(&str)) {
    let (Some(into), Value::Object(value)) = (into.as_object_mut(), value) else { return };
    for (key, new) in value {
        match (into.get_mut(&key), strategy) {
            (None, _) => {
                took(&key);
                into.insert(key, new);
            }
            (Some(_), Strategy::AddOnly) => {}
            (Some(Value::Array(old)), Strategy::Append) if new.is_array() => {
                if let Value::Array(items) = new {
                    old.extend(items);
                }
                took(&key);
            }
            (Some(old), Strategy::Append | Strategy::Override) => {
                *old = new;
                took(&key);
            }
        }
    }
}
