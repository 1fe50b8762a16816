//! A process's cgroup v2 id: what `bpf_get_current_cgroup_id()` returns for its tasks.
//!
//! The id is the inode number of the cgroup's directory in the cgroup2 mount (kernfs node id).
//! The mount is `/sys/fs/cgroup` on pure v2 hosts and `/sys/fs/cgroup/unified` on hybrid ones;
//! the process's path in it is the `0::PATH` line of `/proc/PID/cgroup`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("no cgroup2 filesystem mounted (read {0})")]
    NoCgroup2(PathBuf),
    #[error("read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0}: no cgroup v2 (`0::`) line")]
    NoUnifiedLine(PathBuf),
}

/// Where the cgroup2 hierarchy is mounted, and where `/proc` is (tests use a tempdir).
#[derive(Debug, Clone)]
pub struct Cgroups {
    mount: PathBuf,
    proc: PathBuf,
}

/// A cgroup v2 directory and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    /// Path inside the hierarchy, e.g. `/default/web`.
    pub path: String,
    pub id: u64,
}

impl Cgroups {
    /// Finds the cgroup2 mount from `proc/self/mountinfo`.
    pub fn discover(proc: &Path) -> Result<Cgroups, CgroupError> {
        let mountinfo = proc.join("self/mountinfo");
        let text = std::fs::read_to_string(&mountinfo)
            .map_err(|source| CgroupError::Read { path: mountinfo.clone(), source })?;
        // mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS
        let mount = text
            .lines()
            .find_map(|l| {
                let (left, right) = l.split_once(" - ")?;
                (right.split_whitespace().next()? == "cgroup2").then(|| left.split_whitespace().nth(4))?
            })
            .ok_or(CgroupError::NoCgroup2(mountinfo))?;
        Ok(Cgroups { mount: PathBuf::from(mount), proc: proc.to_owned() })
    }

    pub fn new(mount: PathBuf, proc: PathBuf) -> Cgroups {
        Cgroups { mount, proc }
    }

    pub fn mount(&self) -> &Path {
        &self.mount
    }

    /// The cgroup `pid` is in now.
    pub fn of_pid(&self, pid: u32) -> Result<Cgroup, CgroupError> {
        let file = self.proc.join(pid.to_string()).join("cgroup");
        let text = std::fs::read_to_string(&file).map_err(|source| CgroupError::Read { path: file.clone(), source })?;
        let path = text
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .ok_or(CgroupError::NoUnifiedLine(file))?
            .to_owned();
        let id = self.id_of(&path)?;
        Ok(Cgroup { path, id })
    }

    /// The id of the cgroup at `path` in the hierarchy.
    pub fn id_of(&self, path: &str) -> Result<u64, CgroupError> {
        let dir = self.mount.join(path.trim_start_matches('/'));
        std::fs::metadata(&dir).map(|m| m.ino()).map_err(|source| CgroupError::Read { path: dir, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_mount_and_a_pids_cgroup() {
        let dir = std::env::temp_dir().join(format!("palisade-cgroup-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let proc = dir.join("proc");
        let mount = dir.join("unified");
        std::fs::create_dir_all(proc.join("self")).expect("mkdir");
        std::fs::create_dir_all(proc.join("42")).expect("mkdir");
        std::fs::create_dir_all(mount.join("default/web")).expect("mkdir");
        std::fs::write(
            proc.join("self/mountinfo"),
            format!(
                "30 25 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n\
                 35 25 0:31 / {} rw,relatime - cgroup2 cgroup2 rw\n",
                mount.display()
            ),
        )
        .expect("mountinfo");
        std::fs::write(proc.join("42/cgroup"), "4:memory:/default/web\n0::/default/web\n").expect("cgroup");
        let cgroups = Cgroups::discover(&proc).expect("discover");
        assert_eq!(cgroups.mount(), mount);
        let cg = cgroups.of_pid(42).expect("of_pid");
        assert_eq!(cg.path, "/default/web");
        assert_eq!(cg.id, std::fs::metadata(mount.join("default/web")).expect("stat").ino());
        let e = cgroups.of_pid(43).expect_err("no such pid");
        assert!(e.to_string().starts_with(&format!("read {}", proc.join("43/cgroup").display())), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
