//! Parameter rendering exactly as libsinsp does it (`sinsp_evt::get_param_as_str`, which gives
//! every parameter a raw string and a possibly empty "resolved" string, and the `evt.*` field
//! extraction in `sinsp_filter_check_event`).
//!
//! Per type, raw / resolved:
//! - `PT_FD`: the number / `<f>/etc/passwd` (type char, for IP sockets the l4 char, then
//!   `fd.name`) when the fd is in the thread's table, `AT_FDCWD` for -100, the errno name for
//!   other negative values, else nothing (`sinsp_evt::render_fd`).
//! - `PT_ERRNO`: the number / the errno name when negative (`-2` / `ENOENT`).
//! - `PT_PID`: the number / the `comm` of that thread when known.
//! - `PT_UID`, `PT_GID`: the number printed with `%d` / the user or group name, `<NA>` when the
//!   id is unknown; `(uint32)-1` prints `-1` / `<NONE>`. Rules such as `evt.arg.uid != root`
//!   therefore compare *names*; the number is `evt.rawarg.uid`.
//! - flags: the PPM value in decimal / the names joined with `|` in table order (an enum: the
//!   names equal to the value); no name matched → nothing.
//! - `PT_MODE`: octal with a leading 0 (`0644`) / `S_IROTH|S_IRGRP|S_IWUSR|S_IRUSR`.
//! - `PT_FSPATH`, `PT_FSRELPATH`: the path as passed / for a relative path, the cwd or dirfd
//!   path joined and normalized ([`super::paths::concatenate_paths`]); nothing for an absolute
//!   or empty path, which is therefore compared *as passed, not normalized*
//!   (`/usr/../usr/./bin/python3` stays so). Never a `(resolved)` suffix.
//! - a string the driver could not read renders `<NA>` (and `(NULL)` too).
//! - numbers follow the print format: `PF_OCT` is `%#o`, `PF_HEX` is `%X` (no `0x`), and a
//!   `PT_UINT32`/`PT_UINT64` in decimal is printed as signed (`%d` of the same bits).

use super::flags::{
    self, PPM_AT_FDCWD, PPM_FD_LOWER_LAYER, PPM_FD_LOWER_LAYER_CREAT, PPM_FD_UPPER_LAYER,
    PPM_FD_UPPER_LAYER_CREAT, PPM_PTRACE_PEEK, PPM_PTRACE_SIGNAL_DATA,
};
use super::names::{errno_name, signal_name};
use super::{
    ArgValue, Base, Conv, FlagTable, Format, Names, Param, ParamValue, RawCall, Source, Syscall,
    Width,
};

/// `evt.arg.<name>`: the resolved string when there is one, else the raw string
/// (`sinsp_filter_check_event::extract`, `TYPE_ARGSTR`). `None` when the event has no such
/// parameter or Palisade cannot supply it.
pub fn arg(sys: &Syscall, name: &str, call: &RawCall, names: &dyn Names) -> Option<String> {
    let param = sys.params.iter().find(|p| p.name == name)?;
    render(param, call, names).map(Rendered::field)
}

/// `evt.arg[index]`: like [`arg`], by position.
pub fn arg_at(sys: &Syscall, index: usize, call: &RawCall, names: &dyn Names) -> Option<String> {
    render(sys.params.get(index)?, call, names).map(Rendered::field)
}

/// `evt.args`: `name=raw` or `name=raw(resolved)` for every parameter, space-separated.
/// A parameter Palisade cannot supply shows what libsinsp shows for an empty one: `NULL` for
/// buffers, socket tuples and dynamic parameters, `<NA>` otherwise.
pub fn args_line(sys: &Syscall, call: &RawCall, names: &dyn Names) -> String {
    let mut line = String::new();
    for param in sys.params {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(param.name);
        line.push('=');
        match render(param, call, names) {
            Some(Rendered { raw, resolved }) => {
                line.push_str(&raw);
                if !resolved.is_empty() {
                    line.push('(');
                    line.push_str(&resolved);
                    line.push(')');
                }
            }
            None => line.push_str(empty_rendering(param.format)),
        }
    }
    line
}

/// `evt.res`: `SUCCESS` when the return value is non-negative, else the first parameter's
/// resolved string (an errno name such as `ENOENT`), or its raw one when it has none
/// (`TYPE_RESSTR`). `evt.rawres` is `RawCall::ret` itself.
pub fn res(sys: &Syscall, call: &RawCall, names: &dyn Names) -> String {
    if call.ret >= 0 {
        return "SUCCESS".to_owned();
    }
    sys.params
        .first()
        .and_then(|p| render(p, call, names))
        .map_or_else(|| call.ret.to_string(), Rendered::field)
}

