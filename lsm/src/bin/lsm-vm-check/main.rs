//! The workload of the BPF-LSM QEMU guest (tests/lsm-vm, driven by lsm/tests/lsm_vm.rs).
//! Static binary run by the initramfs' /init; prints parseable `LSMVM ...` lines on the
//! serial console.
//!
//! - `run`: probe, build the container rootfs (overlayfs: image files in the lower layer, a
//!   tmpfs for upper/work; a tmpfs volume on /tmp), load and pin the Enforcer, arm one cgroup
//!   in enforce mode and one in audit mode, run the attack matrix in each and in an unarmed
//!   cgroup, print every decision. Exits leaving the enforce cgroup armed and the pins behind.
//! - `pinned`: a new process that loads nothing checks that the pinned programs still deny,
//!   then reuses the pins (no second attach), reads the decisions made meanwhile, unpins, and
//!   checks that the same operations succeed again.
//!   Before that, the gated phases (gate.rs): mount denial that starts when the container's
//!   init execs its entrypoint, in enforce and audit mode.
//! - `attack <cgroup dir> <phase> <case,...>`: joins the cgroup, chroots into the rootfs and
//!   runs the cases (see cases.rs).
//! - `gate <cgroup dir> <phase> <case,...>`: the container init of a gated phase (gate.rs).
//! - `daemon`: the real daemon (`/palisade run`) arms a container through its hook socket
//!   (daemon.rs; lsm_guest_daemon.rs in the monitor crate).
//! - `bench <rounds>`: the enforcement overhead benchmark (bench.rs); `loop ...` is its worker.
//!
//! Why overlayfs for the rootfs: it is what containerd gives a container, and it is the only
//! way to prove the identity choice (overlay inode numbers as stat(2) shows them, constant
//! across copy-up) and the upper-layer test of exec_only_image.

mod bench;
mod cases;
mod daemon;
mod gate;
mod wx;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use palisade_lsm::{programs_of, rootfs_dev, ContainerPolicy, Enforcer, Mode, HOOKS, OPTIONAL_HOOKS};

const PIN_ROOT: &str = "/sys/fs/bpf/palisade";
const LAYERS: &str = "/lsmvm/layers";
const ROOTFS: &str = "/lsmvm/rootfs";
const CG_ENFORCE: &str = "/sys/fs/cgroup/palisade-enforce";
const CG_AUDIT: &str = "/sys/fs/cgroup/palisade-audit";
const CG_HOST: &str = "/sys/fs/cgroup/palisade-host";
const CG_GATE_ENFORCE: &str = "/sys/fs/cgroup/palisade-gate-enforce";
const CG_GATE_AUDIT: &str = "/sys/fs/cgroup/palisade-gate-audit";
const CG_ONLY_IMAGE: &str = "/sys/fs/cgroup/palisade-only-image";
/// Host files the test put in the initramfs (lsm/tests/lsm_vm.rs): a dynamically linked shell
/// and program with their loader and libc, copied into the image.
const DYN_FILES: [(&str, &str); 4] = [
    ("/dyn/dash", "/bin/dash"),
    ("/dyn/true", "/usr/bin/dyn-true"),
    ("/dyn/ld.so", wx::LDSO),
    ("/dyn/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
];
/// Shells of the image, as the daemon's catalog would list them.
const SHELLS: [&str; 4] = ["/bin/sh", "/bin/bash", "/bin/ash", "/bin/dash"];
const ALLOW_WRITE: &str = "/var/cache/app";
/// What the daemon adds to every immutable policy's allow_write (palisade_profiles'
/// RUNTIME_WRITABLE), so that the guest's LPM trie holds as many prefixes as a real one.
const RUNTIME_WRITABLE: [&str; 15] = [
    "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/console", "/dev/ptmx",
    "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/stdout", "/dev/stderr", "/proc/self", "/proc/thread-self",
];

type Res<T> = Result<T, String>;

fn ctx<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("run") => run(),
        Some("pinned") => pinned(),
        Some("attack") if args.len() == 5 => attack(&args[2], &args[3], &args[4]),
        Some("gate") if args.len() == 5 => gate::init(&args[2], &args[3], &args[4]),
        Some("daemon") => daemon::run(),
        Some("bench") if args.len() == 3 => args[2].parse().map_err(ctx("rounds")).and_then(bench_run),
        Some("loop") if args.len() == 5 => bench::child(&args[2], &args[3], &args[4]),
        _ => Err("usage: lsm-vm-check run | pinned | attack <cgroup> <phase> <case,...> | gate <cgroup> <phase> <case,...> \
                  | daemon | bench <rounds> | loop <cgroup> <loop> <iterations>"
            .into()),
    };
    if let Err(e) = result {
        println!("LSMVM error {e}");
        std::process::exit(1);
    }
}

