//! podman containers' metadata, read from podman's own storage when its OCI hook reports one.
//!
//! podman runs a container through runc with the hooks.d files, so `palisade-hook` reports it,
//! but its OCI spec names neither the container nor its image (only `io.container.manager:
//! libpod` and `io.podman.annotations.*` flags). Falco's container plugin asks podman's REST
//! API (`containers/{id}/json`) for them; Palisade reads the records that API answers from:
//!
//! - **Why not the API socket.** It exists only while `podman system service` runs (often not:
//!   podman has no daemon), and it cannot answer in time: the hook runs inside `runc create`,
//!   while the `podman run` that called runc holds the container's lock, which an inspect
//!   takes too. The answer would come after the container started, its first events unnamed.
//! - **What is read instead** (read-only, no service, a few files of the container's own store,
//!   found from its bundle path `<graphroot>/<driver>-containers/<id>/userdata`, so a custom
//!   graph root works):
//!   - containers-storage's container records `<driver>-containers/containers.json` (and
//!     `volatile-containers.json`): we rely on `id`, `names` (the first is the name), `image`
//!     (the image id) and `metadata`, a JSON string whose `image-name` is the reference the
//!     container was created from;
//!   - its image records `<driver>-images/images.json`: `id` and `digest` (the manifest digest,
//!     podman's `ImageDigest`);
//!   - libpod's database `<graphroot>/libpod/bolt_state.db` (bbolt, podman 4), bucket
//!     `ctr/<id>`, key `config`: a JSON object whose `id`, `name`, `rootfsImageName`,
//!     `rootfsImageID` and `labels` we read (the labels, image ones included, are nowhere
//!     else). podman 5's SQLite database (`db.sql`) is not read: there, labels stay absent.
//!
//!   Every reader is lenient: unknown fields are ignored, a record that does not parse is
//!   skipped, a missing file means "not known" (a lookup never fails a container); files are
//!   read whole up to [`MAX_JSON_BYTES`].
//!
//! The lookup runs on the hook's request, before the container is armed and without the
//! registry lock: a few small files, 0.5 to 0.75 ms in a debug build on the test machine
//! (`lookup_us` in the debug log), so the profile is chosen by the image and the first event
//! carries the name. Fields follow
//! Falco's podman engine: `container.type` `podman`, `container.image` the image name,
//! `container.image.id` the image id, `container.image.digest` the image's digest, labels whose
//! value is at most [`LABEL_MAX_LEN`] bytes (its `label_max_len` default).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use palisade_hook::OciState;
use serde::Deserialize;

use super::podman_bolt;
use super::registry::Facts;
use super::Engine;

/// The annotation podman puts in every spec it writes.
pub const MANAGER_ANNOTATION: &str = "io.container.manager";
/// Its value for podman (libpod).
pub const MANAGER_LIBPOD: &str = "libpod";
/// The largest record file read.
pub const MAX_JSON_BYTES: u64 = 64 << 20;
/// Falco's container plugin keeps labels whose value is at most this long (`label_max_len`).
pub const LABEL_MAX_LEN: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum PodmanError {
    #[error("read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: larger than {MAX_JSON_BYTES} bytes")]
    TooLarge { path: String },
    #[error("{path}: {source}")]
    Parse { path: String, source: serde_json::Error },
    #[error(transparent)]
    Bolt(#[from] podman_bolt::BoltError),
}

/// What podman's storage says about one container; empty fields are unknown.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PodmanFacts {
    pub name: String,
    /// The reference it was created from (`localhost/app:v1`).
    pub image: String,
    pub image_id: String,
    pub image_digest: String,
    pub labels: BTreeMap<String, String>,
}

impl PodmanFacts {
    /// Fills `facts` with what it knows (podman's answer wins over the spec's nothing).
    pub fn fill(self, facts: &mut Facts) {
        let set = |to: &mut String, v: String| {
            if !v.is_empty() {
                *to = v;
            }
        };
        set(&mut facts.name, self.name);
        set(&mut facts.image, self.image);
        set(&mut facts.image_id, self.image_id);
        set(&mut facts.image_digest, self.image_digest);
        if !self.labels.is_empty() {
            facts.labels = self.labels;
        }
    }
}

/// Whether podman made the container of this OCI state.
pub fn is_podman(state: &OciState) -> bool {
    state.annotations.get(MANAGER_ANNOTATION).is_some_and(|v| v == MANAGER_LIBPOD)
}

/// Marks a podman container's facts as podman's and fills them from its storage; any other
/// container is left alone. Never fails: what cannot be read is logged and left unknown.
pub fn enrich(facts: &mut Facts, state: &OciState) {
    if !is_podman(state) {
        return;
    }
    facts.engine = Some(Engine::Podman);
    let Some(store) = Store::of_bundle(&state.bundle, &state.id) else {
        tracing::debug!(container_id = %state.id, bundle = %state.bundle.display(), "podman bundle outside a containers-storage store: no metadata");
        return;
    };
    let t = std::time::Instant::now();
    let found = store.lookup(&state.id);
    tracing::debug!(container_id = %state.id, lookup_us = t.elapsed().as_micros() as u64, name = %found.name, image = %found.image, "podman metadata");
    found.fill(facts);
}

