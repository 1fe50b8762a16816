//! The blocking [`Client`]: tonic over containerd's unix socket, driven by a private tokio runtime
//! with one worker thread, one deadline per call.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::error::{io_cause, ContainerdError};
use crate::proto;
use crate::spec::{self, SpecFacts};

/// The gRPC metadata key containerd reads the namespace of a call from.
pub const NAMESPACE_HEADER: &str = "containerd-namespace";

const CONTAINERS_GET: &str = "/containerd.services.containers.v1.Containers/Get";
const CONTAINERS_LIST_STREAM: &str = "/containerd.services.containers.v1.Containers/ListStream";
const TASKS_LIST: &str = "/containerd.services.tasks.v1.Tasks/List";
const NAMESPACES_LIST: &str = "/containerd.services.namespaces.v1.Namespaces/List";

/// Largest response accepted (tonic's default is 4 MiB; containerd's own send limit is 16 MiB).
const MAX_RESPONSE: usize = 64 << 20;

/// A container record as containerd stores it, with the facts of its OCI spec decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRecord {
    /// containerd namespace (`default` for ctr, `k8s.io` for CRI, `moby` for Docker).
    pub namespace: String,
    /// Container id.
    pub id: String,
    /// Image reference the container was created from (`docker.io/library/nginx:1.25`); may be empty.
    pub image: String,
    /// Container labels (CRI puts `io.kubernetes.*` here; ctr/nerdctl the image config's labels).
    pub labels: std::collections::BTreeMap<String, String>,
    /// Runtime name (`io.containerd.runc.v2`).
    pub runtime: String,
    /// Facts from the OCI spec.
    pub spec: SpecFacts,
}

/// A container whose task is alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningContainer {
    /// The container record.
    pub record: ContainerRecord,
    /// PID of the task's init process (host PID namespace as containerd sees it).
    pub pid: u32,
    /// Task status: `RUNNING`, `CREATED`, `PAUSED` or `PAUSING`.
    pub status: String,
}

