//! The registry outlives the daemon: the armed containers are written to a state file beside
//! the hook socket and named after it (`/run/palisade/hook.sock` →
//! `/run/palisade/hook.containers.json`; `/run/palisade` is tmpfs on a node, a hostPath in the
//! Helm chart) after every change that matters (armed, stopped, metadata or backend of an
//! armed container changed), and read back by the next daemon before containerd's recovery.
//! Named after the socket because one daemon serves a socket (a second refuses to start):
//! so one daemon writes a state file, and daemons side by side (tests, a second instance on
//! another socket) never adopt each other's containers.
//!
//! Why: containerd can tell a restarted daemon only about its own running containers. Without
//! the file a successor lost the containers only the OCI hook reported (podman, a `ctr`
//! container of another runtime, the QEMU guest's hook-armed container) and the metadata of
//! containers that exited while no daemon ran, whose records may still wait in the pinned ring
//! buffers: their BPF-LSM decisions were dropped as "unknown container".
//!
//! Invariants:
//! - the file holds exactly the armed containers (bounded by the live ones), written whole to a
//!   temporary file and renamed over the old one: a reader sees the old or the new set, never
//!   half of one;
//! - a file of another [`STATE_VERSION`], or one that does not parse, is logged and ignored: it
//!   never stops a daemon from starting;
//! - at start, a saved container whose cgroup still exists (same path, same id) and whose init
//!   still runs in it is registered and armed again ([`Stage::SetUp`], as containerd's recovery
//!   does); any other is kept as a stopped container, resolvable by cgroup id for
//!   [`STOPPED_GRACE_NS`], so the records of the gap keep their container fields, then
//!   forgotten. The init counts, not only the cgroup: a container whose init exited has
//!   stopped (as [`Registry::process_exited`] has it), though its runtime may keep the empty
//!   cgroup until the container is deleted (`ctr`, containerd's shim), and nothing would ever
//!   stop a container re-armed without a live init;
//! - [`Registry::reconcile_kernel`], after both recoveries, removes the kernel entries (scope,
//!   BPF-LSM policies) of cgroups no armed container claims.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use palisade_hook::MountFact;
use serde::{Deserialize, Serialize};

use super::{arm, Entry, Registry, SharedRegistry, Source, Stage, State, STOPPED_GRACE_NS};
use crate::containers::cgroup::Cgroup;
use crate::containers::{Backend, ContainerMeta, Engine, ImageRef, PodMeta};
use palisade_events::process::Users;

/// The state file's format; another version is ignored (a downgrade or an upgrade across a
/// format change restarts from containerd's knowledge alone).
pub const STATE_VERSION: u32 = 1;

/// What replaces the hook socket's extension in the state file's name.
pub const STATE_SUFFIX: &str = "containers.json";

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a container state file: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("{path}: state format version {found}, this daemon reads version {want}")]
    Version { path: PathBuf, found: u32, want: u32 },
}

/// What is saved of one armed container: enough to rebuild its [`ContainerMeta`] and arm it
/// again without any source reporting it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedContainer {
    pub id: String,
    pub name: String,
    /// The image reference as reported, with the engine's id and digest when known.
    pub image: String,
    #[serde(default)]
    pub image_id: String,
    #[serde(default)]
    pub image_digest: String,
    /// containerd namespace.
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub pod: Option<PodMeta>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub mounts: Vec<MountFact>,
    #[serde(default)]
    pub privileged: bool,
    /// `containerd` or `podman`.
    pub engine: String,
    /// Who had reported it (`hook`, `nri`, `containerd`).
    #[serde(default)]
    pub sources: Vec<String>,
    /// The profile it ran under, by name; empty when none had been chosen.
    #[serde(default)]
    pub profile: String,
    /// `audit` or `enforce`.
    pub mode: String,
    #[serde(default)]
    pub mode_annotation: Option<String>,
    /// `landlock` or `bpf-lsm`, when one confines it.
    #[serde(default)]
    pub backend: Option<String>,
    pub cgroup_id: u64,
    /// Its cgroup's path in the cgroup2 hierarchy (`/default/web`).
    pub cgroup_path: String,
    /// Its init (host pid) when armed.
    pub pid: u32,
    /// Its root filesystem on the host (the bundle's rootfs).
    #[serde(default)]
    pub rootfs: PathBuf,
    /// Falco's `container.start_ts`, wall-clock ns.
    #[serde(default)]
    pub start_ns: u64,
    #[serde(default)]
    pub created_ns: u64,
    #[serde(default)]
    pub started_ns: u64,
}

