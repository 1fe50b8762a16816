//! Privileged: ia32 (compat) syscalls, made with `int $0x80` from this 64-bit test, are
//! captured as the x86-64 syscalls of the same meaning — `open` (ia32 5) as `open`, `openat`
//! (295) as `openat`, `connect` (362) and `socketcall(SYS_CONNECT)` (102) as `connect` — with
//! their arguments, fd and strings, and flagged `compat`; an ia32 syscall whose number is a
//! captured x86-64 syscall's but means something else (`pipe`, 42 = x86-64 `connect`) is not
//! reported. `int $0x80` from 64-bit code is the classic way around filters that only know the
//! x86-64 numbers.
//!
//! Needs root, a kernel with BTF and ia32 emulation (CONFIG_IA32_EMULATION, not disabled with
//! `ia32_emulation=false`); fails otherwise unless PALISADE_ALLOW_SKIP_PRIVILEGED=1.

#![expect(unsafe_code, reason = "int $0x80, mmap(MAP_32BIT) and raw sockets need unsafe")]

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::skip_or_fail;
use nix::libc;
use palisade_daemon::capture::plan;
use palisade_events::record::SyscallRecord;
use palisade_daemon::kernel::{decode, Kernel, Record};
use palisade_ebpf::abi::{self, fd_kind, SyscallEvent};
use palisade_rules::Loader;

/// ia32 syscall numbers used here.
const IA32_OPEN: u32 = 5;
const IA32_CLOSE: u32 = 6;
const IA32_PIPE: u32 = 42;
const IA32_SOCKETCALL: u32 = 102;
const IA32_OPENAT: u32 = 295;
const IA32_CONNECT: u32 = 362;
const SYS_CONNECT: u32 = 3;
const AT_FDCWD: i32 = -100;

/// An ia32 syscall with up to three arguments, through `int $0x80` (ebx, ecx, edx).
fn int80(nr: u32, a: u32, b: u32, c: u32) -> i32 {
    let ret: u32;
    // SAFETY: the kernel reads only the registers given; rbx (reserved by LLVM) is swapped
    // in and back out; r8-r11 are declared clobbered for kernels that did not preserve them.
    unsafe {
        std::arch::asm!(
            "xchg {a}, rbx",
            "int 0x80",
            "xchg {a}, rbx",
            a = inout(reg) u64::from(a) => _,
            inlateout("eax") nr => ret,
            in("ecx") b,
            in("edx") c,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
        );
    }
    ret as i32
}

/// One page below 4 GiB (ia32 pointers are 32 bits), unmapped on drop.
struct LowPage(*mut u8);

impl LowPage {
    fn new() -> LowPage {
        // SAFETY: a fresh anonymous private mapping; checked below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
                -1,
                0,
            )
        };
        assert!(p != libc::MAP_FAILED && (p as usize) < (1 << 32), "mmap(MAP_32BIT) failed");
        LowPage(p.cast())
    }

    /// Copy `bytes` to offset `off`; returns its 32-bit address.
    fn put(&self, off: usize, bytes: &[u8]) -> u32 {
        assert!(off + bytes.len() <= 4096);
        // SAFETY: inside the page, which only this struct uses.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.0.add(off), bytes.len()) };
        (self.0 as usize + off) as u32
    }
}

impl Drop for LowPage {
    fn drop(&mut self) {
        // SAFETY: the mapping made in new().
        unsafe { libc::munmap(self.0.cast(), 4096) };
    }
}

fn c_path(p: &str) -> Vec<u8> {
    let mut v = p.as_bytes().to_vec();
    v.push(0);
    v
}

/// A native TCP socket (connected by the ia32 calls).
fn tcp_socket() -> i32 {
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0, "socket");
    fd
}

fn sockaddr_loopback(port: u16) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    a[2..4].copy_from_slice(&port.to_be_bytes());
    a[4..8].copy_from_slice(&[127, 0, 0, 1]);
    a
}

/// The records of thread `tid` until `done` says so (or 10 s).
fn collect(kernel: &mut Kernel, tid: u32, done: impl Fn(&[(SyscallRecord, u32)]) -> bool) -> Vec<(SyscallRecord, u32)> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !done(&out) {
        kernel.wait(Duration::from_millis(100)).expect("poll");
        kernel.drain(|bytes| {
            if let Ok(Record::Syscall(rec)) = decode(bytes) {
                if rec.hdr.tid == tid {
                    let raw: SyscallEvent = abi::read(bytes).expect("syscall record");
                    out.push((*rec, raw.compat));
                }
            }
        });
    }
    out
}

