//! Session and process-group fields: `proc.sid`, `proc.vpgid`, `proc.pgid`, the names, exes
//! and executable paths of their leaders, and `proc.is_*_leader`, with libsinsp's semantics:
//!
//! - `proc.sid` and `proc.vpgid` are the ids in the process's own pid namespace (what
//!   `getsid(0)`/`getpgid(0)` return there; 0 when the leader is outside it); `proc.pgid` is the
//!   group id in the initial namespace.
//! - The leader of a session or group is the process whose pid is that id, for a process in
//!   the initial pid namespace, when it is still known; otherwise (a leader gone, or ids of
//!   another namespace, which the table is not keyed by) the eldest ancestor in an unbroken
//!   line of ancestors with the same id, the process itself at least.
//! - `proc.is_sid_leader` is `proc.sid == proc.vpid`, `proc.is_vpgid_leader` is
//!   `proc.vpgid == proc.vpid`, `proc.is_pgid_leader` is `proc.pgid == proc.pid`.

use palisade_rules::{Extracted, FieldRef, Value};

use super::{num, s, MAX_ANCESTORS};
use crate::process::{Process, ProcessTable};

/// Which id a leader lookup is about.
#[derive(Clone, Copy)]
enum LeaderOf {
    /// The session (`proc.sid`).
    Session,
    /// The process group, in the process's pid namespace (`proc.vpgid`).
    VirtualGroup,
    /// The process group, in the initial pid namespace (`proc.pgid`).
    HostGroup,
}

impl LeaderOf {
    fn id(self, p: &Process) -> u32 {
        match self {
            LeaderOf::Session => p.sid,
            LeaderOf::VirtualGroup => p.vpgid,
            LeaderOf::HostGroup => p.pgid,
        }
    }

    /// Whether the id is numbered like the table's pids (the initial namespace).
    fn host_numbered(self, p: &Process) -> bool {
        matches!(self, LeaderOf::HostGroup) || p.vpid == 0 || p.vpid == p.pid
    }
}

/// The leader of `p`'s session or group (see the module docs).
fn leader<'a>(table: &'a ProcessTable, p: &'a Process, group: LeaderOf) -> &'a Process {
    let id = group.id(p);
    if group.host_numbered(p) {
        if let Some(l) = table.get(id) {
            return l;
        }
    }
    table.ancestors(p.pid, MAX_ANCESTORS).into_iter().take_while(|a| group.id(a) == id).last().unwrap_or(p)
}

fn vpid(p: &Process) -> u32 {
    if p.vpid == 0 {
        p.pid
    } else {
        p.vpid
    }
}

