use std::time::Duration;

use super::*;

fn counts(per_cgroup: &[(u64, u64)]) -> BudgetCounts {
    BudgetCounts { per_cgroup: per_cgroup.to_vec(), ..BudgetCounts::default() }
}

fn owner(cgroup: u64) -> Option<(String, String)> {
    (cgroup == 7).then(|| ("0123456789abcdef".to_owned(), "web".to_owned()))
}

fn field<'a>(a: &'a Alert, name: &str) -> &'a FieldValue {
    &a.output_fields.iter().find(|(n, _)| n == name).expect("field").1
}

#[test]
fn one_alert_per_container_then_rate_limited_with_the_drops_carried() {
    let config = SyscallBudget { actions: vec![DropAction::Alert], report_rate: 1.0, ..SyscallBudget::default() };
    let mut r = BudgetReporter::new(&config);
    let metrics = Metrics::new();
    let t0 = Instant::now();
    let (alerts, _) = r.round(&counts(&[(7, 10), (3, 2)]), owner, |_| true, &metrics, "h", t0);
    let mut named: Vec<(String, String, String)> = alerts
        .iter()
        .map(|a| (a.rule.clone(), format!("{:?}", field(a, "container.id")), format!("{:?}", field(a, "n_drops"))))
        .collect();
    named.sort();
    assert_eq!(
        named,
        vec![
            (RULE.to_owned(), "Text(\"0123456789ab\")".to_owned(), "Number(10)".to_owned()),
            (RULE.to_owned(), "Text(\"host\")".to_owned(), "Number(2)".to_owned()),
        ]
    );
    // Within the same second: no token, the 5 new drops wait...
    let (alerts, _) = r.round(&counts(&[(7, 15), (3, 2)]), owner, |_| true, &metrics, "h", t0);
    assert!(alerts.is_empty());
    // ... and are in the next report, with 1 more.
    let (alerts, _) = r.round(&counts(&[(7, 16), (3, 2)]), owner, |_| true, &metrics, "h", t0 + Duration::from_secs(1));
    assert_eq!(alerts.len(), 1);
    assert!(matches!(field(&alerts[0], "n_drops"), FieldValue::Number(6)));
    assert!(matches!(field(&alerts[0], "n_drops_total"), FieldValue::Number(16)));
    assert!(matches!(field(&alerts[0], "container.name"), FieldValue::Text(n) if n == "web"));
    let (list, unattributed) = r.status();
    assert_eq!(list.iter().map(|d| (d.container_id.as_str(), d.drops)).collect::<Vec<_>>(), [("0123456789abcdef", 16), ("host", 2)]);
    assert_eq!(unattributed, 0);
    // The container is forgotten: its status line and metric series go; the host's stay.
    r.round(&counts(&[(7, 16), (3, 2)]), owner, |_| false, &metrics, "h", t0 + Duration::from_secs(2));
    assert_eq!(r.status().0.iter().map(|d| d.container_id.as_str()).collect::<Vec<_>>(), ["host"]);
    assert!(!metrics.encode().contains("0123456789abcdef"));
}