#[test]
fn ia32_syscalls_are_captured_as_their_x86_64_twins() {
    if !nix::unistd::geteuid().is_root() {
        return skip_or_fail("not root");
    }
    let dir = format!("/tmp/palisade-compat-{}", std::process::id());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    for f in ["open", "openat", "native"] {
        std::fs::write(format!("{dir}/{f}"), "x").expect("marker");
    }
    let mut loader = Loader::new();
    loader.add_str(
        "compat.yaml",
        &format!(
            "- rule: compat probe\n  desc: d\n  condition: (evt.type in (open, openat) and fd.name startswith {dir}/) \
             or evt.type = connect\n  output: o\n  priority: INFO\n"
        ),
    );
    let rules = loader.compile().ruleset.expect("rules");
    let Some((mut kernel, _scope)) = common::kernel_watching_host(&plan(&rules).capture) else { return };
    let tid = nix::unistd::gettid().as_raw() as u32;

    // Is ia32 emulation there at all? ia32 close of a bad fd is EBADF with it, ENOSYS without.
    if int80(IA32_CLOSE, u32::MAX, 0, 0) == -libc::ENOSYS {
        let _ = std::fs::remove_dir_all(&dir);
        return skip_or_fail("no ia32 emulation (int $0x80 returns ENOSYS)");
    }
    let page = LowPage::new();
    let open_path = page.put(0, &c_path(&format!("{dir}/open")));
    let openat_path = page.put(512, &c_path(&format!("{dir}/openat")));
    let fd_open = int80(IA32_OPEN, open_path, libc::O_RDONLY as u32, 0);
    let fd_openat = int80(IA32_OPENAT, AT_FDCWD as u32, openat_path, libc::O_RDONLY as u32);
    assert!(fd_open >= 0 && fd_openat >= 0, "ia32 open {fd_open}, openat {fd_openat}");
    let native = std::fs::File::open(format!("{dir}/native")).expect("native open");

    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let addr = page.put(1024, &sockaddr_loopback(port));
    let (s1, s2) = (tcp_socket(), tcp_socket());
    assert_eq!(int80(IA32_CONNECT, s1 as u32, addr, 16), 0, "ia32 connect");
    let args: Vec<u8> = [s2 as u32, addr, 16].iter().flat_map(|w| w.to_ne_bytes()).collect();
    let args = page.put(2048, &args);
    assert_eq!(int80(IA32_SOCKETCALL, SYS_CONNECT, args, 0), 0, "socketcall(SYS_CONNECT)");
    // ia32 pipe: x86-64 42 is connect, which is captured; pipe must not be reported as one.
    let fds = page.put(3072, &[0u8; 8]);
    assert_eq!(int80(IA32_PIPE, fds, 0, 0), 0, "ia32 pipe");

    let recs = collect(&mut kernel, tid, |r| r.iter().filter(|(s, _)| s.nr == 42).count() >= 2 && r.len() >= 5);
    drop(native);
    for fd in [fd_open, fd_openat, s1, s2] {
        int80(IA32_CLOSE, fd as u32, 0, 0);
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(kernel.drops(), 0, "no record lost");

    let find = |nr: u32, path: &str| {
        recs.iter().find(|(s, _)| s.nr == nr && s.fd_path.as_deref() == Some(path)).unwrap_or_else(|| panic!("no record nr {nr} for {path}: {recs:#?}"))
    };
    let (open, compat) = find(2, &format!("{dir}/open"));
    assert_eq!((open.ret, *compat), (i64::from(fd_open), 1), "ia32 open reported as open, compat");
    assert_eq!(open.strings[0].as_deref(), Some(format!("{dir}/open").as_str()));
    assert_eq!(open.args[1], libc::O_RDONLY as u64, "flags in x86-64 argument order");
    let (openat, compat) = find(257, &format!("{dir}/openat"));
    assert_eq!((openat.ret, *compat), (i64::from(fd_openat), 1), "ia32 openat reported as openat");
    assert_eq!(openat.args[0] as u32 as i32, AT_FDCWD);
    let (_, compat) = find(257, &format!("{dir}/native"));
    assert_eq!(*compat, 0, "a native openat is not compat");

    let connects: Vec<&(SyscallRecord, u32)> = recs.iter().filter(|(s, _)| s.nr == 42).collect();
    assert_eq!(connects.len(), 2, "two connects (direct and socketcall), no pipe: {connects:#?}");
    for ((c, compat), fd) in connects.iter().zip([s1, s2]) {
        assert_eq!((c.ret, *compat, c.args[0]), (0, 1, fd as u64), "connect of fd {fd}");
        assert_eq!((c.fd.kind, c.fd.rport), (fd_kind::INET, port), "the socket's endpoints");
        assert_eq!(c.addr.map(|a| a[..16].to_vec()), Some(sockaddr_loopback(port).to_vec()), "the sockaddr");
    }
}

/// End to end: `palisade run` with Falco's upstream rules raises "Read sensitive file
/// untrusted" for /etc/shadow opened with an ia32 `open` through `int $0x80`, as for a native
/// open, reported as `evt.type=open`.
#[test]
fn an_ia32_open_of_etc_shadow_raises_the_upstream_rule() {
    if !common::privileged() {
        return;
    }
    if int80(IA32_CLOSE, u32::MAX, 0, 0) == -libc::ENOSYS {
        return skip_or_fail("no ia32 emulation (int $0x80 returns ENOSYS)");
    }
    let daemon = common::Daemon::start(&common::upstream_rule_files());
    let page = LowPage::new();
    let fd = int80(IA32_OPEN, page.put(0, &c_path("/etc/shadow")), libc::O_RDONLY as u32, 0);
    assert!(fd >= 0, "ia32 open of /etc/shadow: {fd}");
    int80(IA32_CLOSE, fd as u32, 0, 0);
    let out = daemon.stop();
    assert!(out.stderr.contains("drops=0"), "records were lost:\n{}", out.stderr);
    let exe = std::env::current_exe().expect("test binary").display().to_string();
    let ours: Vec<&serde_json::Value> = out
        .alerts
        .iter()
        .filter(|a| a["rule"] == "Read sensitive file untrusted" && a["output_fields"]["proc.exepath"] == exe.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "one alert for our open: {:#?}", out.alerts);
    let f = &ours[0]["output_fields"];
    assert_eq!(f["fd.name"], "/etc/shadow");
    assert_eq!(f["evt.type"], "open");
    assert_eq!(f["user.name"], "root");
}

/// The calls immutability judges have their ia32 twins too: `truncate` (ia32 92), `chown32`
/// (212) and the 16-bit `chown` (182) are captured as x86-64 `truncate` and `chown`, with the
/// path and the compat flag — a 32-bit `chown` is no way around the judge.
#[test]
fn ia32_metadata_changes_are_captured_as_their_x86_64_twins() {
    const IA32_TRUNCATE: u32 = 92;
    const IA32_CHOWN16: u32 = 182;
    const IA32_CHOWN32: u32 = 212;
    if !nix::unistd::geteuid().is_root() {
        return skip_or_fail("not root");
    }
    if int80(IA32_CLOSE, u32::MAX, 0, 0) == -libc::ENOSYS {
        return skip_or_fail("no ia32 emulation (int $0x80 returns ENOSYS)");
    }
    let dir = format!("/tmp/palisade-compat-meta-{}", std::process::id());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = format!("{dir}/file");
    std::fs::write(&file, "0123456789").expect("file");
    let mut loader = Loader::new();
    loader.add_str("meta.yaml", "- rule: meta\n  desc: d\n  condition: evt.type in (truncate, chown)\n  output: o\n  priority: INFO\n");
    let rules = loader.compile().ruleset.expect("rules");
    let Some((mut kernel, _scope)) = common::kernel_watching_host(&plan(&rules).capture) else { return };
    let tid = nix::unistd::gettid().as_raw() as u32;

    let page = LowPage::new();
    let path = page.put(0, &c_path(&file));
    let results = [int80(IA32_TRUNCATE, path, 4, 0), int80(IA32_CHOWN32, path, 0, 0), int80(IA32_CHOWN16, path, 0, 0)];
    assert_eq!(results, [0, 0, 0], "root truncates and chowns its own file");
    let recs = collect(&mut kernel, tid, |r| r.len() >= 3);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(kernel.drops(), 0, "no record lost");
    let got: Vec<(u32, i64, u32, Option<&str>)> = recs.iter().map(|(r, compat)| (r.nr, r.ret, *compat, r.strings[0].as_deref())).collect();
    assert_eq!(got, [(76, 0, 1, Some(file.as_str())), (92, 0, 1, Some(file.as_str())), (92, 0, 1, Some(file.as_str()))]);
    assert_eq!(recs[0].0.args[1], 4, "the length, in x86-64 argument order");
}
