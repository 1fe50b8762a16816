//! Detection that outlives the daemon: the bpffs pins of the detection programs.
//!
//! Pins, under `<pin_root>/detect-v<ABI_VERSION>/` (the record ABI's version: a changed record
//! layout gets a new directory, never a ring buffer of the other layout):
//! - `maps/<NAME>` for every map of [`PINNED_MAPS`]: the ring buffer, the drop counter, the
//!   capture settings, the scope and the budget maps. The loader reuses a pinned map (its
//!   content too: records waiting, tracked cgroups, counters) or creates and pins it;
//! - `progs/<name>` for each attached program, so a successor compares its own program's tag
//!   with the running one's;
//! - `links/<name>` for each attached program: the three process tracepoints always, the
//!   syscall-exit one while it is attached ([`super::SysExit`]).
//!
//! Before reusing a set, a load checks each pinned map's shape against the object's (a layout
//! changed without an ABI version change) and removes a set that differs.
//!
//! A pinned link keeps its program attached after the daemon exits: the programs go on writing
//! into the pinned ring buffer while no daemon runs, and the next daemon drains what waited.
//!
//! Invariant (one attachment per hook): a link pin is only ever replaced by `rename(2)` over it
//! (a new link pinned under a temporary name first), so at every moment exactly one link per
//! hook is pinned. Between the new link's attach and the old one's close (the rename, a few
//! microseconds) both programs run and an event of that window is written twice; only an
//! upgrade (a program of another tag) does this, an adoption of the same programs attaches
//! nothing.
//!
//! Invariant (no silent loss): `DROPS` is pinned with the ring buffer, so records lost while
//! no daemon ran (the ring full) are counted; the daemon reports the total it inherited once at
//! start and counts its own drops from there ([`super::Kernel::drops`]).

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aya::maps::{MapData, RingBuf};
use aya::programs::links::FdLink;
use aya::programs::{BtfTracePoint, ProgramInfo};

use super::KernelError;

/// The default pin root, shared with BPF-LSM's pins.
pub const DEFAULT_PIN_ROOT: &str = palisade_lsm::DEFAULT_PIN_ROOT;

/// The maps shared across program instances and daemons: pinned. Every other map of the
/// object is in [`PRIVATE_MAPS`] (a unit test checks the object has no third kind).
pub const PINNED_MAPS: [&str; 12] = [
    "EVENTS",
    "DROPS",
    "TRACKED_CGROUPS",
    "TRACKED_SLOTS",
    "SCOPE",
    "SYSCALL_CONF",
    "OPEN_FILTER",
    "INTEREST_BITS",
    "BUDGET_CONF",
    "BUDGETS",
    "BUDGET_DROPS",
    "BUDGET_STATS",
];

/// Per-CPU scratch buffers of one program run: nothing survives a run, so each program
/// instance has its own and none is pinned.
pub const PRIVATE_MAPS: [&str; 3] = ["PATH_SCRATCH_MAP", "SYSCALL_SCRATCH", "WALK_SCRATCH"];

/// The directory name prefix of detection pins; the ABI version follows.
pub const DIR_PREFIX: &str = "detect-v";

/// `BPF_FS_MAGIC` (linux/magic.h): the file system type of a bpffs.
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// The pin directory of this ABI beneath `pin_root`.
pub fn pin_dir(pin_root: &Path) -> PathBuf {
    pin_root.join(format!("{DIR_PREFIX}{}", palisade_ebpf::abi::ABI_VERSION))
}

fn pin_err(path: &Path, detail: impl std::fmt::Display) -> KernelError {
    KernelError::Pin { path: path.to_path_buf(), detail: detail.to_string() }
}

/// Creates `dir` (and its `maps`, `progs`, `links`) and checks it is on a bpffs; pins can
/// only live there.
pub(super) fn prepare(dir: &Path) -> Result<(), KernelError> {
    for sub in ["maps", "progs", "links"] {
        let path = dir.join(sub);
        std::fs::create_dir_all(&path).map_err(|e| pin_err(&path, format!("create directory: {e}")))?;
    }
    let fs = nix::sys::statfs::statfs(dir).map_err(|e| pin_err(dir, format!("statfs: {e}")))?;
    let magic = fs.filesystem_type().0 as i64;
    if magic != BPF_FS_MAGIC {
        return Err(pin_err(dir, format!("not on a bpf file system (type {magic:#x})")));
    }
    Ok(())
}

