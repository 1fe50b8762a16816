//! Saying why a container was refused, where its caller will read it.
//!
//! containerd's runc shim passes `--log <bundle>/log.json --log-format json` and, when runc
//! fails, reports the last `"level":"error"` line of that file; without one it only says
//! "unable to retrieve OCI runtime error". So a refusal is written there as runc itself would
//! (one JSON line `{"level":"error","msg":…,"time":RFC3339}`, or logrus's text format for
//! `--log-format text`), and always to stderr. Every message starts with `palisade:` so that a
//! user reading containerd's error knows who refused, followed by the reason.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::args;

/// Where runc was told to log, from the global flags of `argv` (without argv\[0\]).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RuncLog {
    pub path: Option<PathBuf>,
    pub json: bool,
}

impl RuncLog {
    pub(crate) fn from_argv(argv: &[OsString]) -> RuncLog {
        RuncLog {
            path: args::global_value(argv, "log").map(PathBuf::from),
            json: args::global_value(argv, "log-format").is_some_and(|f| f == "json"),
        }
    }

    /// Reports `message` (which must start with `palisade:`) as an error: stderr, and the runc log
    /// when there is one. A log that cannot be written is said on stderr; the refusal stands.
    pub(crate) fn error(&self, message: &str) {
        eprintln!("{message}");
        let Some(path) = &self.path else { return };
        let line = if self.json {
            let mut l = serde_json::json!({"level": "error", "msg": message, "time": rfc3339_now()}).to_string();
            l.push('\n');
            l
        } else {
            format!("time=\"{}\" level=error msg={}\n", rfc3339_now(), serde_json::Value::from(message))
        };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            eprintln!("palisade: cannot write the refusal to {}: {e}", path.display());
        }
    }
}

/// Now, as runc's logrus writes it (UTC, seconds).
fn rfc3339_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    rfc3339(secs)
}

/// `secs` since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, days-to-civil).
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_558_135), "2026-12-06T11:55:35Z");
    }

    #[test]
    fn the_log_flags() {
        let argv: Vec<OsString> = "--root /r --log=/b/log.json --log-format json create c1"
            .split_whitespace()
            .map(OsString::from)
            .collect();
        assert_eq!(RuncLog::from_argv(&argv), RuncLog { path: Some("/b/log.json".into()), json: true });
        let argv: Vec<OsString> = ["create", "--log", "x", "c1"].map(OsString::from).to_vec();
        assert_eq!(RuncLog::from_argv(&argv), RuncLog::default(), "a flag after the command is not runc's --log");
    }
}
