//! `palisade profiles`: validate per-image profile files, and show which profile an image gets.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use palisade_profiles::{MatchedBy, ProfileSet};

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// Load profile files and directories; print each profile, or every error as
    /// `file:line:col: key: message (profile 'name')`. Exit status 0 iff there are no errors.
    Check {
        /// Profile files or directories (their *.yaml, in name order).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Which profile applies to an image reference, and why.
    Match {
        /// Profile files or directories.
        #[arg(short = 'p', long = "profiles", required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The image reference as the runtime reports it (`nginx:1.25`, `docker.io/library/nginx@sha256:...`).
        image: String,
        /// The image's digest, when known separately.
        #[arg(long)]
        digest: Option<String>,
    },
}

fn load(paths: &[PathBuf]) -> Result<ProfileSet, ExitCode> {
    ProfileSet::load(paths).map_err(|errors| {
        for e in &errors {
            eprintln!("{e}");
        }
        eprintln!("{} errors", errors.len());
        ExitCode::FAILURE
    })
}

pub fn run(cmd: ProfilesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ProfilesCommand::Check { paths } => {
            let set = match load(&paths) {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            for p in set.profiles() {
                let mode = p.mode.map_or_else(|| "global".to_string(), |m| m.to_string());
                println!("{}\tmode={mode}\t{}", p.name, p.origin.file);
            }
            println!("{} profiles: 0 errors", set.profiles().len());
            Ok(ExitCode::SUCCESS)
        }
        ProfilesCommand::Match { paths, image, digest } => {
            let set = match load(&paths) {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            let r = set.resolve(&image, digest.as_deref());
            let why = match r.by {
                MatchedBy::Digest(d) => format!("digest {d}"),
                MatchedBy::Image(p) => format!("image pattern {:?} at {}:{}:{}", p.written, r.profile.origin.file, p.pos.line, p.pos.col),
                MatchedBy::Default => "nothing else matched: the default profile".into(),
                MatchedBy::Builtin => "nothing matched and no default profile: built-in audit default".into(),
            };
            println!("{}\t{why}", r.profile.name);
            Ok(ExitCode::SUCCESS)
        }
    }
}
