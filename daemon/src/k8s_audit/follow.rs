//! Following audit log files (`--audit-log-path`: one JSON event per line) like `tail -F`:
//! new lines are read as they are appended; a file that is rotated (a new inode at the path) is
//! read to its end, then the new file from its start; a truncated file is read again from its
//! start; a file that does not exist yet is waited for. Following starts at the end of the
//! current file (what is already there was written before the daemon watched; `palisade replay
//! --source k8s_audit FILE` reads a whole file).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;

use palisade_metrics::Metrics;
use std::sync::Arc;
use std::time::Duration;

use palisade_k8saudit::{parse_payload, AuditEvent};

use super::worker::Job;

/// How often the files are looked at.
pub const POLL: Duration = Duration::from_millis(200);
/// A line longer than this is dropped (and logged): no audit event is that large.
const MAX_LINE: usize = 16 * 1024 * 1024;

struct Followed {
    path: PathBuf,
    file: Option<File>,
    ino: u64,
    offset: u64,
    partial: Vec<u8>,
    /// Lines (or items) of this file that were not audit events, since following began.
    bad_lines: u64,
}

impl Followed {
    fn new(path: PathBuf) -> Followed {
        let mut f = Followed { path, file: None, ino: 0, offset: 0, partial: Vec::new(), bad_lines: 0 };
        // Start at the end of what exists now.
        if let Ok(file) = File::open(&f.path) {
            if let Ok(m) = file.metadata() {
                f.ino = m.ino();
                f.offset = m.len();
            }
            f.file = Some(file);
        }
        f
    }

    /// Complete new lines, as one buffer.
    fn poll(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let current = std::fs::metadata(&self.path).ok();
        if let Some(file) = self.file.as_mut() {
            // Whatever is left in the open file (also after a rotation, before switching).
            if let Ok(m) = file.metadata() {
                if m.len() < self.offset {
                    self.offset = 0; // truncated
                    self.partial.clear();
                }
            }
            if file.seek(SeekFrom::Start(self.offset)).is_ok() {
                let mut buf = Vec::new();
                if let Ok(n) = file.read_to_end(&mut buf) {
                    self.offset += n as u64;
                    self.take_lines(&buf, &mut out);
                }
            }
        }
        let rotated = current.as_ref().is_some_and(|m| m.ino() != self.ino);
        if self.file.is_none() || rotated {
            if let (Some(m), Ok(file)) = (current, File::open(&self.path)) {
                if self.file.is_some() {
                    tracing::info!(path = %self.path.display(), "k8s audit log rotated; following the new file");
                }
                self.file = Some(file);
                self.ino = m.ino();
                self.offset = 0;
                self.partial.clear();
                return [out, self.poll()].concat();
            }
        }
        out
    }

    /// The events of a batch of complete lines. A line that is not an audit event is skipped
    /// and counted (`bad_lines`, `palisade_k8s_audit_bad_lines_total{source="file"}` and a
    /// warning with the running total), never the batch: the good lines before and after it
    /// are kept.
    fn parse(&mut self, lines: &[u8], metrics: &Metrics) -> Vec<AuditEvent> {
        let (events, errors) = parse_payload(lines);
        if !errors.is_empty() {
            self.bad_lines += errors.len() as u64;
            metrics.k8s_audit_bad_lines("file", errors.len() as u64);
            tracing::warn!(
                path = %self.path.display(),
                bad = errors.len(),
                kept = events.len(),
                bad_total = self.bad_lines,
                first_error = %errors[0],
                "k8s audit log: lines that are not audit events skipped"
            );
        }
        events
    }

    fn take_lines(&mut self, buf: &[u8], out: &mut Vec<u8>) {
        self.partial.extend_from_slice(buf);
        if let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') {
            out.extend(self.partial.drain(..=end));
        } else if self.partial.len() > MAX_LINE {
            tracing::warn!(path = %self.path.display(), bytes = self.partial.len(), "k8s audit log line too long; dropped");
            self.partial.clear();
        }
    }
}

