//! The hook ↔ daemon protocol and its small blocking client.
//!
//! `palisade-hook` runs as an OCI `createRuntime` and `poststop` hook. It forwards the container's
//! OCI state (and, at creation, facts from the bundle's `config.json`) to the daemon over a unix
//! socket and, at creation, waits until the daemon says the container is armed. The same socket
//! answers `palisade containers`.
//!
//! Wire format (version [`PROTOCOL_VERSION`]): the client writes one JSON [`Request`] followed by
//! `\n`, the daemon answers with one JSON [`Reply`] followed by `\n` and closes. One request per
//! connection keeps both ends trivial and makes a stuck peer cost one bounded read.
//!
//! This crate depends on serde only: the hook binary must stay small and start fast (it runs in
//! the critical path of every container start).

mod client;
mod config;
pub mod oci;
mod protocol;

pub use client::{request, ClientError};
pub use config::{ConfigError, FailurePolicy, HookConfig, DEFAULT_CONFIG_PATH};
pub use oci::{Mount as MountFact, RuntimeSpec};
pub use protocol::{
    BudgetDrops, BundleFacts, CgroupDrops, ContainerSummary, DaemonStatus, OciState, Phase, PromotionReport, Reply, ReportExample,
    Request, SettingReport, SpecChanges, PROTOCOL_VERSION,
};