fn mount(src: &str, target: &str, fstype: &str, data: Option<&str>) -> Res<()> {
    std::fs::create_dir_all(target).map_err(ctx(target))?;
    nix::mount::mount(Some(src), target, Some(fstype), nix::mount::MsFlags::empty(), data)
        .map_err(|e| format!("mount {fstype} on {target}: {e}"))
}

/// The image: busybox and copies of it as shell, package manager and denied file, a hard link
/// to the shell, a `#!/bin/sh` script, files and directories for the write cases.
pub(crate) fn build_rootfs() -> Res<()> {
    mount("tmpfs", LAYERS, "tmpfs", None)?;
    let lower = format!("{LAYERS}/lower");
    for dir in ["bin", "usr/bin", "usr/local/bin", "etc/d-rmdir", "var/cache/app", "tmp", "mnt", "run", "data", "ro", "lib64", "lib/x86_64-linux-gnu"] {
        std::fs::create_dir_all(format!("{lower}/{dir}")).map_err(ctx(dir))?;
    }
    for copy in ["busybox", "sh", "apt-get", "denied"] {
        std::fs::copy("/bin/busybox", format!("{lower}/bin/{copy}")).map_err(ctx(copy))?;
    }
    std::fs::hard_link(format!("{lower}/bin/sh"), format!("{lower}/usr/bin/sh-hardlink")).map_err(ctx("hard link"))?;
    let script = format!("{lower}/usr/local/bin/script.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").map_err(ctx("script"))?;
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).map_err(ctx("chmod"))?;
    for f in cases::IMAGE_FILES.iter().chain(&[bench::READ_FILE, bench::WRITE_FILE]) {
        std::fs::write(format!("{lower}{f}"), cases::ORIGINAL).map_err(ctx(f))?;
    }
    // Absent in the bench's initramfs: the W^X cases that need them report errors.
    for (from, to) in DYN_FILES {
        if Path::new(from).exists() {
            std::fs::copy(from, format!("{lower}{to}")).map_err(ctx(to))?;
        }
    }
    wx::set_image_xattr(&format!("{lower}/etc/f-xattr"))?;
    for dir in ["upper", "work"] {
        std::fs::create_dir_all(format!("{LAYERS}/{dir}")).map_err(ctx(dir))?;
    }
    let opts = format!("lowerdir={lower},upperdir={LAYERS}/upper,workdir={LAYERS}/work");
    mount("overlay", ROOTFS, "overlay", Some(&opts))?;
    // A volume: another superblock inside the container; /run a tmpfs as runtimes make it.
    mount("tmpfs", &format!("{ROOTFS}/tmp"), "tmpfs", None)?;
    mount("tmpfs", &format!("{ROOTFS}/run"), "tmpfs", None)?;
    std::fs::create_dir_all(format!("{ROOTFS}{}", cases::WX_ALLOWED)).map_err(ctx("wx-allowed"))?;
    // A writable bind mount (a host directory as a volume) and a read-only one with a program.
    use nix::mount::MsFlags;
    let bind = |src: &str, target: &str, extra: MsFlags| -> Res<()> {
        std::fs::create_dir_all(src).map_err(ctx(src))?;
        nix::mount::mount(Some(src), target, None::<&str>, MsFlags::MS_BIND, None::<&str>)
            .map_err(|e| format!("bind {src} on {target}: {e}"))?;
        if !extra.is_empty() {
            nix::mount::mount(None::<&str>, target, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | extra, None::<&str>)
                .map_err(|e| format!("remount {target}: {e}"))?;
        }
        Ok(())
    };
    bind("/lsmvm/vol", &format!("{ROOTFS}/data"), MsFlags::empty())?;
    std::fs::create_dir_all("/lsmvm/rovol").map_err(ctx("rovol"))?;
    std::fs::copy("/bin/busybox", "/lsmvm/rovol/tool").map_err(ctx("rovol/tool"))?;
    bind("/lsmvm/rovol", &format!("{ROOTFS}/ro"), MsFlags::MS_RDONLY)?;
    Ok(())
}

