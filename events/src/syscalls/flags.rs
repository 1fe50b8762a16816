//! Linux x86_64 → Falco PPM conversions (libs `driver/ppm_flag_helpers.h` and the driver's
//! exit programs). [`super::names`] holds the names these PPM values print as.
//!
//! The conversions reproduce the driver's quirks on purpose, because rules see their output:
//! - `O_TMPFILE` is `__O_TMPFILE | O_DIRECTORY` and the driver tests `flags & O_TMPFILE`, so
//!   every `O_DIRECTORY` open also carries `PPM_O_TMPFILE` (and a non-zero mode);
//! - `O_SYNC` is `__O_SYNC | O_DSYNC`, so `O_DSYNC` alone also sets `PPM_O_SYNC`;
//! - an access mode of 3 counts as `O_RDONLY`;
//! - `userfaultfd` and `renameat2` flags are passed through unconverted.

// PPM open flags (`ppm_events_public.h`).
pub const PPM_O_NONE: u32 = 0;
pub const PPM_O_RDONLY: u32 = 1 << 0;
pub const PPM_O_WRONLY: u32 = 1 << 1;
pub const PPM_O_RDWR: u32 = PPM_O_RDONLY | PPM_O_WRONLY;
pub const PPM_O_CREAT: u32 = 1 << 2;
pub const PPM_O_APPEND: u32 = 1 << 3;
pub const PPM_O_DSYNC: u32 = 1 << 4;
pub const PPM_O_EXCL: u32 = 1 << 5;
pub const PPM_O_NONBLOCK: u32 = 1 << 6;
pub const PPM_O_SYNC: u32 = 1 << 7;
pub const PPM_O_TRUNC: u32 = 1 << 8;
pub const PPM_O_DIRECT: u32 = 1 << 9;
pub const PPM_O_DIRECTORY: u32 = 1 << 10;
pub const PPM_O_LARGEFILE: u32 = 1 << 11;
pub const PPM_O_CLOEXEC: u32 = 1 << 12;
pub const PPM_O_TMPFILE: u32 = 1 << 13;
pub const PPM_O_F_CREATED: u32 = 1 << 14;
pub const PPM_FD_UPPER_LAYER: u32 = 1 << 15;
pub const PPM_FD_LOWER_LAYER: u32 = 1 << 16;
pub const PPM_FD_UPPER_LAYER_CREAT: u32 = 1 << 0;
pub const PPM_FD_LOWER_LAYER_CREAT: u32 = 1 << 1;
/// `PPM_AT_FDCWD`, equal to Linux `AT_FDCWD`.
pub const PPM_AT_FDCWD: i64 = -100;

// Linux x86_64 values the conversions read.
mod linux {
    pub(super) const O_WRONLY: u64 = 0o1;
    pub(super) const O_RDWR: u64 = 0o2;
    pub(super) const O_CREAT: u64 = 0o100;
    pub(super) const O_EXCL: u64 = 0o200;
    pub(super) const O_TRUNC: u64 = 0o1000;
    pub(super) const O_APPEND: u64 = 0o2000;
    pub(super) const O_NONBLOCK: u64 = 0o4000;
    pub(super) const O_DSYNC: u64 = 0o10000;
    pub(super) const O_DIRECT: u64 = 0o40000;
    pub(super) const O_LARGEFILE: u64 = 0o100000;
    pub(super) const O_DIRECTORY: u64 = 0o200000;
    pub(super) const O_CLOEXEC: u64 = 0o2000000;
    pub(super) const O_SYNC: u64 = 0o4000000 | O_DSYNC;
    pub(super) const O_TMPFILE: u64 = 0o20000000 | O_DIRECTORY;
    pub(super) const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
    pub(super) const AT_REMOVEDIR: u64 = 0x200;
    pub(super) const AT_SYMLINK_FOLLOW: u64 = 0x400;
    pub(super) const AT_EMPTY_PATH: u64 = 0x1000;
}

/// Linux → PPM bit pairs for the helpers that only move bits around.
type BitMap = [(u64, u32)];

const OPEN_BITS: &BitMap = &[
    (linux::O_CREAT, PPM_O_CREAT),
    (linux::O_TMPFILE, PPM_O_TMPFILE),
    (linux::O_APPEND, PPM_O_APPEND),
    (linux::O_DSYNC, PPM_O_DSYNC),
    (linux::O_EXCL, PPM_O_EXCL),
    (linux::O_NONBLOCK, PPM_O_NONBLOCK),
    (linux::O_SYNC, PPM_O_SYNC),
    (linux::O_TRUNC, PPM_O_TRUNC),
    (linux::O_DIRECT, PPM_O_DIRECT),
    (linux::O_DIRECTORY, PPM_O_DIRECTORY),
    (linux::O_LARGEFILE, PPM_O_LARGEFILE),
    (linux::O_CLOEXEC, PPM_O_CLOEXEC),
];

