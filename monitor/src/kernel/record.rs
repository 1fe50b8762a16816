//! Decoding ring-buffer bytes into typed records.

use palisade_ebpf::abi::{self, kind, DecodeError, ExecEvent, ExitEvent, ForkEvent};

/// The fields every record has (the kernel's header as is; `comm()` gives the task name).
pub type Header = abi::EventHeader;

/// One decoded record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A successful exec.
    Exec {
        /// Common fields.
        hdr: Header,
        /// Executed path as passed to exec.
        filename: String,
        /// argv.
        argv: Vec<String>,
        /// Whether argv was cut.
        args_truncated: bool,
        /// Controlling tty device (0 if none).
        tty: u32,
    },
    /// A new process or thread.
    Fork {
        /// The parent.
        hdr: Header,
        /// Child process id.
        child_pid: u32,
        /// Child thread id.
        child_tid: u32,
    },
    /// A process or thread exited.
    Exit {
        /// Common fields.
        hdr: Header,
        /// Exit code as the kernel stores it.
        exit_code: i32,
    },
}

/// Decode one ring-buffer record. Unknown kinds are an error, never a panic.
pub fn decode(bytes: &[u8]) -> Result<Record, DecodeError> {
    let h = abi::header(bytes)?;
    Ok(match h.kind {
        kind::EXEC => {
            let e: ExecEvent = abi::read(bytes)?;
            let flen = (e.filename_len as usize).min(abi::PATH_MAX);
            let alen = (e.args_len as usize).min(abi::ARGS_MAX);
            let mut argv: Vec<String> =
                e.args[..alen].split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            if argv.last().is_some_and(String::is_empty) {
                argv.pop();
            }
            Record::Exec {
                hdr: e.hdr,
                filename: String::from_utf8_lossy(&e.filename[..flen]).into_owned(),
                argv,
                args_truncated: e.args_truncated != 0,
                tty: e.tty,
            }
        }
        kind::FORK => {
            let e: ForkEvent = abi::read(bytes)?;
            Record::Fork { hdr: e.hdr, child_pid: e.child_pid, child_tid: e.child_tid }
        }
        kind::EXIT => {
            let e: ExitEvent = abi::read(bytes)?;
            Record::Exit { hdr: e.hdr, exit_code: e.exit_code }
        }
        other => return Err(DecodeError::Kind(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_foreign_records_are_errors() {
        assert!(decode(&[0u8; 4]).is_err());
        let mut b = vec![0u8; 72];
        b[0] = 2; // FORK
        b[4] = 99; // wrong ABI
        assert_eq!(decode(&b), Err(DecodeError::Abi(99)));
    }

    #[test]
    fn exec_record_decodes_argv() {
        let mut e: ExecEvent = bytemuck::Zeroable::zeroed();
        e.hdr.kind = kind::EXEC;
        e.hdr.abi = abi::ABI_VERSION;
        e.hdr.pid = 7;
        e.filename[..9].copy_from_slice(b"/bin/true");
        e.filename_len = 9;
        e.args[..15].copy_from_slice(b"/bin/true\0a\0bc\0");
        e.args_len = 15;
        let r = decode(bytemuck::bytes_of(&e)).expect("decode");
        let Record::Exec { filename, argv, hdr, .. } = r else { panic!("not exec") };
        assert_eq!((filename.as_str(), hdr.pid), ("/bin/true", 7));
        assert_eq!(argv, ["/bin/true", "a", "bc"]);
    }
}
