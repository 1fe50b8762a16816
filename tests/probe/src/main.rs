//! `palisade-probe OP...`: performs each operation in order and prints one line per operation,
//! `<op> <path>: ok` or `<op> <path>: <ERRNO>` (for `exec`: `exit N`), so enforcement tests can
//! assert exact outcomes without a shell (which the profile under test may deny). Std only: it is
//! built statically and copied into test images.
//!
//! Operations (one argument each, words separated by spaces):
//! `write PATH` (append), `create PATH` (O_CREAT|O_EXCL), `unlink PATH`, `mkdir PATH`,
//! `rename FROM TO`, `chmod PATH`, `exists PATH`, `grep PATH TEXT`, `exec PATH ARGS...`,
//! `sleep SECONDS`; and loops that print nanoseconds per iteration: `bench-open N PATH`
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
        Some(17) => "EEXIST".into(),
        Some(18) => "EXDEV".into(),
        Some(30) => "EROFS".into(),
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
