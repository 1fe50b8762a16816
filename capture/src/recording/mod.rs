//! Palisade captures: the events a running daemon saw, written by `palisade capture` and read
//! back by `palisade replay`, which rebuilds the daemon's state from them and evaluates the
//! rules exactly as the daemon did.
//!
//! # Format (version 1)
//!
//! ```text
//! file   := magic:8 = 89 'P' 'A' 'L' 'C' 'A' 'P' 0A   version:u32 = 1   frame*
//! frame  := kind:u8  reserved:3 bytes = 0  len:u32  payload:len bytes
//! ```
//! Little-endian; a payload is at most [`MAX_FRAME`] bytes. Frame kinds, in the order a
//! capture writes them:
//!
//! | kind | name | payload |
//! |---|---|---|
//! | 1 | `META` | JSON [`Meta`]: who captured, the clock offset, the filter. First frame. |
//! | 2 | `PROCESSES` | JSON array of the daemon's process table at the start ([`palisade_events::process::Process`]) |
//! | 3 | `USERS` | JSON [`UserLists`]: the host's users and groups |
//! | 4 | `CONTAINER` | JSON [`CapturedContainer`]: a container's metadata, before its first record and again whenever it changes |
//! | 5 | `RECORD` | one kernel record, binary ([`codec`]) |
//! | 6 | `END` | JSON [`End`]: why and when the capture ended, counts. Last frame; a file without it was cut short (still readable). |
//!
//! The magic's first byte is not ASCII and the second line ends in `\n`, so a file mangled
//! by a text-mode transfer is recognized as such. JSON is used where a frame is rare
//! (metadata), the binary record form where frames are many.
//!
//! # What a capture holds
//!
//! The records the daemon decoded: what its kernel programs delivered for its rules and
//! profiles (the evt.type index and the open prefilter decide). Replaying with the same rules
//! gives the same alerts; rules that need events the daemon's rules did not ask for see none
//! of them. With a container filter, the capture keeps every process lifecycle record (fork,
//! exec, exit: the process tree is shared with the host) and only that container's syscalls.

pub mod codec;
mod file;
pub mod replay;
pub mod session;
mod snapshot;

pub use file::{Frame, FrameKind, Reader, ReadError, Writer};
pub use snapshot::{CapturedContainer, End, Meta, UserLists};

/// The first bytes of every Palisade capture.
pub const MAGIC: [u8; 8] = *b"\x89PALCAP\n";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// The largest frame payload accepted (a process table of ~100k processes fits).
pub const MAX_FRAME: usize = 64 << 20;
