//! The loaded (or reused) enforcement programs and their maps.
//!
//! Pins, under `<pin_root>/lsm-v<ENFORCE_ABI_VERSION>/`:
//! - `maps/<NAME>` for ENFORCED, DENY_EXEC, ALLOW_WRITE, ALLOW_WRITABLE_EXEC, DECISIONS,
//!   DECISION_DROPS;
//! - `links/<hook>` for every attached LSM program.
//!
//! A pinned link keeps its program attached after the daemon exits, so containers stay
//! enforced across restarts. [`Enforcer::load`] reuses a complete set of pins of the same ABI
//! (nothing is attached twice); an incomplete set (a crash while pinning) is removed and
//! loaded afresh. Removing the link pins ([`Enforcer::unpin_all`]) detaches the programs once
//! no process holds them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::{HashMap, Map, MapData, MapError, PerCpuArray, RingBuf};
use aya::programs::links::{FdLink, PinnedLink};
use aya::programs::{Lsm, ProgramError};
use aya::{Btf, Ebpf};
use tracing::{debug, info, warn};

use palisade_ebpf::enforce_abi::{AllowKeyData, ENFORCE_ABI_VERSION};

use crate::decision::{Decision, DecodeError};
pub use crate::hooks::{programs_of, HOOKS, OPTIONAL_HOOKS};
use crate::hooks::load_variant;
use crate::policy::{ContainerPolicy, PolicyError};

/// The default pin root.
pub const DEFAULT_PIN_ROOT: &str = "/sys/fs/bpf/palisade";

/// An `ENFORCED` value as aya stores it (`enforce_abi::Policy`'s bytes).
type PolicyBytes = [u8; std::mem::size_of::<palisade_ebpf::enforce_abi::Policy>()];

/// The maps user space uses (and pins); the per-CPU scratch map stays private to the programs.
const MAPS: [&str; 6] = ["ENFORCED", "DENY_EXEC", "ALLOW_WRITE", "ALLOW_WRITABLE_EXEC", "DECISIONS", "DECISION_DROPS"];

