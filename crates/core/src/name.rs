//! DNS names as exodns keeps them: lowercase, ASCII (IDNA → punycode), no trailing dot.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Invalid, InvalidKind};

/// Longest name in presentation form without the trailing dot (RFC 1035: 255 octets on the
/// wire, which is 253 characters of text).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is {len} characters long; DNS allows {MAX_NAME_LEN}")]
    TooLong { len: usize },
    #[error("label {label:?} is {len} characters long; DNS allows {MAX_LABEL_LEN}")]
    LabelTooLong { label: String, len: usize },
    #[error("the name has an empty label (two dots in a row, or a leading dot)")]
    EmptyLabel,
    #[error("label {label:?} has the character {ch:?}; names take letters, digits, '-' and '_'")]
    BadChar { label: String, ch: char },
    #[error("label {label:?} starts or ends with '-'")]
    EdgeHyphen { label: String },
    #[error("'*' is allowed only as the whole first label")]
    MisplacedWildcard,
    /// `999.1.1.1`, `300.300.300.300`, `host.123`: no top-level domain is all digits (RFC 3696
    /// §2), so such text is a mistyped address, never a name to publish or point at.
    #[error("the last label {label:?} is all digits: this is neither an IPv4 address nor a host name")]
    NumericTld { label: String },
    #[error(
        "the name holds Unicode that IDNA (UTS #46) refuses (a mark or control character where no host name may have one): {0}"
    )]
    Idna(String),
}

impl NameError {
    /// Turns the error into a diagnostic about `field` holding `value`.
    pub fn invalid(self, field: impl Into<String>, value: &str) -> Invalid {
        Invalid::new(InvalidKind::Name, field, value, self.to_string())
    }
}

/// A normalised DNS name. Two names that mean the same thing compare equal.
///
/// Shared, not copied: one name is held by the desired index, the planned changes, the
/// ownership TXT and the record cache at once, so a clone is a reference count.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsName(Arc<str>);

impl DnsName {
    /// Parses and normalises a name: trims spaces and one trailing dot, lowercases, converts
    /// Unicode labels to punycode, then checks lengths, characters and wildcard placement.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let trimmed = input.trim();
        let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        let ascii = if trimmed.is_ascii() { trimmed.to_ascii_lowercase() } else { to_punycode(trimmed)? };
        validate(&ascii)?;
        Ok(DnsName(ascii.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name with its trailing dot, as zone files and most DNS APIs want it.
    pub fn fqdn(&self) -> String {
        let mut s = String::with_capacity(self.0.len() + 1);
        s.push_str(&self.0);
        s.push('.');
        s
    }

    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    pub fn first_label(&self) -> &str {
        self.0.split('.').next().unwrap_or_default()
    }

    /// Everything after the first label, if there is anything.
    pub fn parent(&self) -> Option<&str> {
        self.0.split_once('.').map(|(_, rest)| rest)
    }

    pub fn is_wildcard(&self) -> bool {
        &*self.0 == "*" || self.0.starts_with("*.")
    }

    /// True when `self` is `zone` or lies under it (`a.b.example.org` under `example.org`).
    pub fn is_within(&self, zone: &str) -> bool {
        let zone = zone.strip_suffix('.').unwrap_or(zone);
        if zone.is_empty() {
            return true;
        }
        match self.0.len().cmp(&zone.len()) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => self.0.eq_ignore_ascii_case(zone),
            std::cmp::Ordering::Greater => {
                let cut = self.0.len() - zone.len();
                self.0.as_bytes()[cut - 1] == b'.' && self.0[cut..].eq_ignore_ascii_case(zone)
            }
        }
    }
}

fn to_punycode(name: &str) -> Result<String, NameError> {
    // A leading wildcard is not IDNA; convert the rest only.
    let (wild, rest) = match name.strip_prefix("*.") {
        Some(rest) => ("*.", rest),
        None => ("", name),
    };
    let converted = idna::domain_to_ascii(rest).map_err(|e| NameError::Idna(e.to_string()))?;
    Ok(format!("{wild}{converted}"))
}

fn validate(name: &str) -> Result<(), NameError> {
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { len: name.len() });
    }
    for (index, label) in name.split('.').enumerate() {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong { label: label.to_owned(), len: label.len() });
        }
        if label == "*" {
            if index != 0 {
                return Err(NameError::MisplacedWildcard);
            }
            continue;
        }
        if let Some(ch) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
            return Err(if ch == '*' {
                NameError::MisplacedWildcard
            } else {
                NameError::BadChar { label: label.to_owned(), ch }
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(NameError::EdgeHyphen { label: label.to_owned() });
        }
    }
    let last = name.rsplit('.').next().unwrap_or_default();
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NameError::NumericTld { label: last.to_owned() });
    }
    Ok(())
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::str::FromStr for DnsName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DnsName::parse(s)
    }
}

impl AsRef<str> for DnsName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for DnsName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DnsName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = std::borrow::Cow::<str>::deserialize(deserializer)?;
        DnsName::parse(&raw).map_err(|e| serde::de::Error::custom(format!("dnsName {raw:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_dot_and_spaces() {
        assert_eq!(DnsName::parse(" WWW.Example.ORG. ").unwrap().as_str(), "www.example.org");
    }

    #[test]
    fn converts_unicode_to_punycode() {
        assert_eq!(DnsName::parse("bücher.example").unwrap().as_str(), "xn--bcher-kva.example");
        assert_eq!(DnsName::parse("*.bücher.example").unwrap().as_str(), "*.xn--bcher-kva.example");
    }

    #[test]
    fn wildcard_only_as_whole_first_label() {
        assert!(DnsName::parse("*.example.org").unwrap().is_wildcard());
        assert_eq!(DnsName::parse("a.*.example.org"), Err(NameError::MisplacedWildcard));
        assert_eq!(DnsName::parse("a*.example.org"), Err(NameError::MisplacedWildcard));
    }

    #[test]
    fn enforces_lengths() {
        let label = "a".repeat(64);
        assert!(matches!(DnsName::parse(&format!("{label}.org")), Err(NameError::LabelTooLong { len: 64, .. })));
        let long = vec!["abcdefghi"; 26].join(".");
        assert!(matches!(DnsName::parse(&long), Err(NameError::TooLong { len: 259 })));
        assert!(DnsName::parse(&format!("{}.org", "a".repeat(63))).is_ok());
    }

    #[test]
    fn refuses_an_all_digit_last_label() {
        for bad in ["999.1.1.1", "300.300.300.300", "1.2.3", "host.123", "10"] {
            assert!(matches!(DnsName::parse(bad), Err(NameError::NumericTld { .. })), "{bad}");
        }
        assert!(DnsName::parse("1.2.3.4.in-addr.arpa").is_ok());
        assert!(DnsName::parse("123.example.org").is_ok());
        assert!(DnsName::parse("x.a1").is_ok());
    }

    #[test]
    fn within_zone() {
        let n = DnsName::parse("a.b.example.org").unwrap();
        assert!(n.is_within("example.org"));
        assert!(n.is_within("example.org."));
        assert!(n.is_within("a.b.example.org"));
        assert!(!n.is_within("ample.org"));
        assert!(!n.is_within("x.example.org"));
    }
}
