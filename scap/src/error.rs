//! The reader's errors. Every one that comes from the bytes carries the byte offset (in the
//! decompressed stream) where reading went wrong and what was expected there.

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScapError {
    /// The input ended inside a structure.
    #[error("at byte {offset}: truncated {what}: needs {needed} bytes, {available} left")]
    Truncated {
        /// Where the structure (or the field) starts.
        offset: u64,
        /// What was being read.
        what: &'static str,
        /// Bytes it needs.
        needed: u64,
        /// Bytes there were.
        available: u64,
    },
    /// A value that breaks the format's rules.
    #[error("at byte {offset}: bad {what}: expected {expected}, found {found}")]
    Invalid {
        /// Where the value is.
        offset: u64,
        /// Which value.
        what: &'static str,
        /// What the format requires.
        expected: String,
        /// What the file has.
        found: String,
    },
    /// The gzip layer is corrupt or cut short.
    #[error("at compressed byte {compressed_offset} (decompressed byte {offset}): gzip stream: {message}")]
    Gzip {
        /// Decompressed bytes produced before the failure.
        offset: u64,
        /// Compressed bytes consumed before the failure.
        compressed_offset: u64,
        /// The decoder's message.
        message: String,
    },
    /// The decompressed capture is larger than the configured limit.
    #[error("at byte {limit}: the decompressed capture exceeds the {limit}-byte limit")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl ScapError {
    /// The byte offset the error is about (decompressed stream), when it has one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            ScapError::Truncated { offset, .. } | ScapError::Invalid { offset, .. } | ScapError::Gzip { offset, .. } => {
                Some(*offset)
            }
            ScapError::TooLarge { limit } => Some(*limit),
            ScapError::Io { .. } => None,
        }
    }

    pub(crate) fn invalid(offset: u64, what: &'static str, expected: impl Into<String>, found: impl ToString) -> ScapError {
        ScapError::Invalid { offset, what, expected: expected.into(), found: found.to_string() }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, ScapError>;
