//! `palisade replay`: evaluate recorded events offline and print their alerts and a per-rule
//! summary. Sources, told apart by their first bytes unless `--source` says: Palisade
//! captures (`palisade capture`), syscall captures (`.scap`, sysdig/Falco format, plain or
//! gzip) and files of Kubernetes audit events (`--source k8s_audit`: an `EventList`, an
//! `Event`, or JSON lines as `--audit-log-path` writes).
//!
//! `--profile` judges a Palisade capture's containers under per-image profiles in enforce
//! mode and reports, per profile setting, what would have been denied: the audit→enforce
//! promotion report.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use palisade_daemon::containers::ContainerMeta;
use palisade_events::pipeline::{Emitted, Evaluator};
use palisade_events::promotion::{self, Tally};
use palisade_capture::{recording, replay};
use palisade_profiles::{Mode, ProfileSet};
use palisade_rules::alert::Alert;
use palisade_rules::{Loader, Priority, RuleMatching, Ruleset, Source};
use palisade_scap::Capture;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["files", "profile"])))]
pub(crate) struct ReplayArgs {
    /// A rules file; repeat to load several in order.
    #[arg(short = 'r', long = "rules-file", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Report what these per-image profiles, in enforce mode, would have denied in a Palisade
    /// capture: per setting, counts and the first examples. A file or directory; if it holds
    /// one profile, that profile judges every container of the capture, otherwise each
    /// container gets the profile its image matches, as in the daemon.
    #[arg(long, value_name = "PATH")]
    profile: Option<PathBuf>,
    /// The event source of FILE (default: `syscall` for a Palisade or .scap capture, else
    /// `k8s_audit`).
    #[arg(long, value_parser = ["k8s_audit", "syscall"])]
    source: Option<String>,
    /// Print alerts (and the --profile report) as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Only alert for rules at least this severe.
    #[arg(long, default_value = "debug")]
    priority: Priority,
    /// `first` or `all` matching rules per event.
    #[arg(long, default_value = "first", value_parser = ["first", "all"])]
    rule_matching: String,
    /// Disable the rules with this tag (Falco's -T); repeatable.
    #[arg(short = 'T', long = "disable-tag", value_name = "TAG")]
    disable_tags: Vec<String>,
    /// Only run the rules with one of these tags (Falco's -t); repeatable.
    #[arg(short = 't', long = "tag", value_name = "TAG")]
    run_tags: Vec<String>,
    /// The recording.
    file: PathBuf,
}

/// The SHB block type as the file's first bytes.
const SCAP_MAGIC: [u8; 4] = [0x0A, 0x0D, 0x0D, 0x0A];

/// The first bytes of a gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];

/// Bound on a gzip'd capture's decompressed size: 1 GiB. Decompression streams and stops one
/// byte past it, so a gzip bomb (deflate reaches ~1000:1, e.g. 2 MB inflating to 2 GB) costs at
/// most this much memory and the time to inflate it (about a second), never the whole bomb.
/// Real `.scap` captures compress 5-20:1; a larger one can be replayed after `gunzip`, which
/// is not bounded here (a plain file is read as it is).
const DECOMPRESSED_LIMIT: u64 = 1 << 30;

/// What `palisade replay` reads, for the error on anything else.
const UNKNOWN_FORMAT: &str = "unknown format: expected a Palisade capture (`palisade capture`), a .scap capture \
     (plain or gzip'd), or Kubernetes audit events as JSON (`--source k8s_audit`)";

fn load_rules(args: &ReplayArgs) -> anyhow::Result<Ruleset> {
    let mut loader = Loader::new();
    for f in &args.files {
        loader.add_file(f).with_context(|| format!("cannot read rules file {}", f.display()))?;
    }
    let loaded = loader.compile();
    for d in &loaded.report.diagnostics {
        eprintln!("{d}");
    }
    let Some(mut rules) = loaded.ruleset else { bail!("the rules files have errors") };
    rules.set_min_priority(args.priority);
    rules.set_rule_matching(if args.rule_matching == "all" { RuleMatching::All } else { RuleMatching::First });
    if !args.run_tags.is_empty() {
        rules.set_enabled_where(false, |_| true);
        rules.set_enabled_where(true, |r| r.tags.iter().any(|t| args.run_tags.contains(t)));
    }
    rules.set_enabled_where(false, |r| r.tags.iter().any(|t| args.disable_tags.contains(t)));
    Ok(rules)
}

fn hostname() -> String {
    nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default()
}

fn print_counts(counts: &BTreeMap<String, u64>) {
    for (rule, n) in counts {
        eprintln!("  {n:>6}  {rule}");
    }
}