/// Follows `paths` on a thread until `stop`, sending each poll's events as one batch to the
/// audit worker (waiting while its queue is full: a file keeps its lines).
pub fn spawn(
    paths: Vec<PathBuf>,
    queue: SyncSender<Job>,
    stop: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut files: Vec<Followed> = paths.into_iter().map(Followed::new).collect();
        while !stop.load(Ordering::Relaxed) {
            for f in &mut files {
                let lines = f.poll();
                if lines.is_empty() {
                    continue;
                }
                let events = f.parse(&lines, &metrics);
                if !events.is_empty() && queue.send(Job::Events(events)).is_err() {
                    return;
                }
            }
            std::thread::sleep(POLL);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn event(id: &str) -> String {
        format!(
            "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":\"{id}\",\"stage\":\"ResponseComplete\",\
             \"verb\":\"get\",\"user\":{{\"username\":\"u\"}},\"stageTimestamp\":\"2026-11-23T08:00:00.000000Z\"}}\n"
        )
    }

    fn ids(buf: &[u8]) -> Vec<String> {
        let (events, errors) = parse_payload(buf);
        assert!(errors.is_empty(), "{errors:?}");
        events
            .iter()
            .map(|e| {
                let v: serde_json::Value = serde_json::from_str(&e.to_json_string()).expect("json");
                v["auditID"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    }

    #[test]
    fn follows_appends_partial_lines_truncation_and_rotation() {
        let dir = std::env::temp_dir().join(format!("palisade-follow-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("audit.log");
        std::fs::write(&path, event("old")).expect("write");
        let mut f = Followed::new(path.clone());
        assert!(f.poll().is_empty(), "what was there before is not replayed");

        let mut w = std::fs::OpenOptions::new().append(true).open(&path).expect("open");
        let e1 = event("a1");
        w.write_all(&e1.as_bytes()[..20]).expect("write");
        assert!(f.poll().is_empty(), "half a line waits");
        w.write_all(&e1.as_bytes()[20..]).expect("write");
        w.write_all(event("a2").as_bytes()).expect("write");
        assert_eq!(ids(&f.poll()), ["a1", "a2"]);

        // Rotation: the old file gets a last line, then a new file appears at the path.
        w.write_all(event("a3").as_bytes()).expect("write");
        std::fs::rename(&path, dir.join("audit.log.1")).expect("rotate");
        std::fs::write(&path, event("b1")).expect("new file");
        assert_eq!(ids(&f.poll()), ["a3", "b1"]);

        // Truncation (the file got shorter): read again from the start.
        std::fs::write(&path, event("c")).expect("truncate");
        assert_eq!(ids(&f.poll()), ["c"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_that_appears_later_is_read_from_its_start() {
        let dir = std::env::temp_dir().join(format!("palisade-follow-late-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let mut f = Followed::new(dir.join("audit.log"));
        assert!(f.poll().is_empty());
        std::fs::write(dir.join("audit.log"), event("late")).expect("write");
        assert_eq!(ids(&f.poll()), ["late"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A line that is not an event is counted and skipped; the good lines around it are kept,
    /// also when the bad line comes first in the batch (which used to drop the whole batch).
    #[test]
    fn a_bad_line_is_counted_and_skipped_not_the_batch() {
        let dir = std::env::temp_dir().join(format!("palisade-follow-bad-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("audit.log");
        std::fs::write(&path, "").expect("write");
        let mut f = Followed::new(path.clone());
        let mut w = std::fs::OpenOptions::new().append(true).open(&path).expect("open");

        let audit_id = |e: &AuditEvent| {
            let v: serde_json::Value = serde_json::from_str(&e.to_json_string()).expect("json");
            v["auditID"].as_str().unwrap_or_default().to_owned()
        };
        // good, bad, good
        w.write_all(format!("{}{{\"kind\":\"Event\",\"auditID\":\n{}", event("g1"), event("g2")).as_bytes()).expect("write");
        let metrics = Metrics::new();
        let lines = f.poll();
        let events = f.parse(&lines, &metrics);
        assert_eq!(events.iter().map(audit_id).collect::<Vec<_>>(), ["g1", "g2"]);
        assert_eq!(f.bad_lines, 1);
        assert!(metrics.encode().contains("palisade_k8s_audit_bad_lines_total{source=\"file\"} 1\n"), "{}", metrics.encode());
        // bad (a torn line), good, good
        w.write_all(format!("ent\",\"auditID\":\"x\"}}}}\n{}{}", event("g3"), event("g4")).as_bytes()).expect("write");
        let lines = f.poll();
        let events = f.parse(&lines, &metrics);
        assert_eq!(events.iter().map(audit_id).collect::<Vec<_>>(), ["g3", "g4"]);
        assert_eq!(f.bad_lines, 2);
        assert!(metrics.encode().contains("palisade_k8s_audit_bad_lines_total{source=\"file\"} 2\n"), "{}", metrics.encode());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
