//! Falco's `stdout_output`: one line per alert.

use std::io::{self, Write};

use crate::outputs::Sink;
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

impl Sink for StdoutSink {
    type Error = io::Error;

    fn deliver(&mut self, msg: &Message) -> Result<(), io::Error> {
        let mut out = io::stdout().lock();
        out.write_all(&terminated(&msg.line))?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::terminated;

    #[test]
    fn one_newline() {
        assert_eq!(terminated("a"), b"a\n");
        assert_eq!(terminated("a\n"), b"a\n");
        assert_eq!(terminated(""), b"\n");
    }
}