/// `evt.rawarg.<name>`: the parameter's value as the driver sent it (PPM-converted flags,
/// the path as passed). `None` when absent, unavailable, or a `PT_DYN` (not comparable).
pub fn rawarg(sys: &Syscall, name: &str, call: &RawCall) -> Option<ArgValue> {
    let param = sys.params.iter().find(|p| p.name == name)?;
    match value(param, call)? {
        Value::Str(s) => Some(ArgValue::Str(string(s))),
        Value::Sig(_) | Value::Dyn(_) => None,
        Value::Num(v) => Some(match param.format {
            Format::Fd | Format::Errno | Format::Pid => ArgValue::Signed(v as i64),
            Format::Signed(w, _) => ArgValue::Signed(sign_extend(v, w)),
            Format::Unsigned(w, _) | Format::Flags(w, _) | Format::Enum(w, _) => {
                ArgValue::Unsigned(v & mask(w))
            }
            _ => ArgValue::Unsigned(v & mask(Width::W32)),
        }),
    }
}

/// `evt.rawarg.<name>` printed as an output field (`sinsp_filter_check::rawval_to_string`):
/// numbers in the parameter's print format (`%X` for hex, `%o` for octal, `%u`/`%d` else).
pub fn rawarg_string(sys: &Syscall, name: &str, call: &RawCall) -> Option<String> {
    let param = sys.params.iter().find(|p| p.name == name)?;
    let base = match param.format {
        Format::Signed(_, b) | Format::Unsigned(_, b) => b,
        Format::Flags(..) => Base::Hex,
        Format::Mode(_) => Base::Oct,
        _ => Base::Dec,
    };
    Some(match rawarg(sys, name, call)? {
        ArgValue::Str(s) => s,
        ArgValue::Signed(v) => match base {
            Base::Dec => v.to_string(),
            Base::Hex => format!("{:X}", bits_of_signed(v, param.format)),
            Base::Oct => format!("{:o}", bits_of_signed(v, param.format)),
        },
        ArgValue::Unsigned(v) => match base {
            Base::Dec => v.to_string(),
            Base::Hex => format!("{v:X}"),
            Base::Oct => format!("{v:o}"),
        },
    })
}

/// A parameter's two renderings; `resolved` is empty when there is none.
struct Rendered {
    raw: String,
    resolved: String,
}

impl Rendered {
    fn raw(raw: String) -> Self {
        Rendered {
            raw,
            resolved: String::new(),
        }
    }

    /// What `evt.arg.*` yields.
    fn field(self) -> String {
        if self.resolved.is_empty() {
            self.raw
        } else {
            self.resolved
        }
    }
}

/// A parameter's value as the driver would have stored it.
enum Value<'a> {
    /// An integer, as 64 bits (the format gives width and signedness).
    Num(u64),
    /// A user string; `None` when it could not be read.
    Str(Option<&'a [u8]>),
    /// `PT_DYN` holding a `PT_UINT64` (printed in hex).
    Dyn(u64),
    /// `PT_DYN` holding a `PT_SIGTYPE`.
    Sig(u8),
}

fn value<'a>(param: &Param, call: &RawCall<'a>) -> Option<Value<'a>> {
    let arg = |i: u8| call.args.get(usize::from(i)).copied().unwrap_or(0);
    let source = |s: Source| match s {
        Source::Arg(i) => arg(i),
        Source::Extra(i) => call.extra.get(usize::from(i)).copied().unwrap_or(0),
    };
    Some(match param.value {
        ParamValue::Ret => Value::Num(call.ret as u64),
        ParamValue::RetOrZero => Value::Num(call.ret.max(0) as u64),
        ParamValue::Arg(i) => Value::Num(arg(i)),
        ParamValue::IntArg(i) => Value::Num(i64::from(arg(i) as i32) as u64),
        ParamValue::Conv(s, conv) => Value::Num(u64::from(convert(conv, source(s), call))),
        ParamValue::OpenMode { flags, mode } => {
            Value::Num(u64::from(flags::open_mode(source(flags), source(mode))))
        }
        ParamValue::CreatLayer => {
            let mut v = 0;
            if call.file_state & PPM_FD_UPPER_LAYER != 0 {
                v |= PPM_FD_UPPER_LAYER_CREAT;
            } else if call.file_state & PPM_FD_LOWER_LAYER != 0 {
                v |= PPM_FD_LOWER_LAYER_CREAT;
            }
            Value::Num(u64::from(v))
        }
        ParamValue::String(slot) => {
            Value::Str(call.strings.get(usize::from(slot)).copied().flatten())
        }
        ParamValue::PtraceAddr => Value::Dyn(if call.ret < 0 { 0 } else { arg(2) }),
        ParamValue::PtraceData => {
            let request = flags::ptrace_request(arg(0));
            if call.ret < 0 {
                Value::Dyn(0)
            } else if PPM_PTRACE_PEEK.contains(&request) {
                return None;
            } else if PPM_PTRACE_SIGNAL_DATA.contains(&request) {
                Value::Sig(arg(3) as u8)
            } else {
                Value::Dyn(arg(3))
            }
        }
        ParamValue::Unavailable => return None,
    })
}

