//! The Palisade daemon's parts, as a library so integration tests can drive them.

pub mod capture;
pub mod containers;
pub mod event;
pub mod kernel;
pub mod mounts;
pub mod process;
pub mod syscalls;