#[derive(Serialize, Deserialize)]
struct StateDoc {
    version: u32,
    containers: Vec<SavedContainer>,
}

/// The state file of the daemon serving a hook socket.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The state file of the daemon serving `hook_socket`: `hook.sock` → `hook.containers.json`
    /// in the same directory.
    pub fn for_socket(hook_socket: &Path) -> StateFile {
        StateFile { path: hook_socket.with_extension(STATE_SUFFIX) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `containers` as the whole state: a temporary file beside it, renamed over it.
    pub fn write(&self, containers: Vec<SavedContainer>) -> Result<(), StateError> {
        let io = |source| StateError::Io { path: self.path.clone(), source };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let doc = StateDoc { version: STATE_VERSION, containers };
        let text = serde_json::to_vec(&doc).map_err(|source| StateError::Parse { path: self.path.clone(), source })?;
        let tmp = self.path.with_extension("json.tmp");
        // Root's only: the pods' labels, mounts and images of the node.
        let write = || -> std::io::Result<()> {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
            std::io::Write::write_all(&mut f, &text)
        };
        write().map_err(|source| StateError::Io { path: tmp.clone(), source })?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }

    /// The saved containers; `Ok(None)` when there is no file (a first start).
    pub fn read(&self) -> Result<Option<Vec<SavedContainer>>, StateError> {
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::Io { path: self.path.clone(), source }),
        };
        let parse = |source| StateError::Parse { path: self.path.clone(), source };
        // The version first, so that another version is named as such, not as a parse error.
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        let Version { version } = serde_json::from_slice(&text).map_err(parse)?;
        if version != STATE_VERSION {
            return Err(StateError::Version { path: self.path.clone(), found: version, want: STATE_VERSION });
        }
        let doc: StateDoc = serde_json::from_slice(&text).map_err(parse)?;
        Ok(Some(doc.containers))
    }
}

/// What [`recover`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StateRecovery {
    /// A state file of this version was read (even an empty one): it names every container the
    /// previous daemon had armed, so the kernel may be reconciled against it.
    pub read: bool,
    /// Containers armed again.
    pub rearmed: usize,
    /// Containers whose cgroup or init was gone: kept as stopped, for their records' metadata.
    pub exited: usize,
    /// Live containers that could not be armed again (logged with the reason).
    pub failed: usize,
}

/// What the kernel reconciliation removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    /// Cgroups taken out of the kernel's scope.
    pub untracked: usize,
    /// BPF-LSM policies removed.
    pub disarmed: usize,
}

/// Reads the registry's state file and registers its containers again: the live ones armed
/// ([`Stage::SetUp`]: the runtime's setup is long over), the exited ones kept for their
/// records. Call at start, before containerd's recovery (whose facts then win).
pub fn recover(registry: &SharedRegistry) -> StateRecovery {
    let Ok(mut reg) = registry.lock() else { return StateRecovery::default() };
    let (mut recovery, live) = reg.restore_state();
    drop(reg);
    for (id, pid) in live {
        match arm(registry, &id, pid, Stage::SetUp) {
            Ok(mode) => {
                recovery.rearmed += 1;
                tracing::info!(container_id = %id, %mode, "re-armed a container from the state file");
            }
            Err(e) => {
                recovery.failed += 1;
                tracing::warn!(container_id = %id, error = %e, "re-arming a container from the state file failed");
            }
        }
    }
    // The file now says what this daemon knows (exited containers leave it). A file it could
    // not read stays as it was until the first change, for whoever wants to look at it.
    if let (true, Ok(reg)) = (recovery.read, registry.lock()) {
        reg.save_state();
    }
    recovery
}