fn convert(conv: Conv, v: u64, call: &RawCall) -> u32 {
    match conv {
        Conv::OpenFlags => flags::open_flags(v) | call.file_state,
        Conv::OpenatResolve => flags::openat2_resolve(v),
        Conv::Chmod => flags::chmod_mode(v),
        Conv::SocketFamily => flags::socket_family(v),
        Conv::SocketFlags => flags::socket_flags(v),
        Conv::Clone => flags::clone_flags(v),
        Conv::Ptrace => flags::ptrace_request(v),
        Conv::Dup3 => flags::dup3_flags(v),
        Conv::Linkat => flags::linkat_flags(v),
        Conv::Unlinkat => flags::unlinkat_flags(v),
        Conv::Fchownat => flags::fchownat_flags(v),
        Conv::Memfd => flags::memfd_flags(v),
        Conv::Umount2 => flags::umount2_flags(v),
        Conv::FinitModule => flags::finit_module_flags(v),
        Conv::MountFlags => flags::mount_flags(v),
    }
}

fn render(param: &Param, call: &RawCall, names: &dyn Names) -> Option<Rendered> {
    let v = match value(param, call)? {
        Value::Num(v) => v,
        Value::Dyn(v) => return Some(Rendered::raw(format!("{v:X}"))),
        Value::Sig(sig) => {
            let resolved = signal_name(sig).unwrap_or_default().to_owned();
            return Some(Rendered {
                raw: sig.to_string(),
                resolved,
            });
        }
        Value::Str(s) => return Some(render_string(param, s, call)),
    };
    Some(match param.format {
        Format::Fd => render_fd(v as i64, names),
        Format::Errno => {
            let v = v as i64;
            let resolved = if v < 0 { errno_name(v as i32) } else { "" };
            Rendered {
                raw: v.to_string(),
                resolved: resolved.to_owned(),
            }
        }
        Format::Pid => {
            let resolved = names.comm(v as i64).unwrap_or_default();
            Rendered {
                raw: (v as i64).to_string(),
                resolved,
            }
        }
        Format::Uid => render_id(v as u32, |id| names.user(id)),
        Format::Gid => render_id(v as u32, |id| names.group(id)),
        Format::Signed(w, base) => Rendered::raw(number(v, w, true, base)),
        Format::Unsigned(w, base) => Rendered::raw(number(v, w, false, base)),
        Format::Flags(w, table) => {
            let v = (v & mask(w)) as u32;
            Rendered {
                raw: v.to_string(),
                resolved: flag_names(v, table, false),
            }
        }
        Format::Enum(w, table) => {
            let v = (v & mask(w)) as u32;
            Rendered {
                raw: v.to_string(),
                resolved: flag_names(v, table, true),
            }
        }
        Format::Mode(table) => {
            let v = v as u32;
            Rendered {
                raw: number(u64::from(v), Width::W32, false, Base::Oct),
                resolved: mode_names(v, table),
            }
        }
        // Only string and unavailable values reach the remaining formats.
        _ => Rendered::raw(v.to_string()),
    })
}

/// An execve exit's `flags` parameter (`PPM_EXE_*`) as libsinsp renders it.
pub fn execve_flags(ppm_flags: u32) -> String {
    flag_names(ppm_flags, super::names::EXECVE_FLAGS, false)
}

/// `sinsp_evt::render_fd`.
fn render_fd(fd: i64, names: &dyn Names) -> Rendered {
    let resolved = if fd >= 0 {
        names.fd(fd).map(|d| d.render()).unwrap_or_default()
    } else if fd == PPM_AT_FDCWD {
        "AT_FDCWD".to_owned()
    } else {
        errno_name(fd as i32).to_owned()
    };
    Rendered {
        raw: fd.to_string(),
        resolved,
    }
}

/// `PT_UID` / `PT_GID`.
fn render_id(id: u32, lookup: impl Fn(u32) -> Option<String>) -> Rendered {
    if id == u32::MAX {
        return Rendered {
            raw: "-1".to_owned(),
            resolved: "<NONE>".to_owned(),
        };
    }
    let resolved = lookup(id)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "<NA>".to_owned());
    Rendered {
        raw: (id as i32).to_string(),
        resolved,
    }
}

