//! Falco's `syslog_output`: one datagram per alert to the local syslog socket.
//!
//! The message is RFC 3164's local form `<PRI>palisade[PID]: LINE`, where PRI is facility `user`
//! (1) times 8 plus the severity (the alert priority, 0 emergency .. 7 debug). The TIMESTAMP and HOSTNAME fields are
//! left out, as RFC 3164 §4.3 allows a sender to: the local daemon stamps the message on receipt
//! (journald and rsyslog's imuxsock ignore a sender's stamp by default), and std has no local-time
//! conversion for the stamp glibc's `syslog()` would write.
//!
//! The socket is unconnected, one `send_to` per alert, so a restarted syslog daemon is picked up
//! with no reconnect logic; a send that blocks longer than [`SEND_TIMEOUT`] (the daemon's queue is
//! full) fails rather than stalls.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

use crate::outputs::Sink;
use crate::{Message, SyslogSettings};

pub const DEFAULT_SYSLOG_SOCKET: &str = "/dev/log";

/// The tag (program name) of every message.
const TAG: &str = "palisade";
/// Facility `user`.
const FACILITY_USER: u8 = 1;
/// Bound on one send.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum SyslogError {
    #[error("syslog output: socket {path} is missing: {source}")]
    Missing { path: PathBuf, source: io::Error },
    #[error("syslog output: {path} is not a socket")]
    NotSocket { path: PathBuf },
    #[error("syslog output: cannot create a datagram socket: {0}")]
    Socket(io::Error),
    #[error("syslog output: cannot send to {path}: {source}")]
    Send { path: PathBuf, source: io::Error },
}

pub(crate) struct SyslogSink {
    socket: UnixDatagram,
    path: PathBuf,
    pid: u32,
}

impl SyslogSink {
    pub(crate) fn new(settings: &SyslogSettings) -> Result<Self, SyslogError> {
        let path = settings.socket.clone();
        let meta = path.metadata().map_err(|source| SyslogError::Missing { path: path.clone(), source })?;
        if !meta.file_type().is_socket() {
            return Err(SyslogError::NotSocket { path });
        }
        let socket = UnixDatagram::unbound().map_err(SyslogError::Socket)?;
        socket.set_write_timeout(Some(SEND_TIMEOUT)).map_err(SyslogError::Socket)?;
        Ok(SyslogSink { socket, path, pid: std::process::id() })
    }
}

/// The datagram of one alert.
pub(crate) fn format(priority: u8, pid: u32, line: &str) -> String {
    let pri = FACILITY_USER * 8 + priority.min(7);
    format!("<{pri}>{TAG}[{pid}]: {}", line.strip_suffix('\n').unwrap_or(line))
}

impl Sink for SyslogSink {
    type Error = SyslogError;

    fn deliver(&mut self, msg: &Message) -> Result<(), SyslogError> {
        let datagram = format(msg.priority, self.pid, &msg.line);
        self.socket
            .send_to(datagram.as_bytes(), &self.path)
            .map(drop)
            .map_err(|source| SyslogError::Send { path: self.path.clone(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pri_is_user_facility_plus_severity() {
        assert_eq!(format(0, 7, "boom"), "<8>palisade[7]: boom");
        assert_eq!(format(4, 7, "warn\n"), "<12>palisade[7]: warn");
        assert_eq!(format(7, 7, "dbg"), "<15>palisade[7]: dbg");
        assert_eq!(format(200, 7, "clamped"), "<15>palisade[7]: clamped");
    }

    #[test]
    fn refuses_missing_and_non_socket_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = SyslogSettings { socket: dir.path().join("log") };
        let err = SyslogSink::new(&missing).err().expect("an error");
        assert!(matches!(err, SyslogError::Missing { .. }), "{err}");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").expect("write");
        let err = SyslogSink::new(&SyslogSettings { socket: plain }).err().expect("an error");
        assert!(matches!(err, SyslogError::NotSocket { .. }), "{err}");
    }
}
