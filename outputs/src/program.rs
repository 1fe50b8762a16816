//! Falco's `program_output`: `/bin/sh -c COMMAND` (as `popen` runs it) reading one line per alert on its stdin.
//!
//! With `keep_alive` one process gets every alert through one pipe, a batch in one write. Before
//! each batch its exit is checked; a dead process (or a write that fails on a broken pipe) is
//! replaced — at most once per batch, logged — and the rest of the batch is written to the new
//! process, so a program that always dies costs one spawn per batch, never a loop. Without
//! `keep_alive` each alert spawns a process, writes the line, closes stdin and waits for the
//! exit, as Falco's `popen`/`pclose` does; a non-zero exit counts as a failure.
//!
//! Process groups: every program runs in its own process group, and the group — not only `sh` —
//! is killed when the program is replaced, when `stop` aborts a blocked delivery, and at the end
//! of the worker, so nothing the program started (`sh -c 'sleep 1000'`'s `sleep`, a pipeline's
//! stages) outlives it or the daemon.
//!
//! Unread alerts: a write into a pipe succeeds once the bytes are in the pipe's buffer, not once
//! the program read them. Before a kept-alive program is ended, the bytes still in its pipe
//! (`FIONREAD`) tell which of the alerts counted delivered it never read; those are counted
//! failed instead ([`Sink::close`]'s return). At the end of the worker the program first gets
//! [`EXIT_GRACE`] to read what is in its pipe.
//!
//! The current child sits in a shared slot so that `stop` can kill its group when a delivery
//! blocks past the stop timeout (a program that does not read its stdin); the worker therefore
//! polls for the exit instead of blocking in `wait` with the slot locked.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::outputs::{Abort, Delivery, Sink};
use crate::queue::RateLimit;
use crate::stdout::{terminated, write_counted, Lines};
use crate::{Message, ProgramSettings, REPORT_INTERVAL};

/// How long the end of the worker lets a kept-alive program read its pipe, then exit after its
/// stdin closed, before its group is killed.
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

