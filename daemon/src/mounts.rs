//! The pseudo filesystems the daemon relies on, mounted when missing (minimal hosts and
//! containers often lack them): bpffs at /sys/fs/bpf and tracefs at /sys/kernel/tracing.

use std::path::Path;

use nix::mount::{mount, MsFlags};

/// (filesystem type, mount point).
const NEEDED: [(&str, &str); 2] = [("bpf", "/sys/fs/bpf"), ("tracefs", "/sys/kernel/tracing")];

/// Whether a filesystem of `fstype` is mounted at `target` according to `mountinfo` text.
fn is_mounted(mountinfo: &str, fstype: &str, target: &str) -> bool {
    // mountinfo: "id parent major:minor root mount-point options ... - fstype source ..."
    mountinfo.lines().any(|l| {
        let mut fields = l.split(' ');
        let mount_point = fields.nth(4);
        let fs = l.split(" - ").nth(1).and_then(|rest| rest.split(' ').next());
        mount_point == Some(target) && fs == Some(fstype)
    })
}

/// Mount every needed filesystem that is missing; returns what was mounted, and an error
/// text for each that could not be.
pub fn ensure() -> (Vec<&'static str>, Vec<String>) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let (mut mounted, mut failed) = (Vec::new(), Vec::new());
    for (fstype, target) in NEEDED {
        if is_mounted(&info, fstype, target) {
            continue;
        }
        let result = if Path::new(target).is_dir() {
            mount(Some(fstype), target, Some(fstype), MsFlags::empty(), None::<&str>).map_err(|e| e.to_string())
        } else {
            Err("mount point missing".to_owned())
        };
        match result {
            Ok(()) => mounted.push(target),
            Err(e) => failed.push(format!("{fstype} at {target}: {e}")),
        }
    }
    (mounted, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mountinfo_lines() {
        let info = "36 25 0:31 / /sys/fs/bpf rw,nosuid shared:9 - bpf bpf rw,mode=700\n\
                    40 25 0:12 / /sys/kernel/tracing rw shared:16 - tracefs tracefs rw\n";
        assert!(is_mounted(info, "bpf", "/sys/fs/bpf"));
        assert!(is_mounted(info, "tracefs", "/sys/kernel/tracing"));
        assert!(!is_mounted(info, "tracefs", "/sys/fs/bpf"));
        assert!(!is_mounted("", "bpf", "/sys/fs/bpf"));
    }
}
