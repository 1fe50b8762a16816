//! `palisade-probe OP...`: performs each operation in order and prints one line per operation,
//! `<op> <path>: ok` or `<op> <path>: <ERRNO>` (for `exec`: `exit N`), so enforcement tests can
//! assert exact outcomes without a shell (which the profile under test may deny). Std only: it is
//! built statically and copied into test images.
//!
//! Operations (one argument each, words separated by spaces):
//! `write PATH` (append), `create PATH` (O_CREAT|O_EXCL), `unlink PATH`, `mkdir PATH`,
//! `rename FROM TO`, `chmod PATH`, `exists PATH`, `grep PATH TEXT`, `exec PATH ARGS...`,
//! `sleep SECONDS`, `copy FROM TO` (copies and makes TO executable), `symlink TARGET LINK`,
//! `link FROM TO`, `chown PATH`, `truncate PATH`, `ftruncate PATH`, `setxattr PATH`,
//! `removexattr PATH`, `utimes PATH`, `mknod PATH` (a fifo), `mount DIR` (a tmpfs),
//! `mmapx PATH` (maps the file `PROT_EXEC`: what a dynamic loader does), `stat PATH`
//! (`mode=0644 uid=0 size=N`); and loops that print nanoseconds per iteration: `bench-open N PATH`
//! (open for reading + close), `bench-open-write N PATH` (open for writing + close),
//! `bench-exec N PATH` (fork + exec + wait of PATH without arguments).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, ExitCode};

fn errno(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(1) => "EPERM".into(),
        Some(2) => "ENOENT".into(),
        Some(13) => "EACCES".into(),
        Some(16) => "EBUSY".into(),
        Some(17) => "EEXIST".into(),
        Some(18) => "EXDEV".into(),
        Some(22) => "EINVAL".into(),
        Some(30) => "EROFS".into(),
        Some(95) => "EOPNOTSUPP".into(),
        Some(n) => format!("errno {n}"),
        None => e.to_string(),
    }
}

fn outcome(r: std::io::Result<()>) -> String {
    r.map_or_else(|e| errno(&e), |()| "ok".into())
}

fn run(words: &[&str]) -> Result<String, String> {
    let path = words.get(1).copied().unwrap_or_default();
    Ok(match words[0] {
        "write" => outcome(
            std::fs::OpenOptions::new().append(true).open(path).and_then(|mut f| f.write_all(b"palisade-probe-was-here\n")),
        ),
        "create" => outcome(std::fs::OpenOptions::new().write(true).create_new(true).open(path).map(drop)),
        "unlink" => outcome(std::fs::remove_file(path)),
        "mkdir" => outcome(std::fs::create_dir(path)),
        "rename" => outcome(std::fs::rename(path, words.get(2).copied().unwrap_or_default())),
        "chmod" => outcome(std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777))),
        "copy" => outcome(std::fs::copy(path, arg(words, 2)?).and_then(|_| {
            std::fs::set_permissions(arg(words, 2).unwrap_or_default(), std::fs::Permissions::from_mode(0o755))
        })),
        "symlink" => outcome(std::os::unix::fs::symlink(path, arg(words, 2)?)),
        "link" => outcome(std::fs::hard_link(path, arg(words, 2)?)),
        "chown" => outcome(std::os::unix::fs::chown(path, Some(65534), Some(65534))),
        "truncate" => outcome(sys::truncate(path)),
        "ftruncate" => outcome(std::fs::OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(0))),
        "setxattr" => outcome(sys::setxattr(path)),
        "removexattr" => outcome(sys::removexattr(path)),
        "utimes" => outcome(sys::utimes(path)),
        "mknod" => outcome(sys::mkfifo(path)),
        "mount" => outcome(sys::mount_tmpfs(path)),
        "mmapx" => outcome(std::fs::File::open(path).and_then(|f| sys::map_exec(&f))),
        "stat" => {
            use std::os::unix::fs::MetadataExt;
            match std::fs::symlink_metadata(path) {
                Ok(m) => format!("mode={:04o} uid={} size={}", m.mode() & 0o7777, m.uid(), m.size()),
                Err(e) => errno(&e),
            }
        }
        "exists" => if std::path::Path::new(path).exists() { "yes".into() } else { "no".into() },
        "grep" => {
            let text = words[2..].join(" ");
            match std::fs::read_to_string(path) {
                Ok(content) if content.contains(&text) => "found".into(),
                Ok(_) => "absent".into(),
                Err(e) => errno(&e),
            }
        }
        "exec" => match Command::new(path).args(&words[2..]).output() {
            Ok(out) => format!("exit {}", out.status.code().unwrap_or(-1)),
            Err(e) => errno(&e),
        },
        "bench-open" | "bench-open-write" | "bench-exec" => {
            let n: u32 = path.parse().map_err(|_| format!("{}: not a count: {path}", words[0]))?;
            let target = words.get(2).copied().ok_or_else(|| format!("{}: no path", words[0]))?;
            let start = std::time::Instant::now();
            for _ in 0..n {
                let r = match words[0] {
                    "bench-open" => std::fs::File::open(target).map(drop),
                    "bench-open-write" => std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(target).map(drop),
                    _ => Command::new(target).output().map(drop),
                };
                if let Err(e) = r {
                    return Ok(errno(&e));
                }
            }
            format!("{} ns", start.elapsed().as_nanos() / u128::from(n.max(1)))
        }
        "sleep" => {
            let secs: u64 = path.parse().map_err(|_| format!("sleep: not a number: {path}"))?;
            std::thread::sleep(std::time::Duration::from_secs(secs));
            "ok".into()
        }
        other => return Err(format!("unknown operation {other:?}")),
    })
}

