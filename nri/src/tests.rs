//! The plugin against a fake runtime: the runtime side of NRI written with the crate's own framing,
//! over a socket pair (sessions) or a socket in a tempdir (reconnection).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::oneshot;

use crate::api::{self, Event};
use crate::mux::{self, Demux};
use crate::session::{self, SessionEnd};
use crate::ttrpc::{self, code, Request, Response, Status};
use crate::{Container, Handler, NriError, PluginConfig, Pod};

/// Records every callback as one line; refuses containers named `evil`, panics on `boom`.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
}

impl Recorder {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
    fn push(&self, call: String) {
        self.calls.lock().expect("lock").push(call);
    }
}

impl Handler for Recorder {
    fn configured(&self, runtime_name: &str, runtime_version: &str) {
        self.push(format!("configured {runtime_name} {runtime_version}"));
    }
    fn synchronize(&self, pods: &[Pod], containers: &[Container]) {
        let pods: Vec<_> = pods
            .iter()
            .map(|p| format!("{}/{}", p.namespace, p.name))
            .collect();
        let containers: Vec<_> = containers
            .iter()
            .map(|c| format!("{}@{}", c.name, c.pid))
            .collect();
        self.push(format!("sync pods={pods:?} containers={containers:?}"));
    }
    fn create_container(&self, pod: &Pod, container: &Container) -> Result<(), String> {
        self.push(format!(
            "create {}/{} {} {}",
            pod.namespace, pod.name, container.name, container.cgroups_path
        ));
        match container.name.as_str() {
            "evil" => Err("palisade refuses evil".into()),
            "boom" => panic!("handler bug"),
            _ => Ok(()),
        }
    }
    fn start_container(&self, pod: &Pod, container: &Container) {
        self.push(format!(
            "start {} {} pid={}",
            pod.name, container.name, container.pid
        ));
    }
    fn stop_container(&self, pod: &Pod, container: &Container) {
        self.push(format!("stop {} {}", pod.name, container.name));
    }
    fn remove_container(&self, pod: &Pod, container: &Container) {
        self.push(format!("remove {} {}", pod.name, container.name));
    }
}

/// The runtime's end of one NRI connection.
struct FakeRuntime {
    stream: UnixStream,
    demux: Demux,
    next_stream: u32,
}

impl FakeRuntime {
    fn new(stream: UnixStream) -> Self {
        Self {
            stream,
            demux: Demux::default(),
            next_stream: 1,
        }
    }

    async fn read_more(&mut self) {
        self.demux.trunk_mut().reserve(4096);
        let read = tokio::time::timeout(
            Duration::from_secs(5),
            self.stream.read_buf(self.demux.trunk_mut()),
        )
        .await
        .expect("plugin answers within 5 s")
        .expect("read");
        assert_ne!(read, 0, "plugin closed the connection");
        assert!(self.demux.route().expect("valid frames").is_empty());
    }

    async fn next_on_runtime_conn(&mut self) -> ttrpc::Message {
        loop {
            if let Some(m) = ttrpc::decode_message(&mut self.demux.runtime).expect("valid message")
            {
                return m;
            }
            self.read_more().await;
        }
    }

    async fn next_on_plugin_conn(&mut self) -> ttrpc::Message {
        loop {
            if let Some(m) = ttrpc::decode_message(&mut self.demux.plugin).expect("valid message") {
                return m;
            }
            self.read_more().await;
        }
    }

    /// Sends one ttrpc message split over two mux frames, as a stream may be.
    async fn send(&mut self, conn: u32, stream: u32, kind: u8, payload: &[u8]) {
        let mut message = Vec::new();
        ttrpc::encode_message(stream, kind, payload, &mut message).expect("small");
        let (head, tail) = message.split_at(message.len() / 2);
        let mut frames = Vec::new();
        mux::encode_frame(conn, head, &mut frames).expect("small");
        mux::encode_frame(conn, tail, &mut frames).expect("small");
        self.stream.write_all(&frames).await.expect("write");
    }

    async fn expect_register(&mut self) -> (u32, api::RegisterPluginRequest) {
        let message = self.next_on_runtime_conn().await;
        assert_eq!(message.kind, ttrpc::TYPE_REQUEST);
        assert_eq!(message.stream % 2, 1, "client stream ids are odd");
        let request = Request::decode(&message.payload[..]).expect("request");
        assert_eq!(
            (request.service.as_str(), request.method.as_str()),
            (api::RUNTIME_SERVICE, "RegisterPlugin")
        );
        (
            message.stream,
            api::RegisterPluginRequest::decode(&request.payload[..]).expect("register"),
        )
    }