/// A connection to containerd's gRPC API. Calls block the calling thread; they must not be made from
/// inside an async runtime (the client drives its own, with one worker thread named
/// `palisade-containerd`). The channel reconnects by itself after containerd restarts.
pub struct Client {
    rt: tokio::runtime::Runtime,
    channel: Channel,
    socket: PathBuf,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("socket", &self.socket)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Client {
    /// Connects (bounded by `timeout`) to containerd's socket. `timeout` also bounds every later call.
    pub fn connect(socket: &Path, timeout: Duration) -> Result<Client, ContainerdError> {
        let fail = |source| ContainerdError::Connect {
            socket: socket.to_path_buf(),
            source,
        };
        // One worker thread keeps the connection driven between calls, so it answers HTTP/2 GOAWAY
        // and pings. With a current-thread runtime (driven only inside calls) containerd 1.7 did not
        // exit within 10 s of SIGTERM while an idle client was connected, and a later call failed
        // with "transport error: stream closed because of a broken pipe".
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("palisade-containerd")
            .enable_all()
            .build()
            .map_err(fail)?;
        let path = socket.to_path_buf();
        // tonic wants a URI; the connector ignores it and dials the socket.
        let endpoint = Endpoint::from_static("http://containerd").connect_timeout(timeout);
        let connecting = endpoint.connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?))
            }
        }));
        let channel = match rt.block_on(async { tokio::time::timeout(timeout, connecting).await }) {
            Err(_) => {
                return Err(ContainerdError::Timeout {
                    what: format!("connect to {}", socket.display()),
                    namespace: None,
                    after: timeout,
                })
            }
            Ok(Err(e)) => return Err(fail(io_cause(&e))),
            Ok(Ok(channel)) => channel,
        };
        Ok(Client {
            rt,
            channel,
            socket: socket.to_path_buf(),
            timeout,
        })
    }

    /// The socket this client talks to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The container record, or `Ok(None)` if containerd does not know it (nor the namespace).
    pub fn container(
        &self,
        namespace: &str,
        id: &str,
    ) -> Result<Option<ContainerRecord>, ContainerdError> {
        let what = || format!("get container {id:?} in namespace {namespace:?}");
        let req = proto::GetContainerRequest { id: id.to_string() };
        let resp: Result<proto::GetContainerResponse, _> =
            self.unary(CONTAINERS_GET, Some(namespace), what, req);
        match resp {
            Ok(r) => match r.container {
                Some(c) => record(namespace, c).map(Some),
                None => Ok(None),
            },
            Err(e) if e.code() == Some(tonic::Code::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every container with a RUNNING (or CREATED, PAUSED, PAUSING) task, in every namespace, sorted by
    /// namespace and id. A container whose spec cannot be decoded is still listed, with empty
    /// [`SpecFacts`] and a warning logged: dropping it would leave a live container unwatched.
    pub fn running(&self) -> Result<Vec<RunningContainer>, ContainerdError> {
        let mut namespaces = self.namespaces()?;
        namespaces.sort();
        let mut out = Vec::new();
        for ns in &namespaces {
            let tasks: Vec<proto::Process> = self
                .tasks(ns)?
                .into_iter()
                .filter(|t| alive(t.status))
                .collect();
            if tasks.is_empty() {
                continue;
            }
            let mut containers: HashMap<String, proto::Container> = self
                .containers(ns)?
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect();
            for task in tasks {
                let id = if task.container_id.is_empty() {
                    &task.id
                } else {
                    &task.container_id
                };
                // Deleted between the two calls: not running any more.
                let Some(c) = containers.remove(id) else {
                    continue;
                };
                let facts = spec::decode(c.spec.as_ref()).unwrap_or_else(|e| {
                    tracing::warn!(namespace = %ns, container_id = %id, error = %e, "spec not decodable; listing the container without spec facts");
                    SpecFacts::default()
                });
                let rec = record_with(ns, c, facts);
                out.push(RunningContainer {
                    record: rec,
                    pid: task.pid,
                    status: status_name(task.status).into(),
                });
            }
        }
        out.sort_by(|a, b| {
            (&a.record.namespace, &a.record.id).cmp(&(&b.record.namespace, &b.record.id))
        });
        Ok(out)
    }

    /// Names of all namespaces.
    fn namespaces(&self) -> Result<Vec<String>, ContainerdError> {
        let req = proto::ListNamespacesRequest::default();
        let resp: proto::ListNamespacesResponse =
            self.unary(NAMESPACES_LIST, None, || "list namespaces".into(), req)?;
        Ok(resp.namespaces.into_iter().map(|n| n.name).collect())
    }

    /// Every task of `namespace`, whatever its status.
    fn tasks(&self, namespace: &str) -> Result<Vec<proto::Process>, ContainerdError> {
        let what = || format!("list tasks in namespace {namespace:?}");
        let resp: proto::ListTasksResponse = self.unary(
            TASKS_LIST,
            Some(namespace),
            what,
            proto::ListTasksRequest::default(),
        )?;
        Ok(resp.tasks)
    }

    /// Every container record of `namespace`, through `ListStream` (one record per message, so no
    /// response size limit applies to the whole list).
    fn containers(&self, namespace: &str) -> Result<Vec<proto::Container>, ContainerdError> {
        let what = || format!("list containers in namespace {namespace:?}");
        let req = proto::ListContainersRequest::default();
        let msgs: Vec<proto::ListContainerMessage> = self.with_retry(
            Some(namespace),
            what,
            |mut grpc, request| async move {
                let codec = tonic_prost::ProstCodec::<
                    proto::ListContainersRequest,
                    proto::ListContainerMessage,
                >::default();
                let mut stream = grpc
                    .server_streaming(
                        request,
                        PathAndQuery::from_static(CONTAINERS_LIST_STREAM),
                        codec,
                    )
                    .await?
                    .into_inner();
                let mut all = Vec::new();
                while let Some(m) = stream.message().await? {
                    all.push(m);
                }
                Ok(all)
            },
            req,
        )?;
        Ok(msgs.into_iter().filter_map(|m| m.container).collect())
    }

    /// One unary call of `rpc`.
    fn unary<Req, Resp>(
        &self,
        rpc: &'static str,
        namespace: Option<&str>,
        what: impl Fn() -> String,
        req: Req,
    ) -> Result<Resp, ContainerdError>
    where
        Req: prost::Message + Clone + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        self.with_retry(
            namespace,
            what,
            |mut grpc, request| async move {
                let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
                Ok(grpc
                    .unary(request, PathAndQuery::from_static(rpc), codec)
                    .await?
                    .into_inner())
            },
            req,
        )
    }

    /// Runs `call` with the namespace header and the deadline set. Every call here only reads, so one
    /// that failed because the connection broke (containerd restarted) is tried once more; the
    /// channel reconnects by itself.
    fn with_retry<Req, T, F, Fut>(
        &self,
        namespace: Option<&str>,
        what: impl Fn() -> String,
        call: F,
        req: Req,
    ) -> Result<T, ContainerdError>
    where
        Req: Clone,
        F: Fn(tonic::client::Grpc<Channel>, tonic::Request<Req>) -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        let rpc_error = |status: tonic::Status| ContainerdError::Rpc {
            what: what(),
            namespace: namespace.map(String::from),
            code: status.code(),
            message: status_message(&status),
        };
        let header = match namespace {
            None => None,
            Some(ns) => Some(MetadataValue::try_from(ns).map_err(|e| {
                rpc_error(tonic::Status::invalid_argument(format!(
                    "namespace not usable as a header: {e}"
                )))
            })?),
        };
        let request = || {
            let mut r = tonic::Request::new(req.clone());
            if let Some(value) = &header {
                r.metadata_mut().insert(NAMESPACE_HEADER, value.clone());
            }
            // Tells containerd the deadline too (`grpc-timeout`), so it stops working on a call we gave up.
            r.set_timeout(self.timeout);
            r
        };
        let timeout = self.timeout;
        let timed_out = || ContainerdError::Timeout {
            what: what(),
            namespace: namespace.map(String::from),
            after: timeout,
        };
        self.rt.block_on(async {
            let mut first = true;
            loop {
                let mut grpc = tonic::client::Grpc::new(self.channel.clone()).max_decoding_message_size(MAX_RESPONSE);
                let outcome = tokio::time::timeout(timeout, async {
                    grpc.ready().await.map_err(|e| tonic::Status::unavailable(format!("channel not ready: {}", io_cause(&e))))?;
                    call(grpc, request()).await
                })
                .await;
                match outcome {
                    Err(_) => return Err(timed_out()),
                    Ok(Ok(v)) => return Ok(v),
                    Ok(Err(status)) if first && broken_connection(&status) => {
                        tracing::debug!(socket = %self.socket.display(), what = %what(), %status, "retrying once");
                        first = false;
                    }
                    Ok(Err(status)) => return Err(rpc_error(status)),
                }
            }
        })
    }
}

