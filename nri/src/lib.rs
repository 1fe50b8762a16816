//! containerd NRI plugin protocol (work in progress).
