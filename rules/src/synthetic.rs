//! Generated rule files of any size, shaped like Falco's own: shared macros and lists used by
//! every rule, one list and one macro per group of rules (Falco's files have about one list or
//! macro per rule), exceptions on some rules, and `override: append` updates on others.
//!
//! Used by `palisade-bench rule-load` (load time at 1k/10k/100k rules) and by tests that need
//! a file whose load takes a while (SIGTERM during loading). Every rule loads without errors;
//! the rules using `spawned_process` warn about `evt.dir`, as Falco's own rules do.

use std::fmt::Write as _;

/// Rules per generated list/macro pair.
const GROUP: usize = 4;

/// A rules file with `rules` rules (and `rules / 4` lists and macros, plus a few shared ones).
pub fn synthetic_rules(rules: usize) -> String {
    let mut out = String::with_capacity(rules * 700 + 2048);
    out.push_str(
        "- required_engine_version: 0.26.0\n\n\
         - macro: spawned_process\n  condition: (evt.type in (execve, execveat) and evt.dir=<)\n\n\
         - macro: open_read\n  condition: (evt.type in (open,openat,openat2) and evt.is_open_read=true and fd.typechar='f' and fd.num>=0)\n\n\
         - macro: container\n  condition: (container.id != host)\n\n\
         - list: shell_binaries\n  items: [ash, bash, csh, ksh, sh, tcsh, zsh, dash]\n\n\
         - macro: shell_procs\n  condition: (proc.name in (shell_binaries))\n\n",
    );
    let groups = rules.div_ceil(GROUP);
    for g in 0..groups {
        let _ = write!(
            out,
            "- list: synthetic_binaries_{g}\n  items: [tool{g}a, tool{g}b, \"tool {g} c\", shell_binaries]\n\n\
             - list: synthetic_dirs_{g}\n  items: [/opt/app{g}/, /srv/data{g}/]\n\n\
             - macro: synthetic_writer_{g}\n  condition: (proc.name in (synthetic_binaries_{g}) or proc.pname in (synthetic_binaries_{g}))\n\n\
             - macro: synthetic_trusted_{g}\n  condition: (container.image.repository = \"registry.local/app{g}\" and shell_procs)\n\n",
        );
        for i in g * GROUP..((g + 1) * GROUP).min(rules) {
            let cond = match i % 3 {
                0 => format!(
                    "spawned_process and container and synthetic_writer_{g} and not synthetic_trusted_{g} and proc.cmdline contains \"--flag{i}\""
                ),
                1 => format!(
                    "open_read and container and fd.directory in (synthetic_dirs_{g}) and not synthetic_trusted_{g} and fd.name endswith .key{i}"
                ),
                _ => format!(
                    "spawned_process and not container and (synthetic_writer_{g} or proc.aname[2] = tool{i}) and not proc.args startswith \"-safe{i}\""
                ),
            };
            let _ = write!(
                out,
                "- rule: Synthetic rule {i}\n  desc: generated rule {i} of group {g}\n  condition: >\n    {cond}\n  \
                 output: \"synthetic {i} (user=%user.name command=%proc.cmdline file=%fd.name container=%container.id image=%container.image.repository)\"\n  \
                 priority: WARNING\n  tags: [synthetic, group{}, mitre_execution]\n",
                g % 16,
            );
            if i % 5 == 0 {
                let _ = write!(
                    out,
                    "  exceptions:\n    - name: known_tools\n      fields: [proc.name, proc.pname]\n      comps: [=, in]\n      values:\n        - [tool{i}, [bash, sh]]\n",
                );
            }
            out.push('\n');
            if i % 7 == 0 {
                let _ = write!(
                    out,
                    "- rule: Synthetic rule {i}\n  condition: and not user.name = svc{i}\n  override:\n    condition: append\n\n",
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Loader;

    #[test]
    fn generated_rules_load_without_errors_and_warn_as_upstream_rules_do() {
        let mut loader = Loader::new();
        loader.add_str("synthetic.yaml", &synthetic_rules(50));
        let loaded = loader.compile();
        // Like Falco's own rules, `spawned_process` tests the deprecated `evt.dir`: one warning
        // per rule using it (a file of 100,000 such rules gives 100,000 warnings).
        let (evt_dir, other): (Vec<String>, Vec<String>) = loaded
            .report
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .partition(|d| d.contains("warning: usage of deprecated field 'evt.dir'") && d.contains("in macro 'spawned_process'"));
        assert!(other.is_empty(), "{other:#?}");
        assert_eq!(evt_dir.len(), (0..50).filter(|i| i % 3 != 1).count());
        let ruleset = loaded.ruleset.expect("a ruleset");
        assert_eq!(ruleset.rules().len(), 50);
        assert_eq!(loaded.counts.lists, 1 + 2 * 13);
        assert_eq!(loaded.counts.macros, 4 + 2 * 13);
        let r7 = ruleset.rule("Synthetic rule 7").expect("rule 7");
        assert!(r7.condition_text.ends_with("and not user.name = svc7"), "{}", r7.condition_text);
    }

    #[test]
    fn a_raised_cancel_flag_stops_loading_without_a_ruleset() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let flag = Arc::new(AtomicBool::new(false));
        let mut loader = Loader::new();
        loader.cancel_on(Arc::clone(&flag));
        loader.add_str("first.yaml", &synthetic_rules(8));
        flag.store(true, Ordering::Relaxed);
        loader.add_str("second.yaml", &synthetic_rules(8));
        let loaded = loader.compile();
        assert!(loaded.interrupted);
        assert!(loaded.ruleset.is_none());
        assert_eq!(loaded.counts.rules, 8, "the second file was not read");
        // Raised before a file is parsed: the YAML reader gives up at its first event.
        let flag = AtomicBool::new(true);
        let e = crate::yaml::parse_documents_until("- a: 1\n", Some(&flag)).expect_err("interrupted");
        assert_eq!(e.message, crate::yaml::INTERRUPTED);
    }
}
