//! The container registry: container id → metadata, cgroup, sources and state, and cgroup id →
//! container for the event path.
//!
//! Invariants:
//! - a container is *armed* when its cgroup id is in the kernel's scope (`TRACKED_CGROUPS`) and
//!   in `by_cgroup`; both change together, under the registry's lock;
//! - one entry per container id whatever reported it (the hook, NRI, or both, in any order);
//!   metadata only gets richer: a later source fills what an earlier one left empty;
//! - a stopped container leaves the kernel's scope at once but stays resolvable by cgroup id for
//!   [`STOPPED_GRACE_NS`], so its last records (still in the ring buffer) keep their metadata;
//! - an entry never armed is forgotten after [`UNARMED_TTL_NS`] ([`expiry`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use palisade_hook::{BundleFacts, ContainerSummary, OciState};

use super::cgroup::{Cgroup, Cgroups};
use super::lsm::KernelEnforcer;
use super::mode_authority::{self, ModeAuthority, RefusedOverride};
pub use arming::{arm, Begun, KernelArming, Stage};
pub use expiry::UNARMED_TTL_NS;
pub use state::{Reconciled, StateRecovery};
use super::{cri_annotations as cri, Backend, ContainerMeta, ImageRef, PodMeta};
use palisade_events::process::Users;

/// How long a stopped container stays resolvable by cgroup id.
pub const STOPPED_GRACE_NS: u64 = 30_000_000_000;

/// The kernel side of arming, behind a trait so the registry can be tested without BPF.
pub trait CgroupScope: Send {
    fn track(&mut self, cgroup_id: u64) -> Result<(), String>;
    fn untrack(&mut self, cgroup_id: u64) -> Result<(), String>;
    /// Watch (or not) every cgroup that is not tracked: host monitoring.
    fn watch_untracked(&mut self, on: bool) -> Result<(), String>;
    /// The cgroups in the kernel's scope now (a restarted daemon's scope may hold a
    /// predecessor's: [`Registry::reconcile_kernel`]). Default: none, for scopes that cannot
    /// list (test doubles).
    fn tracked(&self) -> Vec<u64> {
        Vec::new()
    }
}

impl CgroupScope for crate::kernel::Scope {
    fn track(&mut self, cgroup_id: u64) -> Result<(), String> {
        crate::kernel::Scope::track(self, cgroup_id).map_err(|e| e.to_string())
    }
    fn untrack(&mut self, cgroup_id: u64) -> Result<(), String> {
        crate::kernel::Scope::untrack(self, cgroup_id).map_err(|e| e.to_string())
    }
    fn watch_untracked(&mut self, on: bool) -> Result<(), String> {
        crate::kernel::Scope::watch_untracked(self, on).map_err(|e| e.to_string())
    }
    fn tracked(&self) -> Vec<u64> {
        crate::kernel::Scope::tracked(self)
    }
}

/// The registry shared by the hook server, the NRI plugin and the event loop.
pub type SharedRegistry = Arc<Mutex<Registry>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Created,
    Running,
    Stopped,
}

#[derive(Debug)]
struct Entry {
    meta: Arc<ContainerMeta>,
    cgroup: Option<Cgroup>,
    pid: u32,
    /// Who reported the container (`hook`, `nri`, `containerd`), in first-report order.
    sources: Vec<&'static str>,
    mode: String,
    state: State,
    rootfs: PathBuf,
    mode_annotation: Option<String>,
    /// A refused loosening of its mode was reported (one alert per container).
    override_refused: bool,
    created_ns: u64,
    started_ns: u64,
    stopped_ns: u64,
}

impl Entry {
    fn is_armed(&self) -> bool {
        self.cgroup.is_some() && self.state != State::Stopped
    }
}

/// What a source knows about a container; empty fields mean "not known by this source".
#[derive(Debug, Default, Clone)]
pub struct Facts {
    pub name: String,
    pub image: String,
    pub namespace: String,
    pub pod: Option<PodMeta>,
    pub labels: std::collections::BTreeMap<String, String>,
    pub mounts: Vec<palisade_hook::MountFact>,
    pub privileged: Option<bool>,
    /// The root filesystem on the host.
    pub rootfs: Option<PathBuf>,
    /// The `palisade.io/mode` annotation, when the spec or pod carries one.
    pub mode_annotation: Option<String>,
    /// The engine that made it, when a source knows (podman's hook requests).
    pub engine: Option<super::Engine>,
    /// The image's id and digest, when the engine says them apart from the reference.
    pub image_id: String,
    pub image_digest: String,
}

