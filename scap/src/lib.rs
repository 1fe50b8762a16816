//! Reader for Falco/sysdig capture files (`.scap`), as written by libscap (sysdig `-w`,
//! Falco's capture mode, the libs test suites).
//!
//! No maintained Rust crate reads `.scap`; this one follows libs'
//! `userspace/libscap/scap_savefile.h` and `engine/savefile/scap_savefile.c` (format) and
//! `driver/event_table.c` (parameter schemas), re-written from their descriptions.
//!
//! ```text
//! file    = gzip(stream) | stream          (gzip detected by its magic 1F 8B)
//! stream  = SHB { block }                  (see [`block`] for framing)
//! block   = MI | IL | UL | PL | FDL | EV | EVF | unknown (skipped)
//! ```
//!
//! The metadata blocks ([`tables`], [`procs`], [`fds`]) come first and describe the machine,
//! users and the processes and fds alive when the capture started; event blocks ([`event`])
//! follow. [`Reader`] walks the stream block by block: metadata is decoded into small typed
//! values, events are returned as views borrowing the capture's bytes (nothing is copied).
//!
//! Robustness: every read is bounds-checked and every error is a [`ScapError`] carrying the
//! byte offset (in the decompressed stream) and what was expected; no input makes the reader
//! panic, and allocations are bounded by the input (decompression by [`Capture::limit`]).

pub mod block;
mod cursor;
pub mod error;
pub mod event;
pub mod fds;
pub mod procs;
pub mod schema;
pub mod tables;

use std::io::Read;
use std::path::Path;

pub use block::{BlockKind, RawBlock};
pub use cursor::{text, text_list};
pub use error::{Result, ScapError};
pub use event::{Event, Params};
pub use fds::{FdEntry, FdList, FdType};
pub use procs::ThreadInfo;
pub use schema::{EventSchema, ParamType};
pub use tables::{Interface, MachineInfo, SectionHeader, UserList};

/// Default bound on a decompressed capture: 4 GiB.
pub const DEFAULT_LIMIT: u64 = 4 << 30;

/// A capture's bytes, decompressed.
#[derive(Clone, Debug)]
pub struct Capture {
    bytes: Vec<u8>,
    /// Whether the file was gzip-compressed.
    pub compressed: bool,
}

/// Counts the compressed bytes the decoder has consumed.
struct Counting<'a> {
    inner: &'a [u8],
    read: u64,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl Capture {
    /// The maximum decompressed size [`Capture::from_bytes`] accepts.
    pub fn limit() -> u64 {
        DEFAULT_LIMIT
    }

    /// Read a capture file (gzip or plain).
    pub fn open(path: &Path) -> Result<Capture> {
        let raw = std::fs::read(path).map_err(|source| ScapError::Io { path: path.display().to_string(), source })?;
        Capture::from_bytes(raw, DEFAULT_LIMIT)
    }

    /// A capture from its file's bytes, decompressing gzip up to `limit` bytes.
    pub fn from_bytes(raw: Vec<u8>, limit: u64) -> Result<Capture> {
        if !raw.starts_with(&[0x1F, 0x8B]) {
            return Ok(Capture { bytes: raw, compressed: false });
        }
        let mut input = Counting { inner: &raw, read: 0 };
        let mut out = Vec::new();
        let res = {
            let decoder = flate2::read::MultiGzDecoder::new(&mut input);
            decoder.take(limit.saturating_add(1)).read_to_end(&mut out)
        };
        if let Err(e) = res {
            return Err(ScapError::Gzip { offset: out.len() as u64, compressed_offset: input.read, message: e.to_string() });
        }
        if out.len() as u64 > limit {
            return Err(ScapError::TooLarge { limit });
        }
        Ok(Capture { bytes: out, compressed: true })
    }

    /// The decompressed stream.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A reader over the stream.
    pub fn reader(&self) -> Result<Reader<'_>> {
        Reader::new(&self.bytes)
    }
}

/// One decoded block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block<'a> {
    /// A (further) section header.
    Section(SectionHeader),
    /// Machine info.
    Machine(MachineInfo),
    /// Network interfaces.
    Interfaces(Vec<Interface>),
    /// Users and groups.
    Users(UserList),
    /// Threads alive at the start.
    Processes(Vec<ThreadInfo>),
    /// One thread's fds at the start.
    Fds(FdList),
    /// An event.
    Event(Event<'a>),
    /// A block of a type this reader does not know (skipped, as libscap does).
    Unknown(u32),
}

/// Walks a capture's blocks in order.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// The first section's header.
    pub header: SectionHeader,
    failed: bool,
}

impl<'a> Reader<'a> {
    /// Start reading `data` (decompressed): checks the section header block.
    pub fn new(data: &'a [u8]) -> Result<Reader<'a>> {
        let (raw, next) = block::split(data, 0)?;
        if raw.kind != BlockKind::SectionHeader {
            return Err(ScapError::invalid(0, "first block type", "0x0A0D0D0A (section header)", format!("0x{:08X}", raw.block_type)));
        }
        let header = tables::section_header(raw.body, 8)?;
        Ok(Reader { data, pos: next, header, failed: false })
    }

    /// Offset of the next block.
    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    /// The next block's framing without decoding its body.
    pub fn next_raw(&mut self) -> Option<Result<RawBlock<'a>>> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        match block::split(self.data, self.pos) {
            Ok((raw, next)) => {
                self.pos = next;
                Some(Ok(raw))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }

    /// The next event, skipping metadata blocks.
    pub fn next_event(&mut self) -> Option<Result<Event<'a>>> {
        loop {
            let raw = match self.next_raw()? {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            };
            if raw.kind.is_event() {
                return Some(self.fail_on_err(Event::parse(raw.kind, raw.body, raw.offset)));
            }
        }
    }

    fn fail_on_err<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.failed = true;
        }
        r
    }
}

/// Decode a block's body.
pub fn decode<'a>(raw: &RawBlock<'a>) -> Result<Block<'a>> {
    let at = raw.offset + 8;
    Ok(match raw.kind {
        BlockKind::SectionHeader => Block::Section(tables::section_header(raw.body, at)?),
        BlockKind::MachineInfo => Block::Machine(tables::machine_info(raw.body, at)?),
        BlockKind::InterfaceList(v) => Block::Interfaces(tables::interfaces(raw.body, at, v)?),
        BlockKind::UserList(v) => Block::Users(tables::user_list(raw.body, at, v)?),
        BlockKind::ProcessList(v) => Block::Processes(procs::process_list(raw.body, at, v)?),
        BlockKind::FdList(v) => Block::Fds(fds::fd_list(raw.body, at, v)?),
        BlockKind::Event(_) | BlockKind::EventFlags(_) => Block::Event(Event::parse(raw.kind, raw.body, raw.offset)?),
        BlockKind::Unknown(t) => Block::Unknown(t),
    })
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Block<'a>>;

    /// The next block, decoded; after an error, nothing more.
    fn next(&mut self) -> Option<Result<Block<'a>>> {
        let raw = match self.next_raw()? {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let decoded = decode(&raw);
        Some(self.fail_on_err(decoded))
    }
}
