//! What a listener answers: Falco's `/healthz` and `/metrics`, and the k8s-audit webhook.
//!
//! The webhook only receives: it checks the caller (bearer token, client certificate), reads the
//! body within [`Limits::max_body_bytes`] and the server's body budget, and hands it to a
//! [`WebhookHandler`] (the daemon's audit worker) that answers once it has parsed it. It never
//! parses or evaluates on the server's threads, and never waits for room in the worker's queue:
//! a full queue is 503 with `Retry-After` at once, which kube-apiserver's webhook backend retries.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderValue, ALLOW, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use palisade_metrics::{Metrics, OPENMETRICS_CONTENT_TYPE};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use crate::budget::{Budget, Reservation};
use crate::limits::Limits;

/// Falco's health check path (`webserver.k8s_healthz_endpoint`'s default).
pub const HEALTHZ_PATH: &str = "/healthz";

/// Falco's `/healthz` body.
pub const HEALTHZ_BODY: &str = r#"{"status": "ok"}"#;

/// Seconds a client is asked to wait (`Retry-After`) when the webhook is busy.
pub const RETRY_AFTER_SECS: u32 = 1;

/// The routes of one listener.
#[derive(Clone, Default)]
pub struct Routes {
    /// `GET <path>` → 200 `{"status": "ok"}` (Falco's `webserver`; the path is
    /// `k8s_healthz_endpoint`, [`HEALTHZ_PATH`] by default), when set.
    pub healthz: Option<String>,
    /// `GET /metrics` → the OpenMetrics text, when set (`prometheus_metrics_enabled`).
    pub metrics: Option<Arc<Metrics>>,
    /// The k8s-audit webhook, when set.
    pub webhook: Option<Webhook>,
}

/// The k8s-audit webhook route.
#[derive(Clone)]
pub struct Webhook {
    /// The path (`/k8s-audit`); only `POST` is accepted there.
    pub path: String,
    /// When set, requests must carry `Authorization: Bearer <token>` (compared in constant time).
    pub bearer_token: Option<Token>,
    /// When set, requests must come over TLS with a client certificate the listener verified.
    pub require_client_cert: bool,
    /// Who gets the bodies.
    pub handler: Arc<dyn WebhookHandler>,
}

/// A secret compared in constant time; its `Debug` does not print it.
#[derive(Clone)]
pub struct Token(Vec<u8>);

impl Token {
    /// The token as read from its file: surrounding whitespace (a trailing newline) is not part
    /// of it. `None` when nothing is left.
    pub fn from_file_text(text: &[u8]) -> Option<Token> {
        let text = text.trim_ascii();
        (!text.is_empty()).then(|| Token(text.to_vec()))
    }

    fn matches(&self, offered: &[u8]) -> bool {
        self.0.ct_eq(offered).into()
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

/// Receives webhook bodies. `submit` must not block: it queues or refuses.
pub trait WebhookHandler: Send + Sync + 'static {
    /// Queues `body`; the handler answers through `reply` once it has parsed it. `Err` when the
    /// queue is full (the request is answered 503 with `Retry-After`).
    fn submit(&self, body: WebhookBody, reply: Reply) -> Result<(), Busy>;
}

/// The handler's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// A received webhook body. It holds its share of the server's body budget until dropped, so
/// drop it as soon as it is parsed.
#[derive(Debug)]
pub struct WebhookBody {
    bytes: Bytes,
    _reservation: Reservation,
}

impl std::ops::Deref for WebhookBody {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// The answer to one webhook request, sent by the handler.
#[derive(Debug)]
pub struct Reply(oneshot::Sender<Answer>);

/// What the webhook answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 200: the events were taken (items that are not audit events are counted and skipped).
    Accepted,
    /// 400: the body is not an audit payload.
    Invalid,
}

impl Reply {
    /// A reply and the receiver the server awaits (for handlers' tests).
    pub fn pair() -> (Reply, oneshot::Receiver<Answer>) {
        let (tx, rx) = oneshot::channel();
        (Reply(tx), rx)
    }

