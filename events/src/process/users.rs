//! User and group names from the host's `/etc/passwd` and `/etc/group`, with each user's home
//! directory and login shell (`user.homedir`, `user.shell`).
//! (Containers' own files are read once the container registry knows their root.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// (id, name) pairs.
pub(super) type IdNames = Vec<(u32, String)>;

/// uid → name and gid → name maps.
#[derive(Debug, Default, Clone)]
pub struct Users {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
    /// uid → (home directory, login shell), from passwd's 6th and 7th fields; a capture's user
    /// list does not carry them.
    logins: HashMap<u32, (String, String)>,
}

/// uid → (home, shell) from passwd text.
fn parse_logins(text: &str) -> HashMap<u32, (String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let id = f.get(2)?.parse().ok()?;
            Some((id, ((*f.get(5)?).to_owned(), (*f.get(6)?).to_owned())))
        })
        .collect()
}

fn parse(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id = f.nth(1)?.parse().ok()?;
            Some((id, name.to_owned()))
        })
        .collect()
}

impl Users {
    /// Read `etc/passwd` and `etc/group` under `root` (missing files give empty maps).
    pub fn load(root: &Path) -> Users {
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_default();
        Users::parse(&read("etc/passwd"), &read("etc/group"))
    }

    /// The host's users: those of the root of pid 1 under `proc` (`/proc/1/root`, the node's
    /// root even when the daemon runs in a container of its own, with the host's pid namespace
    /// as its DaemonSet has), else those of `/` (where pid 1's root cannot be read). Returns
    /// the root read too.
    pub fn load_host(proc: &Path) -> (Users, PathBuf) {
        let init_root = proc.join("1/root");
        let root = if std::fs::File::open(init_root.join("etc/passwd")).is_ok() { init_root } else { PathBuf::from("/") };
        (Users::load(&root), root)
    }

    /// Users and groups from the text of a passwd and a group file.
    pub fn parse(passwd: &str, group: &str) -> Users {
        Users { users: parse(passwd), groups: parse(group), logins: parse_logins(passwd) }
    }

    /// Names from lists of (uid, name) and (gid, name), as a capture's user list holds them.
    pub fn from_lists(users: impl IntoIterator<Item = (u32, String)>, groups: impl IntoIterator<Item = (u32, String)>) -> Users {
        Users { users: users.into_iter().collect(), groups: groups.into_iter().collect(), logins: HashMap::new() }
    }

    /// The (uid, name) and (gid, name) lists, sorted by id: what a capture stores.
    pub fn lists(&self) -> (IdNames, IdNames) {
        let sorted = |m: &HashMap<u32, String>| {
            let mut v: Vec<(u32, String)> = m.iter().map(|(k, n)| (*k, n.clone())).collect();
            v.sort();
            v
        };
        (sorted(&self.users), sorted(&self.groups))
    }

    /// A user's name.
    pub fn user(&self, uid: u32) -> Option<&str> {
        self.users.get(&uid).map(String::as_str)
    }

    /// A user's home directory (`user.homedir`).
    pub fn homedir(&self, uid: u32) -> Option<&str> {
        self.logins.get(&uid).map(|(home, _)| home.as_str())
    }

    /// A user's login shell (`user.shell`).
    pub fn shell(&self, uid: u32) -> Option<&str> {
        self.logins.get(&uid).map(|(_, shell)| shell.as_str())
    }

    /// A group's name.
    pub fn group(&self, gid: u32) -> Option<&str> {
        self.groups.get(&gid).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passwd_lines() {
        let m = parse("root:x:0:0:root:/root:/bin/bash\n# c\nnobody:x:65534:65534::/:/sbin/nologin\n");
        assert_eq!(m.get(&0).map(String::as_str), Some("root"));
        assert_eq!(m.get(&65534).map(String::as_str), Some("nobody"));
    }

    /// In a pod (host pid namespace), pid 1's root is the node's: its users are the host's,
    /// not the image's; where it cannot be read, `/`'s are.
    #[test]
    fn host_users_come_from_pid_1s_root() {
        let proc = std::env::temp_dir().join(format!("palisade-users-{}", std::process::id()));
        std::fs::create_dir_all(proc.join("1/root/etc")).expect("fake proc");
        std::fs::write(proc.join("1/root/etc/passwd"), "nodeadmin:x:1234:1234::/:/bin/sh\n").expect("passwd");
        let (users, root) = Users::load_host(&proc);
        assert_eq!((users.users.get(&1234).map(String::as_str), root), (Some("nodeadmin"), proc.join("1/root")));
        std::fs::remove_dir_all(proc.join("1")).expect("cleanup");
        let (_, root) = Users::load_host(&proc);
        assert_eq!(root, PathBuf::from("/"));
        let _ = std::fs::remove_dir_all(&proc);
    }
}
