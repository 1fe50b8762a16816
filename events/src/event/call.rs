//! The syscall part of an event: `evt.arg.*`, `evt.rawarg.*`, `evt.args`, `evt.res`,
//! `evt.is_open_*` (rendered by [`crate::syscalls`] exactly as libsinsp renders them) and the
//! `fd.*` fields of the fd the call is about ([`super::fd`]).
//!
//! `fd.name` of an opened file is the path the kernel resolved from the new fd (symlinks
//! followed, as the task sees it): a rule on `/etc/shadow` also sees it opened through a
//! symlink, where Falco reports the lexical path. `fd.nameraw` is the path as passed.

use palisade_rules::{Extracted, FieldRef, Value};

use super::fd::{FdObject, FdView};
use super::{num, owned, s};
use crate::record::SyscallRecord;
use crate::process::Users;
use crate::syscalls::{self, ArgValue, FdDesc, FdKind, Names, RawCall, Syscall, L4};

/// A captured syscall and what was derived from it once.
#[derive(Clone, Debug)]
pub struct Call {
    /// The syscall table entry.
    pub sys: &'static Syscall,
    /// The record as the kernel sent it.
    pub rec: SyscallRecord,
    /// The fd the call is about.
    pub fd: Option<FdView>,
    /// Each relative string, made absolute against its base (cwd or dirfd path).
    pub resolved: [Option<String>; 2],
}

fn is_open(event: &str) -> bool {
    matches!(event, "open" | "openat" | "openat2" | "creat")
}

impl Call {
    /// Derive the event's view of `rec`.
    pub fn new(sys: &'static Syscall, rec: SyscallRecord) -> Call {
        let resolved = [0, 1].map(|i| {
            let (raw, base) = (rec.strings[i].as_deref()?, rec.bases[i].as_deref()?);
            syscalls::resolve_relative(base, raw)
        });
        let local_server = match sys.event {
            "accept" | "accept4" | "listen" | "bind" => Some(true),
            "connect" => Some(false),
            _ => None,
        };
        let mut fd = FdView::new(&rec.fd, rec.fd_path.as_deref(), local_server);
        if fd.is_none() && is_open(sys.event) && rec.ret < 0 {
            // libsinsp describes a failed open too: fd -1, the path it tried.
            let tried = resolved[0].clone().or_else(|| rec.strings[0].clone());
            fd = tried.map(|p| FdView { num: -1, object: FdObject::File(syscalls::concatenate_paths("/", &p)) });
        }
        Call { sys, rec, fd, resolved }
    }