/// [`Registry::reconcile_kernel`] after both recoveries, when they could speak for every
/// container the kernel may hold: the state file was read (it names every container the
/// previous daemon armed), or containerd answered. With neither (no file from an older daemon
/// and containerd down) nothing is removed: disarming a running container's policy because
/// nobody could vouch for it would stop enforcing it.
pub fn reconcile(registry: &SharedRegistry, restored: &StateRecovery, containerd_answered: bool) -> Option<Reconciled> {
    if !restored.read && !containerd_answered {
        tracing::warn!("no container state file and containerd unreachable: the kernel's entries are kept as they are");
        return None;
    }
    registry.lock().ok().map(|mut r| r.reconcile_kernel())
}

fn source_named(name: &str) -> Option<&'static str> {
    [Source::Hook, Source::Nri, Source::Containerd].into_iter().map(Source::name).find(|n| *n == name)
}

impl Registry {
    /// Saves the armed containers in `file` after every change that matters, and reads them
    /// from there at start ([`recover`]).
    pub fn with_state_file(mut self, file: StateFile) -> Registry {
        self.state_file = Some(file);
        self
    }

    /// Writes the armed containers to the state file (when there is one). A failure is
    /// logged: the daemon runs on, a successor would only know less.
    pub(super) fn save_state(&self) {
        let Some(file) = &self.state_file else { return };
        let saved = self.containers.iter().filter(|(_, e)| e.is_armed()).filter_map(|(id, e)| saved(id, e)).collect();
        if let Err(e) = file.write(saved) {
            tracing::warn!(error = %e, "writing the container state file failed");
        }
    }

    /// Registers the state file's containers: the live ones tracked again (returned with
    /// their init pid, 0 when none was saved, for [`arm`] to finish), the others stopped.
    fn restore_state(&mut self) -> (StateRecovery, Vec<(String, u32)>) {
        let mut recovery = StateRecovery::default();
        let Some(file) = self.state_file.clone() else { return (recovery, Vec::new()) };
        let containers = match file.read() {
            Ok(Some(c)) => c,
            Ok(None) => {
                tracing::info!(path = %file.path().display(), "no container state file: a first start");
                return (recovery, Vec::new());
            }
            Err(e) => {
                tracing::warn!(error = %e, "container state file ignored");
                return (recovery, Vec::new());
            }
        };
        recovery.read = true;
        let mut live = Vec::new();
        for s in containers {
            if self.containers.contains_key(&s.id) {
                continue;
            }
            let exists = self.cgroups.id_of(&s.cgroup_path).is_ok_and(|id| id == s.cgroup_id);
            // Its init, if it still runs in that cgroup (a reused pid runs elsewhere); a
            // container saved without one (no source named it) is judged by its cgroup alone.
            let (cgroup_id, pid) = (s.cgroup_id, s.pid);
            let init_alive = pid == 0 || self.cgroups.of_pid(pid).is_ok_and(|c| c.id == cgroup_id);
            let id = s.id.clone();
            let mut entry = self.entry_from(s);
            if exists && init_alive {
                if let Err(e) = self.scope.track(cgroup_id) {
                    tracing::warn!(container_id = %id, cgroup_id, error = %e, "re-arming a container from the state file failed");
                    recovery.failed += 1;
                    continue;
                }
                if pid != 0 {
                    self.by_init.insert(pid, id.clone());
                    Arc::make_mut(&mut entry.meta).users = Users::load(&self.proc.join(pid.to_string()).join("root"));
                }
                live.push((id.clone(), pid));
            } else {
                entry.state = State::Stopped;
                entry.stopped_ns = (self.now_ns)();
                recovery.exited += 1;
                tracing::info!(container_id = %id, cgroup_id, cgroup_exists = exists, grace_s = STOPPED_GRACE_NS / 1_000_000_000,
                    "a container of the state file exited while no daemon ran: kept for its records");
            }
            self.by_cgroup.insert(cgroup_id, id.clone());
            self.containers.insert(id, entry);
        }
        (recovery, live)
    }