impl Facts {
    /// Facts from an OCI hook: CRI annotations when containerd's CRI created the container,
    /// the containerd namespace from the bundle path (`.../io.containerd.runtime.v2.task/NS/ID`).
    pub fn from_hook(state: &OciState, bundle: &BundleFacts) -> Facts {
        let a = |k: &str| state.annotations.get(k).cloned().unwrap_or_default();
        let pod = (!a(cri::SANDBOX_NAME).is_empty()).then(|| PodMeta {
            name: a(cri::SANDBOX_NAME),
            namespace: a(cri::SANDBOX_NAMESPACE),
            uid: a(cri::SANDBOX_UID),
            labels: Default::default(),
        });
        let namespace = state
            .bundle
            .parent()
            .filter(|p| p.parent().and_then(Path::file_name).is_some_and(|n| n == "io.containerd.runtime.v2.task"))
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Facts {
            name: a(cri::CONTAINER_NAME),
            image: a(cri::IMAGE_NAME),
            namespace,
            pod,
            labels: Default::default(),
            mounts: bundle.mounts.clone(),
            privileged: Some(bundle.privileged),
            rootfs: (!bundle.rootfs.as_os_str().is_empty()).then(|| bundle.rootfs.clone()),
            mode_annotation: state.annotations.get(palisade_profiles::MODE_ANNOTATION).cloned(),
            ..Facts::default()
        }
    }
}

pub struct Registry {
    containers: HashMap<String, Entry>,
    by_cgroup: HashMap<u64, String>,
    /// Init pid → container id, for the containers whose init is alive.
    by_init: HashMap<u32, String>,
    scope: Box<dyn CgroupScope>,
    profiles: Arc<palisade_profiles::ProfileSet>,
    global_mode: palisade_profiles::Mode,
    cgroups: Cgroups,
    proc: PathBuf,
    now_ns: fn() -> u64,
    /// The BPF-LSM backend, when the kernel accepts it.
    kernel_enforcer: Option<Box<dyn KernelEnforcer>>,
    /// Who may loosen a container's mode by annotation.
    mode_authority: ModeAuthority,
    /// Refused loosenings not yet alerted ([`Registry::take_mode_refusals`]).
    mode_refusals: Vec<(RefusedOverride, Arc<ContainerMeta>)>,
    /// Where the armed containers are saved for a successor ([`state`]).
    state_file: Option<state::StateFile>,
}

fn wall_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

impl Registry {
    pub fn new(scope: Box<dyn CgroupScope>, cgroups: Cgroups, proc: PathBuf) -> Registry {
        Registry {
            containers: HashMap::new(),
            by_cgroup: HashMap::new(),
            by_init: HashMap::new(),
            scope,
            profiles: Arc::new(palisade_profiles::ProfileSet::default()),
            global_mode: palisade_profiles::Mode::Audit,
            cgroups,
            proc,
            now_ns: wall_ns,
            kernel_enforcer: None,
            mode_authority: ModeAuthority::default(),
            mode_refusals: Vec::new(),
            state_file: None,
        }
    }

    /// Who may loosen a container's mode by annotation (default: nobody).
    pub fn with_mode_authority(mut self, authority: ModeAuthority) -> Registry {
        self.mode_authority = authority;
        self
    }

    /// A reload's `mode_annotation`: applies to containers prepared or armed from now on.
    pub fn set_mode_authority(&mut self, authority: ModeAuthority) {
        self.mode_authority = authority;
    }

    /// The refused mode loosenings since the last call, each with its container, for the
    /// event loop to alert (once per container).
    pub fn take_mode_refusals(&mut self) -> Vec<(RefusedOverride, Arc<ContainerMeta>)> {
        std::mem::take(&mut self.mode_refusals)
    }

    /// Containers whose profile denies anything get armed in `enforcer` (BPF-LSM).
    pub fn with_kernel_enforcer(mut self, enforcer: Box<dyn KernelEnforcer>) -> Registry {
        self.kernel_enforcer = Some(enforcer);
        self
    }

    /// `--detach-on-exit`: removes the BPF-LSM programs and pins.
    pub fn detach_kernel_enforcer(&mut self) -> Result<(), String> {
        self.kernel_enforcer.take().map_or(Ok(()), |e| e.detach())
    }

