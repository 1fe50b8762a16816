//! The plugin's lifetime: connect, serve, reconnect with backoff; and a thread for callers that
//! are not async.

use std::future::Future;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use crate::session::{self, SessionEnd};
use crate::{Handler, NriError, PluginConfig};

/// First reconnection delay; doubles after each failed attempt.
const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// Longest reconnection delay.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Connects, registers, serves until `shutdown` resolves; when the runtime goes away (containerd
/// restarts), reconnects with exponential backoff (100 ms doubling to 5 s), re-registering each
/// time (Synchronize then re-delivers running containers).
///
/// A socket that is missing or refuses connections is retried the same way, so the plugin may
/// start before containerd. Returns an error only when retrying cannot help: an invalid index, or
/// the runtime refusing the registration.
pub async fn run(
    config: PluginConfig,
    handler: Arc<dyn Handler>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NriError> {
    check_index(&config)?;
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = INITIAL_BACKOFF;
    // A node without NRI (or before containerd starts) must not fill the log: the first failed
    // connect of a run of failures is a warning, the rest are debug.
    let mut unreachable_reported = false;
    loop {
        let connected = tokio::select! {
            biased;
            () = shutdown.as_mut() => return Ok(()),
            connected = UnixStream::connect(&config.socket) => connected,
        };
        match connected {
            Err(source) => {
                let error = NriError::Connect {
                    path: config.socket.clone(),
                    source,
                };
                if unreachable_reported {
                    debug!(%error, backoff_ms = backoff.as_millis(), "cannot reach the runtime; retrying");
                } else {
                    warn!(%error, "cannot reach the runtime; retrying quietly until it answers");
                    unreachable_reported = true;
                }
            }
            Ok(stream) => {
                unreachable_reported = false;
                match session::serve(stream, &config, handler.as_ref(), shutdown.as_mut()).await {
                    Ok(SessionEnd::Shutdown) => return Ok(()),
                    Ok(SessionEnd::Closed { registered }) => {
                        if registered {
                            backoff = INITIAL_BACKOFF;
                        }
                        info!(
                            registered,
                            backoff_ms = backoff.as_millis(),
                            "runtime closed the NRI connection; reconnecting"
                        );
                    }
                    Err(fatal @ NriError::RegistrationRefused { .. }) => return Err(fatal),
                    Err(error) => {
                        warn!(%error, backoff_ms = backoff.as_millis(), "NRI connection failed; reconnecting")
                    }
                }
            }
        }
        tokio::select! {
            biased;
            () = shutdown.as_mut() => return Ok(()),
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// NRI's rule: exactly two ASCII digits.
fn check_index(config: &PluginConfig) -> Result<(), NriError> {
    let index = config.index.as_bytes();
    if index.len() == 2 && index.iter().all(u8::is_ascii_digit) {
        Ok(())
    } else {
        Err(NriError::InvalidIndex(config.index.clone()))
    }
}

/// The plugin running on its own thread (see [`spawn`]).
#[derive(Debug)]
pub struct PluginHandle {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), NriError>>>,
}

/// Starts [`run`] on a new thread with a current-thread tokio runtime, for callers that are not
/// async. The plugin stops when [`PluginHandle::stop`] is called or the handle is dropped.
pub fn spawn(config: PluginConfig, handler: Arc<dyn Handler>) -> Result<PluginHandle, NriError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(NriError::Thread)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("palisade-nri".into())
        .spawn(move || {
            // A dropped sender resolves `stopped` too: dropping the handle stops the plugin.
            runtime.block_on(run(config, handler, async move {
                let _ = stopped.await;
            }))
        })
        .map_err(NriError::Thread)?;
    Ok(PluginHandle {
        stop: Some(stop),
        thread: Some(thread),
    })
}

impl PluginHandle {
    /// Stops the plugin and waits for its thread. Returns how [`run`] ended: `Ok` when it was
    /// serving, or the error that ended it earlier.
    pub fn stop(mut self) -> Result<(), NriError> {
        self.stop_and_join()
    }

    /// True when the plugin thread has ended by itself (only a fatal error ends it).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    fn stop_and_join(&mut self) -> Result<(), NriError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| NriError::ThreadPanicked)?,
            None => Ok(()),
        }
    }
}

impl Drop for PluginHandle {
    fn drop(&mut self) {
        if let Err(e) = self.stop_and_join() {
            warn!(error = %e, "NRI plugin ended with an error");
        }
    }
}
