//! Just enough of runc's command line to find the bundle and id of a `create` or `run`, and the
//! container and process of an `exec`.
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

/// Value flags of `exec` (`runc exec --help`, 1.1).
const EXEC_VALUE_FLAGS: &[&str] = &[
    "console-socket", "cwd", "env", "e", "user", "u", "additional-gids", "g", "process", "p", "pid-file",
    "process-label", "apparmor", "cap", "c", "preserve-fds", "cgroup",
];

/// A `create` or `run`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Create {
    pub bundle: PathBuf,
    /// The container id (empty when the line has none: runc will refuse it).
    pub id: String,
}

/// An `exec`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Exec {
    /// The arguments before the command (global flags), for asking runc about the container.
    pub global: Vec<OsString>,
    pub id: String,
    /// `--process FILE`: the process is described by a JSON file (containerd's way).
    pub process_file: Option<PathBuf>,
    /// Otherwise, where the command to run starts in argv.
    pub command_at: usize,
}

/// The `create`/`run` of `argv` (without argv\[0\]).
pub(crate) fn create(argv: &[OsString]) -> Option<Create> {
    let bundle = bundle_to_hook(argv)?;
    let mut i = skip_flags(argv, 0, GLOBAL_VALUE_FLAGS) + 1;
    i = skip_flags(argv, i, CREATE_VALUE_FLAGS);
    let id = argv.get(i).and_then(|a| a.to_str()).unwrap_or_default().to_owned();
    Some(Create { bundle, id })
}

/// The `exec` of `argv` (without argv\[0\]).
pub(crate) fn exec(argv: &[OsString]) -> Option<Exec> {
    let command = skip_flags(argv, 0, GLOBAL_VALUE_FLAGS);
    if argv.get(command)?.to_str()? != "exec" {
        return None;
    }
    let mut i = command + 1;
    let mut process_file = None;
    while let Some(arg) = argv.get(i).and_then(|a| a.to_str()) {
        let Some((name, inline)) = flag(arg) else { break };
        let value = match inline {
            Some(v) => Some(OsString::from(v)),
            None if EXEC_VALUE_FLAGS.contains(&name) => {
                i += 1;
                argv.get(i).cloned()
            }
            None => None,
        };
        if name == "process" || name == "p" {
            process_file = value.map(PathBuf::from);
        }
        i += 1;
    }
    let id = argv.get(i)?.to_str()?.to_owned();
    Some(Exec { global: argv[..command].to_vec(), id, process_file, command_at: i + 1 })
}

/// The bundle directory when `argv` (without argv\[0\]) is a `create` or `run`.
pub(crate) fn bundle_to_hook(argv: &[OsString]) -> Option<PathBuf> {
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

/// The value of global flag `name` (`--log FILE`, `-log=FILE`, ...): only flags before the
/// command count, as runc reads them.
pub(crate) fn global_value(argv: &[OsString], name: &str) -> Option<OsString> {
    let mut i = 0;
    let mut found = None;
    while let Some(arg) = argv.get(i).and_then(|a| a.to_str()) {
        let Some((flag_name, inline)) = flag(arg) else { break };
        let value = match inline {
            Some(v) => Some(OsString::from(v)),
            None if GLOBAL_VALUE_FLAGS.contains(&flag_name) => {
                i += 1;
                argv.get(i).cloned()
            }
            None => None,
        };
        if flag_name == name {
            found = value;
        }
        i += 1;
    }
    found
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
    fn create_names_its_container() {
        let argv: Vec<OsString> = "--root /r create --bundle /b --pid-file /p -d c1".split_whitespace().map(OsString::from).collect();
        assert_eq!(create(&argv), Some(Create { bundle: PathBuf::from("/b"), id: "c1".into() }));
    }

    #[test]
    fn exec_with_a_process_file_or_a_command() {
        let line = "--root /run/containerd/runc/default --log /l.json --log-format json exec --process /tmp/p.json \
                    --console-socket /s --detach --pid-file /x.pid c1";
        let argv: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        let e = exec(&argv).expect("an exec");
        assert_eq!((e.id.as_str(), e.process_file.as_deref()), ("c1", Some(std::path::Path::new("/tmp/p.json"))));
        assert_eq!(e.global.len(), 6);
        let argv: Vec<OsString> = "exec -t -e A=1 --user 0:0 c2 /bin/sh -c id".split_whitespace().map(OsString::from).collect();
        let e = exec(&argv).expect("an exec");
        assert_eq!((e.id.as_str(), e.process_file, e.command_at), ("c2", None, 7));
        assert_eq!(argv[e.command_at], "/bin/sh");
        assert_eq!(exec(&["state".into(), "c1".into()]), None);
    }

    #[test]
    fn other_commands_pass_through() {
        for line in ["start c1", "--root /r state c1", "delete --force c1", "--help", "", "--log create state"] {
            assert_eq!(parse(line), None, "{line}");
        }
    }
}