    async fn reply_register(&mut self, stream: u32, response: Response) {
        self.send(
            mux::RUNTIME_SERVICE_CONN,
            stream,
            ttrpc::TYPE_RESPONSE,
            &response.encode_to_vec(),
        )
        .await;
    }

    async fn call_service(&mut self, service: &str, method: &str, payload: Vec<u8>) -> Response {
        let stream = self.next_stream;
        self.next_stream += 2;
        let request = Request {
            service: service.into(),
            method: method.into(),
            payload,
            ..Request::default()
        };
        self.send(
            mux::PLUGIN_SERVICE_CONN,
            stream,
            ttrpc::TYPE_REQUEST,
            &request.encode_to_vec(),
        )
        .await;
        let message = self.next_on_plugin_conn().await;
        assert_eq!(
            (message.stream, message.kind),
            (stream, ttrpc::TYPE_RESPONSE)
        );
        Response::decode(&message.payload[..]).expect("response")
    }

    async fn call(&mut self, method: &str, payload: Vec<u8>) -> Response {
        self.call_service(api::PLUGIN_SERVICE, method, payload)
            .await
    }

    /// Register (answered after Configure, as containerd does), Configure, Synchronize.
    async fn handshake(&mut self, containers: Vec<api::Container>) {
        let (stream, register) = self.expect_register().await;
        assert_eq!(
            (register.plugin_name.as_str(), register.plugin_idx.as_str()),
            ("palisade", "10")
        );
        let configure = api::ConfigureRequest {
            config: String::new(),
            runtime_name: "containerd".into(),
            runtime_version: "1.7.24".into(),
        };
        let response = self.call("Configure", configure.encode_to_vec()).await;
        assert_eq!(response.failure(), None);
        let events = api::ConfigureResponse::decode(&response.payload[..])
            .expect("configure response")
            .events;
        assert_eq!(events, 0x628);
        self.reply_register(stream, Response::ok(api::Empty {}.encode_to_vec()))
            .await;
        let sync = api::SynchronizeRequest {
            pods: vec![pod()],
            containers,
            more: false,
        };
        let response = self.call("Synchronize", sync.encode_to_vec()).await;
        assert_eq!(response.failure(), None);
        assert!(response.payload.is_empty(), "no updates");
    }
}

fn config(socket: &std::path::Path) -> PluginConfig {
    PluginConfig {
        socket: socket.to_owned(),
        ..PluginConfig::default()
    }
}

fn pod() -> api::PodSandbox {
    api::PodSandbox {
        id: "pod-id".into(),
        name: "web".into(),
        uid: "uid-1".into(),
        namespace: "prod".into(),
        pid: 100,
        ..Default::default()
    }
}

fn container(name: &str, pid: u32) -> api::Container {
    api::Container {
        id: format!("{name}-id"),
        pod_sandbox_id: "pod-id".into(),
        name: name.into(),
        pid,
        linux: Some(api::LinuxContainer {
            cgroups_path: format!("kubepods:cri-containerd:{name}-id"),
        }),
        ..Default::default()
    }
}

fn container_request(name: &str) -> Vec<u8> {
    api::ContainerRequest {
        pod: Some(pod()),
        container: Some(container(name, 0)),
    }
    .encode_to_vec()
}

fn state_change(event: Event, container: Option<api::Container>) -> Vec<u8> {
    api::StateChangeEvent {
        event: event as i32,
        pod: Some(pod()),
        container,
    }
    .encode_to_vec()
}

/// The session's outcome, as a task.
type SessionTask = tokio::task::JoinHandle<Result<SessionEnd, NriError>>;

/// Runs a session on one end of a socket pair; returns the fake runtime, the handler, a sender
/// that shuts the session down, and the session's outcome.
fn start_session() -> (FakeRuntime, Arc<Recorder>, oneshot::Sender<()>, SessionTask) {
    let (ours, theirs) = UnixStream::pair().expect("socket pair");
    let recorder = Arc::new(Recorder::default());
    let handler = recorder.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = std::pin::pin!(async move {
            let _ = stopped.await;
        });
        session::serve(
            ours,
            &config("/unused".as_ref()),
            handler.as_ref(),
            shutdown,
        )
        .await
    });
    (FakeRuntime::new(theirs), recorder, stop, task)
}

