//! Source kinds that read no cluster objects (upstream's `empty`, `fake` and `connector`): each
//! makes its endpoints itself, anew at every sync, and is described by a type implementing
//! [`Direct`], listed once in `direct_kinds!` (`crate::kind`). They have no watches, no RBAC rules
//! and no objects of their own: the whole output of one is one object, [`Reader::object`], which
//! diagnostics name.

use exodns_core::ObjectRef;
use exodns_core::source::SourceOutput;

use crate::config::SourceConfig;
use crate::error::Error;

/// A source kind that reads no cluster objects, described once.
pub trait Direct: 'static {
    /// The `--source` name (upstream's).
    const NAME: &'static str;
    /// What it reads, for `--help`-like listings and docs.
    const READS: &'static str;

    /// Its reader for these flags (a flag it cannot use is an error naming the flag).
    fn reader(cfg: &SourceConfig) -> Result<Box<dyn Reader>, Error>;
}

/// Reads the endpoints of a direct source once. It may block (the connector's network read), so
/// callers run it away from their event loop.
pub trait Reader: Send {
    /// The object its output is attributed to in diagnostics and `resource` labels it gives
    /// (`connector/127.0.0.1:8080`).
    fn object(&self) -> ObjectRef;

    /// The endpoints now, unmerged, with the input it refused; `Err` when nothing could be
    /// read (the sync then deletes nothing).
    fn read(&mut self) -> Result<SourceOutput, ReadError>;
}

/// Nothing could be read: `what` names where from, `reason` what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct ReadError {
    pub what: String,
    pub reason: String,
}

/// `--source=empty`: no endpoints, ever (a placeholder, as upstream's).
pub struct EmptySource;

impl Direct for EmptySource {
    const NAME: &'static str = "empty";
    const READS: &'static str = "nothing";

    fn reader(_cfg: &SourceConfig) -> Result<Box<dyn Reader>, Error> {
        Ok(Box::new(EmptySource))
    }
}

impl Reader for EmptySource {
    fn object(&self) -> ObjectRef {
        ObjectRef::cluster(Self::NAME, Self::NAME)
    }

    fn read(&mut self) -> Result<SourceOutput, ReadError> {
        Ok(SourceOutput::default())
    }
}