pub(crate) fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let raw = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let profiles = args.profile.as_ref().map(|p| load_profiles(p)).transpose()?;
    if args.source.as_deref() != Some("k8s_audit") && recording::Reader::is_capture(&raw) {
        let rules = load_rules(&args)?;
        return replay_palisade(&args, &rules, profiles.as_ref(), &raw);
    }
    let capture = match args.source.as_deref() {
        Some("k8s_audit") => None,
        Some(_) => Some(Capture::from_bytes(raw, DECOMPRESSED_LIMIT)),
        None => {
            let gzip = raw.starts_with(&GZIP_MAGIC);
            if !gzip && !raw.starts_with(&SCAP_MAGIC) && !looks_like_json(&raw) {
                bail!("{}: {UNKNOWN_FORMAT}", args.file.display());
            }
            // Only gzip is decompressed (bounded); a plain file is moved, not copied.
            let cap = if gzip || raw.starts_with(&SCAP_MAGIC) { Some(Capture::from_bytes(raw, DECOMPRESSED_LIMIT)) } else { None };
            match cap {
                Some(Ok(c)) if c.bytes().starts_with(&SCAP_MAGIC) => Some(Ok(c)),
                Some(Ok(_)) => bail!("{}: gzip data that is not a .scap capture; {UNKNOWN_FORMAT}", args.file.display()),
                Some(Err(e)) => Some(Err(e)),
                None => None,
            }
        }
    };
    let rules = load_rules(&args)?;
    match capture {
        Some(cap) => {
            let cap = cap.map_err(|e| match e {
                palisade_scap::ScapError::TooLarge { limit } => anyhow::anyhow!(
                    "{}: refused: the gzip data decompresses to more than {limit} bytes ({} MiB), the replay limit on a decompressed capture",
                    args.file.display(),
                    limit >> 20
                ),
                e => anyhow::anyhow!("{}: {e}", args.file.display()),
            })?;
            replay_scap(&args, &rules, profiles.as_ref(), &cap)
        }
        None if profiles.is_some() => bail!("--profile judges syscall captures (Palisade or .scap), not audit events"),
        None => replay_audit(&args, &rules, &std::fs::read(&args.file)?),
    }
}

/// Whether `raw` could be Kubernetes audit events (an `EventList`, an `Event` or JSON lines):
/// its first non-blank byte opens a JSON object or array. Anything else is refused rather
/// than replayed as zero events with a zero exit status.
fn looks_like_json(raw: &[u8]) -> bool {
    raw.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| matches!(b, b'{' | b'['))
}

/// A `.scap` capture. With `--profile`, the exit events of its containers are judged (enter
/// events would count each action twice).
fn replay_scap(args: &ReplayArgs, rules: &Ruleset, profiles: Option<&ProfileSet>, cap: &Capture) -> anyhow::Result<ExitCode> {
    let hostname = hostname();
    let mut matches = Vec::new();
    let mut printer = Printer::new(args.json);
    let mut judges = profiles.map(Judges::new);
    let summary = replay::run(cap.bytes(), |ev, table, users| {
        if let (Some(j), Some(c), false) = (judges.as_mut(), ev.container.as_deref(), ev.enter) {
            j.judge(&ev.data, c, &hostname);
        }
        let view = ev.view(table, users);
        rules.evaluate(Source::Syscall, &view, &mut matches);
        for rule in &matches {
            printer.alert(&Alert::new(rule, &view, ev.data.time_ns, &hostname));
        }
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let counts = printer.finish(judges.as_ref())?;
    eprintln!(
        "replayed {} events ({} evaluated, {} threads from the capture) from {}",
        summary.events_read,
        summary.events_evaluated,
        summary.threads_seeded,
        args.file.display()
    );
    print_counts(&counts);
    Ok(ExitCode::SUCCESS)
}

/// Alerts (then any promotion reports) to stdout, text or JSON lines, counted per rule. The
/// first write error is kept and reported at the end.
struct Printer {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    json: bool,
    counts: BTreeMap<String, u64>,
    error: Option<std::io::Error>,
}

impl Printer {
    fn new(json: bool) -> Printer {
        Printer { out: std::io::BufWriter::new(std::io::stdout().lock()), json, counts: BTreeMap::new(), error: None }
    }

    fn alert(&mut self, alert: &Alert) {
        *self.counts.entry(alert.rule.clone()).or_default() += 1;
        let line = if self.json { alert.to_json(true, true).to_string() } else { alert.to_text() };
        if let Err(e) = writeln!(self.out, "{line}") {
            self.error.get_or_insert(e);
        }
    }

    /// Prints the reports of `judges` and flushes; the per-rule counts.
    fn finish(mut self, judges: Option<&Judges<'_>>) -> anyhow::Result<BTreeMap<String, u64>> {
        let reports = judges.map_or(Ok(()), |j| j.print(&mut self.out, self.json));
        if let Some(e) = self.error.take().or(reports.err()).or(self.out.flush().err()) {
            return Err(e).context("writing to stdout");
        }
        Ok(self.counts)
    }
}

fn load_profiles(path: &std::path::Path) -> anyhow::Result<ProfileSet> {
    ProfileSet::load(&[path.to_owned()]).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the profiles have errors:\n{}", lines.join("\n"))
    })
}

/// Each container's metadata as a profile of `profiles` in enforce mode would judge it.
struct Judges<'a> {
    profiles: &'a ProfileSet,
    /// By container id.
    judged: HashMap<String, Arc<ContainerMeta>>,
    /// By profile name.
    tallies: BTreeMap<String, Tally>,
}

