//! `palisade-bench replay`: capture events per second through `palisade replay`'s pipeline
//! on one core over a synthetic capture built in memory.
//!
//! - `--format scap`: block and event parsing, conversion to kernel records, process and fd
//!   state, and rule evaluation; a few processes opening, reading, fstat-ing and closing
//!   files, with an execve (and its clone) every 100 syscalls, as v2 event blocks (the
//!   current on-disk format).
//! - `--format palisade`: a Palisade capture (`palisade capture`) of what the daemon records
//!   for such a workload: opens (read and write) with their fds described, and a fork, exec
//!   and exit every 16 opens; frames are decoded, the process table kept, and every event
//!   judged and evaluated by the daemon's own pipeline.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use palisade_rules::{Loader, RuleMatching, Source};

#[derive(Debug, clap::Args)]
pub(crate) struct ReplayBenchArgs {
    /// Rules files (e.g. the upstream ../shared/falco/rules/falco_rules.yaml).
    #[arg(short = 'r', long = "rules-file", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Events (scap) or records (palisade) in the synthetic capture, at least; it ends on a
    /// whole syscall or fork/exec group.
    #[arg(long, default_value_t = 3_000_000)]
    pub events: usize,
    /// Measured rounds (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// The capture format: `scap` (Falco/sysdig v2 event blocks, through the .scap reader) or
    /// `palisade` (a `palisade capture` file, through the daemon's own pipeline).
    #[arg(long, default_value = "scap", value_parser = ["scap", "palisade"])]
    pub format: String,
}

/// Builds a capture in memory.
struct Writer {
    out: Vec<u8>,
    ts: u64,
    events: usize,
}

impl Writer {
    fn block(&mut self, ty: u32, body: &[u8]) {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        self.out.extend_from_slice(&ty.to_le_bytes());
        self.out.extend_from_slice(&total.to_le_bytes());
        self.out.extend_from_slice(body);
        self.out.resize(self.out.len() + padded - body.len(), 0);
        self.out.extend_from_slice(&total.to_le_bytes());
    }

    /// An EV v2 block (0x216).
    fn event(&mut self, tid: u64, ty: u16, params: &[&[u8]]) {
        self.ts += 1_000;
        let len = 26 + 2 * params.len() + params.iter().map(|p| p.len()).sum::<usize>();
        let mut b = Vec::with_capacity(len + 2);
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&self.ts.to_le_bytes());
        b.extend_from_slice(&tid.to_le_bytes());
        b.extend_from_slice(&(len as u32).to_le_bytes());
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&(params.len() as u32).to_le_bytes());
        for p in params {
            b.extend_from_slice(&(p.len() as u16).to_le_bytes());
        }
        for p in params {
            b.extend_from_slice(p);
        }
        self.block(0x216, &b);
        self.events += 1;
    }
}

fn s16(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s);
}

