//! `palisade-bench rules`: rules-engine throughput on a synthetic mixed event stream.
//!
//! Not a test: it prints numbers for BENCHMARKS.md. The stream cycles through a fixed set of
//! events shaped like what the kernel side delivers (exec, open for read and write, connect,
//! and syscalls no rule watches such as read/close), in container and on host. Rates are
//! single-threaded; the index-off run is the baseline the index is measured against in the
//! same process.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use palisade_rules::testing::MapEvent;
use palisade_rules::alert::Alert;
use palisade_rules::{Loader, RuleMatching, Source, Value};

/// `palisade-bench rules`: what to load and how long to measure.
#[derive(Debug, clap::Args)]
pub(crate) struct RulesArgs {
    /// Rule files, loaded in order (e.g. ../shared/falco/rules/falco_rules.yaml, then the
    /// incubating and sandbox files to measure the full upstream set).
    #[arg(short = 'r', long = "rules-file", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Events per measured round (the stream's distinct events are cycled).
    #[arg(long, default_value_t = 2_000_000)]
    pub events: usize,
    /// Measured rounds per configuration (the median is reported; one extra warm-up round
    /// runs first and is discarded).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
}

fn process(e: &mut MapEvent, name: &str, exe: &str, args: &str, parent: &str, in_container: bool) {
    let cmdline = if args.is_empty() { name.to_owned() } else { format!("{name} {args}") };
    e.set_str("proc.name", name)
        .set_str("proc.exe", exe)
        .set_str("proc.exepath", exe)
        .set_str("proc.cmdline", &cmdline)
        .set_str("proc.args", args)
        .set_str("proc.pname", parent)
        .set_str("proc.pcmdline", parent)
        .set_str("proc.pexe", &format!("/usr/bin/{parent}"))
        .set("proc.aname", vec![Value::string(parent.to_owned()), Value::string("containerd-shim".into()), Value::string("systemd".into())])
        .set_str("proc.aname[1]", parent)
        .set_str("proc.aname[2]", "containerd-shim")
        .set_str("proc.aname[3]", "systemd")
        .set_str("proc.aname[4]", "")
        .set_str("proc.aname[5]", "")
        .set_str("proc.aname[6]", "")
        .set_str("proc.aname[7]", "")
        .set_u64("proc.tty", 0)
        .set_str("proc.cwd", "/")
        .set_i64("proc.vpid", 42)
        .set_u64("proc.duration", 5_000_000_000)
        .set_str("proc.env", "PATH=/usr/bin HOME=/root")
        .set_str("user.name", "root")
        .set_u64("user.uid", 0)
        .set_i64("user.loginuid", -1)
        .set_str("thread.cap_effective", "CAP_CHOWN CAP_DAC_OVERRIDE")
        .set_str("thread.cap_permitted", "CAP_CHOWN CAP_DAC_OVERRIDE")
        .set("proc.is_exe_upper_layer", vec![Value::Bool(false)])
        .set("proc.is_exe_from_memfd", vec![Value::Bool(false)]);
    if in_container {
        e.set_str("container.id", "3ad7b26ded6d")
            .set_str("container.name", "web")
            .set_str("container.image.repository", "docker.io/library/nginx")
            .set("container.privileged", vec![Value::Bool(false)])
            .set_str("k8s.ns.name", "default")
            .set_str("k8s.pod.name", "web-0");
    } else {
        e.set_str("container.id", "host").set_str("container.image.repository", "");
    }
}

