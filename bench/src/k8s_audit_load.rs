//! `palisade-bench k8s-audit --daemon PATH`: the issue's measurement. A real `palisade run`
//! (host monitoring on, the k8s-audit webhook on 127.0.0.1) gets a background syscall load
//! (opens for writing of a scratch file at `--syscall-rate`: the open prefilter passes every
//! write open to user space, and no rule alerts on it), then `--load-events` audit events POSTed in
//! EventLists of `--load-batch` (20,000 ≈ 50 MB, the size of the issue's 58 MB POST) while
//! `cat /etc/shadow` runs 20 times. Reported: audit events/s (POST start to the last event
//! evaluated, from the daemon's /metrics), the kernel drops over the run (target 0), and how many
//! of the 20 reads were alerted (target 20). Before issue 17 the loop evaluated audit batches
//! itself: 30,000 drops and 5 of 20 reads never alerted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};

/// What the load run needs from the command line.
pub(crate) struct LoadArgs<'a> {
    pub daemon: PathBuf,
    pub files: &'a [PathBuf],
    pub syscall_rules: PathBuf,
    pub samples: &'a [String],
    pub events: usize,
    pub batch: usize,
    pub syscall_rate: u64,
}

const SHADOW_READS: usize = 20;

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One request on a new connection; the status code and body.
fn request(port: u16, head: &str, body: &[u8]) -> anyhow::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let code = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok((code, text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()))
}

fn metric(port: u16, line_start: &str) -> anyhow::Result<u64> {
    let (_, body) = request(port, "GET /metrics HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n", b"")?;
    Ok(body
        .lines()
        .find_map(|l| l.strip_prefix(line_start).and_then(|v| v.trim().parse::<f64>().ok()))
        .map_or(0, |v| v as u64))
}

pub(crate) fn run(args: &LoadArgs<'_>) -> anyhow::Result<()> {
    ensure!(nix::unistd::geteuid().is_root(), "the load run starts the daemon: root is needed");
    let (web, audit) = (free_port()?, free_port()?);
    let dir = std::env::temp_dir().join(format!("palisade-bench-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let alerts_file = dir.join("alerts.json");
    let mut cmd = Command::new(&args.daemon);
    cmd.args(["run", "-c", "/dev/null"]);
    for o in [
        "json_output=true".to_string(),
        "nri.enabled=false".into(),
        "host_monitoring=true".into(),
        // The load, the reads and this bench share one cgroup: with the per-cgroup budget
        // (10,000 records/s by default) the kernel would drop most of the load and some reads
        // by design, counted as budget drops (`palisade-bench storm` measures that). Here the
        // question is whether audit work blinds the syscall loop at 30,000 records/s.
        "syscall_budget.enabled=false".into(),
        "stdout_output.enabled=false".into(),
        "file_output.enabled=true".into(),
        "file_output.keep_alive=true".into(),
        format!("file_output.filename={}", alerts_file.display()),
        format!("hook_socket={}", dir.join("hook.sock").display()),
        "webserver.enabled=true".into(),
        "webserver.listen_address=127.0.0.1".into(),
        format!("webserver.listen_port={web}"),
        "webserver.prometheus_metrics_enabled=true".into(),
        "k8s_audit.enabled=true".into(),
        format!("k8s_audit.listen_port={audit}"),
    ] {
        cmd.arg("-o").arg(o);
    }
    cmd.arg("-r").arg(&args.syscall_rules);
    for f in args.files {
        cmd.arg("-r").arg(f);
    }
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().context("starting the daemon")?;
    let mut stderr = BufReader::new(child.stderr.take().context("stderr")?);
    let mut line = String::new();
    while !line.contains("watching") {
        line.clear();
        if stderr.read_line(&mut line)? == 0 {
            bail!("the daemon did not start");
        }
    }
    let tail = std::thread::spawn(move || {
        let mut last = String::new();
        let mut l = String::new();
        while stderr.read_line(&mut l).is_ok_and(|n| n > 0) {
            if l.starts_with("palisade: stopped:") {
                last.clone_from(&l);
            }
            l.clear();
        }
        last
    });
    std::thread::sleep(Duration::from_millis(500));

    // Background syscall load, paced to the asked rate.
    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicU64::new(0));
    let scratch = dir.join("scratch");
    std::fs::write(&scratch, b"")?;
    let load = {
        let (stop, opened, rate) = (Arc::clone(&stop), Arc::clone(&opened), args.syscall_rate);
        std::thread::spawn(move || {
            let started = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
                while opened.load(Ordering::Relaxed) < due {
                    drop(std::fs::OpenOptions::new().write(true).open(&scratch));
                    opened.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    // The load alone first: it must not drop by itself (the issue's "0 drops by itself").
    let drops_start = metric(web, "palisade_kernel_drops_total")?;
    std::thread::sleep(Duration::from_secs(2));
    let drops_before = metric(web, "palisade_kernel_drops_total")?;
    let drops_alone = drops_before - drops_start;

    let bodies: Vec<Vec<u8>> = (0..args.events.div_ceil(args.batch))
        .map(|p| {
            let n = args.batch.min(args.events - p * args.batch);
            let items: Vec<&str> = (0..n).map(|i| args.samples[(p * args.batch + i) % args.samples.len()].as_str()).collect();
            format!("{{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[{}]}}", items.join(",")).into_bytes()
        })
        .collect();
    let mb = bodies.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    let started = Instant::now();
    let reads = std::thread::spawn(|| {
        for _ in 0..SHADOW_READS {
            let _ = Command::new("cat").arg("/etc/shadow").stdout(Stdio::null()).status();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let load_before = opened.load(Ordering::Relaxed);
    for body in &bodies {
        let head = format!(
            "POST /k8s-audit HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        loop {
            match request(audit, &head, body)?.0 {
                200 => break,
                503 => std::thread::sleep(Duration::from_millis(200)), // Retry-After, as the API server
                code => bail!("the webhook answered {code}"),
            }
        }
    }
    let evaluated = "palisade_events_total{evt_type=\"k8s_audit\"}";
    while metric(web, evaluated)? < args.events as u64 {
        ensure!(started.elapsed() < Duration::from_secs(600), "the audit events were not evaluated within 10 min");
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = started.elapsed().as_secs_f64();
    let syscalls = opened.load(Ordering::Relaxed) - load_before;
    let _ = reads.join();
    std::thread::sleep(Duration::from_millis(1500));
    let drops = metric(web, "palisade_kernel_drops_total")? - drops_before;
    stop.store(true, Ordering::Relaxed);
    let _ = load.join();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM)?;
    child.wait()?;
    let stats = tail.join().unwrap_or_default();
    let text = std::fs::read_to_string(&alerts_file).unwrap_or_default();
    let shadow = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|a| a["output_fields"]["proc.name"] == "cat" && a["output_fields"]["fd.name"] == "/etc/shadow")
        .count();
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "k8s audit under syscall load: {} events in {} POSTs ({mb:.0} MB) in {secs:.2} s: {:.0} audit events/s; \
         background load {:.0} opens/s (alone, 2 s: {drops_alone} drops); kernel drops during the POSTs: {drops} (target 0); \
         `cat /etc/shadow` alerted {shadow} of {SHADOW_READS} (target {SHADOW_READS}); daemon: {}",
        args.events,
        bodies.len(),
        args.events as f64 / secs,
        syscalls as f64 / secs,
        stats.trim()
    );
    Ok(())
}
