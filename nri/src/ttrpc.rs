//! The few parts of ttrpc that NRI uses: unary requests and responses over a byte stream.
//!
//! Written by hand because the `ttrpc` crate wants to own a socket (or fd) per connection, while
//! NRI carries two ttrpc connections inside its own multiplexer ([`crate::mux`]); bridging that
//! would take socketpairs and two more tasks per connection, for a wire format that is ten header
//! bytes and three protobuf messages. Streaming (message type 3) is not used by NRI.
//!
//! A message is a 10-byte header — `u32 BE payload length`, `u32 BE stream id`, `u8 type`
//! (1 request, 2 response), `u8 flags` — followed by the payload: a [`Request`] or a [`Response`].
//! Clients number their streams with odd ids, increasing (the Go server rejects anything else).

use bytes::{Buf, Bytes, BytesMut};

/// Bytes in a message header.
pub const HEADER_LEN: usize = 10;
/// Largest message we accept. Go ttrpc's limit is 4 MiB; NRI's mux allows 16 MiB per frame, and a
/// large Synchronize is better taken than refused.
pub const MAX_MESSAGE: usize = 1 << 24;

pub const TYPE_REQUEST: u8 = 1;
pub const TYPE_RESPONSE: u8 = 2;

/// gRPC status codes used here (google.rpc.Code).
pub mod code {
    pub const OK: i32 = 0;
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const PERMISSION_DENIED: i32 = 7;
    pub const UNIMPLEMENTED: i32 = 12;
}

/// A framing error; the stream cannot continue after one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TtrpcError {
    #[error("ttrpc message on stream {stream} announces {len} bytes, more than the {MAX_MESSAGE} allowed")]
    MessageTooLarge { stream: u32, len: usize },
    #[error("undecodable ttrpc {what} on stream {stream}: {reason}")]
    Decode {
        what: &'static str,
        stream: u32,
        reason: String,
    },
}

/// One message taken off a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub stream: u32,
    pub kind: u8,
    pub flags: u8,
    pub payload: Bytes,
}

/// ttrpc's request envelope (`ttrpc.Request`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    #[prost(string, tag = "1")]
    pub service: String,
    #[prost(string, tag = "2")]
    pub method: String,
    #[prost(bytes = "vec", tag = "3")]
    pub payload: Vec<u8>,
    #[prost(int64, tag = "4")]
    pub timeout_nano: i64,
    #[prost(message, repeated, tag = "5")]
    pub metadata: Vec<KeyValue>,
}

/// Request metadata entry (`ttrpc.KeyValue`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// ttrpc's response envelope (`ttrpc.Response`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    #[prost(message, optional, tag = "1")]
    pub status: Option<Status>,
    #[prost(bytes = "vec", tag = "2")]
    pub payload: Vec<u8>,
}

/// `google.rpc.Status` without details.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Status {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

impl Status {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl Response {
    /// A successful response carrying an encoded reply message.
    pub fn ok(payload: Vec<u8>) -> Self {
        Self {
            status: Some(Status::new(code::OK, "")),
            payload,
        }
    }

    /// A failed response; the Go client turns it into an error carrying `status.message`.
    pub fn error(status: Status) -> Self {
        Self {
            status: Some(status),
            payload: Vec::new(),
        }
    }

    /// The failure this response reports, if any (absent status means OK).
    pub fn failure(&self) -> Option<&Status> {
        self.status.as_ref().filter(|s| s.code != code::OK)
    }
}

/// Appends one message to `out`.
pub fn encode_message(
    stream: u32,
    kind: u8,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), TtrpcError> {
    if payload.len() > MAX_MESSAGE {
        return Err(TtrpcError::MessageTooLarge {
            stream,
            len: payload.len(),
        });
    }
    out.reserve(HEADER_LEN + payload.len());
    // Cannot truncate: checked against MAX_MESSAGE above.
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&stream.to_be_bytes());
    out.push(kind);
    out.push(0);
    out.extend_from_slice(payload);
    Ok(())
}

/// Takes the next complete message off the front of `buf`, or `None` when more bytes are needed.
pub fn decode_message(buf: &mut BytesMut) -> Result<Option<Message>, TtrpcError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let stream = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    let (kind, flags) = (header[8], header[9]);
    if len > MAX_MESSAGE {
        return Err(TtrpcError::MessageTooLarge { stream, len });
    }
    if buf.len() < HEADER_LEN + len {
        buf.reserve(HEADER_LEN + len - buf.len());
        return Ok(None);
    }
    buf.advance(HEADER_LEN);
    let payload = buf.split_to(len).freeze();
    Ok(Some(Message {
        stream,
        kind,
        flags,
        payload,
    }))
}

/// Decodes a protobuf payload, naming what it was in the error.
pub fn decode<M: prost::Message + Default>(
    what: &'static str,
    stream: u32,
    payload: &[u8],
) -> Result<M, TtrpcError> {
    M::decode(payload).map_err(|e| TtrpcError::Decode {
        what,
        stream,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn header_layout() {
        let mut out = Vec::new();
        encode_message(5, TYPE_RESPONSE, b"xyz", &mut out).expect("small");
        assert_eq!(out, [0, 0, 0, 3, 0, 0, 0, 5, 2, 0, b'x', b'y', b'z']);
    }

    #[test]
    fn request_round_trips_through_stream_bytes() {
        let request = Request {
            service: "nri.pkg.api.v1alpha1.Plugin".into(),
            method: "Configure".into(),
            payload: vec![1, 2, 3],
            timeout_nano: 2_000_000_000,
            metadata: vec![KeyValue {
                key: "k".into(),
                value: "v".into(),
            }],
        };
        let mut out = Vec::new();
        encode_message(3, TYPE_REQUEST, &request.encode_to_vec(), &mut out).expect("small");
        encode_message(5, TYPE_REQUEST, &[], &mut out).expect("small");

        // Byte by byte, then all at once: the same two messages come out.
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for byte in &out {
            buf.extend_from_slice(&[*byte]);
            while let Some(m) = decode_message(&mut buf).expect("valid") {
                got.push(m);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].stream, got[0].kind, got[0].flags),
            (3, TYPE_REQUEST, 0)
        );
        let decoded: Request = decode("request", 3, &got[0].payload).expect("decodes");
        assert_eq!(decoded, request);
        assert_eq!((got[1].stream, got[1].payload.len()), (5, 0));
        assert!(buf.is_empty());
    }

    #[test]
    fn response_status_round_trips() {
        let response = Response::error(Status::new(code::PERMISSION_DENIED, "no"));
        let decoded = Response::decode(&response.encode_to_vec()[..]).expect("decodes");
        assert_eq!(decoded.failure(), Some(&Status::new(7, "no")));
        // Known bytes: field 1 (len 6) { field 1 varint 7, field 2 "no" }.
        assert_eq!(
            response.encode_to_vec(),
            [0x0a, 6, 0x08, 7, 0x12, 2, b'n', b'o']
        );
        let ok = Response::ok(vec![9]);
        assert_eq!(
            Response::decode(&ok.encode_to_vec()[..])
                .expect("decodes")
                .failure(),
            None
        );
        assert_eq!(Response::default().failure(), None);
    }

    #[test]
    fn oversized_and_garbage_are_errors() {
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 1, 0][..]);
        assert!(matches!(
            decode_message(&mut buf),
            Err(TtrpcError::MessageTooLarge { stream: 1, .. })
        ));
        assert!(decode::<Request>("request", 1, &[0xff]).is_err());
    }
}