pub(crate) fn cgroup(path: &str) -> Res<u64> {
    std::fs::create_dir_all(path).map_err(ctx(path))?;
    Ok(std::fs::metadata(path).map_err(ctx(path))?.ino())
}

pub(crate) fn attack_in(cgroup: &str, phase: &str, cases: &[&str]) -> Res<()> {
    // Spawned by its real path (not /proc/self/exe) so the decisions' comm names the binary.
    let exe = std::env::current_exe().map_err(ctx("current_exe"))?;
    let status = Command::new(exe)
        .args(["attack", cgroup, phase, &cases.join(",")])
        .status()
        .map_err(ctx("spawn attack"))?;
    println!("LSMVM phase-end phase={phase} status={}", status.code().unwrap_or(-1));
    Ok(())
}

fn print_decisions(enforcer: &mut Enforcer, phase: &str) {
    for d in enforcer.decisions() {
        match d {
            Ok(d) => println!(
                "LSMVM decision phase={phase} cgroup={} action={} reason={} enforced={} errno={} path={} exe_dev={} exe_ino={} target_ino={} comm={}",
                d.cgroup_id,
                d.action,
                d.reason,
                u8::from(d.enforced),
                d.errno,
                d.path.as_deref().unwrap_or("?"),
                d.exe.dev,
                d.exe.ino,
                d.target.ino,
                d.comm
            ),
            Err(e) => println!("LSMVM decision-error phase={phase} {e}"),
        }
    }
}

/// LSM programs of this object attached in the kernel (kernel names are cut at 15 bytes; a
/// hook's program may be one of several layouts, see `programs_of`).
pub(crate) fn attached_programs() -> usize {
    let names: Vec<&str> =
        HOOKS.iter().chain(&OPTIONAL_HOOKS).flat_map(|h| programs_of(h).iter()).map(|n| &n[..n.len().min(15)]).collect();
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .filter(|p| p.name_as_str().is_some_and(|n| names.contains(&n)))
        .count()
}

/// After unpinning: programs are freed after an RCU grace period. Waits up to 30 s for them to
/// go (6.1 under TCG: well under a second; 6.12: each trampoline's detach waits for an RCU
/// tasks grace period, seconds under TCG); returns how many are left.
pub(crate) fn wait_detached() -> usize {
    let mut left = attached_programs();
    let t = std::time::Instant::now();
    for _ in 0..1500 {
        if left == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        left = attached_programs();
    }
    println!("LSMVM detach-wait ms={} left={left}", t.elapsed().as_millis());
    left
}

/// The policy the daemon arms for an immutable profile denying shells and package managers
/// (daemon/src/containers/lsm.rs): allow_write plus the runtime's pseudo-files, mounts denied
/// (from the exec of `mount_gate` on, when given), W^X, no exec_only_image.
pub(crate) fn daemon_like_policy(mode: Mode, rootfs_dev: u32, mount_gate: Option<u32>) -> Res<ContainerPolicy> {
    let mut allow_write = vec![ALLOW_WRITE.to_owned()];
    allow_write.extend(RUNTIME_WRITABLE.iter().map(|p| (*p).to_owned()));
    Ok(ContainerPolicy {
        mode,
        deny_shells: true,
        deny_package_managers: true,
        immutable: true,
        exec_only_image: false,
        // As the daemon arms an immutable profile. The gate's init execs from the initramfs
        // (writable) in the initial mount namespace: the runtime's, which W^X leaves alone.
        deny_writable_exec: true,
        allow_writable_exec: Vec::new(),
        deny_mount: true,
        mount_gate,
        rootfs_dev,
        allow_write,
        deny_exec: ContainerPolicy::deny_exec_from_rootfs(
            Path::new(ROOTFS),
            &SHELLS,
            &["/bin/apt-get", "/usr/bin/apt"],
            &[],
        )
        .map_err(|e| e.to_string())?,
    })
}

