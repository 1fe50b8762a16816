//! `palisade-bench overhead`: what the running daemon costs the workloads it watches.
//!
//! Not a test: it prints a Markdown table for BENCHMARKS.md. Method (see
//! notes/performance.md for the reference numbers):
//!
//! - **Workloads**, run in this process and timed with a monotonic clock:
//!   W1 = `open("/etc/hostname", O_RDONLY|O_CLOEXEC)` + `close`, exactly two syscalls
//!   (openat, close) per iteration, the per-syscall cost; W2 = `fork`, `execv("/bin/true")` in
//!   the child, `waitpid` in the parent, the process-creation cost. A tenth of each runs once
//!   first, as a discarded warm-up.
//! - **Interleaved rounds.** Every round runs both workloads without the daemon and with a fresh
//!   daemon (`<daemon> run -r F...`, W1 and W2 share it), and the side that goes first alternates
//!   between rounds. On a shared 2-core machine the load drifts; interleaving spreads that drift
//!   evenly over both sides instead of charging it to one.
//! - **Medians.** Each cell is a median over rounds, because one disturbed round must not move the
//!   result. The headline ratio is median(with) / median(without); the median of the per-round
//!   ratios is printed next to it as a check (the two disagree when the noise is large).
//! - **Wall and CPU time.** Each workload is timed twice over: wall time, and the CPU time it
//!   cost (this process's, `CLOCK_PROCESS_CPUTIME_ID`, plus its waited-for children's, the
//!   `cutime`/`cstime` of `/proc/self/stat`, for W2's execs). The kernel-side cost of the
//!   daemon's programs is CPU time spent in the workload's syscalls, so both move with it; on a
//!   shared machine the wall time also moves with what else runs (preemption, migrations),
//!   the CPU time much less, so the CPU ratio is the steadier measure of the same overhead.
//! - **Daemon cost.** The daemon's utime+stime (`/proc/<pid>/stat`, clock ticks, so 10 ms
//!   resolution) is sampled right before and after each workload; its peak RSS (`VmHWM`) is read
//!   just before it gets SIGTERM. It then prints
//!   `palisade: stopped: records=R events=E alerts=A drops=D` as its last stderr line, which
//!   gives the records that reached user space in the round.
//! - **Drops invalidate the run.** A consumer that falls behind loses records, and a lost record
//!   costs nothing in user space, so overhead looks *smaller* than it is. With any drop the table
//!   is still printed, but the ratios are marked invalid and the exit code is 1.
//! - The daemon's stdout and stderr go to unlinked temporary files rather than pipes drained by
//!   threads. This process therefore stays single-threaded, which is what makes `fork` followed
//!   by nix's (allocating) `execv` sound in W2, and the daemon never blocks on a full pipe.

use std::ffi::CStr;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use nix::fcntl::{open, OFlag};
use nix::sys::signal::{kill, raise, Signal};
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{close, execv, fork, ForkResult, Pid};

#[derive(Debug, clap::Args)]
pub(crate) struct OverheadArgs {
    /// Rule files passed to the daemon as `palisade run -r FILE` (repeatable).
    #[arg(short = 'r', long = "rules-file", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Rounds. Each runs both workloads once without and once with a fresh daemon, the side
    /// that goes first alternating, and every figure is a median over rounds: more rounds
    /// steady the result on a loaded machine.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// W1 iterations: open + close of /etc/hostname, two syscalls each (the per-syscall cost).
    #[arg(long, default_value_t = 1_000_000)]
    pub open_iterations: u64,
    /// W2 iterations: fork, exec of /bin/true, wait (the process-creation cost).
    #[arg(long, default_value_t = 20_000)]
    pub exec_iterations: u64,
    /// The `palisade` binary to start as the daemon. Default: `palisade` in this executable's
    /// directory (target/release/palisade beside target/release/palisade-bench; build it with
    /// `cargo build --release -p palisade`).
    #[arg(long, value_name = "PATH")]
    pub daemon: Option<PathBuf>,
    /// The daemon's host monitoring (`-o host_monitoring=true|false`). `off` measures what the
    /// host pays when only containers are watched: the workloads run on the host, outside any
    /// tracked container.
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    pub host_monitoring: String,
}

