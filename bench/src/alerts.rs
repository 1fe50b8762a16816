//! `palisade-bench alerts`: alerts per second through the whole alert path — the real rules and
//! evaluator, the daemon's `AlertSink` (batches, rendering, aggregation) and a file output —
//! on a synthetic alert storm: processes opening `/etc/shadow` in a loop, every open alerting
//! (Falco's "Read sensitive file untrusted").
//!
//! Not a test: it prints numbers for BENCHMARKS.md. Each round replays the same Palisade capture
//! in memory; the baseline is the same replay and evaluation with the alerts built and thrown
//! away (no outputs), measured in the same run, so the ratio is the alert path's own cost. The
//! loop mirrors the daemon's drain: alerts are collected and handed to the sink every
//! `ALERT_BATCH`, and a round ends only when the file output has written every line (`stop`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use palisade_daemon::alert_sink::{AlertBatch, AlertSink, Origin};
use palisade_daemon::run::ALERT_BATCH;
use palisade_rules::{Loader, RuleMatching};

/// `palisade-bench alerts`: the rules and the size of the storm.
#[derive(Debug, clap::Args)]
pub(crate) struct AlertsBenchArgs {
    /// Rule files, loaded in order (../shared/falco/rules/falco_rules.yaml alerts on the storm).
    #[arg(short = 'r', long = "rules-file", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Alerting opens per round.
    #[arg(long, default_value_t = 1_000_000)]
    pub alerts: usize,
    /// Processes in the storm (each one's alerts are identical, as in the loop).
    #[arg(long, default_value_t = 2)]
    pub processes: u32,
    /// Measured rounds per configuration (the median is reported, after one warm-up round).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// The outputs' queue capacity (`outputs_queue.capacity`).
    #[arg(long, default_value_t = 1024)]
    pub queue: usize,
}

/// A Palisade capture of `n` opens of /etc/shadow by `processes` `cat`s under a bash.
fn storm(n: usize, processes: u32) -> anyhow::Result<Vec<u8>> {
    use palisade_capture::recording::{FrameKind, UserLists};
    use palisade_ebpf::abi;
    use palisade_events::process::Process;
    use palisade_events::record::{Record, SyscallRecord};

    let header = crate::replay::synthetic_header;
    let mut w = crate::replay::synthetic_writer(n)?;
    let mut procs = vec![
        Process { pid: 1, comm: "systemd".into(), exe: "systemd".into(), exepath: "/usr/lib/systemd/systemd".into(), ..Process::default() },
        Process { pid: 100, ppid: 1, comm: "bash".into(), exe: "bash".into(), exepath: "/usr/bin/bash".into(), ..Process::default() },
    ];
    for p in 0..processes {
        procs.push(Process {
            pid: 1000 + p,
            ppid: 100,
            comm: "cat".into(),
            exe: "cat".into(),
            exepath: "/usr/bin/cat".into(),
            cwd: Some("/root".into()),
            ..Process::default()
        });
    }
    w.json(FrameKind::Processes, &procs)?;
    w.json(FrameKind::Users, &UserLists { users: vec![(0, "root".into())], groups: vec![(0, "root".into())] })?;
    let fd = abi::FdInfo { kind: abi::fd_kind::FILE, num: 3, i_mode: 0o100640, ino: 4242, ..bytemuck::Zeroable::zeroed() };
    for i in 0..n {
        let pid = 1000 + (i as u32 % processes.max(1));
        w.record(&Record::Syscall(Box::new(SyscallRecord {
            hdr: header(pid, 1_000 * (i as u64 + 1), "cat"),
            nr: 257,
            ret: 3,
            args: [u64::MAX - 99, 0, 0, 0, 0, 0],
            extra: [0; 3],
            fd,
            fd_path: Some("/etc/shadow".into()),
            strings: [Some("/etc/shadow".into()), None],
            bases: [None, None],
            addr: None,
        })))?;
    }
    Ok(w.finish()?)
}

/// Where the alerts of a round go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    /// Built and dropped: the baseline.
    Nowhere,
    /// `AlertSink` to a file output, every alert a line.
    File,
    /// `AlertSink` to a file output with `alert_aggregation` on (1 s).
    Aggregated,
}

struct Round {
    alerts: u64,
    lines: usize,
    dropped: u64,
    secs: f64,
    /// CPU time of every thread of the process (evaluation and output workers).
    cpu_secs: f64,
}

/// CPU seconds this process used so far, all threads (`/proc/self/stat` utime + stime, in
/// clock ticks of 1/100 s, Linux's `USER_HZ`). On a shared, loaded machine the wall-clock rate
/// depends on what else runs; alerts per CPU-second is what the alert path costs ("one core").
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(") ").map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / 100.0
}