/// `bench <rounds>`: the rootfs, then bench.rs.
fn bench_run(rounds: u32) -> Res<()> {
    palisade_lsm::probe().map_err(|e| format!("probe: {e}"))?;
    build_rootfs()?;
    let dev = rootfs_dev(Path::new(ROOTFS)).map_err(|e| e.to_string())?;
    bench::run(rounds, dev)
}

fn run() -> Res<()> {
    match palisade_lsm::probe() {
        Ok(()) => println!("LSMVM probe ok"),
        Err(e) => return Err(format!("probe: {e}")),
    }
    build_rootfs()?;
    let sh = std::fs::metadata(format!("{ROOTFS}/bin/sh")).map_err(ctx("stat sh"))?;
    let dev = rootfs_dev(Path::new(ROOTFS)).map_err(|e| e.to_string())?;
    println!(
        "LSMVM setup rootfs=overlay rootfs_dev={dev} sh_dev={} sh_ino={}",
        palisade_ebpf::enforce_abi::kernel_dev(sh.dev()),
        sh.ino()
    );

    let t = std::time::Instant::now();
    let mut enforcer = Enforcer::load(Path::new(PIN_ROOT)).map_err(|e| e.to_string())?;
    println!(
        "LSMVM load reused={} programs={} ms={}",
        enforcer.reused(),
        attached_programs(),
        t.elapsed().as_millis()
    );

    let policy = ContainerPolicy {
        mode: Mode::Enforce,
        deny_shells: true,
        deny_package_managers: true,
        immutable: true,
        // W^X as the daemon arms it; exec_only_image has its own phase (only-image).
        exec_only_image: false,
        deny_writable_exec: true,
        allow_writable_exec: vec![cases::WX_ALLOWED.into()],
        deny_mount: true,
        mount_gate: None,
        rootfs_dev: dev,
        allow_write: vec![ALLOW_WRITE.into()],
        deny_exec: ContainerPolicy::deny_exec_from_rootfs(
            Path::new(ROOTFS),
            &SHELLS,
            &["/bin/apt-get", "/usr/bin/apt"],
            &["/bin/denied".to_owned()],
        )
        .map_err(|e| e.to_string())?,
    };
    println!("LSMVM policy deny_exec={}", policy.deny_exec.len());
    let (enforce_cg, audit_cg, host_cg) = (cgroup(CG_ENFORCE)?, cgroup(CG_AUDIT)?, cgroup(CG_HOST)?);
    println!("LSMVM cgroups enforce={enforce_cg} audit={audit_cg} host={host_cg}");
    let id = enforcer.arm(enforce_cg, &policy).map_err(|e| e.to_string())?;
    let audit = ContainerPolicy { mode: Mode::Audit, ..policy.clone() };
    let audit_id = enforcer.arm(audit_cg, &audit).map_err(|e| e.to_string())?;
    println!("LSMVM armed enforce_policy={id} audit_policy={audit_id}");

    attack_in(CG_ENFORCE, "enforce", &cases::ALL)?;
    print_decisions(&mut enforcer, "enforce");
    attack_in(CG_AUDIT, "audit", &cases::ALL)?;
    print_decisions(&mut enforcer, "audit");
    // Audit let a hard link copy the shell up. After eviction the kernel looks it up afresh:
    // the identity is gone (lower nlink > 1), exec_only_image must still deny it.
    std::fs::write("/proc/sys/vm/drop_caches", "2").map_err(ctx("drop_caches"))?;
    attack_in(CG_ENFORCE, "evicted", &["exec_renamed_again", "exec_shell"])?;
    print_decisions(&mut enforcer, "evicted");
    // exec_only_image instead of W^X: any program not of the image (read-only volumes too) is
    // refused at exec; mappings are W^X's business, not this rule's.
    let only_image = ContainerPolicy { exec_only_image: true, deny_writable_exec: false, ..policy.clone() };
    let only_cg = cgroup(CG_ONLY_IMAGE)?;
    enforcer.arm(only_cg, &only_image).map_err(|e| e.to_string())?;
    println!("LSMVM only-image cgroup={only_cg}");
    attack_in(CG_ONLY_IMAGE, "only-image", &["exec_copy_tmp", "exec_copy_rootfs", "exec_ro_volume", "mmap_copy"])?;
    print_decisions(&mut enforcer, "only-image");
    // A process of the runtime's mount namespace in the armed cgroup (runc init for `runc exec`
    // before it enters the container): provenance rules skip it, identities do not.
    attack_in(CG_ENFORCE, RUNTIME_NS_PHASE, &["exec_copy_tmp", "mmap_copy", "exec_package_manager"])?;
    print_decisions(&mut enforcer, RUNTIME_NS_PHASE);
    attack_in(CG_HOST, "host", &["exec_shell", "exec_copy_tmp", "host_write", "create", "mount", "mount_api"])?;
    print_decisions(&mut enforcer, "host");
    gate::phase(&mut enforcer, CG_GATE_ENFORCE, "gate-enforce", Mode::Enforce, dev)?;
    print_decisions(&mut enforcer, "gate-enforce");
    gate::phase(&mut enforcer, CG_GATE_AUDIT, "gate-audit", Mode::Audit, dev)?;
    print_decisions(&mut enforcer, "gate-audit");

    let was_armed = enforcer.disarm(audit_cg).map_err(|e| e.to_string())?;
    println!("LSMVM disarmed audit={was_armed}");
    attack_in(CG_AUDIT, "disarmed", &["exec_shell", "create"])?;
    print_decisions(&mut enforcer, "disarmed");
    println!("LSMVM drops={}", enforcer.drops());
    // Exit without unpinning: the enforce cgroup stays armed for `pinned`.
    Ok(())
}

