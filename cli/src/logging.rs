//! The daemon's own messages (not alerts): `tracing` events with fields, written per Falco's
//! `log_level`, `log_stderr` and `log_syslog`, as text or JSON lines (`log_format`,
//! `--log-format`). No ANSI colours unless stderr is a terminal, so journald and log files
//! store plain lines. `PALISADE_LOG` (an `EnvFilter`, e.g. `palisade_daemon=debug`) overrides
//! `log_level` when set.

use std::io::Write;
use std::os::unix::net::UnixDatagram;

use palisade_daemon::config::{Config, LogFormat};
use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Where syslog listens.
const SYSLOG_SOCKET: &str = "/dev/log";
/// The syslog facility of the daemon's messages (LOG_DAEMON).
const FACILITY_DAEMON: u8 = 3;

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The filter: `PALISADE_LOG` when set, else the configured level.
fn filter(level: &str) -> EnvFilter {
    EnvFilter::try_from_env("PALISADE_LOG").unwrap_or_else(|_| EnvFilter::new(level))
}

/// Logging for the commands other than `run`: info and up to stderr, as text.
pub(crate) fn init_default() {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    let _ = tracing_subscriber::registry().with(filter("info")).with(stderr).try_init();
}

/// Logging for `palisade run`, per the configuration.
pub(crate) fn init(config: &Config) {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut layers: Vec<BoxedLayer> = Vec::new();
    if config.log_stderr {
        let base = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
        layers.push(match config.log_format {
            LogFormat::Text => base.with_ansi(ansi).boxed(),
            LogFormat::Json => base.json().with_ansi(false).boxed(),
        });
    }
    if config.log_syslog {
        let syslog = syslog_layer(Syslog::connect(SYSLOG_SOCKET));
        layers.push(syslog.boxed());
    }
    let level = config.log_level.tracing_filter();
    let _ = tracing_subscriber::registry().with(layers.with_filter(filter(level))).try_init();
}

/// Plain lines without time (syslog stamps time and host itself).
fn syslog_layer(syslog: Syslog) -> BoxedLayer {
    tracing_subscriber::fmt::layer().with_writer(syslog).with_ansi(false).without_time().boxed()
}

/// Sends each message as one datagram to `/dev/log` (RFC 3164 framing, LOG_DAEMON). Without a
/// syslog socket messages are dropped: logging must never stop the daemon.
struct Syslog {
    socket: Option<UnixDatagram>,
}

impl Syslog {
    fn connect(path: &str) -> Syslog {
        let socket = UnixDatagram::unbound().and_then(|s| s.connect(path).map(|()| s)).ok();
        Syslog { socket }
    }
}

/// syslog severity of a `tracing` level.
fn severity(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

impl<'a> MakeWriter<'a> for Syslog {
    type Writer = SyslogLine<'a>;

    fn make_writer(&'a self) -> SyslogLine<'a> {
        SyslogLine { socket: self.socket.as_ref(), severity: 6, buf: Vec::new() }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> SyslogLine<'a> {
        SyslogLine { socket: self.socket.as_ref(), severity: severity(meta.level()), buf: Vec::new() }
    }
}

/// One message, sent when the formatter is done with it.
struct SyslogLine<'a> {
    socket: Option<&'a UnixDatagram>,
    severity: u8,
    buf: Vec<u8>,
}

impl Write for SyslogLine<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine<'_> {
    fn drop(&mut self) {
        let Some(socket) = self.socket else { return };
        let text = String::from_utf8_lossy(&self.buf);
        let line = format!(
            "<{}>palisade[{}]: {}",
            FACILITY_DAEMON * 8 + self.severity,
            std::process::id(),
            text.trim_end()
        );
        let _ = socket.send(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message reaches the syslog socket as one RFC 3164 datagram, LOG_DAEMON, with the
    /// severity of its level and its fields.
    #[test]
    fn syslog_datagrams_carry_facility_severity_and_fields() {
        let path = std::env::temp_dir().join(format!("palisade-syslog-test-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).expect("bind");
        server.set_read_timeout(Some(std::time::Duration::from_secs(5))).expect("timeout");
        let subscriber = tracing_subscriber::registry().with(syslog_layer(Syslog::connect(&path.to_string_lossy())));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(lost = 3, "syscall event drops");
            tracing::error!("boom");
        });
        let mut buf = [0u8; 512];
        let mut next = || {
            let n = server.recv(&mut buf).expect("a datagram");
            String::from_utf8_lossy(&buf[..n]).into_owned()
        };
        let pid = std::process::id();
        assert_eq!(next(), format!("<28>palisade[{pid}]:  WARN palisade::logging::tests: syscall event drops lost=3"));
        assert_eq!(next(), format!("<27>palisade[{pid}]: ERROR palisade::logging::tests: boom"));
        let _ = std::fs::remove_file(&path);
    }
}
