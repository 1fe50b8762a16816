//! What happens to one syscall-source event, in the daemon and in a replay alike: the
//! container's profile judges it ([`crate::would_deny`]), then the rules evaluate it. One
//! function for both, so a replayed capture alerts exactly as the daemon did.

use palisade_rules::alert::Alert;
use palisade_rules::output::OutputFormat;
use palisade_rules::{Rule, Ruleset, Source};

use crate::containers::ContainerMeta;
use crate::event::resolve::{NoRoots, ProcRoots, Roots};
use crate::event::EventData;
use crate::process::{ProcessTable, Users};
use crate::would_deny::{self, Decision};

/// Appended to every rule alert (Falco's `append_output`), so each says which container it is
/// from.
pub const CONTAINER_OUTPUT: &str = "container_id=%container.id container_name=%container.name \
     container_image_repository=%container.image.repository container_image_tag=%container.image.tag \
     k8s_ns_name=%k8s.ns.name k8s_pod_name=%k8s.pod.name";

/// One alert an event raised.
#[derive(Debug)]
pub enum Emitted<'r> {
    /// A rule matched.
    Rule { rule: &'r Rule, alert: Alert },
    /// The container's profile denied, or would deny, the action.
    Decision(Decision),
}

/// Evaluates events into alerts for one host.
#[derive(Debug)]
pub struct Evaluator {
    container_output: OutputFormat,
    hostname: String,
    /// Where the profile judge resolves the paths of a call (see [`would_deny::judge_in`]).
    roots: Box<dyn Roots>,
    /// The daemon's own process id: its own calls (loading its BPF programs, reading `/proc`,
    /// writing alerts) never raise alerts. `None` in a replay, whose processes are not ours.
    own_pid: Option<u32>,
}

impl Evaluator {
    /// Alerts will name `hostname`; decisions judge paths as the calls named them (replays:
    /// the recorded processes are not this host's).
    pub fn new(hostname: String) -> Evaluator {
        Evaluator::with_roots(hostname, Box::new(NoRoots))
    }

    /// The daemon's evaluator: decisions judge the files calls acted on, resolved in each
    /// process's root under `/proc` (or its parent's, in the same cgroup, once it exited).
    pub fn live(hostname: String) -> Evaluator {
        Evaluator { own_pid: Some(std::process::id()), ..Evaluator::with_roots(hostname, Box::new(ProcRoots::live())) }
    }

    /// An evaluator resolving paths through `roots`.
    pub fn with_roots(hostname: String, roots: Box<dyn Roots>) -> Evaluator {
        // The format is a constant of ours: a failure is a bug caught by every test run.
        let container_output = OutputFormat::compile(CONTAINER_OUTPUT, Source::Syscall)
            .unwrap_or_else(|e| panic!("CONTAINER_OUTPUT does not compile: {}", e.message));
        Evaluator { container_output, hostname, roots, own_pid: None }
    }

    /// The host's name, as alerts carry it.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// Judges and evaluates `data` (of a process in `container`, or on the host), handing each
    /// alert to `emit`: the profile's decision first, then the matching rules in order. A
    /// failed exec or an executable mapping is judged but not shown to the rules (see
    /// [`EventData::is_judge_only`]).
    #[expect(
        clippy::too_many_arguments,
        reason = "the event, its process and user tables, its container, the reused match buffer and the sink: each is owned by a different part of the daemon loop"
    )]
    pub fn evaluate<'r>(
        &self,
        rules: &'r Ruleset,
        data: &EventData,
        table: &ProcessTable,
        users: &Users,
        container: Option<&ContainerMeta>,
        matches: &mut Vec<&'r Rule>,
        emit: &mut dyn FnMut(Emitted<'r>),
    ) {
        if self.own_pid == Some(data.process.pid) {
            return;
        }
        if let Some(c) = container {
            if let Some(d) = would_deny::judge_in(data, c, &self.hostname, self.roots.as_ref()) {
                emit(Emitted::Decision(d));
            }
        }
        if data.is_judge_only() {
            return;
        }
        let event = data.view(table, users, container);
        rules.evaluate(Source::Syscall, &event, matches);
        for rule in matches.iter() {
            let mut alert = Alert::new(rule, &event, data.time_ns, &self.hostname);
            alert.append_output(&self.container_output, &event);
            emit(Emitted::Rule { rule, alert });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Process;

    fn bpf_call(pid: u32) -> EventData {
        let daemon = Process { pid, comm: "palisade".into(), ..Process::default() };
        crate::would_deny::tests::call_by(daemon, "bpf", 3, [5, 0, 0, 0, 0, 0], [None, None], None)
    }

    #[test]
    fn the_daemon_never_alerts_on_itself() {
        // The incubating rule "BPF Program Not Profiled" fired on the daemon's own start.
        let mut loader = palisade_rules::Loader::new();
        loader.add_str("t.yaml", "- rule: bpf\n  desc: d\n  condition: evt.type = bpf\n  output: \"%proc.name\"\n  priority: NOTICE\n");
        let rules = loader.compile().ruleset.expect("rules");
        let (table, users) = (ProcessTable::offline(), Users::default());
        let raised = |evaluator: &Evaluator, pid: u32| {
            let mut n = 0;
            evaluator.evaluate(&rules, &bpf_call(pid), &table, &users, None, &mut Vec::new(), &mut |_| n += 1);
            n
        };
        let live = Evaluator::live("h".into());
        assert_eq!(raised(&live, std::process::id()), 0, "the daemon's own bpf()");
        assert_eq!(raised(&live, std::process::id() + 1), 1, "anyone else's");
        assert_eq!(raised(&Evaluator::new("h".into()), std::process::id()), 1, "a replay has no own process");
    }
}
