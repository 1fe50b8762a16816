//! The few containerd API messages the client needs, written with prost's derive instead of generated
//! from containerd's `.proto` files: no build script, no protoc.
//!
//! Field numbers and names match containerd's `api/` (1.7, unchanged in 2.x for these fields):
//! `services/containers/v1/containers.proto`, `services/tasks/v1/tasks.proto`,
//! `services/namespaces/v1/namespace.proto` and `types/task/task.proto`. Fields not listed are simply
//! absent: protobuf skips unknown fields on decode and leaves absent ones at their defaults.

use std::collections::BTreeMap;

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `containerd.services.containers.v1.Container.Runtime`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Runtime {
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `containerd.services.containers.v1.Container` (without snapshotter, timestamps, extensions).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Container {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(btree_map = "string, string", tag = "2")]
    pub labels: BTreeMap<String, String>,
    #[prost(string, tag = "3")]
    pub image: String,
    #[prost(message, optional, tag = "4")]
    pub runtime: Option<Runtime>,
    #[prost(message, optional, tag = "5")]
    pub spec: Option<Any>,
    #[prost(string, tag = "11")]
    pub sandbox: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetContainerRequest {
    #[prost(string, tag = "1")]
    pub id: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetContainerResponse {
    #[prost(message, optional, tag = "1")]
    pub container: Option<Container>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListContainersRequest {
    #[prost(string, repeated, tag = "1")]
    pub filters: Vec<String>,
}

/// One message of the `ListStream` server stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListContainerMessage {
    #[prost(message, optional, tag = "1")]
    pub container: Option<Container>,
}

/// `containerd.v1.types.Status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Status {
    Unknown = 0,
    Created = 1,
    Running = 2,
    Stopped = 3,
    Paused = 4,
    Pausing = 5,
}

/// `containerd.v1.types.Process` (the fields we read).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Process {
    #[prost(string, tag = "1")]
    pub container_id: String,
    #[prost(string, tag = "2")]
    pub id: String,
    #[prost(uint32, tag = "3")]
    pub pid: u32,
    #[prost(enumeration = "Status", tag = "4")]
    pub status: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListTasksRequest {
    #[prost(string, tag = "1")]
    pub filter: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListTasksResponse {
    #[prost(message, repeated, tag = "1")]
    pub tasks: Vec<Process>,
}

/// `containerd.services.namespaces.v1.Namespace` (without labels).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Namespace {
    #[prost(string, tag = "1")]
    pub name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListNamespacesRequest {
    #[prost(string, tag = "1")]
    pub filter: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListNamespacesResponse {
    #[prost(message, repeated, tag = "1")]
    pub namespaces: Vec<Namespace>,
}
