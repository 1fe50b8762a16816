//! One connection to the runtime: register, then answer the Plugin service until the runtime
//! closes the socket or we are told to shut down.
//!
//! A single task owns the socket. It sends RegisterPlugin on conn 2, then reads the trunk and
//! answers each request on conn 1 in order, calling the [`Handler`] inline: the handler is quick
//! by contract, and the runtime sends one request at a time per plugin anyway. The runtime may send
//! Configure before our RegisterPlugin call has its response (its RegisterPlugin handler wakes the
//! configuring goroutine before replying), so both connections are served from the same loop.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use prost::Message as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::{debug, error, info, warn};

use crate::api::{self, Event};
use crate::mux::{self, Demux};
use crate::ttrpc::{self, code, Request, Response, Status};
use crate::{Handler, NriError, PluginConfig, ProtocolError};

/// How long the runtime gets to answer RegisterPlugin (NRI's own registration timeout is 5 s).
pub(crate) const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(5);
/// Stream id of our RegisterPlugin call: the first odd id.
const REGISTER_STREAM: u32 = 1;

/// Why a connection ended without an error.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SessionEnd {
    /// Our shutdown future resolved.
    Shutdown,
    /// The runtime closed the connection (after registering us, or not).
    Closed { registered: bool },
}

/// Serves one connection until it ends. Errors are the connection's: the caller reconnects after
/// all of them except [`NriError::RegistrationRefused`].
pub(crate) async fn serve<S, F>(
    stream: S,
    config: &PluginConfig,
    handler: &dyn Handler,
    mut shutdown: Pin<&mut F>,
) -> Result<SessionEnd, NriError>
where
    S: AsyncRead + AsyncWrite,
    F: Future<Output = ()> + ?Sized,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let register = api::RegisterPluginRequest {
        plugin_name: config.name.clone(),
        plugin_idx: config.index.clone(),
    };
    let call = Request {
        service: api::RUNTIME_SERVICE.into(),
        method: "RegisterPlugin".into(),
        payload: register.encode_to_vec(),
        ..Request::default()
    };
    send(
        &mut writer,
        mux::RUNTIME_SERVICE_CONN,
        REGISTER_STREAM,
        ttrpc::TYPE_REQUEST,
        &call.encode_to_vec(),
    )
    .await?;
    debug!(plugin = %config.name, index = %config.index, "RegisterPlugin sent");

    let deadline = tokio::time::Instant::now() + REGISTRATION_TIMEOUT;
    let mut registered = false;
    let mut demux = Demux::default();
    let mut sync = SyncParts::default();
    loop {
        demux.trunk_mut().reserve(64 * 1024);
        let read = tokio::select! {
            biased;
            () = shutdown.as_mut() => return Ok(SessionEnd::Shutdown),
            () = tokio::time::sleep_until(deadline), if !registered => {
                return Err(NriError::RegistrationTimeout(REGISTRATION_TIMEOUT));
            }
            read = reader.read_buf(demux.trunk_mut()) => read?,
        };
        if read == 0 {
            return Ok(SessionEnd::Closed { registered });
        }
        for conn in demux.route().map_err(ProtocolError::from)? {
            debug!(conn, "dropped mux frame for an unknown connection");
        }
        while let Some(message) =
            ttrpc::decode_message(&mut demux.runtime).map_err(ProtocolError::from)?
        {
            registered |= registration_reply(config, &message)?;
        }
        while let Some(message) =
            ttrpc::decode_message(&mut demux.plugin).map_err(ProtocolError::from)?
        {
            if message.kind != ttrpc::TYPE_REQUEST {
                debug!(
                    stream = message.stream,
                    kind = message.kind,
                    "ignored non-request message on the plugin connection"
                );
                continue;
            }
            let response = answer(handler, &mut sync, message.stream, &message.payload);
            send(
                &mut writer,
                mux::PLUGIN_SERVICE_CONN,
                message.stream,
                ttrpc::TYPE_RESPONSE,
                &response.encode_to_vec(),
            )
            .await?;
        }
    }
}

