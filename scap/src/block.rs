//! The block layer.
//!
//! ```text
//! file   = [gzip] section-header-block { block }
//! block  = type:u32 total_len:u32 body padding total_len:u32
//! ```
//!
//! `total_len` counts the whole block (12 bytes of framing, the body, padding to 4 bytes);
//! the trailing copy must equal the leading one. Block types and the record each carries are
//! in [`BlockKind`]; unknown types are skipped whole, as libscap does. The pre-release
//! `0x80xxABCD` ids are accepted as the types they stood for.

use crate::cursor::Cursor;
use crate::error::{Result, ScapError};

/// What a block holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlockKind {
    /// Section header (`0x0A0D0D0A`).
    SectionHeader,
    /// Machine info (`0x201`).
    MachineInfo,
    /// Process list, layout version 1..=9 (`0x202`, `0x207`, `0x209`, `0x210`..`0x215`).
    ProcessList(u8),
    /// fd list (`0x203`; `0x218` is v2 with per-entry lengths).
    FdList(u8),
    /// Interface list (`0x205`; `0x219` is v2).
    InterfaceList(u8),
    /// User and group list (`0x206`; `0x220` is v2).
    UserList(u8),
    /// Event (`0x204` v1 without `nparams`, `0x216` v2, `0x221` v2-large).
    Event(EventBlock),
    /// Event with flags (`0x208`, `0x217`, `0x222`).
    EventFlags(EventBlock),
    /// Anything else (skipped).
    Unknown(u32),
}

/// The event header layout of an event block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventBlock {
    /// No `nparams` in the header.
    V1,
    /// `nparams` in the header.
    V2,
    /// V2 in a block allowed to exceed 64 KiB.
    V2Large,
}

/// The section header block type.
pub const SHB_BLOCK_TYPE: u32 = 0x0A0D_0D0A;

impl BlockKind {
    /// The kind of block type `t`.
    pub fn from_type(t: u32) -> BlockKind {
        use BlockKind::*;
        match t {
            SHB_BLOCK_TYPE => SectionHeader,
            0x201 | 0x8002_ABCD => MachineInfo,
            0x202 | 0x8000_ABCD => ProcessList(1),
            0x207 | 0x8013_ABCD => ProcessList(2),
            0x209 | 0x8014_ABCD => ProcessList(3),
            0x210..=0x215 => ProcessList((t - 0x210 + 4) as u8),
            0x203 | 0x8001_ABCD => FdList(1),
            0x218 => FdList(2),
            0x205 | 0x8011_ABCD => InterfaceList(1),
            0x219 => InterfaceList(2),
            0x206 | 0x8012_ABCD => UserList(1),
            0x220 => UserList(2),
            0x204 | 0x8010_ABCD => Event(EventBlock::V1),
            0x216 => Event(EventBlock::V2),
            0x221 => Event(EventBlock::V2Large),
            0x208 => EventFlags(EventBlock::V1),
            0x217 => EventFlags(EventBlock::V2),
            0x222 => EventFlags(EventBlock::V2Large),
            other => Unknown(other),
        }
    }

    /// Whether the block holds an event.
    pub fn is_event(self) -> bool {
        matches!(self, BlockKind::Event(_) | BlockKind::EventFlags(_))
    }

    pub(crate) fn has_event_flags(self) -> bool {
        matches!(self, BlockKind::EventFlags(_))
    }

    pub(crate) fn is_v2_event(self) -> bool {
        matches!(self, BlockKind::Event(v) | BlockKind::EventFlags(v) if v != EventBlock::V1)
    }

    /// A short name: `PL v6`, `FDL v2`, `EV event`, ... (the names scap_inventory.txt uses).
    pub fn label(self) -> String {
        use BlockKind::*;
        match self {
            SectionHeader => "SHB section header".into(),
            MachineInfo => "MI machine info".into(),
            ProcessList(v) => format!("PL v{v}"),
            FdList(1) => "FDL fdlist".into(),
            InterfaceList(1) => "IL iflist".into(),
            UserList(1) => "UL userlist".into(),
            FdList(v) => format!("FDL v{v}"),
            InterfaceList(v) => format!("IL v{v}"),
            UserList(v) => format!("UL v{v}"),
            Event(EventBlock::V1) => "EV event".into(),
            Event(EventBlock::V2) => "EV v2".into(),
            Event(EventBlock::V2Large) => "EV v2 large".into(),
            EventFlags(EventBlock::V1) => "EVF event".into(),
            EventFlags(EventBlock::V2) => "EVF v2".into(),
            EventFlags(EventBlock::V2Large) => "EVF v2 large".into(),
            Unknown(t) => format!("unknown 0x{t:x}"),
        }
    }
}

/// One block's framing, its body borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawBlock<'a> {
    /// Offset of the block's first byte.
    pub offset: u64,
    /// The block type as written.
    pub block_type: u32,
    /// What it holds.
    pub kind: BlockKind,
    /// Body and padding (without the 8-byte header and the 4-byte trailer).
    pub body: &'a [u8],
}

/// Split the block that starts at `data[pos]`; returns it and the offset after it.
pub(crate) fn split(data: &[u8], pos: usize) -> Result<(RawBlock<'_>, usize)> {
    let rest = data.get(pos..).unwrap_or_default();
    let mut c = Cursor::new(rest, pos as u64);
    let block_type = c.u32("block type")?;
    let total = c.u32("block total length")?;
    let at = pos as u64;
    if total < 12 {
        return Err(ScapError::invalid(at + 4, "block total length", "at least 12", total));
    }
    if total as usize > rest.len() {
        return Err(ScapError::Truncated {
            offset: at,
            what: "block",
            needed: u64::from(total),
            available: rest.len() as u64,
        });
    }
    let body = rest.get(8..total as usize - 4).unwrap_or_default();
    let mut t = Cursor::new(rest.get(total as usize - 4..).unwrap_or_default(), at + u64::from(total) - 4);
    let trailer = t.u32("block trailer")?;
    if trailer != total {
        return Err(ScapError::invalid(
            at + u64::from(total) - 4,
            "block trailer",
            format!("the block total length {total}"),
            trailer,
        ));
    }
    let kind = BlockKind::from_type(block_type);
    Ok((RawBlock { offset: at, block_type, kind, body }, pos + total as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_labels() {
        assert_eq!(BlockKind::from_type(0x212).label(), "PL v6");
        assert_eq!(BlockKind::from_type(0x8000_ABCD), BlockKind::ProcessList(1));
        assert_eq!(BlockKind::from_type(0x218).label(), "FDL v2");
        assert_eq!(BlockKind::from_type(0x204).label(), "EV event");
        assert!(BlockKind::from_type(0x222).is_event());
        assert_eq!(BlockKind::from_type(0x999), BlockKind::Unknown(0x999));
    }

    #[test]
    fn framing_errors_name_the_offset() {
        let mut b = vec![0u8; 4];
        b.extend_from_slice(&0x201u32.to_le_bytes());
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&20u32.to_le_bytes());
        let e = split(&b, 4).expect_err("bad trailer");
        assert_eq!(e.offset(), Some(16));
        let e = split(&b[..10], 4).expect_err("truncated");
        assert_eq!(e.offset(), Some(8));
    }
}
