//! Just enough of runc's command line to find the bundle of a `create` or `run`.
//!
//! runc parses flags with Go's `flag` package (through urfave/cli v1): `-name`, `--name`,
//! `-name=value`, `--name=value` and `-name value` for flags that take a value; parsing stops at
//! the first argument that is not a flag. Global flags come before the command. Anything this
//! module does not recognise is left for runc to judge: the wrapper never rejects arguments.

use std::ffi::OsString;
use std::path::PathBuf;

/// runc's global flags that take a value (`runc --help`, 1.1).
const GLOBAL_VALUE_FLAGS: &[&str] = &["log", "log-format", "root", "criu", "rootless"];
/// Value flags of `create` and `run`.
const CREATE_VALUE_FLAGS: &[&str] = &["bundle", "b", "console-socket", "pid-file", "preserve-fds"];

/// The bundle directory when `argv` (without argv\[0\]) is a `create` or `run`.
pub fn bundle_to_hook(argv: &[OsString]) -> Option<PathBuf> {
    let mut i = skip_flags(argv, 0, GLOBAL_VALUE_FLAGS);
    let command = argv.get(i)?.to_str()?;
    if command != "create" && command != "run" {
        return None;
    }
    i += 1;
    let mut bundle = None;
    while let Some(arg) = argv.get(i).and_then(|a| a.to_str()) {
        let Some((name, inline)) = flag(arg) else { break };
        let takes_value = CREATE_VALUE_FLAGS.contains(&name);
        let value = match inline {
            Some(v) => Some(OsString::from(v)),
            None if takes_value => {
                i += 1;
                argv.get(i).cloned()
            }
            None => None,
        };
        if name == "bundle" || name == "b" {
            bundle = value.map(PathBuf::from);
        }
        i += 1;
    }
    Some(match bundle {
        Some(b) if b.is_absolute() => b,
        Some(b) => std::env::current_dir().ok()?.join(b),
        None => std::env::current_dir().ok()?,
    })
}

/// Index of the first non-flag argument from `i`.
fn skip_flags(argv: &[OsString], mut i: usize, value_flags: &[&str]) -> usize {
    while let Some(arg) = argv.get(i).and_then(|a| a.to_str()) {
        let Some((name, inline)) = flag(arg) else { break };
        if inline.is_none() && value_flags.contains(&name) {
            i += 1;
        }
        i += 1;
    }
    i
}

/// `(name, inline value)` of a flag argument; `None` for a positional (or `-`/`--`).
fn flag(arg: &str) -> Option<(&str, Option<&str>)> {
    let body = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    if body.is_empty() {
        return None;
    }
    Some(match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Option<PathBuf> {
        let argv: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        bundle_to_hook(&argv)
    }

    #[test]
    fn containerd_shim_create() {
        let line = "--root /run/containerd/runc/default --log /run/b/log.json --log-format json \
                    create --bundle /run/b --pid-file /run/b/init.pid c1";
        assert_eq!(parse(line), Some(PathBuf::from("/run/b")));
    }

    #[test]
    fn every_flag_spelling() {
        assert_eq!(parse("run -b /x c1"), Some(PathBuf::from("/x")));
        assert_eq!(parse("run -bundle=/y c1"), Some(PathBuf::from("/y")));
        assert_eq!(parse("--debug --root=/r create --no-pivot --bundle=/z c1"), Some(PathBuf::from("/z")));
        assert_eq!(parse("-log /l create --console-socket /s -b /w c1"), Some(PathBuf::from("/w")));
    }

    #[test]
    fn defaults_to_the_working_directory() {
        assert_eq!(parse("create c1"), std::env::current_dir().ok());
    }

    #[test]
    fn flags_after_the_id_are_not_flags() {
        assert_eq!(parse("create c1 --bundle /nope"), std::env::current_dir().ok());
    }

    #[test]
    fn other_commands_pass_through() {
        for line in ["start c1", "--root /r state c1", "delete --force c1", "--help", "", "--log create state"] {
            assert_eq!(parse(line), None, "{line}");
        }
    }
}
