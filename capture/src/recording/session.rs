//! Captures in a running daemon. The hook socket's thread opens the file and asks
//! ([`Control::Start`]); the event loop, which owns the process table and sees every record,
//! writes the capture ([`Captures`]) and tells the asking thread how it went
//! ([`Progress`]). Several captures may run at once, each with its own filter and end.
//!
//! Writes go through a 1 MiB buffer on the event loop's thread: a capture costs the loop an
//! encode and a memcpy per record, and a `write` per MiB.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{CapturedContainer, End, FrameKind, Meta, UserLists, Writer};
use palisade_events::containers::ContainerMeta;
use palisade_events::record::Record;
use palisade_events::process::{ProcessTable, Users};

/// What the socket thread asks of the event loop.
#[derive(Debug)]
pub enum Control {
    /// Start writing a capture to `file`.
    Start {
        id: u64,
        file: File,
        path: String,
        /// Only this container's syscalls (full id).
        container: Option<String>,
        duration: Option<Duration>,
        progress: Sender<Progress>,
    },
    /// End capture `id` (the client asked, or went away).
    Stop { id: u64 },
}

/// What the event loop reports back about one capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The first frames are written.
    Started,
    /// It could not start (the first frames could not be written).
    Failed(String),
    /// It ended; the file is complete.
    Ended { end: End, bytes: u64 },
}

/// What every capture's `META` frame says of the daemon.
#[derive(Debug, Clone, Default)]
pub struct DaemonFacts {
    pub hostname: String,
    pub boot_to_wall_ns: u64,
    pub rules_files: Vec<String>,
    pub host_monitoring: bool,
}

struct Session {
    id: u64,
    writer: Writer<BufWriter<File>>,
    container: Option<String>,
    deadline: Option<Instant>,
    progress: Sender<Progress>,
    records: u64,
    drops_at_start: u64,
    /// The container metadata last written per cgroup, compared by identity: the registry
    /// replaces the `Arc` whenever it learns more. (Held, so an address is never reused.)
    written: HashMap<u64, Arc<ContainerMeta>>,
    failed: Option<String>,
}

impl Session {
    fn write(&mut self, rec: &Record, container: Option<&Arc<ContainerMeta>>) {
        if let (Some(want), Record::Syscall(_)) = (&self.container, rec) {
            if container.is_none_or(|c| &c.full_id != want) {
                return;
            }
        }
        let r = (|| {
            if let Some(c) = container {
                let cgroup = rec.header().cgroup_id;
                if !self.written.get(&cgroup).is_some_and(|w| Arc::ptr_eq(w, c)) {
                    self.writer.json(FrameKind::Container, &CapturedContainer::new(cgroup, c))?;
                    self.written.insert(cgroup, Arc::clone(c));
                }
            }
            self.writer.record(rec)
        })();
        match r {
            Ok(()) => self.records += 1,
            Err(e) => self.failed = Some(format!("write error: {e}")),
        }
    }

    fn end(mut self, reason: String, now_ns: u64, drops: u64) {
        let end = End { ended_ns: now_ns, reason, records: self.records, kernel_drops: drops.saturating_sub(self.drops_at_start) };
        let written = self.writer.json(FrameKind::End, &end);
        let bytes = self.writer.bytes();
        let end = match written.and_then(|()| self.writer.finish().map(drop)) {
            Ok(()) => end,
            Err(e) => End { reason: format!("{} (and the end could not be written: {e})", end.reason), ..end },
        };
        tracing::info!(capture = self.id, records = end.records, bytes, reason = %end.reason, "capture ended");
        let _ = self.progress.send(Progress::Ended { end, bytes });
    }
}

/// The captures running in the daemon, kept by its event loop.
pub struct Captures {
    control: Receiver<Control>,
    sessions: Vec<Session>,
}

impl Captures {
    /// Captures started through `control`.
    pub fn new(control: Receiver<Control>) -> Captures {
        Captures { control, sessions: Vec::new() }
    }

    /// Whether any capture runs (the per-record fast path).
    pub fn is_active(&self) -> bool {
        !self.sessions.is_empty()
    }

    /// Takes in start and stop requests, and ends the captures whose duration has passed or
    /// whose file failed. `now_ns` is wall-clock ns; `drops` reads the kernel's drop count so
    /// far (a map read: only when a capture starts or ends).
    pub fn poll(&mut self, facts: &DaemonFacts, table: &ProcessTable, users: &Users, now_ns: u64, drops: impl Fn() -> u64) {
        while let Ok(c) = self.control.try_recv() {
            match c {
                Control::Start { id, file, path, container, duration, progress } => {
                    let meta = Meta {
                        palisade_version: env!("CARGO_PKG_VERSION").into(),
                        hostname: facts.hostname.clone(),
                        boot_to_wall_ns: facts.boot_to_wall_ns,
                        started_ns: now_ns,
                        container: container.clone().unwrap_or_default(),
                        rules_files: facts.rules_files.clone(),
                        host_monitoring: facts.host_monitoring,
                    };
                    let processes: Vec<&palisade_events::process::Process> = table.processes().collect();
                    let started = Writer::new(BufWriter::with_capacity(1 << 20, file)).and_then(|mut w| {
                        w.json(FrameKind::Meta, &meta)?;
                        w.json(FrameKind::Processes, &processes)?;
                        w.json(FrameKind::Users, &UserLists::from(users))?;
                        Ok(w)
                    });
                    match started {
                        Ok(writer) => {
                            tracing::info!(capture = id, path = %path, container = ?container, "capture started");
                            let _ = progress.send(Progress::Started);
                            self.sessions.push(Session {
                                id,
                                writer,
                                container,
                                deadline: duration.map(|d| Instant::now() + d),
                                progress,
                                records: 0,
                                drops_at_start: drops(),
                                written: HashMap::new(),
                                failed: None,
                            });
                        }
                        Err(e) => {
                            let _ = progress.send(Progress::Failed(format!("writing {path}: {e}")));
                        }
                    }
                }
                Control::Stop { id } => {
                    if let Some(i) = self.sessions.iter().position(|s| s.id == id) {
                        self.sessions.swap_remove(i).end("stopped".into(), now_ns, drops());
                    }
                }
            }
        }
        let now = Instant::now();
        let mut i = 0;
        while i < self.sessions.len() {
            let s = &self.sessions[i];
            let reason = match (&s.failed, s.deadline) {
                (Some(e), _) => Some(e.clone()),
                (None, Some(d)) if now >= d => Some("duration".to_owned()),
                _ => None,
            };
            match reason {
                Some(r) => self.sessions.swap_remove(i).end(r, now_ns, drops()),
                None => i += 1,
            }
        }
    }

    /// Offers one record (with the container its cgroup belongs to) to every capture.
    pub fn record(&mut self, rec: &Record, container: Option<&Arc<ContainerMeta>>) {
        for s in &mut self.sessions {
            if s.failed.is_none() {
                s.write(rec, container);
            }
        }
    }

    /// Ends every capture (the daemon stops).
    pub fn end_all(&mut self, reason: &str, now_ns: u64, drops: u64) {
        for s in self.sessions.drain(..) {
            s.end(reason.to_owned(), now_ns, drops);
        }
    }
}
