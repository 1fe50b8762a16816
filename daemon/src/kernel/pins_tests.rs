//! The pin layout: every map of the object is either pinned or on the private list.

use std::collections::BTreeSet;
use std::path::Path;

use super::pins::{dirs, pin_dir, prepare, remove_dir, PINNED_MAPS, PRIVATE_MAPS};

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

#[test]
fn a_directory_off_the_bpffs_is_refused_so_the_daemon_loads_unpinned() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = pin_dir(tmp.path());
    let err = prepare(&dir).expect_err("a tmpfs is no bpffs").to_string();
    assert!(err.contains("not on a bpf file system"), "{err}");
}

#[test]
fn pin_directories_of_every_abi_are_found_and_removed_links_first() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (dir, sub, file) in [("detect-v5", "links", "sys_exit"), ("detect-v6", "maps", "EVENTS"), ("lsm-v3", "maps", "ENFORCED")] {
        std::fs::create_dir_all(tmp.path().join(dir).join(sub)).expect("dir");
        std::fs::write(tmp.path().join(dir).join(sub).join(file), b"").expect("file");
    }
    let found = dirs(tmp.path());
    assert_eq!(found, [tmp.path().join("detect-v5"), tmp.path().join("detect-v6")], "BPF-LSM's are not detection's");
    assert_eq!(remove_dir(&found[0]).expect("removed"), 1);
    assert!(!found[0].exists());
    assert_eq!(remove_dir(&found[0]).expect("removing nothing is fine"), 0);
    assert!(tmp.path().join("lsm-v3").exists());
}
