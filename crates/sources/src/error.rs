//! Errors of the sources crate.
//!
//! Bad *objects* never become an [`Error`]: they become [`exodns_core::Invalid`] diagnostics in a
//! [`crate::SourceOutput`], and the rest of the sync goes on. An [`Error`] is about the
//! configuration (a flag) or about a manifest file or document that could not be read at all.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A flag of [`crate::SourceFlags`] holds a value exodns cannot use.
    #[error("{flag}: {reason}")]
    Config { flag: &'static str, reason: String },

    /// `--source` names a source exodns does not know.
    #[error("unknown source {name:?}; exodns knows {known}")]
    UnknownSource { name: String, known: String },

    /// A manifest file or folder could not be read.
    #[error("{path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// One document (or one item of a `List`) of a manifest file could not be decoded; the
    /// other documents of the file still load.
    /// `document` counts from 1 and starts at `line`; `item` is the index in a `List`.
    #[error(
        "{path}:{line}: document {document}{item}: {reason}",
        path = path.display(),
        item = item.map(|i| format!(", item {i}")).unwrap_or_default()
    )]
    Manifest { path: PathBuf, line: usize, document: usize, item: Option<usize>, reason: String },
}

impl Error {
    pub fn config(flag: &'static str, reason: impl Into<String>) -> Self {
        Error::Config { flag, reason: reason.into() }
    }
}
