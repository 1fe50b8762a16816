//! The daemon's answers to `palisade capture` and `palisade profiles report`, served on the
//! hook socket beside the container requests.
//!
//! A capture holds its connection open: the daemon answers `captureStarted` once the file's
//! first frames are written, and `captureEnded` when the capture ends. The client ends it by
//! sending any line or closing the connection (Ctrl-C, a killed client); the daemon ends it
//! when `duration_ms` has passed, when the file cannot be written, or when it stops.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::Duration;

use palisade_hook::{ContainerSummary, Reply};

use crate::containers::{Registry, SharedRegistry};
use palisade_events::promotion::Tally;
use palisade_capture::recording::session::{self, Progress};

/// How long the event loop gets to write a capture's first frames or its end.
const LOOP_ANSWER: Duration = Duration::from_secs(10);
/// How often a capture's connection is checked for the client's stop.
const CLIENT_POLL: Duration = Duration::from_millis(100);

/// The shared half of captures and reports: the hook socket's threads write here, the event
/// loop reads.
#[derive(Debug)]
pub struct Control {
    captures: Mutex<Sender<session::Control>>,
    next_capture: AtomicU64,
    /// Profile decisions per container id, since the container was first judged.
    pub reports: Mutex<HashMap<String, Tally>>,
}

impl Control {
    /// A control whose captures the event loop reads from the returned receiver.
    pub fn new() -> (Control, Receiver<session::Control>) {
        let (tx, rx) = mpsc::channel();
        (Control { captures: Mutex::new(tx), next_capture: AtomicU64::new(1), reports: Mutex::default() }, rx)
    }

    /// Forgets the reports of containers the registry no longer knows.
    pub fn retain_reports(&self, registry: &Registry) {
        if let Ok(mut r) = self.reports.lock() {
            r.retain(|id, _| registry.knows(id));
        }
    }
}

/// The container `wanted` names: a full id, a unique id prefix, or a name.
pub fn resolve(registry: &Registry, wanted: &str) -> Result<ContainerSummary, String> {
    let all = registry.summaries();
    if let Some(c) = all.iter().find(|c| c.id == wanted || c.name == wanted) {
        return Ok(c.clone());
    }
    let by_prefix: Vec<&ContainerSummary> = all.iter().filter(|c| !wanted.is_empty() && c.id.starts_with(wanted)).collect();
    match by_prefix.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("no container {wanted:?} is known to the daemon (see `palisade containers`)")),
        many => Err(format!("{wanted:?} is the prefix of {} containers: give more of the id", many.len())),
    }
}

/// `palisade profiles report CONTAINER`.
pub fn report(registry: &Registry, control: &Control, wanted: &str) -> Reply {
    let c = match resolve(registry, wanted) {
        Ok(c) => c,
        Err(message) => return Reply::Error { message },
    };
    let report = control.reports.lock().ok().and_then(|r| r.get(&c.id).map(Tally::report)).unwrap_or_else(|| {
        palisade_hook::PromotionReport { profile: c.profile.clone(), mode: c.mode.clone(), ..Default::default() }
    });
    Reply::Report { container_id: c.id, container_name: c.name, image: c.image, report: Box::new(report) }
}

fn send(stream: &UnixStream, reply: &Reply) -> std::io::Result<()> {
    let mut out = serde_json::to_vec(reply).unwrap_or_default();
    out.push(b'\n');
    (&mut &*stream).write_all(&out)
}

/// Serves one `capture` request on its connection until the capture ends.
pub fn serve_capture(
    stream: &UnixStream,
    registry: &SharedRegistry,
    control: &Control,
    path: &str,
    container: Option<&str>,
    duration_ms: Option<u64>,
) {
    let reply_err = |message: String| {
        let _ = send(stream, &Reply::Error { message });
    };
    if !Path::new(path).is_absolute() {
        return reply_err(format!("capture path {path:?} is not absolute"));
    }
    let container = match container {
        Some(w) => match registry.lock().map_err(|_| "registry unavailable".to_owned()).and_then(|r| resolve(&r, w)) {
            Ok(c) => Some(c.id),
            Err(e) => return reply_err(e),
        },
        None => None,
    };
    let file = match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(f) => f,
        Err(e) => return reply_err(format!("cannot create {path}: {e}")),
    };
    let id = control.next_capture.fetch_add(1, Ordering::Relaxed);
    let (progress, updates) = mpsc::channel();
    let start = session::Control::Start {
        id,
        file,
        path: path.to_owned(),
        container: container.clone(),
        duration: duration_ms.map(Duration::from_millis),
        progress,
    };
    if control.captures.lock().map_err(|_| ()).and_then(|tx| tx.send(start).map_err(drop)).is_err() {
        let _ = std::fs::remove_file(path);
        return reply_err("the daemon's event loop is not running".into());
    }
    match updates.recv_timeout(LOOP_ANSWER) {
        Ok(Progress::Started) => {}
        Ok(Progress::Failed(e)) => {
            let _ = std::fs::remove_file(path);
            return reply_err(e);
        }
        Ok(Progress::Ended { end, bytes }) => return ended(stream, end, bytes),
        Err(_) => return reply_err("the daemon's event loop did not start the capture".into()),
    }
    if send(stream, &Reply::CaptureStarted { path: path.to_owned(), container }).is_err() {
        stop(control, id);
    }
    let _ = stream.set_nonblocking(true);
    let mut asked_stop = false;
    loop {
        match updates.recv_timeout(CLIENT_POLL) {
            Ok(Progress::Ended { end, bytes }) => return ended(stream, end, bytes),
            Ok(_) => {}
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if !asked_stop && client_wants_stop(stream) {
            stop(control, id);
            asked_stop = true;
        }
    }
}

/// The client sent a line or went away.
fn client_wants_stop(stream: &UnixStream) -> bool {
    let mut b = [0u8; 64];
    match (&mut &*stream).read(&mut b) {
        Ok(0) => true, // closed
        Ok(_n) => true, // a line
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock && e.kind() != std::io::ErrorKind::Interrupted,
    }
}

fn stop(control: &Control, id: u64) {
    if let Ok(tx) = control.captures.lock() {
        let _ = tx.send(session::Control::Stop { id });
    }
}

fn ended(stream: &UnixStream, end: palisade_capture::recording::End, bytes: u64) {
    let _ = stream.set_nonblocking(false);
    let _ = send(
        stream,
        &Reply::CaptureEnded { records: end.records, bytes, kernel_drops: end.kernel_drops, reason: end.reason },
    );
}