    pub fn send(self, answer: Answer) {
        // The client may have gone (deadline, disconnect): nobody to answer then.
        let _ = self.0.send(answer);
    }
}

impl WebhookBody {
    /// A body outside any budget (for handlers' tests and benchmarks).
    pub fn unbudgeted(bytes: Bytes) -> WebhookBody {
        WebhookBody { bytes, _reservation: Budget::new(usize::MAX).reserve() }
    }
}

/// What a connection's requests are served with.
pub(crate) struct Context {
    pub(crate) routes: Routes,
    pub(crate) limits: Limits,
    pub(crate) budget: Arc<Budget>,
    pub(crate) metrics: Arc<Metrics>,
    /// The TLS client presented a certificate the listener verified.
    pub(crate) client_cert: bool,
}

type HttpResponse = Response<Full<Bytes>>;

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> HttpResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn text(status: StatusCode, message: &str) -> HttpResponse {
    respond(status, "text/plain; charset=utf-8", format!("{message}\n"))
}

/// A refusal after which the connection closes (the request body, if any, was not read).
fn closing(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

fn busy() -> HttpResponse {
    let mut response = closing(text(StatusCode::SERVICE_UNAVAILABLE, "busy, retry later"));
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}

fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    response.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// Answers one request.
pub(crate) async fn handle(request: Request<Incoming>, cx: &Context) -> HttpResponse {
    let path = request.uri().path();
    let get = matches!(*request.method(), Method::GET | Method::HEAD);
    if cx.routes.healthz.as_deref() == Some(path) {
        return if get { respond(StatusCode::OK, "application/json", HEALTHZ_BODY) } else { method_not_allowed("GET") };
    }
    if let (Some(metrics), "/metrics") = (&cx.routes.metrics, path) {
        return if get { respond(StatusCode::OK, OPENMETRICS_CONTENT_TYPE, metrics.encode()) } else { method_not_allowed("GET") };
    }
    match &cx.routes.webhook {
        Some(webhook) if webhook.path == path => webhook_request(request, webhook, cx).await,
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

fn authorized(request: &Request<Incoming>, webhook: &Webhook, cx: &Context) -> bool {
    if webhook.require_client_cert && !cx.client_cert {
        return false;
    }
    let Some(token) = &webhook.bearer_token else { return true };
    let offered = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .map(<[u8]>::trim_ascii);
    offered.is_some_and(|offered| token.matches(offered))
}

async fn webhook_request(request: Request<Incoming>, webhook: &Webhook, cx: &Context) -> HttpResponse {
    if !authorized(&request, webhook, cx) {
        cx.metrics.k8s_audit_rejected("unauthorized");
        let mut response = closing(text(StatusCode::UNAUTHORIZED, "unauthorized"));
        if webhook.bearer_token.is_some() {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        return response;
    }
    if request.method() != Method::POST {
        return method_not_allowed("POST");
    }
    let max = cx.limits.max_body_bytes;
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        cx.metrics.k8s_audit_rejected("too_large");
        return closing(text(StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
    }
    // A declared length is reserved at once (a request that cannot be held fails before
    // sending its body); a chunked body reserves as it arrives.
    let mut reservation = cx.budget.reserve();
    let declared = declared.map_or(0, |n| n as usize);
    if !reservation.grow(declared) {
        cx.metrics.k8s_audit_rejected("busy");
        return busy();
    }
    let mut body = request.into_body();
    let mut bytes = BytesMut::with_capacity(declared);
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return closing(text(StatusCode::BAD_REQUEST, "body not received"));
        };
        let Ok(data) = frame.into_data() else { continue };
        if bytes.len() + data.len() > max {
            cx.metrics.k8s_audit_rejected("too_large");
            return closing(text(StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
        }
        let beyond = (bytes.len() + data.len()).saturating_sub(declared.max(bytes.len()));
        if beyond > 0 && !reservation.grow(beyond) {
            cx.metrics.k8s_audit_rejected("busy");
            return busy();
        }
        bytes.extend_from_slice(&data);
    }
    let (reply, answer) = Reply::pair();
    let body = WebhookBody { bytes: bytes.freeze(), _reservation: reservation };
    if webhook.handler.submit(body, reply).is_err() {
        cx.metrics.k8s_audit_rejected("queue_full");
        return busy();
    }
    match answer.await {
        Ok(Answer::Accepted) => text(StatusCode::OK, "ok"),
        Ok(Answer::Invalid) => text(StatusCode::BAD_REQUEST, "not an audit payload"),
        Err(_) => busy(),
    }
}
