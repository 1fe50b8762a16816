//! `palisade-bench storm`: the issue-17 alert storm, measured. Flooding processes in one cgroup
//! open `/etc/shadow` in a loop (every open alerts "Read sensitive file untrusted" with Falco's
//! stable rules) while a process of another cgroup reads `/etc/shadow` a few times and one of
//! the flooding cgroup does `chmod u+s` (budget-exempt). Run twice in one invocation against a
//! fresh `palisade run` each: without per-cgroup budgets (`syscall_budget.enabled=false`, what
//! the daemon did before them: the baseline) and with them.
//!
//! Printed per run: the offered rate (opens/s, counted by the flooders themselves), the
//! processed rate (events and alerts/s the daemon evaluated during the flood, from its status),
//! the ring buffer's drops, the budget drops of the flooding and of the quiet cgroup (from
//! `palisade status`), and whether each read of the quiet cgroup and the chmod were alerted.
//!
//! Not a test: it prints a Markdown table for BENCHMARKS.md. The flooders are forked children
//! of this (single-threaded) process, renamed `flooder` (shells are trusted readers of sensitive
//! files in Falco's rules), each moved into the flooding cgroup by writing to `cgroup.procs`.

use std::ffi::CStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use nix::fcntl::{open, OFlag};
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::{close, fork, pipe, ForkResult, Pid};

use serde_json::Value;

#[derive(Debug, clap::Args)]
pub(crate) struct StormArgs {
    /// Rule files passed to the daemon (`palisade run -r FILE`); Falco's stable rules as in the
    /// issue, plus the incubating ones for the chmod u+s rule.
    #[arg(short = 'r', long = "rules-file", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Flooding processes (all in one cgroup).
    #[arg(long, default_value_t = 2)]
    pub flooders: usize,
    /// How long they flood, seconds.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Reads of /etc/shadow by the quiet cgroup during the flood.
    #[arg(long, default_value_t = 5)]
    pub reads: usize,
    /// `syscall_budget.rate` of the budgeted run.
    #[arg(long, default_value_t = 10_000)]
    pub rate: u64,
    /// `syscall_budget.burst` of the budgeted run.
    #[arg(long, default_value_t = 1_000)]
    pub burst: u64,
    /// The `palisade` binary (default: beside this executable).
    #[arg(long, value_name = "PATH")]
    pub daemon: Option<PathBuf>,
}

const SHADOW: &CStr = c"/etc/shadow";
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// One run's numbers.
#[derive(Debug, Default)]
struct Outcome {
    offered: f64,
    events: f64,
    alerts: f64,
    ring_drops: u64,
    flood_budget_drops: u64,
    quiet_budget_drops: u64,
    reads_alerted: usize,
    chmod_alerted: bool,
}

pub(crate) fn run(args: StormArgs) -> anyhow::Result<ExitCode> {
    ensure!(nix::unistd::geteuid().is_root(), "storm needs root (BPF programs, cgroups)");
    let exe = match &args.daemon {
        Some(p) => p.clone(),
        None => std::env::current_exe().context("this executable's path")?.with_file_name("palisade"),
    };
    ensure!(exe.is_file(), "no daemon binary at {} (cargo build --release -p palisade, or --daemon)", exe.display());
    let root = cgroup2_root().context("no cgroup2 mount")?;
    let without = storm(&exe, &args, &root, false)?;
    let with = storm(&exe, &args, &root, true)?;
    println!("| syscall_budget | offered opens/s | events/s evaluated | alerts/s | ring-buffer drops | budget drops, flooding cgroup | budget drops, quiet cgroup | quiet reads alerted | chmod u+s in flooding cgroup alerted |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, o) in [("off (before)".to_owned(), &without), (format!("{}/s, burst {}", args.rate, args.burst), &with)] {
        println!(
            "| {name} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {}/{} | {} |",
            o.offered, o.events, o.alerts, o.ring_drops, o.flood_budget_drops, o.quiet_budget_drops, o.reads_alerted, args.reads,
            if o.chmod_alerted { "yes" } else { "no" }
        );
    }
    println!(
        "\nprocessed/offered: {:.2} without budgets, {:.2} with; flooders, {} s each run, {} processes",
        without.events / without.offered.max(1.0),
        with.events / with.offered.max(1.0),
        args.seconds,
        args.flooders
    );
    Ok(ExitCode::SUCCESS)
}

