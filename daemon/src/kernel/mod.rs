//! The loaded kernel programs: one owner of the `aya::Ebpf` handle, its ring buffer, drop
//! counter and per-cgroup budget maps ([`budget`]). Other parts of the daemon receive decoded
//! [`Record`]s.

pub mod budget;
pub mod budget_report;
pub mod conf_table;
pub mod interest;
pub mod pins;
pub mod scope;
mod sys_exit;
#[cfg(test)]
mod pins_tests;

use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aya::maps::{Array, HashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf, EbpfLoader};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use palisade_ebpf::abi::{BudgetConf, OpenFilter, SyscallConf};
pub use budget::BudgetCounts;
pub use palisade_events::record::{self, decode, Caps, ExeImage, Header, Record, SyscallRecord};
pub use scope::Scope;
use sys_exit::SysExit;

/// Why the kernel side could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The BPF object did not load (verifier, missing privileges, ...).
    #[error("loading the BPF object failed: {0}")]
    Load(#[from] aya::EbpfError),
    /// The kernel has no BTF at /sys/kernel/btf/vmlinux.
    #[error("reading kernel BTF from /sys/kernel/btf/vmlinux failed: {0}")]
    Btf(#[from] aya::BtfError),
    /// A program did not load or attach.
    #[error("program {name}: {source}")]
    Program {
        /// The program's name.
        name: &'static str,
        /// What failed.
        source: aya::programs::ProgramError,
    },
    /// A map is missing or of the wrong type.
    #[error("map {name}: {detail}")]
    Map {
        /// The map's name.
        name: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A bpffs pin could not be made, read or removed.
    #[error("pin {path}: {detail}")]
    Pin {
        /// The bpffs path.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// Waiting on the ring buffer failed.
    #[error("polling the event ring buffer: {0}")]
    Poll(#[from] nix::Error),
}

/// The process tracepoints (tp_btf), attached at load, by program name = tracepoint name.
const PROCESS_PROGRAMS: [&str; 3] = ["sched_process_exec", "sched_process_fork", "sched_process_exit"];
/// The syscall-exit program (tp_btf `sys_exit`): loaded with the others, attached only while
/// some cgroup is in scope ([`Scope`]).
const SYS_EXIT: &str = "sys_exit";

/// How long a starting daemon waits for a stopping one to release the pins before it runs
/// unpinned.
const CLAIM_WAIT: Duration = Duration::from_secs(10);

/// The event ring buffer's size by default, in MiB (`ring_buffer_mib`): about 7,500 records.
pub const DEFAULT_RING_MIB: u32 = 8;
/// The largest ring buffer `ring_buffer_mib` may ask for, in MiB.
pub const MAX_RING_MIB: u32 = 1024;

/// The kernel's capture settings: which syscalls, and which opens.
#[derive(Clone, Debug, Default)]
pub struct Capture {
    /// Per x86-64 syscall number, what to capture (numbers not listed are not captured). The
    /// ia32 twins of the listed syscalls are captured too ([`conf_table`]).
    pub syscalls: Vec<(u32, SyscallConf)>,
    /// The open prefilter's switches.
    pub open_filter: OpenFilter,
    /// The open prefilter's key bitmap (`INTEREST_BITS`: reads, then writes).
    pub interest_bits: Vec<u64>,
}

/// Loaded and attached programs plus the consumer side of their maps.
pub struct Kernel {
    /// Shared with the [`Scope`], which attaches and detaches the syscall-exit program.
    _ebpf: Arc<Mutex<Ebpf>>,
    events: RingBuf<MapData>,
    /// Records read from an inherited ring buffer at load, handed out first by `drain`.
    backlog: VecDeque<Vec<u8>>,
    drops: PerCpuArray<MapData, u64>,
    /// The drop total at load (inherited from a pinned counter).
    drops_baseline: u64,
    // Values as bytes: aya's `Pod` is an unsafe trait; byte arrays already implement it and
    // bytemuck casts the ABI structs to them safely.
    syscall_conf: Array<MapData, [u8; 16]>,
    open_filter: Array<MapData, [u8; 48]>,
    interest_bits: Array<MapData, u64>,
    budget: budget::BudgetMaps,
    scope: Option<Scope>,
    handover: Handover,
    /// Held while pinned: no other daemon uses the pins meanwhile.
    _claim: Option<pins::Claim>,
}

impl Kernel {
    /// Load the programs and attach the process ones, unpinned: everything detaches when the
    /// handle is dropped (tests, and machines without a bpffs). The syscall-exit program is
    /// attached when something comes into scope (see [`Scope`]). Needs root (CAP_BPF +
    /// CAP_PERFMON) and kernel BTF.
    pub fn load() -> Result<Kernel, KernelError> {
        Kernel::load_sized(DEFAULT_RING_MIB)
    }

    /// [`Kernel::load`] with an event ring buffer of `ring_mib` MiB (a power of two, at most
    /// [`MAX_RING_MIB`]: `ring_buffer_mib`, validated with the configuration).
    pub fn load_sized(ring_mib: u32) -> Result<Kernel, KernelError> {
        Kernel::load_with(None, ring_mib, VecDeque::new())
    }

    /// Load as [`Kernel::load`], pinned under `pin_root` ([`pins`]): the programs stay attached
    /// and their records wait in the pinned ring buffer after this handle is gone; a later
    /// load from the same root adopts them (the same programs: nothing attached twice) or
    /// replaces them (an upgrade) and starts with the records that waited. Pins of other
    /// detection ABI versions are removed. When `pin_root` is not on a bpffs, loads unpinned
    /// with a warning, and so when another daemon holds the pins beyond [`CLAIM_WAIT`].
    ///
    /// A pinned set whose maps differ from this load's (another `ring_mib`, another layout) is
    /// not adopted: the records waiting in its ring are read first and handed out before this
    /// load's (the record layout is the directory's ABI version), then its pins are removed.
    pub fn load_pinned(pin_root: &Path, ring_mib: u32) -> Result<Kernel, KernelError> {
        let dir = pins::pin_dir(pin_root);
        let claimed = pins::prepare(&dir)
            .and_then(|()| pins::claim(&dir, CLAIM_WAIT))
            .and_then(|claim| pins::remove_stale(&dir).map(|()| claim))
            .and_then(|claim| pins::remove_if_incompatible(&dir, ring_bytes(ring_mib)).map(|carried| (claim, carried)))
            .and_then(|(claim, carried)| pins::remove_other_versions(pin_root).map(|()| (claim, carried)));
        match claimed {
            Ok((claim, carried)) => Kernel::load_with(Some(dir), ring_mib, carried).map(|k| Kernel { _claim: Some(claim), ..k }),
            Err(e) => {
                tracing::warn!(error = %e, "detection cannot be pinned: loading unpinned (it stops with the daemon, records of a restart's gap are lost)");
                Kernel::load_with(None, ring_mib, VecDeque::new())
            }
        }
    }

    /// Loads (pinned beneath `pin_dir` if given) with a ring buffer of `ring_mib` MiB; `carried`
    /// are records of a pinned set this load did not adopt, handed out first.
    fn load_with(pin_dir: Option<PathBuf>, ring_mib: u32, carried: VecDeque<Vec<u8>>) -> Result<Kernel, KernelError> {
        let mut loader = EbpfLoader::new();
        loader.map_max_entries("EVENTS", ring_bytes(ring_mib));
        let map_paths: Vec<(&str, PathBuf)> =
            pin_dir.iter().flat_map(|d| pins::PINNED_MAPS.map(|m| (m, pins::map_path(d, m)))).collect();
        let inherited = map_paths.iter().any(|(_, p)| p.exists());
        for (name, path) in &map_paths {
            loader.map_pin_path(name, path.as_path());
        }
        let mut ebpf = loader.load(&palisade_ebpf::PALISADE_OBJ.0)?;
        if inherited {
            exclude_self(&mut ebpf)?;
        }
        let btf = Btf::from_sys_fs()?;
        for name in PROCESS_PROGRAMS.into_iter().chain([SYS_EXIT]) {
            let tp = tracepoint(&mut ebpf, name)?;
            tp.load(name, &btf).map_err(|source| KernelError::Program { name, source })?;
        }
        let (mut adopted, mut replaced) = (0, 0);
        for name in PROCESS_PROGRAMS {
            let tp = tracepoint(&mut ebpf, name)?;
            match &pin_dir {
                // The link stays with the program, and goes with the handle.
                None => {
                    tp.attach().map_err(|source| KernelError::Program { name, source })?;
                }
                Some(dir) if pins::runs_same(dir, name, tp) => adopted += 1,
                // The pinned link keeps it attached: the handle can go.
                Some(dir) => {
                    replaced += usize::from(pins::link_path(dir, name).exists());
                    drop(pins::attach_and_pin(dir, name, tp)?);
                }
            }
        }
        let mut events = take(&mut ebpf, "EVENTS", RingBuf::try_from)?;
        let drops: PerCpuArray<MapData, u64> = take(&mut ebpf, "DROPS", PerCpuArray::try_from)?;
        let syscall_conf = take(&mut ebpf, "SYSCALL_CONF", Array::try_from)?;
        let open_filter = take(&mut ebpf, "OPEN_FILTER", Array::try_from)?;
        let interest_bits = take(&mut ebpf, "INTEREST_BITS", Array::try_from)?;
        let tracked: HashMap<MapData, u64, u32> = take(&mut ebpf, "TRACKED_CGROUPS", HashMap::try_from)?;
        let slots = take(&mut ebpf, "TRACKED_SLOTS", Array::try_from)?;
        let scope_conf = take(&mut ebpf, "SCOPE", Array::try_from)?;
        let mut budget = budget::BudgetMaps::new(
            take(&mut ebpf, "BUDGET_CONF", Array::try_from)?,
            take(&mut ebpf, "BUDGET_DROPS", HashMap::try_from)?,
            take(&mut ebpf, "BUDGET_STATS", PerCpuArray::try_from)?,
        );
        if inherited {
            budget.inherit();
        }
        // What waited in an inherited ring buffer is read now, so it can be counted (and is
        // handed out first by `drain`); what comes after it stays in the ring.
        let mut backlog = carried;
        if inherited {
            while let Some(item) = events.next() {
                backlog.push_back(item.to_vec());
            }
        }
        let drops_inherited = if inherited { drop_total(&drops) } else { 0 };
        let ebpf = Arc::new(Mutex::new(ebpf));
        let mut sys_exit = SysExit::new(Arc::clone(&ebpf), pin_dir.clone());
        match sys_exit.resume()? {
            sys_exit::Resumed::Detached => {}
            sys_exit::Resumed::Adopted => adopted += 1,
            sys_exit::Resumed::Replaced => replaced += 1,
        }
        let handover = Handover {
            pin_dir,
            inherited,
            programs_adopted: adopted,
            programs_replaced: replaced,
            records_waiting: backlog.len(),
            drops_inherited,
        };
        tracing::info!(pinned = handover.pin_dir.is_some(), inherited, programs_adopted = adopted, programs_replaced = replaced,
                       records_waiting = handover.records_waiting, drops_inherited, "detection programs loaded");
        let scope = Some(Scope::new(tracked, slots, scope_conf, sys_exit));
        Ok(Kernel {
            _ebpf: ebpf,
            events,
            backlog,
            drops,
            drops_baseline: drops_inherited,
            syscall_conf,
            open_filter,
            interest_bits,
            budget,
            scope,
            handover,
            _claim: None,
        })
    }

    /// What this load found of a previous daemon's detection ([`Handover`]).
    pub fn handover(&self) -> &Handover {
        &self.handover
    }

    /// Set what the syscall program captures. The open filter is switched off while the
    /// interest bitmap changes, so no wanted open is dropped midway.
    pub fn configure(&mut self, capture: &Capture) -> Result<(), KernelError> {
        let map_err = |name: &'static str| move |e: aya::maps::MapError| KernelError::Map { name, detail: e.to_string() };
        self.open_filter.set(0, bytemuck::cast::<_, [u8; 48]>(OpenFilter::default()), 0).map_err(map_err("OPEN_FILTER"))?;
        for i in 0..self.interest_bits.len() {
            let word = capture.interest_bits.get(i as usize).copied().unwrap_or(0);
            self.interest_bits.set(i, word, 0).map_err(map_err("INTEREST_BITS"))?;
        }
        self.open_filter.set(0, bytemuck::cast::<_, [u8; 48]>(capture.open_filter), 0).map_err(map_err("OPEN_FILTER"))?;
        let table = conf_table::syscall_table(&capture.syscalls);
        for nr in 0..self.syscall_conf.len() {
            let conf = table.get(nr as usize).copied().unwrap_or_default();
            self.syscall_conf.set(nr, bytemuck::cast::<_, [u8; 16]>(conf), 0).map_err(map_err("SYSCALL_CONF"))?;
        }
        Ok(())
    }

    /// The scope maps, once: whoever arms containers owns them. Until someone sets them,
    /// nothing is watched.
    pub fn take_scope(&mut self) -> Option<Scope> {
        self.scope.take()
    }

    /// Hand every record waiting in the ring buffer to `f`; returns how many.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let mut n = self.backlog.len();
        for item in self.backlog.drain(..) {
            f(&item);
        }
        while let Some(item) = self.events.next() {
            f(&item);
            n += 1;
        }
        n
    }

    /// Wait until records are available or `timeout` passes.
    pub fn wait(&self, timeout: Duration) -> Result<(), KernelError> {
        if !self.backlog.is_empty() {
            return Ok(());
        }
        let fd = self.events.as_fd();
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) | Err(nix::Error::EINTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Set the per-cgroup syscall budget (`enabled: 0` switches it off). Takes effect for the
    /// next record; buckets already made keep their tokens.
    pub fn set_budget(&mut self, conf: BudgetConf) -> Result<(), KernelError> {
        self.budget.set(conf)
    }

    /// The per-cgroup budget drop counters, as running totals ([`budget::BudgetLedger`]).
    pub fn budget_counts(&self) -> BudgetCounts {
        self.budget.counts()
    }

    /// Delete the budget drop entries of `cgroups` (idle ones, see [`budget`]).
    pub fn forget_budget_entries(&mut self, cgroups: &[u64]) {
        self.budget.forget(cgroups);
    }

    /// Records lost because the ring buffer was full, summed over CPUs, since this load: the
    /// total a pinned counter already held is [`Handover::drops_inherited`], reported once at
    /// start.
    pub fn drops(&self) -> u64 {
        drop_total(&self.drops).saturating_sub(self.drops_baseline)
    }
}

/// An inherited `SCOPE` still names the previous daemon as the process not to capture, and
/// its programs may be watching the host: this process is named instead, before it reads
/// anything more, so its own start-up is not captured (see [`Scope::exclude_process`]).
fn exclude_self(ebpf: &mut Ebpf) -> Result<(), KernelError> {
    let map_err = |e: aya::maps::MapError| KernelError::Map { name: "SCOPE", detail: e.to_string() };
    let map = ebpf.map_mut("SCOPE").ok_or(KernelError::Map { name: "SCOPE", detail: "missing from the object".into() })?;
    let mut conf: Array<&mut MapData, [u8; 8]> = Array::try_from(map).map_err(map_err)?;
    let mut scope: palisade_ebpf::abi::ScopeConf = bytemuck::cast(conf.get(&0, 0).map_err(map_err)?);
    scope.own_tgid = std::process::id();
    conf.set(0, bytemuck::cast::<_, [u8; 8]>(scope), 0).map_err(map_err)
}

fn drop_total(drops: &PerCpuArray<MapData, u64>) -> u64 {
    drops.get(&0, 0).map(|per_cpu| per_cpu.iter().sum()).unwrap_or(0)
}

/// What a load found of the detection a previous daemon left pinned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handover {
    /// The pin directory, when detection is pinned.
    pub pin_dir: Option<PathBuf>,
    /// Whether the maps were pinned already (a previous daemon's): their content was kept.
    pub inherited: bool,
    /// Programs whose pinned links were adopted as they were (the same programs).
    pub programs_adopted: usize,
    /// Pinned programs of another version (an upgrade) whose links this load replaced by its
    /// own programs' ([`pins`]: one attachment per hook throughout).
    pub programs_replaced: usize,
    /// Records that waited in the inherited ring buffer (written while no daemon ran, or left
    /// unread by the previous one); [`Kernel::drain`] hands them out first.
    pub records_waiting: usize,
    /// The drop counter's total when this daemon started: records lost before it, while an
    /// earlier daemon ran or while none did. Reported once; [`Kernel::drops`] counts on from
    /// there.
    pub drops_inherited: u64,
}

impl std::fmt::Display for Handover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pin_dir {
            None => write!(f, "not pinned (stops with the daemon)"),
            Some(dir) if self.inherited => write!(
                f,
                "adopted pinned detection programs under {}: {} records waiting, {} records dropped before this daemon started \
                 ({} programs kept as they ran, {} replaced by this version's)",
                dir.display(),
                self.records_waiting,
                self.drops_inherited,
                self.programs_adopted,
                self.programs_replaced,
            ),
            Some(dir) => write!(f, "pinned under {} (new)", dir.display()),
        }
    }
}

/// The ring buffer's size in bytes for `ring_mib` MiB (validated: a power of two ..= 1024).
fn ring_bytes(ring_mib: u32) -> u32 {
    ring_mib.clamp(1, MAX_RING_MIB).next_power_of_two() * 1024 * 1024
}

/// A tp_btf program of the object.
pub(crate) fn tracepoint<'e>(ebpf: &'e mut Ebpf, name: &'static str) -> Result<&'e mut BtfTracePoint, KernelError> {
    let program = ebpf.program_mut(name).ok_or(KernelError::Map { name, detail: "program missing from the object".into() })?;
    program.try_into().map_err(|source| KernelError::Program { name, source })
}

fn take<M>(
    ebpf: &mut Ebpf,
    name: &'static str,
    convert: impl FnOnce(aya::maps::Map) -> Result<M, aya::maps::MapError>,
) -> Result<M, KernelError> {
    let map = ebpf.take_map(name).ok_or(KernelError::Map { name, detail: "missing from the object".into() })?;
    convert(map).map_err(|e| KernelError::Map { name, detail: e.to_string() })
}