    fn raw(&self) -> RawCall<'_> {
        RawCall {
            ret: self.rec.ret,
            args: self.rec.args,
            strings: [0, 1].map(|i| self.rec.strings[i].as_deref().map(str::as_bytes)),
            resolved: [0, 1].map(|i| self.resolved[i].as_deref()),
            extra: self.rec.extra,
            file_state: 0,
        }
    }

    /// The program a failed `execve`/`execveat` tried to run, absolute.
    pub fn exec_attempt(&self) -> Option<&str> {
        if !matches!(self.sys.event, "execve" | "execveat") {
            return None;
        }
        self.resolved[0].as_deref().or(self.rec.strings[0].as_deref()).filter(|p| p.starts_with('/'))
    }

    /// (`evt.is_open_read`, `evt.is_open_write`) with libsinsp's semantics (`creat` sets
    /// neither).
    pub(super) fn open_access(&self) -> (bool, bool) {
        let flags = match self.sys.event {
            "open" => self.rec.args[1],
            "openat" => self.rec.args[2],
            "openat2" => self.rec.extra[0],
            _ => return (false, false),
        };
        syscalls::open_access(flags)
    }

    /// `evt.is_open_exec`: an open-family call or `creat` asking to create a file (`O_CREAT`
    /// or `O_TMPFILE`) with an execute bit in its mode, as libsinsp tests the request.
    fn open_exec(&self) -> bool {
        const O_CREAT: u64 = 0o100;
        const O_TMPFILE: u64 = 0o20_000_000;
        let a = &self.rec.args;
        let (flags, mode) = match self.sys.event {
            "open" => (a[1], a[2]),
            "openat" => (a[2], a[3]),
            "openat2" => (self.rec.extra[0], self.rec.extra[1]),
            "creat" => (O_CREAT, a[1]),
            _ => return false,
        };
        flags & (O_CREAT | O_TMPFILE) != 0 && mode & 0o111 != 0
    }

    /// `evt.abspath[.src|.dst]`: a dirfd-relative path of an `*at` call made absolute. The
    /// single-path calls answer the bare name, the two-path ones `.src` and `.dst`
    /// (`symlinkat`: `.dst` only, its target is not a path of the tree).
    fn abspath(&self, field: &str) -> Option<&str> {
        let slot = match (self.sys.event, field) {
            ("openat" | "openat2" | "unlinkat" | "mkdirat" | "mknodat" | "fchmodat" | "fchownat", "evt.abspath") => 0,
            ("renameat" | "renameat2" | "linkat", "evt.abspath.src") => 0,
            ("renameat" | "renameat2" | "linkat" | "symlinkat", "evt.abspath.dst") => 1,
            _ => return None,
        };
        self.string_path(slot)
    }

    /// `fs.path.*`: the path a filesystem call acts on (`name`), or the source and target of a
    /// two-path call (`rename*`, `link*`, `symlink*`); made absolute, or as passed (`*raw`).
    fn fs_path(&self, field: &str) -> Option<std::borrow::Cow<'_, str>> {
        let two = matches!(self.sys.event, "rename" | "renameat" | "renameat2" | "link" | "linkat" | "symlink" | "symlinkat");
        let one = matches!(
            self.sys.event,
            "open" | "openat" | "openat2" | "creat" | "mkdir" | "mkdirat" | "rmdir" | "unlink" | "unlinkat" | "chmod" | "fchmodat" | "fchmodat2"
        );
        let (slot, raw) = match field {
            "fs.path.name" if one => (0, false),
            "fs.path.nameraw" if one => (0, true),
            "fs.path.source" if two => (0, false),
            "fs.path.sourceraw" if two => (0, true),
            "fs.path.target" if two => (1, false),
            "fs.path.targetraw" if two => (1, true),
            _ => return None,
        };
        let given = self.rec.strings[slot].as_deref()?;
        if raw {
            return Some(given.into());
        }
        // A symlink's target is text, not resolved against anything.
        if matches!(self.sys.event, "symlink" | "symlinkat") && slot == 0 {
            return Some(given.into());
        }
        Some(self.string_path(slot).map_or_else(|| syscalls::concatenate_paths("/", given).into(), Into::into))
    }

    /// A syscall field of this event, or `None` when `field` is not one (the caller then
    /// answers it from the process).
    pub fn extract<'a>(&'a self, field: &FieldRef, users: &'a Users) -> Option<Extracted<'a>> {
        let names = CallNames { users, fd: self.fd.as_ref() };
        let key = || field.arg.as_ref().map(|a| a.key());
        let missing_or = |v: Option<String>| Some(v.map_or(Extracted::Missing, owned));
        let fd = self.fd.as_ref();
        let tuple = fd.and_then(FdView::tuple);
        let ip = |get: fn(&super::fd::Tuple) -> std::net::IpAddr| {
            Some(tuple.map_or(Extracted::Missing, |t| Extracted::One(Value::Ip(get(t)))))
        };
        let port = |get: fn(&super::fd::Tuple) -> u16| {
            Some(tuple.map_or(Extracted::Missing, |t| num(field.ty, i64::from(get(t)))))
        };
        match field.name {
            "evt.arg" => {
                let k = key()?;
                let v = match k.parse::<usize>() {
                    Ok(i) => syscalls::arg_at(self.sys, i, &self.raw(), &names),
                    Err(_) => syscalls::arg(self.sys, &k, &self.raw(), &names),
                };
                missing_or(v)
            }
            "evt.rawarg" => Some(match syscalls::rawarg(self.sys, &key()?, &self.raw()) {
                Some(ArgValue::Str(v)) => owned(v),
                Some(ArgValue::Signed(v)) => Extracted::One(Value::Signed(v)),
                Some(ArgValue::Unsigned(v)) => Extracted::One(Value::Unsigned(v)),
                None => Extracted::Missing,
            }),
            "evt.args" => Some(owned(syscalls::args_line(self.sys, &self.raw(), &names))),
            "evt.res" => Some(owned(syscalls::res(self.sys, &self.raw(), &names))),
            "evt.info" => Some(owned(syscalls::args_line(self.sys, &self.raw(), &names))),
            "evt.is_open_exec" => Some(Extracted::One(Value::Bool(self.open_exec()))),
            "evt.abspath" | "evt.abspath.src" | "evt.abspath.dst" => Some(self.abspath(field.name).map_or(Extracted::Missing, s)),
            "fs.path.name" | "fs.path.nameraw" | "fs.path.source" | "fs.path.sourceraw" | "fs.path.target" | "fs.path.targetraw" => {
                Some(self.fs_path(field.name).map_or(Extracted::Missing, |p| owned(p.into_owned())))
            }
            "fd.cip.name" => Some(tuple.map_or(Extracted::Missing, |t| domain_names(t.client().ip))),
            "fd.sip.name" => Some(tuple.map_or(Extracted::Missing, |t| domain_names(t.server().ip))),
            "fd.lip.name" => Some(tuple.map_or(Extracted::Missing, |t| domain_names(t.local.ip))),
            "fd.rip.name" => Some(tuple.map_or(Extracted::Missing, |t| domain_names(t.remote.ip))),
            "fd.uid" => Some(fd.map_or(Extracted::Missing, |f| owned(format!("{}{}", self.rec.hdr.tid, f.num)))),
            "fd.ino" => Some(fd.filter(|f| f.path().is_some()).map_or(Extracted::Missing, |_| num(field.ty, self.rec.fd.ino as i64))),
            "fd.is_server" => Some(fd.map_or(Extracted::Missing, |f| Extracted::One(Value::Bool(f.tuple().is_some_and(|t| t.local_is_server))))),
            "fd.cproto" => Some(tuple.map_or(Extracted::Missing, |t| owned(t.client().port.to_string()))),
            "fd.sproto" => Some(tuple.map_or(Extracted::Missing, |t| owned(t.server().port.to_string()))),
            "fd.lproto" => Some(tuple.map_or(Extracted::Missing, |t| owned(t.local.port.to_string()))),
            "fd.rproto" => Some(tuple.map_or(Extracted::Missing, |t| owned(t.remote.port.to_string()))),
            "fd.proto" => Some(tuple.map_or(Extracted::Missing, |t| {
                let text = |p: u16| Value::Str(std::borrow::Cow::Owned(p.to_string().into_bytes()));
                Extracted::Many(vec![text(t.client().port), text(t.server().port)])
            })),
            "evt.is_open_read" => Some(Extracted::One(Value::Bool(self.open_access().0))),
            "evt.is_open_write" => Some(Extracted::One(Value::Bool(self.open_access().1))),
            "fd.num" => Some(fd.map_or(Extracted::Missing, |f| num(field.ty, f.num))),
            "fd.name" => missing_or(fd.and_then(FdView::name)),
            "fd.nameraw" => {
                if is_open(self.sys.event) {
                    missing_or(self.rec.strings[0].clone())
                } else {
                    missing_or(fd.and_then(FdView::name))
                }
            }
            "fd.type" => Some(fd.map_or(Extracted::Missing, |f| s(f.type_name()))),
            "fd.typechar" => Some(fd.map_or(Extracted::Missing, |f| s(f.typechar()))),
            "fd.directory" => Some(fd.and_then(FdView::directory).map_or(Extracted::Missing, s)),
            "fd.filename" => Some(fd.and_then(FdView::filename).map_or(Extracted::Missing, s)),
            "fd.l4proto" => Some(fd.and_then(FdView::l4proto).map_or(Extracted::Missing, s)),
            "fd.sockfamily" => Some(fd.and_then(FdView::sockfamily).map_or(Extracted::Missing, s)),
            "fd.connected" => Some(fd.map_or(Extracted::Missing, |f| Extracted::One(Value::Bool(f.connected())))),
            "fd.name_changed" => Some(Extracted::One(Value::Bool(self.sys.event == "connect" && self.rec.ret == 0))),
            "fd.cip" | "fd.cnet" => ip(|t| t.client().ip),
            "fd.sip" | "fd.snet" => ip(|t| t.server().ip),
            "fd.lip" | "fd.lnet" => ip(|t| t.local.ip),
            "fd.rip" | "fd.rnet" => ip(|t| t.remote.ip),
            "fd.cport" => port(|t| t.client().port),
            "fd.sport" => port(|t| t.server().port),
            "fd.lport" => port(|t| t.local.port),
            "fd.rport" => port(|t| t.remote.port),
            "fd.ip" | "fd.net" => Some(tuple.map_or(Extracted::Missing, |t| {
                Extracted::Many(vec![Value::Ip(t.client().ip), Value::Ip(t.server().ip)])
            })),
            "fd.port" => Some(tuple.map_or(Extracted::Missing, |t| {
                Extracted::Many(vec![Value::Unsigned(u64::from(t.client().port)), Value::Unsigned(u64::from(t.server().port))])
            })),
            _ => None,
        }
    }
}

