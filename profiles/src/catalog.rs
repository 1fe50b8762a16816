//! What `deny_shells` and `deny_package_managers` mean: canonical program names.
//!
//! These are names (the last component of the executed path). The enforcement backends also
//! identify the files by inode and device at arming time, so a copied or renamed shell is
//! still caught; names are how they find those files in the image and how user space explains
//! a decision. Programs that run a package manager through an interpreter (`python3 -m pip`)
//! are not caught by name.
//!
//! Multi-call binaries ([`multi_call_binaries`]: busybox, toybox) implement shells *and*
//! ordinary tools in one file: `/bin/sh` and `/bin/ls` are links to the same inode. Backends must
//! decide on the name they are executed as, never on the inode, and treat a direct exec of the
//! multi-call binary itself (`busybox sh -c …`) as a shell spawn when shells are denied.

/// Shell names denied by `deny_shells: true`.
pub fn shells() -> &'static [&'static str] {
    &[
        "sh", "bash", "rbash", "ash", "dash", "zsh", "ksh", "ksh93", "mksh", "pdksh", "oksh", "loksh", "yash", "posh",
        "csh", "tcsh", "fish", "elvish", "nu", "xonsh", "rc", "es",
    ]
}

/// Package-manager names denied by `deny_package_managers: true`: system package managers and
/// the language ones that install code from the network. Versioned Python names (`pip3.12`) are
/// matched by [`is_package_manager`].
pub fn package_managers() -> &'static [&'static str] {
    &[
        // Debian and Ubuntu.
        "apt",
        "apt-get",
        "aptitude",
        "dpkg",
        "dpkg-deb",
        // RPM family.
        "rpm",
        "yum",
        "dnf",
        "dnf5",
        "microdnf",
        "tdnf",
        "zypper",
        // Alpine, Arch, Gentoo, OpenWrt, Void, Nix.
        "apk",
        "pacman",
        "emerge",
        "opkg",
        "xbps-install",
        "nix-env",
        // Languages.
        "pip",
        "pip2",
        "pip3",
        "pipx",
        "easy_install",
        "uv",
        "npm",
        "npx",
        "yarn",
        "pnpm",
        "gem",
        "bundle",
        "composer",
        "conda",
        "mamba",
        "micromamba",
        "cpan",
        "cpanm",
    ]
}

/// Multi-call binaries that contain a shell among their applets.
pub fn multi_call_binaries() -> &'static [&'static str] {
    &["busybox", "toybox"]
}

/// The last component of a path (the whole text if it has no `/`).
pub fn program_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether `path` (or a bare name) is executed as a shell, by name.
pub fn is_shell(path: &str) -> bool {
    let name = program_name(path);
    shells().contains(&name) || multi_call_binaries().contains(&name)
}

/// Whether `path` (or a bare name) is a package manager, by name (`pip3.12` included).
pub fn is_package_manager(path: &str) -> bool {
    let name = program_name(path);
    if package_managers().contains(&name) {
        return true;
    }
    name.strip_prefix("pip").and_then(|v| v.split_once('.')).is_some_and(|(major, minor)| {
        matches!(major, "2" | "3") && !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_paths() {
        assert!(is_shell("/bin/sh"));
        assert!(is_shell("bash"));
        assert!(is_shell("/bin/busybox"));
        assert!(!is_shell("/usr/bin/shasum"));
        assert!(is_package_manager("/usr/bin/apt-get"));
        assert!(is_package_manager("/usr/local/bin/pip3.12"));
        assert!(!is_package_manager("/usr/bin/pip3."));
        assert!(!is_package_manager("/usr/bin/pipe"));
        assert!(!is_package_manager("/usr/sbin/nginx"));
    }

    #[test]
    fn lists_have_no_duplicates_or_paths() {
        for list in [shells(), package_managers(), multi_call_binaries()] {
            let mut v = list.to_vec();
            v.sort_unstable();
            v.dedup();
            assert_eq!(v.len(), list.len());
            assert!(list.iter().all(|n| !n.is_empty() && !n.contains('/')));
        }
    }
}
