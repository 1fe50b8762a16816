//! The binary form of one [`Record`] in a capture's `RECORD` frame.
//!
//! Kernel records are fixed-size C structs (1–1.6 KiB, mostly unused string space) whose
//! layout changes with the ABI version; a capture stores the decoded record instead, field by
//! field, so a file outlives the kernel ABI that produced it and costs what its strings cost.
//! Written by hand: the layout is the file format, documented here, and no serde format would
//! keep it stable when a Rust field is added.
//!
//! All integers little-endian. `str` = `u16` length + bytes (UTF-8, as decoded); `opt` =
//! `u16` length, `0xFFFF` meaning absent, + bytes.
//!
//! ```text
//! record  := kind:u8 header body
//! header  := ts_ns:u64 cgroup_id:u64 pid:u32 tid:u32 ppid:u32 uid:u32 gid:u32 loginuid:u32
//!            sid:u32 vpgid:u32 pgid:u32 comm:str
//! kind 1 exec    := filename:str argc:u16 argv:str*argc args_truncated:u8 tty:u32 cwd:str
//!                   exe_flags:u32 vpid:u32 exe_ino:u64 exe_ctime_ns:i64 exe_mtime_ns:i64
//!                   cap_inheritable:u64 cap_permitted:u64 cap_effective:u64
//! kind 2 fork    := child_pid:u32 child_tid:u32 child_vpid:u32
//! kind 3 exit    := exit_code:i32
//! kind 4 syscall := nr:u32 ret:i64 args:u64*6 extra:u64*3 fd fd_path:opt
//!                   strings:opt*2 bases:opt*2 has_addr:u8 [addr:32 bytes if has_addr = 1]
//! fd             := kind:u32 num:i32 i_mode:u32 f_flags:u32 ino:u64 family:u16 sock_type:u16
//!                   protocol:u16 lport:u16 rport:u16 laddr:16 bytes raddr:16 bytes
//! ```

use palisade_ebpf::abi::{self, FdInfo};

use palisade_events::record::{Caps, ExeImage, Header, Record, SyscallRecord};

const EXEC: u8 = 1;
const FORK: u8 = 2;
const EXIT: u8 = 3;
const SYSCALL: u8 = 4;
const ABSENT: u16 = u16::MAX;

/// A record that does not decode: what was expected, at which byte of the record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at record byte {at}")]
pub struct CodecError {
    /// What could not be read.
    pub what: String,
    /// Offset in the record's bytes.
    pub at: usize,
}

/// Appends the binary form of `rec` to `out`.
pub fn encode(rec: &Record, out: &mut Vec<u8>) {
    let mut w = Enc(out);
    match rec {
        // The environment is not recorded (captures predate it; replays read `proc.env` as `<NA>`).
        Record::Exec { hdr, filename, argv, args_truncated, tty, cwd, exe_flags, vpid, image, caps, env: _ } => {
            w.u8(EXEC);
            w.header(hdr);
            w.str(filename);
            w.u16(argv.len().min(usize::from(u16::MAX)) as u16);
            for a in argv.iter().take(usize::from(u16::MAX)) {
                w.str(a);
            }
            w.u8(u8::from(*args_truncated));
            w.u32(*tty);
            w.str(cwd);
            w.u32(*exe_flags);
            w.u32(*vpid);
            w.u64(image.ino);
            w.u64(image.ctime_ns as u64);
            w.u64(image.mtime_ns as u64);
            w.u64(caps.inheritable);
            w.u64(caps.permitted);
            w.u64(caps.effective);
        }
        Record::Fork { hdr, child_pid, child_tid, child_vpid } => {
            w.u8(FORK);
            w.header(hdr);
            w.u32(*child_pid);
            w.u32(*child_tid);
            w.u32(*child_vpid);
        }
        Record::Exit { hdr, exit_code } => {
            w.u8(EXIT);
            w.header(hdr);
            w.u32(*exit_code as u32);
        }
        Record::Syscall(s) => {
            w.u8(SYSCALL);
            w.header(&s.hdr);
            w.u32(s.nr);
            w.u64(s.ret as u64);
            for a in s.args.iter().chain(&s.extra) {
                w.u64(*a);
            }
            w.fd(&s.fd);
            w.opt(s.fd_path.as_deref());
            for t in s.strings.iter().chain(&s.bases) {
                w.opt(t.as_deref());
            }
            match &s.addr {
                Some(a) => {
                    w.u8(1);
                    w.0.extend_from_slice(a);
                }
                None => w.u8(0),
            }
        }
    }
}