fn pinned() -> Res<()> {
    // No loading here: only the pins from `run` can deny.
    attack_in(CG_ENFORCE, "pinned", &["exec_shell", "pinned_write"])?;
    let enforcer = Enforcer::load(Path::new(PIN_ROOT)).map_err(|e| e.to_string())?;
    let mut enforcer = enforcer;
    println!("LSMVM reload reused={} programs={}", enforcer.reused(), attached_programs());
    print_decisions(&mut enforcer, "pinned");
    enforcer.unpin_all().map_err(|e| e.to_string())?;
    let left = wait_detached();
    println!(
        "LSMVM unpinned programs={left} pins_left={}",
        Path::new(PIN_ROOT).join(format!("lsm-v{}", palisade_ebpf::enforce_abi::ENFORCE_ABI_VERSION)).exists()
    );
    attack_in(CG_ENFORCE, "unpinned", &["exec_shell", "pinned_write"])?;
    Ok(())
}

/// The phase whose process stays in the initial mount namespace (pid 1's): the Enforcer names
/// it as the runtime's, so W^X leaves it alone (a runtime process in the container's cgroup).
const RUNTIME_NS_PHASE: &str = "runtime-ns";

fn attack(cgroup: &str, phase: &str, list: &str) -> Res<()> {
    std::fs::write(format!("{cgroup}/cgroup.procs"), std::process::id().to_string()).map_err(ctx("join cgroup"))?;
    // A container has a mount namespace of its own (the initial one is the "runtime's").
    if phase != RUNTIME_NS_PHASE {
        wx::unshare_mount_ns()?;
    }
    std::os::unix::fs::chroot(ROOTFS).map_err(ctx("chroot"))?;
    std::env::set_current_dir("/").map_err(ctx("chdir"))?;
    for name in list.split(',') {
        println!("LSMVM case phase={phase} name={name} result={}", cases::run(name, phase));
    }
    if phase == daemon::ENTRYPOINT_PHASE {
        // The daemon scenario's entrypoint lives on (its container runs) until the runtime
        // closes its stdin: a container whose init exits has stopped.
        let _ = std::io::stdin().read_line(&mut String::new());
    }
    Ok(())
}
