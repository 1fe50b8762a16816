//! The domain names Falco's DNS manager would resolve for a ruleset: the values that active
//! conditions compare `fd.cip.name`, `fd.sip.name`, `fd.lip.name` or `fd.rip.name` with
//! (`fd.sip.name = kubernetes.default.svc.cluster.local`, `fd.sip.name in (miner_domains)`).
//!
//! libsinsp resolves exactly these names and yields a name for an address only when the
//! address is among a resolved name's addresses; Palisade's events crate does the same with
//! this set (`palisade_events::event::dns`).

use std::collections::BTreeSet;

use crate::condition::{Expr, Operand, Rhs};
use crate::{Ruleset, Source};

/// The fields whose values are domain names resolved from conditions.
pub const NAME_FIELDS: [&str; 4] = ["fd.cip.name", "fd.sip.name", "fd.lip.name", "fd.rip.name"];

/// Every domain name an active syscall rule compares a `fd.*ip.name` field with.
pub fn condition_domains(rules: &Ruleset) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for rule in rules.active_rules(Source::Syscall) {
        rule.condition.walk(&mut |e| {
            let Expr::Check(c) = e else { return };
            let Operand::Field(f) = &c.lhs else { return };
            if !NAME_FIELDS.contains(&f.name.as_str()) {
                return;
            }
            match &c.rhs {
                Rhs::Value(v) => {
                    out.insert(v.clone());
                }
                Rhs::List(vs) => out.extend(vs.iter().cloned()),
                Rhs::None | Rhs::Field(_) => {}
            }
        });
    }
    out.retain(|d| !d.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Loader;

    #[test]
    fn names_compared_in_active_conditions() {
        let mut loader = Loader::new();
        loader.add_str(
            "t.yaml",
            "- list: miners\n  items: [pool.example, \"xmr.example\"]\n\
             - rule: a\n  desc: d\n  condition: evt.type = connect and (fd.sip.name = api.example or fd.sip.name in (miners))\n  output: o\n  priority: INFO\n\
             - rule: b\n  desc: d\n  condition: evt.type = connect and not fd.cip.name = off.example\n  output: o\n  priority: INFO\n  enabled: false\n\
             - rule: c\n  desc: d\n  condition: evt.type = connect and fd.name = x.example\n  output: o\n  priority: INFO\n",
        );
        let loaded = loader.compile();
        let rules = loaded.ruleset.unwrap_or_else(|| panic!("{:?}", loaded.report.diagnostics));
        let got: Vec<String> = condition_domains(&rules).into_iter().collect();
        assert_eq!(got, ["api.example", "pool.example", "xmr.example"]);
    }
}