/// The cycled events: (label, event).
fn stream() -> Vec<(&'static str, MapEvent)> {
    let mut out = Vec::new();
    for in_container in [true, false] {
        let mut exec = MapEvent::new(Source::Syscall);
        exec.set_str("evt.type", "execve").set_i64("evt.rawres", 0).set_i64("evt.res", 0).set_u64("evt.num", 7);
        process(&mut exec, "nginx", "/usr/sbin/nginx", "-g daemon off;", "sh", in_container);
        out.push(("execve", exec));

        for (path, flags, read, write) in [
            ("/etc/nginx/nginx.conf", "O_RDONLY", true, false),
            ("/var/log/nginx/access.log", "O_WRONLY|O_APPEND", false, true),
            ("/tmp/cache/0001", "O_RDWR|O_CREAT", true, true),
        ] {
            let mut open = MapEvent::new(Source::Syscall);
            open.set_str("evt.type", "openat").set_i64("evt.rawres", 5).set_i64("evt.res", 0).set_u64("evt.num", 8);
            process(&mut open, "nginx", "/usr/sbin/nginx", "-g daemon off;", "sh", in_container);
            let (dir, file) = path.rsplit_once('/').unwrap_or(("/", path));
            open.set_str("fd.name", path)
                .set_str("fd.nameraw", path)
                .set_str("fd.directory", dir)
                .set_str("fd.filename", file)
                .set_str("fd.typechar", "f")
                .set_str("fd.type", "file")
                .set_i64("fd.num", 5)
                .set_str("evt.arg.flags", flags)
                .set("evt.is_open_read", vec![Value::Bool(read)])
                .set("evt.is_open_write", vec![Value::Bool(write)])
                .set("evt.is_open_exec", vec![Value::Bool(false)])
                .set("fd.name_changed", vec![Value::Bool(false)]);
            out.push(("openat", open));
        }

        let mut connect = MapEvent::new(Source::Syscall);
        connect.set_str("evt.type", "connect").set_i64("evt.rawres", 0).set_i64("evt.res", 0).set_u64("evt.num", 9);
        process(&mut connect, "curl", "/usr/bin/curl", "http://10.0.0.5/", "sh", in_container);
        let ip: std::net::IpAddr = [10, 0, 0, 5].into();
        connect
            .set_str("fd.name", "10.0.0.2:40000->10.0.0.5:80")
            .set_str("fd.typechar", "4")
            .set_str("fd.type", "ipv4")
            .set_str("fd.l4proto", "tcp")
            .set_str("fd.sockfamily", "ip")
            .set("fd.sip", vec![Value::Ip(ip)])
            .set("fd.rip", vec![Value::Ip(ip)])
            .set("fd.ip", vec![Value::Ip(ip)])
            .set_u64("fd.sport", 80)
            .set_u64("fd.rport", 80)
            .set_u64("fd.port", 80)
            .set_str("fd.sip.name", "")
            .set("fd.connected", vec![Value::Bool(true)])
            .set_i64("fd.num", 6);
        out.push(("connect", connect));

        // One suspicious event per cycle so alert formatting stays on the measured path:
        // a shell reading /etc/shadow.
        let mut shadow = MapEvent::new(Source::Syscall);
        shadow.set_str("evt.type", "openat").set_i64("evt.rawres", 3).set_u64("evt.num", 10);
        process(&mut shadow, "cat", "/usr/bin/cat", "/etc/shadow", "bash", in_container);
        shadow
            .set_str("fd.name", "/etc/shadow")
            .set_str("fd.nameraw", "/etc/shadow")
            .set_str("fd.directory", "/etc")
            .set_str("fd.filename", "shadow")
            .set_str("fd.typechar", "f")
            .set_i64("fd.num", 3)
            .set_str("evt.arg.flags", "O_RDONLY")
            .set("evt.is_open_read", vec![Value::Bool(true)])
            .set("evt.is_open_write", vec![Value::Bool(false)]);
        out.push(("openat-shadow", shadow));

        for ty in ["read", "close", "write"] {
            let mut ev = MapEvent::new(Source::Syscall);
            ev.set_str("evt.type", ty).set_i64("evt.rawres", 0);
            process(&mut ev, "nginx", "/usr/sbin/nginx", "", "sh", in_container);
            out.push((ty, ev));
        }
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub(crate) fn run(args: RulesArgs) -> anyhow::Result<ExitCode> {
    let RulesArgs { files, events, rounds } = args;
    ensure!(rounds >= 1 && events >= 1, "--rounds and --events must be at least 1");
    let mut loader = Loader::new();
    for f in &files {
        loader.add_file(f).with_context(|| format!("cannot read {}", f.display()))?;
    }
    let loaded = loader.compile();
    let Some(mut rs) = loaded.ruleset else {
        for d in loaded.report.errors() {
            eprintln!("{d}");
        }
        bail!("rules have errors");
    };
    rs.set_rule_matching(RuleMatching::All);
    let stream = stream();
    println!("rules: {} active of {} loaded; stream of {} distinct events, {} per round, {} rounds",
        rs.active_count(), rs.rules().len(), stream.len(), events, rounds);
    let mut results = Vec::new();
    for use_index in [true, false] {
        rs.set_use_index(use_index);
        let mut matches = Vec::new();
        let mut rates = Vec::new();
        let mut alerts = 0usize;
        for round in 0..=rounds {
            alerts = 0;
            let start = Instant::now();
            for i in 0..events {
                let (_, ev) = &stream[i % stream.len()];
                rs.evaluate(Source::Syscall, ev, &mut matches);
                for rule in &matches {
                    let alert = Alert::new(rule, ev, 0, "bench");
                    alerts += usize::from(!alert.output.is_empty());
                }
            }
            let secs = start.elapsed().as_secs_f64();
            if round > 0 {
                rates.push(events as f64 / secs);
            }
        }
        let rate = median(rates);
        println!(
            "index {:>3}: {:>12.0} events/s (median of {rounds}), {:.0} ns/event, {alerts} alerts per round",
            if use_index { "on" } else { "off" },
            rate,
            1e9 / rate
        );
        results.push(rate);
    }
    println!("index speed-up: {:.1}x", results[0] / results[1]);
    Ok(ExitCode::SUCCESS)
}
