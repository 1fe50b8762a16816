//! Capability sets as libsinsp renders `thread.cap_*`: the names of the set bits, in bit
//! order, separated by spaces (`CAP_CHOWN CAP_DAC_OVERRIDE ...`). Names from
//! `include/uapi/linux/capability.h`; an unknown bit renders as `CAP_<n>`.

const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The set bits of `set` as capability names.
pub fn names(set: u64) -> String {
    (0..64)
        .filter(|bit| set & (1 << bit) != 0)
        .map(|bit| NAMES.get(bit).map_or_else(|| format!("CAP_{bit}"), |n| (*n).to_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_set_bits_in_order() {
        assert_eq!(names(0), "");
        assert_eq!(names(1 << 21 | 1), "CAP_CHOWN CAP_SYS_ADMIN");
        assert_eq!(names(1 << 40 | 1 << 39), "CAP_BPF CAP_CHECKPOINT_RESTORE");
        assert_eq!(names(1 << 45), "CAP_45");
        // A root shell's full set (0x1ffffffffff on this kernel) names all 41.
        assert_eq!(names(0x1ff_ffff_ffff).split(' ').count(), 41);
    }
}