const W1_PATH: &CStr = c"/etc/hostname";
const W2_PATH: &CStr = c"/bin/true";
/// How long the daemon may take to load its rules and programs.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the daemon may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after "watching" so the daemon's start-up work stays out of the first measurement.
const SETTLE: Duration = Duration::from_millis(500);
/// Index of W1 and W2 in the per-workload arrays.
const W1: usize = 0;
const W2: usize = 1;

/// The daemon's final stderr line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DaemonStats {
    records: u64,
    events: u64,
    alerts: u64,
    drops: u64,
}

/// What one workload run took.
#[derive(Debug, Clone, Copy, Default)]
struct Timing {
    /// Wall time.
    wall: Duration,
    /// CPU time of this process and of the children it waited for.
    cpu: Duration,
}

/// The "with daemon" side of a round; arrays are indexed by [`W1`]/[`W2`].
#[derive(Debug)]
struct WithDaemon {
    time: [Timing; 2],
    daemon_cpu_s: [f64; 2],
    stats: DaemonStats,
    alert_lines: u64,
    peak_rss_kib: u64,
}

/// What one round measured.
#[derive(Debug)]
struct Round {
    without: [Timing; 2],
    with: WithDaemon,
}

pub(crate) fn run(args: OverheadArgs) -> anyhow::Result<ExitCode> {
    ensure!(args.rounds >= 1, "--rounds must be at least 1");
    ensure!(args.open_iterations >= 1 && args.exec_iterations >= 1, "iteration counts must be at least 1");
    let daemon = match &args.daemon {
        Some(p) => p.clone(),
        None => default_daemon()?,
    };
    let tck = clk_tck();
    let iterations = [args.open_iterations, args.exec_iterations];
    eprintln!(
        "bench overhead: {} rounds, W1 ×{}, W2 ×{}, daemon {} run{}",
        args.rounds,
        iterations[W1],
        iterations[W2],
        daemon.display(),
        args.files.iter().map(|f| format!(" -r {}", f.display())).collect::<String>()
    );
    run_workloads([(iterations[W1] / 10).max(1), (iterations[W2] / 10).max(1)])?;

    let mut rounds = Vec::with_capacity(args.rounds);
    for i in 0..args.rounds {
        let daemon_first = i % 2 == 1;
        let r = if daemon_first {
            let with = with_daemon(&daemon, &args, iterations, tck)?;
            Round { without: run_workloads(iterations)?, with }
        } else {
            let without = run_workloads(iterations)?;
            Round { without, with: with_daemon(&daemon, &args, iterations, tck)? }
        };
        let (us, w) = (|d, w: usize| per_iter_us(d, iterations[w]), &r.with);
        eprintln!(
            "round {}/{} ({} first): W1 {:.3} → {:.3} µs/iter (CPU {:.3} → {:.3}), W2 {:.1} → {:.1} µs/iter (CPU {:.1} → {:.1}); \
             daemon CPU {:.2} s + {:.2} s, records {}, events {}, alerts {} ({} lines), drops {}, peak RSS {:.1} MiB",
            i + 1, args.rounds, if daemon_first { "daemon" } else { "baseline" },
            us(r.without[W1].wall, W1), us(w.time[W1].wall, W1), us(r.without[W1].cpu, W1), us(w.time[W1].cpu, W1),
            us(r.without[W2].wall, W2), us(w.time[W2].wall, W2), us(r.without[W2].cpu, W2), us(w.time[W2].cpu, W2),
            w.daemon_cpu_s[W1], w.daemon_cpu_s[W2], w.stats.records, w.stats.events, w.stats.alerts, w.alert_lines,
            w.stats.drops, w.peak_rss_kib as f64 / 1024.0
        );
        rounds.push(r);
    }

    let drops: u64 = rounds.iter().map(|r| r.with.stats.drops).sum();
    print!("{}", render_table(&rounds, iterations));
    if drops > 0 {
        eprintln!(
            "\n!!! WARNING: the daemon dropped {drops} records, so the ratios above are INVALID: lost records cost\n\
             !!! nothing in user space and make overhead look smaller than it is. Do not quote them; fix the drops\n\
             !!! (or the machine's load) and rerun."
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `palisade` beside this executable: cargo builds every binary of a profile into one
/// directory, so `cargo build --release -p palisade -p palisade-bench` puts the daemon there.
/// The benchmark is no longer part of the daemon's binary, so it cannot start itself.
fn default_daemon() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find this executable's path")?;
    let daemon = me.with_file_name("palisade");
    ensure!(
        daemon.is_file(),
        "no daemon binary at {} (build it with `cargo build --release -p palisade`, or pass --daemon PATH)",
        daemon.display()
    );
    Ok(daemon)
}

/// Runs W1 then W2 and returns their timings.
fn run_workloads(iterations: [u64; 2]) -> anyhow::Result<[Timing; 2]> {
    Ok([timed(|| open_close(iterations[W1]))?, timed(|| fork_exec_wait(iterations[W2]))?])
}

/// CPU time used so far by this process and by its waited-for children.
fn cpu_used() -> anyhow::Result<Duration> {
    let own = nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID).context("CLOCK_PROCESS_CPUTIME_ID")?;
    let stat = std::fs::read_to_string("/proc/self/stat").context("cannot read /proc/self/stat")?;
    let children_ticks = parse_stat_children_ticks(&stat).context("cannot parse /proc/self/stat")?;
    Ok(Duration::from(own) + Duration::from_secs_f64(children_ticks as f64 / clk_tck() as f64))
}

/// Wall and CPU time of `run`.
fn timed(run: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<Timing> {
    let (cpu0, wall0) = (cpu_used()?, Instant::now());
    run()?;
    let wall = wall0.elapsed();
    Ok(Timing { wall, cpu: cpu_used()?.saturating_sub(cpu0) })
}

/// One "with daemon" side: a fresh daemon, both workloads, then stop it.
fn with_daemon(exe: &Path, args: &OverheadArgs, iterations: [u64; 2], tck: u64) -> anyhow::Result<WithDaemon> {
    let mut daemon = Daemon::start(exe, &args.files, &args.host_monitoring)?;
    std::thread::sleep(SETTLE);
    let mut time = [Timing::default(); 2];
    let mut daemon_cpu_s = [0.0; 2];
    for w in [W1, W2] {
        let before = daemon.cpu_ticks()?;
        time[w] = if w == W1 {
            timed(|| open_close(iterations[W1]))?
        } else {
            timed(|| fork_exec_wait(iterations[W2]))?
        };
        let after = daemon.cpu_ticks()?;
        daemon_cpu_s[w] = after.saturating_sub(before) as f64 / tck as f64;
    }
    let peak_rss_kib = daemon.peak_rss_kib()?;
    let (stats, alert_lines) = daemon.stop()?;
    Ok(WithDaemon { time, daemon_cpu_s, stats, alert_lines, peak_rss_kib })
}

/// W1: `open` + `close`, nothing else (no `File`, whose drop path may differ between versions).
fn open_close(iterations: u64) -> anyhow::Result<()> {
    for _ in 0..iterations {
        let fd = open(W1_PATH, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
            .with_context(|| format!("W1: cannot open {}", W1_PATH.to_string_lossy()))?;
        close(fd).context("W1: close failed")?;
    }
    Ok(())
}

/// W2: fork, exec `/bin/true` in the child, wait for it in the parent.
fn fork_exec_wait(iterations: u64) -> anyhow::Result<()> {
    let status = std::fs::read_to_string("/proc/self/status").context("cannot read /proc/self/status")?;
    let threads = status_field(&status, "Threads").context("no Threads: line in /proc/self/status")?;
    ensure!(threads == 1, "W2 needs a single-threaded process (fork safety), found {threads} threads");
    let argv = [W2_PATH];
    for _ in 0..iterations {
        let child = spawn(W2_PATH, &argv).context("W2: fork failed")?;
        match waitpid(child, None).context("W2: waitpid failed")? {
            WaitStatus::Exited(_, 0) => {}
            other => bail!("W2: {} ended with {other:?} (a kill means exec failed)", W2_PATH.to_string_lossy()),
        }
    }
    Ok(())
}

/// fork + execv; the child never returns.
#[expect(unsafe_code, reason = "nix::unistd::fork is unsafe: only some calls are allowed in the child")]
fn spawn(path: &CStr, argv: &[&CStr]) -> nix::Result<Pid> {
    // SAFETY: the path and argv are prepared before the fork, and the caller checked that this
    // process has a single thread, so no lock (malloc's included) can be held by a thread that
    // does not exist in the child; the child only calls execv (which builds its pointer array
    // with one allocation, safe in the copy of a single-threaded process) and, if that fails,
    // kills itself with raise(SIGKILL), async-signal-safe; it never returns into Rust code.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => {
            let _ = execv(path, argv);
            let _ = raise(Signal::SIGKILL);
            std::process::abort()
        }
    }
}

/// A running `palisade run`; killed on drop if not stopped.
struct Daemon {
    child: Child,
    pid: Pid,
    stdout: File,
    stderr: File,
    stderr_bytes: Vec<u8>,
}

impl Daemon {
    /// Starts the daemon and waits for its "watching" line.
    fn start(exe: &Path, files: &[PathBuf], host_monitoring: &str) -> anyhow::Result<Daemon> {
        let (out_w, stdout) = unlinked_temp_file("out")?;
        let (err_w, stderr) = unlinked_temp_file("err")?;
        let mut cmd = Command::new(exe);
        let host = if host_monitoring == "on" { "host_monitoring=true" } else { "host_monitoring=false" };
        cmd.arg("run").args(["-o", host]);
        cmd.args(files.iter().flat_map(|f| [Path::new("-r"), f])).stdin(Stdio::null());
        let child = cmd.stdout(out_w).stderr(err_w).spawn().with_context(|| format!("cannot start the daemon {}", exe.display()))?;
        let pid = Pid::from_raw(i32::try_from(child.id()).context("daemon pid out of range")?);
        let mut d = Daemon { child, pid, stdout, stderr, stderr_bytes: Vec::new() };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            d.read_stderr()?;
            if String::from_utf8_lossy(&d.stderr_bytes).lines().any(|l| l.contains("watching")) {
                return Ok(d);
            }
            if let Some(status) = d.child.try_wait().context("cannot wait for the daemon")? {
                bail!("the daemon exited ({status}) before it was watching; its stderr:\n{}", d.stderr_text());
            }
            if Instant::now() >= deadline {
                bail!("the daemon was not watching after {READY_TIMEOUT:?}; its stderr:\n{}", d.stderr_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn read_stderr(&mut self) -> anyhow::Result<()> {
        self.stderr.read_to_end(&mut self.stderr_bytes).context("cannot read the daemon's stderr")?;
        Ok(())
    }

    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr_bytes).into_owned()
    }

    /// `/proc/<pid>/<name>` of the daemon, failing with its stderr if it has exited.
    fn proc_file(&mut self, name: &str) -> anyhow::Result<String> {
        if let Some(status) = self.child.try_wait().context("cannot wait for the daemon")? {
            self.read_stderr()?;
            bail!("the daemon exited ({status}) during the benchmark; its stderr:\n{}", self.stderr_text());
        }
        let path = format!("/proc/{}/{name}", self.pid);
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))
    }

    /// utime + stime of the daemon (all its threads, dead ones included), in clock ticks.
    fn cpu_ticks(&mut self) -> anyhow::Result<u64> {
        parse_stat_cpu_ticks(&self.proc_file("stat")?).context("cannot parse the daemon's /proc/<pid>/stat")
    }

    fn peak_rss_kib(&mut self) -> anyhow::Result<u64> {
        status_field(&self.proc_file("status")?, "VmHWM").context("no VmHWM in the daemon's /proc/<pid>/status")
    }

    /// SIGTERM, wait, parse the stats line; returns it with the number of alert lines printed.
    fn stop(&mut self) -> anyhow::Result<(DaemonStats, u64)> {
        kill(self.pid, Signal::SIGTERM).context("cannot send SIGTERM to the daemon")?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().context("cannot wait for the daemon")? {
                break status;
            }
            if Instant::now() >= deadline {
                self.read_stderr()?;
                bail!("the daemon did not exit within {STOP_TIMEOUT:?} of SIGTERM; its stderr:\n{}", self.stderr_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.read_stderr()?;
        let text = self.stderr_text();
        ensure!(status.success(), "the daemon exited with {status} after SIGTERM; its stderr:\n{text}");
        let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        let stats = match parse_stats_line(last) {
            Ok(stats) => stats,
            Err(e) => bail!("the daemon's last stderr line is not the stats line ({e:#}); its stderr:\n{text}"),
        };
        let alert_lines = BufReader::new(&self.stdout).split(b'\n').try_fold(0u64, |n, line| line.map(|_| n + 1));
        Ok((stats, alert_lines.context("cannot read the daemon's stdout")?))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A temporary file opened twice (write end for the daemon, read end for us), then unlinked so
/// nothing is left behind even if this process is killed.
fn unlinked_temp_file(tag: &str) -> anyhow::Result<(File, File)> {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("palisade-overhead-{}-{n}.{tag}", std::process::id()));
    let write = File::options().write(true).create_new(true).open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let read = File::open(&path).with_context(|| format!("cannot open {}", path.display()));
    let _ = std::fs::remove_file(&path);
    Ok((write, read?))
}

/// Clock ticks per second for /proc times: the kernel's AT_CLKTCK (what sysconf(_SC_CLK_TCK)
/// returns), read from our auxiliary vector; USER_HZ = 100 if that fails.
fn clk_tck() -> u64 {
    std::fs::read("/proc/self/auxv").ok().and_then(|b| auxv_value(&b, AT_CLKTCK)).unwrap_or(100)
}

const AT_CLKTCK: u64 = 17;

/// The value of `key` in an auxiliary vector (native-endian (key, value) word pairs).
fn auxv_value(auxv: &[u8], key: u64) -> Option<u64> {
    const W: usize = std::mem::size_of::<usize>();
    let word = |b: &[u8]| -> Option<u64> { Some(usize::from_ne_bytes(b.try_into().ok()?) as u64) };
    auxv.chunks_exact(2 * W)
        .map(|pair| (word(&pair[..W]), word(&pair[W..])))
        .find(|(k, _)| *k == Some(key))
        .and_then(|(_, v)| v.filter(|&v| v > 0))
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field 2)
/// sits in parentheses and may itself hold spaces and parentheses, so fields are counted from
/// the last `)`.
fn parse_stat_cpu_ticks(stat: &str) -> anyhow::Result<u64> {
    let close = stat.rfind(')').context("no ')' after the command name")?;
    // Fields after the command: state (3) is index 0, so utime (14) is 11 and stime (15) is 12.
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let get = |i: usize, name: &str| -> anyhow::Result<u64> {
        let s = fields.get(i).with_context(|| format!("no {name} field"))?;
        s.parse().with_context(|| format!("{name} {s:?} is not a number"))
    };
    Ok(get(11, "utime")? + get(12, "stime")?)
}

/// cutime + cstime (fields 16 and 17: waited-for children) of a `/proc/<pid>/stat` line.
fn parse_stat_children_ticks(stat: &str) -> anyhow::Result<u64> {
    let close = stat.rfind(')').context("no ')' after the command name")?;
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let get = |i: usize, name: &str| -> anyhow::Result<u64> {
        let s = fields.get(i).with_context(|| format!("no {name} field"))?;
        s.parse().with_context(|| format!("{name} {s:?} is not a number"))
    };
    Ok(get(13, "cutime")? + get(14, "cstime")?)
}

/// The first number of a `Name:\t value [kB]` line of `/proc/<pid>/status`.
fn status_field(status: &str, name: &str) -> Option<u64> {
    status.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Parses `palisade: stopped: records=R events=E alerts=A drops=D` (unknown keys are ignored).
fn parse_stats_line(line: &str) -> anyhow::Result<DaemonStats> {
    let rest = line.trim().strip_prefix("palisade: stopped:").with_context(|| format!("not a stats line: {line:?}"))?;
    let mut values: [Option<u64>; 4] = [None; 4];
    const KEYS: [&str; 4] = ["records", "events", "alerts", "drops"];
    for item in rest.split_whitespace() {
        let (key, value) = item.split_once('=').with_context(|| format!("{item:?} is not key=value"))?;
        if let Some(i) = KEYS.iter().position(|k| *k == key) {
            values[i] = Some(value.parse().with_context(|| format!("{key}={value:?} is not a count"))?);
        }
    }
    let get = |i: usize| values[i].with_context(|| format!("{} missing in {line:?}", KEYS[i]));
    Ok(DaemonStats { records: get(0)?, events: get(1)?, alerts: get(2)?, drops: get(3)? })
}

/// The median (mean of the middle two for an even count); NaN if empty.
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn per_iter_us(d: Duration, iterations: u64) -> f64 {
    d.as_secs_f64() * 1e6 / iterations as f64
}

/// 1234567 → "1.23 M".
fn si(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.2} G", x / 1e9),
        x if x >= 1e6 => format!("{:.2} M", x / 1e6),
        x if x >= 1e3 => format!("{:.1} k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

/// The Markdown table and the footer line.
fn render_table(rounds: &[Round], iterations: [u64; 2]) -> String {
    let med = |f: &dyn Fn(&Round) -> f64| median(&rounds.iter().map(f).collect::<Vec<_>>());
    let drops: u64 = rounds.iter().map(|r| r.with.stats.drops).sum();
    let invalid = if drops > 0 { " **INVALID (drops)**" } else { "" };
    let records = si(med(&|r| r.with.stats.records as f64));
    let records_per_s =
        si(med(&|r| r.with.stats.records as f64 / (r.with.time[W1].wall + r.with.time[W2].wall).as_secs_f64()));
    let mut out = String::from(
        "| workload | without (µs/iter) | with (µs/iter) | ratio | per-round ratio | CPU ratio (per-round) | daemon CPU \
         | records reaching user space¹ | drops¹ |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for (w, label) in [(W1, "W1 open/close"), (W2, "W2 fork+exec")] {
        let wall = |t: &[Timing; 2]| t[w].wall.as_secs_f64();
        let cpu = |t: &[Timing; 2]| t[w].cpu.as_secs_f64();
        let without = med(&|r| wall(&r.without));
        let with = med(&|r| wall(&r.with.time));
        let per_round = med(&|r| wall(&r.with.time) / wall(&r.without));
        let cpu_ratio = med(&|r| cpu(&r.with.time)) / med(&|r| cpu(&r.without));
        let cpu_per_round = med(&|r| cpu(&r.with.time) / cpu(&r.without));
        let daemon_cpu = med(&|r| r.with.daemon_cpu_s[w]);
        let n = iterations[w];
        out += &format!(
            "| {label} ×{n} | {:.3} | {:.3} | {:.3}{invalid} | {per_round:.3}{invalid} | {cpu_ratio:.3} ({cpu_per_round:.3}){invalid} \
             | {:.1}% ({daemon_cpu:.2} s) | {records}/round, {records_per_s}/s | {drops} |\n",
            without * 1e6 / n as f64,
            with * 1e6 / n as f64,
            with / without,
            100.0 * daemon_cpu / with,
        );
    }
    let rss_mib = rounds.iter().map(|r| r.with.peak_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    out += &format!(
        "\n¹ One daemon per round serves both workloads and reports its counters only when stopped, so \
         records (median per round; per second of W1+W2 wall time) and drops (total) cover both rows.\n\
         Peak daemon RSS {rss_mib:.1} MiB (max over rounds); kernel {}; {cores} cores; {} interleaved rounds, medians.\n",
        kernel.trim(),
        rounds.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_line() {
        let s = parse_stats_line("palisade: stopped: records=1200 events=900 alerts=3 drops=0\n").expect("parses");
        assert_eq!(s, DaemonStats { records: 1200, events: 900, alerts: 3, drops: 0 });
        let extra = parse_stats_line("palisade: stopped: drops=7 future=1 alerts=0 events=2 records=5").expect("parses");
        assert_eq!(extra.drops, 7);
        assert!(parse_stats_line("palisade: stopping (3 events evaluated, 0 drops)").is_err());
        assert!(parse_stats_line("palisade: stopped: records=1 events=2 alerts=3").is_err());
        assert!(parse_stats_line("palisade: stopped: records=x events=2 alerts=3 drops=0").is_err());
        assert!(parse_stats_line("").is_err());
    }

    #[test]
    fn stat_cpu_ticks() {
        let line = "4242 (palisade) S 1 4242 4242 0 -1 4194560 300 0 0 0 125 37 0 0 20 0 3 0 1000 2000000 500";
        assert_eq!(parse_stat_cpu_ticks(line).expect("parses"), 162);
        // A command name with spaces and parentheses must not shift the fields.
        let tricky = "77 (a) b (c d)) R 1 77 77 0 -1 0 0 0 0 0 9 1 0 0 20 0 1 0 5 0 0\n";
        assert_eq!(parse_stat_cpu_ticks(tricky).expect("parses"), 10);
        assert!(parse_stat_cpu_ticks("77 (short) R 1 2").is_err());
        assert!(parse_stat_cpu_ticks("no parenthesis").is_err());
        assert_eq!(parse_stat_children_ticks(line).expect("parses"), 0);
        let waited = "4242 (palisade) S 1 4242 4242 0 -1 4194560 300 0 0 0 125 37 40 2 20 0 3 0 1000 2000000 500";
        assert_eq!(parse_stat_children_ticks(waited).expect("parses"), 42);
    }

    #[test]
    fn status_fields() {
        let status = "Name:\tpalisade\nThreads:\t1\nVmPeak:\t  99999 kB\nVmHWM:\t   61440 kB\nVmRSS:\t 4096 kB\n";
        assert_eq!(status_field(status, "VmHWM"), Some(61440));
        assert_eq!(status_field(status, "Threads"), Some(1));
        assert_eq!(status_field(status, "VmSwap"), None);
    }

    #[test]
    fn auxv() {
        let mut b = Vec::new();
        for (k, v) in [(6u64, 4096u64), (17, 100), (0, 0)] {
            b.extend_from_slice(&(k as usize).to_ne_bytes());
            b.extend_from_slice(&(v as usize).to_ne_bytes());
        }
        assert_eq!(auxv_value(&b, AT_CLKTCK), Some(100));
        assert_eq!(auxv_value(&b, 99), None);
        assert!(clk_tck() > 0);
    }

    #[test]
    fn medians_and_ratios() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
        // The ratio of medians and the median of ratios differ when rounds are noisy.
        let (without, with) = ([1.0, 1.0, 2.0], [1.1, 1.2, 2.0]);
        assert!((median(&with) / median(&without) - 1.2).abs() < 1e-9);
        let per_round: Vec<f64> = with.iter().zip(without).map(|(w, wo)| w / wo).collect();
        assert!((median(&per_round) - 1.1).abs() < 1e-9);
        assert!((per_iter_us(Duration::from_millis(2), 1000) - 2.0).abs() < 1e-9);
        assert_eq!(si(1_234_567.0), "1.23 M");
        assert_eq!(si(950.0), "950");
    }

    #[test]
    fn table_marks_drops_invalid() {
        let t = |wall, cpu| Timing { wall: Duration::from_millis(wall), cpu: Duration::from_millis(cpu) };
        let round = |drops| Round {
            without: [t(100, 90), t(700, 500)],
            with: WithDaemon {
                time: [t(110, 108), t(700, 500)],
                daemon_cpu_s: [0.011, 0.0],
                stats: DaemonStats { records: 1000, events: 1000, alerts: 0, drops },
                alert_lines: 0,
                peak_rss_kib: 2048,
            },
        };
        let ok = render_table(&[round(0), round(0)], [100_000, 1000]);
        assert!(ok.contains("| W1 open/close ×100000 | 1.000 | 1.100 | 1.100 | 1.100 | 1.200 (1.200) | 10.0% (0.01 s) |"), "{ok}");
        assert!(ok.contains("Peak daemon RSS 2.0 MiB"), "{ok}");
        assert!(!ok.contains("INVALID"));
        assert!(render_table(&[round(0), round(3)], [100_000, 1000]).contains("INVALID"));
    }
}