/// The record `bytes` hold (the whole of them: trailing bytes are an error).
pub fn decode(bytes: &[u8]) -> Result<Record, CodecError> {
    let mut r = Dec { b: bytes, at: 0 };
    let kind = r.u8("record kind")?;
    if !(EXEC..=SYSCALL).contains(&kind) {
        return Err(CodecError { what: format!("unknown record kind {kind}"), at: 0 });
    }
    let hdr = r.header()?;
    let rec = match kind {
        EXEC => {
            let filename = r.str("exec filename")?;
            let argc = r.u16("argc")?;
            let argv = (0..argc).map(|_| r.str("argv")).collect::<Result<Vec<_>, _>>()?;
            Record::Exec {
                hdr,
                filename,
                argv,
                args_truncated: r.u8("args_truncated")? != 0,
                tty: r.u32("tty")?,
                cwd: r.str("cwd")?,
                exe_flags: r.u32("exe_flags")?,
                vpid: r.u32("vpid")?,
                image: ExeImage { ino: r.u64("exe_ino")?, ctime_ns: r.u64("exe_ctime")? as i64, mtime_ns: r.u64("exe_mtime")? as i64 },
                caps: Caps { inheritable: r.u64("caps")?, permitted: r.u64("caps")?, effective: r.u64("caps")? },
                env: None,
            }
        }
        FORK => Record::Fork { hdr, child_pid: r.u32("child_pid")?, child_tid: r.u32("child_tid")?, child_vpid: r.u32("child_vpid")? },
        EXIT => Record::Exit { hdr, exit_code: r.u32("exit_code")? as i32 },
        SYSCALL => {
            let nr = r.u32("syscall nr")?;
            let ret = r.u64("ret")? as i64;
            let mut args = [0u64; 6];
            for a in &mut args {
                *a = r.u64("args")?;
            }
            let mut extra = [0u64; 3];
            for a in &mut extra {
                *a = r.u64("extra")?;
            }
            let fd = r.fd()?;
            let fd_path = r.opt("fd path")?;
            let strings = [r.opt("string")?, r.opt("string")?];
            let bases = [r.opt("base")?, r.opt("base")?];
            let addr = match r.u8("addr flag")? {
                0 => None,
                1 => Some(r.array::<32>("addr")?),
                n => return Err(r.err(format!("addr flag {n} (0 or 1)"))),
            };
            Record::Syscall(Box::new(SyscallRecord { hdr, nr, ret, args, extra, fd, fd_path, strings, bases, addr }))
        }
        _ => unreachable!("kind checked above"),
    };
    if r.at != bytes.len() {
        return Err(r.err(format!("{} trailing bytes", bytes.len() - r.at)));
    }
    Ok(rec)
}

struct Enc<'a>(&'a mut Vec<u8>);

impl Enc<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// Strings longer than the length field allows are cut (kernel strings are ≤ 512 bytes).
    fn str(&mut self, s: &str) {
        let b = &s.as_bytes()[..s.len().min(usize::from(ABSENT) - 1)];
        self.u16(b.len() as u16);
        self.0.extend_from_slice(b);
    }
    fn opt(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.u16(ABSENT),
        }
    }
    fn header(&mut self, h: &Header) {
        self.u64(h.ts_ns);
        self.u64(h.cgroup_id);
        for v in [h.pid, h.tid, h.ppid, h.uid, h.gid, h.loginuid, h.sid, h.vpgid, h.pgid] {
            self.u32(v);
        }
        self.str(&h.comm());
    }
    fn fd(&mut self, f: &FdInfo) {
        for v in [f.kind, f.num as u32, f.i_mode, f.f_flags] {
            self.u32(v);
        }
        self.u64(f.ino);
        for v in [f.family, f.sock_type, f.protocol, f.lport, f.rport] {
            self.u16(v);
        }
        self.0.extend_from_slice(&f.laddr);
        self.0.extend_from_slice(&f.raddr);
    }
}

struct Dec<'a> {
    b: &'a [u8],
    at: usize,
}

