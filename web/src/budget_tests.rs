use super::*;

#[test]
fn reservations_grow_within_the_limit_and_give_back_on_drop() {
    let budget = Budget::new(100);
    let mut a = budget.reserve();
    assert!(a.grow(60));
    let mut b = budget.reserve();
    assert!(!b.grow(41), "beyond the limit: nothing taken");
    assert!(b.grow(40));
    assert_eq!(budget.used(), 100);
    drop(a);
    assert_eq!(budget.used(), 40);
    drop(b);
    assert_eq!(budget.used(), 0);
}
