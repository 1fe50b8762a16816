//! Event-level fields that depend only on the event's type, time and result (libsinsp's
//! `evt` filtercheck): the time renderings, `evt.category`, the I/O flags (`evt.is_io*`,
//! `evt.io_dir`, `evt.buflen*`), the `evt.count*` counters, `syscall.type`, `evt.type.is`,
//! `evt.hostname`.
//!
//! Palisade records syscall exits only, so every event is an exit event (`evt.count.exit` 1),
//! none is asynchronous. The I/O events among those Palisade captures are the socket sends and
//! receives (`sendto`, `sendmsg`: write; `recvfrom`, `recvmsg`: read); it captures no
//! `read`/`write` of files, so the `evt.buflen.file*` fields are `<NA>` by design.

use std::sync::OnceLock;

use palisade_rules::alert::{format_rfc3339, format_time};
use palisade_rules::{Extracted, FieldRef, Value};

use super::fd::FdObject;
use super::{num, owned, s, EventData};

/// libsinsp's event category (`EC_*`), for the events Palisade captures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Category {
    File,
    Net,
    Memory,
    Process,
    User,
    Other,
    /// An I/O event (`EC_IO_READ`/`EC_IO_WRITE`): printed by the kind of its fd.
    IoRead,
    IoWrite,
    /// `EC_IO_OTHER` (dup, close): printed by the kind of its fd too.
    IoOther,
}

/// The category of event type `event` (from libs' event table).
fn category(event: &str) -> Category {
    match event {
        "sendto" | "sendmsg" => Category::IoWrite,
        "recvfrom" | "recvmsg" => Category::IoRead,
        "close" | "dup" | "dup2" | "dup3" => Category::IoOther,
        "socket" | "connect" | "accept" | "accept4" | "bind" | "listen" => Category::Net,
        "execve" | "execveat" | "clone" | "clone3" | "fork" | "vfork" | "ptrace" | "unshare" | "setns" => Category::Process,
        "setuid" | "setgid" | "setresuid" | "setresgid" => Category::User,
        "mmap" | "memfd_create" => Category::Memory,
        "bpf" | "init_module" => Category::Other,
        _ => Category::File,
    }
}

/// What an I/O event's category is printed as: the kind of its fd (libsinsp's subcategory).
fn io_subcategory(d: &EventData) -> &'static str {
    match d.call.as_ref().and_then(|c| c.fd.as_ref()).map(|f| &f.object) {
        Some(FdObject::File(_) | FdObject::Directory(_)) => "file",
        Some(FdObject::Ip(_)) => "net",
        Some(FdObject::Unix(_) | FdObject::Pipe(_)) => "IPC",
        Some(FdObject::OtherSocket(_)) => "unknown",
        None => "none",
    }
}

fn category_name(d: &EventData) -> &'static str {
    match category(d.type_name) {
        Category::File => "file",
        Category::Net => "net",
        Category::Memory => "memory",
        Category::Process => "process",
        Category::User => "user",
        Category::Other => "other",
        Category::IoRead | Category::IoWrite | Category::IoOther => io_subcategory(d),
    }
}

/// `2024-05-01 10:00:00.123456789` (UTC), libsinsp's `evt.datetime`.
fn datetime(ns: u64) -> String {
    let iso = format_rfc3339(ns);
    iso.trim_end_matches('Z').replacen('T', " ", 1)
}

/// `FALCO_HOSTNAME` if set (as libsinsp), else the kernel's host name.
fn hostname() -> Option<&'static str> {
    static HOST: OnceLock<Option<String>> = OnceLock::new();
    HOST.get_or_init(|| {
        let name = std::env::var("FALCO_HOSTNAME").ok().or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())?;
        let name = name.trim();
        (!name.is_empty()).then(|| name.to_owned())
    })
    .as_deref()
}

fn flag(b: bool) -> Extracted<'static> {
    Extracted::One(Value::Bool(b))
}

