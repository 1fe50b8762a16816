//! One request, one reply, over the daemon's unix socket, bounded by a deadline.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::protocol::{Reply, Request};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connect {path}: {source}")]
    Connect { path: PathBuf, source: std::io::Error },
    #[error("no reply from {path} within {timeout:?}")]
    Timeout { path: PathBuf, timeout: Duration },
    #[error("talk to {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("bad reply from {path}: {source}")]
    Decode { path: PathBuf, source: serde_json::Error },
}

/// How often a hook tries again to reach a daemon that is not listening.
const RECONNECT_EVERY: Duration = Duration::from_millis(50);

/// Sends `req` to the daemon at `socket` and waits at most `timeout` in all for its reply.
///
/// A daemon that is not listening (no socket file, or a file nobody accepts on: the daemon is
/// restarting, e.g. its pod is replaced by a rolling update) is tried again every
/// [`RECONNECT_EVERY`] until the deadline: a container created while the daemon restarts is
/// armed by its successor instead of meeting the failure policy.
pub fn request(socket: &Path, req: &Request, timeout: Duration) -> Result<Reply, ClientError> {
    let deadline = Instant::now() + timeout;
    let io = |source: std::io::Error| {
        if matches!(source.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
            ClientError::Timeout { path: socket.to_owned(), timeout }
        } else {
            ClientError::Io { path: socket.to_owned(), source }
        }
    };
    let mut stream = connect(socket, deadline)?;
    let mut line = serde_json::to_vec(req).map_err(|source| ClientError::Decode { path: socket.to_owned(), source })?;
    line.push(b'\n');
    let remaining = || deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
    stream.set_write_timeout(Some(remaining())).map_err(io)?;
    match stream.write_all(&line) {
        // The daemon may refuse a connection (busy, or this peer may not use it) with a reply
        // before reading the request, and close: the reply is still there to read.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.map_err(io)?,
    }
    stream.set_read_timeout(Some(remaining())).map_err(io)?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).map_err(io)?;
    if reply.is_empty() {
        return Err(ClientError::Io {
            path: socket.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "daemon closed the connection"),
        });
    }
    serde_json::from_str(&reply).map_err(|source| ClientError::Decode { path: socket.to_owned(), source })
}

/// Connects to `socket`, trying again while nobody listens there, until `deadline`.
fn connect(socket: &Path, deadline: Instant) -> Result<UnixStream, ClientError> {
    loop {
        match UnixStream::connect(socket) {
            Ok(s) => return Ok(s),
            Err(e)
                if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused)
                    && Instant::now() + RECONNECT_EVERY < deadline =>
            {
                std::thread::sleep(RECONNECT_EVERY);
            }
            Err(source) => return Err(ClientError::Connect { path: socket.to_owned(), source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PROTOCOL_VERSION;
    use std::os::unix::net::UnixListener;

    fn socket_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("palisade-hook-test-{}-{name}.sock", std::process::id()))
    }

    #[test]
    fn round_trip() {
        let path = socket_path("rt");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind");
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().expect("accept");
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).expect("read");
            let req: Request = serde_json::from_str(&line).expect("decode");
            assert_eq!(req, Request::ListContainers { version: PROTOCOL_VERSION });
            (&s).write_all(b"{\"reply\":\"ok\"}\n").expect("write");
        });
        let reply = request(&path, &Request::ListContainers { version: PROTOCOL_VERSION }, Duration::from_secs(5))
            .expect("reply");
        assert_eq!(reply, Reply::Ok);
        server.join().expect("server");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn silent_daemon_times_out() {
        let path = socket_path("silent");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind");
        let held = std::thread::spawn(move || listener.accept().map(|(s, _)| {
            std::thread::sleep(Duration::from_millis(500));
            drop(s)
        }));
        let e = request(&path, &Request::ListContainers { version: 1 }, Duration::from_millis(100)).expect_err("timeout");
        assert!(matches!(e, ClientError::Timeout { .. }), "{e}");
        held.join().expect("join").expect("accept");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_restarting_daemon_is_waited_for_within_the_timeout() {
        // A stale socket file (the old daemon gone: connections refused), then the new daemon
        // binds the path 300 ms later and answers.
        let path = socket_path("restart");
        let _ = std::fs::remove_file(&path);
        drop(UnixListener::bind(&path).expect("bind the old daemon's socket"));
        let started = Instant::now();
        let path2 = path.clone();
        let server = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let _ = std::fs::remove_file(&path2);
            let listener = UnixListener::bind(&path2).expect("bind");
            let (s, _) = listener.accept().expect("accept");
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).expect("read");
            (&s).write_all(b"{\"reply\":\"ok\"}\n").expect("write");
        });
        let reply = request(&path, &Request::ListContainers { version: PROTOCOL_VERSION }, Duration::from_secs(30));
        assert_eq!(reply.expect("the successor's reply"), Reply::Ok);
        assert!(started.elapsed() >= Duration::from_millis(300));
        server.join().expect("server");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn absent_daemon_is_a_connect_error_naming_the_socket() {
        let e = request(Path::new("/nonexistent/hook.sock"), &Request::ListContainers { version: 1 }, Duration::from_millis(100))
            .expect_err("no daemon");
        assert!(e.to_string().starts_with("connect /nonexistent/hook.sock"), "{e}");
    }
}