    /// The BPF-LSM decisions made since the last call, each with its container (if known).
    pub fn kernel_decisions(&mut self) -> Vec<(palisade_lsm::Decision, Option<Arc<ContainerMeta>>)> {
        let Some(e) = self.kernel_enforcer.as_mut() else { return Vec::new() };
        let decisions = e.decisions();
        decisions.into_iter().map(|d| {
            let meta = self.lookup(d.cgroup_id);
            (d, meta)
        }).collect()
    }

    /// The profiles containers are matched against when armed, and the configured mode.
    pub fn with_profiles(mut self, profiles: Arc<palisade_profiles::ProfileSet>, global_mode: palisade_profiles::Mode) -> Registry {
        self.profiles = profiles;
        self.global_mode = global_mode;
        self
    }

    pub fn shared(self) -> SharedRegistry {
        Arc::new(Mutex::new(self))
    }

    /// Records what `source` knows about `id`, creating the entry if needed.
    pub fn report(&mut self, id: &str, facts: Facts, source: Source) {
        if !self.containers.contains_key(id) {
            self.purge_expired();
        }
        let now = (self.now_ns)();
        let entry = self.containers.entry(id.to_owned()).or_insert_with(|| Entry {
            meta: Arc::new(ContainerMeta { full_id: id.to_owned(), name: id.to_owned(), start_ns: now, ..Default::default() }),
            cgroup: None,
            pid: 0,
            sources: Vec::new(),
            mode: "audit".to_owned(),
            state: State::Created,
            rootfs: PathBuf::new(),
            mode_annotation: None,
            override_refused: false,
            created_ns: now,
            started_ns: 0,
            stopped_ns: 0,
        });
        if let Some(rootfs) = facts.rootfs {
            Arc::make_mut(&mut entry.meta).rootfs = rootfs.clone();
            entry.rootfs = rootfs;
        }
        if facts.mode_annotation.is_some() {
            entry.mode_annotation = facts.mode_annotation;
        }
        if !entry.sources.contains(&source.name()) {
            entry.sources.push(source.name());
        }
        let m = Arc::make_mut(&mut entry.meta);
        if !facts.name.is_empty() && (m.name == m.full_id || source == Source::Nri) {
            m.name = facts.name;
        }
        if !facts.image.is_empty() {
            m.image = ImageRef::parse(&facts.image);
        }
        if !facts.image_id.is_empty() {
            m.image.id = facts.image_id;
        }
        if !facts.image_digest.is_empty() {
            m.image.digest = facts.image_digest;
        }
        if let Some(engine) = facts.engine {
            m.engine = engine;
        }
        if !facts.namespace.is_empty() {
            m.namespace = facts.namespace;
        }
        if let Some(pod) = facts.pod {
            let labels = if pod.labels.is_empty() { m.pod.take().map(|p| p.labels).unwrap_or_default() } else { pod.labels.clone() };
            m.pod = Some(PodMeta { labels, ..pod });
        }
        if !facts.labels.is_empty() {
            m.labels = facts.labels;
        }
        if !facts.mounts.is_empty() {
            m.mounts = facts.mounts;
        }
        if let Some(p) = facts.privileged {
            m.privileged = p;
        }
        if entry.is_armed() {
            self.save_state();
        }
    }

