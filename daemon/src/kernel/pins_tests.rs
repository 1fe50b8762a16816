//! The pin layout: every map of the object is either pinned or on the private list.

use std::collections::BTreeSet;
use std::path::Path;

use super::pins::{pin_dir, PINNED_MAPS, PRIVATE_MAPS};

#[test]
fn every_map_of_the_object_is_pinned_or_listed_private() {
    let obj = aya_obj::Object::parse(&palisade_ebpf::PALISADE_OBJ.0).expect("parse the object");
    let in_object: BTreeSet<&str> = obj.maps.keys().map(String::as_str).collect();
    let listed: BTreeSet<&str> = PINNED_MAPS.iter().chain(&PRIVATE_MAPS).copied().collect();
    assert_eq!(in_object, listed, "a map was added or removed: pin it (shared) or list it private (scratch)");
    assert_eq!(listed.len(), PINNED_MAPS.len() + PRIVATE_MAPS.len(), "a map is on both lists");
}

#[test]
fn pin_directory_names_the_record_abi() {
    let dir = pin_dir(Path::new("/sys/fs/bpf/palisade"));
    assert_eq!(dir, Path::new("/sys/fs/bpf/palisade").join(format!("detect-v{}", palisade_ebpf::abi::ABI_VERSION)));
}
