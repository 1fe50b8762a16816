//! Command line: `palisade-init -- PROGRAM [ARGS...]` or `palisade-init --explain [FILE]`.
//!
//! There is no `--policy`: the policy that confines is always the one the wrapper mounted at
//! `/.palisade/policy.json` (see [`crate::trusted`]); a container naming another file must not be
//! able to choose its own confinement. `--explain` may read any file because it confines nothing.
//!
//! Parsed by hand (no clap: the binary is bind-mounted into every enforced container and stays
//! small). Arguments after `--` are passed to PROGRAM byte for byte, UTF-8 or not.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::trusted::POLICY_PATH;

/// The help text.
pub const USAGE: &str = "\
usage: palisade-init -- PROGRAM [ARGS...]
       palisade-init --explain [FILE]

Applies the Landlock ruleset described by /.palisade/policy.json (JSON: version 2, write_beneath,
execute, deny_execute, no_execute) to itself, then executes PROGRAM with ARGS and the unchanged
environment. The ruleset holds for PROGRAM and every process it starts. The policy must be the
file palisade-runc bind-mounts there: a regular file owned by root, not writable by group or
others, on a read-only mount; anything else is refused.

  --explain [FILE]  print the rules FILE (default /.palisade/policy.json) yields on this file
                    system and exit; confines nothing
  -h, --help        this text
Exit status: PROGRAM's (it replaces palisade-init); 126 when the policy is refused or invalid,
the ruleset cannot be applied (also when the kernel has no Landlock, or refuses another layer)
or PROGRAM cannot be executed; 127 when PROGRAM does not exist.";

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Invocation {
    /// Apply the policy at `/.palisade/policy.json`, then execute `program` with `args`.
    Run { program: OsString, args: Vec<OsString> },
    /// Print the plan for the policy.
    Explain { policy: PathBuf },
    /// Print the usage.
    Help,
}

/// A command line that does not fit the usage.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    #[error("--policy is not accepted: the policy is always /.palisade/policy.json, mounted by palisade-runc")]
    PolicyFlag,
    #[error("missing -- PROGRAM")]
    NoProgram,
    #[error("--explain takes no program")]
    ExplainWithProgram,
    #[error("unexpected argument {0:?} (the program goes after --)")]
    Unexpected(OsString),
}

/// Parses the arguments after the binary's name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Invocation, UsageError> {
    let mut args = args.into_iter().peekable();
    match args.next() {
        None => Err(UsageError::NoProgram),
        Some(arg) => match arg.to_str() {
            Some("--") => {
                let program = args.next().ok_or(UsageError::NoProgram)?;
                Ok(Invocation::Run { program, args: args.collect() })
            }
            Some("-h" | "--help") => Ok(Invocation::Help),
            Some("--explain") => {
                let policy = match args.next() {
                    None => PathBuf::from(POLICY_PATH),
                    Some(a) if a == "--" => return Err(UsageError::ExplainWithProgram),
                    Some(file) => PathBuf::from(file),
                };
                match args.next() {
                    None => Ok(Invocation::Explain { policy }),
                    Some(_) => Err(UsageError::ExplainWithProgram),
                }
            }
            Some(s) if s == "--policy" || s.starts_with("--policy=") => Err(UsageError::PolicyFlag),
            _ => Err(UsageError::Unexpected(arg)),
        },
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test panics at the call")]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn parse_strs(args: &[&str]) -> Result<Invocation, UsageError> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn run_keeps_arguments_verbatim() {
        let odd = OsString::from_vec(vec![b'a', 0xff, b'z']);
        let args = ["--", "/bin/prog", "--policy", "--", "-h"].map(OsString::from);
        let got = parse(args.into_iter().chain([odd.clone()])).unwrap();
        assert_eq!(
            got,
            Invocation::Run {
                program: "/bin/prog".into(),
                args: vec!["--policy".into(), "--".into(), "-h".into(), odd],
            }
        );
        // A nested init is just a program.
        assert_eq!(
            parse_strs(&["--", "/.palisade/init", "--", "sh"]).unwrap(),
            Invocation::Run { program: "/.palisade/init".into(), args: vec!["--".into(), "sh".into()] }
        );
    }

    #[test]
    fn explain_help_and_errors() {
        assert_eq!(
            parse_strs(&["--explain", "/p"]).unwrap(),
            Invocation::Explain { policy: "/p".into() }
        );
        assert_eq!(
            parse_strs(&["--explain"]).unwrap(),
            Invocation::Explain { policy: POLICY_PATH.into() }
        );
        assert_eq!(parse_strs(&["--help"]).unwrap(), Invocation::Help);
        for forged in [&["--policy", "/proc/self/fd/0", "--", "sh"][..], &["--policy=/p", "--", "sh"]] {
            assert_eq!(parse_strs(forged).unwrap_err(), UsageError::PolicyFlag);
        }
        assert_eq!(parse_strs(&[]).unwrap_err(), UsageError::NoProgram);
        assert_eq!(parse_strs(&["--"]).unwrap_err(), UsageError::NoProgram);
        assert_eq!(
            parse_strs(&["--explain", "/p", "--", "x"]).unwrap_err(),
            UsageError::ExplainWithProgram
        );
        assert_eq!(
            parse_strs(&["--explain", "--", "x"]).unwrap_err(),
            UsageError::ExplainWithProgram
        );
        assert_eq!(
            parse_strs(&["prog"]).unwrap_err().to_string(),
            "unexpected argument \"prog\" (the program goes after --)"
        );
    }
}
