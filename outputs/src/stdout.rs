//! Falco's `stdout_output`: one line per alert, a batch in one write; and the line batching the
//! file and program outputs share.

use std::io::{self, Write};
use std::sync::Arc;

use crate::outputs::{Delivery, Sink};
use crate::Message;

pub(crate) struct StdoutSink;

/// `line` followed by exactly one newline.
pub(crate) fn terminated(line: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    if !line.ends_with('\n') {
        bytes.push(b'\n');
    }
    bytes
}

/// The lines of a batch in one buffer, each with exactly one newline, and where each line ends.
#[derive(Default)]
pub(crate) struct Lines {
    pub(crate) buf: Vec<u8>,
    /// End offset in `buf` of each line, ascending.
    pub(crate) ends: Vec<usize>,
}

impl Lines {
    pub(crate) fn of(batch: &[Arc<Message>]) -> Lines {
        let size: usize = batch.iter().map(|m| m.line.len() + 1).sum();
        let mut lines = Lines { buf: Vec::with_capacity(size), ends: Vec::with_capacity(batch.len()) };
        for msg in batch {
            lines.buf.extend_from_slice(msg.line.as_bytes());
            if !msg.line.ends_with('\n') {
                lines.buf.push(b'\n');
            }
            lines.ends.push(lines.buf.len());
        }
        lines
    }

    /// Lines wholly inside the first `written` bytes.
    pub(crate) fn complete(&self, written: usize) -> usize {
        self.ends.partition_point(|&end| end <= written)
    }

    /// Where line `n` starts.
    pub(crate) fn start(&self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.ends[n - 1]
        }
    }
}

/// Writes all of `buf`, retrying short writes; on failure, how much was written and why.
pub(crate) fn write_counted(out: &mut impl Write, buf: &[u8]) -> Result<(), (usize, io::Error)> {
    let mut written = 0;
    while written < buf.len() {
        match out.write(&buf[written..]) {
            Ok(0) => return Err((written, io::Error::from(io::ErrorKind::WriteZero))),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((written, e)),
        }
    }
    Ok(())
}

/// The outcome of writing `lines`: whole lines written are delivered, the rest failed.
pub(crate) fn delivery<E>(lines: &Lines, result: Result<(), (usize, E)>) -> Delivery<E> {
    let total = lines.ends.len() as u64;
    match result {
        Ok(()) => Delivery { delivered: total, failed: 0, error: None },
        Err((written, error)) => {
            let delivered = lines.complete(written) as u64;
            Delivery { delivered, failed: total - delivered, error: Some(error) }
        }
    }
}

impl Sink for StdoutSink {
    type Error = io::Error;

    fn deliver(&mut self, msg: &Message) -> Result<(), io::Error> {
        let mut out = io::stdout().lock();
        out.write_all(&terminated(&msg.line))?;
        out.flush()
    }

    fn deliver_batch(&mut self, batch: &[Arc<Message>]) -> Delivery<io::Error> {
        let lines = Lines::of(batch);
        let mut out = io::stdout().lock();
        let result = write_counted(&mut out, &lines.buf);
        let flushed = out.flush();
        let mut delivery = delivery(&lines, result);
        if let (Err(e), None) = (flushed, &delivery.error) {
            // Unknown how much of the batch the terminal took: count it failed.
            delivery = Delivery { delivered: 0, failed: lines.ends.len() as u64, error: Some(e) };
        }
        delivery
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `limit` bytes, then fails.
    struct Short {
        limit: usize,
        got: Vec<u8>,
    }

    impl Write for Short {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.limit - self.got.len()).min(3);
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_short_write_delivers_the_whole_lines_only() {
        let msg = |l: &str| Arc::new(Message { line: l.into(), json: String::new(), priority: 4 });
        let lines = Lines::of(&[msg("one"), msg("two\n"), msg("three")]);
        assert_eq!(lines.buf, b"one\ntwo\nthree\n");
        let mut out = Short { limit: 9, got: Vec::new() };
        let d = delivery(&lines, write_counted(&mut out, &lines.buf));
        assert_eq!((d.delivered, d.failed, d.error.is_some()), (2, 1, true));
        assert_eq!(lines.start(2), 8);
    }

    #[test]
    fn one_newline() {
        assert_eq!(terminated("a"), b"a\n");
        assert_eq!(terminated("a\n"), b"a\n");
        assert_eq!(terminated(""), b"\n");
    }
}