#[tokio::test]
async fn full_sequence_drives_the_handler_and_answers() {
    let (mut runtime, recorder, _stop, session) = start_session();
    runtime.handshake(vec![container("old", 42)]).await;

    let ok = runtime
        .call("CreateContainer", container_request("app"))
        .await;
    assert_eq!(ok.failure(), None);
    let refused = runtime
        .call("CreateContainer", container_request("evil"))
        .await;
    assert_eq!(
        refused.failure(),
        Some(&Status::new(
            code::PERMISSION_DENIED,
            "palisade refuses evil"
        ))
    );

    let started = runtime
        .call(
            "StateChange",
            state_change(Event::StartContainer, Some(container("app", 4242))),
        )
        .await;
    assert_eq!(started.failure(), None);
    let stop = api::ContainerRequest {
        pod: Some(pod()),
        container: Some(container("app", 4242)),
    };
    assert_eq!(
        runtime
            .call("StopContainer", stop.encode_to_vec())
            .await
            .failure(),
        None
    );
    assert_eq!(
        runtime
            .call("UpdateContainer", container_request("app"))
            .await
            .failure(),
        None
    );
    let removed = runtime
        .call(
            "StateChange",
            state_change(Event::RemoveContainer, Some(container("app", 0))),
        )
        .await;
    assert_eq!(removed.failure(), None);
    let pod_event = runtime
        .call("StateChange", state_change(Event::RunPodSandbox, None))
        .await;
    assert_eq!(pod_event.failure(), None);

    // NRI >= 0.12 tries these first and falls back to StateChange on Unimplemented.
    let newer = runtime
        .call("StartContainer", container_request("app"))
        .await;
    assert_eq!(newer.failure().map(|s| s.code), Some(code::UNIMPLEMENTED));
    let other = runtime
        .call_service("grpc.health.v1.Health", "Check", Vec::new())
        .await;
    assert_eq!(other.failure().map(|s| s.code), Some(code::UNIMPLEMENTED));

    assert_eq!(runtime.call("Shutdown", Vec::new()).await.failure(), None);
    drop(runtime);
    let end = session
        .await
        .expect("session task")
        .expect("session ends cleanly");
    assert_eq!(end, SessionEnd::Closed { registered: true });

    assert_eq!(
        recorder.calls(),
        [
            "configured containerd 1.7.24",
            r#"sync pods=["prod/web"] containers=["old@42"]"#,
            "create prod/web app kubepods:cri-containerd:app-id",
            "create prod/web evil kubepods:cri-containerd:evil-id",
            "start web app pid=4242",
            "stop web app",
            "remove web app",
        ]
    );
}

#[tokio::test]
async fn undecodable_or_panicking_create_fails_closed() {
    let (mut runtime, recorder, _stop, _session) = start_session();
    runtime.handshake(Vec::new()).await;
    let garbage = runtime.call("CreateContainer", vec![0xff, 0xff]).await;
    assert_eq!(
        garbage.failure().map(|s| s.code),
        Some(code::INVALID_ARGUMENT)
    );
    let empty = runtime.call("CreateContainer", Vec::new()).await;
    assert_eq!(
        empty.failure().map(|s| s.code),
        Some(code::INVALID_ARGUMENT),
        "no pod, no container"
    );
    let boom = runtime
        .call("CreateContainer", container_request("boom"))
        .await;
    assert!(boom
        .failure()
        .is_some_and(|s| s.message.contains("panicked")));
    // The session survives all three.
    assert_eq!(
        runtime
            .call("CreateContainer", container_request("app"))
            .await
            .failure(),
        None
    );
    assert_eq!(recorder.calls().len(), 4, "{:?}", recorder.calls());
}

