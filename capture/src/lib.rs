//! Captures and replay, on top of the event model (`palisade-events`): the Palisade capture
//! format the daemon writes and `palisade replay` reads ([`recording`]), and the conversion of
//! Falco/sysdig `.scap` files into the records the live kernel path produces ([`replay`]).
//!
//! Invariant: no aya, no tokio, no kernel access. A capture replays on any machine, and the
//! fuzz target for the reader builds without clang.

pub mod recording;
pub mod replay;
