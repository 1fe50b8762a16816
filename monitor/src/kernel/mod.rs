//! The loaded kernel programs: one owner of the `aya::Ebpf` handle, its ring buffer and
//! drop counter. Other parts of the daemon receive decoded [`Record`]s.

pub mod record;

use std::os::fd::AsFd;
use std::time::Duration;

use aya::maps::{MapData, PerCpuArray, RingBuf};
use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

pub use record::{decode, Record};

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

/// The process-lifecycle tracepoints (tp_btf), by program name = tracepoint name.
const PROCESS_PROGRAMS: [&str; 3] = ["sched_process_exec", "sched_process_fork", "sched_process_exit"];

/// Loaded and attached programs plus the consumer side of their maps.
pub struct Kernel {
    _ebpf: Ebpf,
    events: RingBuf<MapData>,
    drops: PerCpuArray<MapData, u64>,
}

impl Kernel {
    /// Load the programs and attach them. Needs root (CAP_BPF + CAP_PERFMON) and kernel BTF.
    pub fn load() -> Result<Kernel, KernelError> {
        let mut ebpf = Ebpf::load(&palisade_ebpf::PROCESS_OBJ.0)?;
        let btf = Btf::from_sys_fs()?;
        for name in PROCESS_PROGRAMS {
            let program = ebpf.program_mut(name).ok_or(KernelError::Map {
                name,
                detail: "program missing from the object".into(),
            })?;
            let tp: &mut BtfTracePoint =
                program.try_into().map_err(|source| KernelError::Program { name, source })?;
            tp.load(name, &btf).map_err(|source| KernelError::Program { name, source })?;
            tp.attach().map_err(|source| KernelError::Program { name, source })?;
        }
        let events = take(&mut ebpf, "EVENTS", RingBuf::try_from)?;
        let drops = take(&mut ebpf, "DROPS", PerCpuArray::try_from)?;
        Ok(Kernel { _ebpf: ebpf, events, drops })
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

    /// Records lost because the ring buffer was full, summed over CPUs.
    pub fn drops(&self) -> u64 {
        self.drops.get(&0, 0).map(|per_cpu| per_cpu.iter().sum()).unwrap_or(0)
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