#[tokio::test]
async fn split_sync_reaches_the_handler_whole() {
    let (mut runtime, recorder, _stop, _session) = start_session();
    let (stream, _) = runtime.expect_register().await;
    runtime
        .reply_register(stream, Response::ok(Vec::new()))
        .await;
    let first = api::SynchronizeRequest {
        pods: vec![pod()],
        containers: vec![container("a", 1)],
        more: true,
    };
    let reply = runtime.call("Synchronize", first.encode_to_vec()).await;
    let more = api::SynchronizeResponse::decode(&reply.payload[..])
        .expect("sync response")
        .more;
    assert!(more, "we take split syncs");
    assert!(
        recorder.calls().is_empty(),
        "no callback before the last part"
    );
    let last = api::SynchronizeRequest {
        pods: Vec::new(),
        containers: vec![container("b", 2)],
        more: false,
    };
    assert_eq!(
        runtime
            .call("Synchronize", last.encode_to_vec())
            .await
            .failure(),
        None
    );
    assert_eq!(
        recorder.calls(),
        [r#"sync pods=["prod/web"] containers=["a@1", "b@2"]"#]
    );
}

#[tokio::test]
async fn registration_refused_carries_the_runtime_message() {
    let (mut runtime, _recorder, _stop, session) = start_session();
    let (stream, _) = runtime.expect_register().await;
    runtime
        .reply_register(
            stream,
            Response::error(Status::new(2, "invalid plugin index")),
        )
        .await;
    match session.await.expect("session task") {
        Err(NriError::RegistrationRefused { message, code, .. }) => {
            assert_eq!((code, message.as_str()), (2, "invalid plugin index"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn shutdown_ends_the_session() {
    let (mut runtime, _recorder, stop, session) = start_session();
    runtime.handshake(Vec::new()).await;
    stop.send(()).expect("session alive");
    assert_eq!(
        session.await.expect("task").expect("clean"),
        SessionEnd::Shutdown
    );
}

#[tokio::test(start_paused = true)]
async fn silent_runtime_times_out_registration() {
    let (mut runtime, _recorder, _stop, session) = start_session();
    runtime.expect_register().await;
    match session.await.expect("task") {
        Err(NriError::RegistrationTimeout(t)) => assert_eq!(t, session::REGISTRATION_TIMEOUT),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn run_reconnects_and_resynchronizes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("nri.sock");
    let recorder = Arc::new(Recorder::default());
    let (stop, stopped) = oneshot::channel::<()>();
    // The plugin starts before the runtime: it keeps retrying the missing socket.
    let plugin = tokio::spawn(crate::run(config(&socket), recorder.clone(), async move {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_millis(250)).await;

    let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
    for round in 0..2 {
        let (stream, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
            .await
            .expect("plugin reconnects within 5 s")
            .expect("accept");
        let mut runtime = FakeRuntime::new(stream);
        runtime.handshake(vec![container("c", round)]).await;
        // Dropping the fake runtime closes the connection, like containerd going away.
    }
    stop.send(()).expect("plugin alive");
    plugin.await.expect("task").expect("run ends cleanly");
    let syncs: Vec<_> = recorder
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("sync"))
        .collect();
    assert_eq!(
        syncs,
        [
            r#"sync pods=["prod/web"] containers=["c@0"]"#,
            r#"sync pods=["prod/web"] containers=["c@1"]"#
        ]
    );
}

#[tokio::test]
async fn run_stops_on_refusal_and_bad_index() {
    let recorder: Arc<dyn Handler> = Arc::new(Recorder::default());
    let bad = PluginConfig {
        index: "7".into(),
        ..PluginConfig::default()
    };
    assert!(matches!(
        crate::run(bad, recorder.clone(), std::future::pending()).await,
        Err(NriError::InvalidIndex(_))
    ));

    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("nri.sock");
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
    let plugin = tokio::spawn(crate::run(
        config(&socket),
        recorder,
        std::future::pending(),
    ));
    let (stream, _) = listener.accept().await.expect("accept");
    let mut runtime = FakeRuntime::new(stream);
    let (stream, _) = runtime.expect_register().await;
    runtime
        .reply_register(
            stream,
            Response::error(Status::new(2, "plugin already registered")),
        )
        .await;
    let result = tokio::time::timeout(Duration::from_secs(5), plugin)
        .await
        .expect("run returns")
        .expect("task");
    assert!(
        matches!(result, Err(NriError::RegistrationRefused { .. })),
        "{result:?}"
    );
}

#[test]
fn spawned_plugin_stops_and_joins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let handle = crate::spawn(
        config(&dir.path().join("absent.sock")),
        Arc::new(Recorder::default()),
    )
    .expect("spawn");
    std::thread::sleep(Duration::from_millis(150));
    assert!(!handle.is_finished(), "keeps retrying a missing socket");
    handle.stop().expect("stops cleanly");
}
