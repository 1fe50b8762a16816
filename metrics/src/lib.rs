//! Metrics and web server (work in progress).
