//! How a record's name and targets were written, where that differs from their canonical form.
//!
//! exodns plans on canonical text (lowercase names without the trailing dot, TXT values quoted).
//! Upstream ExternalDNS plans on the text as the source wrote it and puts that text on the
//! webhook wire: `Web.Example.org`, `0 50 5060 sip.example.org.`, `hello world`. Third-party
//! webhook providers are written against upstream's form, so the webhook client sends the
//! spelling an endpoint carries. Comparisons ignore it: two spellings of one record are one
//! record.

use std::hash::{Hash, Hasher};

/// The written forms of an endpoint's name and targets; empty for most endpoints (written as
/// their canonical form), so it costs one pointer.
#[derive(Debug, Clone, Default)]
pub struct Spelling(Option<Box<Written>>);

#[derive(Debug, Clone, Default)]
struct Written {
    name: Option<Box<str>>,
    /// (canonical target, written target): follows its target through merges and reorders.
    targets: Vec<(String, String)>,
}

impl Spelling {
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    fn written(&mut self) -> &mut Written {
        self.0.get_or_insert_with(Box::default)
    }

    /// The name as written, if it differs from `canonical`.
    pub fn name(&self) -> Option<&str> {
        self.0.as_ref()?.name.as_deref()
    }

    /// Records that the name `canonical` was written `written`.
    pub fn set_name(&mut self, canonical: &str, written: &str) {
        if written != canonical {
            self.written().name = Some(written.into());
        } else if let Some(w) = &mut self.0 {
            w.name = None;
        }
    }

    /// The target `canonical` as written.
    pub fn target<'a>(&'a self, canonical: &'a str) -> &'a str {
        match &self.0 {
            Some(w) => w.targets.iter().find(|(c, _)| c == canonical).map_or(canonical, |(_, t)| t.as_str()),
            None => canonical,
        }
    }

    /// Records that the target `canonical` was written `written` (the first spelling stays).
    pub fn set_target(&mut self, canonical: &str, written: &str) {
        if written == canonical || self.0.as_ref().is_some_and(|w| w.targets.iter().any(|(c, _)| c == canonical)) {
            return;
        }
        self.written().targets.push((canonical.to_owned(), written.to_owned()));
    }

    /// Takes the target spellings of `other` that this one lacks (merging endpoints).
    pub fn merge_targets(&mut self, other: &Spelling) {
        if let Some(o) = &other.0 {
            for (c, t) in &o.targets {
                self.set_target(c, t);
            }
        }
    }
}

/// Spellings never make two endpoints differ.
impl PartialEq for Spelling {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Spelling {}

impl Hash for Spelling {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_what_differs_and_the_first_spelling() {
        let mut s = Spelling::default();
        s.set_name("web.example.org", "web.example.org");
        s.set_target("\"a\"", "\"a\"");
        assert!(s.is_empty());
        s.set_name("web.example.org", "Web.Example.org");
        s.set_target("lb.example.net", "LB.example.net.");
        s.set_target("lb.example.net", "lb.example.net");
        assert_eq!(s.name(), Some("Web.Example.org"));
        assert_eq!(s.target("lb.example.net"), "LB.example.net.");
        assert_eq!(s.target("other.example.net"), "other.example.net");
        assert_eq!(s, Spelling::default());
    }
}
