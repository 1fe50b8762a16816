//! Hook protocol (work in progress).
