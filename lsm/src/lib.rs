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

pub mod decision;
pub mod enforcer;
pub mod policy;
pub mod probe;

pub use decision::{Action, Decision, DecodeError, FileId, Reason};
pub use enforcer::{programs_of, runtime_mnt_ns, Enforcer, EnforcerError, DEFAULT_PIN_ROOT, HOOKS, OPTIONAL_HOOKS};
pub use policy::{rootfs_dev, ContainerPolicy, ExecIdentity, ExecKind, Mode, PolicyError};
pub use probe::{probe, ProbeError};

/// Every error of this crate.
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
