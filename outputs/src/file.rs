//! Falco's `file_output`: one line per alert appended to a file.
//!
//! Each alert is one `write` of the line and its newline on an `O_APPEND` descriptor, so lines
//! from other writers never interleave inside ours. With `keep_alive` the file is opened once at
//! start (a rename or delete leaves us writing to the old inode, as Falco does); without, it is
//! opened, appended and closed per alert, so the next alert after a rotation creates a new file.
//! The directory is never created: a missing one is a start error.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::outputs::Sink;
use crate::stdout::terminated;
use crate::{FileSettings, Message};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("file output: no file name given")]
    NoPath,
    #[error("file output: directory {dir} of {path} does not exist")]
    MissingDir { path: PathBuf, dir: PathBuf },
    #[error("file output: {dir} (directory of {path}) is not a directory")]
    NotDir { path: PathBuf, dir: PathBuf },
    #[error("file output: cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("file output: cannot append to {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

pub(crate) struct FileSink {
    path: PathBuf,
    keep_alive: bool,
    /// The open file with `keep_alive` (reopened at the next alert after a failed write).
    file: Option<File>,
}

fn open(path: &Path) -> Result<File, FileError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|source| FileError::Open { path: path.to_path_buf(), source })
}

impl FileSink {
    pub(crate) fn new(settings: &FileSettings) -> Result<Self, FileError> {
        let path = settings.path.clone();
        if path.as_os_str().is_empty() {
            return Err(FileError::NoPath);
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match dir.metadata() {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(FileError::NotDir { path, dir }),
            Err(_) => return Err(FileError::MissingDir { path, dir }),
        }
        let file = if settings.keep_alive { Some(open(&path)?) } else { None };
        Ok(FileSink { path, keep_alive: settings.keep_alive, file })
    }
}

impl Sink for FileSink {
    type Error = FileError;

    fn deliver(&mut self, msg: &Message) -> Result<(), FileError> {
        let mut file = match self.file.take() {
            Some(file) => file,
            None => open(&self.path)?,
        };
        file.write_all(&terminated(&msg.line))
            .map_err(|source| FileError::Write { path: self.path.clone(), source })?;
        if self.keep_alive {
            self.file = Some(file);
        }
        Ok(())
    }

    fn close(&mut self) {
        self.file = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_directory_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nope").join("events.txt");
        let settings = FileSettings { path: path.clone(), keep_alive: false };
        let err = FileSink::new(&settings).err().expect("an error");
        assert!(matches!(err, FileError::MissingDir { .. }), "{err}");
        let text = err.to_string();
        assert!(text.starts_with("file output: directory "), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
    }

    #[test]
    fn file_as_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").expect("write");
        let settings = FileSettings { path: plain.join("events.txt"), keep_alive: true };
        let err = FileSink::new(&settings).err().expect("an error");
        assert!(matches!(err, FileError::NotDir { .. }), "{err}");
    }
}
