//! Process list (PL) blocks: the threads alive when the capture started.
//!
//! Each entry (all versions; `[vN+]` marks fields that exist from layout version N on):
//!
//! ```text
//! entry = [len:u32 v9+] tid:u64 pid:u64 ptid:u64 [sid:u64 v6+] [vpgid:u64 v8+]
//!         comm:str16 exe:str16 [exepath:str16 v7+] args:str16 cwd:str16
//!         fdlimit:u64 flags:u32 uid:u32 gid:u32
//!         [vmsize_kb:u32 vmrss_kb:u32 vmswap_kb:u32 pfmajor:u64 pfminor:u64 v2+]
//!         [env:str16 v3+] [vtid:i64 vpid:i64 cgroups:str16 v4+] [root:str16 v5+]
//!         v9 only, each present while `len` leaves room:
//!         [pidns_init_start_ts:u64 tty:u32 (libs >= 0.10: present when more than 29
//!          bytes remain)] loginuid:u32 exe_writable:u8 cap_inheritable:u64
//!         cap_permitted:u64 cap_effective:u64 exe_upper_layer:u8 exe_ino:u64
//!         exe_ino_ctime:u64 exe_ino_mtime:u64 exe_from_memfd:u8 exe_lower_layer:u8 pgid:i64
//! ```
//!
//! `str16` is a `u16` length then that many bytes; args, env and cgroups are NUL-separated.

use crate::cursor::{text, text_list, Cursor};
use crate::error::{Result, ScapError};

/// One thread from a process list block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadInfo {
    /// Thread id.
    pub tid: u64,
    /// Process id (thread group).
    pub pid: u64,
    /// Parent thread id.
    pub ptid: u64,
    /// Session id (-1 when absent).
    pub sid: i64,
    /// Task name.
    pub comm: String,
    /// argv[0].
    pub exe: String,
    /// The executable's path (v7+; empty before).
    pub exepath: String,
    /// Arguments after argv[0].
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: String,
    /// Open-files limit.
    pub fdlimit: u64,
    /// `PPM_CL_*` flags.
    pub flags: u32,
    /// uid.
    pub uid: u32,
    /// gid.
    pub gid: u32,
    /// Environment (v3+).
    pub env: Vec<String>,
    /// Thread id in its pid namespace (v4+; -1 when absent).
    pub vtid: i64,
    /// Process id in its pid namespace (v4+; -1 when absent).
    pub vpid: i64,
    /// `subsys=path` cgroup memberships (v4+).
    pub cgroups: Vec<String>,
    /// Root directory (v5+).
    pub root: String,
    /// Controlling tty (v9, newer writers).
    pub tty: u32,
    /// Audit login uid (`u32::MAX` when absent).
    pub loginuid: u32,
    /// Capability sets (inheritable, permitted, effective), v9.
    pub caps: [u64; 3],
    /// Executable inode number (v9, newer writers).
    pub exe_ino: u64,
    /// Whether the executable is a memfd.
    pub exe_from_memfd: bool,
    /// Whether the executable is in an overlay upper layer.
    pub exe_upper_layer: bool,
}

fn entry(c: &mut Cursor<'_>, version: u8) -> Result<ThreadInfo> {
    let start = c.consumed();
    let entry_at = c.offset();
    let sub_len = if version >= 9 { Some(c.u32("process entry length")? as usize) } else { None };
    let mut t = ThreadInfo { sid: -1, vtid: -1, vpid: -1, loginuid: u32::MAX, ..ThreadInfo::default() };
    t.tid = c.u64("process tid")?;
    t.pid = c.u64("process pid")?;
    t.ptid = c.u64("process ptid")?;
    if version >= 6 {
        t.sid = c.i64("process sid")?;
    }
    if version >= 8 {
        c.skip(8, "process vpgid")?;
    }
    t.comm = text(c.str16("process comm")?);
    t.exe = text(c.str16("process exe")?);
    if version >= 7 {
        t.exepath = text(c.str16("process exepath")?);
    }
    t.args = text_list(c.str16("process args")?);
    t.cwd = text(c.str16("process cwd")?);
    t.fdlimit = c.u64("process fdlimit")?;
    t.flags = c.u32("process flags")?;
    t.uid = c.u32("process uid")?;
    t.gid = c.u32("process gid")?;
    if version >= 2 {
        c.skip(4 + 4 + 4 + 8 + 8, "process memory counters")?;
    }
    if version >= 3 {
        t.env = text_list(c.str16("process env")?);
    }
    if version >= 4 {
        t.vtid = c.i64("process vtid")?;
        t.vpid = c.i64("process vpid")?;
        t.cgroups = text_list(c.str16("process cgroups")?);
    }
    if version >= 5 {
        t.root = text(c.str16("process root")?);
    }
    if let Some(len) = sub_len {
        let used = |c: &Cursor<'_>| c.consumed() - start;
        let room = |c: &Cursor<'_>, n: usize| used(c) + n <= len;
        if len.saturating_sub(used(c)) > 29 {
            if room(c, 8) {
                c.skip(8, "process pidns init start")?;
            }
            if room(c, 4) {
                t.tty = c.u32("process tty")?;
            }
        }
        if room(c, 4) {
            t.loginuid = c.u32("process loginuid")?;
        }
        if room(c, 1) {
            c.skip(1, "process exe_writable")?;
        }
        for (i, what) in ["process cap_inheritable", "process cap_permitted", "process cap_effective"].into_iter().enumerate() {
            if room(c, 8) {
                if let Some(slot) = t.caps.get_mut(i) {
                    *slot = c.u64(what)?;
                }
            }
        }
        if room(c, 1) {
            t.exe_upper_layer = c.u8("process exe_upper_layer")? != 0;
        }
        if room(c, 8) {
            t.exe_ino = c.u64("process exe_ino")?;
        }
        if room(c, 16) {
            c.skip(16, "process exe times")?;
        }
        if room(c, 1) {
            t.exe_from_memfd = c.u8("process exe_from_memfd")? != 0;
        }
        let used_now = used(c);
        if used_now > len {
            return Err(ScapError::invalid(entry_at, "process entry length", format!("at least {used_now}"), len));
        }
        c.skip(len - used_now, "process entry")?;
    }
    Ok(t)
}

pub(crate) fn process_list(body: &[u8], at: u64, version: u8) -> Result<Vec<ThreadInfo>> {
    let mut c = Cursor::new(body, at);
    let mut out = Vec::new();
    while c.remaining() >= 4 {
        out.push(entry(&mut c, version)?);
    }
    Ok(out)
}