/// Kills the process group led by `child` (it was spawned with `process_group(0)`, so its pid
/// is the group id). A group already gone is fine.
fn kill_group(child: &Child) {
    if let Some(pid) = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// The kept-alive program's pipe: what went in, to tell which alerts it never read.
struct Pipe {
    stdin: ChildStdin,
    /// Bytes written into the pipe so far.
    written: u64,
    /// End offsets (in `written`'s count) of the alerts counted delivered that may still sit in
    /// the pipe: older ones are trimmed once more than the pipe's capacity was written after them.
    ends: VecDeque<u64>,
    capacity: u64,
}

impl Pipe {
    fn new(stdin: ChildStdin) -> Pipe {
        let capacity = rustix::pipe::fcntl_getpipe_size(&stdin).map_or(1 << 20, |n| n as u64);
        Pipe { stdin, written: 0, ends: VecDeque::new(), capacity }
    }

    /// Notes `lines` written up to `written` bytes of their buffer, `delivered` of them whole.
    fn note(&mut self, lines: &Lines, from: usize, written: usize, delivered: usize) {
        let base = self.written - from as u64;
        for n in lines.complete(from)..delivered {
            self.ends.push_back(base + lines.ends[n] as u64);
        }
        self.written += (written - from) as u64;
        let floor = self.written.saturating_sub(self.capacity);
        while self.ends.front().is_some_and(|&end| end <= floor) {
            self.ends.pop_front();
        }
    }

    /// Bytes still in the pipe.
    fn unread_bytes(&self) -> u64 {
        rustix::io::ioctl_fionread(&self.stdin).unwrap_or(0)
    }

    /// Alerts counted delivered whose line is not wholly read yet.
    fn unread_alerts(&self) -> u64 {
        let read = self.written.saturating_sub(self.unread_bytes());
        self.ends.iter().filter(|&&end| end > read).count() as u64
    }
}

pub(crate) struct ProgramSink {
    command: String,
    keep_alive: bool,
    child: Slot,
    /// The kept-alive process's stdin.
    pipe: Option<Pipe>,
    /// Alerts counted delivered that an ended program never read.
    unread: u64,
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
            pipe: None,
            unread: 0,
            aborted: Arc::new(AtomicBool::new(false)),
            restarts: RateLimit::new(REPORT_INTERVAL),
        };
        if sink.keep_alive {
            sink.spawn()?;
        }
        Ok(sink)
    }

    /// Starts the program, in its own process group, into the slot and keeps its stdin.
    fn spawn(&mut self) -> Result<(), ProgramError> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|source| ProgramError::Spawn { command: self.command.clone(), source })?;
        self.pipe = child.stdin.take().map(Pipe::new);
        *lock(&self.child) = Some(child);
        Ok(())
    }

    fn write_error(&self, source: io::Error) -> ProgramError {
        ProgramError::Write { command: self.command.clone(), source }
    }

    /// Writes `lines` from byte `from` on; returns how many lines are now wholly written.
    fn write_lines(&mut self, lines: &Lines, from: usize) -> Result<usize, (usize, ProgramError)> {
        let Some(pipe) = self.pipe.as_mut() else {
            let delivered = lines.complete(from);
            return Err((delivered, self.write_error(io::Error::new(io::ErrorKind::BrokenPipe, "no stdin"))));
        };
        let result = write_counted(&mut pipe.stdin, &lines.buf[from..]);
        let written = from + result.as_ref().err().map_or(lines.buf.len() - from, |(n, _)| *n);
        let delivered = lines.complete(written);
        pipe.note(lines, from, written, delivered);
        match result {
            Ok(()) => Ok(delivered),
            Err((_, source)) => Err((delivered, self.write_error(source))),
        }
    }

    /// The exit status of the child in the slot, if it has exited (then the slot is emptied).
    fn exited(&self) -> Result<Option<ExitStatus>, ProgramError> {
        let mut slot = lock(&self.child);
        let Some(child) = slot.as_mut() else { return Ok(None) };
        match child.try_wait() {
            Ok(Some(status)) => {
                kill_group(child); // what it left behind in its group
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

    fn deliver_kept_alive(&mut self, batch: &[Arc<Message>]) -> Delivery<ProgramError> {
        let total = batch.len() as u64;
        let failed = |delivered: usize, error| Delivery {
            delivered: delivered as u64,
            failed: total - delivered as u64,
            error: Some(error),
        };
        let ready = if self.pipe.is_none() {
            self.restart("not running", None)
        } else {
            match self.exited() {
                Ok(Some(status)) => self.restart("exited", Some(status)),
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            }
        };
        if let Err(error) = ready {
            return failed(0, error);
        }
        let lines = Lines::of(batch);
        let delivered = match self.write_lines(&lines, 0) {
            Ok(delivered) => return Delivery { delivered: delivered as u64, failed: 0, error: None },
            Err((delivered, error)) => {
                if self.aborted.load(Ordering::Relaxed) {
                    return failed(delivered, ProgramError::Aborted { command: self.command.clone() });
                }
                let status = match self.exited() {
                    Ok(status) => status,
                    Err(e) => return failed(delivered, e),
                };
                if let Err(e) = self.restart(&error.to_string(), status) {
                    return failed(delivered, e);
                }
                delivered
            }
        };
        // The rest of the batch, from its first line not wholly written, to the new process.
        let from = lines.start(delivered);
        match self.write_lines(&lines, from) {
            Ok(all) => Delivery { delivered: all as u64, failed: 0, error: None },
            Err((some, error)) => failed(some, error),
        }
    }

    fn deliver_once(&mut self, line: &[u8]) -> Result<(), ProgramError> {
        self.spawn()?;
        let written = match self.pipe.as_mut() {
            Some(pipe) => pipe.stdin.write_all(line).map_err(|e| self.write_error(e)),
            None => Err(self.write_error(io::Error::new(io::ErrorKind::BrokenPipe, "no stdin"))),
        };
        self.pipe = None; // EOF
        let status = self.wait(None)?;
        written?;
        match status {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(ProgramError::Exit { command: self.command.clone(), status }),
            None => Err(ProgramError::Aborted { command: self.command.clone() }),
        }
    }

    /// Lets the program read its pipe for at most `limit`; returns when it is empty, the program
    /// has exited, or `stop` aborted it.
    fn let_it_read(&self, limit: Duration) {
        let start = Instant::now();
        while let Some(pipe) = &self.pipe {
            let dead = lock(&self.child).as_mut().is_none_or(|c| !matches!(c.try_wait(), Ok(None)));
            if pipe.unread_bytes() == 0 || dead || self.aborted.load(Ordering::Relaxed) || start.elapsed() >= limit {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Counts what the program left unread, kills its process group and reaps it.
    fn kill(&mut self) {
        if let Some(pipe) = self.pipe.take() {
            self.unread += pipe.unread_alerts();
        }
        if let Some(mut child) = lock(&self.child).take() {
            kill_group(&child);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Sink for ProgramSink {
    type Error = ProgramError;

    fn deliver(&mut self, msg: &Message) -> Result<(), ProgramError> {
        if self.keep_alive {
            let batch = [Arc::new(msg.clone())];
            return match self.deliver_kept_alive(&batch).error {
                None => Ok(()),
                Some(e) => Err(e),
            };
        }
        self.deliver_once(&terminated(&msg.line))
    }

    fn deliver_batch(&mut self, batch: &[Arc<Message>]) -> Delivery<ProgramError> {
        if self.keep_alive {
            return self.deliver_kept_alive(batch);
        }
        Delivery::each(batch, |msg| self.deliver_once(&terminated(&msg.line)))
    }

    fn close(&mut self) -> u64 {
        self.let_it_read(EXIT_GRACE);
        let unread = self.pipe.as_ref().map_or(0, Pipe::unread_alerts);
        self.unread += unread;
        self.pipe = None; // EOF: let the program finish its output
        let grace = if self.aborted.load(Ordering::Relaxed) { Duration::ZERO } else { EXIT_GRACE };
        match self.wait(Some(grace)) {
            Ok(Some(status)) if !status.success() => {
                info!(output = "program", command = %self.command, %status, "program exited");
            }
            Ok(_) => {}
            Err(error) => warn!(output = "program", %error, "program exit unknown"),
        }
        self.kill();
        std::mem::take(&mut self.unread)
    }

    fn abort_handle(&self) -> Option<Abort> {
        let child = Arc::clone(&self.child);
        let aborted = Arc::clone(&self.aborted);
        Some(Box::new(move || {
            aborted.store(true, Ordering::Relaxed);
            if let Some(child) = lock(&child).as_mut() {
                kill_group(child);
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
