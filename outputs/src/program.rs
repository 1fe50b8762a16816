//! Falco's `program_output`: `/bin/sh -c COMMAND` (as `popen` runs it) reading one line per alert on its stdin.
//!
//! With `keep_alive` one process gets every alert through one pipe. Before each alert its exit is
//! checked; a dead process (or a write that fails on a broken pipe) is restarted — at most once
//! per alert, logged — and that alert is written to the new process, so a program that always
//! dies costs one spawn per alert, never a loop. Without `keep_alive` each alert spawns a process,
//! writes the line, closes stdin and waits for the exit, as Falco's `popen`/`pclose` does; a
//! non-zero exit counts as a failure.
//!
//! The current child sits in a shared slot so that `stop` can kill it when a delivery blocks past
//! the stop timeout (a program that does not read its stdin); the worker therefore polls for the
//! exit instead of blocking in `wait` with the slot locked. Only `sh` itself is killed: a program
//! that forks children keeping the pipe open should `exec` its reader.

use std::io::{self, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::outputs::{Abort, Sink};
use crate::queue::RateLimit;
use crate::stdout::terminated;
use crate::{Message, ProgramSettings, REPORT_INTERVAL};

/// How long `close` waits for a kept-alive program to exit after its stdin closed before it kills it.
const EXIT_GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("program output: no program given")]
    NoCommand,
    #[error("program output: cannot start `/bin/sh -c {command}`: {source}")]
    Spawn { command: String, source: io::Error },
    #[error("program output: cannot write to `{command}`: {source}")]
    Write { command: String, source: io::Error },
    #[error("program output: `{command}` exited with {status}")]
    Exit { command: String, status: ExitStatus },
    #[error("program output: cannot wait for `{command}`: {source}")]
    Wait { command: String, source: io::Error },
    #[error("program output: `{command}` killed at stop")]
    Aborted { command: String },
}

type Slot = Arc<Mutex<Option<Child>>>;

fn lock(slot: &Slot) -> MutexGuard<'_, Option<Child>> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct ProgramSink {
    command: String,
    keep_alive: bool,
    child: Slot,
    /// The kept-alive process's stdin.
    stdin: Option<ChildStdin>,
    aborted: Arc<AtomicBool>,
    restarts: RateLimit,
}

impl ProgramSink {
    pub(crate) fn new(settings: &ProgramSettings) -> Result<Self, ProgramError> {
        if settings.command.trim().is_empty() {
            return Err(ProgramError::NoCommand);
        }
        let mut sink = ProgramSink {
            command: settings.command.clone(),
            keep_alive: settings.keep_alive,
            child: Arc::new(Mutex::new(None)),
            stdin: None,
            aborted: Arc::new(AtomicBool::new(false)),
            restarts: RateLimit::new(REPORT_INTERVAL),
        };
        if sink.keep_alive {
            sink.spawn()?;
        }
        Ok(sink)
    }

    /// Starts the program into the slot and keeps its stdin.
    fn spawn(&mut self) -> Result<(), ProgramError> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|source| ProgramError::Spawn { command: self.command.clone(), source })?;
        self.stdin = child.stdin.take();
        *lock(&self.child) = Some(child);
        Ok(())
    }

    fn write(&mut self, line: &[u8]) -> Result<(), ProgramError> {
        let stdin = self.stdin.as_mut().ok_or_else(|| ProgramError::Write {
            command: self.command.clone(),
            source: io::Error::new(io::ErrorKind::BrokenPipe, "no stdin"),
        })?;
        stdin
            .write_all(line)
            .map_err(|source| ProgramError::Write { command: self.command.clone(), source })
    }

    /// The exit status of the child in the slot, if it has exited (then the slot is emptied).
    fn exited(&self) -> Result<Option<ExitStatus>, ProgramError> {
        let mut slot = lock(&self.child);
        let Some(child) = slot.as_mut() else { return Ok(None) };
        match child.try_wait() {
            Ok(Some(status)) => {
                *slot = None;
                Ok(Some(status))
            }
            Ok(None) => Ok(None),
            Err(source) => Err(ProgramError::Wait { command: self.command.clone(), source }),
        }
    }

    /// Waits for the child in the slot to exit, for at most `limit` (`None`: no limit).
    fn wait(&self, limit: Option<Duration>) -> Result<Option<ExitStatus>, ProgramError> {
        let start = Instant::now();
        let mut pause = Duration::from_micros(100);
        loop {
            if lock(&self.child).is_none() {
                return Ok(None);
            }
            if let Some(status) = self.exited()? {
                return Ok(Some(status));
            }
            if limit.is_some_and(|limit| start.elapsed() >= limit) {
                return Ok(None);
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    fn restart(&mut self, why: &str, status: Option<ExitStatus>) -> Result<(), ProgramError> {
        if self.aborted.load(Ordering::Relaxed) {
            return Err(ProgramError::Aborted { command: self.command.clone() });
        }
        if let Some(restarts) = self.restarts.hit(1, Instant::now()) {
            let status = status.map(|s| s.to_string());
            warn!(output = "program", command = %self.command, why, status, restarts, "restarting program");
        }
        self.kill();
        self.spawn()
    }

    fn deliver_kept_alive(&mut self, line: &[u8]) -> Result<(), ProgramError> {
        if self.stdin.is_none() {
            self.restart("not running", None)?;
        } else if let Some(status) = self.exited()? {
            self.restart("exited", Some(status))?;
        }
        match self.write(line) {
            Ok(()) => Ok(()),
            Err(error) => {
                if self.aborted.load(Ordering::Relaxed) {
                    return Err(ProgramError::Aborted { command: self.command.clone() });
                }
                let status = self.exited()?;
                self.restart(&error.to_string(), status)?;
                self.write(line)
            }
        }
    }

    fn deliver_once(&mut self, line: &[u8]) -> Result<(), ProgramError> {
        self.spawn()?;
        let written = self.write(line);
        self.stdin = None; // EOF
        let status = self.wait(None)?;
        written?;
        match status {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(ProgramError::Exit { command: self.command.clone(), status }),
            None => Err(ProgramError::Aborted { command: self.command.clone() }),
        }
    }

    /// Kills and reaps the child in the slot, if any.
    fn kill(&mut self) {
        self.stdin = None;
        if let Some(mut child) = lock(&self.child).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Sink for ProgramSink {
    type Error = ProgramError;

    fn deliver(&mut self, msg: &Message) -> Result<(), ProgramError> {
        let line = terminated(&msg.line);
        if self.keep_alive {
            self.deliver_kept_alive(&line)
        } else {
            self.deliver_once(&line)
        }
    }

    fn close(&mut self) {
        self.stdin = None; // EOF: let the program finish its output
        match self.wait(Some(EXIT_GRACE)) {
            Ok(Some(status)) if !status.success() => {
                info!(output = "program", command = %self.command, %status, "program exited");
            }
            Ok(_) => {}
            Err(error) => warn!(output = "program", %error, "program exit unknown"),
        }
        self.kill();
    }

    fn abort_handle(&self) -> Option<Abort> {
        let child = Arc::clone(&self.child);
        let aborted = Arc::clone(&self.aborted);
        Some(Box::new(move || {
            aborted.store(true, Ordering::Relaxed);
            if let Some(child) = lock(&child).as_mut() {
                let _ = child.kill();
            }
        }))
    }
}

impl Drop for ProgramSink {
    fn drop(&mut self) {
        self.kill();
    }
}