/// A capture of about `n` events (PPME codes: open 2/3, close 4/5, read 6/7, clone v20
/// 222/223, execve v19 292/293, procexit 186).
fn synthetic(n: usize) -> Vec<u8> {
    let mut w = Writer { out: Vec::with_capacity(n * 64), ts: 1_700_000_000_000_000_000, events: 0 };
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&2u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    w.block(0x0A0D_0D0A, &shb);
    // PL v1: tid pid ptid comm exe args cwd fdlimit flags uid gid.
    let mut pl = Vec::new();
    for (tid, ptid, comm) in [(1u64, 0u64, "systemd"), (100, 1, "bash"), (200, 100, "nginx"), (300, 100, "python3")] {
        for v in [tid, tid, ptid] {
            pl.extend_from_slice(&v.to_le_bytes());
        }
        s16(&mut pl, comm.as_bytes());
        s16(&mut pl, comm.as_bytes());
        s16(&mut pl, b"-c\0run\0");
        s16(&mut pl, b"/srv");
        pl.extend_from_slice(&1024u64.to_le_bytes());
        pl.extend_from_slice(&[0u8; 12]);
    }
    w.block(0x202, &pl);
    let files: [&[u8]; 4] = [b"/etc/hosts\0", b"/srv/www/index.html\0", b"/var/log/app.log\0", b"/etc/passwd\0"];
    let (i64b, u32b) = (|v: i64| v.to_le_bytes(), |v: u32| v.to_le_bytes());
    let mut i = 0u64;
    while w.events < n {
        let tid = [200u64, 300, 100][(i % 3) as usize];
        let file = files[(i % 4) as usize];
        let (fd, flags) = (i64b(3), u32b(if i % 4 == 2 { 2 | 8 } else { 1 }));
        w.event(tid, 2, &[file, &flags, &u32b(0)]);
        w.event(tid, 3, &[&fd, file, &flags, &u32b(0), &u32b(0), &0u64.to_le_bytes()]);
        w.event(tid, 6, &[&fd, &u32b(4096)]);
        w.event(tid, 7, &[&i64b(512), b"data"]);
        w.event(tid, 4, &[&fd]);
        w.event(tid, 5, &[&i64b(0)]);
        i += 1;
        if i % 16 == 0 {
            // bash forks a child that execs /bin/ls (clone v20, execve v19 exit).
            let child = 10_000 + i;
            let ct = child.to_le_bytes();
            w.event(100, 222, &[]);
            let clone_x = |res: u64| -> Vec<Vec<u8>> {
                let mut p: Vec<Vec<u8>> = vec![res.to_le_bytes().to_vec(), b"bash\0".to_vec(), b"\0".to_vec()];
                p.extend([ct.to_vec(), ct.to_vec(), 100u64.to_le_bytes().to_vec(), b"/srv\0".to_vec()]);
                p.extend([vec![0; 8], vec![0; 8], vec![0; 8], vec![0; 4], vec![0; 4], vec![0; 4], b"bash\0".to_vec()]);
                p.extend([b"\0".to_vec(), vec![0; 4], vec![0; 4], vec![0; 4], ct.to_vec(), ct.to_vec()]);
                p
            };
            let parent = clone_x(child);
            w.event(100, 223, &parent.iter().map(Vec::as_slice).collect::<Vec<_>>());
            let kid = clone_x(0);
            w.event(child, 223, &kid.iter().map(Vec::as_slice).collect::<Vec<_>>());
            w.event(child, 292, &[b"/bin/ls\0"]);
            let mut ex: Vec<Vec<u8>> = vec![0i64.to_le_bytes().to_vec(), b"/bin/ls\0".to_vec(), b"-la\0".to_vec()];
            ex.extend([ct.to_vec(), ct.to_vec(), 100u64.to_le_bytes().to_vec(), b"/srv\0".to_vec()]);
            ex.extend([vec![0; 8], vec![0; 8], vec![0; 8], vec![0; 4], vec![0; 4], vec![0; 4], b"ls\0".to_vec()]);
            ex.extend([b"\0".to_vec(), b"PATH=/bin\0".to_vec(), vec![0; 4], vec![0; 4], vec![0; 4]]);
            w.event(child, 293, &ex.iter().map(Vec::as_slice).collect::<Vec<_>>());
            w.event(child, 186, &[&0i64.to_le_bytes()]);
        }
    }
    w.out
}

pub(crate) fn run(args: ReplayBenchArgs) -> anyhow::Result<ExitCode> {
    let mut loader = Loader::new();
    for f in &args.files {
        loader.add_file(f).with_context(|| format!("cannot read {}", f.display()))?;
    }
    let Some(mut rules) = loader.compile().ruleset else { bail!("the rules files have errors") };
    rules.set_rule_matching(RuleMatching::First);
    if args.format == "palisade" {
        return run_palisade(&args, &rules);
    }
    let capture = synthetic(args.events);
    eprintln!("synthetic capture: {} bytes, {} rules active", capture.len(), rules.active_count());
    let median = median_rate(args.rounds, "events", || {
        let mut matches = Vec::new();
        let (mut alerts, mut evaluated) = (0u64, 0u64);
        let summary = palisade_capture::replay::run(&capture, |ev, table, users| {
            let view = ev.view(table, users);
            rules.evaluate(Source::Syscall, &view, &mut matches);
            evaluated += 1;
            alerts += matches.len() as u64;
        })?;
        Ok((summary.events_read, evaluated, alerts))
    })?;
    println!("replay: {median:.0} events/s (median of {} rounds, one thread)", args.rounds.max(1));
    Ok(ExitCode::SUCCESS)
}

/// Times `round` `rounds` times (at least once), printing each; the median of its `unit`s
/// per second. A round returns (units read, events evaluated, alerts).
fn median_rate(rounds: usize, unit: &str, mut round: impl FnMut() -> anyhow::Result<(u64, u64, u64)>) -> anyhow::Result<f64> {
    let mut results = Vec::new();
    for n in 0..rounds.max(1) {
        let start = Instant::now();
        let (read, evaluated, alerts) = round()?;
        let secs = start.elapsed().as_secs_f64();
        let rate = read as f64 / secs;
        eprintln!("round {n}: {read} {unit} ({evaluated} evaluated, {alerts} alerts) in {secs:.3} s: {rate:.0} {unit}/s");
        results.push(rate);
    }
    results.sort_by(f64::total_cmp);
    Ok(results.get(results.len() / 2).copied().unwrap_or(0.0))
}

/// The header of a synthetic capture record: `pid` (its own only thread, child of bash 100,
/// session and groups 100, cgroup 1) named `comm`, at boot-clock `ts`.
pub(crate) fn synthetic_header(pid: u32, ts: u64, comm: &str) -> palisade_events::record::Header {
    use palisade_ebpf::abi;
    let mut c = [0u8; abi::COMM_LEN];
    c[..comm.len()].copy_from_slice(comm.as_bytes());
    let mut h: palisade_events::record::Header = bytemuck::Zeroable::zeroed();
    (h.abi, h.ts_ns, h.cgroup_id, h.pid, h.tid, h.ppid, h.loginuid, h.comm) = (abi::ABI_VERSION, ts, 1, pid, pid, 100, u32::MAX, c);
    (h.sid, h.vpgid, h.pgid) = (100, 100, 100);
    h
}

