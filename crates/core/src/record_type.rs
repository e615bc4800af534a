//! DNS record types exodns knows how to carry.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! record_types {
    ($($variant:ident),+ $(,)?) => {
        /// A DNS record type. The first ten are the ones exodns plans and validates; the rest are
        /// carried through (read from a provider, written from a DNSEndpoint) without checks on
        /// their content.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[allow(clippy::upper_case_acronyms)]
        #[non_exhaustive]
        pub enum RecordType { $($variant),+ }

        impl RecordType {
            pub const ALL: &'static [RecordType] = &[$(RecordType::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(RecordType::$variant => stringify!($variant)),+ }
            }
        }
    };
}

record_types!(
    A, AAAA, CNAME, TXT, SRV, MX, NS, PTR, CAA, NAPTR, // validated
    ALIAS, DNAME, LUA, TLSA, SSHFP, HTTPS, SVCB, DS, SOA, // carried
);

/// Types upstream ExternalDNS manages by default (`--managed-record-types`).
pub const DEFAULT_MANAGED: &[RecordType] = &[RecordType::A, RecordType::AAAA, RecordType::CNAME];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown record type {0:?}; exodns knows {list}", list = known_list())]
pub struct UnknownRecordType(pub String);

fn known_list() -> String {
    RecordType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
}

impl RecordType {
    /// Lowercase form used in TXT registry names (`a-`, `cname-`, …).
    pub fn lowercase(self) -> String {
        self.as_str().to_ascii_lowercase()
    }

    /// Whether exodns checks the content of targets of this type.
    pub fn is_validated(self) -> bool {
        self <= RecordType::NAPTR
    }

    /// Types whose targets are host names (written absolute by most providers).
    pub fn has_name_targets(self) -> bool {
        matches!(self, RecordType::CNAME | RecordType::NS | RecordType::PTR | RecordType::ALIAS | RecordType::DNAME)
    }
}

impl std::str::FromStr for RecordType {
    type Err = UnknownRecordType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        RecordType::ALL
            .iter()
            .copied()
            .find(|rt| rt.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownRecordType(s.to_owned()))
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RecordType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RecordType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = std::borrow::Cow::<str>::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_case() {
        assert_eq!("cname".parse::<RecordType>().unwrap(), RecordType::CNAME);
        assert_eq!("Naptr".parse::<RecordType>().unwrap(), RecordType::NAPTR);
        assert!("BOGUS".parse::<RecordType>().is_err());
    }

    #[test]
    fn validated_set_is_the_first_ten() {
        let validated: Vec<_> = RecordType::ALL.iter().filter(|t| t.is_validated()).collect();
        assert_eq!(validated.len(), 10);
    }
}
