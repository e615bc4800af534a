//! Finding the zone a name belongs to: the longest zone that contains it.

use crate::name::DnsName;

/// Zone names (lowercase, no trailing dot), searched longest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneIndex {
    zones: Vec<String>,
}

impl ZoneIndex {
    pub fn new(zones: impl IntoIterator<Item = String>) -> Self {
        let mut zones: Vec<String> = zones.into_iter().map(|z| z.trim_end_matches('.').to_ascii_lowercase()).collect();
        // Longest first, so that `sub.example.org` wins over `example.org`.
        zones.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        zones.dedup();
        ZoneIndex { zones }
    }

    pub fn zone_of(&self, name: &DnsName) -> Option<&str> {
        self.zones.iter().find(|z| name.is_within(z)).map(String::as_str)
    }

    /// Whether `name` is the apex of one of the zones.
    pub fn is_apex(&self, name: &DnsName) -> bool {
        self.zone_of(name) == Some(name.as_str())
    }

    pub fn zones(&self) -> &[String] {
        &self.zones
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_zone_wins() {
        let idx = ZoneIndex::new(["example.org.".to_string(), "sub.example.org".to_string()]);
        let n = |s: &str| DnsName::parse(s).unwrap();
        assert_eq!(idx.zone_of(&n("a.sub.example.org")), Some("sub.example.org"));
        assert_eq!(idx.zone_of(&n("a.example.org")), Some("example.org"));
        assert_eq!(idx.zone_of(&n("example.org")), Some("example.org"));
        assert_eq!(idx.zone_of(&n("example.com")), None);
    }
}
