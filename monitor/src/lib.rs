//! The Palisade daemon's parts, as a library so integration tests can drive them.

pub mod event;
pub mod kernel;
pub mod process;
