//! The daemon's end of the hook socket: registers containers reported by `palisade-hook` and
//! answers `palisade containers` and `palisade status`. One thread accepts; each connection is served on its own
//! short-lived thread so a slow client cannot hold up the next container's start.
//!
//! The capture and profile-report requests served on the same socket are in [`control`]; it
//! reads the registry and starts captures (`palisade-capture`), never the other way round, so
//! the modules form no cycle.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use palisade_hook::{DaemonStatus, Phase, Reply, Request, PROTOCOL_VERSION};

use super::containerd::Containerd;
use super::{landlock, Backend};
use super::registry::{self, Facts, SharedRegistry, Source, Stage};

pub mod control;

#[cfg(test)]
mod tests;

/// A client gets this long to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum HookServerError {
    #[error("hook socket {path}: {source}")]
    Bind { path: PathBuf, source: std::io::Error },
}

/// Binds `socket` (replacing a stale one; parent directories are created, mode 0700: the
/// socket arms and lists containers, so only root talks to it) and serves it on a thread.
/// What the socket's requests are answered from.
pub struct Context {
    pub registry: SharedRegistry,
    pub containerd: Option<Containerd>,
    pub status: Mutex<DaemonStatus>,
    /// `fail_closed`: a container the daemon cannot arm is refused (the hook then fails it),
    /// instead of reported as an error (the hook then follows its own failure policy).
    pub fail_closed: bool,
    /// What confines containers whose profile is enforced; `None`: nothing can, they are only
    /// reported (and refused when `fail_closed` is set).
    pub backend: Option<Backend>,
    /// Captures and promotion reports.
    pub control: Arc<control::Control>,
}

pub fn spawn(socket: &Path, context: Arc<Context>) -> Result<std::thread::JoinHandle<()>, HookServerError> {
    let bind_err = |source| HookServerError::Bind { path: socket.to_owned(), source };
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir).map_err(bind_err)?;
    }
    match std::fs::remove_file(socket) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(bind_err(e)),
    }
    let listener = UnixListener::bind(socket).map_err(bind_err)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).map_err(bind_err)?;
    Ok(std::thread::spawn(move || {
        for conn in listener.incoming() {
            match conn {
                Ok(stream) => {
                    let context = Arc::clone(&context);
                    std::thread::spawn(move || serve(stream, &context));
                }
                Err(e) => tracing::warn!(error = %e, "hook socket accept failed"),
            }
        }
    }))
}

fn serve(stream: UnixStream, context: &Context) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let mut line = String::new();
    if let Err(e) = BufReader::new(&stream).read_line(&mut line) {
        tracing::warn!(error = %e, "hook socket: unreadable request");
        return;
    }
    let started = std::time::Instant::now();
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(Request::Capture { version, path, container, duration_ms }) if version == PROTOCOL_VERSION => {
            // Holds the connection until the capture ends.
            let (registry, control) = (&context.registry, &context.control);
            return control::serve_capture(&stream, registry, control, &path, container.as_deref(), duration_ms);
        }
        Ok(req) => answer(req, context),
        Err(e) => Reply::Error { message: format!("bad request: {e}") },
    };
    tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, "hook request answered");
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    if let Err(e) = (&stream).write_all(&out) {
        tracing::warn!(error = %e, "hook socket: reply not delivered");
    }
}