/// A writer of a synthetic capture of about `records` records, its META frame written.
pub(crate) fn synthetic_writer(records: usize) -> anyhow::Result<palisade_capture::recording::Writer<Vec<u8>>> {
    use palisade_capture::recording::{FrameKind, Meta, Writer};
    let mut w = Writer::new(Vec::with_capacity(records * 120))?;
    w.json(FrameKind::Meta, &Meta { hostname: "bench".into(), boot_to_wall_ns: 1_700_000_000_000_000_000, ..Meta::default() })?;
    Ok(w)
}

/// A Palisade capture of about `n` records.
fn synthetic_palisade(n: usize) -> anyhow::Result<Vec<u8>> {
    use palisade_events::record::{Record, SyscallRecord};
    use palisade_events::process::Process;
    use palisade_capture::recording::{FrameKind, UserLists};
    use palisade_ebpf::abi;

    let header = synthetic_header;
    let mut w = synthetic_writer(n)?;
    let procs: Vec<Process> = [(1u32, 0u32, "systemd"), (100, 1, "bash"), (200, 100, "nginx"), (300, 100, "python3")]
        .into_iter()
        .map(|(pid, ppid, comm)| Process {
            pid,
            ppid,
            comm: comm.into(),
            exe: comm.into(),
            exepath: format!("/usr/bin/{comm}"),
            cwd: Some("/srv".into()),
            ..Process::default()
        })
        .collect();
    w.json(FrameKind::Processes, &procs)?;
    w.json(FrameKind::Users, &UserLists { users: vec![(0, "root".into())], groups: vec![(0, "root".into())] })?;
    let files = ["/etc/hosts", "/srv/www/index.html", "/var/log/app.log", "/etc/passwd"];
    let (mut ts, mut records, mut i) = (0u64, 0usize, 0usize);
    while records < n {
        let (pid, comm) = [(200, "nginx"), (300, "python3"), (100, "bash")][i % 3];
        let path = files[i % 4];
        let write = i % 4 == 2;
        let fd = abi::FdInfo {
            kind: abi::fd_kind::FILE,
            num: 3,
            i_mode: 0o100644,
            f_flags: if write { 0o2101 } else { 0 },
            ino: 1000 + (i % 4) as u64,
            ..bytemuck::Zeroable::zeroed()
        };
        ts += 1_000;
        w.record(&Record::Syscall(Box::new(SyscallRecord {
            hdr: header(pid, ts, comm),
            nr: 257,
            ret: 3,
            args: [u64::MAX - 99, 0, if write { 0o2101 } else { 0 }, 0o644, 0, 0],
            extra: [0; 3],
            fd,
            fd_path: Some(path.into()),
            strings: [Some(path.into()), None],
            bases: [None, None],
            addr: None,
        })))?;
        records += 1;
        i += 1;
        if i % 16 == 0 {
            let child = 10_000 + i as u32;
            ts += 1_000;
            w.record(&Record::Fork { hdr: header(100, ts, "bash"), child_pid: child, child_tid: child, child_vpid: child })?;
            let mut exec_hdr = header(child, ts + 500, "ls");
            exec_hdr.ppid = 100;
            w.record(&Record::Exec {
                hdr: exec_hdr,
                filename: "/bin/ls".into(),
                argv: vec!["ls".into(), "-la".into()],
                args_truncated: false,
                tty: 0,
                cwd: "/srv".into(),
                exe_flags: 0,
                vpid: child,
                image: Default::default(),
                caps: Default::default(),
                env: None,
            })?;
            w.record(&Record::Exit { hdr: header(child, ts + 900, "ls"), exit_code: 0 })?;
            records += 3;
        }
    }
    Ok(w.finish()?)
}

fn run_palisade(args: &ReplayBenchArgs, rules: &palisade_rules::Ruleset) -> anyhow::Result<ExitCode> {
    let capture = synthetic_palisade(args.events)?;
    eprintln!("synthetic Palisade capture: {} bytes, {} rules active", capture.len(), rules.active_count());
    let evaluator = palisade_events::pipeline::Evaluator::new("bench".into());
    let median = median_rate(args.rounds, "records", || {
        let mut matches = Vec::new();
        let (mut alerts, mut evaluated) = (0u64, 0u64);
        let summary = palisade_capture::recording::replay::run(&capture, |ev| {
            evaluated += 1;
            evaluator.evaluate(rules, ev.data, ev.table, ev.users, ev.container, &mut matches, &mut |_| alerts += 1);
        })?;
        Ok((summary.records, evaluated, alerts))
    })?;
    println!("replay (Palisade capture): {median:.0} records/s (median of {} rounds, one thread)", args.rounds.max(1));
    Ok(ExitCode::SUCCESS)
}