impl Judges<'_> {
    fn new(profiles: &ProfileSet) -> Judges<'_> {
        Judges { profiles, judged: HashMap::new(), tallies: BTreeMap::new() }
    }

    /// The reports (one per profile that judged; the first profile's empty report when
    /// nothing was denied), as text or JSON lines.
    fn print(&self, out: &mut impl Write, json: bool) -> std::io::Result<()> {
        let reports: Vec<_> = if self.tallies.is_empty() {
            self.profiles.profiles().iter().map(|p| Tally::new(&p.name, "").report()).take(1).collect()
        } else {
            self.tallies.values().map(Tally::report).collect()
        };
        for r in &reports {
            let text = if json { format!("{}\n", serde_json::to_string(r).map_err(std::io::Error::other)?) } else { promotion::render(r) };
            out.write_all(text.as_bytes())?;
        }
        Ok(())
    }

    fn judge(&mut self, data: &palisade_events::event::EventData, container: &ContainerMeta, hostname: &str) {
        // Looked up before inserting: the id is cloned once per container, not once per event.
        if !self.judged.contains_key(&container.full_id) {
            let meta = Arc::new(judged_meta(self.profiles, container));
            self.judged.insert(container.full_id.clone(), meta);
        }
        let Some(meta) = self.judged.get(&container.full_id) else { return };
        if let Some(d) = palisade_events::would_deny::judge(data, meta, hostname) {
            let name = meta.profile_name();
            let tally = self.tallies.entry(name.to_owned()).or_insert_with(|| Tally::new(name, ""));
            tally.record(&d, &container.full_id, &container.name);
        }
    }
}

/// `container` as judged in enforce mode by the profile of `profiles` that applies to it: the
/// only one, or the one its image matches.
fn judged_meta(profiles: &ProfileSet, container: &ContainerMeta) -> ContainerMeta {
    let profile = match profiles.profiles() {
        [only] => only,
        _ => {
            let digest = (!container.image.digest.is_empty()).then_some(container.image.digest.as_str());
            profiles.for_image(&container.image.full, digest)
        }
    };
    ContainerMeta { profile: Some(Arc::new(profile.clone())), mode: Mode::Enforce, judged_in_kernel: false, ..container.clone() }
}

/// A Palisade capture: the daemon's pipeline again, on the recorded state.
fn replay_palisade(args: &ReplayArgs, rules: &Ruleset, profiles: Option<&ProfileSet>, raw: &[u8]) -> anyhow::Result<ExitCode> {
    let mut printer = Printer::new(args.json);
    let mut matches = Vec::new();
    let mut evaluator: Option<Evaluator> = None;
    let mut judges = profiles.map(Judges::new);
    let summary = recording::replay::run(raw, |ev| {
        let evaluator = evaluator.get_or_insert_with(|| Evaluator::new(ev.hostname.to_owned()));
        if let (Some(j), Some(c)) = (judges.as_mut(), ev.container) {
            j.judge(ev.data, c, evaluator.hostname());
        }
        if args.files.is_empty() {
            return; // --profile alone: the report only
        }
        evaluator.evaluate(rules, ev.data, ev.table, ev.users, ev.container, &mut matches, &mut |emitted| match emitted {
            Emitted::Rule { alert, .. } => printer.alert(&alert),
            Emitted::Decision(d) => printer.alert(&d.alert),
        });
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let counts = printer.finish(judges.as_ref())?;
    let ended = match &summary.end {
        Some(end) => format!("ended: {}; {} kernel drops while capturing", end.reason, end.kernel_drops),
        None => "cut short: no END frame".to_owned(),
    };
    eprintln!(
        "replayed {} records ({} events evaluated, {} processes and {} containers from the capture; {ended}) from {}",
        summary.records,
        summary.events,
        summary.processes,
        summary.containers,
        args.file.display()
    );
    print_counts(&counts);
    Ok(ExitCode::SUCCESS)
}

fn replay_audit(args: &ReplayArgs, rules: &Ruleset, bytes: &[u8]) -> anyhow::Result<ExitCode> {
    let (events, errors) = palisade_k8saudit::parse_payload(bytes);
    for e in &errors {
        eprintln!("{}: {e}", args.file.display());
    }
    let hostname = hostname();
    let mut printer = Printer::new(args.json);
    let mut matches = Vec::new();
    for event in &events {
        rules.evaluate(Source::K8sAudit, event, &mut matches);
        for rule in &matches {
            printer.alert(&Alert::new(rule, event, event.time_ns(), &hostname));
        }
    }
    if events.is_empty() && !errors.is_empty() {
        bail!("{}: no audit event could be read ({} unreadable items); {UNKNOWN_FORMAT}", args.file.display(), errors.len());
    }
    let counts = printer.finish(None)?;
    eprintln!("replayed {} events ({} unreadable items) from {}", events.len(), errors.len(), args.file.display());
    print_counts(&counts);
    Ok(ExitCode::SUCCESS)
}
