//! Falco's `file_output`: one line per alert appended to a file.
//!
//! A batch of alerts is one `write` of their lines on an `O_APPEND` descriptor (the worker takes
//! every queued alert at once), so lines from other writers never interleave inside a batch;
//! after a short write, the lines wholly written count delivered and the rest failed.
//!
//! With `keep_alive` the file is opened once at start (a rename or delete leaves us writing to
//! the old inode, as Falco does); without, it is opened, appended and closed per batch, so the
//! next batch after a rotation creates a new file.
//! The directory is never created: a missing one is a start error.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::outputs::{Delivery, Sink};
use crate::stdout::{delivery, terminated, write_counted, Lines};
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

    fn deliver_batch(&mut self, batch: &[Arc<Message>]) -> Delivery<FileError> {
        let lines = Lines::of(batch);
        let mut file = match self.file.take() {
            Some(file) => file,
            None => match open(&self.path) {
                Ok(file) => file,
                Err(e) => return Delivery { delivered: 0, failed: batch.len() as u64, error: Some(e) },
            },
        };
        let result = write_counted(&mut file, &lines.buf)
            .map_err(|(n, source)| (n, FileError::Write { path: self.path.clone(), source }));
        if self.keep_alive && result.is_ok() {
            self.file = Some(file);
        }
        delivery(&lines, result)
    }

    fn close(&mut self) -> u64 {
        self.file = None;
        0
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