    /// First half of arming ([`arm`] does both halves): puts `id`'s cgroup (the one `pid` is in)
    /// in the kernel's scope and settles its profile, holding the lock only for bookkeeping.
    /// When the container is to be armed in the BPF-LSM programs too, returns that work: its
    /// policy is built without the lock ([`KernelArming::build`]) and installed with
    /// [`Registry::finish_arm`]. Idempotent.
    pub fn begin_arm(&mut self, id: &str, pid: u32, stage: Stage) -> Result<Begun, String> {
        self.purge_expired();
        let entry = self.containers.get_mut(id).ok_or_else(|| format!("container {id} is not registered"))?;
        let newly_armed = entry.cgroup.is_none();
        if newly_armed {
            let cgroup = self.cgroups.of_pid(pid).map_err(|e| format!("container {id}: {e}"))?;
            if cgroup.path == "/" {
                // Not a container's cgroup (a runtime always makes one): arming it would watch
                // and, with BPF-LSM, enforce on every process of the root cgroup.
                return Err(format!("container {id}: its init (pid {pid}) is in the root cgroup; refusing to arm it"));
            }
            self.scope.track(cgroup.id).map_err(|e| format!("container {id}: arming cgroup {}: {e}", cgroup.path))?;
            self.by_cgroup.insert(cgroup.id, id.to_owned());
            self.by_init.insert(pid, id.to_owned());
            tracing::info!(container_id = id, cgroup_id = cgroup.id, cgroup = %cgroup.path, pid, "armed");
            entry.cgroup = Some(cgroup);
            entry.pid = pid;
            entry.started_ns = (self.now_ns)();
            let m = Arc::make_mut(&mut entry.meta);
            m.init_pid = pid;
            m.users = Users::load(&self.proc.join(pid.to_string()).join("root"));
        } else if entry.pid == 0 && pid != 0 && entry.state != State::Stopped {
            // Restored from the state file without an init pid: a source now names it.
            entry.pid = pid;
            self.by_init.insert(pid, id.to_owned());
            let m = Arc::make_mut(&mut entry.meta);
            m.init_pid = pid;
            m.users = Users::load(&self.proc.join(pid.to_string()).join("root"));
        }
        if entry.meta.profile.is_none() {
            // The profile, by the image as known now (the hook asks containerd first).
            self.choose_profile(id);
        }
        if newly_armed {
            // In the kernel's scope from now on: a successor must know it.
            self.save_state();
        }
        if let Some(job) = self.kernel_arming(id, stage) {
            return Ok(Begun::Kernel(job));
        }
        let Some(entry) = self.containers.get_mut(id) else { return Err(format!("container {id} is not registered")) };
        if entry.state == State::Created {
            entry.state = State::Running;
        }
        Ok(Begun::Armed(entry.mode.clone()))
    }

    /// Before the container exists: its profile and mode, chosen now by the image as known
    /// (`palisade-runc` asks before `runc create`, so that the spec can carry the enforcement).
    pub fn prepare(&mut self, id: &str) -> Result<Arc<ContainerMeta>, String> {
        self.choose_profile(id);
        let entry = self.containers.get(id).ok_or_else(|| format!("container {id} is not registered"))?;
        Ok(Arc::clone(&entry.meta))
    }

    /// Records the denied programs of `id`'s image (its whole-image scan).
    pub fn set_denied_programs(&mut self, id: &str, programs: super::image_scan::DeniedPrograms) {
        if let Some(entry) = self.containers.get_mut(id) {
            Arc::make_mut(&mut entry.meta).denied_programs = Some(Arc::new(programs));
        }
    }

    /// Records which backend confines `id` (set when its spec was prepared for it).
    pub fn set_backend(&mut self, id: &str, backend: Option<Backend>) {
        if let Some(entry) = self.containers.get_mut(id) {
            Arc::make_mut(&mut entry.meta).enforced_by = backend;
            if entry.is_armed() {
                self.save_state();
            }
        }
    }

    /// Matches `id`'s image against the profiles and settles its mode: the profile's, else the
    /// configured one, changed by the `palisade.io/mode` annotation as [`ModeAuthority`] allows
    /// (tighten always; loosen only where the node's configuration says).
    fn choose_profile(&mut self, id: &str) {
        let Some(entry) = self.containers.get_mut(id) else { return };
        let m = Arc::make_mut(&mut entry.meta);
        let digest = (!m.image.digest.is_empty()).then_some(m.image.digest.as_str());
        let profile = self.profiles.resolve(&m.image.full, digest).profile.clone();
        let annotations: std::collections::BTreeMap<String, String> = entry
            .mode_annotation
            .iter()
            .map(|v| (palisade_profiles::MODE_ANNOTATION.to_owned(), v.clone()))
            .collect();
        let base = profile.mode.unwrap_or(self.global_mode);
        let annotation = entry.mode_annotation.is_some().then(|| {
            profile.effective_mode(self.global_mode, &annotations).inspect_err(|e| {
                tracing::error!(container_id = id, error = %e, "bad mode annotation");
            })
        });
        let namespace = mode_authority::namespace_of(m).to_owned();
        let (mode, refused) = self.mode_authority.decide(base, annotation, &namespace);
        m.mode = mode;
        entry.mode = m.mode.to_string();
        m.profile = Some(Arc::new(profile));
        tracing::info!(container_id = id, profile = %m.profile_name(), mode = %m.mode, "profile");
        if let Some(r) = refused {
            tracing::warn!(
                container_id = id,
                namespace = %r.namespace,
                requested = %r.requested,
                applied = %r.applied,
                profile = %m.profile_name(),
                "mode override refused: mode_annotation does not allow loosening here"
            );
            if !entry.override_refused {
                entry.override_refused = true;
                self.mode_refusals.push((r, Arc::clone(&entry.meta)));
            }
        }
    }

