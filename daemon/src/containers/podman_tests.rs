//! The storage reader against fixture stores laid out as podman 4 lays them out.

use std::path::Path;

use super::*;
use crate::containers::podman_bolt::tests::one_value_file;

const ID: &str = "65c75fd5d399a43b52a4068f8bda79768fc5621eb5d4006f4b393b8f69882f18";
const IMAGE_ID: &str = "edf7c2ad173c937ff68bb1df0e2b0e3ce757d8cb27e90e5f8bbc94c507701ea2";
const DIGEST: &str = "sha256:da71231171e874c84f5fe3ee07f09614f2e76bd786f8c37ce7e2508f3646300d";

/// containers-storage's records: an odd record first (null names, metadata that is not JSON,
/// unknown fields, a wrong type), then ours as podman writes it.
fn containers_json() -> String {
    format!(
        r#"[
  {{"id": "0000", "names": null, "image": 7, "metadata": "not json", "flags": {{}}}},
  {{"id": "1111", "names": ["other"], "image": "{IMAGE_ID}", "metadata": "{{\"image-name\":\"x:1\"}}", "future": [1, 2]}},
  {{"id": "{ID}", "names": ["podtest", "alias"], "image": "{IMAGE_ID}", "layer": "869d",
    "metadata": "{{\"image-name\":\"localhost/palisade-podtest:v1\",\"image-id\":\"{IMAGE_ID}\",\"name\":\"podtest\",\"created-at\":1796577719}}",
    "created": "2026-12-06T17:21:59.83041919Z", "flags": {{"MountLabel": "", "ProcessLabel": ""}}}}
]"#
    )
}

fn images_json() -> String {
    format!(
        r#"[{{"id": "ffff", "digest": "sha256:0000"}},
  {{"id": "{IMAGE_ID}", "digest": "{DIGEST}", "names": ["localhost/palisade-podtest:v1"],
    "big-data-names": ["manifest"], "created": "2026-12-06T17:21:50.341870676Z"}}]"#
    )
}

fn libpod_config(id: &str, labels: &str) -> Vec<u8> {
    format!(
        r#"{{"spec": {{"ociVersion": "1.0.2-dev"}}, "id": "{id}", "name": "podtest", "rootfsImageID": "{IMAGE_ID}",
  "rootfsImageName": "localhost/palisade-podtest:v1", "RawImageName": "localhost/palisade-podtest:v1",
  "labels": {labels}, "stopSignal": 15, "createdTime": "2026-12-06T17:21:59.820033444Z"}}"#
    )
    .into_bytes()
}

/// A store under `root` with the given files (absent when `None`); returns the bundle path.
fn store(root: &Path, containers: Option<&str>, images: Option<&str>, db: Option<Vec<u8>>) -> std::path::PathBuf {
    let bundle = root.join("overlay-containers").join(ID).join("userdata");
    std::fs::create_dir_all(&bundle).expect("bundle");
    std::fs::create_dir_all(root.join("overlay-images")).expect("images");
    std::fs::create_dir_all(root.join("libpod")).expect("libpod");
    if let Some(c) = containers {
        std::fs::write(root.join("overlay-containers/containers.json"), c).expect("write");
    }
    if let Some(i) = images {
        std::fs::write(root.join("overlay-images/images.json"), i).expect("write");
    }
    if let Some(d) = db {
        std::fs::write(root.join("libpod/bolt_state.db"), d).expect("write");
    }
    bundle
}

fn podman_state(bundle: &Path) -> OciState {
    OciState {
        oci_version: "1.0.2-dev".into(),
        id: ID.into(),
        status: "created".into(),
        pid: Some(1),
        bundle: bundle.to_path_buf(),
        annotations: [(MANAGER_ANNOTATION.to_owned(), MANAGER_LIBPOD.to_owned()), ("io.podman.annotations.init".into(), "FALSE".into())].into(),
    }
}

#[test]
fn the_store_is_found_from_the_bundle_path_and_only_from_a_podman_one() {
    let s = Store::of_bundle(Path::new(&format!("/var/lib/containers/storage/overlay-containers/{ID}/userdata")), ID).expect("store");
    assert_eq!(s.containers, Path::new("/var/lib/containers/storage/overlay-containers"));
    assert_eq!(s.images, Path::new("/var/lib/containers/storage/overlay-images"));
    assert_eq!(s.libpod_db, Path::new("/var/lib/containers/storage/libpod/bolt_state.db"));
    // Rootless, another driver.
    let s = Store::of_bundle(Path::new("/home/u/.local/share/containers/storage/vfs-containers/c1/userdata"), "c1").expect("store");
    assert_eq!(s.images, Path::new("/home/u/.local/share/containers/storage/vfs-images"));
    for (bundle, id) in [
        ("/run/containerd/io.containerd.runtime.v2.task/default/c1", "c1"),
        ("/var/lib/containers/storage/overlay-containers/c2/userdata", "c1"),
        ("/var/lib/containers/storage/overlay-containers/c1", "c1"),
        ("/var/lib/containers/storage/overlay/c1/userdata", "c1"),
        ("/-containers/c1/userdata", "c1"),
        ("userdata", "c1"),
        ("", "c1"),
    ] {
        assert_eq!(Store::of_bundle(Path::new(bundle), id), None, "{bundle}");
    }
}

