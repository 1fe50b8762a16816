//! A small blocking CRI client (`runtime.v1.RuntimeService`) over containerd's gRPC socket: enough to
//! run host-network pods and containers the way the kubelet would, so that NRI plugins see them.
//!
//! tonic over a unix socket, messages from [`proto`], driven by a private current-thread tokio runtime.
//! Every failed call is an [`Error::Cri`] carrying the gRPC status message: what an NRI plugin's
//! refusal becomes in `CreateContainer`.

pub mod proto;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::error::{Error, Result};
pub use proto::ContainerState;

/// Deadline of one CRI call (ExecSync: its own timeout plus this).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
const SERVICE: &str = "/runtime.v1.RuntimeService/";

/// A pod: host network (NamespaceOption network = NODE), empty hostname, no cgroup parent.
#[derive(Debug, Clone, Default)]
pub struct PodSpec {
    /// Pod name (metadata).
    pub name: String,
    /// Kubernetes namespace (metadata), not the containerd one.
    pub namespace: String,
    /// Pod UID (metadata).
    pub uid: String,
    /// Labels.
    pub labels: HashMap<String, String>,
    /// Annotations.
    pub annotations: HashMap<String, String>,
    /// Where containers' logs go (`<container name>.log` inside); `None`: logs are discarded.
    pub log_directory: Option<PathBuf>,
    /// The CRI runtime handler (what a pod's RuntimeClass names); empty: containerd's default.
    pub runtime_handler: String,
}

impl PodSpec {
    /// A pod named `name` in namespace `default` with a unique UID.
    pub fn new(name: &str) -> PodSpec {
        PodSpec {
            name: name.to_string(),
            namespace: "default".into(),
            uid: crate::unique_name("uid"),
            ..PodSpec::default()
        }
    }

    fn config(&self) -> proto::PodSandboxConfig {
        proto::PodSandboxConfig {
            metadata: Some(proto::PodSandboxMetadata {
                name: self.name.clone(),
                uid: self.uid.clone(),
                namespace: self.namespace.clone(),
                attempt: 0,
            }),
            hostname: String::new(),
            log_directory: self.log_directory.as_ref().map(|d| d.display().to_string()).unwrap_or_default(),
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
            linux: Some(proto::LinuxPodSandboxConfig {
                cgroup_parent: String::new(),
                security_context: Some(proto::LinuxSandboxSecurityContext {
                    namespace_options: Some(proto::NamespaceOption {
                        network: proto::NamespaceMode::Node as i32,
                        pid: proto::NamespaceMode::Container as i32,
                        ipc: proto::NamespaceMode::Pod as i32,
                    }),
                }),
            }),
        }
    }
}

/// A container of a pod.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    /// Container name (metadata).
    pub name: String,
    /// Image name, imported into `k8s.io` before.
    pub image: String,
    /// Overrides the image's entrypoint when not empty.
    pub command: Vec<String>,
    /// Overrides the image's cmd when not empty.
    pub args: Vec<String>,
    /// Environment.
    pub env: Vec<(String, String)>,
    /// Allocate a terminal.
    pub tty: bool,
    /// Keep stdin open.
    pub stdin: bool,
    /// Labels.
    pub labels: HashMap<String, String>,
    /// Annotations.
    pub annotations: HashMap<String, String>,
}

impl ContainerSpec {
    /// Container `name` from `image` running `command`.
    pub fn new(name: &str, image: &str, command: &[&str]) -> ContainerSpec {
        ContainerSpec {
            name: name.to_string(),
            image: image.to_string(),
            command: command.iter().map(|s| s.to_string()).collect(),
            ..ContainerSpec::default()
        }
    }
}

/// What `ExecSync` returned.
#[derive(Debug, Clone)]
pub struct ExecResult {
    /// Exit code of the command.
    pub exit_code: i32,
    /// Its stdout, lossily decoded.
    pub stdout: String,
    /// Its stderr, lossily decoded.
    pub stderr: String,
}

/// One entry of `ListContainers`.
#[derive(Debug, Clone)]
pub struct ContainerSummary {
    /// Container id.
    pub id: String,
    /// Its pod's id.
    pub pod_id: String,
    /// Container name (metadata).
    pub name: String,
    /// Image as requested.
    pub image: String,
    /// State.
    pub state: ContainerState,
    /// Labels.
    pub labels: HashMap<String, String>,
    /// Annotations.
    pub annotations: HashMap<String, String>,
}