/// An exclusive claim on a pin directory (`flock(2)` on it), held as long as the [`super::Kernel`]
/// that uses the pins: one daemon at a time adopts them and reads their ring buffer, so two
/// daemons started side by side never split one stream of records between them.
pub(super) struct Claim(#[expect(dead_code, reason = "held, not read: closing it releases the claim")] nix::fcntl::Flock<File>);

/// Claims `dir`, waiting up to `wait` for a daemon that is stopping to let go of it.
pub(super) fn claim(dir: &Path, wait: Duration) -> Result<Claim, KernelError> {
    let deadline = Instant::now() + wait;
    let mut file = File::open(dir).map_err(|e| pin_err(dir, format!("open: {e}")))?;
    loop {
        match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(Claim(lock)),
            Err((f, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                file = f;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err((_, e)) => return Err(pin_err(dir, format!("claim: {e} (another daemon uses these pins)"))),
        }
    }
}

/// Removes `<name>_new` pins in `dir` (claimed): left by a crash between pinning and renaming,
/// such a link would run beside the one adopted.
pub(super) fn remove_stale(dir: &Path) -> Result<(), KernelError> {
    for sub in ["links", "progs"] {
        for entry in std::fs::read_dir(dir.join(sub)).into_iter().flatten().filter_map(Result::ok) {
            if entry.file_name().to_string_lossy().ends_with("_new") {
                std::fs::remove_file(entry.path()).map_err(|e| pin_err(&entry.path(), format!("remove: {e}")))?;
                tracing::warn!(pin = %entry.path().display(), "removed a pin an interrupted upgrade left");
            }
        }
    }
    Ok(())
}

/// Removes the pins of `dir` when a pinned map's shape (key size, value size, entries) is not
/// this load's: the object's, with `EVENTS` of `ring_bytes` (`ring_buffer_mib` changed, or a
/// layout changed without an ABI version change, which would hand this load's programs maps
/// they misread). The records waiting in that ring are read first and returned (the same
/// record ABI: this directory's version), to be handed out before the new ring's; empty when
/// the set is kept or there is none.
pub(super) fn remove_if_incompatible(dir: &Path, ring_bytes: u32) -> Result<VecDeque<Vec<u8>>, KernelError> {
    let obj = aya_obj::Object::parse(&palisade_ebpf::PALISADE_OBJ.0).map_err(|e| pin_err(dir, format!("parse the object: {e}")))?;
    let differs = |name: &str| {
        let path = map_path(dir, name);
        if !path.exists() {
            return false;
        }
        let (Some(def), Ok(info)) = (obj.maps.get(name), aya::maps::MapInfo::from_pin(&path)) else { return true };
        let entries = if name == "EVENTS" { ring_bytes } else { def.max_entries() };
        (def.key_size(), def.value_size(), entries) != (info.key_size(), info.value_size(), info.max_entries())
    };
    let bad: Vec<&str> = PINNED_MAPS.into_iter().filter(|name| differs(name)).collect();
    if bad.is_empty() {
        return Ok(VecDeque::new());
    }
    let carried = waiting_records(&map_path(dir, "EVENTS"));
    let pins = remove_dir(dir)?;
    tracing::warn!(pin_dir = %dir.display(), maps = ?bad, pins, records_carried = carried.len(),
                   "pinned maps of another size or layout: not adopted; their programs detached, the records waiting in their ring carried over");
    prepare(dir)?;
    Ok(carried)
}

/// The size in bytes of the ring buffer pinned in `dir` (`None`: none pinned there).
pub fn ring_size(dir: &Path) -> Option<u32> {
    aya::maps::MapInfo::from_pin(map_path(dir, "EVENTS")).ok().map(|info| info.max_entries())
}

/// The pin of map `name`.
pub(super) fn map_path(dir: &Path, name: &str) -> PathBuf {
    dir.join("maps").join(name)
}

/// The link pin of program `name`.
pub(super) fn link_path(dir: &Path, name: &str) -> PathBuf {
    dir.join("links").join(name)
}

fn prog_path(dir: &Path, name: &str) -> PathBuf {
    dir.join("progs").join(name)
}

/// Whether a link of program `name` is pinned and runs the same instructions as `ours` (the
/// kernel's tag: a hash of the instructions with map references left out, so two loads of
/// the same object compare equal).
pub(super) fn runs_same(dir: &Path, name: &str, ours: &BtfTracePoint) -> bool {
    if !link_path(dir, name).exists() {
        return false;
    }
    let pinned = ProgramInfo::from_pin(prog_path(dir, name)).map(|i| i.tag());
    let own = ours.info().map(|i| i.tag());
    matches!((pinned, own), (Ok(a), Ok(b)) if a == b)
}

/// Attaches `program` (loaded as `name`) and pins its link and itself in place of what was
/// pinned for `name` (see the module's invariant). Returns the link, which the pin keeps
/// attached once dropped.
pub(super) fn attach_and_pin(dir: &Path, name: &'static str, program: &mut BtfTracePoint) -> Result<FdLink, KernelError> {
    let perr = |source| KernelError::Program { name, source };
    let id = program.attach().map_err(perr)?;
    let link = FdLink::from(program.take_link(id).map_err(perr)?);
    let pinned = pin_over(&link_path(dir, name), |tmp| link.pin(tmp).map_err(|e| e.to_string()))?;
    pin_over(&prog_path(dir, name), |tmp| program.pin(tmp).map_err(|e| e.to_string()))?;
    Ok(FdLink::from(pinned))
}

/// Pins with `pin` under `<target>_new`, then renames that over `target`: the pin of `target`
/// is replaced, never missing (see the module's invariant; [`remove_stale`] removes a
/// `_new` a crash left).
fn pin_over<T>(target: &Path, pin: impl FnOnce(&Path) -> Result<T, String>) -> Result<T, KernelError> {
    let mut tmp = target.as_os_str().to_owned();
    tmp.push("_new");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let pinned = pin(&tmp).map_err(|e| pin_err(&tmp, e))?;
    std::fs::rename(&tmp, target).map_err(|e| pin_err(target, format!("rename: {e}")))?;
    Ok(pinned)
}

/// Removes the link pin of `name` (its program detaches once no process holds the link).
pub(super) fn unpin_link(dir: &Path, name: &str) -> Result<(), KernelError> {
    let path = link_path(dir, name);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(pin_err(&path, format!("remove: {e}"))),
    }
}

/// Removes one detection pin directory: links first (the programs stop writing), then the
/// programs and maps ([`palisade_lsm::remove_pin_dir`], which BPF-LSM's pins use too).
pub fn remove_dir(dir: &Path) -> Result<usize, KernelError> {
    palisade_lsm::remove_pin_dir(dir, &["links", "progs", "maps"]).map_err(|e| lsm_pin_err(dir, e))
}

/// The detection pin directories under `pin_root`, every ABI version (none when the root
/// cannot be read).
pub fn dirs(pin_root: &Path) -> Vec<PathBuf> {
    palisade_lsm::pin_dirs(pin_root, DIR_PREFIX).unwrap_or_default()
}

/// The lsm crate's pin error as this module's.
fn lsm_pin_err(dir: &Path, e: palisade_lsm::EnforcerError) -> KernelError {
    match e {
        palisade_lsm::EnforcerError::Pin { path, detail } => KernelError::Pin { path, detail },
        other => pin_err(dir, other),
    }
}

/// Removes the pins of other detection ABI versions (left by an older or newer daemon): their
/// programs detach. The records their ring buffer still held cannot be decoded by this daemon:
/// they are counted and logged as lost.
pub(super) fn remove_other_versions(pin_root: &Path) -> Result<(), KernelError> {
    let ours = pin_dir(pin_root);
    for dir in dirs(pin_root).into_iter().filter(|d| *d != ours) {
        let unread = waiting_records(&map_path(&dir, "EVENTS")).len();
        let pins = remove_dir(&dir)?;
        tracing::warn!(pin_dir = %dir.display(), pins, records_unread = unread,
                       "removed the detection pins of another ABI version: its programs are detached, its unread records lost");
    }
    Ok(())
}

/// The records waiting in a pinned ring buffer, consumed (its pins are about to go).
fn waiting_records(path: &Path) -> VecDeque<Vec<u8>> {
    let mut records = VecDeque::new();
    let Ok(data) = MapData::from_pin(path) else { return records };
    let Ok(mut ring) = RingBuf::try_from(aya::maps::Map::RingBuf(data)) else { return records };
    while let Some(item) = ring.next() {
        records.push_back(item.to_vec());
    }
    records
}
