//! What the Falco-named wrapper families say of the host and of the daemon's process: host
//! facts read once at the start, uptime, CPU and memory read from `/proc/self` at each scrape.

use std::time::{Instant, SystemTime};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Ns since the Unix epoch, as a gauge value.
pub(crate) fn unix_ns(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// What the info families and host gauges say of the host, read once at the start.
pub(crate) struct HostFacts {
    pub(crate) hostname: String,
    pub(crate) kernel_release: String,
    pub(crate) boot_ns: i64,
    pub(crate) num_cpus: i64,
}

impl HostFacts {
    pub(crate) fn read() -> HostFacts {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        let stat = read("/proc/stat");
        let boot_s: i64 = stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let num_cpus = stat
            .lines()
            .filter(|l| {
                l.strip_prefix("cpu")
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
            .count();
        HostFacts {
            hostname: read("/proc/sys/kernel/hostname"),
            kernel_release: read("/proc/sys/kernel/osrelease"),
            boot_ns: boot_s.saturating_mul(1_000_000_000),
            num_cpus: num_cpus as i64,
        }
    }
}

/// The daemon's uptime, CPU and memory, read from `/proc/self` at each scrape.
#[derive(Debug)]
pub(crate) struct Process {
    pub(crate) start: Instant,
}

/// `/proc` reports CPU times in USER_HZ ticks, 100 a second on every Linux architecture.
const TICKS_PER_SECOND: f64 = 100.0;

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let elapsed = self.start.elapsed();
        let duration = ConstCounter::new(elapsed.as_secs());
        duration.encode(encoder.encode_descriptor(
            "duration_seconds",
            "Seconds since the daemon started",
            None,
            duration.metric_type(),
        )?)?;
        if let Some(ticks) = cpu_ticks() {
            let ratio =
                ConstGauge::new(ticks as f64 / TICKS_PER_SECOND / elapsed.as_secs_f64().max(1.0));
            ratio.encode(encoder.encode_descriptor(
                "cpu_usage_ratio",
                "CPU time of the daemon over its run time (one CPU = 1)",
                None,
                ratio.metric_type(),
            )?)?;
        }
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        for (field, name, help) in [
            (
                "VmRSS:",
                "memory_rss_bytes",
                "Resident memory of the daemon",
            ),
            (
                "VmSize:",
                "memory_vsz_bytes",
                "Virtual memory of the daemon",
            ),
        ] {
            if let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            {
                let bytes = ConstGauge::new(kib.saturating_mul(1024));
                bytes.encode(encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    bytes.metric_type(),
                )?)?;
            }
        }
        Ok(())
    }
}

/// utime + stime of this process, in ticks.
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}
