use std::net::{IpAddr, Ipv4Addr};

use super::*;

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

#[test]
fn one_client_cannot_take_every_slot_and_slots_come_back() {
    let slots = Slots::new(5, 2);
    let a1 = slots.take(A).expect("first");
    let _a2 = slots.take(A).expect("second");
    assert_eq!(slots.take(A).err(), Some(Refusal::PerClient));
    let _b1 = slots.take(B).expect("another client still gets one");
    let _b2 = slots.take(B).expect("and its own second");
    assert_eq!(slots.take(B).err(), Some(Refusal::PerClient));
    drop(a1);
    let _a3 = slots.take(A).expect("a dropped slot is given back");
    assert_eq!(slots.open(), 4);
    let _c = slots.take(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))).expect("the fifth slot");
    assert_eq!(slots.take(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 4))).err(), Some(Refusal::Total));
}
