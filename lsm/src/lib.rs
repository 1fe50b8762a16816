//! Palisade's BPF-LSM enforcement backend.
//!
//! The kernel side is `enforce.bpf.c` in palisade-ebpf: LSM programs on exec, file open and
//! the path hooks that deny, per container cgroup, shells, package managers, denied or foreign
//! executables and writes to the immutable image. This crate loads and pins them, arms
//! containers and reads the decisions back:
//!
//! ```no_run
//! use palisade_lsm::{probe, ContainerPolicy, Enforcer, Mode};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! probe()?; // fails plainly where the kernel refuses BPF-LSM: use Landlock there
//! let mut enforcer = Enforcer::load(std::path::Path::new(palisade_lsm::DEFAULT_PIN_ROOT))?;
//! let rootfs = std::path::Path::new("/run/containerd/.../rootfs");
//! let policy = ContainerPolicy {
//!     mode: Mode::Enforce,
//!     deny_shells: true,
//!     immutable: true,
//!     rootfs_dev: palisade_lsm::rootfs_dev(rootfs)?,
//!     allow_write: vec!["/var/cache/nginx".into()],
//!     deny_exec: ContainerPolicy::deny_exec_from_rootfs(rootfs, &["/bin/sh"], &["/usr/bin/apt"], &[])?,
//!     ..Default::default()
//! };
//! enforcer.arm(4242, &policy)?;
//! for decision in enforcer.decisions() {
//!     println!("{:?}", decision?);
//! }
//! # Ok(()) }
//! ```
//!
//! Programs stay attached through pinned links after the daemon exits (enforcement survives
//! restarts); [`Enforcer::load`] reuses them and [`Enforcer::unpin_all`] removes them.
//!
//! # What this backend blocks, and what it cannot
//!
//! Tested in QEMU guests on Debian's 6.1 and 6.12 cloud kernels (`tests/lsm-vm/`), each in
//! enforce mode (`EPERM`) and audit mode (a would-deny record), exactly one decision record per
//! operation:
//! - **Identities** (shells, package managers, `exec.deny`) by (device, inode) wherever the
//!   file sits in the image and under any name or hard link: at exec, and at every
//!   `PROT_EXEC` mapping (`mmap`; `mprotect` adding `PROT_EXEC`) -- the `ld.so /bin/bash`
//!   trick is refused where Landlock cannot see it.
//! - **W^X** ([`ContainerPolicy::deny_writable_exec`]): no exec and no `PROT_EXEC` mapping of a
//!   file in a writable place -- created or copied up in the rootfs after the start (beneath
//!   allow_write), on a writable volume or bind mount, on tmpfs `/dev`, `/run`, `/dev/shm`, or a
//!   memfd -- except beneath [`ContainerPolicy::allow_writable_exec`]. Programs on read-only
//!   mounts run. Anonymous executable memory (JITs) is not a file and is not judged.
//! - **Immutability**: write-open, create, unlink, rename (either end), truncate (also
//!   `open(O_TRUNC)`), link, symlink, mkdir, rmdir, chmod, chown, times (`utimensat`), xattrs
//!   (`setxattr`, `removexattr`) and POSIX ACLs of rootfs files outside allow_write; mount and
//!   move_mount once the entrypoint runs.
//!
//! Limits, measured:
//! - W^X and `exec_only_image` are provenance rules for the container's code: they skip tasks
//!   in the runtime's mount namespace (the host's initial one, [`runtime_mnt_ns`]) -- `runc init` joining
//!   the cgroup for `runc exec` before it enters the container. Identities apply everywhere.
//! - A rootfs that is not an overlay has no upper layer: files written into it beneath
//!   allow_write are not recognised as writable places (volumes and tmpfs still are).
//! - Overlayfs since 6.6 maps files through backing files (the layer's file): on 6.12
//!   `mprotect` adding `PROT_EXEC` to a mapping of an image file does not see its identity
//!   (W^X still applies: upper-layer files are writable places, the image's lower layer is
//!   read-only). `mmap` with `PROT_EXEC`, what the dynamic loader does, is judged on every
//!   kernel.
//! - Kernel 6.2+ `ftruncate(2)` passes `file_truncate`, which is not attached: it needs a
//!   descriptor open for writing, and opening an image file for writing is refused first.
//! - Paths in records and allow checks are walked to at most 32 components and 255 bytes;
//!   longer ones are unknown, which fails closed.

pub mod decision;
#[cfg(feature = "kernel")]
pub mod enforcer;
#[cfg(feature = "kernel")]
pub mod hooks;
#[cfg_attr(
    not(feature = "kernel"),
    allow(dead_code, reason = "the BPF map encodings of a policy serve the enforcer, built with `kernel` only")
)]
pub mod policy;
#[cfg(feature = "kernel")]
pub mod probe;

pub use decision::{Action, Decision, DecodeError, FileId, Reason};
#[cfg(feature = "kernel")]
pub use enforcer::{pin_dirs, remove_all_pins, remove_pin_dir, runtime_mnt_ns, Enforcer, EnforcerError, DEFAULT_PIN_ROOT};
#[cfg(feature = "kernel")]
pub use hooks::{programs_of, HOOKS, OPTIONAL_HOOKS};
pub use policy::{rootfs_dev, ContainerPolicy, ExecIdentity, ExecKind, Mode, PolicyError};
#[cfg(feature = "kernel")]
pub use probe::{probe, ProbeError};

/// Every error of this crate.
#[cfg(feature = "kernel")]
#[derive(Debug, thiserror::Error)]
pub enum LsmError {
    /// BPF-LSM is not usable here.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// Loading, pinning or arming failed.
    #[error(transparent)]
    Enforcer(#[from] EnforcerError),
    /// A policy is invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}
