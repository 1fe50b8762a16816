//! The Rust mirror of `src/bpf/palisade.h`. Integers and byte arrays only (no `bool` or
//! `enum` fields, so the structs have no implicit padding); sizes asserted at compile time.
//! Records are decoded from ring-buffer bytes with [`read`], which checks the length, and
//! [`header`], which also checks the ABI version.

use bytemuck::{Pod, Zeroable};

/// Must equal `PALISADE_ABI_VERSION` in palisade.h; part of the bpffs pin directory name.
pub const ABI_VERSION: u32 = 1;
/// `PALISADE_PATH_MAX`.
pub const PATH_MAX: usize = 256;
/// `PALISADE_ARGS_MAX`.
pub const ARGS_MAX: usize = 512;
/// `PALISADE_COMM_LEN`.
pub const COMM_LEN: usize = 16;

/// `enum palisade_kind`.
pub mod kind {
    /// `PALISADE_KIND_EXEC`.
    pub const EXEC: u32 = 1;
    /// `PALISADE_KIND_FORK`.
    pub const FORK: u32 = 2;
    /// `PALISADE_KIND_EXIT`.
    pub const EXIT: u32 = 3;
}

/// `struct event_header`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct EventHeader {
    /// Record kind ([`kind`]).
    pub kind: u32,
    /// ABI version the program was built with.
    pub abi: u32,
    /// Boot-time clock, ns.
    pub ts_ns: u64,
    /// cgroup v2 id of the task.
    pub cgroup_id: u64,
    /// Process id (tgid).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Audit login uid (`u32::MAX` when unset).
    pub loginuid: u32,
    /// `comm`, NUL-padded.
    pub comm: [u8; COMM_LEN],
}

/// `struct exec_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct ExecEvent {
    /// Header.
    pub hdr: EventHeader,
    /// Bytes used in `filename`.
    pub filename_len: u32,
    /// Bytes used in `args` (NUL-separated argv).
    pub args_len: u32,
    /// 1 when argv did not fit.
    pub args_truncated: u32,
    /// Controlling tty device, 0 if none.
    pub tty: u32,
    /// The executed path as passed to exec.
    pub filename: [u8; PATH_MAX],
    /// argv, NUL-separated.
    pub args: [u8; ARGS_MAX],
}

/// `struct fork_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct ForkEvent {
    /// Header (of the parent).
    pub hdr: EventHeader,
    /// The child's process id.
    pub child_pid: u32,
    /// The child's thread id.
    pub child_tid: u32,
}

/// `struct exit_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct ExitEvent {
    /// Header.
    pub hdr: EventHeader,
    /// `task->exit_code`.
    pub exit_code: i32,
    /// Padding.
    pub _pad: u32,
}

impl EventHeader {
    /// The task name, up to its first NUL.
    pub fn comm(&self) -> String {
        let end = self.comm.iter().position(|b| *b == 0).unwrap_or(COMM_LEN);
        String::from_utf8_lossy(&self.comm[..end]).into_owned()
    }
}

const _: () = assert!(std::mem::size_of::<EventHeader>() == 64);
const _: () = assert!(std::mem::size_of::<ExecEvent>() == 64 + 16 + PATH_MAX + ARGS_MAX);
const _: () = assert!(std::mem::size_of::<ForkEvent>() == 72);
const _: () = assert!(std::mem::size_of::<ExitEvent>() == 72);

/// A record that does not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the record needs.
    Short {
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// Built for another ABI.
    Abi(u32),
    /// A record kind this build does not know.
    Kind(u32),
}

/// Copy a record out of ring-buffer bytes (bytemuck's `Pod` derive also proves at compile
/// time that the struct has no padding).
pub fn read<T: Pod>(bytes: &[u8]) -> Result<T, DecodeError> {
    let need = std::mem::size_of::<T>();
    match bytes.get(..need) {
        Some(b) => Ok(bytemuck::pod_read_unaligned(b)),
        None => Err(DecodeError::Short { need, got: bytes.len() }),
    }
}

/// The header of a record, checked for ABI.
pub fn header(bytes: &[u8]) -> Result<EventHeader, DecodeError> {
    let h: EventHeader = read(bytes)?;
    if h.abi != ABI_VERSION {
        return Err(DecodeError::Abi(h.abi));
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The constants here must be the header's (the struct sizes are asserted at compile time).
    #[test]
    fn constants_match_the_c_header() {
        let header = include_str!("bpf/palisade.h");
        let define = |name: &str| -> usize {
            header
                .lines()
                .find_map(|l| l.strip_prefix("#define ")?.strip_prefix(name)?.trim().parse().ok())
                .unwrap_or_else(|| panic!("{name} not defined in palisade.h"))
        };
        assert_eq!(define("PALISADE_ABI_VERSION"), ABI_VERSION as usize);
        assert_eq!(define("PALISADE_PATH_MAX"), PATH_MAX);
        assert_eq!(define("PALISADE_ARGS_MAX"), ARGS_MAX);
        assert_eq!(define("PALISADE_COMM_LEN"), COMM_LEN);
        for (name, value) in [("PALISADE_KIND_EXEC", kind::EXEC), ("PALISADE_KIND_FORK", kind::FORK), ("PALISADE_KIND_EXIT", kind::EXIT)] {
            let line = header.lines().find(|l| l.trim_start().starts_with(name)).expect("kind in header");
            assert!(line.contains(&format!("= {value},")), "{name} = {value} in palisade.h");
        }
    }
}
