//! `palisade capture`: ask the running daemon to record what it sees into a Palisade capture
//! (format: `palisade_capture::recording`), for `palisade replay`. The daemon writes the file; this
//! command holds the request open and ends the capture on Ctrl-C, SIGTERM or `--duration`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use palisade_hook::{Reply, Request, PROTOCOL_VERSION};

/// Record live events into FILE: the daemon's view (process table, containers, and every
/// record its rules and profiles asked the kernel for), which `palisade replay -r RULES FILE`
/// evaluates again with identical alerts. Ctrl-C ends the capture; the file is complete then.
#[derive(Debug, Args)]
pub(crate) struct CaptureArgs {
    /// The file to create (it must not exist).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
    /// Stop after this long: `30s`, `5m`, `1h`, `250ms` (default: until Ctrl-C).
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Only this container's syscalls (full id, unique id prefix, or name; see `palisade
    /// containers`). Process starts and exits of the whole host stay in, for the process tree.
    #[arg(long, value_name = "ID")]
    container: Option<String>,
    /// The daemon's socket (`hook_socket` in its configuration).
    #[arg(long, default_value = "/run/palisade/hook.sock", value_name = "PATH")]
    socket: PathBuf,
}

/// `250ms`, `30s`, `5m`, `1h`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{text:?}: expected a number and a unit, as 30s or 5m"))?;
    let ms = match unit {
        "ms" => n,
        "" | "s" => n.saturating_mul(1000),
        "m" => n.saturating_mul(60_000),
        "h" => n.saturating_mul(3_600_000),
        other => return Err(format!("{text:?}: unknown unit {other:?} (ms, s, m, h)")),
    };
    if ms == 0 {
        return Err(format!("{text:?}: a capture needs a duration above zero"));
    }
    Ok(Duration::from_millis(ms))
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_owned());
    }
    Ok(std::env::current_dir().context("the current directory")?.join(p))
}

pub(crate) fn run(args: CaptureArgs) -> anyhow::Result<ExitCode> {
    let path = absolute(&args.output)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing signal handlers")?;
    }
    let stream = UnixStream::connect(&args.socket)
        .with_context(|| format!("connecting to the daemon at {} (is `palisade run` running?)", args.socket.display()))?;
    let request = Request::Capture {
        version: PROTOCOL_VERSION,
        path: path.display().to_string(),
        container: args.container.clone(),
        duration_ms: args.duration.map(|d| d.as_millis() as u64),
    };
    let mut line = serde_json::to_vec(&request)?;
    line.push(b'\n');
    (&stream).write_all(&line).context("sending the capture request")?;
    let mut replies = Replies { reader: BufReader::new(&stream), line: String::new() };
    match replies.next()? {
        Some(Reply::CaptureStarted { path, container }) => {
            let scope = container.map_or_else(|| "everything the daemon sees".to_owned(), |c| format!("container {c}"));
            let until = args.duration.map_or_else(|| "Ctrl-C".to_owned(), |d| format!("{d:?} or Ctrl-C"));
            eprintln!("palisade: capturing {scope} to {path} (until {until})");
        }
        Some(Reply::Error { message }) => bail!("the daemon refused the capture: {message}"),
        Some(other) => bail!("unexpected reply from the daemon: {other:?}"),
        None => bail!("the daemon closed the connection without starting the capture"),
    }
    // The daemon ends the capture by itself at --duration; a signal ends it early.
    stream.set_read_timeout(Some(Duration::from_millis(100))).context("socket timeout")?;
    let mut asked = false;
    loop {
        if stop.load(Ordering::Relaxed) && !asked {
            asked = true;
            let _ = (&stream).write_all(b"stop\n");
        }
        match replies.next() {
            Ok(Some(Reply::CaptureEnded { records, bytes, kernel_drops, reason })) => {
                eprintln!(
                    "palisade: capture ended ({reason}): {records} records, {bytes} bytes, {kernel_drops} kernel drops, in {}",
                    path.display()
                );
                return Ok(if kernel_drops > 0 || reason.starts_with("write error") { ExitCode::FAILURE } else { ExitCode::SUCCESS });
            }
            Ok(Some(Reply::Error { message })) => bail!("the daemon says: {message}"),
            Ok(Some(other)) => bail!("unexpected reply from the daemon: {other:?}"),
            Ok(None) => bail!("the daemon went away; {} holds what was written until then", path.display()),
            Err(e) if is_timeout(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}

fn is_timeout(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
}

/// Reads the daemon's reply lines.
struct Replies<'a> {
    reader: BufReader<&'a UnixStream>,
    /// What arrived of a line a timeout interrupted (`read_line` appends; nothing is lost).
    line: String,
}

impl Replies<'_> {
    /// The next reply; `None` at end of stream. Timeouts come back as `std::io::Error`s.
    fn next(&mut self) -> anyhow::Result<Option<Reply>> {
        let n = self.reader.read_line(&mut self.line)?;
        if n == 0 && self.line.is_empty() {
            return Ok(None);
        }
        let line = std::mem::take(&mut self.line);
        Ok(Some(serde_json::from_str(&line).with_context(|| format!("bad reply from the daemon: {line:?}"))?))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_with_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("5d").expect_err("unit").contains("unknown unit \"d\""));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("0s").expect_err("zero").contains("above zero"));
    }
}
