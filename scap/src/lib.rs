//! Reader for Falco/sysdig `.scap` capture files (work in progress).
