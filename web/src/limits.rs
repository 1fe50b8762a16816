//! The server's limits. Every listener of the daemon is reachable by whatever can reach its
//! address, so no client may make the daemon's memory, file descriptors or time depend on what it
//! sends. Each default is a named constant saying why it has that value; [`Limits`] carries them so
//! tests can shorten the timeouts.

use std::time::Duration;

/// Largest request head (request line and headers) read; a larger one is answered 431 and the
/// connection closed. hyper buffers at most this much per connection (`max_buf_size`), so a
/// "200 MB header" costs at most this. kube-apiserver's webhook requests and Prometheus scrapes
/// send well under 2 KiB; 16 KiB leaves room for long bearer tokens.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Most header fields in one request (hyper answers 431 beyond it).
pub const MAX_HEADERS: usize = 64;

/// Largest webhook body; a larger one is answered 413. kube-apiserver's batching webhook sends
/// batches of at most 400 events by default; 64 MiB is what the endpoint always accepted, far
/// above any real batch, and bounds what one request can make the daemon hold.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Webhook bodies held at once, across every connection of the server, while they arrive and
/// until the audit worker has parsed them. Beyond it a request is answered 503 with
/// `Retry-After` (the API server's webhook backend retries): without it, `MAX_CONNECTIONS`
/// clients each sending [`MAX_BODY_BYTES`] would make the daemon hold gigabytes.
pub const MAX_BUFFERED_BODY_BYTES: usize = 3 * MAX_BODY_BYTES;

/// Time from the first byte of a request to the end of its head. A head is small: a client that
/// needs longer is slow on purpose (slowloris), and its connection is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Time from the first byte of a request (or of the TLS handshake) until its response is
/// written: head, body, handling and answer together, not per read, so a client sending a byte
/// every few seconds cannot keep a request alive. 64 MiB within 30 s needs about 2.2 MB/s, which
/// any API server on the cluster network has.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

/// How long a keep-alive connection may sit idle between requests (and a new connection before
/// its first byte). Go's HTTP client, which kube-apiserver uses, keeps idle connections 90 s and
/// reconnects when the server closed one; closing earlier only frees the slot sooner.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// Connections open at once on one listener; further ones are closed at accept. Each costs a
/// file descriptor and a few KiB; the daemon's own descriptors must never run out.
pub const MAX_CONNECTIONS: usize = 256;

/// Connections open at once from one client address on one listener. A hostile client on one
/// address (a compromised pod) then holds at most this many slots and cannot take every one
/// ([`MAX_CONNECTIONS`] is eight times as many): /healthz and the API server keep theirs.
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 32;

/// The server's runtime threads. Two, so that one busy request (a TLS handshake, encoding the
/// metrics) never holds a liveness probe; the work per request is small (bodies are parsed by
/// the audit worker, not here).
pub const RUNTIME_THREADS: usize = 2;

/// The nice increment of the server's threads: receiving a 64 MiB body is bulk work that must
/// not take the CPU from the syscall event loop (nice 0) on a busy machine; a probe still gets
/// its answer in microseconds of CPU.
pub const RUNTIME_NICE: i32 = 5;

/// The limits one server applies; [`Limits::default`] is the constants of this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub max_body_bytes: usize,
    pub max_buffered_body_bytes: usize,
    pub header_read_timeout: Duration,
    pub request_deadline: Duration,
    pub keepalive_idle: Duration,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: MAX_HEADER_BYTES,
            max_headers: MAX_HEADERS,
            max_body_bytes: MAX_BODY_BYTES,
            max_buffered_body_bytes: MAX_BUFFERED_BODY_BYTES,
            header_read_timeout: HEADER_READ_TIMEOUT,
            request_deadline: REQUEST_DEADLINE,
            keepalive_idle: KEEPALIVE_IDLE,
            max_connections: MAX_CONNECTIONS,
            max_connections_per_client: MAX_CONNECTIONS_PER_CLIENT,
        }
    }
}
