//! The daemon's end of the hook socket: registers containers reported by `palisade-hook` and
//! answers `palisade containers` and `palisade status`. One thread accepts; each connection is
//! served on its own short-lived thread so a slow client cannot hold up the next container's
//! start.
//!
//! Defences (the socket arms containers: whoever floods or impersonates it could keep
//! containers from being watched):
//! - the path is never taken over from a live daemon ([`listen`]);
//! - only root, the daemon's user or `hook_socket_group` is served (`SO_PEERCRED`, [`peer`]);
//!   others get a refusal and a warning naming their uid and pid, and take no thread;
//! - at most `hook_socket_max_connections` connections are served at once; beyond that a
//!   connection gets a refusal at once and is closed (counted, and logged);
//! - a request is one line of at most [`MAX_REQUEST_BYTES`], read within [`REQUEST_TIMEOUT`] in
//!   all (not per read: a byte every few seconds does not hold a slot);
//! - registry entries of containers that were never armed expire
//!   ([`super::registry::UNARMED_TTL_NS`]).
//!
//! The capture and profile-report requests served on the same socket are in [`control`]; it
//! reads the registry and starts captures (`palisade-capture`), never the other way round, so
//! the modules form no cycle.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use palisade_hook::{DaemonStatus, Phase, Reply, Request, PROTOCOL_VERSION};

use super::containerd::Containerd;
use super::{landlock, Backend};
use super::registry::{self, Facts, SharedRegistry, Source, Stage};

pub mod control;
mod listen;
pub use listen::ensure_not_running;
pub mod peer;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod defences_tests;

/// A client gets this long, in all, to send its request (and the daemon to write its reply).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest request line accepted (a `Prepare` with a large bundle is a few KiB).
pub const MAX_REQUEST_BYTES: u64 = 1 << 20;

/// `hook_socket_max_connections`' default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum HookServerError {
    #[error("hook socket {path}: {source}")]
    Bind { path: PathBuf, source: std::io::Error },
    #[error("hook socket {}: another palisade daemon is running (it answers on this socket); stop it or set hook_socket to another path", .path.display())]
    InUse { path: PathBuf },
    #[error("{0}")]
    Group(String),
}

/// The socket's limits and access (`hook_socket_max_connections`, `hook_socket_group`).
#[derive(Clone, Debug)]
pub struct SocketOptions {
    /// Connections served at once; more are refused.
    pub max_connections: usize,
    /// A group (name or number) whose members may use the socket besides root; empty: root only.
    pub group: String,
    /// Time to send a whole request ([`REQUEST_TIMEOUT`]; shorter in tests).
    pub request_timeout: Duration,
}

impl SocketOptions {
    /// The `hook_socket_*` keys of `config`.
    pub fn from_config(config: &crate::config::Config) -> SocketOptions {
        SocketOptions {
            max_connections: config.hook_socket_max_connections,
            group: config.hook_socket_group.clone(),
            request_timeout: REQUEST_TIMEOUT,
        }
    }
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions { max_connections: DEFAULT_MAX_CONNECTIONS, group: String::new(), request_timeout: REQUEST_TIMEOUT }
    }
}

/// Counters of the socket's defences.
#[derive(Debug, Default)]
pub struct SocketStats {
    /// Connections being served now (invariant: at most `max_connections`).
    pub active: AtomicUsize,
    /// Connections served since start.
    pub served: AtomicU64,
    /// Connections refused because `max_connections` were being served.
    pub refused_busy: AtomicU64,
    /// Connections refused because of who the peer is.
    pub refused_peer: AtomicU64,
}

/// The running server.
pub struct HookServer {
    /// The context's `socket` counters (the same ones housekeeping reports).
    pub stats: Arc<SocketStats>,
    pub thread: std::thread::JoinHandle<()>,
}

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
    /// The socket's connection counters (`palisade status`, metrics).
    pub socket: Arc<SocketStats>,
}

/// Where this daemon reads the root filesystem the hook names `rootfs` (a path in the mount
/// namespace of containerd and its shims, the node's): through the root of the hook process
/// `peer` under `proc` (`/proc/PID/root/...`: it waits for the reply, in that namespace), else
/// through pid 1's (the node's init), else `rootfs` itself (neither can be read, or the path is
/// not there). The daemon in a pod of its own (the DaemonSet: host PID namespace) does not see
/// the overlay a shim mounts after the pod started at the same path, if the path is there at all.
pub(crate) fn node_view(proc: &Path, peer: Option<i32>, rootfs: &Path) -> PathBuf {
    let Ok(inside) = rootfs.strip_prefix("/") else { return rootfs.to_path_buf() };
    peer.filter(|p| *p > 0)
        .map(|p| proc.join(p.to_string()))
        .into_iter()
        .chain([proc.join("1")])
        .map(|process| process.join("root").join(inside))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| rootfs.to_path_buf())
}

/// Binds `socket` (refusing a live one, replacing a stale one; parent directories are
/// created; mode 0600, or 0660 with the group) and serves it on a thread.
pub fn spawn(socket: &Path, options: &SocketOptions, context: Arc<Context>) -> Result<HookServer, HookServerError> {
    let group = listen::resolve_group(&options.group).map_err(HookServerError::Group)?;
    let listener = listen::bind(socket, group)?;
    let stats = Arc::clone(&context.socket);
    let limits = Limits { max: options.max_connections.max(1), timeout: options.request_timeout };
    let st = Arc::clone(&stats);
    let thread = std::thread::spawn(move || {
        for conn in listener.incoming() {
            match conn {
                Ok(stream) => admit(stream, group, limits, &st, &context),
                Err(e) => tracing::warn!(error = %e, "hook socket accept failed"),
            }
        }
    });
    Ok(HookServer { stats, thread })
}

