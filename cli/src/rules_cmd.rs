//! `palisade rules ...`: validate, check-condition, list, show, fields.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use palisade_rules::condition::parser::{parse_with_depth, LOADER_MAX_DEPTH};
use palisade_rules::fields::{ArgKind, Source};
use palisade_rules::{Loaded, Loader};

/// `writeln!` into the command's output buffer (a `String` cannot fail to grow).
macro_rules! outln {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Load rule files in order and report every error and warning.
    ///
    /// Prints `loaded N rules, M macros, L lists: E errors, W warnings`, then one line per
    /// diagnostic as `file:line:col: error|warning: message (rule 'name')`. Exit status 0 iff
    /// there is no error.
    Validate(FilesArg),
    /// Check one condition: prints its canonical form (exit 0) or the error (exit 1).
    ///
    /// Without --parse-only, fields and operator types are checked too. Macros and lists are
    /// not available here (use `rules show` for a rule's expanded condition).
    CheckCondition {
        /// Only check the syntax.
        #[arg(long)]
        parse_only: bool,
        /// The event source whose fields the condition uses.
        #[arg(long, default_value = "syscall", value_parser = parse_source)]
        source: Source,
        /// The condition, e.g. 'evt.type = open and proc.name in (cat, less)'.
        condition: String,
    },
    /// List the rules of the given files: name, priority, source, enabled, tags.
    List(FilesArg),
    /// Print a rule's fully expanded condition in Falco's canonical form.
    Show {
        #[command(flatten)]
        files: FilesArg,
        /// The rule name.
        rule: String,
    },
    /// List the fields conditions and outputs may use, with their types.
    Fields {
        /// Only this source's fields.
        #[arg(long, value_parser = parse_source)]
        source: Option<Source>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct FilesArg {
    /// A rules file, or a directory whose `*.yaml`/`*.yml` files load in name order (as
    /// `rules_files` in the configuration); repeat to load several in order (later files
    /// override earlier ones).
    #[arg(short = 'r', long = "rules-file", required = true, value_name = "FILE|DIR")]
    files: Vec<PathBuf>,
}

fn parse_source(s: &str) -> Result<Source, String> {
    Source::from_name(s).ok_or_else(|| format!("unknown source '{s}' (expected syscall or k8s_audit)"))
}

fn load(files: &FilesArg) -> anyhow::Result<Loaded> {
    // Directories expand exactly as `palisade run` expands them.
    let config = palisade_daemon::config::Config { rules_files: files.files.clone(), ..Default::default() };
    let expanded = palisade_daemon::rules_load::rule_files(&config)?;
    let mut loader = Loader::new();
    for f in &expanded {
        loader.add_file(f).with_context(|| format!("cannot read rules file {}", f.display()))?;
    }
    Ok(loader.compile())
}

fn print_diagnostics(loaded: &Loaded, out: &mut String) {
    for d in &loaded.report.diagnostics {
        outln!(out, "{d}");
    }
}

fn require_ruleset(loaded: Loaded) -> anyhow::Result<palisade_rules::Ruleset> {
    if loaded.ruleset.is_none() {
        for d in loaded.report.errors() {
            eprintln!("{d}");
        }
        bail!("the rules files have errors");
    }
    loaded.ruleset.context("no ruleset")
}

/// Write the whole output; a closed pipe (`palisade rules fields | head`) is not an error.
fn flush(out: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

pub(crate) fn run(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    let mut out = String::new();
    let code = run_into(cmd, &mut out)?;
    flush(&out)?;
    Ok(code)
}

fn run_into(cmd: RulesCommand, out: &mut String) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::Validate(files) => {
            let loaded = load(&files)?;
            let errors = loaded.report.errors().count();
            let warnings = loaded.report.warnings().count();
            outln!(out, 
                "loaded {} rules, {} macros, {} lists: {} errors, {} warnings",
                loaded.counts.rules, loaded.counts.macros, loaded.counts.lists, errors, warnings
            );
            print_diagnostics(&loaded, out);
            Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        RulesCommand::CheckCondition { parse_only, source, condition } => {
            let expr = match parse_with_depth(&condition, LOADER_MAX_DEPTH) {
                Ok(e) => e,
                Err(e) => {
                    outln!(out, "error at offset {}: {}", e.offset, e.message);
                    return Ok(ExitCode::FAILURE);
                }
            };
            if !parse_only {
                if let Err(e) = palisade_rules::eval::compile(&expr, source) {
                    outln!(out, "error at offset {}: {}", e.pos, e.message);
                    return Ok(ExitCode::FAILURE);
                }
            }
            outln!(out, "{expr}");
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::List(files) => {
            let rs = require_ruleset(load(&files)?)?;
            for r in rs.rules() {
                outln!(out, 
                    "{}\t{}\t{}\t{}\t{}",
                    r.name,
                    r.priority,
                    r.source,
                    if r.enabled { "enabled" } else { "disabled" },
                    r.tags.join(",")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Show { files, rule } => {
            let rs = require_ruleset(load(&files)?)?;
            let Some(r) = rs.rule(&rule) else {
                bail!("no rule named '{rule}' in the given files");
            };
            outln!(out, "{}", r.condition);
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Fields { source } => {
            let sources: Vec<Source> = source.map_or(Source::ALL.to_vec(), |s| vec![s]);
            for s in sources {
                outln!(out, "# source: {s}");
                for f in s.fields() {
                    let arg = match f.arg {
                        ArgKind::None => "",
                        ArgKind::OptionalIndex => "[N]",
                        ArgKind::RequiredIndex => "[N] (required)",
                        ArgKind::OptionalKey => "[KEY]",
                        ArgKind::RequiredKey => "[KEY] (required)",
                        ArgKind::DottedOrBracketed => ".NAME or [NAME|N] (required)",
                    };
                    let list = if f.is_list() { " list" } else { "" };
                    let dep = if f.is_deprecated() { " deprecated" } else { "" };
                    // Fields Palisade never supplies say so, with the reason (docs/fields.md).
                    let takes_arg = matches!(f.arg, ArgKind::RequiredIndex | ArgKind::RequiredKey | ArgKind::DottedOrBracketed);
                    let na = (s == Source::Syscall)
                        .then(|| palisade_rules::fields::unsupplied(f.name, takes_arg))
                        .flatten()
                        .map_or(String::new(), |why| format!(" Always <NA> in Palisade: {why}"));
                    outln!(out, "{}{arg}\t{}{list}{dep}\t{}{na}", f.name, f.ty, f.desc);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
