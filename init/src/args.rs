//! Command line: `palisade-init --policy FILE [--explain] -- PROGRAM [ARGS...]`.
//!
//! Parsed by hand (no clap: the binary is bind-mounted into every enforced container and stays
//! small). Arguments after `--` are passed to PROGRAM byte for byte, UTF-8 or not.

use std::ffi::OsString;
use std::path::PathBuf;

/// The help text.
pub const USAGE: &str = "\
usage: palisade-init --policy FILE -- PROGRAM [ARGS...]
       palisade-init --policy FILE --explain

Applies the Landlock ruleset described by FILE (JSON: version, mode enforce|audit, write_beneath,
execute, deny_execute) to itself, then executes PROGRAM with ARGS and the unchanged environment.
The ruleset holds for PROGRAM and every process it starts.

  --policy FILE   the policy (written by palisade-runc)
  --explain       print the rules FILE yields on this file system and exit
  -h, --help      this text
Exit status: PROGRAM's (it replaces palisade-init); 126 when the policy is invalid, the ruleset
cannot be applied (in enforce mode: also when the kernel has no Landlock) or PROGRAM cannot be
executed; 127 when PROGRAM does not exist.";

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Invocation {
    /// Apply the policy, then execute `program` with `args`.
    Run {
        policy: PathBuf,
        program: OsString,
        args: Vec<OsString>,
    },
    /// Print the plan for the policy.
    Explain { policy: PathBuf },
    /// Print the usage.
    Help,
}

/// A command line that does not fit the usage.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    #[error("--policy needs a file")]
    PolicyValue,
    #[error("missing --policy FILE")]
    NoPolicy,
    #[error("missing -- PROGRAM")]
    NoProgram,
    #[error("--explain takes no program")]
    ExplainWithProgram,
    #[error("unexpected argument {0:?} (the program goes after --)")]
    Unexpected(OsString),
}

/// Parses the arguments after the binary's name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Invocation, UsageError> {
    let mut args = args.into_iter();
    let mut policy = None;
    let mut explain = false;
    let mut command = None;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--") => {
                command = Some(args.by_ref().collect::<Vec<_>>());
                break;
            }
            Some("--policy") => policy = Some(args.next().ok_or(UsageError::PolicyValue)?),
            Some(s) if s.starts_with("--policy=") => {
                policy = Some(OsString::from(&s["--policy=".len()..]))
            }
            Some("--explain") => explain = true,
            Some("-h" | "--help") => return Ok(Invocation::Help),
            _ => return Err(UsageError::Unexpected(arg)),
        }
    }
    let policy = PathBuf::from(
        policy
            .filter(|p| !p.is_empty())
            .ok_or(UsageError::NoPolicy)?,
    );
    match (explain, command) {
        (true, None) => Ok(Invocation::Explain { policy }),
        (true, Some(_)) => Err(UsageError::ExplainWithProgram),
        (false, Some(mut command)) if !command.is_empty() => {
            let program = command.remove(0);
            Ok(Invocation::Run {
                policy,
                program,
                args: command,
            })
        }
        (false, _) => Err(UsageError::NoProgram),
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
        let args = [
            "--policy",
            "/p.json",
            "--",
            "/bin/prog",
            "--policy",
            "--",
            "-h",
        ]
        .map(OsString::from);
        let got = parse(args.into_iter().chain([odd.clone()])).unwrap();
        assert_eq!(
            got,
            Invocation::Run {
                policy: "/p.json".into(),
                program: "/bin/prog".into(),
                args: vec!["--policy".into(), "--".into(), "-h".into(), odd],
            }
        );
        assert_eq!(
            parse_strs(&["--policy=/p", "--", "prog"]).unwrap(),
            Invocation::Run {
                policy: "/p".into(),
                program: "prog".into(),
                args: vec![]
            }
        );
    }

    #[test]
    fn explain_help_and_errors() {
        assert_eq!(
            parse_strs(&["--explain", "--policy", "/p"]).unwrap(),
            Invocation::Explain {
                policy: "/p".into()
            }
        );
        assert_eq!(parse_strs(&["--help"]).unwrap(), Invocation::Help);
        assert_eq!(
            parse_strs(&["--policy"]).unwrap_err(),
            UsageError::PolicyValue
        );
        assert_eq!(
            parse_strs(&["--", "prog"]).unwrap_err(),
            UsageError::NoPolicy
        );
        assert_eq!(
            parse_strs(&["--policy="]).unwrap_err(),
            UsageError::NoPolicy
        );
        assert_eq!(
            parse_strs(&["--policy", "/p"]).unwrap_err(),
            UsageError::NoProgram
        );
        assert_eq!(
            parse_strs(&["--policy", "/p", "--"]).unwrap_err(),
            UsageError::NoProgram
        );
        assert_eq!(
            parse_strs(&["--policy", "/p", "--explain", "--", "x"]).unwrap_err(),
            UsageError::ExplainWithProgram
        );
        assert_eq!(
            parse_strs(&["--policy", "/p", "prog"])
                .unwrap_err()
                .to_string(),
            "unexpected argument \"prog\" (the program goes after --)"
        );
    }
}