/// The field, when it is one of this module's.
pub fn extract<'a>(table: &'a ProcessTable, p: &'a Process, field: &FieldRef) -> Option<Extracted<'a>> {
    let named = |group: LeaderOf, what: &str| {
        let l = leader(table, p, group);
        match what {
            "name" => s(l.name()),
            "exe" => s(&l.exe),
            _ => s(&l.exepath),
        }
    };
    let flag = |b: bool| Extracted::One(Value::Bool(b));
    Some(match field.name {
        "proc.sid" => num(field.ty, i64::from(p.sid)),
        "proc.vpgid" => num(field.ty, i64::from(p.vpgid)),
        "proc.pgid" => num(field.ty, i64::from(p.pgid)),
        "proc.sname" => named(LeaderOf::Session, "name"),
        "proc.sid.exe" => named(LeaderOf::Session, "exe"),
        "proc.sid.exepath" => named(LeaderOf::Session, "exepath"),
        "proc.vpgid.name" => named(LeaderOf::VirtualGroup, "name"),
        "proc.vpgid.exe" => named(LeaderOf::VirtualGroup, "exe"),
        "proc.vpgid.exepath" => named(LeaderOf::VirtualGroup, "exepath"),
        "proc.pgid.name" => named(LeaderOf::HostGroup, "name"),
        "proc.pgid.exe" => named(LeaderOf::HostGroup, "exe"),
        "proc.pgid.exepath" => named(LeaderOf::HostGroup, "exepath"),
        "proc.is_sid_leader" => flag(p.sid == vpid(p)),
        "proc.is_vpgid_leader" => flag(p.vpgid == vpid(p)),
        "proc.is_pgid_leader" => flag(p.pgid == p.pid),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32, ppid: u32, comm: &str, sid: u32, pgid: u32) -> Process {
        Process {
            pid,
            vpid: pid,
            ppid,
            sid,
            vpgid: pgid,
            pgid,
            comm: comm.into(),
            exe: format!("-{comm}"),
            exepath: format!("/bin/{comm}"),
            ..Process::default()
        }
    }

    fn value(table: &ProcessTable, pid: u32, field: &'static str) -> String {
        let p = table.get(pid).expect("process");
        let f = FieldRef { id: palisade_rules::FieldId(0), name: field, ty: palisade_rules::FieldType::Signed, arg: None };
        match extract(table, p, &f) {
            Some(Extracted::One(Value::Str(v))) => String::from_utf8_lossy(&v).into_owned(),
            Some(Extracted::One(Value::Bool(b))) => b.to_string(),
            Some(Extracted::One(Value::Signed(n))) => n.to_string(),
            Some(Extracted::One(Value::Unsigned(n))) => n.to_string(),
            other => panic!("{field}: {other:?}"),
        }
    }

    #[test]
    fn leaders_by_pid_then_by_lineage() {
        let mut t = ProcessTable::offline();
        // sshd (session 100) → bash (leads session 200 and group 200) → sh (group 300) → cat.
        t.insert(proc(100, 1, "sshd", 100, 100));
        t.insert(proc(200, 100, "bash", 200, 200));
        t.insert(proc(300, 200, "sh", 200, 300));
        t.insert(proc(301, 300, "cat", 200, 300));
        assert_eq!(value(&t, 301, "proc.sname"), "bash");
        assert_eq!(value(&t, 301, "proc.sid.exe"), "-bash");
        assert_eq!(value(&t, 301, "proc.sid.exepath"), "/bin/bash");
        assert_eq!(value(&t, 301, "proc.vpgid.name"), "sh");
        assert_eq!(value(&t, 301, "proc.pgid.exepath"), "/bin/sh");
        assert_eq!(value(&t, 301, "proc.is_vpgid_leader"), "false");
        assert_eq!(value(&t, 300, "proc.is_vpgid_leader"), "true");
        assert_eq!(value(&t, 300, "proc.is_pgid_leader"), "true");
        assert_eq!(value(&t, 200, "proc.is_sid_leader"), "true");
        assert_eq!(value(&t, 300, "proc.is_sid_leader"), "false");
        // The group leader gone: the eldest ancestor of the same group stands in.
        let mut gone = ProcessTable::offline();
        gone.insert(proc(200, 100, "bash", 200, 250));
        gone.insert(proc(300, 200, "sh", 200, 250));
        gone.insert(proc(301, 300, "cat", 200, 250));
        assert_eq!(value(&gone, 301, "proc.vpgid.name"), "bash");
    }

    #[test]
    fn namespaced_ids_follow_the_lineage() {
        let mut t = ProcessTable::offline();
        // A container: init (host pid 5000, vpid 1) leads session 1; its child sh (vpid 7).
        let mut init = proc(5000, 4000, "tini", 1, 1);
        init.vpid = 1;
        let mut sh = proc(5007, 5000, "sh", 1, 7);
        sh.vpid = 7;
        t.insert(proc(1, 0, "systemd", 1, 1));
        t.insert(init);
        t.insert(sh);
        // sid 1 must not be read as host pid 1 (systemd).
        assert_eq!(value(&t, 5007, "proc.sname"), "tini");
        assert_eq!(value(&t, 5007, "proc.sid"), "1");
        assert_eq!(value(&t, 5007, "proc.vpgid.name"), "sh");
        assert_eq!(value(&t, 5000, "proc.is_sid_leader"), "true");
        assert_eq!(value(&t, 5007, "proc.is_vpgid_leader"), "true");
    }
}