    /// New profiles and configured mode (a reload): containers prepared or armed from now on
    /// get them; running ones keep theirs (a Landlock policy cannot change under a process).
    pub fn set_profiles(&mut self, profiles: Arc<palisade_profiles::ProfileSet>, global_mode: palisade_profiles::Mode) {
        self.profiles = profiles;
        self.global_mode = global_mode;
    }

    /// Host monitoring on or off (a reload changed `host_monitoring`).
    pub fn set_host_monitoring(&mut self, on: bool) {
        if let Err(e) = self.scope.watch_untracked(on) {
            tracing::error!(error = %e, on, "changing host monitoring failed");
        }
    }

    /// A process exited: when it is a container's init, the container has stopped (its other
    /// processes die with it, being in its pid namespace). This, not a `poststop` hook, is how
    /// the daemon learns a `ctr` container ended: one hook run less per container.
    pub fn process_exited(&mut self, pid: u32) {
        if let Some(id) = self.by_init.remove(&pid) {
            self.stopped(&id);
        }
    }

    /// The container stopped: out of the kernel's scope now, forgotten after the grace period.
    pub fn stopped(&mut self, id: &str) {
        let now = (self.now_ns)();
        let Some(entry) = self.containers.get_mut(id) else { return };
        if entry.state == State::Stopped {
            return;
        }
        entry.state = State::Stopped;
        entry.stopped_ns = now;
        self.by_init.remove(&entry.pid);
        if let Some(cg) = &entry.cgroup {
            if let Err(e) = self.scope.untrack(cg.id) {
                tracing::warn!(container_id = id, cgroup_id = cg.id, error = %e, "disarming failed");
            }
            if let (true, Some(k)) = (entry.meta.judged_in_kernel, self.kernel_enforcer.as_mut()) {
                k.disarm(cg.id);
            }
        }
        tracing::info!(container_id = id, "stopped");
        self.save_state();
    }

    /// The container whose cgroup is `cgroup_id`.
    pub fn lookup(&self, cgroup_id: u64) -> Option<Arc<ContainerMeta>> {
        self.by_cgroup.get(&cgroup_id).and_then(|id| self.containers.get(id)).map(|e| Arc::clone(&e.meta))
    }

    /// Whether container `id` is known (running, or stopped within the grace period).
    pub fn knows(&self, id: &str) -> bool {
        self.containers.contains_key(id)
    }

    /// The image reference of `id`, when known.
    pub fn image_of(&self, id: &str) -> Option<String> {
        self.containers.get(id).map(|e| e.meta.image.full.clone()).filter(|i| !i.is_empty())
    }

    /// How many containers are armed now (in the kernel's scope).
    pub fn armed_count(&self) -> usize {
        self.containers.values().filter(|e| e.is_armed()).count()
    }

    /// Every container, for `palisade containers`, sorted by id.
    pub fn summaries(&self) -> Vec<ContainerSummary> {
        let mut list: Vec<ContainerSummary> = self
            .containers
            .iter()
            .map(|(id, e)| ContainerSummary {
                id: id.clone(),
                name: e.meta.name.clone(),
                image: e.meta.image.full.clone(),
                sources: {
                    let mut s = e.sources.clone();
                    s.sort_by_key(|n| ["nri", "hook", "containerd"].iter().position(|k| k == n));
                    s.join("+")
                },
                mode: e.mode.clone(),
                profile: e.meta.profile.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
                armed: e.is_armed(),
                cgroup_id: e.cgroup.as_ref().map_or(0, |c| c.id),
                pid: e.pid,
                state: format!("{:?}", e.state).to_lowercase(),
                rootfs: e.rootfs.display().to_string(),
                created_ns: e.created_ns,
                started_ns: e.started_ns,
                stopped_ns: e.stopped_ns,
            })
            .collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        list
    }
}

/// Who reported a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Hook,
    Nri,
    /// containerd's API, when a restarted daemon recovers running containers.
    Containerd,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Hook => "hook",
            Source::Nri => "nri",
            Source::Containerd => "containerd",
        }
    }
}

#[path = "registry_arming.rs"]
mod arming;
#[path = "registry_expiry.rs"]
mod expiry;
#[path = "registry_state.rs"]
pub mod state;

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
