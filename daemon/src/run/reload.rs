//! Reload (SIGHUP, a watched file's change): build everything new first — configuration, rules,
//! profiles, and the outputs if they changed — and swap between two drains only if all of it is
//! good. See the invariant in the parent module.
//!
//! A refusal is never fatal: the running configuration, rules, profiles and outputs stay, and it
//! is reported three ways — a `tracing` error naming the configuration file (and the output that
//! could not start), `palisade_reloads_total{result="error"}`, and the internal alert
//! [`REFUSED_RULE`] through the running outputs. (A daemon that exits on a bad reload crash-loops
//! under `Restart=always` while it monitors nothing.)

use std::sync::Arc;

use palisade_rules::alert::Alert;
use palisade_rules::output::FieldValue;

use crate::capture;
use crate::containers::mode_authority::ModeAuthority;
use crate::profile_set;
use crate::rules_load::{self, LoadedRules};

use super::{facts_of, mtimes, wall_ns, Daemon, RecordSource};

/// The rule name of the internal alert of a refused reload.
pub const REFUSED_RULE: &str = "Palisade internal: reload refused";

/// The rules files' warnings, as `palisade run` prints them on start.
pub fn print_warnings(loaded: &LoadedRules) {
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
}

/// Why a reload was refused: what failed (`stage`), in which output if one, and the message.
struct Refusal {
    stage: &'static str,
    output: Option<&'static str>,
    error: String,
}

impl<S: RecordSource> Daemon<S> {
    /// Reads the configuration, rules and profiles again, starts the outputs they ask for and
    /// reconfigures the kernel; if all of it succeeds, replaces the running ones. A refusal
    /// leaves everything as it was (reported; see the module documentation).
    pub(super) fn reload(&mut self) {
        match self.try_reload() {
            Ok(()) => {
                self.reloads += 1;
                self.p.metrics.reload(true);
                self.p.metrics.set_rules_loaded(self.p.rules.rules().len() as u64);
                self.p.metrics.set_loaded_files(&self.p.rule_files, self.p.config_path.as_slice());
                tracing::info!(
                    rules_active = self.p.rules.active_count(),
                    syscalls = self.p.plan.capture.syscalls.len(),
                    summary = %self.p.plan.summary,
                    "reloaded"
                );
            }
            Err(refusal) => self.refused(&refusal),
        }
        self.watched = rules_load::watched_files(self.p.config_path.as_deref(), &self.p.config, &self.p.rule_files);
        self.watched_mtimes = mtimes(&self.watched);
    }

    fn try_reload(&mut self) -> Result<(), Refusal> {
        let fail = |stage| move |error: String| Refusal { stage, output: None, error };
        let new_config = (self.p.reload_config)().map_err(fail("configuration"))?;
        let loaded = rules_load::load_until(&new_config, &self.p.stop).map_err(|e| e.to_string()).map_err(|e| {
            self.p.metrics.rules_load_error();
            fail("rules")(e)
        })?;
        let new_profiles = profile_set::load(&new_config).map_err(|e| format!("{e:#}")).map_err(fail("profiles"))?;
        let new_authority = ModeAuthority::from_config(&new_config.mode_annotation).map_err(fail("mode_annotation"))?;
        // The web server's new listeners bound before anything else starts; dropped unused if a
        // later stage fails (their sockets close, the running ones never stopped).
        let web = match &self.web {
            Some(web) => web.prepare(&new_config),
            None => crate::webserver::check(&new_config).map(|()| None),
        }
        .map_err(|e| e.to_string())
        .map_err(fail("webserver"))?;
        print_warnings(&loaded);
        // The outputs before the kernel: a start that fails must leave nothing changed.
        let fresh = match &self.sink {
            Some(sink) => sink.prepare(&self.p.config, &new_config).map_err(|e| Refusal {
                stage: "outputs",
                output: e.output().map(|o| o.name()),
                error: e.to_string(),
            })?,
            None => None,
        };
        let new_profiles = Arc::new(new_profiles);
        let mut new_plan = capture::plan(&loaded.ruleset);
        capture::with_profile_needs(&mut new_plan, &new_profiles);
        if let Err(e) = self.p.source.configure(&new_plan.capture) {
            if let Some(fresh) = fresh {
                fresh.discard();
            }
            return Err(Refusal { stage: "kernel", output: None, error: format!("configuring the kernel programs: {e}") });
        }
        // Nothing can fail from here on.
        if let (Some(running), Some(web)) = (&mut self.web, web) {
            running.apply(web);
        }
        if let Some(sink) = self.sink.take() {
            self.sink = Some(sink.swap(&new_config, fresh));
        }
        if new_config.ring_buffer_mib != self.p.config.ring_buffer_mib {
            tracing::warn!(running = self.p.config.ring_buffer_mib, configured = new_config.ring_buffer_mib,
                           "ring_buffer_mib is read at start: the ring buffer keeps its size until the daemon restarts");
        }
        if let Ok(mut r) = self.p.registry.lock() {
            if new_config.host_monitoring != self.p.config.host_monitoring {
                r.set_host_monitoring(new_config.host_monitoring);
            }
            r.set_profiles(Arc::clone(&new_profiles), profile_set::global_mode(&new_config));
            self.p.metrics.declare_profiles(new_profiles.profiles().iter().map(|p| p.name.as_str()));
            r.set_mode_authority(new_authority);
        }
        self.p.rules = Arc::new(loaded.ruleset);
        self.p.rule_files = loaded.files;
        self.facts = facts_of(&self.p.hostname, self.p.boot_to_wall, &self.p.rule_files, &new_config);
        self.p.plan = new_plan;
        self.p.config = new_config;
        Ok(())
    }

    fn refused(&mut self, refusal: &Refusal) {
        self.reload_errors += 1;
        self.p.metrics.reload(false);
        let config = self.p.config_path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        tracing::error!(
            config = %config,
            stage = refusal.stage,
            output = refusal.output,
            error = %refusal.error,
            "reload refused, the running configuration, rules and outputs stay"
        );
        let mut output_fields = vec![
            ("palisade.config".to_owned(), FieldValue::Text(config.clone())),
            ("palisade.stage".to_owned(), FieldValue::Text(refusal.stage.to_owned())),
        ];
        if let Some(output) = refusal.output {
            output_fields.push(("palisade.output".to_owned(), FieldValue::Text(output.to_owned())));
        }
        output_fields.push(("palisade.error".to_owned(), FieldValue::Text(refusal.error.clone())));
        let alert = Alert {
            time_ns: wall_ns(),
            rule: REFUSED_RULE.into(),
            priority: "Error",
            source: "internal",
            output: format!(
                "{REFUSED_RULE}: {} of {} could not be applied, the running configuration stays: {}",
                refusal.stage,
                if config.is_empty() { "the configuration" } else { &config },
                refusal.error
            ),
            output_fields,
            tags: vec![],
            hostname: self.p.hostname.clone(),
            extra: vec![],
        };
        self.p.metrics.alert(&alert.rule, alert.priority);
        self.stats.alerts += 1;
        self.send(&alert);
    }
}