/// Why loading, pinning or arming failed.
#[derive(Debug, thiserror::Error)]
pub enum EnforcerError {
    /// The object did not load.
    #[error("loading the enforcement object failed: {0}")]
    Object(#[from] aya::EbpfError),
    /// No kernel BTF.
    #[error("reading kernel BTF from /sys/kernel/btf/vmlinux failed: {0}")]
    Btf(#[from] aya::BtfError),
    /// A program did not load or attach.
    #[error("LSM program {hook}: {source}")]
    Program {
        /// The hook.
        hook: &'static str,
        /// What failed.
        #[source]
        source: ProgramError,
    },
    /// A map is missing, of the wrong shape, or an update failed.
    #[error("map {name}: {source}")]
    Map {
        /// The map.
        name: &'static str,
        /// What failed.
        #[source]
        source: MapError,
    },
    /// A pin could not be written, opened or removed.
    #[error("pin {path}: {detail}")]
    Pin {
        /// The bpffs path.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// The policy is invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

fn map_err(name: &'static str) -> impl Fn(MapError) -> EnforcerError {
    move |source| EnforcerError::Map { name, source }
}

fn pin_err(path: &Path) -> impl Fn(String) -> EnforcerError + '_ {
    move |detail| EnforcerError::Pin { path: path.to_path_buf(), detail }
}

/// Handles on the enforcement maps; the programs run as long as their links are pinned.
pub struct Enforcer {
    dir: PathBuf,
    reused: bool,
    enforced: HashMap<MapData, u64, PolicyBytes>,
    deny_exec: HashMap<MapData, [u8; 16], u32>,
    allow_write: LpmTrie<MapData, AllowKeyData, u32>,
    allow_wx: LpmTrie<MapData, AllowKeyData, u32>,
    decisions: RingBuf<MapData>,
    drops: PerCpuArray<MapData, u64>,
    next_policy_id: u32,
    /// This process's mount namespace, taken for the container runtime's (see
    /// [`runtime_mnt_ns`]).
    runtime_mnt_ns: u32,
}

/// The container runtime's mount namespace: the host's initial one, where containerd and runc
/// run (inode number of `/proc/1/ns/mnt`; this process's when that is unreadable; 0 when
/// neither is). Not simply this process's: a daemon deployed in a container of its own (with
/// the host's pid namespace) has another one. Policies name it so that W^X and
/// exec_only_image leave the runtime's own processes alone while they are in the container's
/// cgroup but not yet in the container (`runc init` for `runc exec`: its binary, a memfd copy
/// of it and its libraries).
pub fn runtime_mnt_ns() -> u32 {
    use std::os::unix::fs::MetadataExt;
    ["/proc/1/ns/mnt", "/proc/self/ns/mnt"]
        .iter()
        .find_map(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| u32::try_from(m.ino()).unwrap_or(0))
}

impl Enforcer {
    /// The pin directory of this ABI beneath `pin_root`.
    pub fn pin_dir(pin_root: &Path) -> PathBuf {
        pin_root.join(format!("lsm-v{ENFORCE_ABI_VERSION}"))
    }

    /// Load and attach the programs and pin them under `pin_root` (normally
    /// [`DEFAULT_PIN_ROOT`], on a mounted bpffs), or reuse the pins a previous run left.
    pub fn load(pin_root: &Path) -> Result<Enforcer, EnforcerError> {
        let dir = Self::pin_dir(pin_root);
        let reused = if pins_complete(&dir) {
            // Open every link pin: a stale file that is not a BPF object fails here.
            for hook in HOOKS {
                let path = dir.join("links").join(hook);
                PinnedLink::from_pin(&path).map_err(|e| pin_err(&path)(e.to_string()))?;
            }
            info!(pin_dir = %dir.display(), "reusing pinned BPF-LSM programs");
            true
        } else {
            if dir.exists() {
                warn!(pin_dir = %dir.display(), "incomplete pins from an earlier run: removing them");
                remove_pin_dir(&dir, &PIN_SUBDIRS)?;
            }
            attach_and_pin(&dir)?;
            info!(pin_dir = %dir.display(), hooks = HOOKS.len(), "attached and pinned BPF-LSM programs");
            false
        };
        let open = |name: &'static str| -> Result<Map, EnforcerError> {
            let path = dir.join("maps").join(name);
            let data = MapData::from_pin(&path).map_err(map_err(name))?;
            Map::from_map_data(data).map_err(map_err(name))
        };
        let mut enforcer = Enforcer {
            enforced: HashMap::try_from(open("ENFORCED")?).map_err(map_err("ENFORCED"))?,
            deny_exec: HashMap::try_from(open("DENY_EXEC")?).map_err(map_err("DENY_EXEC"))?,
            allow_write: LpmTrie::try_from(open("ALLOW_WRITE")?).map_err(map_err("ALLOW_WRITE"))?,
            allow_wx: LpmTrie::try_from(open("ALLOW_WRITABLE_EXEC")?).map_err(map_err("ALLOW_WRITABLE_EXEC"))?,
            decisions: RingBuf::try_from(open("DECISIONS")?).map_err(map_err("DECISIONS"))?,
            drops: PerCpuArray::try_from(open("DECISION_DROPS")?).map_err(map_err("DECISION_DROPS"))?,
            dir,
            reused,
            next_policy_id: 1,
            runtime_mnt_ns: runtime_mnt_ns(),
        };
        enforcer.recover()?;
        Ok(enforcer)
    }

    /// True when [`Enforcer::load`] found the programs already attached and pinned.
    pub fn reused(&self) -> bool {
        self.reused
    }

    /// The cgroups armed now, with their policy ids.
    pub fn armed(&self) -> Result<Vec<(u64, u32)>, EnforcerError> {
        let mut out = Vec::new();
        for item in self.enforced.iter() {
            let (cgroup, value) = item.map_err(map_err("ENFORCED"))?;
            out.push((cgroup, policy_of(value).policy_id));
        }
        Ok(out)
    }

    /// Enforce `policy` for the tasks of cgroup `cgroup_id` (cgroup v2 id); replaces an earlier
    /// policy of that cgroup atomically. Returns the policy id the decisions will carry.
    pub fn arm(&mut self, cgroup_id: u64, policy: &ContainerPolicy) -> Result<u32, EnforcerError> {
        let id = self.next_policy_id;
        let mut kernel = policy.kernel_policy(id)?;
        kernel.runtime_mnt_ns = self.runtime_mnt_ns;
        let allow = policy.allow_entries(id)?;
        let allow_wx = policy.allow_writable_exec_entries(id)?;
        let previous = self.enforced.get(&cgroup_id, 0).ok().map(|v| policy_of(v).policy_id);
        // The policy's entries first, the ENFORCED entry last: the programs never see a policy
        // without its exceptions.
        for (key, kind) in policy.exec_entries(id) {
            self.deny_exec.insert(bytemuck::cast::<_, [u8; 16]>(key), kind, 0).map_err(map_err("DENY_EXEC"))?;
        }
        for key in &allow {
            self.allow_write.insert(&Key::new(key.prefixlen, key.data()), 1, 0).map_err(map_err("ALLOW_WRITE"))?;
        }
        for key in &allow_wx {
            self.allow_wx
                .insert(&Key::new(key.prefixlen, key.data()), 1, 0)
                .map_err(map_err("ALLOW_WRITABLE_EXEC"))?;
        }
        self.enforced.insert(cgroup_id, bytemuck::cast::<_, PolicyBytes>(kernel), 0).map_err(map_err("ENFORCED"))?;
        self.next_policy_id = id.wrapping_add(1).max(1);
        if let Some(old) = previous {
            self.remove_entries(&HashSet::from([old]))?;
        }
        debug!(cgroup_id, policy_id = id, mode = ?policy.mode, deny_exec = policy.deny_exec.len(),
               allow_write = allow.len(), allow_writable_exec = allow_wx.len(),
               writable_exec_denied = policy.deny_writable_exec, "armed");
        Ok(id)
    }

    /// Stop enforcing for `cgroup_id`; returns whether it was armed.
    pub fn disarm(&mut self, cgroup_id: u64) -> Result<bool, EnforcerError> {
        let Ok(value) = self.enforced.get(&cgroup_id, 0) else { return Ok(false) };
        self.enforced.remove(&cgroup_id).map_err(map_err("ENFORCED"))?;
        let id = policy_of(value).policy_id;
        self.remove_entries(&HashSet::from([id]))?;
        debug!(cgroup_id, policy_id = id, "disarmed");
        Ok(true)
    }

    /// Every decision waiting in the ring buffer (never blocks). Records that do not decode
    /// (another ABI writing to a reused map: impossible by the pin directory's name) are
    /// returned as errors in place.
    pub fn decisions(&mut self) -> Vec<Result<Decision, DecodeError>> {
        let mut out = Vec::new();
        while let Some(item) = self.decisions.next() {
            out.push(Decision::decode(&item));
        }
        out
    }

    /// Decisions lost because the ring buffer was full, summed over CPUs.
    pub fn drops(&self) -> u64 {
        self.drops.get(&0, 0).map(|per_cpu| per_cpu.iter().sum()).unwrap_or(0)
    }

    /// Remove every pin of this ABI (`--detach-on-exit`): the programs detach as this handle
    /// is dropped, and the maps go with them.
    pub fn unpin_all(self) -> Result<(), EnforcerError> {
        let dir = self.dir.clone();
        drop(self);
        remove_pin_dir(&dir, &PIN_SUBDIRS)?;
        info!(pin_dir = %dir.display(), "unpinned BPF-LSM programs");
        Ok(())
    }

    /// After a restart: continue the policy ids after the largest armed one, and drop entries
    /// of policies no cgroup uses (left by a crash between writing entries and arming).
    fn recover(&mut self) -> Result<(), EnforcerError> {
        let live: HashSet<u32> = self.armed()?.into_iter().map(|(_, id)| id).collect();
        self.next_policy_id = live.iter().max().map_or(1, |m| m.wrapping_add(1).max(1));
        let mut stale = HashSet::new();
        for key in self.deny_exec.keys() {
            let key = key.map_err(map_err("DENY_EXEC"))?;
            stale.insert(exec_policy(&key));
        }
        for key in self.allow_write.keys() {
            let key = key.map_err(map_err("ALLOW_WRITE"))?;
            stale.insert(allow_policy(&key.data()));
        }
        for key in self.allow_wx.keys() {
            let key = key.map_err(map_err("ALLOW_WRITABLE_EXEC"))?;
            stale.insert(allow_policy(&key.data()));
        }
        stale.retain(|id| !live.contains(id));
        if !stale.is_empty() {
            warn!(policies = stale.len(), "removing entries of policies no cgroup uses");
            self.remove_entries(&stale)?;
        }
        Ok(())
    }

    fn remove_entries(&mut self, ids: &HashSet<u32>) -> Result<(), EnforcerError> {
        let mut exec = Vec::new();
        for key in self.deny_exec.keys() {
            let key = key.map_err(map_err("DENY_EXEC"))?;
            if ids.contains(&exec_policy(&key)) {
                exec.push(key);
            }
        }
        for key in exec {
            self.deny_exec.remove(&key).map_err(map_err("DENY_EXEC"))?;
        }
        let mut allow = Vec::new();
        for key in self.allow_write.keys() {
            let key = key.map_err(map_err("ALLOW_WRITE"))?;
            if ids.contains(&allow_policy(&key.data())) {
                allow.push(key);
            }
        }
        for key in allow {
            self.allow_write.remove(&key).map_err(map_err("ALLOW_WRITE"))?;
        }
        let mut allow_wx = Vec::new();
        for key in self.allow_wx.keys() {
            let key = key.map_err(map_err("ALLOW_WRITABLE_EXEC"))?;
            if ids.contains(&allow_policy(&key.data())) {
                allow_wx.push(key);
            }
        }
        for key in allow_wx {
            self.allow_wx.remove(&key).map_err(map_err("ALLOW_WRITABLE_EXEC"))?;
        }
        Ok(())
    }
}

fn policy_of(value: PolicyBytes) -> palisade_ebpf::enforce_abi::Policy {
    bytemuck::cast(value)
}

fn exec_policy(key: &[u8; 16]) -> u32 {
    bytemuck::cast::<[u8; 16], palisade_ebpf::enforce_abi::ExecKey>(*key).policy_id
}

fn allow_policy(data: &AllowKeyData) -> u32 {
    u32::from_ne_bytes([data[0], data[1], data[2], data[3]])
}

/// Whether every map and link pin of the set exists.
fn pins_complete(dir: &Path) -> bool {
    MAPS.iter().all(|m| dir.join("maps").join(m).exists()) && HOOKS.iter().all(|h| dir.join("links").join(h).exists())
}

/// Load the object, attach every hook's program, pin maps then links (the last link pin
/// completes the set).
fn attach_and_pin(dir: &Path) -> Result<(), EnforcerError> {
    for sub in ["maps", "links"] {
        let path = dir.join(sub);
        std::fs::create_dir_all(&path).map_err(|e| pin_err(&path)(format!("create directory: {e}")))?;
    }
    let mut ebpf = Ebpf::load(&palisade_ebpf::ENFORCE_OBJ.0)?;
    let btf = Btf::from_sys_fs()?;
    for name in MAPS {
        let path = dir.join("maps").join(name);
        let map = ebpf.map(name).ok_or(EnforcerError::Map { name, source: MapError::InvalidName { name: name.into() } })?;
        map.pin(&path).map_err(|e| pin_err(&path)(e.to_string()))?;
    }
    // Optional hooks first: the last required link pin completes the set (pins_complete).
    for hook in OPTIONAL_HOOKS.into_iter().chain(HOOKS) {
        let perr = |source| EnforcerError::Program { hook, source };
        let name = match load_variant(&mut ebpf, &btf, hook) {
            Ok(name) => name,
            Err(ProgramError::Btf(e)) if OPTIONAL_HOOKS.contains(&hook) => {
                info!(hook, reason = %e, "LSM hook absent from this kernel: not attached");
                continue;
            }
            Err(e) => return Err(perr(e)),
        };
        let program: &mut Lsm = ebpf
            .program_mut(name)
            .ok_or(ProgramError::InvalidName { name: name.into() })
            .and_then(TryInto::try_into)
            .map_err(perr)?;
        let link_id = program.attach().map_err(perr)?;
        let link = FdLink::from(program.take_link(link_id).map_err(perr)?);
        let path = dir.join("links").join(hook);
        link.pin(&path).map_err(|e| pin_err(&path)(e.to_string()))?;
        debug!(hook, program = name, pin = %path.display(), "attached");
    }
    Ok(())
}

/// The subdirectories of a BPF-LSM pin set, in removal order (links first: enforcement stops
/// before its maps go).
const PIN_SUBDIRS: [&str; 2] = ["links", "maps"];

/// Removes the BPF-LSM pins of every ABI version under `pin_root` (`palisade detach`, an
/// uninstall): enforcement stops once no process holds the links. Returns the directories
/// removed.
pub fn remove_all_pins(pin_root: &Path) -> Result<Vec<PathBuf>, EnforcerError> {
    let dirs = pin_dirs(pin_root, "lsm-v")?;
    for dir in &dirs {
        remove_pin_dir(dir, &PIN_SUBDIRS)?;
        info!(pin_dir = %dir.display(), "unpinned BPF-LSM programs");
    }
    Ok(dirs)
}

/// The pin directories under `pin_root` whose names start with `prefix` (every ABI version of
/// one pin set: `lsm-v`, detection's `detect-v`), sorted; none when there is no root.
pub fn pin_dirs(pin_root: &Path, prefix: &str) -> Result<Vec<PathBuf>, EnforcerError> {
    let entries = match std::fs::read_dir(pin_root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(pin_err(pin_root)(format!("read directory: {e}"))),
    };
    let mut dirs: Vec<PathBuf> =
        entries.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().starts_with(prefix)).map(|e| e.path()).collect();
    dirs.sort();
    Ok(dirs)
}

/// Removes one pin directory: the pins in each of `subdirs`, in that order (links first, so
/// what they attach stops before its maps go), each subdirectory, then `dir`. What is already
/// gone is fine. Returns how many pins were removed. Shared by BPF-LSM's pin sets and
/// detection's (the daemon's `kernel::pins`).
pub fn remove_pin_dir(dir: &Path, subdirs: &[&str]) -> Result<usize, EnforcerError> {
    let mut removed = 0;
    for sub in subdirs {
        let path = dir.join(sub);
        let entries = match std::fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(pin_err(&path)(format!("read directory: {e}"))),
        };
        for entry in entries {
            let entry = entry.map_err(|e| pin_err(&path)(e.to_string()))?;
            std::fs::remove_file(entry.path()).map_err(|e| pin_err(&entry.path())(format!("remove: {e}")))?;
            removed += 1;
        }
        std::fs::remove_dir(&path).map_err(|e| pin_err(&path)(format!("remove directory: {e}")))?;
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(removed),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(removed),
        Err(e) => Err(pin_err(dir)(format!("remove directory: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_namespace_is_the_hosts_initial_mount_namespace() {
        use std::os::unix::fs::MetadataExt;
        let ns = runtime_mnt_ns();
        // Where pid 1's namespace cannot be examined (a sandbox denying ptrace access to it),
        // this process's is taken: never 0 on a Linux with /proc.
        let want = std::fs::metadata("/proc/1/ns/mnt").or_else(|_| std::fs::metadata("/proc/self/ns/mnt")).expect("ns");
        assert_ne!(ns, 0);
        assert_eq!(u64::from(ns), want.ino());
    }

    #[test]
    fn pin_directory_names_the_abi() {
        let dir = Enforcer::pin_dir(Path::new(DEFAULT_PIN_ROOT));
        assert_eq!(dir, PathBuf::from(format!("/sys/fs/bpf/palisade/lsm-v{ENFORCE_ABI_VERSION}")));
    }

    #[test]
    fn hooks_are_the_programs_of_the_object() {
        // Every hook has a program of that name in the C source, and nothing else is attached.
        let source = [
            include_str!("../../enforcer-ebpf/src/bpf/enforce.bpf.c"),
            include_str!("../../enforcer-ebpf/src/bpf/enforce_wx.h"),
            include_str!("../../enforcer-ebpf/src/bpf/enforce_inode.h"),
        ]
        .concat();
        let mut programs = 0;
        for hook in HOOKS.into_iter().chain(OPTIONAL_HOOKS) {
            assert!(!programs_of(hook).is_empty(), "{hook} has programs");
            for name in programs_of(hook) {
                assert!(source.contains(&format!("SEC(\"lsm/{hook}\")\nint BPF_PROG({name},")), "{hook}: {name}");
                programs += 1;
            }
        }
        assert_eq!(programs, HOOKS.len() + OPTIONAL_HOOKS.len() + 1, "one program per hook, two layouts of inode_setattr");
        assert_eq!(source.matches("SEC(\"lsm/").count(), programs + 1, "hooks + the probe");
    }

    #[test]
    fn incomplete_pin_sets_are_detected_and_removed() {
        let dir = std::env::temp_dir().join(format!("palisade-lsm-pins-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!pins_complete(&dir));
        std::fs::create_dir_all(dir.join("maps")).expect("maps");
        std::fs::create_dir_all(dir.join("links")).expect("links");
        for m in MAPS {
            std::fs::write(dir.join("maps").join(m), b"").expect("map file");
        }
        assert!(!pins_complete(&dir));
        for h in HOOKS {
            std::fs::write(dir.join("links").join(h), b"").expect("link file");
        }
        assert!(pins_complete(&dir));
        remove_pin_dir(&dir, &PIN_SUBDIRS).expect("removed");
        assert!(!dir.exists());
        remove_pin_dir(&dir, &PIN_SUBDIRS).expect("removing nothing is fine");
    }

    #[test]
    fn every_abi_versions_pins_are_removed_and_nothing_else() {
        let root = std::env::temp_dir().join(format!("palisade-lsm-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for dir in ["lsm-v2", "lsm-v3", "detect-v6"] {
            std::fs::create_dir_all(root.join(dir).join("maps")).expect("maps");
            std::fs::write(root.join(dir).join("maps").join("ENFORCED"), b"").expect("map file");
        }
        let removed = remove_all_pins(&root).expect("removed");
        assert_eq!(removed, [root.join("lsm-v2"), root.join("lsm-v3")]);
        assert!(root.join("detect-v6").exists(), "detection's pins are not BPF-LSM's");
        assert!(remove_all_pins(&root.join("absent")).expect("no root").is_empty());
        std::fs::remove_dir_all(&root).expect("cleanup");
    }
}