/// The I/O event's byte count (its result), when it is an I/O event of fd kind `on` (any
/// kind when `None`) and direction `dir` (either when `None`).
fn buflen(d: &EventData, field: &FieldRef, dir: Option<Category>, on: Option<&str>) -> Extracted<'static> {
    let cat = category(d.type_name);
    let io = matches!(cat, Category::IoRead | Category::IoWrite);
    let fd_kind = io_subcategory(d);
    if !io || d.res < 0 || dir.is_some_and(|want| want != cat) || on.is_some_and(|want| want != fd_kind) || fd_kind == "none" {
        return Extracted::Missing;
    }
    num(field.ty, d.res)
}

/// The field, when it is one of this module's.
pub(super) fn extract(d: &EventData, field: &FieldRef) -> Option<Extracted<'static>> {
    let cat = category(d.type_name);
    let failed = d.res < 0;
    let count = |b: bool| num(field.ty, i64::from(b));
    let in_sec = |ns: u64| (ns / 1_000_000_000) * 1_000_000_000;
    Some(match field.name {
        "evt.time" | "evt.outputtime" => owned(format_time(d.time_ns)),
        "evt.time.s" => owned(format_time(in_sec(d.time_ns)).split('.').next().unwrap_or_default().to_owned()),
        "evt.time.iso8601" => owned(format_rfc3339(d.time_ns)),
        "evt.datetime" => owned(datetime(d.time_ns)),
        "evt.datetime.s" => owned(datetime(in_sec(d.time_ns)).split('.').next().unwrap_or_default().to_owned()),
        "evt.rawtime.s" => Extracted::One(Value::Unsigned(d.time_ns / 1_000_000_000)),
        "evt.rawtime.ns" => Extracted::One(Value::Unsigned(d.time_ns % 1_000_000_000)),
        "evt.hostname" => hostname().map_or(Extracted::Missing, s),
        "evt.is_async" => flag(false),
        "evt.category" => s(category_name(d)),
        "syscall.type" => s(d.type_name),
        "evt.type.is" => {
            let named = field.arg.as_ref().map(|a| a.key());
            count(named.is_some_and(|n| n == d.type_name))
        }
        "evt.is_io" => flag(matches!(cat, Category::IoRead | Category::IoWrite)),
        "evt.is_io_read" => flag(cat == Category::IoRead),
        "evt.is_io_write" => flag(cat == Category::IoWrite),
        "evt.io_dir" => match cat {
            Category::IoRead => s("r"),
            Category::IoWrite => s("w"),
            _ => Extracted::Missing,
        },
        "evt.is_wait" => flag(false),
        "evt.is_syslog" => {
            let fd = d.call.as_ref().and_then(|c| c.fd.as_ref()).and_then(|f| f.name());
            flag(cat == Category::IoWrite && fd.as_deref() == Some("/dev/log"))
        }
        "evt.buflen" => buflen(d, field, None, None),
        "evt.buflen.in" => buflen(d, field, Some(Category::IoRead), None),
        "evt.buflen.out" => buflen(d, field, Some(Category::IoWrite), None),
        "evt.buflen.net" => buflen(d, field, None, Some("net")),
        "evt.buflen.net.in" => buflen(d, field, Some(Category::IoRead), Some("net")),
        "evt.buflen.net.out" => buflen(d, field, Some(Category::IoWrite), Some("net")),
        "evt.count" | "evt.count.exit" => count(true),
        "evt.count.error" => count(failed),
        "evt.count.error.file" => count(failed && category_name(d) == "file"),
        "evt.count.error.net" => count(failed && category_name(d) == "net"),
        "evt.count.error.memory" => count(failed && cat == Category::Memory),
        "evt.count.error.other" => count(failed && !matches!(category_name(d), "file" | "net" | "memory")),
        // Palisade has no procinfo events (libsinsp's periodic CPU samples).
        "evt.count.procinfo" | "evt.count.threadinfo" => count(false),
        // libsinsp's hidden counter; the event number is Palisade's.
        "util.cnt" => num(field.ty, d.num as i64),
        _ => return None,
    })
}
