//! BPF-LSM enforcement backend (work in progress).