/// Checks a message on the runtime connection; true when it is the successful RegisterPlugin reply.
fn registration_reply(config: &PluginConfig, message: &ttrpc::Message) -> Result<bool, NriError> {
    if message.kind != ttrpc::TYPE_RESPONSE || message.stream != REGISTER_STREAM {
        debug!(
            stream = message.stream,
            kind = message.kind,
            "ignored unexpected message on the runtime connection"
        );
        return Ok(false);
    }
    let response: Response =
        ttrpc::decode("RegisterPlugin response", message.stream, &message.payload)
            .map_err(ProtocolError::from)?;
    if let Some(status) = response.failure() {
        return Err(NriError::RegistrationRefused {
            name: config.name.clone(),
            index: config.index.clone(),
            code: status.code,
            message: status.message.clone(),
        });
    }
    info!(plugin = %config.name, index = %config.index, "registered with the runtime");
    Ok(true)
}

async fn send<W: AsyncWrite + Unpin>(
    writer: &mut W,
    conn: u32,
    stream: u32,
    kind: u8,
    payload: &[u8],
) -> Result<(), NriError> {
    let mut message = Vec::new();
    ttrpc::encode_message(stream, kind, payload, &mut message).map_err(ProtocolError::from)?;
    let mut frame = Vec::new();
    mux::encode_frame(conn, &message, &mut frame).map_err(ProtocolError::from)?;
    writer.write_all(&frame).await?;
    Ok(())
}

/// Pods and containers of a split Synchronize received so far (NRI ≥ 0.10 sends parts with
/// `more` set); the handler sees the whole list once the last part is in.
pub(crate) type SyncParts = (Vec<crate::Pod>, Vec<crate::Container>);

/// Answers one request of the Plugin service. Never fails: problems become error statuses.
pub(crate) fn answer(
    handler: &dyn Handler,
    sync: &mut SyncParts,
    stream: u32,
    payload: &Bytes,
) -> Response {
    let request: Request = match ttrpc::decode("request", stream, payload) {
        Ok(request) => request,
        Err(e) => {
            error!(error = %e, "undecodable request");
            return Response::error(Status::new(code::INVALID_ARGUMENT, e.to_string()));
        }
    };
    if request.service != api::PLUGIN_SERVICE {
        warn!(service = %request.service, method = %request.method, "request for an unknown service");
        return unimplemented(&request);
    }
    let result = match request.method.as_str() {
        "Configure" => configure(handler, stream, &request.payload),
        "Synchronize" => synchronize(handler, sync, stream, &request.payload),
        "CreateContainer" => create_container(handler, stream, &request.payload),
        "UpdateContainer" => update_container(stream, &request.payload),
        "StopContainer" => stop_container(handler, stream, &request.payload),
        "StateChange" => state_change(handler, stream, &request.payload),
        "Shutdown" => {
            info!(method = "Shutdown", "runtime is shutting down");
            Ok(empty())
        }
        _ => return unimplemented(&request),
    };
    match result {
        Ok(payload) => Response::ok(payload),
        Err(status) => Response::error(status),
    }
}

fn unimplemented(request: &Request) -> Response {
    debug!(service = %request.service, method = %request.method, "answered Unimplemented");
    Response::error(Status::new(
        code::UNIMPLEMENTED,
        format!(
            "palisade-nri does not implement {}/{}",
            request.service, request.method
        ),
    ))
}

fn empty() -> Vec<u8> {
    api::Empty {}.encode_to_vec()
}

/// Decodes a method's request; a payload we cannot read is an InvalidArgument status. For
/// CreateContainer that refuses the container: we fail closed rather than admit what we could not
/// inspect.
fn decode<M: prost::Message + Default>(
    method: &'static str,
    stream: u32,
    payload: &[u8],
) -> Result<M, Status> {
    ttrpc::decode(method, stream, payload).map_err(|e| {
        error!(method, error = %e, "undecodable request payload");
        Status::new(code::INVALID_ARGUMENT, e.to_string())
    })
}

/// Runs a handler callback; a panic becomes an error status (and so refuses a container being
/// created) instead of taking the plugin, and with it every later check, down.
fn guarded<T>(method: &'static str, f: impl FnOnce() -> T) -> Result<T, Status> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        error!(method, "handler panicked");
        Status::new(
            code::INVALID_ARGUMENT,
            format!("palisade: handler panicked in {method}"),
        )
    })
}

fn configure(handler: &dyn Handler, stream: u32, payload: &[u8]) -> Result<Vec<u8>, Status> {
    let request: api::ConfigureRequest = decode("Configure", stream, payload)?;
    info!(
        runtime = %request.runtime_name,
        version = %request.runtime_version,
        events = format_args!("{:#x}", api::event_mask()),
        "configured"
    );
    guarded("Configure", || {
        handler.configured(&request.runtime_name, &request.runtime_version)
    })?;
    Ok(api::ConfigureResponse {
        events: api::event_mask(),
    }
    .encode_to_vec())
}

