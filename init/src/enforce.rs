//! Applying a [`Plan`] to the calling process as a Landlock ruleset.
//!
//! Handled rights (everything not handled stays allowed): `Execute`, and the write rights
//! `WriteFile`, `Truncate`, `RemoveFile`, `RemoveDir`, `MakeReg`, `MakeDir`, `MakeSym`,
//! `MakeChar`, `MakeBlock`, `MakeFifo`, `MakeSock`, `Refer`. Reads, directory listing, device
//! ioctls, network and IPC scoping are not restricted. The ruleset targets Landlock ABI 7 in
//! best-effort mode: on an older kernel the rights it lacks are dropped (ABI 1 has no `Refer` —
//! reparenting is then always denied — and ABI 1–2 no `Truncate`).

use landlock::{
    make_bitflags, AccessFs, BitFlags, LandlockStatus, PathBeneath, PathFd, PathFdError, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetError, RulesetStatus, ABI,
};

use crate::plan::{Plan, Rule};

/// The newest Landlock ABI this build asks for.
pub const TARGET_ABI: ABI = ABI::V7;

/// The write rights granted beneath `write_beneath`.
pub fn write_access() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{
        WriteFile | Truncate | RemoveFile | RemoveDir | MakeReg | MakeDir | MakeSym
            | MakeChar | MakeBlock | MakeFifo | MakeSock | Refer
    })
}

/// What the kernel enforced.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every handled right is enforced.
    Full { abi: ABI },
    /// The kernel's Landlock lacks some handled rights; the rest is enforced.
    Partial { abi: ABI },
}

/// Why the ruleset could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum EnforceError {
    #[error("the kernel has no Landlock ({0}); refusing to run unconfined")]
    Unsupported(&'static str),
    #[error("landlock rule: {0}")]
    PathFd(#[from] PathFdError),
    #[error("landlock: {0}")]
    Landlock(#[from] RulesetError),
}

fn landlock_status(status: &LandlockStatus) -> &'static str {
    match status {
        LandlockStatus::NotEnabled => {
            "supported but not enabled at boot: add landlock to the lsm= kernel parameter"
        }
        LandlockStatus::NotImplemented => "not built into this kernel",
        LandlockStatus::Available { .. } => "available but the ruleset was not enforced",
    }
}

/// Creates the ruleset for `plan` and restricts the calling process (it must be single-threaded)
/// with it. Sets `no_new_privs`: set-user-ID bits and file capabilities no longer raise privileges.
pub fn restrict_self(plan: &Plan) -> Result<Outcome, EnforceError> {
    let write = write_access();
    let file_rights = AccessFs::from_file(TARGET_ABI);
    let rights = |rule: &Rule, access: BitFlags<AccessFs>| {
        if rule.is_dir {
            access
        } else {
            access & file_rights
        }
    };

    let mut ruleset = Ruleset::default()
        .handle_access(write | AccessFs::Execute)?
        .create()?;
    for rule in &plan.write {
        ruleset = ruleset.add_rule(PathBeneath::new(
            PathFd::new(&rule.path)?,
            rights(rule, write),
        ))?;
    }
    for rule in &plan.execute {
        ruleset = ruleset.add_rule(PathBeneath::new(
            PathFd::new(&rule.path)?,
            AccessFs::Execute,
        ))?;
    }
    let status = ruleset.restrict_self()?;
    let abi = ABI::from(status.landlock);
    match status.ruleset {
        RulesetStatus::FullyEnforced => Ok(Outcome::Full { abi }),
        RulesetStatus::PartiallyEnforced => Ok(Outcome::Partial { abi }),
        RulesetStatus::NotEnforced => {
            Err(EnforceError::Unsupported(landlock_status(&status.landlock)))
        }
    }
}

/// Whether this kernel enforces Landlock: creates (and drops) a ruleset that must be fully
/// supported, restricting nothing. The daemon calls it to choose its enforcement backend.
pub fn probe() -> Result<(), EnforceError> {
    use landlock::{CompatLevel, Compatible};
    Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::Execute)?
        .create()?;
    Ok(())
}