/// `ContainerStatus` (verbose).
#[derive(Debug, Clone)]
pub struct ContainerInfo {
    /// Container id.
    pub id: String,
    /// Container name (metadata).
    pub name: String,
    /// State.
    pub state: ContainerState,
    /// Exit code once exited.
    pub exit_code: i32,
    /// Why it is in this state (`Completed`, `Error`, ...).
    pub reason: String,
    /// Human-readable detail.
    pub message: String,
    /// PID of its init process, from the verbose info (containerd's `info` JSON), when running.
    pub pid: Option<u32>,
    /// Log file, if the pod has a log directory.
    pub log_path: String,
    /// The raw verbose info map.
    pub info: HashMap<String, String>,
}

fn state(v: i32) -> ContainerState {
    ContainerState::try_from(v).unwrap_or(ContainerState::ContainerUnknown)
}

/// A connection to a CRI runtime service. Calls block the calling thread.
pub struct CriClient {
    rt: tokio::runtime::Runtime,
    channel: Channel,
    socket: PathBuf,
}

impl std::fmt::Debug for CriClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CriClient").field("socket", &self.socket).finish()
    }
}

impl CriClient {
    /// Connects to the CRI service at `socket` (containerd's gRPC socket) and checks it answers
    /// `Version`.
    pub fn connect(socket: &Path) -> Result<CriClient> {
        let fail = |message: String| Error::CriConnect { socket: socket.to_path_buf(), message };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| fail(format!("tokio runtime: {e}")))?;
        let path = socket.to_path_buf();
        // The URI is required by the API but unused: the connector ignores it and dials the socket.
        let endpoint = Endpoint::try_from("http://localhost").map_err(|e| fail(e.to_string()))?;
        let channel = rt
            .block_on(endpoint.connect_with_connector(tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move { Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?)) }
            })))
            .map_err(|e| {
                fail(format!("{e}: {}", std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default()))
            })?;
        let client = CriClient { rt, channel, socket: socket.to_path_buf() };
        client.version()?;
        Ok(client)
    }

    fn call<Req, Resp>(&self, rpc: &'static str, req: Req, timeout: Duration) -> Result<Resp>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let path = PathAndQuery::try_from(format!("{SERVICE}{rpc}"))
            .map_err(|e| Error::Invalid(format!("CRI path for {rpc}: {e}")))?;
        let failed = |code, message: String| Error::Cri { rpc, code, message };
        self.rt.block_on(async {
            let mut grpc = tonic::client::Grpc::new(self.channel.clone());
            grpc.ready().await.map_err(|e| failed(tonic::Code::Unavailable, format!("channel not ready: {e}")))?;
            let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
            match tokio::time::timeout(timeout, grpc.unary(tonic::Request::new(req), path, codec)).await {
                Err(_) => Err(Error::Timeout { what: format!("CRI {rpc}"), after: timeout, detail: String::new() }),
                Ok(Err(status)) => Err(failed(status.code(), status.message().to_string())),
                Ok(Ok(resp)) => Ok(resp.into_inner()),
            }
        })
    }

    /// The runtime's name and version (`containerd`, `v1.7.24`).
    pub fn version(&self) -> Result<(String, String)> {
        let r: proto::VersionResponse =
            self.call("Version", proto::VersionRequest { version: "v1".into() }, CALL_TIMEOUT)?;
        Ok((r.runtime_name, r.runtime_version))
    }

    /// `RunPodSandbox`; returns the pod id.
    pub fn run_pod(&self, pod: &PodSpec) -> Result<String> {
        let req = proto::RunPodSandboxRequest { config: Some(pod.config()), runtime_handler: pod.runtime_handler.clone() };
        let r: proto::RunPodSandboxResponse = self.call("RunPodSandbox", req, CALL_TIMEOUT)?;
        Ok(r.pod_sandbox_id)
    }

    /// `CreateContainer` in pod `pod_id` (created from `pod`); returns the container id. An NRI plugin
    /// refusing the container makes this fail with the plugin's message in [`Error::Cri`].
    pub fn create_container(&self, pod_id: &str, pod: &PodSpec, c: &ContainerSpec) -> Result<String> {
        let config = proto::ContainerConfig {
            metadata: Some(proto::ContainerMetadata { name: c.name.clone(), attempt: 0 }),
            image: Some(proto::ImageSpec { image: c.image.clone(), annotations: HashMap::new() }),
            command: c.command.clone(),
            args: c.args.clone(),
            working_dir: String::new(),
            envs: c.env.iter().map(|(key, value)| proto::KeyValue { key: key.clone(), value: value.clone() }).collect(),
            labels: c.labels.clone(),
            annotations: c.annotations.clone(),
            log_path: if pod.log_directory.is_some() { format!("{}.log", c.name) } else { String::new() },
            stdin: c.stdin,
            stdin_once: false,
            tty: c.tty,
        };
        let req = proto::CreateContainerRequest {
            pod_sandbox_id: pod_id.to_string(),
            config: Some(config),
            sandbox_config: Some(pod.config()),
        };
        let r: proto::CreateContainerResponse = self.call("CreateContainer", req, CALL_TIMEOUT)?;
        Ok(r.container_id)
    }

    /// `StartContainer`.
    pub fn start_container(&self, id: &str) -> Result<()> {
        let _: proto::Empty =
            self.call("StartContainer", proto::ContainerIdRequest { container_id: id.into() }, CALL_TIMEOUT)?;
        Ok(())
    }

    /// `StopContainer`: SIGTERM, SIGKILL after `timeout` (whole seconds).
    pub fn stop_container(&self, id: &str, timeout: Duration) -> Result<()> {
        let req = proto::StopContainerRequest { container_id: id.into(), timeout: timeout.as_secs() as i64 };
        let _: proto::Empty = self.call("StopContainer", req, CALL_TIMEOUT + timeout)?;
        Ok(())
    }

    /// `RemoveContainer` (stops it first if needed).
    pub fn remove_container(&self, id: &str) -> Result<()> {
        let _: proto::Empty =
            self.call("RemoveContainer", proto::ContainerIdRequest { container_id: id.into() }, CALL_TIMEOUT)?;
        Ok(())
    }

    /// `StopPodSandbox` (stops its containers too).
    pub fn stop_pod(&self, pod_id: &str) -> Result<()> {
        let _: proto::Empty =
            self.call("StopPodSandbox", proto::PodSandboxIdRequest { pod_sandbox_id: pod_id.into() }, CALL_TIMEOUT)?;
        Ok(())
    }

    /// `RemovePodSandbox` (removes its containers too).
    pub fn remove_pod(&self, pod_id: &str) -> Result<()> {
        let req = proto::PodSandboxIdRequest { pod_sandbox_id: pod_id.into() };
        let _: proto::Empty = self.call("RemovePodSandbox", req, CALL_TIMEOUT)?;
        Ok(())
    }

    /// `ExecSync`: runs `cmd` in the container and waits up to `timeout` (whole seconds, 0: no limit).
    pub fn exec_sync(&self, id: &str, cmd: &[&str], timeout: Duration) -> Result<ExecResult> {
        let req = proto::ExecSyncRequest {
            container_id: id.into(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            timeout: timeout.as_secs() as i64,
        };
        let r: proto::ExecSyncResponse = self.call("ExecSync", req, CALL_TIMEOUT + timeout)?;
        Ok(ExecResult {
            exit_code: r.exit_code,
            stdout: String::from_utf8_lossy(&r.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
        })
    }

    /// `ListContainers`, optionally of one pod.
    pub fn list_containers(&self, pod_id: Option<&str>) -> Result<Vec<ContainerSummary>> {
        let filter = pod_id.map(|p| proto::ContainerFilter { id: String::new(), pod_sandbox_id: p.to_string() });
        let r: proto::ListContainersResponse =
            self.call("ListContainers", proto::ListContainersRequest { filter }, CALL_TIMEOUT)?;
        Ok(r.containers
            .into_iter()
            .map(|c| ContainerSummary {
                state: state(c.state),
                id: c.id,
                pod_id: c.pod_sandbox_id,
                name: c.metadata.map(|m| m.name).unwrap_or_default(),
                image: c.image.map(|i| i.image).unwrap_or_default(),
                labels: c.labels,
                annotations: c.annotations,
            })
            .collect())
    }

    /// `ContainerStatus` with verbose info (which carries the PID).
    pub fn container_status(&self, id: &str) -> Result<ContainerInfo> {
        let req = proto::ContainerStatusRequest { container_id: id.into(), verbose: true };
        let r: proto::ContainerStatusResponse = self.call("ContainerStatus", req, CALL_TIMEOUT)?;
        let s = r.status.ok_or_else(|| Error::Invalid(format!("ContainerStatus of {id}: no status")))?;
        let pid = r
            .info
            .get("info")
            .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
            .and_then(|v| v.get("pid")?.as_u64())
            .and_then(|p| u32::try_from(p).ok())
            .filter(|&p| p != 0);
        Ok(ContainerInfo {
            state: state(s.state),
            id: s.id,
            name: s.metadata.map(|m| m.name).unwrap_or_default(),
            exit_code: s.exit_code,
            reason: s.reason,
            message: s.message,
            pid,
            log_path: s.log_path,
            info: r.info,
        })
    }
}
