//! Alert outputs (work in progress).
