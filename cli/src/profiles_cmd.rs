//! `palisade profiles`: validate per-image profile files, show which profile an image gets,
//! and ask the running daemon what a container's profile denied or would deny.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;
use palisade_hook::{Reply, Request, PROTOCOL_VERSION};
use palisade_profiles::{MatchedBy, ProfileSet};

#[derive(Debug, Subcommand)]
pub(crate) enum ProfilesCommand {
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
    /// What a running container's profile denied (enforce) or would have denied (audit) since
    /// the daemon started watching it, per profile setting with the first examples: whether the
    /// container can be promoted from audit to enforce. For a recording, see `palisade replay
    /// --profile`.
    Report {
        /// The container: full id, unique id prefix, or name (see `palisade containers`).
        container: String,
        /// The daemon's socket (`hook_socket` in its configuration).
        #[arg(long, default_value = "/run/palisade/hook.sock", value_name = "PATH")]
        socket: PathBuf,
        /// The report as JSON.
        #[arg(long)]
        json: bool,
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

pub(crate) fn run(cmd: ProfilesCommand) -> anyhow::Result<ExitCode> {
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
        ProfilesCommand::Report { container, socket, json } => {
            let req = Request::ProfileReport { version: PROTOCOL_VERSION, container };
            let reply = palisade_hook::request(&socket, &req, Duration::from_secs(5))
                .with_context(|| format!("asking the daemon at {} (is `palisade run` running?)", socket.display()))?;
            let (container_id, container_name, image, report) = match reply {
                Reply::Report { container_id, container_name, image, report } => (container_id, container_name, image, report),
                Reply::Error { message } => bail!("the daemon says: {message}"),
                other => bail!("unexpected reply from the daemon: {other:?}"),
            };
            if json {
                let value = serde_json::json!({
                    "container_id": container_id, "container_name": container_name, "image": image, "report": report,
                });
                println!("{value}");
                return Ok(ExitCode::SUCCESS);
            }
            let mode = if report.mode.is_empty() { String::new() } else { format!(", mode {}", report.mode) };
            println!("container {container_name} ({}) image {image}{mode}", container_id.get(..12).unwrap_or(&container_id));
            print!("{}", palisade_events::promotion::render(&report));
            Ok(ExitCode::SUCCESS)
        }
    }
}
