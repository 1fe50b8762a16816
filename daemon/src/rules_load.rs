//! The configured ruleset: `rules_files` (files, and directories' `*.yaml`/`*.yml` in name
//! order) loaded in order, then `rules:` selections, `priority` and `rule_matching` applied.
//! Used at start and on every reload; a load with errors yields no ruleset, so the caller keeps
//! the one it runs. [`load_until`] gives up when a stop flag (SIGINT/SIGTERM) is raised: a rule
//! set of 100,000 rules takes seconds to load, and a daemon must stop when asked, even then.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use palisade_rules::{Diagnostic, Loader, Priority, RuleMatching, Ruleset};

use crate::config::{Config, RuleSelection, Selector};

/// A load that worked: the ruleset, and its warnings.
pub struct LoadedRules {
    pub ruleset: Ruleset,
    pub files: Vec<PathBuf>,
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesLoadError {
    #[error("no rules files: give -r FILE or set rules_files in the configuration")]
    NoFiles,
    #[error("rules_files: {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The rules have errors (each a `file:line:col: error: ... (rule 'x')` line).
    #[error("the rules files have {} errors:\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Rules(Vec<Diagnostic>),
    /// The stop flag was raised while loading.
    #[error("rules loading interrupted by a stop signal")]
    Interrupted,
}

/// `rules_files` with directories expanded.
pub fn rule_files(config: &Config) -> Result<Vec<PathBuf>, RulesLoadError> {
    let mut files = Vec::new();
    for entry in &config.rules_files {
        if entry.is_dir() {
            let read = |source| RulesLoadError::Read { path: entry.clone(), source };
            let mut inside: Vec<PathBuf> = std::fs::read_dir(entry)
                .map_err(read)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml") && p.is_file())
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(entry.clone());
        }
    }
    if files.is_empty() && !config.builtin_rules {
        return Err(RulesLoadError::NoFiles);
    }
    Ok(files)
}

/// Loads and configures the ruleset `config` describes.
pub fn load(config: &Config) -> Result<LoadedRules, RulesLoadError> {
    load_until(config, &Arc::new(AtomicBool::new(false)))
}

/// [`load`], giving up with [`RulesLoadError::Interrupted`] once `stop` is set (checked per
/// file, per YAML event, per item read and per macro and rule compiled).
pub fn load_until(config: &Config, stop: &Arc<AtomicBool>) -> Result<LoadedRules, RulesLoadError> {
    let files = rule_files(config)?;
    let options = palisade_rules::loader::LoadOptions { extra_outputs: config.extra_outputs() };
    let mut loader = Loader::with_options(options);
    loader.cancel_on(Arc::clone(stop));
    if config.builtin_rules {
        loader.add_str(crate::config::BUILTIN_RULES_NAME, crate::config::BUILTIN_RULES);
    }
    for f in &files {
        loader.add_file(f).map_err(|source| RulesLoadError::Read { path: f.clone(), source })?;
    }
    let loaded = loader.compile();
    if loaded.interrupted {
        return Err(RulesLoadError::Interrupted);
    }
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) =
        loaded.report.diagnostics.into_iter().partition(Diagnostic::is_error);
    let Some(mut ruleset) = loaded.ruleset.filter(|_| errors.is_empty()) else {
        return Err(RulesLoadError::Rules(errors));
    };
    for selection in &config.rules {
        let (enable, selector) = match selection {
            RuleSelection::Enable(s) => (true, s),
            RuleSelection::Disable(s) => (false, s),
        };
        match selector {
            Selector::Rule(pattern) => {
                ruleset.set_enabled_where(enable, |r| wildcard(pattern, &r.name));
            }
            Selector::Tag(tag) => {
                ruleset.set_enabled_where(enable, |r| r.tags.iter().any(|t| t == tag));
            }
        }
    }
    ruleset.set_min_priority(config.priority.parse().unwrap_or(Priority::Debug));
    ruleset.set_rule_matching(if config.rule_matching == "all" { RuleMatching::All } else { RuleMatching::First });
    Ok(LoadedRules { ruleset, files, warnings })
}

/// Falco's rule-name selection: `*` matches any run of characters, everything else literally.
fn wildcard(pattern: &str, name: &str) -> bool {
    palisade_rules::eval::ops::glob_match(pattern.as_bytes(), name.as_bytes(), false)
}

/// The files a reload watches: the configuration, its `config_files` drop-ins (and the
/// entries naming them, so a file added to a drop-in directory is seen), and every rules file.
pub fn watched_files(config_path: Option<&Path>, config: &Config, rules: &[PathBuf]) -> Vec<PathBuf> {
    let dropins = config.included_files.iter().cloned().chain(config.config_files.iter().map(|f| f.path().to_owned()));
    config_path.map(Path::to_path_buf).into_iter().chain(dropins).chain(rules.iter().cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    fn rule(name: &str, tag: &str) -> String {
        format!("- rule: {name}\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: WARNING\n  tags: [{tag}]\n")
    }

    #[test]
    fn directories_expand_in_name_order_and_selections_apply_in_order() {
        let dir = std::env::temp_dir().join(format!("palisade-rules-load-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rules.d")).expect("mkdir");
        write(&dir.join("rules.d"), "20-b.yaml", &rule("Second thing", "network"));
        write(&dir.join("rules.d"), "10-a.yaml", &rule("First thing", "filesystem"));
        write(&dir.join("rules.d"), "notes.txt", "not rules");
        let extra = write(&dir, "extra.yml", &rule("Extra thing", "network"));
        let config = Config {
            rules_files: vec![dir.join("rules.d"), extra.clone()],
            rules: vec![
                RuleSelection::Disable(Selector::Tag("network".into())),
                RuleSelection::Enable(Selector::Rule("Extra*".into())),
            ],
            ..Config::default()
        };
        let loaded = load(&config).expect("load");
        assert_eq!(loaded.files, [dir.join("rules.d/10-a.yaml"), dir.join("rules.d/20-b.yaml"), extra]);
        let enabled: Vec<&str> = loaded.ruleset.rules().iter().filter(|r| r.enabled).map(|r| r.name.as_str()).collect();
        assert_eq!(enabled, ["First thing", "Extra thing"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn broken_rules_are_refused_with_positions() {
        let dir = std::env::temp_dir().join(format!("palisade-rules-broken-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let f = write(&dir, "bad.yaml", "- rule: Broken\n  desc: d\n  condition: evt.type = = open\n  output: o\n  priority: WARNING\n");
        let e = load(&Config { rules_files: vec![f], ..Config::default() }).err().expect("must fail");
        let text = e.to_string();
        assert!(text.starts_with("the rules files have 1 errors:"), "{text}");
        assert!(text.contains("bad.yaml:3:") && text.contains("rule 'Broken'"), "{text}");
        assert!(matches!(load(&Config::default()), Err(RulesLoadError::NoFiles)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_raised_stop_flag_interrupts_loading() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = write(dir.path(), "many.yaml", &palisade_rules::synthetic::synthetic_rules(200));
        let config = Config { rules_files: vec![f], ..Config::default() };
        assert_eq!(load(&config).expect("loads").ruleset.rules().len(), 200);
        let stop = Arc::new(AtomicBool::new(true));
        let e = load_until(&config, &stop).err().expect("interrupted");
        assert!(matches!(e, RulesLoadError::Interrupted), "{e}");
        assert_eq!(e.to_string(), "rules loading interrupted by a stop signal");
    }
}