/// An address's resolved names ([`super::dns`]): one value, several, or `<NA>`.
fn domain_names(ip: std::net::IpAddr) -> Extracted<'static> {
    let mut all = super::dns::names_of(ip);
    match all.len() {
        0 => Extracted::Missing,
        1 => owned(all.remove(0)),
        _ => Extracted::Many(all.into_iter().map(|n| Value::Str(std::borrow::Cow::Owned(n.into_bytes()))).collect()),
    }
}

/// What the renderer may look up: user and group names, and the event's own fd.
struct CallNames<'a> {
    users: &'a Users,
    fd: Option<&'a FdView>,
}

impl Names for CallNames<'_> {
    fn user(&self, uid: u32) -> Option<String> {
        self.users.user(uid).map(str::to_owned)
    }
    fn group(&self, gid: u32) -> Option<String> {
        self.users.group(gid).map(str::to_owned)
    }
    fn fd(&self, fd: i64) -> Option<FdDesc> {
        let view = self.fd.filter(|v| v.num == fd && fd >= 0)?;
        let kind = match &view.object {
            FdObject::File(_) => FdKind::File,
            FdObject::Directory(_) => FdKind::Directory,
            FdObject::Pipe(_) => FdKind::Fifo,
            FdObject::Ip(t) if t.local.ip.is_ipv6() => FdKind::Ipv6,
            FdObject::Ip(_) => FdKind::Ipv4,
            FdObject::Unix(_) => FdKind::Unix,
            FdObject::OtherSocket(16) => FdKind::Netlink,
            FdObject::OtherSocket(_) => FdKind::Unknown,
        };
        let l4 = view.l4proto().map(|p| match p {
            "tcp" => L4::Tcp,
            "udp" => L4::Udp,
            "icmp" => L4::Icmp,
            _ => L4::Raw,
        });
        Some(FdDesc { kind, l4, name: view.name().unwrap_or_default() })
    }
}
