//! Whether BPF-LSM works on this kernel: load the smallest LSM program of the enforcement
//! object and read the active LSM list. Loading is the real test (a kernel may list `bpf`
//! among its LSMs and still refuse the programs, as this project's CI hosts do); the list
//! catches the opposite case, a kernel that loads LSM programs but never calls them because
//! `bpf` is not among its active LSMs (`lsm=` boot parameter).

use aya::programs::{Lsm, ProgramError};
use aya::{Btf, Ebpf};

/// Where the kernel lists its active LSMs (securityfs).
pub const LSM_LIST: &str = "/sys/kernel/security/lsm";
/// The probe program in `enforce.bpf.c` and the hook it is loaded for.
const PROBE_PROGRAM: &str = "probe_lsm";
const PROBE_HOOK: &str = "bpf";

/// Why BPF-LSM is not usable here.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The kernel refused to load an LSM program (EPERM): BPF-LSM enforcement is impossible.
    #[error(
        "BPF-LSM programs refused by this kernel (BPF_PROG_LOAD of an LSM program returned EPERM; \
         active LSMs: {active}): use the Landlock backend"
    )]
    Refused {
        /// The active LSM list, or a note why it could not be read.
        active: String,
    },
    /// The programs load but `bpf` is not an active LSM, so they would never run.
    #[error("BPF-LSM is not active: {LSM_LIST} lists {active:?} without \"bpf\" (add bpf to the lsm= boot parameter)")]
    NotActive {
        /// The active LSM list.
        active: String,
    },
    /// The enforcement object did not load (no privileges to create maps, ...).
    #[error("loading the enforcement object failed: {0}")]
    Object(#[from] aya::EbpfError),
    /// The kernel has no BTF, which LSM programs need.
    #[error("reading kernel BTF from /sys/kernel/btf/vmlinux failed: {0}")]
    Btf(#[from] aya::BtfError),
    /// Loading the probe program failed for another reason.
    #[error("loading the LSM probe program failed: {0}")]
    Load(#[source] ProgramError),
}

/// The active LSMs, comma-separated, as securityfs lists them.
pub fn active_lsms() -> Result<String, std::io::Error> {
    Ok(std::fs::read_to_string(LSM_LIST)?.trim().to_owned())
}

/// Load (not attach) a tiny LSM program; `Ok` when BPF-LSM programs load and `bpf` is an
/// active LSM. Needs root (CAP_BPF, CAP_SYS_ADMIN for LSM programs) and kernel BTF.
pub fn probe() -> Result<(), ProbeError> {
    let active = active_lsms();
    let mut ebpf = Ebpf::load(&palisade_ebpf::ENFORCE_OBJ.0)?;
    let btf = Btf::from_sys_fs()?;
    let program: &mut Lsm = ebpf
        .program_mut(PROBE_PROGRAM)
        .ok_or(ProbeError::Load(ProgramError::InvalidName { name: PROBE_PROGRAM.into() }))?
        .try_into()
        .map_err(ProbeError::Load)?;
    match program.load(PROBE_HOOK, &btf) {
        Ok(()) => {}
        Err(ProgramError::LoadError { io_error, .. }) if io_error.raw_os_error() == Some(1) => {
            let active = active.unwrap_or_else(|e| format!("unreadable ({LSM_LIST}: {e})"));
            return Err(ProbeError::Refused { active });
        }
        Err(e) => return Err(ProbeError::Load(e)),
    }
    match active {
        Ok(list) if !list.split(',').any(|l| l == "bpf") => Err(ProbeError::NotActive { active: list }),
        // Unreadable (securityfs not mounted): the load worked, which is the stronger signal.
        _ => Ok(()),
    }
}

/// Whether `err` is the documented refusal (the kernel cannot run BPF-LSM at all).
pub fn is_refusal(err: &ProbeError) -> bool {
    matches!(err, ProbeError::Refused { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_says_what_happened_and_what_to_do() {
        let e = ProbeError::Refused { active: "lockdown,capability,landlock,bpf".into() };
        let msg = e.to_string();
        assert!(msg.starts_with("BPF-LSM programs refused by this kernel"), "{msg}");
        assert!(msg.contains("EPERM") && msg.contains("Landlock"), "{msg}");
        assert!(is_refusal(&e));
        let e = ProbeError::NotActive { active: "capability,apparmor".into() };
        assert!(e.to_string().contains("without \"bpf\""));
        assert!(!is_refusal(&e));
    }
}