fn render_string(param: &Param, s: Option<&[u8]>, call: &RawCall) -> Rendered {
    let raw = string(s);
    let relative = !raw.is_empty() && raw != "<NA>" && !raw.starts_with('/');
    let resolved = match (param.format, param.value) {
        (Format::FsPath | Format::FsRelPath { .. }, ParamValue::String(slot)) if relative => call
            .resolved
            .get(usize::from(slot))
            .copied()
            .flatten()
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };
    Rendered { raw, resolved }
}

/// A captured C string: up to the first NUL; `<NA>` when missing or `(NULL)`. Invalid UTF-8
/// (which libsinsp passes through) is replaced by U+FFFD.
fn string(s: Option<&[u8]>) -> String {
    let Some(bytes) = s else {
        return "<NA>".to_owned();
    };
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    match String::from_utf8_lossy(&bytes[..end]) {
        s if s == "(NULL)" => "<NA>".to_owned(),
        s => s.into_owned(),
    }
}

/// What libsinsp prints for an empty parameter.
fn empty_rendering(format: Format) -> &'static str {
    match format {
        Format::ByteBuf | Format::SockTuple | Format::CharBufArray | Format::PtraceDyn => "NULL",
        _ => "<NA>",
    }
}

/// Flags (`exact == false`) and enum flags: libsinsp walks the table in order; a flag matches
/// when all its bits are still set (each match clears its bits, so `O_RDWR` hides `O_RDONLY`
/// and `O_WRONLY`), a 0 entry only matches 0, and the walk stops at an entry equal to the whole
/// value. An enum value collects every entry equal to it (`AF_LOCAL|AF_UNIX`).
pub(super) fn flag_names(value: u32, table: &FlagTable, exact: bool) -> String {
    let mut out = String::new();
    let mut rest = value;
    for &(name, bits) in table {
        let matched = if exact {
            bits == value
        } else {
            (bits == 0 && value == 0) || (bits != 0 && rest != 0 && rest & bits == bits)
        };
        if !matched {
            continue;
        }
        if !out.is_empty() {
            out.push('|');
        }
        out.push_str(name);
        if !exact {
            rest &= !bits;
            if bits == value {
                break;
            }
        }
    }
    out
}

/// `PT_MODE`: like flags, but the walk stops *before* an entry equal to the whole value, which
/// is then appended.
pub(super) fn mode_names(value: u32, table: &FlagTable) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut entries = table.iter();
    let stop = loop {
        let Some(&(name, bits)) = entries.next() else {
            break None;
        };
        if bits == value {
            break Some(name);
        }
        if (bits == 0 && value == 0) || (bits != 0 && rest != 0 && rest & bits == bits) {
            if !out.is_empty() {
                out.push('|');
            }
            out.push_str(name);
            rest &= !bits;
        }
    };
    if let Some(name) = stop {
        if !out.is_empty() {
            out.push('|');
        }
        out.push_str(name);
    }
    out
}

fn mask(w: Width) -> u64 {
    match w {
        Width::W8 => 0xff,
        Width::W16 => 0xffff,
        Width::W32 => 0xffff_ffff,
        Width::W64 => u64::MAX,
    }
}

fn sign_extend(v: u64, w: Width) -> i64 {
    match w {
        Width::W8 => i64::from(v as i8),
        Width::W16 => i64::from(v as i16),
        Width::W32 => i64::from(v as i32),
        Width::W64 => v as i64,
    }
}

/// The bits `%X`/`%o` print for a signed value: C promotes narrow ints to `int`.
fn bits_of_signed(v: i64, format: Format) -> u64 {
    match format {
        Format::Signed(Width::W64, _) | Format::Fd | Format::Errno | Format::Pid => v as u64,
        _ => u64::from(v as i32 as u32),
    }
}

/// `SET_NUMERIC_FORMAT` + `snprintf` in `get_param_as_str`.
fn number(v: u64, w: Width, signed: bool, base: Base) -> String {
    let bits = if signed {
        let s = sign_extend(v, w);
        match w {
            Width::W64 => s as u64,
            _ => u64::from(s as i32 as u32),
        }
    } else {
        v & mask(w)
    };
    match base {
        Base::Oct if bits == 0 => "0".to_owned(),
        Base::Oct => format!("0{bits:o}"),
        Base::Hex => format!("{bits:X}"),
        Base::Dec if signed => sign_extend(v, w).to_string(),
        // PRId32 / PRId64 of unsigned values: the same bits, printed signed.
        Base::Dec => match w {
            Width::W8 | Width::W16 => bits.to_string(),
            Width::W32 => (bits as u32 as i32).to_string(),
            Width::W64 => (bits as i64).to_string(),
        },
    }
}
