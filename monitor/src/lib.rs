//! The Palisade daemon's parts, as a library so integration tests can drive them.

pub mod capture;
pub mod config;
pub mod containers;
pub mod k8s_audit;
pub mod kernel;
pub mod mounts;
pub mod rules_load;
