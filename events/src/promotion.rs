//! The audit→enforce promotion report: for each profile setting, how many actions it denied
//! or would have denied, and the first distinct examples. Built from profile decisions by
//! `palisade replay --profile` (a recording, judged under a profile in enforce mode) and by the
//! daemon per container (`palisade profiles report`).
//!
//! Memory is bounded per setting: [`MAX_EXAMPLES`] examples and [`MAX_TARGETS`] distinct
//! (action, target) pairs counted; beyond that, counts go on and new targets are only counted
//! as decisions.

use std::collections::{BTreeMap, HashSet};

use palisade_hook::{PromotionReport, ReportExample, SettingReport};

use crate::would_deny::Decision;

/// Examples kept per setting.
pub const MAX_EXAMPLES: usize = 5;
/// Distinct (action, target) pairs remembered per setting.
pub const MAX_TARGETS: usize = 4096;

#[derive(Debug, Default)]
struct Setting {
    report: SettingReport,
    seen: HashSet<(String, String)>,
}

/// Decisions tallied for one profile.
#[derive(Debug, Default)]
pub struct Tally {
    profile: String,
    mode: String,
    first_ns: u64,
    last_ns: u64,
    settings: BTreeMap<String, Setting>,
}

impl Tally {
    /// An empty tally for `profile`, judged in `mode` (empty for a recording).
    pub fn new(profile: &str, mode: &str) -> Tally {
        Tally { profile: profile.to_owned(), mode: mode.to_owned(), ..Default::default() }
    }

    /// Counts one decision about the container `id` named `name`.
    pub fn record(&mut self, d: &Decision, container_id: &str, container_name: &str) {
        let time_ns = d.alert.time_ns;
        if self.first_ns == 0 {
            self.first_ns = time_ns;
        }
        self.last_ns = self.last_ns.max(time_ns);
        let s = self.settings.entry(d.setting.clone()).or_default();
        s.report.setting.clone_from(&d.setting);
        s.report.count += 1;
        s.report.enforced += u64::from(d.enforced);
        if let Some(e) = s.report.examples.iter_mut().find(|e| e.action == d.action && e.target == d.target) {
            e.count += 1;
            return;
        }
        let key = (d.action.clone(), d.target.clone());
        if s.seen.len() >= MAX_TARGETS || !s.seen.insert(key) {
            return;
        }
        s.report.distinct_targets += 1;
        if s.report.examples.len() < MAX_EXAMPLES {
            s.report.examples.push(ReportExample {
                time_ns,
                container_id: container_id.to_owned(),
                container_name: container_name.to_owned(),
                action: d.action.clone(),
                target: d.target.clone(),
                process: d.process.clone(),
                count: 1,
            });
        }
    }

    /// The report: settings by decreasing count, then by name.
    pub fn report(&self) -> PromotionReport {
        let mut settings: Vec<SettingReport> = self.settings.values().map(|s| s.report.clone()).collect();
        settings.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.setting.cmp(&b.setting)));
        PromotionReport {
            profile: self.profile.clone(),
            mode: self.mode.clone(),
            first_ns: self.first_ns,
            last_ns: self.last_ns,
            settings,
        }
    }
}

/// The report as text, for a terminal.
pub fn render(report: &PromotionReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if report.settings.is_empty() {
        let _ = writeln!(out, "profile {}: nothing denied; enforcing it would have blocked nothing seen", report.profile);
        return out;
    }
    let total: u64 = report.settings.iter().map(|s| s.count).sum();
    let _ = writeln!(
        out,
        "profile {}: {total} action(s) denied or would be denied, by {} setting(s)",
        report.profile,
        report.settings.len()
    );
    for s in &report.settings {
        let enforced = if s.enforced > 0 { format!(", {} refused by the kernel", s.enforced) } else { String::new() };
        let _ = writeln!(out, "  {:>7}  {} ({} distinct target(s){enforced})", s.count, s.setting, s.distinct_targets);
        for e in &s.examples {
            let _ = writeln!(
                out,
                "           {} {} {} x{} by {} in {} ({})",
                palisade_rules::alert::format_rfc3339(e.time_ns),
                e.action,
                e.target,
                e.count,
                e.process,
                e.container_name,
                e.container_id.get(..12).unwrap_or(&e.container_id),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_rules::alert::Alert;

    fn decision(setting: &str, target: &str, t: u64, enforced: bool) -> Decision {
        let alert = Alert {
            time_ns: t,
            rule: crate::would_deny::RULE.into(),
            priority: "Warning",
            source: "syscall",
            output: String::new(),
            output_fields: Vec::new(),
            tags: Vec::new(),
            hostname: String::new(),
            extra: Vec::new(),
        };
        Decision {
            alert,
            enforced,
            setting: setting.into(),
            action: "exec".into(),
            target: target.into(),
            process: format!("command={target}"),
        }
    }

    #[test]
    fn counts_per_setting_with_distinct_examples() {
        let mut t = Tally::new("hardened", "audit");
        for (i, (setting, target)) in
            [("deny_shells", "/bin/sh"), ("deny_shells", "/bin/bash"), ("deny_shells", "/bin/sh"), ("immutable", "/etc/x")]
                .into_iter()
                .enumerate()
        {
            t.record(&decision(setting, target, 100 + i as u64, i == 3), "0123456789abcdef", "web");
        }
        let r = t.report();
        assert_eq!((r.first_ns, r.last_ns, r.profile.as_str(), r.mode.as_str()), (100, 103, "hardened", "audit"));
        let shells = &r.settings[0];
        assert_eq!((shells.setting.as_str(), shells.count, shells.enforced, shells.distinct_targets), ("deny_shells", 3, 0, 2));
        let ex: Vec<(&str, u64)> = shells.examples.iter().map(|e| (e.target.as_str(), e.count)).collect();
        assert_eq!(ex, [("/bin/sh", 2), ("/bin/bash", 1)]);
        assert_eq!((r.settings[1].setting.as_str(), r.settings[1].count, r.settings[1].enforced), ("immutable", 1, 1));
        let text = render(&r);
        assert!(text.starts_with("profile hardened: 4 action(s) denied or would be denied, by 2 setting(s)\n"), "{text}");
        assert!(text.contains("      3  deny_shells (2 distinct target(s))\n"), "{text}");
        assert!(text.contains(" exec /bin/sh x2 by command=/bin/sh in web (0123456789ab)\n"), "{text}");
    }

    #[test]
    fn examples_and_targets_are_bounded() {
        let mut t = Tally::new("p", "");
        for i in 0..(MAX_TARGETS + 10) {
            t.record(&decision("immutable", &format!("/etc/f{i}"), i as u64 + 1, false), "c", "c");
        }
        let r = t.report();
        assert_eq!(r.settings[0].count, (MAX_TARGETS + 10) as u64);
        assert_eq!(r.settings[0].distinct_targets, MAX_TARGETS as u64);
        assert_eq!(r.settings[0].examples.len(), MAX_EXAMPLES);
        assert_eq!(render(&Tally::new("p", "").report()), "profile p: nothing denied; enforcing it would have blocked nothing seen\n");
    }
}
