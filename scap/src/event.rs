//! Event blocks and the events in them.
//!
//! Grammar of an event block body (all integers little-endian):
//!
//! ```text
//! body      = cpuid:u16 [flags:u32 (EVF* blocks)] event padding
//! event     = ts_ns:u64 tid:u64 len:u32 type:u16 [nparams:u32 (V2 blocks)] lens params
//! lens      = nparams × (u16 | u32 for event types flagged LARGE_PAYLOAD)
//! params    = the parameters' bytes, concatenated in order
//! ```
//!
//! Invariants checked here: `len` counts the header, the lengths and the parameters and fits
//! in the block; the lengths sum to exactly what follows them. V1 blocks (`EV`, `EVF`,
//! `0x8010ABCD`) have no `nparams`: as libscap does, it is the largest count (from the event
//! table's current layout down) whose lengths add up to `len`; the first count whose lengths
//! fit but do not reach `len` is an error. Old `notification`/`infra` events overstate `len`
//! by 3 bytes (libscap corrects it the same way).

use crate::block::BlockKind;
use crate::cursor::Cursor;
use crate::error::{Result, ScapError};
use crate::schema::{self, flags, EventSchema};

/// Size of the V2 event header (`struct ppm_evt_hdr`, packed).
pub const HEADER_V2: usize = 26;
/// Size of the V1 event header (no `nparams`).
pub const HEADER_V1: usize = 22;

const PPME_NOTIFICATION_E: u16 = 280;
const PPME_INFRASTRUCTURE_EVENT_E: u16 = 286;

/// One event, borrowing its parameters from the capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event<'a> {
    /// Offset of the event's block in the (decompressed) stream.
    pub offset: u64,
    /// CPU that produced it.
    pub cpu: u16,
    /// EVF flags (0 for EV blocks).
    pub flags: u32,
    /// Timestamp, ns since the epoch.
    pub ts: u64,
    /// Thread id.
    pub tid: u64,
    /// `ppm_event_code`.
    pub event_type: u16,
    nparams: u32,
    lens: &'a [u8],
    wide: bool,
    data: &'a [u8],
}

/// The width of a parameter length for event type `ty`.
fn wide_lengths(ty: u16) -> bool {
    schema::schema(ty).is_some_and(|s| s.has(flags::LARGE_PAYLOAD))
}

