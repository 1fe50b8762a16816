//! Running helper commands with a deadline and capturing their output, so that a hung `ctr` fails a
//! test with evidence instead of hanging it.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output, lossily decoded. For a command run on a terminal this is everything it wrote
    /// (stdout and stderr share the terminal), with line ends turned back into `\n`.
    pub stdout: String,
    /// Standard error, lossily decoded (empty for a command run on a terminal).
    pub stderr: String,
}

impl CmdOutput {
    /// `true` when the exit status is 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// A printable command line (program and arguments) for error messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn reader<R: Read + Send + 'static>(mut r: R) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error (EIO on a pty master once the slave side closes) ends the output.
        let mut chunk = [0u8; 8192];
        loop {
            match r.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf
    })
}

/// Waits for `child` until `deadline`; kills it (SIGKILL) when the deadline passes.
pub fn wait_deadline(child: &mut Child, what: &str, timeout: Duration) -> Result<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Timeout { what: what.to_string(), after: timeout, detail: String::new() });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(Error::io(format!("wait for {what}"), e)),
        }
    }
}

/// Runs `cmd` with `stdin` bytes (or an empty stdin), capturing stdout and stderr; kills it after
/// `timeout`. The exit status is not checked (see [`run_ok`]).
pub fn run(cmd: &mut Command, stdin: Option<std::sync::Arc<Vec<u8>>>, timeout: Duration) -> Result<CmdOutput> {
    let what = describe(cmd);
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| Error::io(format!("spawn {what}"), e))?;
    let writer = match (stdin, child.stdin.take()) {
        (Some(bytes), Some(mut pipe)) => Some(std::thread::spawn(move || pipe.write_all(&bytes))),
        _ => None,
    };
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    let status = wait_deadline(&mut child, &what, timeout);
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    let status = match status {
        Ok(s) => s,
        Err(Error::Timeout { what, after, .. }) => {
            return Err(Error::Timeout { what, after, detail: format!("\nstdout: {stdout}\nstderr: {stderr}") })
        }
        Err(e) => return Err(e),
    };
    if let Some(Ok(Err(e))) = writer.map(|w| w.join()) {
        if status.success() {
            return Err(Error::io(format!("write stdin of {what}"), e));
        }
    }
    Ok(CmdOutput { status, stdout, stderr })
}

/// Like [`run`] but a non-zero exit is an [`Error::Command`] carrying stderr.
pub fn run_ok(cmd: &mut Command, stdin: Option<std::sync::Arc<Vec<u8>>>, timeout: Duration) -> Result<CmdOutput> {
    let what = describe(cmd);
    let out = run(cmd, stdin, timeout)?;
    if !out.status.success() {
        return Err(Error::Command { what, status: out.status, stderr: out.stderr, stdout: out.stdout });
    }
    Ok(out)
}

/// Runs `cmd` with a new pseudo-terminal as its stdin, stdout and stderr, so that programs that insist
/// on a terminal (`ctr run -t`) work. Returns everything written to the terminal as `stdout`.
pub fn run_on_pty(cmd: &mut Command, timeout: Duration) -> Result<CmdOutput> {
    let what = describe(cmd);
    let pty =
        nix::pty::openpty(None, None).map_err(|e| Error::io(format!("openpty for {what}"), std::io::Error::from(e)))?;
    let dup = |fd: &std::os::fd::OwnedFd| fd.try_clone().map_err(|e| Error::io("dup pty slave", e));
    cmd.stdin(Stdio::from(dup(&pty.slave)?)).stdout(Stdio::from(dup(&pty.slave)?)).stderr(Stdio::from(pty.slave));
    let mut child = cmd.spawn().map_err(|e| Error::io(format!("spawn {what}"), e))?;
    // `cmd` still holds the parent's copies of the slave side: replace them so that the master sees EIO
    // once the child (the only other holder) exits.
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let out = reader(std::fs::File::from(pty.master));
    let status = wait_deadline(&mut child, &what, timeout);
    let bytes = out.join().unwrap_or_default();
    // Both the container's terminal and ours turn "\n" into "\r\n": the output comes as "\r\r\n".
    let mut stdout = String::from_utf8_lossy(&bytes).into_owned();
    while stdout.contains("\r\n") {
        stdout = stdout.replace("\r\n", "\n");
    }
    match status {
        Ok(status) => Ok(CmdOutput { status, stdout, stderr: String::new() }),
        Err(Error::Timeout { what, after, .. }) => {
            Err(Error::Timeout { what, after, detail: format!("\noutput: {stdout}") })
        }
        Err(e) => Err(e),
    }
}
