//! End-to-end container test bed (work in progress).
