//! `palisade-bench k8s-audit`: audit events per second through the webhook endpoint and the
//! rules, as the daemon runs them: client threads POST `EventList` batches over keep-alive
//! HTTP/1.1 to a real [`Endpoint`] on 127.0.0.1; one thread evaluates every event with the
//! loaded rules (the daemon's event loop) and renders each alert's JSON (the outputs' work).
//! The events are the k8s audit trace files of `../shared/falco`, repeated.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use palisade_daemon::k8s_audit::endpoint::Endpoint;
use palisade_daemon::k8s_audit::AuditQueue;
use palisade_rules::alert::Alert;
use palisade_rules::{Loader, RuleMatching, Source};

#[derive(Debug, clap::Args)]
pub(crate) struct AuditBenchArgs {
    /// Rules files (e.g. the upstream ../shared/falco/k8saudit/k8s_audit_rules.yaml).
    #[arg(short = 'r', long = "rules-file", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// A directory of audit event files, one event per line (e.g.
    /// ../shared/falco/traces/falco_legacy/trace_files/k8s_audit); lines that are not audit
    /// events are skipped, and the events found are cycled up to --events.
    #[arg(long, value_name = "DIR")]
    pub events_dir: PathBuf,
    /// Events to send in all (rounded up to whole batches).
    #[arg(long, default_value_t = 500_000)]
    pub events: usize,
    /// Events per POST (kube-apiserver's webhook batches up to 400 by default).
    #[arg(long, default_value_t = 400)]
    pub batch: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 2)]
    pub clients: usize,
}

pub(crate) fn run(args: AuditBenchArgs) -> anyhow::Result<ExitCode> {
    ensure!(args.events >= 1 && args.batch >= 1 && args.clients >= 1, "--events, --batch and --clients must be at least 1");
    let mut loader = Loader::new();
    for f in &args.files {
        loader.add_file(f).with_context(|| format!("cannot read {}", f.display()))?;
    }
    let Some(mut rules) = loader.compile().ruleset else { bail!("the rules files have errors") };
    rules.set_rule_matching(RuleMatching::First);
    let mut samples = Vec::new();
    for entry in std::fs::read_dir(&args.events_dir).with_context(|| format!("{}", args.events_dir.display()))? {
        let text = std::fs::read_to_string(entry?.path())?;
        // Only lines that are audit events (some trace files hold deliberately bad data).
        samples.extend(
            text.lines().filter(|l| palisade_k8saudit::AuditEvent::from_slice(l.as_bytes()).is_ok()).map(str::to_owned),
        );
    }
    if samples.is_empty() {
        bail!("no events in {}", args.events_dir.display());
    }
    let body = |offset: usize| {
        let items: Vec<&str> = (0..args.batch).map(|i| samples[(offset + i) % samples.len()].as_str()).collect();
        format!("{{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[{}]}}", items.join(","))
    };
    let bodies: Vec<String> = (0..samples.len()).map(body).collect();
    let posts = args.events.div_ceil(args.batch);
    let total = posts * args.batch;

    let queue = AuditQueue::new();
    let endpoint = Endpoint::start("127.0.0.1", 0, "/k8s-audit", queue.tx.clone())?;
    let port = endpoint.local_addr().port();
    let started = Instant::now();
    let clients: Vec<_> = (0..args.clients)
        .map(|c| {
            let bodies = bodies.clone();
            let mine: Vec<usize> = (c..posts).step_by(args.clients).collect();
            std::thread::spawn(move || -> anyhow::Result<()> {
                let stream = TcpStream::connect(("127.0.0.1", port))?;
                stream.set_nodelay(true)?;
                let mut reader = BufReader::new(stream.try_clone()?);
                let mut writer = stream;
                for p in mine {
                    let b = &bodies[p % bodies.len()];
                    let request = format!(
                        "POST /k8s-audit HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
                        b.len()
                    );
                    writer.write_all(request.as_bytes())?;
                    let mut status = String::new();
                    reader.read_line(&mut status)?;
                    if !status.starts_with("HTTP/1.1 200") {
                        bail!("endpoint answered {status:?}");
                    }
                    let mut length = 0;
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h)?;
                        if h == "\r\n" {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse()?;
                        }
                    }
                    let mut sink = vec![0; length];
                    reader.read_exact(&mut sink)?;
                }
                Ok(())
            })
        })
        .collect();
    let (mut evaluated, mut alerts, mut json_bytes) = (0usize, 0usize, 0usize);
    let mut matches = Vec::new();
    while evaluated < total {
        let Ok(batch) = queue.rx.recv_timeout(Duration::from_secs(30)) else { bail!("no events for 30 s") };
        for event in &batch {
            rules.evaluate(Source::K8sAudit, event, &mut matches);
            for rule in &matches {
                alerts += 1;
                json_bytes += Alert::new(rule, event, event.time_ns(), "bench").to_json(true, true).to_string().len();
            }
        }
        evaluated += batch.len();
    }
    let secs = started.elapsed().as_secs_f64();
    for c in clients {
        c.join().map_err(|_| anyhow::anyhow!("client panicked"))??;
    }
    endpoint.stop();
    println!(
        "k8s audit: {total} events ({} samples, batches of {}, {} clients) in {secs:.2} s: {:.0} events/s; \
         {alerts} alerts ({:.1} MB of JSON); target >= 50000 events/s",
        samples.len(),
        args.batch,
        args.clients,
        total as f64 / secs,
        json_bytes as f64 / 1e6
    );
    Ok(ExitCode::SUCCESS)
}
