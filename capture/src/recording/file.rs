//! Framing of a capture file: [`Writer`] appends frames, [`Reader`] walks them, naming the
//! byte offset of anything it cannot read.

use std::io::Write;

use super::{MAGIC, MAX_FRAME, VERSION};

/// The kinds of frame (see the module documentation of [`super`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Meta = 1,
    Processes = 2,
    Users = 3,
    Container = 4,
    Record = 5,
    End = 6,
}

impl FrameKind {
    fn from_u8(b: u8) -> Option<FrameKind> {
        Some(match b {
            1 => FrameKind::Meta,
            2 => FrameKind::Processes,
            3 => FrameKind::Users,
            4 => FrameKind::Container,
            5 => FrameKind::Record,
            6 => FrameKind::End,
            _ => return None,
        })
    }
}

/// One frame as read: its kind, payload and the offset of its first byte in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub kind: FrameKind,
    pub payload: &'a [u8],
    pub offset: u64,
}

/// A capture that cannot be read, at a byte offset of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("not a Palisade capture (no magic at byte 0)")]
    NotACapture,
    #[error("capture format version {0}: this palisade reads version {VERSION}")]
    Version(u32),
    #[error("byte {offset}: {what}")]
    At { offset: u64, what: String },
}

/// Appends frames to `W`, counting the bytes written.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    bytes: u64,
    scratch: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Writes the magic and version.
    pub fn new(mut out: W) -> std::io::Result<Writer<W>> {
        out.write_all(&MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        Ok(Writer { out, bytes: (MAGIC.len() + 4) as u64, scratch: Vec::new() })
    }

    /// One frame. A payload over [`MAX_FRAME`] is refused (`InvalidInput`), nothing written.
    pub fn frame(&mut self, kind: FrameKind, payload: &[u8]) -> std::io::Result<()> {
        if payload.len() > MAX_FRAME {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("frame of {} bytes", payload.len())));
        }
        let mut head = [0u8; 8];
        head[0] = kind as u8;
        head[4..].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        self.out.write_all(&head)?;
        self.out.write_all(payload)?;
        self.bytes += (head.len() + payload.len()) as u64;
        Ok(())
    }

    /// A JSON frame.
    pub fn json<T: serde::Serialize>(&mut self, kind: FrameKind, value: &T) -> std::io::Result<()> {
        let payload = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        self.frame(kind, &payload)
    }

    /// A `RECORD` frame.
    pub fn record(&mut self, rec: &palisade_events::record::Record) -> std::io::Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        super::codec::encode(rec, &mut scratch);
        let r = self.frame(FrameKind::Record, &scratch);
        self.scratch = scratch;
        r
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Walks the frames of a capture held in memory.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// Checks the magic and version.
    pub fn new(data: &'a [u8]) -> Result<Reader<'a>, ReadError> {
        if !data.starts_with(&MAGIC) {
            return Err(ReadError::NotACapture);
        }
        let Some(v) = data.get(MAGIC.len()..MAGIC.len() + 4) else {
            return Err(ReadError::At { offset: MAGIC.len() as u64, what: "file ends inside the version".into() });
        };
        let version = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
        if version != VERSION {
            return Err(ReadError::Version(version));
        }
        Ok(Reader { data, at: MAGIC.len() + 4 })
    }

    /// Whether `data` starts like a Palisade capture.
    pub fn is_capture(data: &[u8]) -> bool {
        data.starts_with(&MAGIC)
    }

    /// The next frame; `None` at the end of the file. After an error, iteration stops.
    pub fn next_frame(&mut self) -> Option<Result<Frame<'a>, ReadError>> {
        if self.at == self.data.len() {
            return None;
        }
        let offset = self.at as u64;
        let r = self.frame_at(offset);
        self.at = if r.is_ok() { self.at } else { self.data.len() };
        Some(r)
    }

    fn frame_at(&mut self, offset: u64) -> Result<Frame<'a>, ReadError> {
        let err = |what: String| ReadError::At { offset, what };
        let Some(head) = self.data.get(self.at..self.at + 8) else {
            return Err(err(format!("file ends inside a frame header ({} bytes left)", self.data.len() - self.at)));
        };
        let kind = FrameKind::from_u8(head[0]).ok_or_else(|| err(format!("unknown frame kind {}", head[0])))?;
        if head[1..4] != [0, 0, 0] {
            return Err(err("reserved frame header bytes are not zero".into()));
        }
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if len > MAX_FRAME {
            return Err(err(format!("frame of {len} bytes (at most {MAX_FRAME})")));
        }
        let start = self.at + 8;
        let Some(payload) = self.data.get(start..start + len) else {
            return Err(err(format!("{kind:?} frame of {len} bytes, but {} remain", self.data.len() - start)));
        };
        self.at = start + len;
        Ok(Frame { kind, payload, offset })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = Writer::new(Vec::new()).expect("writer");
        w.frame(FrameKind::Meta, b"{}").expect("frame");
        w.frame(FrameKind::Record, &[1, 2, 3]).expect("frame");
        w.frame(FrameKind::End, b"").expect("frame");
        assert_eq!(w.bytes(), 12 + 3 * 8 + 2 + 3);
        w.finish().expect("finish")
    }

    #[test]
    fn frames_come_back_in_order_with_offsets() {
        let data = sample();
        let mut r = Reader::new(&data).expect("reader");
        let mut got = Vec::new();
        while let Some(f) = r.next_frame() {
            let f = f.expect("frame");
            got.push((f.kind, f.payload.to_vec(), f.offset));
        }
        assert_eq!(
            got,
            [(FrameKind::Meta, b"{}".to_vec(), 12), (FrameKind::Record, vec![1, 2, 3], 22), (FrameKind::End, vec![], 33)]
        );
    }

    #[test]
    fn damage_is_reported_at_its_offset_and_ends_the_walk() {
        let data = sample();
        let mut cut = data.clone();
        cut.truncate(22 + 8 + 1);
        let mut r = Reader::new(&cut).expect("reader");
        r.next_frame();
        assert_eq!(
            r.next_frame(),
            Some(Err(ReadError::At { offset: 22, what: "Record frame of 3 bytes, but 1 remain".into() }))
        );
        assert_eq!(r.next_frame(), None);
        let mut r = Reader::new(&data[..36]).expect("reader");
        let errors: Vec<ReadError> = std::iter::from_fn(|| r.next_frame()).filter_map(Result::err).collect();
        assert_eq!(errors, [ReadError::At { offset: 33, what: "file ends inside a frame header (3 bytes left)".into() }]);

        let mut bad = data.clone();
        bad[22] = 77;
        let mut r = Reader::new(&bad).expect("reader");
        r.next_frame();
        assert_eq!(r.next_frame(), Some(Err(ReadError::At { offset: 22, what: "unknown frame kind 77".into() })));

        let mut huge = data.clone();
        huge[26..30].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut r = Reader::new(&huge).expect("reader");
        r.next_frame();
        assert!(matches!(r.next_frame(), Some(Err(ReadError::At { offset: 22, .. }))));
    }

    #[test]
    fn foreign_files_and_versions_are_named() {
        assert_eq!(Reader::new(b"\x0a\x0d\x0d\x0a....").err(), Some(ReadError::NotACapture));
        let mut v2 = sample();
        v2[8] = 2;
        assert_eq!(Reader::new(&v2).err(), Some(ReadError::Version(2)));
        assert!(matches!(Reader::new(&MAGIC).err(), Some(ReadError::At { offset: 8, .. })));
    }
}
