//! `palisade-init`: the Landlock enforcement shim of Palisade.
//!
//! `palisade-init -- PROGRAM ARGS...` reads the container's [`Policy`] from the one place the
//! runc wrapper puts it ([`trusted::POLICY_PATH`], a read-only bind mount), applies it to itself
//! as a Landlock ruleset and executes PROGRAM, so the ruleset holds for the whole process tree.
//! The wrapper makes it the prefix of the entrypoint of every confined container and of every
//! `runc exec` process, whatever their argv. The policy format, what `deny_execute` and
//! `no_execute` can and cannot do, and the static build are in the crate's README.
//!
//! Stages: [`trusted`] (the fixed path, checked) and [`policy`] (JSON → validated [`Policy`]),
//! [`plan`] (policy + file system → the paths that get rules), [`enforce`] (plan → ruleset on the
//! calling process).

pub mod args;
pub mod enforce;
pub mod plan;
pub mod policy;
pub mod trusted;

pub use enforce::{EnforceError, Outcome};
pub use plan::{Limits, Plan, PlanError, Rule};
pub use policy::{Policy, PolicyError};

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

/// What [`confine`] did: the ruleset is in force on the calling process.
#[derive(Debug, PartialEq, Eq)]
pub struct Confinement {
    pub outcome: Outcome,
    pub plan: Plan,
}

/// Loads the policy at [`trusted::POLICY_PATH`] (refusing any file the wrapper did not mount
/// there) and restricts the calling (single-threaded) process with it. There is no way to run
/// unconfined: every error stops the program from running.
pub fn confine(limits: Limits) -> Result<Confinement, InitError> {
    let path = std::path::Path::new(trusted::POLICY_PATH);
    let policy = trusted::load(path)?;
    let plan = plan::plan(&policy, limits).map_err(|source| InitError::Plan {
        path: path.to_owned(),
        source,
    })?;
    let outcome = enforce::restrict_self(&plan)?;
    Ok(Confinement { outcome, plan })
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
        line("denied-program", path, false);
    }
    for path in &plan.no_execute {
        line("denied-writable-place", path, false);
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