fn len_at(lens: &[u8], i: usize, wide: bool) -> Option<usize> {
    if wide {
        let b = lens.get(i * 4..i * 4 + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    } else {
        let b = lens.get(i * 2..i * 2 + 2)?;
        Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
    }
}

/// libscap's rule for V1 events: the parameter count whose lengths fill `rest` exactly.
fn derive_nparams(ty: u16, rest: &[u8], at: u64) -> Result<u32> {
    let Some(s) = schema::schema(ty) else {
        return Err(ScapError::invalid(at, "v1 event type", "an event type with a known parameter count", ty));
    };
    for n in (0..=s.params.len()).rev() {
        let Some(after_lens) = rest.len().checked_sub(n * 2) else { continue };
        let sum: usize = (0..n).filter_map(|i| len_at(rest, i, false)).sum();
        if sum > after_lens {
            continue;
        }
        if sum < after_lens {
            return Err(ScapError::invalid(
                at,
                "v1 event parameters",
                format!("lengths adding up to {after_lens} bytes for {n} parameters"),
                sum,
            ));
        }
        return Ok(n as u32);
    }
    Err(ScapError::invalid(at, "v1 event parameters", "lengths that fit the event", "none"))
}

impl<'a> Event<'a> {
    /// Parse the body of an event block of `kind` that starts at `offset` (the block header).
    pub(crate) fn parse(kind: BlockKind, body: &'a [u8], offset: u64) -> Result<Event<'a>> {
        let mut c = Cursor::new(body, offset + 8);
        let cpu = c.u16("event cpu id")?;
        let flags = if kind.has_event_flags() { c.u32("event flags")? } else { 0 };
        let start = c.consumed();
        let hdr_at = c.offset();
        let v2 = kind.is_v2_event();
        let hdr_len = if v2 { HEADER_V2 } else { HEADER_V1 };
        if c.remaining() < hdr_len {
            return Err(ScapError::Truncated {
                offset: hdr_at,
                what: "event header",
                needed: hdr_len as u64,
                available: c.remaining() as u64,
            });
        }
        let ts = c.u64("event timestamp")?;
        let tid = c.u64("event thread id")?;
        let mut len = c.u32("event length")? as usize;
        let event_type = c.u16("event type")?;
        if !v2 && matches!(event_type, PPME_NOTIFICATION_E | PPME_INFRASTRUCTURE_EVENT_E) {
            len = len.saturating_sub(3);
        }
        let avail = body.len().saturating_sub(start);
        if len < hdr_len || len > avail {
            return Err(ScapError::invalid(
                hdr_at + 16,
                "event length",
                format!("between {hdr_len} and the {avail} bytes left in the block"),
                len,
            ));
        }
        let event = body.get(start..start + len).unwrap_or_default();
        let (nparams, rest, wide) = if v2 {
            let n = c.u32("event parameter count")?;
            (n, event.get(HEADER_V2..).unwrap_or_default(), wide_lengths(event_type))
        } else {
            let rest = event.get(HEADER_V1..).unwrap_or_default();
            (derive_nparams(event_type, rest, hdr_at)?, rest, false)
        };
        let lens_at = hdr_at + hdr_len as u64;
        let width = if wide { 4 } else { 2 };
        let lens_len = (nparams as usize).checked_mul(width).filter(|n| *n <= rest.len()).ok_or_else(|| {
            ScapError::invalid(
                lens_at,
                "event parameter count",
                format!("at most {} parameters in {} bytes", rest.len() / width, rest.len()),
                nparams,
            )
        })?;
        let (lens, data) = rest.split_at(lens_len);
        let mut used = 0usize;
        for i in 0..nparams as usize {
            used = used.saturating_add(len_at(lens, i, wide).unwrap_or(0));
            if used > data.len() {
                return Err(ScapError::invalid(
                    lens_at + (i * width) as u64,
                    "event parameter length",
                    format!("parameters within the event's {} data bytes", data.len()),
                    format!("parameter {i} ending at {used}"),
                ));
            }
        }
        Ok(Event { offset, cpu, flags, ts, tid, event_type, nparams, lens, wide, data })
    }

    /// The event in an event block (see [`crate::Reader::next_raw`]).
    pub fn parse_block(raw: &crate::RawBlock<'a>) -> Result<Event<'a>> {
        if !raw.kind.is_event() {
            return Err(ScapError::invalid(raw.offset, "block type", "an event block", format!("0x{:X}", raw.block_type)));
        }
        Event::parse(raw.kind, raw.body, raw.offset)
    }

    /// The number of parameters the event carries.
    pub fn nparams(&self) -> usize {
        self.nparams as usize
    }

    /// The event type's schema, if the table knows it.
    pub fn schema(&self) -> Option<&'static EventSchema> {
        schema::schema(self.event_type)
    }

    /// Whether this is an enter event (even type code).
    pub fn is_enter(&self) -> bool {
        self.event_type % 2 == 0
    }

    /// The parameters' bytes, in order.
    pub fn params(&self) -> Params<'a> {
        Params { lens: self.lens, wide: self.wide, data: self.data, i: 0, n: self.nparams as usize, pos: 0 }
    }

    /// Parameter `i`'s bytes.
    pub fn param(&self, i: usize) -> Option<&'a [u8]> {
        self.params().nth(i)
    }

    /// The parameter called `name` (by the schema's names).
    pub fn param_named(&self, name: &str) -> Option<&'a [u8]> {
        self.param(self.schema()?.param_index(name)?)
    }
}

/// Iterator over an event's parameters.
#[derive(Clone, Debug)]
pub struct Params<'a> {
    lens: &'a [u8],
    wide: bool,
    data: &'a [u8],
    i: usize,
    n: usize,
    pos: usize,
}

impl<'a> Iterator for Params<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.i >= self.n {
            return None;
        }
        let len = len_at(self.lens, self.i, self.wide)?;
        let out = self.data.get(self.pos..self.pos.checked_add(len)?)?;
        self.i += 1;
        self.pos += len;
        Some(out)
    }
}