/// The containers-storage store (and libpod database) a podman container lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// `<graphroot>/<driver>-containers`.
    pub containers: PathBuf,
    /// `<graphroot>/<driver>-images`.
    pub images: PathBuf,
    /// `<graphroot>/libpod/bolt_state.db`.
    pub libpod_db: PathBuf,
}

impl Store {
    /// The store of a podman bundle, `<graphroot>/<driver>-containers/<id>/userdata`; `None`
    /// for any other path.
    pub fn of_bundle(bundle: &Path, id: &str) -> Option<Store> {
        let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
        let container_dir = bundle.parent().filter(|_| name(bundle).as_deref() == Some("userdata"))?;
        let containers = container_dir.parent().filter(|_| name(container_dir).as_deref() == Some(id))?;
        let driver = name(containers)?.strip_suffix("-containers").filter(|d| !d.is_empty())?.to_owned();
        let root = containers.parent()?;
        Some(Store {
            containers: containers.to_path_buf(),
            images: root.join(format!("{driver}-images")),
            libpod_db: root.join("libpod").join("bolt_state.db"),
        })
    }

    /// Everything the store knows about container `id`: each source adds what it has, a source
    /// that cannot be read is logged and skipped.
    pub fn lookup(&self, id: &str) -> PodmanFacts {
        let mut found = PodmanFacts::default();
        for file in ["containers.json", "volatile-containers.json"] {
            let path = self.containers.join(file);
            match read_records::<StorageContainer>(&path) {
                Ok(records) => {
                    if let Some(c) = records.into_iter().find(|c| c.id == id) {
                        found.name = c.names.into_iter().flatten().next().unwrap_or_default();
                        found.image_id = c.image;
                        found.image = c.metadata.and_then(|m| serde_json::from_str::<StorageMetadata>(&m).ok()).map(|m| m.image_name).unwrap_or_default();
                        break;
                    }
                }
                Err(e) => log_unreadable(id, &e),
            }
        }
        match libpod_config(&self.libpod_db, id) {
            Ok(Some(c)) => {
                let keep = |v: String, known: &mut String| {
                    if known.is_empty() {
                        *known = v;
                    }
                };
                keep(c.name, &mut found.name);
                keep(c.rootfs_image_name, &mut found.image);
                keep(c.rootfs_image_id, &mut found.image_id);
                found.labels = c.labels.unwrap_or_default().into_iter().filter(|(_, v)| v.len() <= LABEL_MAX_LEN).collect();
            }
            Ok(None) => tracing::debug!(container_id = id, db = %self.libpod_db.display(), "not in libpod's database: no labels"),
            Err(e) => log_unreadable(id, &e),
        }
        if !found.image_id.is_empty() {
            match read_records::<StorageImage>(&self.images.join("images.json")) {
                Ok(images) => {
                    found.image_digest = images.into_iter().find(|i| i.id == found.image_id).map(|i| i.digest).unwrap_or_default();
                }
                Err(e) => log_unreadable(id, &e),
            }
        }
        found
    }
}

fn log_unreadable(id: &str, e: &PodmanError) {
    match e {
        PodmanError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            tracing::debug!(container_id = id, error = %e, "podman store file absent");
        }
        _ => tracing::warn!(container_id = id, error = %e, "podman store file unreadable: metadata left unknown"),
    }
}

/// A containers-storage container record (`containers.json`); other fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StorageContainer {
    id: String,
    names: Option<Vec<String>>,
    /// The image id.
    image: String,
    /// A JSON string ([`StorageMetadata`]).
    metadata: Option<String>,
}

/// The `metadata` string podman writes in a container record.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StorageMetadata {
    #[serde(rename = "image-name")]
    image_name: String,
}

/// A containers-storage image record (`images.json`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StorageImage {
    id: String,
    digest: String,
}

/// libpod's container config (`ctr/<id>/config` in its database).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LibpodConfig {
    id: String,
    name: String,
    #[serde(rename = "rootfsImageName")]
    rootfs_image_name: String,
    #[serde(rename = "rootfsImageID")]
    rootfs_image_id: String,
    labels: Option<BTreeMap<String, String>>,
}

/// The records of a JSON array file; records that do not parse are skipped.
fn read_records<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, PodmanError> {
    let p = || path.display().to_string();
    let len = std::fs::metadata(path).map_err(|source| PodmanError::Read { path: p(), source })?.len();
    if len > MAX_JSON_BYTES {
        return Err(PodmanError::TooLarge { path: p() });
    }
    let bytes = std::fs::read(path).map_err(|source| PodmanError::Read { path: p(), source })?;
    let values: Option<Vec<serde_json::Value>> = serde_json::from_slice(&bytes).map_err(|source| PodmanError::Parse { path: p(), source })?;
    Ok(values.unwrap_or_default().into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect())
}

/// Container `id`'s libpod config, when the database has it (and it names `id`: a value torn
/// by a concurrent commit does not parse or names another container).
fn libpod_config(db: &Path, id: &str) -> Result<Option<LibpodConfig>, PodmanError> {
    let db = podman_bolt::Db::open(db)?;
    let Some(raw) = db.get(&[b"ctr", id.as_bytes()], b"config") else { return Ok(None) };
    Ok(serde_json::from_slice::<LibpodConfig>(raw).ok().filter(|c| c.id == id))
}

#[cfg(test)]
#[path = "podman_tests.rs"]
mod tests;
