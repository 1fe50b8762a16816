//! NRI's connection multiplexer: several byte streams over one unix socket (the "trunk").
//!
//! Every frame on the trunk is `[u32 BE conn-id][u32 BE payload length][payload]`. A frame carries
//! an arbitrary chunk of its logical connection's byte stream: a ttrpc message may be split over
//! several frames and one frame may hold several messages, so the receiver appends payloads to a
//! per-connection buffer (see [`crate::ttrpc`]). Conn-id 0 is reserved; NRI uses
//! [`PLUGIN_SERVICE_CONN`] and [`RUNTIME_SERVICE_CONN`]. Frames for other ids are dropped, as NRI's
//! own multiplexer drops frames for connections nobody opened.

use bytes::{Buf, Bytes, BytesMut};

/// Carries the Plugin service: the runtime is the ttrpc client, we are the server.
pub const PLUGIN_SERVICE_CONN: u32 = 1;
/// Carries the Runtime service: we are the ttrpc client (RegisterPlugin), the runtime serves.
pub const RUNTIME_SERVICE_CONN: u32 = 2;

/// Bytes in a frame header.
pub const HEADER_LEN: usize = 8;
/// Largest payload of one frame (NRI's `maxPayloadSize`, 16 MiB).
pub const MAX_PAYLOAD: usize = 1 << 24;

/// A framing error on the trunk; the connection cannot continue after one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MuxError {
    #[error(
        "mux frame for conn {conn} announces {len} bytes, more than the {MAX_PAYLOAD} allowed"
    )]
    FrameTooLarge { conn: u32, len: usize },
}

/// One frame taken off the trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub conn: u32,
    pub payload: Bytes,
}

/// Appends one frame carrying `payload` on `conn` to `out`.
pub fn encode_frame(conn: u32, payload: &[u8], out: &mut Vec<u8>) -> Result<(), MuxError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(MuxError::FrameTooLarge {
            conn,
            len: payload.len(),
        });
    }
    out.reserve(HEADER_LEN + payload.len());
    out.extend_from_slice(&conn.to_be_bytes());
    // Cannot truncate: checked against MAX_PAYLOAD above.
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Takes the next complete frame off the front of `buf`, or `None` when more bytes are needed.
pub fn decode_frame(buf: &mut BytesMut) -> Result<Option<Frame>, MuxError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let conn = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(MuxError::FrameTooLarge { conn, len });
    }
    if buf.len() < HEADER_LEN + len {
        buf.reserve(HEADER_LEN + len - buf.len());
        return Ok(None);
    }
    buf.advance(HEADER_LEN);
    let payload = buf.split_to(len).freeze();
    Ok(Some(Frame { conn, payload }))
}

/// The receiving side of the mux: per-connection byte buffers filled from trunk frames.
#[derive(Debug, Default)]
pub struct Demux {
    trunk: BytesMut,
    /// Stream bytes of conn 1 (requests from the runtime).
    pub plugin: BytesMut,
    /// Stream bytes of conn 2 (responses to our calls).
    pub runtime: BytesMut,
}

impl Demux {
    /// Where trunk reads go; call [`Demux::route`] after each read.
    pub fn trunk_mut(&mut self) -> &mut BytesMut {
        &mut self.trunk
    }

    /// Moves every complete frame from the trunk buffer to its connection's buffer. Returns the
    /// ids of frames for unknown connections (dropped), for the caller to log.
    pub fn route(&mut self) -> Result<Vec<u32>, MuxError> {
        let mut dropped = Vec::new();
        while let Some(frame) = decode_frame(&mut self.trunk)? {
            match frame.conn {
                PLUGIN_SERVICE_CONN => self.plugin.extend_from_slice(&frame.payload),
                RUNTIME_SERVICE_CONN => self.runtime.extend_from_slice(&frame.payload),
                other => dropped.push(other),
            }
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(conn: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(conn, payload, &mut out).expect("small frame");
        out
    }

    #[test]
    fn header_is_conn_then_length_big_endian() {
        assert_eq!(frame(2, b"abc"), [0, 0, 0, 2, 0, 0, 0, 3, b'a', b'b', b'c']);
    }

    #[test]
    fn split_reads_reassemble() {
        let bytes = frame(1, b"hello world");
        let mut demux = Demux::default();
        for chunk in bytes.chunks(3) {
            demux.trunk_mut().extend_from_slice(chunk);
            assert!(demux.route().expect("valid").is_empty());
        }
        assert_eq!(&demux.plugin[..], b"hello world");
        assert!(demux.runtime.is_empty());
    }

    #[test]
    fn coalesced_frames_split_per_conn_and_stream_continues() {
        let mut bytes = frame(1, b"ab");
        bytes.extend(frame(2, b"xy"));
        bytes.extend(frame(1, b"cd"));
        bytes.extend(frame(2, b""));
        let mut demux = Demux::default();
        demux.trunk_mut().extend_from_slice(&bytes);
        assert!(demux.route().expect("valid").is_empty());
        assert_eq!(&demux.plugin[..], b"abcd");
        assert_eq!(&demux.runtime[..], b"xy");
    }

    #[test]
    fn unknown_conn_ids_are_dropped_and_reported() {
        let mut bytes = frame(0, b"reserved");
        bytes.extend(frame(7, b"other"));
        bytes.extend(frame(1, b"kept"));
        let mut demux = Demux::default();
        demux.trunk_mut().extend_from_slice(&bytes);
        assert_eq!(demux.route().expect("valid"), vec![0, 7]);
        assert_eq!(&demux.plugin[..], b"kept");
    }

    #[test]
    fn oversized_frame_is_an_error() {
        let mut buf = BytesMut::from(&[0, 0, 0, 1, 0x01, 0, 0, 1][..]);
        assert_eq!(
            decode_frame(&mut buf),
            Err(MuxError::FrameTooLarge {
                conn: 1,
                len: (1 << 24) + 1
            })
        );
        let big = vec![0u8; MAX_PAYLOAD + 1];
        assert!(encode_frame(1, &big, &mut Vec::new()).is_err());
    }
}
