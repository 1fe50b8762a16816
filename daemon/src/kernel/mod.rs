//! The loaded kernel programs: one owner of the `aya::Ebpf` handle, its ring buffer, drop
//! counter and per-cgroup budget maps ([`budget`]). Other parts of the daemon receive decoded
//! [`Record`]s.

pub mod budget;
pub mod budget_report;
pub mod conf_table;
pub mod interest;
pub mod scope;

use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aya::maps::{Array, HashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use palisade_ebpf::abi::{BudgetConf, OpenFilter, SyscallConf};
pub use budget::BudgetCounts;
pub use palisade_events::record::{self, decode, Caps, ExeImage, Header, Record, SyscallRecord};
pub use scope::Scope;

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
    /// Waiting on the ring buffer failed.
    #[error("polling the event ring buffer: {0}")]
    Poll(#[from] nix::Error),
}

/// The process tracepoints (tp_btf), attached at load, by program name = tracepoint name.
const PROCESS_PROGRAMS: [&str; 3] = ["sched_process_exec", "sched_process_fork", "sched_process_exit"];
/// The syscall-exit program (tp_btf `sys_exit`): loaded with the others, attached only while
/// some cgroup is in scope ([`Scope`]).
const SYS_EXIT: &str = "sys_exit";

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
    drops: PerCpuArray<MapData, u64>,
    // Values as bytes: aya's `Pod` is an unsafe trait; byte arrays already implement it and
    // bytemuck casts the ABI structs to them safely.
    syscall_conf: Array<MapData, [u8; 16]>,
    open_filter: Array<MapData, [u8; 48]>,
    interest_bits: Array<MapData, u64>,
    budget: budget::BudgetMaps,
    scope: Option<Scope>,
}

impl Kernel {
    /// Load the programs and attach the process ones; the syscall-exit program is attached
    /// when something comes into scope (see [`Scope`]). Needs root (CAP_BPF + CAP_PERFMON)
    /// and kernel BTF.
    pub fn load() -> Result<Kernel, KernelError> {
        let mut ebpf = Ebpf::load(&palisade_ebpf::PALISADE_OBJ.0)?;
        let btf = Btf::from_sys_fs()?;
        for name in PROCESS_PROGRAMS.into_iter().chain([SYS_EXIT]) {
            let tp = tracepoint(&mut ebpf, name)?;
            tp.load(name, &btf).map_err(|source| KernelError::Program { name, source })?;
            if name != SYS_EXIT {
                tp.attach().map_err(|source| KernelError::Program { name, source })?;
            }
        }
        let events = take(&mut ebpf, "EVENTS", RingBuf::try_from)?;
        let drops = take(&mut ebpf, "DROPS", PerCpuArray::try_from)?;
        let syscall_conf = take(&mut ebpf, "SYSCALL_CONF", Array::try_from)?;
        let open_filter = take(&mut ebpf, "OPEN_FILTER", Array::try_from)?;
        let interest_bits = take(&mut ebpf, "INTEREST_BITS", Array::try_from)?;
        let tracked: HashMap<MapData, u64, u32> = take(&mut ebpf, "TRACKED_CGROUPS", HashMap::try_from)?;
        let slots = take(&mut ebpf, "TRACKED_SLOTS", Array::try_from)?;
        let scope_conf = take(&mut ebpf, "SCOPE", Array::try_from)?;
        let budget = budget::BudgetMaps::new(
            take(&mut ebpf, "BUDGET_CONF", Array::try_from)?,
            take(&mut ebpf, "BUDGET_DROPS", HashMap::try_from)?,
            take(&mut ebpf, "BUDGET_STATS", PerCpuArray::try_from)?,
        );
        let ebpf = Arc::new(Mutex::new(ebpf));
        let scope = Some(Scope::new(tracked, slots, scope_conf, SysExit::new(Arc::clone(&ebpf))));
        Ok(Kernel { _ebpf: ebpf, events, drops, syscall_conf, open_filter, interest_bits, budget, scope })
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
        let mut n = 0;
        while let Some(item) = self.events.next() {
            f(&item);
            n += 1;
        }
        n
    }

    /// Wait until records are available or `timeout` passes.
    pub fn wait(&self, timeout: Duration) -> Result<(), KernelError> {
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

    /// Records lost because the ring buffer was full, summed over CPUs.
    pub fn drops(&self) -> u64 {
        self.drops.get(&0, 0).map(|per_cpu| per_cpu.iter().sum()).unwrap_or(0)
    }
}

/// A tp_btf program of the object.
fn tracepoint<'e>(ebpf: &'e mut Ebpf, name: &'static str) -> Result<&'e mut BtfTracePoint, KernelError> {
    let program = ebpf.program_mut(name).ok_or(KernelError::Map { name, detail: "program missing from the object".into() })?;
    program.try_into().map_err(|source| KernelError::Program { name, source })
}

/// The syscall-exit program's attachment. While it is attached, every syscall of every task
/// takes the kernel's syscall-tracing slow path and runs the program (the W1 cost in
/// BENCHMARKS.md); when no cgroup is in scope there is nothing for it to capture, so it is
/// detached and syscalls cost what they cost without Palisade.
pub(crate) struct SysExit {
    ebpf: Arc<Mutex<Ebpf>>,
    link: Option<aya::programs::tp_btf::BtfTracePointLinkId>,
}

impl SysExit {
    fn new(ebpf: Arc<Mutex<Ebpf>>) -> SysExit {
        SysExit { ebpf, link: None }
    }

    /// Attach (`on`) or detach the program; a no-op when it already is.
    pub(crate) fn set(&mut self, on: bool) -> Result<(), KernelError> {
        if on == self.link.is_some() {
            return Ok(());
        }
        let mut ebpf = self.ebpf.lock().map_err(|_| KernelError::Map { name: SYS_EXIT, detail: "lock poisoned".into() })?;
        let tp = tracepoint(&mut ebpf, SYS_EXIT)?;
        let program = |source| KernelError::Program { name: SYS_EXIT, source };
        match self.link.take() {
            Some(link) => tp.detach(link).map_err(program)?,
            None => self.link = Some(tp.attach().map_err(program)?),
        }
        Ok(())
    }

    /// Whether the program is attached.
    pub(crate) fn attached(&self) -> bool {
        self.link.is_some()
    }
}

fn take<M>(
    ebpf: &mut Ebpf,
    name: &'static str,
    convert: impl FnOnce(aya::maps::Map) -> Result<M, aya::maps::MapError>,
) -> Result<M, KernelError> {
    let map = ebpf.take_map(name).ok_or(KernelError::Map { name, detail: "missing from the object".into() })?;
    convert(map).map_err(|e| KernelError::Map { name, detail: e.to_string() })
}