fn synchronize(
    handler: &dyn Handler,
    sync: &mut SyncParts,
    stream: u32,
    payload: &[u8],
) -> Result<Vec<u8>, Status> {
    let request: api::SynchronizeRequest = decode("Synchronize", stream, payload)?;
    sync.0.extend(request.pods.into_iter().map(Into::into));
    sync.1
        .extend(request.containers.into_iter().map(Into::into));
    if request.more {
        debug!(
            pods = sync.0.len(),
            containers = sync.1.len(),
            "partial sync, more to follow"
        );
        return Ok(api::SynchronizeResponse { more: true }.encode_to_vec());
    }
    let (pods, containers) = std::mem::take(sync);
    info!(
        pods = pods.len(),
        containers = containers.len(),
        "synchronized"
    );
    guarded("Synchronize", || handler.synchronize(&pods, &containers))?;
    Ok(empty())
}

fn update_container(stream: u32, payload: &[u8]) -> Result<Vec<u8>, Status> {
    let method = "UpdateContainer";
    let (pod, container) = container_request(stream, method, payload)?;
    debug!(method, container_id = %container.id, pod = %pod.name, "update passed through");
    Ok(empty())
}

fn stop_container(handler: &dyn Handler, stream: u32, payload: &[u8]) -> Result<Vec<u8>, Status> {
    let method = "StopContainer";
    let (pod, container) = container_request(stream, method, payload)?;
    debug!(method, container_id = %container.id, pod = %pod.name, "stopping");
    guarded(method, || handler.stop_container(&pod, &container))?;
    Ok(empty())
}

fn create_container(handler: &dyn Handler, stream: u32, payload: &[u8]) -> Result<Vec<u8>, Status> {
    let method = "CreateContainer";
    let (pod, container) = container_request(stream, method, payload)?;
    match guarded(method, || handler.create_container(&pod, &container))? {
        Ok(()) => {
            debug!(method, container_id = %container.id, pod = %pod.name, namespace = %pod.namespace, "admitted");
            Ok(empty())
        }
        Err(message) => {
            info!(method, container_id = %container.id, pod = %pod.name, namespace = %pod.namespace, reason = %message, "refused");
            Err(Status::new(code::PERMISSION_DENIED, message))
        }
    }
}

/// Pod and container of a CreateContainer, UpdateContainer or StopContainer request; both must be
/// there.
fn container_request(
    stream: u32,
    method: &'static str,
    payload: &[u8],
) -> Result<(crate::Pod, crate::Container), Status> {
    let request: api::ContainerRequest = decode(method, stream, payload)?;
    match (request.pod, request.container) {
        (Some(pod), Some(container)) => Ok((pod.into(), container.into())),
        _ => {
            error!(method, "request without pod or container");
            Err(Status::new(
                code::INVALID_ARGUMENT,
                format!("{method} request without pod or container"),
            ))
        }
    }
}

fn state_change(handler: &dyn Handler, stream: u32, payload: &[u8]) -> Result<Vec<u8>, Status> {
    let request: api::StateChangeEvent = decode("StateChange", stream, payload)?;
    let event = Event::from_i32(request.event);
    let callback: fn(&dyn Handler, &crate::Pod, &crate::Container) = match event {
        Some(Event::StartContainer) => |h, p, c| h.start_container(p, c),
        // NRI 0.6 sends StopContainer as its own RPC; take it here too in case a runtime does not.
        Some(Event::StopContainer) => |h, p, c| h.stop_container(p, c),
        Some(Event::RemoveContainer) => |h, p, c| h.remove_container(p, c),
        _ => {
            debug!(
                method = "StateChange",
                event = request.event,
                "event ignored"
            );
            return Ok(empty());
        }
    };
    let Some(container) = request.container else {
        warn!(
            method = "StateChange",
            event = request.event,
            "container event without a container"
        );
        return Ok(empty());
    };
    let pod: crate::Pod = request.pod.unwrap_or_default().into();
    let container: crate::Container = container.into();
    debug!(method = "StateChange", event = ?event, container_id = %container.id, pod = %pod.name, pid = container.pid, "container event");
    guarded("StateChange", || callback(handler, &pod, &container))?;
    Ok(empty())
}