/// `Unavailable`, or a transport failure on our side (tonic reports those as `Unknown` with the
/// cause as the status's source; containerd's own errors have none).
fn broken_connection(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::Unavailable
        || (status.code() == tonic::Code::Unknown && std::error::Error::source(status).is_some())
}

/// The status message, with the transport failure behind it when tonic's message is only
/// "transport error".
fn status_message(status: &tonic::Status) -> String {
    match std::error::Error::source(status) {
        Some(cause) => format!("{}: {}", status.message(), io_cause(cause)),
        None => status.message().to_string(),
    }
}

/// `true` for the task states that have a live init process.
fn alive(status: i32) -> bool {
    matches!(
        proto::Status::try_from(status),
        Ok(proto::Status::Created
            | proto::Status::Running
            | proto::Status::Paused
            | proto::Status::Pausing)
    )
}

/// containerd's name of a task status (`ctr task ls` prints these).
fn status_name(status: i32) -> &'static str {
    match proto::Status::try_from(status) {
        Ok(proto::Status::Created) => "CREATED",
        Ok(proto::Status::Running) => "RUNNING",
        Ok(proto::Status::Stopped) => "STOPPED",
        Ok(proto::Status::Paused) => "PAUSED",
        Ok(proto::Status::Pausing) => "PAUSING",
        Ok(proto::Status::Unknown) | Err(_) => "UNKNOWN",
    }
}

fn record(namespace: &str, c: proto::Container) -> Result<ContainerRecord, ContainerdError> {
    let facts = spec::decode(c.spec.as_ref()).map_err(|source| ContainerdError::Spec {
        namespace: namespace.to_string(),
        id: c.id.clone(),
        source,
    })?;
    Ok(record_with(namespace, c, facts))
}

fn record_with(namespace: &str, c: proto::Container, spec: SpecFacts) -> ContainerRecord {
    ContainerRecord {
        namespace: namespace.to_string(),
        id: c.id,
        image: c.image,
        labels: c.labels,
        runtime: c.runtime.map(|r| r.name).unwrap_or_default(),
        spec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Client>();
    }

    #[test]
    fn alive_statuses() {
        let alive_ones: Vec<&str> = (0..=6).filter(|s| alive(*s)).map(status_name).collect();
        assert_eq!(alive_ones, ["CREATED", "RUNNING", "PAUSED", "PAUSING"]);
        assert_eq!(status_name(3), "STOPPED");
        assert_eq!(status_name(42), "UNKNOWN");
    }

    #[test]
    fn connect_to_a_missing_socket_names_it() {
        let socket = Path::new("/nonexistent/palisade/containerd.sock");
        let err = Client::connect(socket, Duration::from_secs(2)).expect_err("no socket there");
        let msg = err.to_string();
        assert!(matches!(err, ContainerdError::Connect { .. }), "{err:?}");
        assert!(
            msg.contains("/nonexistent/palisade/containerd.sock"),
            "{msg}"
        );
        assert!(msg.contains("No such file or directory"), "{msg}");
    }

    #[test]
    fn connect_to_a_socket_nobody_listens_on_is_refused() {
        let dir = std::env::temp_dir().join(format!("palisade-ctrd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let socket = dir.join("stale.sock");
        // Bound then closed: the file stays, nobody accepts.
        drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind"));
        let err = Client::connect(&socket, Duration::from_secs(2)).expect_err("refused");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(err.to_string().contains("stale.sock"), "{err}");
        assert!(err.to_string().contains("refused"), "{err}");
    }
}
