//! A small blocking client for the containerd gRPC calls the Palisade daemon needs:
//!
//! - [`Client::container`]: one container record (`containers.v1.Containers/Get`) — its image, which
//!   `ctr`-launched containers do not carry in their OCI spec's annotations;
//! - [`Client::running`]: every container with a live task in every namespace
//!   (`namespaces.v1.Namespaces/List`, then per namespace `tasks.v1.Tasks/List` and
//!   `containers.v1.Containers/ListStream`), to re-register them after a daemon restart.
//!
//! Both decode the record's OCI runtime spec (a JSON document in a `google.protobuf.Any`) into
//! [`SpecFacts`]. The namespace of a call travels in the `containerd-namespace` gRPC header.
//!
//! # Why hand-written messages instead of `containerd-client`
//!
//! `containerd-client` 0.9 (tonic 0.14, so it would build here) generates bindings for all of
//! containerd's ~40 `.proto` files in a build script: it needs `protoc` and `tonic-prost-build`/
//! `prost-build` at build time and compiles every service. We use four RPCs and read a dozen fields,
//! so [`proto`] declares just those messages with prost's derive (field numbers from containerd's
//! `api/`), and the calls go through `tonic::client::Grpc` directly: no build script, no protoc, and
//! the dependency set (tonic, prost, tonic-prost, hyper-util, tower, tokio) is the one the workspace
//! already builds for the test bed's CRI client.
//!
//! The client owns a tokio runtime with one worker thread, which keeps the HTTP/2 connection driven
//! between calls (a current-thread runtime, driven only inside calls, held up containerd's graceful
//! shutdown). Calls block the calling thread, each bounded by the timeout given to
//! [`Client::connect`]. Do not call it from inside an async runtime.

mod client;
mod error;
pub mod proto;
mod spec;

pub use client::{Client, ContainerRecord, RunningContainer, NAMESPACE_HEADER};
pub use error::ContainerdError;
pub use spec::{decode_json as decode_spec_json, SpecError, SpecFacts, SpecMount, SPEC_TYPE_URL};
/// gRPC status codes, as carried by [`ContainerdError::Rpc`].
pub use tonic::Code;