/// Checks the peer and the cap (on the accepting thread: both are cheap and refusals never
/// take a thread), then serves the connection on its own thread.
#[derive(Clone, Copy)]
struct Limits {
    max: usize,
    timeout: Duration,
}

fn admit(stream: UnixStream, group: Option<nix::unistd::Gid>, limits: Limits, stats: &Arc<SocketStats>, context: &Arc<Context>) {
    let Limits { max, timeout } = limits;
    match peer::Peer::of(&stream) {
        Ok(p) if p.allowed(group) => {}
        Ok(p) => {
            let n = stats.refused_peer.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(peer_uid = p.uid, peer_gid = p.gid, peer_pid = p.pid, refused = n, "hook socket: peer refused (not root or hook_socket_group)");
            refuse(&stream, format!("refused: uid {} may not use the palisade hook socket", p.uid));
            return;
        }
        Err(e) => {
            stats.refused_peer.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "hook socket: peer credentials unreadable; refused");
            return;
        }
    }
    // Reserve a slot; give it back if over the cap.
    if stats.active.fetch_add(1, Ordering::AcqRel) >= max {
        stats.active.fetch_sub(1, Ordering::AcqRel);
        let n = stats.refused_busy.fetch_add(1, Ordering::Relaxed) + 1;
        // One line per power of two refusals: a flood must not flood the log too.
        if n.is_power_of_two() {
            tracing::warn!(max_connections = max, refused = n, "hook socket: busy, connection refused");
        }
        refuse(&stream, format!("refused: the palisade hook socket is serving {max} connections (hook_socket_max_connections)"));
        return;
    }
    stats.served.fetch_add(1, Ordering::Relaxed);
    let (context, st) = (Arc::clone(context), Arc::clone(stats));
    std::thread::spawn(move || {
        serve(stream, &context, timeout);
        st.active.fetch_sub(1, Ordering::AcqRel);
    });
}

/// Writes a refusal without waiting on the peer (a full socket buffer drops it), then closes.
fn refuse(stream: &UnixStream, message: String) {
    let _ = stream.set_nonblocking(true);
    let mut out = serde_json::to_vec(&Reply::Error { message }).unwrap_or_default();
    out.push(b'\n');
    let _ = (&*stream).write(&out);
}

/// Reads one request line: at most [`MAX_REQUEST_BYTES`], within `timeout` in all.
/// `Ok(None)`: the peer closed without sending anything (a liveness probe).
fn read_request(stream: &UnixStream, timeout: Duration) -> std::io::Result<Option<Vec<u8>>> {
    let deadline = Instant::now() + timeout;
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "request not sent in time"));
        }
        stream.set_read_timeout(Some(left))?;
        let n = (&*stream).read(&mut buf)?;
        if n == 0 {
            return Ok((!line.is_empty()).then_some(line));
        }
        if let Some(end) = buf[..n].iter().position(|b| *b == b'\n') {
            line.extend_from_slice(&buf[..end]);
            return Ok(Some(line));
        }
        line.extend_from_slice(&buf[..n]);
        if line.len() as u64 > MAX_REQUEST_BYTES {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "request longer than the limit"));
        }
    }
}

fn serve(stream: UnixStream, context: &Context, timeout: Duration) {
    let line = match read_request(&stream, timeout) {
        Ok(Some(line)) => line,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "hook socket: unreadable request");
            return;
        }
    };
    let started = Instant::now();
    let reply = match serde_json::from_slice::<Request>(&line) {
        Ok(Request::Capture { version, path, container, duration_ms }) if version == PROTOCOL_VERSION => {
            // Holds the connection until the capture ends.
            let (registry, control) = (&context.registry, &context.control);
            return control::serve_capture(&stream, registry, control, &path, container.as_deref(), duration_ms);
        }
        Ok(req) => answer_from(req, context, peer::Peer::of(&stream).ok().map(|p| p.pid)),
        Err(e) => Reply::Error { message: format!("bad request: {e}") },
    };
    tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, "hook request answered");
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    let _ = stream.set_write_timeout(Some(timeout));
    if let Err(e) = (&stream).write_all(&out) {
        tracing::warn!(error = %e, "hook socket: reply not delivered");
    }
}

/// What the daemon says to one request. At `createRuntime` the container's image is asked of
/// `containerd` (outside the registry lock) when its spec does not name it, so that the
/// container's first event already carries it.
pub fn answer(req: Request, context: &Context) -> Reply {
    answer_from(req, context, None)
}

/// [`answer`] to a request from process `peer` (its pid, `SO_PEERCRED`; `None`: unknown): the
/// hook, which names paths as containerd's mount namespace sees them ([`node_view`]).
pub fn answer_from(req: Request, context: &Context, peer: Option<i32>) -> Reply {
    let Context { registry, containerd, status, fail_closed, backend, control, .. } = context;
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
    if let (Some(f), Some(state)) = (facts.as_mut(), state) {
        // podman's spec names neither container nor image: its storage does (a few small files).
        super::podman::enrich(f, state);
    }
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
            let rootfs = node_view(Path::new("/proc"), peer, &bundle.rootfs);
            if confined_by == Some(Backend::Landlock) {
                let t = std::time::Instant::now();
                match landlock::confine(profile, &rootfs, &bundle.mounts) {
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
                match super::image_scan::scan(&rootfs, profile, super::image_scan::MAX_ENTRIES) {
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
