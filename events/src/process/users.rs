//! User and group names from the host's `/etc/passwd` and `/etc/group`, with each user's home
//! directory and login shell (`user.homedir`, `user.shell`).
//! (Containers' own files are read once the container registry knows their root.)

use std::collections::HashMap;
use std::path::Path;

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
}
