//! The Falco event model, as Palisade evaluates it: the records the kernel programs send
//! ([`record`]), the syscall table and argument rendering ([`syscalls`]), the process table
//! ([`process`]), container metadata ([`containers`]), event fields ([`event`]), and the
//! judge pipeline (profile judge, then rules: [`pipeline`], [`would_deny`], [`promotion`]).
//!
//! Invariant: no aya, no tokio, no clang-built object. This crate builds and tests without
//! clang, kernel BTF or root, so the daemon, replays, captures and the fuzz targets share one
//! model and only the daemon loads kernel programs.

pub mod containers;
pub mod event;
pub mod pipeline;
pub mod process;
pub mod promotion;
pub mod record;
pub mod syscalls;
pub mod would_deny;
