//! `palisade-init -- PROGRAM ARGS...`: confine itself with Landlock under the policy at
//! `/.palisade/policy.json`, then execute PROGRAM. See the crate README.
//!
//! stdout is never written (it belongs to PROGRAM) except for `--help` and `--explain`; stderr gets
//! one line when palisade-init fails, and one warning when the kernel enforces only part of the
//! ruleset. Every failure means PROGRAM does not run: there is no unconfined path.

use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use palisade_init::args::{self, Invocation, USAGE};
use palisade_init::{Confinement, Limits, Outcome};

/// Exit status when palisade-init cannot run PROGRAM confined (as a shell's "cannot execute").
const CANNOT_EXECUTE: u8 = 126;
/// Exit status when PROGRAM does not exist (as a shell's "not found").
const NOT_FOUND: u8 = 127;

fn fail(message: &str) -> ExitCode {
    eprintln!("palisade-init: {message}");
    ExitCode::from(CANNOT_EXECUTE)
}

fn main() -> ExitCode {
    let (program, args) = match args::parse(std::env::args_os().skip(1)) {
        Ok(Invocation::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Invocation::Explain { policy }) => return explain(&policy),
        Ok(Invocation::Run { program, args }) => (program, args),
        Err(e) => return fail(&format!("{e} (see --help)")),
    };
    match palisade_init::confine(Limits::default()) {
        Ok(Confinement { outcome: Outcome::Partial { abi }, .. }) => eprintln!(
            "palisade-init: warning: this kernel's Landlock ({abi:?}) enforces only part of the policy"
        ),
        Ok(Confinement { outcome: Outcome::Full { .. }, .. }) => {}
        Err(e) => return fail(&e.to_string()),
    }
    // exec() only returns on failure. It passes the environment unchanged, resets SIGPIPE to its
    // default disposition and empties the signal mask (as runc leaves them for a container).
    let error = std::process::Command::new(&program).args(&args).exec();
    eprintln!(
        "palisade-init: cannot execute {}: {error}",
        program.to_string_lossy()
    );
    ExitCode::from(if error.kind() == std::io::ErrorKind::NotFound {
        NOT_FOUND
    } else {
        CANNOT_EXECUTE
    })
}

fn explain(policy: &std::path::Path) -> ExitCode {
    let plan = palisade_init::Policy::load(policy)
        .map_err(palisade_init::InitError::from)
        .and_then(|p| {
            palisade_init::plan::plan(&p, Limits::default()).map_err(|source| {
                palisade_init::InitError::Plan {
                    path: policy.to_owned(),
                    source,
                }
            })
        });
    match plan {
        Ok(plan) => {
            print!("{}", palisade_init::explain(&plan));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}
