//! Errors of the core crate.
//!
//! Bad input never panics: it becomes an [`Invalid`] that names the object, the field and what
//! is wrong, so the caller can report it and go on with the rest of the sync.

use std::fmt;

use crate::object::ObjectRef;
use crate::record_type::RecordType;

/// Longest part of a rejected value quoted back in a message; long junk stays readable.
const MAX_QUOTED: usize = 80;

/// What kind of input was rejected, for metrics and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidKind {
    Name,
    Target,
    Ttl,
    RecordType,
    Annotation,
    TxtValue,
    SetIdentifier,
    Object,
    /// A field of a failover policy (FailoverRecord).
    Failover,
}

impl InvalidKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidKind::Name => "name",
            InvalidKind::Target => "target",
            InvalidKind::Ttl => "ttl",
            InvalidKind::RecordType => "record_type",
            InvalidKind::Annotation => "annotation",
            InvalidKind::TxtValue => "txt_value",
            InvalidKind::SetIdentifier => "set_identifier",
            InvalidKind::Object => "object",
            InvalidKind::Failover => "failover",
        }
    }
}

/// One piece of rejected input: where it came from, which field, the value, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub kind: InvalidKind,
    /// Boxed: most diagnostics are built and dropped without one, and a small error keeps
    /// `Result`s small.
    pub object: Option<Box<ObjectRef>>,
    pub field: String,
    pub value: String,
    pub reason: String,
    /// The type of the record the input was for, when known (a bad target of an MX entry).
    pub record_type: Option<RecordType>,
}

impl Invalid {
    pub fn new(kind: InvalidKind, field: impl Into<String>, value: &str, reason: impl Into<String>) -> Self {
        Self {
            kind,
            object: None,
            field: field.into(),
            value: quote_value(value),
            reason: reason.into(),
            record_type: None,
        }
    }

    /// Says which type of record the input was for (kept if one is already set).
    pub fn for_type(mut self, rt: RecordType) -> Self {
        self.record_type.get_or_insert(rt);
        self
    }

    /// Attaches the object the input came from (kept if one is already set).
    pub fn on(mut self, object: &ObjectRef) -> Self {
        if self.object.is_none() {
            self.object = Some(Box::new(object.clone()));
        }
        self
    }

    /// Replaces the field with a more precise path (`spec.endpoints[2].dnsName`).
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

fn quote_value(value: &str) -> String {
    if value.chars().count() <= MAX_QUOTED {
        return value.to_owned();
    }
    let mut cut: String = value.chars().take(MAX_QUOTED).collect();
    cut.push('…');
    cut
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(object) = &self.object {
            write!(f, "{object}: ")?;
        }
        write!(f, "{} {:?}: {}", self.field, self.value, self.reason)
    }
}

impl std::error::Error for Invalid {}

/// Errors of configuration and codecs in the core crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{flag}: {reason}")]
    Config { flag: &'static str, reason: String },
}

impl Error {
    pub fn config(flag: &'static str, reason: impl Into<String>) -> Self {
        Error::Config { flag, reason: reason.into() }
    }
}

/// An error and its sources on one line (`a: b: c`), without repeating a source that the message
/// already quotes: for the errors of HTTP and Kubernetes clients, whose own message is often only
/// "error sending request".
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Layer(&'static str, #[source] Option<Box<Layer>>);

    #[test]
    fn error_chain_joins_sources_once() {
        let inner = Layer("connection refused", None);
        let middle = Layer("tcp connect error: connection refused", Some(Box::new(inner)));
        let outer = Layer("error sending request", Some(Box::new(middle)));
        assert_eq!(error_chain(&outer), "error sending request: tcp connect error: connection refused");
        assert_eq!(error_chain(&Layer("alone", None)), "alone");
    }
}
