//! `palisade-bench k8s-audit`: audit events per second through the webhook and the rules, as
//! the daemon runs them: client threads POST `EventList` batches over keep-alive HTTP/1.1 to the
//! daemon's web server (`palisade-web`) on 127.0.0.1; the audit worker parses and evaluates
//! them; this thread takes the worker's alerts as the event loop does and renders each alert's
//! JSON (the outputs' work). The events are the k8s audit trace files of `../shared/falco`,
//! repeated. With `--daemon`, see [`under_load`].

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use std::sync::Arc;

use anyhow::{bail, ensure, Context};
use palisade_daemon::k8s_audit::{AuditWorker, ALERTS_PER_DRAIN};
use palisade_metrics::Metrics;
use palisade_rules::{Loader, RuleMatching};
use palisade_web::{Limits, Listener, Routes, Server, Webhook};

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
    /// Measure against a real `palisade run` under a background syscall load instead (root):
    /// the built `palisade` binary to start (see the `k8s_audit_load` module).
    #[arg(long, value_name = "PATH")]
    pub daemon: Option<PathBuf>,
    /// With --daemon: the syscall rules file (e.g. the upstream falco_rules.yaml, whose
    /// "Read sensitive file untrusted" alerts on `cat /etc/shadow`).
    #[arg(long, value_name = "FILE", requires = "daemon")]
    pub syscall_rules: Option<PathBuf>,
    /// With --daemon: audit events to POST.
    #[arg(long, default_value_t = 100_000)]
    pub load_events: usize,
    /// With --daemon: events per POST (20,000 ≈ 50 MB).
    #[arg(long, default_value_t = 20_000)]
    pub load_batch: usize,
    /// With --daemon: background opens (for writing, each a record) per second.
    #[arg(long, default_value_t = 30_000)]
    pub syscall_rate: u64,
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
    if let Some(daemon) = &args.daemon {
        let syscall_rules = args.syscall_rules.clone().context("--daemon needs --syscall-rules")?;
        crate::k8s_audit_load::run(&crate::k8s_audit_load::LoadArgs {
            daemon: daemon.clone(),
            files: &args.files,
            syscall_rules,
            samples: &samples,
            events: args.load_events,
            batch: args.load_batch,
            syscall_rate: args.syscall_rate,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let body = |offset: usize| {
        let items: Vec<&str> = (0..args.batch).map(|i| samples[(offset + i) % samples.len()].as_str()).collect();
        format!("{{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[{}]}}", items.join(","))
    };
    let bodies: Vec<String> = (0..samples.len()).map(body).collect();
    let posts = args.events.div_ceil(args.batch);
    let total = posts * args.batch;

    let metrics = Metrics::new();
    let worker = AuditWorker::start(Arc::new(rules), Arc::clone(&metrics), "bench".into())?;
    let webhook = Webhook { path: "/k8s-audit".into(), bearer_token: None, require_client_cert: false, handler: worker.handler() };
    let routes = Routes { healthz: Some(palisade_web::HEALTHZ_PATH.into()), metrics: None, webhook: Some(webhook) };
    let listener = Listener { name: "k8s_audit".into(), address: "127.0.0.1".into(), port: 0, tls: None, routes };
    let server = Server::start(vec![listener], Limits::default(), Arc::clone(&metrics))?;
    let port = server.local_addrs()[0].port();
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
    let (mut alerts, mut json_bytes) = (0usize, 0usize);
    let mut last_progress = (0, Instant::now());
    // As the event loop: every 10 ms at most ALERTS_PER_DRAIN alerts, rendered.
    while worker.evaluated() < total as u64 || !clients.iter().all(std::thread::JoinHandle::is_finished) {
        let (n, _) = worker.take_alerts(ALERTS_PER_DRAIN, |alert| {
            alerts += 1;
            json_bytes += alert.to_json(true, true).to_string().len();
        });
        if n < ALERTS_PER_DRAIN {
            std::thread::sleep(Duration::from_millis(10));
        }
        if worker.evaluated() != last_progress.0 {
            last_progress = (worker.evaluated(), Instant::now());
        } else if last_progress.1.elapsed() > Duration::from_secs(30) {
            bail!("no events for 30 s");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    for c in clients {
        c.join().map_err(|_| anyhow::anyhow!("client panicked"))??;
    }
    worker.take_alerts(usize::MAX, |alert| {
        alerts += 1;
        json_bytes += alert.to_json(true, true).to_string().len();
    });
    server.stop();
    worker.stop();
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
