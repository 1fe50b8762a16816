//! Reload (SIGHUP, a watched file's change): build everything new first, swap between two
//! drains only if all of it is good. See the invariant in the parent module.

use std::sync::Arc;

use crate::capture;
use crate::containers::mode_authority::ModeAuthority;
use crate::rules_load::{self, LoadedRules};
use crate::profile_set;

use super::{facts_of, mtimes, Daemon, DaemonError, RecordSource};

/// The rules files' warnings, as `palisade run` prints them on start.
pub fn print_warnings(loaded: &LoadedRules) {
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
}

impl<S: RecordSource> Daemon<S> {
    /// Reads the configuration, rules and profiles again and, if all are good and the
    /// kernel takes the new capture settings, replaces the running ones. A refusal leaves
    /// everything as it was. Fails only if the outputs cannot be restarted.
    pub(super) fn reload(&mut self) -> Result<(), DaemonError> {
        let built = (self.p.reload_config)().and_then(|c| {
            let loaded = rules_load::load(&c).map_err(|e| e.to_string())?;
            let profiles = profile_set::load(&c).map_err(|e| format!("{e:#}"))?;
            let authority = ModeAuthority::from_config(&c.mode_annotation)?;
            crate::webserver::check(&c).map_err(|e| e.to_string())?;
            Ok((c, loaded, profiles, authority))
        });
        match built {
            Ok((new_config, loaded, new_profiles, new_authority)) => {
                print_warnings(&loaded);
                let new_profiles = Arc::new(new_profiles);
                let mut new_plan = capture::plan(&loaded.ruleset);
                capture::with_profile_needs(&mut new_plan, &new_profiles);
                if let Err(e) = self.p.source.configure(&new_plan.capture) {
                    self.reload_errors += 1;
                    self.p.metrics.reload(false);
                    eprintln!("palisade: reload refused: configuring the kernel programs: {e}");
                } else {
                    if new_config != self.p.config {
                        if let Some(sink) = self.sink.take() {
                            self.sink = Some(sink.restart_if_changed(&self.p.config, &new_config)?);
                        }
                        if let Ok(mut r) = self.p.registry.lock() {
                            r.set_host_monitoring(new_config.host_monitoring);
                        }
                    }
                    if let Ok(mut r) = self.p.registry.lock() {
                        r.set_profiles(Arc::clone(&new_profiles), profile_set::global_mode(&new_config));
                        r.set_mode_authority(new_authority);
                    }
                    self.p.rules = Arc::new(loaded.ruleset);
                    self.p.rule_files = loaded.files;
                    self.facts = facts_of(&self.p.hostname, self.p.boot_to_wall, &self.p.rule_files, &new_config);
                    self.p.plan = new_plan;
                    self.p.config = new_config;
                    self.reloads += 1;
                    self.p.metrics.reload(true);
                    self.p.metrics.set_rules_loaded(self.p.rules.rules().len() as u64);
                    eprintln!(
                        "palisade: reloaded: {} rules active, {} syscalls captured ({})",
                        self.p.rules.active_count(),
                        self.p.plan.capture.syscalls.len(),
                        self.p.plan.summary
                    );
                }
            }
            Err(e) => {
                self.reload_errors += 1;
                self.p.metrics.reload(false);
                self.p.metrics.rules_load_error();
                eprintln!("palisade: reload refused, the running configuration and rules stay:\n{e}");
            }
        }
        self.watched = rules_load::watched_files(self.p.config_path.as_deref(), &self.p.rule_files);
        self.watched_mtimes = mtimes(&self.watched);
        Ok(())
    }
}