fn storm(exe: &Path, args: &StormArgs, root: &Path, budget: bool) -> anyhow::Result<Outcome> {
    let pid = std::process::id();
    let tag = if budget { "on" } else { "off" };
    let scratch = Scratch::new(&std::env::temp_dir().join(format!("palisade-storm-{pid}-{tag}")))?;
    let socket = scratch.0.join("hook.sock");
    let target = scratch.0.join("setuid-target");
    std::fs::write(&target, "x").context("setuid target")?;
    let (out_w, mut out_r) = temp_pair(&scratch.0.join("alerts.json"))?;
    let err = File::create(scratch.0.join("stderr")).context("stderr file")?;
    let mut cmd = Command::new(exe);
    cmd.args(["run", "-c", "/dev/null"]);
    for o in [
        "json_output=true".to_owned(),
        "rule_matching=all".to_owned(),
        "nri.enabled=false".to_owned(),
        "outputs_queue.capacity=1000000".to_owned(),
        format!("hook_socket={}", socket.display()),
        format!("syscall_budget.enabled={budget}"),
        format!("syscall_budget.rate={}", args.rate),
        format!("syscall_budget.burst={}", args.burst),
    ] {
        cmd.arg("-o").arg(o);
    }
    for f in &args.files {
        cmd.arg("-r").arg(f);
    }
    let mut daemon = DaemonChild(cmd.stdin(Stdio::null()).stdout(out_w).stderr(err).spawn().context("start palisade run")?);
    let deadline = Instant::now() + READY_TIMEOUT;
    while !std::fs::read_to_string(scratch.0.join("stderr")).unwrap_or_default().contains("watching") {
        ensure!(daemon.0.try_wait()?.is_none() && Instant::now() < deadline, "palisade run did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let flood = TestCgroup::new(root, &format!("palisade-storm-flood-{pid}"))?;
    let quiet = TestCgroup::new(root, &format!("palisade-storm-quiet-{pid}"))?;
    let before = status(exe, &socket)?;

    let until = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let flooders: Vec<(Pid, File)> = (0..args.flooders).map(|_| fork_flooder(&flood, until)).collect::<anyhow::Result<_>>()?;
    std::thread::sleep(Duration::from_millis(500));
    let gap = Duration::from_millis((args.seconds * 1000 / 2) / args.reads.max(1) as u64);
    for _ in 0..args.reads {
        let ok = quiet.spawn("exec cat /etc/shadow > /dev/null")?.wait()?.success();
        ensure!(ok, "cat /etc/shadow failed");
        std::thread::sleep(gap);
    }
    let ok = flood.spawn(&format!("exec /bin/busybox chmod u+s {}", target.display()))?.wait()?.success();
    ensure!(ok, "busybox chmod failed");
    let mut opens = 0u64;
    for (child, mut count) in flooders {
        let mut buf = [0u8; 8];
        count.read_exact(&mut buf).context("a flooder's count")?;
        opens += u64::from_le_bytes(buf);
        waitpid(child, None).context("wait for a flooder")?;
    }
    let flood_secs = started.elapsed().as_secs_f64();
    // Drained and counted: the next housekeeping round.
    std::thread::sleep(Duration::from_millis(1500));
    let after = status(exe, &socket)?;
    kill(Pid::from_raw(daemon.0.id() as i32), Signal::SIGTERM).context("SIGTERM")?;
    ensure!(daemon.0.wait()?.success(), "palisade run failed");
    let mut text = String::new();
    out_r.read_to_string(&mut text).context("the alerts")?;
    let alerts: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let field = |a: &Value, k: &str| a["output_fields"][k].as_str().unwrap_or_default().to_owned();
    let delta = |k: &str| after[k].as_u64().unwrap_or(0).saturating_sub(before[k].as_u64().unwrap_or(0));
    Ok(Outcome {
        offered: opens as f64 / flood_secs,
        events: delta("events") as f64 / flood_secs,
        alerts: delta("alerts") as f64 / flood_secs,
        ring_drops: delta("kernel_drops"),
        flood_budget_drops: cgroup_drops(&after, flood.id()?),
        quiet_budget_drops: cgroup_drops(&after, quiet.id()?),
        reads_alerted: alerts
            .iter()
            .filter(|a| a["rule"] == "Read sensitive file untrusted" && field(a, "proc.name") == "cat")
            .count(),
        chmod_alerted: alerts
            .iter()
            .any(|a| a["rule"] == "Set Setuid or Setgid bit" && field(a, "evt.arg.filename") == target.display().to_string()),
    })
}

/// A forked flooder: moves into `cgroup`, names itself `flooder`, opens and closes /etc/shadow
/// until `until`, then writes its count (u64 LE) to the returned pipe and exits.
fn fork_flooder(cgroup: &TestCgroup, until: Instant) -> anyhow::Result<(Pid, File)> {
    let procs = cgroup.0.join("cgroup.procs");
    let status = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
    let threads = status.lines().find_map(|l| l.strip_prefix("Threads:")).map(str::trim);
    ensure!(threads == Some("1"), "storm forks flooders: it must be single-threaded, found {threads:?} threads");
    let (r, w) = pipe().context("pipe")?;
    match fork_process()? {
        ForkResult::Child => {
            drop(r);
            std::process::exit(flood_loop(&procs, until, w))
        }
        ForkResult::Parent { child } => {
            drop(w);
            Ok((child, File::from(r)))
        }
    }
}

#[expect(unsafe_code, reason = "nix::unistd::fork is unsafe: only some calls are allowed in the child")]
fn fork_process() -> anyhow::Result<ForkResult> {
    // SAFETY: the caller checked that this process has a single thread, so no lock (malloc's
    // included) can be held by a thread that does not exist in the child: the child may
    // allocate and use std like any single-threaded process.
    unsafe { fork() }.context("fork")
}

/// The flooder's body; returns its exit code.
fn flood_loop(procs: &Path, until: Instant, out: OwnedFd) -> i32 {
    if std::fs::write(procs, "0").is_err() {
        return 1;
    }
    let _ = nix::sys::prctl::set_name(c"flooder");
    let mut n = 0u64;
    while Instant::now() < until {
        for _ in 0..256 {
            if let Ok(fd) = open(SHADOW, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()) {
                let _ = close(fd);
                n += 1;
            }
        }
    }
    match File::from(out).write_all(&n.to_le_bytes()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// `palisade status --json` of the daemon at `socket`.
fn status(exe: &Path, socket: &Path) -> anyhow::Result<Value> {
    let out = Command::new(exe).args(["status", "--json", "--socket"]).arg(socket).output().context("palisade status")?;
    if !out.status.success() {
        bail!("palisade status: {}", String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).context("status JSON")
}

/// Budget drops `palisade status` lists for cgroup `id` (under any container).
fn cgroup_drops(status: &Value, id: u64) -> u64 {
    status["budget_drops"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["cgroups"].as_array().into_iter().flatten())
        .find(|c| c["cgroup_id"] == id)
        .and_then(|c| c["drops"].as_u64())
        .unwrap_or(0)
}

fn cgroup2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(2) == Some(&"cgroup2"))
        .map(|f| PathBuf::from(f[1]))
}

/// A cgroup v2 child, removed on drop (its processes gone by then).
struct TestCgroup(PathBuf);

impl TestCgroup {
    fn new(root: &Path, name: &str) -> anyhow::Result<TestCgroup> {
        let p = root.join(name);
        let _ = std::fs::remove_dir(&p);
        std::fs::create_dir(&p).with_context(|| format!("create cgroup {}", p.display()))?;
        Ok(TestCgroup(p))
    }

    fn id(&self) -> anyhow::Result<u64> {
        use std::os::unix::fs::MetadataExt;
        Ok(std::fs::metadata(&self.0).context("stat cgroup")?.ino())
    }

    /// `/bin/sh -c script` after the shell moved itself into this cgroup.
    fn spawn(&self, script: &str) -> anyhow::Result<Child> {
        Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("echo $$ > {}/cgroup.procs && {script}", self.0.display()))
            .spawn()
            .context("spawn sh")
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(path: &Path) -> anyhow::Result<Scratch> {
        let _ = std::fs::remove_dir_all(path);
        std::fs::create_dir_all(path).with_context(|| format!("create {}", path.display()))?;
        Ok(Scratch(path.to_owned()))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The daemon, killed on drop if still running.
struct DaemonChild(Child);

impl Drop for DaemonChild {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A file opened for writing (the daemon's stdout) and for reading (ours).
fn temp_pair(path: &Path) -> anyhow::Result<(File, File)> {
    let write = File::create(path).with_context(|| format!("create {}", path.display()))?;
    let read = File::open(path).with_context(|| format!("open {}", path.display()))?;
    Ok((write, read))
}
