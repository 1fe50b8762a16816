//! The Palisade daemon's parts: the kernel programs and their ring buffer ([`kernel`], [`capture`]),
//! the container registry and its sources ([`containers`]: hook socket, NRI, containerd),
//! configuration ([`config`]), rules loading, mounts, the Kubernetes audit source and the HTTP
//! surfaces ([`webserver`]). The event
//! model is `palisade-events`, captures and replay `palisade-capture`; the `palisade` binary
//! (cli/) wires these together.

pub mod alert_sink;
pub mod capture;
pub mod config;
pub mod containers;
pub mod enforcement;
pub mod k8s_audit;
pub mod kernel;
pub mod mounts;
pub mod profile_set;
pub mod rules_load;
pub mod run;
pub mod webserver;