fn round(capture: &[u8], rules: &palisade_rules::Ruleset, path: Path, queue: usize) -> anyhow::Result<Round> {
    let dir = std::env::temp_dir().join(format!("palisade-bench-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let file = dir.join("alerts.json");
    let _ = std::fs::remove_file(&file);
    let yaml = format!(
        "json_output: true\nstdout_output: {{enabled: false}}\nfile_output: {{enabled: true, keep_alive: true, filename: {}}}\noutputs_queue: {{capacity: {queue}}}\nalert_aggregation: {{enabled: {}, window: 1s}}\n",
        file.display(),
        path == Path::Aggregated
    );
    let config = palisade_daemon::config::parse(&yaml, "bench", &[])?;
    let evaluator = palisade_events::pipeline::Evaluator::new("bench".into());
    let mut matches = Vec::new();
    let mut alerts = 0u64;
    let mut batch = AlertBatch::default();
    let start = Instant::now();
    let cpu_start = cpu_secs();
    let sink = match path {
        Path::Nowhere => None,
        Path::File | Path::Aggregated => Some(AlertSink::start(&config)?),
    };
    palisade_capture::recording::replay::run(capture, |ev| {
        let origin = Origin { pid: ev.data.process.pid, cgroup_id: ev.data.cgroup_id };
        evaluator.evaluate(rules, ev.data, ev.table, ev.users, ev.container, &mut matches, &mut |emitted| {
            alerts += 1;
            let alert = match emitted {
                palisade_events::pipeline::Emitted::Rule { alert, .. } => alert,
                palisade_events::pipeline::Emitted::Decision(d) => d.alert,
            };
            match &sink {
                Some(_) => batch.push(alert, origin),
                None => drop(std::hint::black_box(alert)),
            }
        });
        if batch.len() >= ALERT_BATCH {
            if let Some(sink) = &sink {
                sink.send_batch(&mut batch);
            }
        }
    })?;
    let dropped = match sink {
        Some(sink) => {
            sink.send_batch(&mut batch);
            sink.stop()
        }
        None => 0,
    };
    let secs = start.elapsed().as_secs_f64();
    let cpu_secs = cpu_secs() - cpu_start;
    let lines = if path == Path::Nowhere {
        0
    } else {
        std::fs::read(&file).with_context(|| format!("read {}", file.display()))?.iter().filter(|&&b| b == b'\n').count()
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Round { alerts, lines, dropped, secs, cpu_secs })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

pub(crate) fn run(args: AlertsBenchArgs) -> anyhow::Result<ExitCode> {
    let mut loader = Loader::new();
    for f in &args.files {
        loader.add_file(f).with_context(|| format!("cannot read {}", f.display()))?;
    }
    let Some(mut rules) = loader.compile().ruleset else { bail!("the rules files have errors") };
    rules.set_rule_matching(RuleMatching::First);
    let capture = storm(args.alerts, args.processes)?;
    eprintln!("storm: {} opens of /etc/shadow by {} processes, {} rules active", args.alerts, args.processes, rules.active_count());
    let mut rates = [Vec::new(), Vec::new(), Vec::new()];
    let mut cpu_rates = [Vec::new(), Vec::new(), Vec::new()];
    let paths = [Path::Nowhere, Path::File, Path::Aggregated];
    for n in 0..=args.rounds.max(1) {
        // Interleaved, so drift in the machine's load hits every path alike.
        for (i, path) in paths.into_iter().enumerate() {
            let r = round(&capture, &rules, path, args.queue)?;
            ensure!(r.alerts as usize == args.alerts, "{} alerts for {} opens: the rules do not alert on the storm", r.alerts, args.alerts);
            let rate = r.alerts as f64 / r.secs;
            let cpu_rate = r.alerts as f64 / r.cpu_secs.max(0.01);
            eprintln!(
                "round {n} {path:?}: {} alerts in {:.3}s = {rate:.0} alerts/s ({cpu_rate:.0} per CPU-second), {} lines written, {} dropped",
                r.alerts, r.secs, r.lines, r.dropped
            );
            if path == Path::File {
                ensure!(r.lines as u64 + r.dropped == r.alerts, "lines + dropped != alerts");
            }
            if n > 0 {
                rates[i].push(rate);
                cpu_rates[i].push(cpu_rate);
            }
        }
    }
    let [base, file, aggregated] = rates.map(median);
    let [cbase, cfile, caggregated] = cpu_rates.map(median);
    println!("alerts (storm of {} processes, queue {}), median of {} rounds, evaluation on one thread:", args.processes, args.queue, args.rounds.max(1));
    println!("  path                                      alerts/s (wall)         alerts per CPU-second (all threads)");
    println!("  baseline (rules + evaluator, no outputs): {base:>8.0}                {cbase:>8.0}");
    println!("  file output, every alert a line:          {file:>8.0} = {:.2} x base   {cfile:>8.0} = {:.2} x base", file / base, cfile / cbase);
    println!("  file output, alert_aggregation on (1 s):  {aggregated:>8.0} = {:.2} x base   {caggregated:>8.0} = {:.2} x base", aggregated / base, caggregated / cbase);
    // What the alert path itself costs per alert: the difference to the baseline.
    let path_us = |rate: f64, base: f64| (1.0 / rate - 1.0 / base) * 1e6;
    println!(
        "  alert path alone (CPU): {:.2} us/alert = {:.0} alerts/s to the file; {:.2} us/alert aggregated",
        path_us(cfile, cbase),
        1e6 / path_us(cfile, cbase).max(1e-3),
        path_us(caggregated, cbase)
    );
    Ok(ExitCode::SUCCESS)
}
