//! The syscall-exit program's attachment. While it is attached, every syscall of every task
//! takes the kernel's syscall-tracing slow path and runs the program (the W1 cost in
//! BENCHMARKS.md); when no cgroup is in scope there is nothing for it to capture, so it is
//! detached and syscalls cost what they cost without Palisade.
//!
//! With pins ([`super::pins`]), the attachment is the link pin `links/sys_exit`: it outlives
//! the daemon, and a successor finding it adopts it as attached (when the pinned program is
//! the same as its own; otherwise its own replaces it at load). Detaching removes the pin.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aya::programs::links::FdLink;
use aya::Ebpf;

use super::{pins, tracepoint, KernelError, SYS_EXIT};

/// What [`SysExit::resume`] found pinned.
pub(super) enum Resumed {
    /// No link pin: detached.
    Detached,
    /// The same program, kept as it runs.
    Adopted,
    /// Another program (an upgrade), replaced by ours.
    Replaced,
}

/// How the program is attached now.
enum Attachment {
    Off,
    /// A link this daemon made (pinned too when there are pins).
    Own(#[expect(dead_code, reason = "held, not read: dropping it closes the link")] FdLink),
    /// A pinned link a previous daemon made, running the same program.
    Adopted,
}

pub(crate) struct SysExit {
    ebpf: Arc<Mutex<Ebpf>>,
    /// The pin directory, when detection is pinned.
    pins: Option<PathBuf>,
    state: Attachment,
}

impl SysExit {
    pub(super) fn new(ebpf: Arc<Mutex<Ebpf>>, pins: Option<PathBuf>) -> SysExit {
        SysExit { ebpf, pins, state: Attachment::Off }
    }

    /// At load: take over the attachment a previous daemon pinned. The same program is adopted
    /// as it runs (returns true); another (an upgrade) is replaced by ours, pinned in its
    /// place. Without a link pin, the program stays detached until something is in scope.
    pub(super) fn resume(&mut self) -> Result<Resumed, KernelError> {
        let Some(dir) = &self.pins else { return Ok(Resumed::Detached) };
        if !pins::link_path(dir, SYS_EXIT).exists() {
            return Ok(Resumed::Detached);
        }
        let mut ebpf = self.ebpf.lock().map_err(|_| KernelError::Map { name: SYS_EXIT, detail: "lock poisoned".into() })?;
        let tp = tracepoint(&mut ebpf, SYS_EXIT)?;
        if pins::runs_same(dir, SYS_EXIT, tp) {
            self.state = Attachment::Adopted;
            return Ok(Resumed::Adopted);
        }
        self.state = Attachment::Own(pins::attach_and_pin(dir, SYS_EXIT, tp)?);
        Ok(Resumed::Replaced)
    }

    /// Attach (`on`) or detach the program; a no-op when it already is.
    pub(crate) fn set(&mut self, on: bool) -> Result<(), KernelError> {
        if on == self.attached() {
            return Ok(());
        }
        if !on {
            if let Some(dir) = &self.pins {
                pins::unpin_link(dir, SYS_EXIT)?;
            }
            // Dropping our link (if ours) closes it: with the pin gone, the program detaches.
            self.state = Attachment::Off;
            return Ok(());
        }
        let mut ebpf = self.ebpf.lock().map_err(|_| KernelError::Map { name: SYS_EXIT, detail: "lock poisoned".into() })?;
        let tp = tracepoint(&mut ebpf, SYS_EXIT)?;
        let link = match &self.pins {
            Some(dir) => pins::attach_and_pin(dir, SYS_EXIT, tp)?,
            None => {
                let program = |source| KernelError::Program { name: SYS_EXIT, source };
                let id = tp.attach().map_err(program)?;
                FdLink::from(tp.take_link(id).map_err(program)?)
            }
        };
        self.state = Attachment::Own(link);
        Ok(())
    }

    /// Whether the program is attached.
    pub(crate) fn attached(&self) -> bool {
        !matches!(self.state, Attachment::Off)
    }
}
