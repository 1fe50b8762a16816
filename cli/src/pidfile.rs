//! Falco's pid file: `palisade run --pidfile FILE` (default [`DEFAULT_PIDFILE`]) holds the
//! daemon's pid, so `kill -1 $(cat /var/run/palisade.pid)` reloads as Falco users do.
//!
//! Written once the daemon serves (its rules loaded, its hook socket up), through a temporary
//! file renamed over the path, so a reader never sees a half-written pid. Removed at a clean
//! stop only while it still holds this daemon's pid: another daemon (with its own hook socket)
//! may have written the same path since, and its file must stay.

use std::path::{Path, PathBuf};

/// Falco's `/var/run/falco.pid`, Palisade-named.
pub(crate) const DEFAULT_PIDFILE: &str = "/var/run/palisade.pid";

/// The pid file this daemon wrote; dropping it removes the file if it is still ours.
#[derive(Debug)]
pub(crate) struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Writes this process's pid to `path`.
    pub(crate) fn write(path: &Path) -> std::io::Result<PidFile> {
        let pid = std::process::id();
        let tmp = path.with_extension(format!("pid.{pid}.tmp"));
        std::fs::write(&tmp, format!("{pid}\n"))?;
        if let Err(e) = std::fs::rename(&tmp, path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(PidFile { path: path.to_owned(), pid })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let ours = std::fs::read_to_string(&self.path).is_ok_and(|s| s.trim() == self.pid.to_string());
        if ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e, "removing the pid file");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_then_removed_only_while_ours() {
        let dir = std::env::temp_dir().join(format!("palisade-pidfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("palisade.pid");
        let file = PidFile::write(&path).expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), format!("{}\n", std::process::id()));
        drop(file);
        assert!(!path.exists(), "removed at stop");
        let file = PidFile::write(&path).expect("write");
        std::fs::write(&path, "1\n").expect("another daemon's pid");
        drop(file);
        assert_eq!(std::fs::read_to_string(&path).expect("kept"), "1\n", "another daemon's file stays");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