#[test]
fn name_image_id_digest_and_labels_come_from_the_three_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = "v".repeat(LABEL_MAX_LEN + 1);
    let labels = format!(r#"{{"team": "blue", "maintainer": "ops", "long": "{long}"}}"#);
    let db = one_value_file(b"ctr", ID.as_bytes(), b"config", &libpod_config(ID, &labels));
    let bundle = store(dir.path(), Some(&containers_json()), Some(&images_json()), Some(db));
    let found = Store::of_bundle(&bundle, ID).expect("store").lookup(ID);
    assert_eq!(
        found,
        PodmanFacts {
            name: "podtest".into(),
            image: "localhost/palisade-podtest:v1".into(),
            image_id: IMAGE_ID.into(),
            image_digest: DIGEST.into(),
            // Longer than Falco's label_max_len: dropped, as Falco drops it.
            labels: [("maintainer".to_owned(), "ops".to_owned()), ("team".to_owned(), "blue".to_owned())].into(),
        }
    );
}

#[test]
fn without_libpods_database_the_storage_records_still_name_the_container() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = store(dir.path(), Some(&containers_json()), Some(&images_json()), None);
    let found = Store::of_bundle(&bundle, ID).expect("store").lookup(ID);
    assert_eq!((found.name.as_str(), found.image.as_str(), found.image_digest.as_str()), ("podtest", "localhost/palisade-podtest:v1", DIGEST));
    assert!(found.labels.is_empty());
}

#[test]
fn a_volatile_record_and_libpods_config_stand_in_for_each_other() {
    // `podman run --rm` records the container in volatile-containers.json.
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = store(dir.path(), Some("[]"), None, None);
    std::fs::write(dir.path().join("overlay-containers/volatile-containers.json"), containers_json()).expect("write");
    let found = Store::of_bundle(&bundle, ID).expect("store").lookup(ID);
    assert_eq!(found.name, "podtest");
    // No storage record at all: libpod's config names it and its image.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = one_value_file(b"ctr", ID.as_bytes(), b"config", &libpod_config(ID, "null"));
    let bundle = store(dir.path(), None, Some(&images_json()), Some(db));
    let found = Store::of_bundle(&bundle, ID).expect("store").lookup(ID);
    assert_eq!((found.name.as_str(), found.image_id.as_str(), found.image_digest.as_str()), ("podtest", IMAGE_ID, DIGEST));
    assert!(found.labels.is_empty());
}

#[test]
fn a_libpod_config_naming_another_container_is_not_believed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = one_value_file(b"ctr", ID.as_bytes(), b"config", &libpod_config("someone-else", r#"{"team": "red"}"#));
    let bundle = store(dir.path(), None, None, Some(db));
    assert_eq!(Store::of_bundle(&bundle, ID).expect("store").lookup(ID), PodmanFacts::default());
}

#[test]
fn odd_files_leave_the_metadata_unknown_without_failing() {
    for (containers, images, db) in [
        ("null", "null", b"".to_vec()),
        ("{}", "{\"id\": 1}", b"SQLite format 3\0".repeat(100)),
        ("[1, \"x\", null, {\"id\": null}]", "[[]]", vec![0xff; 9000]),
        ("[{\"id\": \"", "garbage", one_value_file(b"ctr", ID.as_bytes(), b"config", b"{not json")),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let bundle = store(dir.path(), Some(containers), Some(images), Some(db));
        assert_eq!(Store::of_bundle(&bundle, ID).expect("store").lookup(ID), PodmanFacts::default(), "{containers}");
    }
}

#[test]
fn enrich_marks_podmans_containers_and_fills_their_facts_and_leaves_others_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = one_value_file(b"ctr", ID.as_bytes(), b"config", &libpod_config(ID, r#"{"team": "blue"}"#));
    let bundle = store(dir.path(), Some(&containers_json()), Some(&images_json()), Some(db));
    let state = podman_state(&bundle);
    let mut facts = Facts::from_hook(&state, &Default::default());
    enrich(&mut facts, &state);
    assert_eq!(facts.engine, Some(Engine::Podman));
    assert_eq!((facts.name.as_str(), facts.image.as_str()), ("podtest", "localhost/palisade-podtest:v1"));
    assert_eq!((facts.image_id.as_str(), facts.image_digest.as_str()), (IMAGE_ID, DIGEST));
    assert_eq!(facts.labels.get("team").map(String::as_str), Some("blue"));

    // The same bundle without libpod's annotation: not podman's, not looked up.
    let other = OciState { annotations: Default::default(), ..state };
    let mut facts = Facts::from_hook(&other, &Default::default());
    enrich(&mut facts, &other);
    assert_eq!((facts.engine, facts.name.as_str(), facts.image.as_str()), (None, "", ""));
}
