//! `palisade-init`: the Landlock enforcement shim of Palisade.
//!
//! `palisade-init --policy FILE -- PROGRAM ARGS...` reads a [`Policy`], applies it to itself as a
//! Landlock ruleset and executes PROGRAM, so the ruleset holds for the whole process tree. The
//! runc wrapper makes it the entrypoint prefix of enforced containers and of every `runc exec`
//! process. The policy format, what `deny_execute` can and cannot do, and the static build are in
//! the crate's README.
//!
//! Stages: [`policy`] (JSON → validated [`Policy`]), [`plan`] (policy + file system → the paths
//! that get rules), [`enforce`] (plan → ruleset on the calling process).

pub mod args;
pub mod enforce;
pub mod plan;
pub mod policy;

pub use enforce::{EnforceError, Outcome};
pub use plan::{Limits, Plan, PlanError, Rule};
pub use policy::{Mode, Policy, PolicyError};

/// Everything that stops `palisade-init` before it executes the program.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("policy {}: {source}", path.display())]
    Plan {
        path: std::path::PathBuf,
        source: PlanError,
    },
    #[error(transparent)]
    Enforce(#[from] EnforceError),
}

/// What [`confine`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Confinement {
    /// `mode: audit`: nothing applied.
    Audit,
    /// The ruleset is in force on the calling process.
    Enforced { outcome: Outcome, plan: Plan },
}

/// Loads the policy at `path` and, in enforce mode, restricts the calling (single-threaded)
/// process with it.
pub fn confine(path: &std::path::Path, limits: Limits) -> Result<Confinement, InitError> {
    let policy = Policy::load(path)?;
    if policy.mode == Mode::Audit {
        return Ok(Confinement::Audit);
    }
    let plan = plan::plan(&policy, limits).map_err(|source| InitError::Plan {
        path: path.to_owned(),
        source,
    })?;
    let outcome = enforce::restrict_self(&plan)?;
    Ok(Confinement::Enforced { outcome, plan })
}

/// The plan as `--explain` prints it: one `KIND PATH` line per rule or note.
pub fn explain(plan: &Plan) -> String {
    let mut out = String::new();
    let mut line = |kind: &str, path: &std::path::Path, dir: bool| {
        out.push_str(&format!(
            "{kind} {}{}\n",
            path.display(),
            if dir { "/" } else { "" }
        ));
    };
    for rule in &plan.write {
        line("write", &rule.path, rule.is_dir);
    }
    for rule in &plan.execute {
        line("execute", &rule.path, rule.is_dir);
    }
    for path in &plan.denied {
        line("denied", path, false);
    }
    for path in &plan.missing {
        line("missing", path, false);
    }
    for path in &plan.writable_and_executable {
        line("warning-writable-and-executable", path, false);
    }
    out.push_str(&format!(
        "# {} write rules, {} execute rules, {} directory entries walked\n",
        plan.write.len(),
        plan.execute.len(),
        plan.entries_walked
    ));
    out
}