/// The `n`th word of an operation, or an error naming the operation.
fn arg<'a>(words: &[&'a str], n: usize) -> Result<&'a str, String> {
    words.get(n).copied().ok_or_else(|| format!("{}: missing argument {n}", words[0]))
}

/// The calls std does not offer. Each returns the kernel's errno as an `io::Error`.
#[expect(unsafe_code, reason = "raw syscalls std has no wrapper for; each takes NUL-terminated copies of its arguments")]
mod sys {
    use std::ffi::CString;
    use std::io::{Error, Result};
    use std::os::fd::AsRawFd;

    fn c(path: &str) -> Result<CString> {
        CString::new(path).map_err(|_| Error::from_raw_os_error(libc::EINVAL))
    }

    fn check(r: libc::c_int) -> Result<()> {
        if r == 0 { Ok(()) } else { Err(Error::last_os_error()) }
    }

    pub(crate) fn truncate(path: &str) -> Result<()> {
        let p = c(path)?;
        // SAFETY: p is a valid NUL-terminated string for the duration of the call.
        check(unsafe { libc::truncate(p.as_ptr(), 0) })
    }

    pub(crate) fn setxattr(path: &str) -> Result<()> {
        let (p, name) = (c(path)?, c("user.palisade")?);
        let value = b"probe";
        // SAFETY: valid strings and a buffer of the given length.
        check(unsafe { libc::setxattr(p.as_ptr(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) })
    }

    pub(crate) fn removexattr(path: &str) -> Result<()> {
        let (p, name) = (c(path)?, c("user.palisade")?);
        // SAFETY: valid strings.
        check(unsafe { libc::removexattr(p.as_ptr(), name.as_ptr()) })
    }

    pub(crate) fn utimes(path: &str) -> Result<()> {
        let p = c(path)?;
        let times = [libc::timespec { tv_sec: 0, tv_nsec: 0 }; 2];
        // SAFETY: valid string and a two-element timespec array.
        check(unsafe { libc::utimensat(libc::AT_FDCWD, p.as_ptr(), times.as_ptr(), 0) })
    }

    pub(crate) fn mkfifo(path: &str) -> Result<()> {
        let p = c(path)?;
        // SAFETY: valid string.
        check(unsafe { libc::mknod(p.as_ptr(), libc::S_IFIFO | 0o644, 0) })
    }

    pub(crate) fn mount_tmpfs(path: &str) -> Result<()> {
        let (src, dst, kind) = (c("palisade-probe")?, c(path)?, c("tmpfs")?);
        // SAFETY: valid strings; no data argument.
        check(unsafe { libc::mount(src.as_ptr(), dst.as_ptr(), kind.as_ptr(), 0, std::ptr::null()) })
    }

    /// Maps the first page of `file` readable and executable, then unmaps it.
    pub(crate) fn map_exec(file: &std::fs::File) -> Result<()> {
        // SAFETY: a fresh private mapping of an open file; unmapped below, never dereferenced.
        let at = unsafe {
            libc::mmap(std::ptr::null_mut(), 4096, libc::PROT_READ | libc::PROT_EXEC, libc::MAP_PRIVATE, file.as_raw_fd(), 0)
        };
        if at == libc::MAP_FAILED {
            return Err(Error::last_os_error());
        }
        // SAFETY: `at` is the mapping made above, of that length.
        unsafe { libc::munmap(at, 4096) };
        Ok(())
    }
}

fn main() -> ExitCode {
    let ops: Vec<String> = std::env::args().skip(1).collect();
    if ops.is_empty() {
        eprintln!("usage: palisade-probe OP... (see the source)");
        return ExitCode::from(2);
    }
    for op in &ops {
        let words: Vec<&str> = op.split(' ').filter(|w| !w.is_empty()).collect();
        if words.is_empty() {
            continue;
        }
        match run(&words) {
            Ok(result) => println!("{}: {result}", words[..words.len().min(2)].join(" ")),
            Err(e) => {
                eprintln!("palisade-probe: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}