    /// A registry entry from its saved form: not judged in the kernel yet (arming again
    /// installs its BPF-LSM policy afresh, replacing the pinned one atomically).
    fn entry_from(&self, s: SavedContainer) -> Entry {
        let mode = s.mode.parse().unwrap_or(self.global_mode);
        let mut image = ImageRef::parse(&s.image);
        (image.id, image.digest) = (s.image_id, if s.image_digest.is_empty() { image.digest } else { s.image_digest });
        // The profile of that name in the current set; else the one the image matches now.
        let profile = (!s.profile.is_empty())
            .then(|| self.profiles.get(&s.profile).unwrap_or_else(|| self.profiles.resolve(&image.full, None).profile).clone());
        let meta = ContainerMeta {
            full_id: s.id.clone(),
            name: s.name,
            image,
            namespace: s.namespace,
            pod: s.pod,
            labels: s.labels,
            mounts: s.mounts,
            privileged: s.privileged,
            users: Users::default(),
            start_ns: s.start_ns,
            profile: profile.map(Arc::new),
            mode,
            enforced_by: s.backend.as_deref().and_then(Backend::from_name),
            judged_in_kernel: false,
            denied_programs: None,
            rootfs: s.rootfs.clone(),
            init_pid: s.pid,
            engine: Engine::from_name(&s.engine).unwrap_or_default(),
        };
        Entry {
            meta: Arc::new(meta),
            cgroup: Some(Cgroup { path: s.cgroup_path, id: s.cgroup_id }),
            pid: s.pid,
            sources: s.sources.iter().filter_map(|n| source_named(n)).collect(),
            mode: mode.to_string(),
            state: State::Running,
            rootfs: s.rootfs,
            mode_annotation: s.mode_annotation,
            override_refused: false,
            created_ns: s.created_ns,
            started_ns: s.started_ns,
            stopped_ns: 0,
        }
    }

    /// After the state file's and containerd's recoveries: every cgroup in the kernel's scope
    /// and every BPF-LSM policy that no armed container claims belongs to a container that
    /// stopped while no daemon ran (or to a daemon of another kind of knowledge): untracked and
    /// disarmed, so the kernel neither watches nor confines a cgroup id nobody accounts for.
    /// Only when the two sources could speak for every container: see `cli`'s `run`.
    pub fn reconcile_kernel(&mut self) -> Reconciled {
        let claimed: HashSet<u64> =
            self.containers.values().filter(|e| e.is_armed()).filter_map(|e| e.cgroup.as_ref().map(|c| c.id)).collect();
        let mut done = Reconciled::default();
        for cgroup_id in self.scope.tracked() {
            if claimed.contains(&cgroup_id) {
                continue;
            }
            match self.scope.untrack(cgroup_id) {
                Ok(()) => {
                    done.untracked += 1;
                    tracing::info!(cgroup_id, "untracked a cgroup no container claims");
                }
                Err(e) => tracing::warn!(cgroup_id, error = %e, "untracking an unclaimed cgroup failed"),
            }
        }
        if let Some(k) = self.kernel_enforcer.as_mut() {
            for cgroup_id in k.armed() {
                if !claimed.contains(&cgroup_id) {
                    k.disarm(cgroup_id);
                    done.disarmed += 1;
                    tracing::info!(cgroup_id, "disarmed the BPF-LSM policy of a cgroup no container claims");
                }
            }
        }
        tracing::info!(untracked = done.untracked, disarmed = done.disarmed, "kernel reconciled with the registry");
        done
    }
}

/// The saved form of an armed entry.
fn saved(id: &str, e: &Entry) -> Option<SavedContainer> {
    let cgroup = e.cgroup.as_ref()?;
    let m = &e.meta;
    Some(SavedContainer {
        id: id.to_owned(),
        name: m.name.clone(),
        image: m.image.full.clone(),
        image_id: m.image.id.clone(),
        image_digest: m.image.digest.clone(),
        namespace: m.namespace.clone(),
        pod: m.pod.clone(),
        labels: m.labels.clone(),
        mounts: m.mounts.clone(),
        privileged: m.privileged,
        engine: m.engine.as_str().to_owned(),
        sources: e.sources.iter().map(|s| (*s).to_owned()).collect(),
        profile: m.profile_name().to_owned(),
        mode: m.mode.to_string(),
        mode_annotation: e.mode_annotation.clone(),
        backend: m.enforced_by.map(|b| b.as_str().to_owned()),
        cgroup_id: cgroup.id,
        cgroup_path: cgroup.path.clone(),
        pid: e.pid,
        rootfs: e.rootfs.clone(),
        start_ns: m.start_ns,
        created_ns: e.created_ns,
        started_ns: e.started_ns,
    })
}
