//! Decoding ring-buffer bytes into typed records.

use palisade_ebpf::abi::{self, kind, DecodeError, ExecEvent, ExitEvent, FdInfo, ForkEvent, SyscallEvent};

/// The fields every record has (the kernel's header as is; `comm()` gives the task name).
pub type Header = abi::EventHeader;

/// The executed file as exec found it: Falco's `proc.exe_ino*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExeImage {
    /// Inode number.
    pub ino: u64,
    /// Inode change time, ns since the epoch.
    pub ctime_ns: i64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
}

/// Capability sets, bit N = capability N: Falco's `thread.cap_*`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Caps {
    /// Inheritable set.
    pub inheritable: u64,
    /// Permitted set.
    pub permitted: u64,
    /// Effective set.
    pub effective: u64,
}

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
        /// Working directory as the task sees it.
        cwd: String,
        /// `abi::EXE_*` bits.
        exe_flags: u32,
        /// Process id in its pid namespace.
        vpid: u32,
        /// The executed file's inode and times.
        image: ExeImage,
        /// The new credentials' capability sets.
        caps: Caps,
        /// The environment (`KEY=VALUE` strings; the kernel copies its first
        /// `abi::ENV_MAX` bytes); `None` when the source does not record it (captures,
        /// `.scap` conversions).
        env: Option<Vec<String>>,
    },
    /// A new process or thread.
    Fork {
        /// The parent.
        hdr: Header,
        /// Child process id.
        child_pid: u32,
        /// Child thread id.
        child_tid: u32,
        /// Child process id in its pid namespace.
        child_vpid: u32,
    },
    /// A process or thread exited.
    Exit {
        /// Common fields.
        hdr: Header,
        /// Exit code as the kernel stores it.
        exit_code: i32,
    },
    /// The exit of a captured syscall.
    Syscall(Box<SyscallRecord>),
}

impl Record {
    /// The common fields.
    pub fn header(&self) -> &Header {
        match self {
            Record::Exec { hdr, .. } | Record::Fork { hdr, .. } | Record::Exit { hdr, .. } => hdr,
            Record::Syscall(s) => &s.hdr,
        }
    }
}

/// The exit of a syscall, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallRecord {
    /// Common fields.
    pub hdr: Header,
    /// Syscall number (x86-64).
    pub nr: u32,
    /// Return value.
    pub ret: i64,
    /// Raw register arguments.
    pub args: [u64; 6],
    /// openat2: `struct open_how` (flags, mode, resolve).
    pub extra: [u64; 3],
    /// The fd the call is about, as the kernel saw it at exit.
    pub fd: FdInfo,
    /// That fd's path (files, bound unix sockets), if any.
    pub fd_path: Option<String>,
    /// The user strings (paths) as passed.
    pub strings: [Option<String>; 2],
    /// For each relative string, the directory it is relative to.
    pub bases: [Option<String>; 2],
    /// The user sockaddr, raw, when captured.
    pub addr: Option<[u8; 32]>,
}

fn text(bytes: &[u8], len: u32) -> String {
    let len = (len as usize).min(bytes.len());
    String::from_utf8_lossy(&bytes[..len]).into_owned()
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
            let elen = (e.env_len as usize).min(abi::ENV_MAX);
            let env: Vec<String> = e.env[..elen]
                .split(|b| *b == 0)
                .filter(|v| !v.is_empty())
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .collect();
            Record::Exec {
                hdr: e.hdr,
                filename: String::from_utf8_lossy(&e.filename[..flen]).into_owned(),
                argv,
                args_truncated: e.args_truncated != 0,
                tty: e.tty,
                cwd: text(&e.cwd, e.cwd_len),
                exe_flags: e.exe_flags,
                vpid: e.vpid,
                image: ExeImage { ino: e.exe_ino, ctime_ns: e.exe_ctime_ns, mtime_ns: e.exe_mtime_ns },
                caps: Caps { inheritable: e.cap_inheritable, permitted: e.cap_permitted, effective: e.cap_effective },
                env: Some(env),
            }
        }
        kind::SYSCALL => {
            let e: SyscallEvent = abi::read(bytes)?;
            let some = |b: &[u8], len: u32| (len > 0).then(|| text(b, len));
            Record::Syscall(Box::new(SyscallRecord {
                hdr: e.hdr,
                nr: e.nr,
                ret: e.ret,
                args: e.args,
                extra: e.extra,
                fd: e.fd,
                fd_path: some(&e.path, e.path_len),
                strings: [some(&e.str[0], e.str_len[0]), some(&e.str[1], e.str_len[1])],
                bases: [some(&e.base[0], e.base_len[0]), some(&e.base[1], e.base_len[1])],
                addr: (e.addr_len > 0).then_some(e.addr),
            }))
        }
        kind::FORK => {
            let e: ForkEvent = abi::read(bytes)?;
            Record::Fork { hdr: e.hdr, child_pid: e.child_pid, child_tid: e.child_tid, child_vpid: e.child_vpid }
        }
        kind::EXIT => {
            let e: ExitEvent = abi::read(bytes)?;
            Record::Exit { hdr: e.hdr, exit_code: e.exit_code }
        }
        other => return Err(DecodeError::Kind(other)),
    })
}

#[cfg(test)]
impl SyscallRecord {
    /// A record of syscall `nr` (tests): its strings absolute (no base directories), no sockaddr.
    pub(crate) fn of(hdr: Header, nr: u32, ret: i64, args: [u64; 6], strings: [Option<&str>; 2], fd: FdInfo, fd_path: Option<&str>) -> SyscallRecord {
        SyscallRecord {
            hdr,
            nr,
            ret,
            args,
            extra: [0; 3],
            fd,
            fd_path: fd_path.map(str::to_owned),
            strings: strings.map(|s| s.map(str::to_owned)),
            bases: [None, None],
            addr: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_foreign_records_are_errors() {
        assert!(decode(&[0u8; 4]).is_err());
        let mut b = vec![0u8; std::mem::size_of::<ForkEvent>()];
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
        e.env[..16].copy_from_slice(b"HOME=/\0LANG=C.UT");
        e.env_len = 16;
        let r = decode(bytemuck::bytes_of(&e)).expect("decode");
        let Record::Exec { filename, argv, hdr, env, .. } = r else { panic!("not exec") };
        assert_eq!((filename.as_str(), hdr.pid), ("/bin/true", 7));
        assert_eq!(argv, ["/bin/true", "a", "bc"]);
        assert_eq!(env.as_deref(), Some(&["HOME=/".to_owned(), "LANG=C.UT".to_owned()][..]), "cut at the copied length");
    }
}