impl Dec<'_> {
    fn err(&self, what: String) -> CodecError {
        CodecError { what, at: self.at }
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], CodecError> {
        let Some(s) = self.b.get(self.at..self.at + n) else {
            return Err(self.err(format!("{what}: needs {n} bytes, {} left", self.b.len() - self.at)));
        };
        self.at += n;
        Ok(s)
    }
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], CodecError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }
    fn u8(&mut self, what: &str) -> Result<u8, CodecError> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, CodecError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    fn u32(&mut self, what: &str) -> Result<u32, CodecError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64, CodecError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    fn str(&mut self, what: &str) -> Result<String, CodecError> {
        match self.opt(what)? {
            Some(s) => Ok(s),
            None => Err(self.err(format!("{what}: absent where a string is required"))),
        }
    }
    fn opt(&mut self, what: &str) -> Result<Option<String>, CodecError> {
        let len = self.u16(what)?;
        if len == ABSENT {
            return Ok(None);
        }
        let bytes = self.take(usize::from(len), what)?;
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    }
    fn header(&mut self) -> Result<Header, CodecError> {
        let ts_ns = self.u64("ts_ns")?;
        let cgroup_id = self.u64("cgroup_id")?;
        let mut ids = [0u32; 9];
        for v in &mut ids {
            *v = self.u32("header ids")?;
        }
        let name = self.str("comm")?;
        let mut comm = [0u8; abi::COMM_LEN];
        let n = name.len().min(abi::COMM_LEN - 1);
        comm[..n].copy_from_slice(&name.as_bytes()[..n]);
        let [pid, tid, ppid, uid, gid, loginuid, sid, vpgid, pgid] = ids;
        let abi = abi::ABI_VERSION;
        Ok(Header { kind: 0, abi, ts_ns, cgroup_id, pid, tid, ppid, uid, gid, loginuid, sid, vpgid, pgid, _pad: 0, comm })
    }
    fn fd(&mut self) -> Result<FdInfo, CodecError> {
        let kind = self.u32("fd kind")?;
        let num = self.u32("fd num")? as i32;
        let i_mode = self.u32("fd mode")?;
        let f_flags = self.u32("fd flags")?;
        let ino = self.u64("fd ino")?;
        let mut shorts = [0u16; 5];
        for v in &mut shorts {
            *v = self.u16("fd socket")?;
        }
        let [family, sock_type, protocol, lport, rport] = shorts;
        let laddr = self.array("fd laddr")?;
        let raddr = self.array("fd raddr")?;
        Ok(FdInfo { kind, num, i_mode, f_flags, ino, family, sock_type, protocol, lport, rport, _pad: [0; 3], laddr, raddr })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: u32) -> Header {
        let mut comm = [0u8; abi::COMM_LEN];
        comm[..3].copy_from_slice(b"cat");
        Header {
            kind: 0,
            abi: abi::ABI_VERSION,
            ts_ns: 123_456_789,
            cgroup_id: 4242,
            pid,
            tid: pid + 1,
            ppid: 1,
            uid: 1000,
            gid: 1000,
            loginuid: u32::MAX,
            sid: pid,
            vpgid: 1,
            pgid: pid + 2,
            _pad: 0,
            comm,
        }
    }

    fn samples() -> Vec<Record> {
        let fd = FdInfo {
            kind: abi::fd_kind::INET,
            num: 3,
            i_mode: 0o140777,
            f_flags: 2,
            ino: 99,
            family: 2,
            sock_type: 1,
            protocol: 6,
            lport: 40000,
            rport: 443,
            _pad: [0; 3],
            laddr: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            raddr: [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        };
        vec![
            Record::Exec {
                hdr: header(10),
                filename: "/usr/bin/cat".into(),
                argv: vec!["cat".into(), "/etc/shadow".into(), String::new()],
                args_truncated: true,
                tty: 34816,
                cwd: "/root".into(),
                exe_flags: abi::EXE_UPPER_LAYER,
                vpid: 7,
                image: ExeImage { ino: 5, ctime_ns: -1, mtime_ns: 1_700_000_000_000_000_000 },
                caps: Caps { inheritable: 0, permitted: u64::MAX >> 23, effective: 1 << 21 },
                env: None,
            },
            Record::Fork { hdr: header(11), child_pid: 12, child_tid: 12, child_vpid: 2 },
            Record::Exit { hdr: header(12), exit_code: -9 },
            Record::Syscall(Box::new(SyscallRecord {
                hdr: header(13),
                nr: 42,
                ret: -115,
                args: [3, 0x7fff_0000, 16, 0, 0, u64::MAX],
                extra: [1, 2, 3],
                fd,
                fd_path: None,
                strings: [Some("relative/x".into()), None],
                bases: [Some("/tmp".into()), Some(String::new())],
                addr: Some([7; 32]),
            })),
        ]
    }

    #[test]
    fn every_kind_round_trips() {
        for rec in samples() {
            let mut bytes = Vec::new();
            encode(&rec, &mut bytes);
            assert_eq!(decode(&bytes), Ok(rec));
        }
    }

    #[test]
    fn a_record_costs_its_strings_not_the_kernel_struct() {
        let mut bytes = Vec::new();
        encode(&samples()[0], &mut bytes);
        assert!(bytes.len() < 200, "{} bytes", bytes.len());
    }

    #[test]
    fn cut_and_padded_records_are_errors_with_offsets() {
        for rec in samples() {
            let mut bytes = Vec::new();
            encode(&rec, &mut bytes);
            for cut in 0..bytes.len() {
                let e = decode(&bytes[..cut]).expect_err("a cut record");
                assert!(e.at <= cut, "{e} for a cut at {cut}");
            }
            bytes.push(0);
            assert_eq!(decode(&bytes).map_err(|e| e.what), Err("1 trailing bytes".to_owned()));
        }
        assert_eq!(decode(&[9, 0, 0]).map_err(|e| e.to_string()), Err("unknown record kind 9 at record byte 0".into()));
    }
}
