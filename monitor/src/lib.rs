//! The Palisade daemon's parts, as a library so integration tests can drive them.

pub mod capture;
pub mod config;
pub mod containers;
pub mod control;
pub mod event;
pub mod k8s_audit;
pub mod kernel;
pub mod mounts;
pub mod pipeline;
pub mod process;
pub mod promotion;
pub mod recording;
pub mod replay;
pub mod rules_load;
pub mod syscalls;
pub mod would_deny;