/// Permission bits: PPM and Linux agree (S_IXOTH = 1 .. S_ISUID = 0o4000).
const MODE_BITS: u64 = 0o7777;

/// Linux `CLONE_*` → `PPM_CL_*`.
const CLONE_BITS: &BitMap = &[
    (0x0000_0400, 1 << 0),  // CLONE_FILES
    (0x0000_0200, 1 << 1),  // CLONE_FS
    (0x8000_0000, 1 << 2),  // CLONE_IO
    (0x0800_0000, 1 << 3),  // CLONE_NEWIPC
    (0x4000_0000, 1 << 4),  // CLONE_NEWNET
    (0x0002_0000, 1 << 5),  // CLONE_NEWNS
    (0x2000_0000, 1 << 6),  // CLONE_NEWPID
    (0x0400_0000, 1 << 7),  // CLONE_NEWUTS
    (0x0010_0000, 1 << 9),  // CLONE_PARENT_SETTID
    (0x0000_8000, 1 << 8),  // CLONE_PARENT
    (0x0000_2000, 1 << 10), // CLONE_PTRACE
    (0x0000_0800, 1 << 11), // CLONE_SIGHAND
    (0x0004_0000, 1 << 12), // CLONE_SYSVSEM
    (0x0001_0000, 1 << 13), // CLONE_THREAD
    (0x0080_0000, 1 << 14), // CLONE_UNTRACED
    (0x0000_0100, 1 << 15), // CLONE_VM
    (0x1000_0000, 1 << 20), // CLONE_NEWUSER
    (0x0020_0000, 1 << 23), // CLONE_CHILD_CLEARTID
    (0x0100_0000, 1 << 24), // CLONE_CHILD_SETTID
    (0x0008_0000, 1 << 25), // CLONE_SETTLS
    (0x0000_4000, 1 << 27), // CLONE_VFORK
    (0x0200_0000, 1 << 28), // CLONE_NEWCGROUP
];

fn map_bits(value: u64, map: &BitMap) -> u32 {
    map.iter()
        .filter(|(linux, _)| value & linux != 0)
        .fold(0, |acc, (_, ppm)| acc | ppm)
}

/// `open_flags_to_scap`.
pub fn open_flags(flags: u64) -> u32 {
    let access = match flags & 3 {
        linux::O_WRONLY => PPM_O_WRONLY,
        linux::O_RDWR => PPM_O_RDWR,
        _ => PPM_O_RDONLY,
    };
    access | map_bits(flags, OPEN_BITS)
}

/// `open_modes_to_scap`: the permission bits when `flags` has `O_CREAT` or (any bit of)
/// `O_TMPFILE`, else 0.
pub fn open_mode(flags: u64, mode: u64) -> u32 {
    if flags & (linux::O_CREAT | linux::O_TMPFILE) == 0 {
        return 0;
    }
    chmod_mode(mode)
}

/// `chmod_mode_to_scap`.
pub fn chmod_mode(mode: u64) -> u32 {
    (mode & MODE_BITS) as u32
}

/// `openat2_resolve_to_scap`: RESOLVE_NO_XDEV=1, NO_MAGICLINKS=2, NO_SYMLINKS=4, BENEATH=8,
/// IN_ROOT=0x10, CACHED=0x20 → PPM BENEATH=1, IN_ROOT=2, NO_MAGICLINKS=4, NO_SYMLINKS=8,
/// NO_XDEV=0x10, CACHED=0x20.
pub fn openat2_resolve(resolve: u64) -> u32 {
    map_bits(
        resolve,
        &[
            (0x01, 1 << 4),
            (0x02, 1 << 2),
            (0x04, 1 << 3),
            (0x08, 1 << 0),
            (0x10, 1 << 1),
            (0x20, 1 << 5),
        ],
    )
}

/// `socket_family_to_scap` of the low byte: Linux and PPM agree on 0..=26 and 29..=39; the
/// others (AF_IB, AF_MPLS, AF_VSOCK, AF_XDP, ...) become `AF_UNSPEC` (0).
pub fn socket_family(domain: u64) -> u32 {
    match (domain & 0xff) as u32 {
        f @ (0..=26 | 29..=39) => f,
        _ => 0,
    }
}

/// `socket_flags_to_scap`: `SOCK_NONBLOCK` (= O_NONBLOCK) and `SOCK_CLOEXEC` (= O_CLOEXEC).
pub fn socket_flags(flags: u64) -> u32 {
    map_bits(
        flags,
        &[
            (linux::O_NONBLOCK, PPM_O_NONBLOCK),
            (linux::O_CLOEXEC, PPM_O_CLOEXEC),
        ],
    )
}

/// `clone_flags_to_scap` (for `unshare` and `setns` too).
pub fn clone_flags(flags: u64) -> u32 {
    map_bits(flags & 0xffff_ffff, CLONE_BITS)
}