/// What the daemon says to one request. At `createRuntime` the container's image is asked of
/// `containerd` (outside the registry lock) when its spec does not name it, so that the
/// container's first event already carries it.
pub fn answer(req: Request, context: &Context) -> Reply {
    let Context { registry, containerd, status, fail_closed, backend, control } = context;
    let mut facts = match &req {
        Request::Hook { phase: Phase::CreateRuntime, state, bundle, .. } => {
            Some(Facts::from_hook(state, bundle.as_deref().unwrap_or(&Default::default())))
        }
        Request::Prepare { state, bundle, .. } => Some(Facts::from_hook(state, bundle)),
        _ => None,
    };
    let state = match &req {
        Request::Hook { state, .. } | Request::Prepare { state, .. } => Some(state),
        _ => None,
    };
    if let (Some(f), Some(c), Some(state)) = (facts.as_mut(), containerd.as_ref(), state) {
        if f.image.is_empty() {
            // Asked once: at `Prepare` when the wrapper asks first, the hook then finds it known.
            f.image = registry.lock().ok().and_then(|r| r.image_of(&state.id)).unwrap_or_default();
        }
        if f.image.is_empty() && !f.namespace.is_empty() {
            let t = std::time::Instant::now();
            f.image = c.image(&f.namespace, &state.id).unwrap_or_default();
            tracing::debug!(lookup_us = t.elapsed().as_micros() as u64, "image lookup");
        }
    }
    let Ok(mut reg) = registry.lock() else { return Reply::Error { message: "registry unavailable".into() } };
    match req {
        Request::Hook { version, .. }
        | Request::Prepare { version, .. }
        | Request::ListContainers { version }
        | Request::Status { version }
        | Request::Capture { version, .. }
        | Request::ProfileReport { version, .. }
            if version != PROTOCOL_VERSION =>
        {
            Reply::Error { message: format!("protocol version {version}, this daemon speaks {PROTOCOL_VERSION}") }
        }
        Request::ListContainers { .. } => Reply::Containers { containers: reg.summaries() },
        Request::Status { .. } => {
            let mut status = status.lock().map(|s| s.clone()).unwrap_or_default();
            status.containers_tracked = reg.armed_count() as u64;
            Reply::Status { status: Box::new(status) }
        }
        Request::Hook { phase: Phase::CreateRuntime, state, .. } => {
            let Some(pid) = state.pid.filter(|p| *p > 0) else {
                return Reply::Error { message: format!("container {}: createRuntime state has no pid", state.id) };
            };
            reg.report(&state.id, facts.unwrap_or_default(), Source::Hook);
            // Arming reads the image (BPF-LSM policy): it takes the lock only around that.
            drop(reg);
            match registry::arm(registry, &state.id, pid, Stage::CreateRuntime) {
                Ok(mode) => Reply::Armed { container_id: state.id.clone(), mode },
                Err(message) => {
                    tracing::error!(container_id = %state.id, error = %message, fail_closed, "arming failed");
                    if *fail_closed {
                        Reply::Refused { reason: format!("palisade: cannot arm the container ({message}); fail_closed is set") }
                    } else {
                        Reply::Error { message }
                    }
                }
            }
        }
        Request::Prepare { state, bundle, .. } => {
            reg.report(&state.id, facts.unwrap_or_default(), Source::Hook);
            let meta = match reg.prepare(&state.id) {
                Ok(meta) => meta,
                Err(message) => return Reply::Error { message },
            };
            let Some(profile) = meta.profile.as_deref() else {
                return Reply::Error { message: format!("container {}: no profile chosen", state.id) };
            };
            let enforce = meta.mode == palisade_profiles::Mode::Enforce && profile.denies_anything();
            if enforce && backend.is_none() {
                tracing::error!(container_id = %state.id, profile = %profile.name, fail_closed, "enforce mode, but no enforcement backend works here");
                if *fail_closed {
                    let why = status.lock().map(|s| s.enforcement_backend.clone()).unwrap_or_default();
                    let why = if why.is_empty() { String::new() } else { format!(" ({why})") };
                    return Reply::Refused {
                        reason: format!(
                            "palisade: container {}: profile {} is enforced and no enforcement backend works on this node{why}; fail_closed is set",
                            state.id, profile.name
                        ),
                    };
                }
            }
            let confined_by = if enforce { *backend } else { None };
            // BPF-LSM marks the container itself once its cgroup is armed in the kernel.
            reg.set_backend(&state.id, confined_by.filter(|b| *b == Backend::Landlock));
            // The policy reads the whole image: not while holding up the event loop.
            drop(reg);
            let (mut landlock_policy, mut spec) = (None, None);
            if confined_by == Some(Backend::Landlock) {
                let t = std::time::Instant::now();
                match landlock::confine(profile, &bundle.rootfs, &bundle.mounts) {
                    Ok(c) => {
                        tracing::debug!(container_id = %state.id, entries = c.scanned_entries, scan_us = t.elapsed().as_micros() as u64, "image scanned");
                        landlock_policy = Some(c.policy);
                        spec = c.spec;
                        if let Ok(mut reg) = registry.lock() {
                            reg.set_denied_programs(&state.id, c.denied_programs);
                        }
                    }
                    Err(e) => {
                        let reason = format!(
                            "palisade: container {}: profile {} (enforce, backend landlock): cannot build the confinement: {e}",
                            state.id, profile.name
                        );
                        tracing::error!(container_id = %state.id, profile = %profile.name, backend = "landlock", error = %e, fail_closed, "confinement failed");
                        if let Ok(mut reg) = registry.lock() {
                            reg.set_backend(&state.id, None);
                        }
                        return if *fail_closed { Reply::Refused { reason: format!("{reason}; fail_closed is set") } } else { Reply::Error { message: reason } };
                    }
                }
            }
            // A container user space judges without Landlock (audit mode without BPF-LSM) is
            // judged by file identity too: its image is scanned the same way. A scan that fails
            // leaves it judged by name, which is logged.
            if confined_by.is_none() && *backend != Some(Backend::BpfLsm) && profile.denies_exec() {
                let t = std::time::Instant::now();
                match super::image_scan::scan(&bundle.rootfs, profile, super::image_scan::MAX_ENTRIES) {
                    Ok(scan) => {
                        tracing::debug!(container_id = %state.id, entries = scan.entries, scan_us = t.elapsed().as_micros() as u64, "image scanned");
                        let programs = super::image_scan::DeniedPrograms::from_scan(&scan, profile);
                        if let Ok(mut reg) = registry.lock() {
                            reg.set_denied_programs(&state.id, programs);
                        }
                    }
                    Err(e) => tracing::warn!(container_id = %state.id, error = %e, "image scan failed: execs judged by name only"),
                }
            }
            tracing::info!(container_id = %state.id, profile = %profile.name, mode = %meta.mode, backend = confined_by.map_or("none", Backend::as_str), "prepared");
            Reply::Prepared { profile: profile.name.clone(), mode: meta.mode.to_string(), landlock_policy, spec }
        }
        Request::Hook { phase: Phase::Poststop, state, .. } => {
            reg.stopped(&state.id);
            Reply::Ok
        }
        Request::Capture { .. } => Reply::Error { message: "a capture is served on its own connection".into() },
        Request::ProfileReport { container, .. } => control::report(&reg, control, &container),
    }
}
