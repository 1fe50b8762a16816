use super::*;

fn owner(cgroup: u64) -> Option<(String, String)> {
    (cgroup == 7).then(|| ("c7full".to_owned(), "web".to_owned()))
}

fn counts(per_cgroup: &[(u64, u64)], unattributed: u64) -> BudgetCounts {
    BudgetCounts { per_cgroup: per_cgroup.to_vec(), unattributed, new_buckets: 0 }
}

#[test]
fn running_totals_become_new_drops_per_container() {
    let mut l = BudgetLedger::default();
    let r = l.round(&counts(&[(7, 10), (1, 3), (2, 4)], 0), owner);
    // Two host cgroups add up under `host`.
    assert_eq!(
        r.new,
        vec![
            NewDrops { id: "c7full".into(), name: "web".into(), new: 10, total: 10 },
            NewDrops { id: HOST.into(), name: HOST.into(), new: 7, total: 7 },
        ]
    );
    let r = l.round(&counts(&[(7, 25), (1, 3), (2, 4)], 5), owner);
    assert_eq!(r.new, vec![NewDrops { id: "c7full".into(), name: "web".into(), new: 15, total: 25 }]);
    assert_eq!((r.unattributed, l.unattributed()), (5, 5));
    assert_eq!(l.containers()["c7full"].total, 25);
    assert_eq!(l.containers()[HOST].total, 7);
    assert_eq!(l.containers()[HOST].cgroups, BTreeMap::from([(1, 3), (2, 4)]), "per host cgroup");
}

#[test]
fn idle_entries_are_deleted_and_counted_again_from_zero() {
    let mut l = BudgetLedger::default();
    l.round(&counts(&[(7, 10)], 0), owner);
    let mut idle = Vec::new();
    for _ in 0..IDLE_ROUNDS {
        let r = l.round(&counts(&[(7, 10)], 0), owner);
        assert!(r.new.is_empty());
        idle = r.idle;
    }
    assert_eq!(idle, vec![7], "idle for IDLE_ROUNDS rounds");
    // The kernel made the entry again from 0: 3 new drops, not lost against the old total.
    let r = l.round(&counts(&[(7, 3)], 0), owner);
    assert_eq!(r.new[0].new, 3);
    assert_eq!(l.containers()["c7full"].total, 13);
}

#[test]
fn forgotten_containers_leave_the_ledger_but_the_host_stays() {
    let mut l = BudgetLedger::default();
    l.round(&counts(&[(7, 10), (1, 1)], 0), owner);
    assert_eq!(l.retain_containers(|_| false), vec!["c7full".to_owned()]);
    assert_eq!(l.containers().keys().collect::<Vec<_>>(), vec![HOST]);
}