/// `ptrace_requests_to_scap`: Linux x86_64 request → `PPM_PTRACE_*` (0 = unknown).
pub fn ptrace_request(request: u64) -> u32 {
    match request {
        0 => 1,       // TRACEME
        1 => 2,       // PEEKTEXT
        2 => 3,       // PEEKDATA
        3 => 4,       // PEEKUSR
        4 => 5,       // POKETEXT
        5 => 6,       // POKEDATA
        6 => 7,       // POKEUSR
        7 => 8,       // CONT
        8 => 9,       // KILL
        9 => 10,      // SINGLESTEP
        16 => 11,     // ATTACH
        17 => 12,     // DETACH
        24 => 13,     // SYSCALL
        0x4200 => 14, // SETOPTIONS
        0x4201 => 15, // GETEVENTMSG
        0x4202 => 16, // GETSIGINFO
        0x4203 => 17, // SETSIGINFO
        0x4204 => 18, // GETREGSET
        0x4205 => 19, // SETREGSET
        0x4206 => 20, // SEIZE
        0x4207 => 21, // INTERRUPT
        0x4208 => 22, // LISTEN
        0x4209 => 23, // PEEKSIGINFO
        0x420a => 24, // GETSIGMASK
        0x420b => 25, // SETSIGMASK
        12 => 26,     // GETREGS
        13 => 27,     // SETREGS
        14 => 28,     // GETFPREGS
        15 => 29,     // SETFPREGS
        18 => 30,     // GETFPXREGS
        19 => 31,     // SETFPXREGS
        21 => 32,     // OLDSETOPTIONS
        25 => 33,     // GET_THREAD_AREA
        26 => 34,     // SET_THREAD_AREA
        30 => 35,     // ARCH_PRCTL
        31 => 36,     // SYSEMU
        32 => 37,     // SYSEMU_SINGLESTEP
        33 => 38,     // SINGLEBLOCK
        _ => 0,
    }
}

/// `PPM_PTRACE_*` requests whose `data` the driver sends as a signal (`PT_SIGTYPE`).
pub const PPM_PTRACE_SIGNAL_DATA: [u32; 4] = [8, 10, 12, 13]; // CONT, SINGLESTEP, DETACH, SYSCALL
/// `PPM_PTRACE_*` requests whose `data` the driver reads from user memory.
pub const PPM_PTRACE_PEEK: [u32; 3] = [2, 3, 4]; // PEEKTEXT, PEEKDATA, PEEKUSR

/// `dup3_flags_to_scap`.
pub fn dup3_flags(flags: u64) -> u32 {
    map_bits(flags, &[(linux::O_CLOEXEC, PPM_O_CLOEXEC)])
}

/// `linkat_flags_to_scap` (PPM values equal Linux ones).
pub fn linkat_flags(flags: u64) -> u32 {
    (flags & (linux::AT_SYMLINK_FOLLOW | linux::AT_EMPTY_PATH)) as u32
}

/// `fchownat_flags_to_scap` (PPM values equal Linux ones).
pub fn fchownat_flags(flags: u64) -> u32 {
    (flags & (linux::AT_SYMLINK_NOFOLLOW | linux::AT_EMPTY_PATH)) as u32
}

/// `unlinkat_flags_to_scap` (PPM value equals Linux one).
pub fn unlinkat_flags(flags: u64) -> u32 {
    (flags & linux::AT_REMOVEDIR) as u32
}

/// `memfd_create_flags_to_scap`: MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB (same values).
pub fn memfd_flags(flags: u64) -> u32 {
    (flags & 0x7) as u32
}

/// `umount2_flags_to_scap`: MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW (same values).
pub fn umount2_flags(flags: u64) -> u32 {
    (flags & 0xf) as u32
}

/// `finit_module_flags_to_scap`: MODULE_INIT_IGNORE_MODVERSIONS, _IGNORE_VERMAGIC,
/// _COMPRESSED_FILE (same values).
pub fn finit_module_flags(flags: u64) -> u32 {
    (flags & 0x7) as u32
}

/// The `mount` driver code: the flags as passed, minus the `MS_MGC_VAL` magic (0xC0ED) in the
/// top 16 bits when present.
pub fn mount_flags(flags: u64) -> u32 {
    let flags = flags as u32;
    if flags & 0xffff_0000 == 0xc0ed_0000 {
        flags & 0x0000_ffff
    } else {
        flags
    }
}

/// `evt.is_open_read` / `evt.is_open_write` for an open with these Linux flags: the PPM
/// `O_RDONLY` / `O_WRONLY` bits of `open_flags` (`O_RDWR` sets both; access mode 3 counts as
/// read-only). libsinsp answers this for `open`, `openat`, `openat2` (and
/// `open_by_handle_at`) only, never for `creat` (`sinsp_filter_check_event`, `TYPE_ISOPEN_*`).
pub fn open_access(flags_linux: u64) -> (bool, bool) {
    let ppm = open_flags(flags_linux);
    (ppm & PPM_O_RDONLY != 0, ppm & PPM_O_WRONLY != 0)
}
