//! Domain filters: which names exodns may touch (`--domain-filter`, `--exclude-domains`,
//! `--regex-domain-filter`, `--regex-domain-exclusion`).

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Upstream's `DomainFilter`. A regex filter, when given, replaces the list filter. An empty
/// filter matches everything.
#[derive(Debug, Clone, Default)]
pub struct DomainFilter {
    include: Vec<String>,
    exclude: Vec<String>,
    regex_include: Option<Regex>,
    regex_exclude: Option<Regex>,
}

/// The JSON form upstream's webhook negotiation sends (all keys omitted when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainFilterJson {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub regex_include: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub regex_exclude: String,
}

fn normalise_domain(d: &str) -> Option<String> {
    let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
    (!d.is_empty()).then_some(d)
}

impl DomainFilter {
    /// List filter. Entries are domains (`example.org` matches it and everything under it) or,
    /// with a leading dot, subdomains only (`.example.org`).
    pub fn new(include: &[String], exclude: &[String]) -> Self {
        let norm = |list: &[String]| -> Vec<String> {
            let mut v: Vec<String> = list.iter().flat_map(|d| d.split(',')).filter_map(normalise_domain).collect();
            v.sort();
            v.dedup();
            v
        };
        DomainFilter { include: norm(include), exclude: norm(exclude), regex_include: None, regex_exclude: None }
    }

    /// Regex filter; either side may be empty.
    pub fn with_regex(include: &str, exclude: &str) -> Result<Self, Error> {
        let compile = |flag: &'static str, src: &str| -> Result<Option<Regex>, Error> {
            if src.is_empty() {
                return Ok(None);
            }
            Regex::new(src).map(Some).map_err(|e| Error::config(flag, format!("not a valid regex: {e}")))
        };
        Ok(DomainFilter {
            include: Vec::new(),
            exclude: Vec::new(),
            regex_include: compile("--regex-domain-filter", include)?,
            regex_exclude: compile("--regex-domain-exclusion", exclude)?,
        })
    }

    /// Builds the filter the way upstream does from its flags: a regex, when set, wins.
    pub fn from_flags(
        include: &[String],
        exclude: &[String],
        regex_include: &str,
        regex_exclude: &str,
    ) -> Result<Self, Error> {
        if regex_include.is_empty() && regex_exclude.is_empty() {
            Ok(DomainFilter::new(include, exclude))
        } else {
            DomainFilter::with_regex(regex_include, regex_exclude)
        }
    }

    pub fn is_configured(&self) -> bool {
        !self.include.is_empty()
            || !self.exclude.is_empty()
            || self.regex_include.is_some()
            || self.regex_exclude.is_some()
    }

    pub fn includes(&self) -> &[String] {
        &self.include
    }

    /// Whether `name` (any case, with or without trailing dot) passes the filter.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.strip_suffix('.').unwrap_or(name);
        if self.regex_include.is_some() || self.regex_exclude.is_some() {
            let lower = name.to_ascii_lowercase();
            if self.regex_exclude.as_ref().is_some_and(|ex| ex.is_match(&lower)) {
                return false;
            }
            return self.regex_include.as_ref().is_none_or(|inc| inc.is_match(&lower));
        }
        let included = self.include.is_empty() || self.include.iter().any(|d| domain_matches(d, name));
        included && !self.exclude.iter().any(|d| domain_matches(d, name))
    }

    pub fn to_json(&self) -> DomainFilterJson {
        DomainFilterJson {
            include: self.include.clone(),
            exclude: self.exclude.clone(),
            regex_include: self.regex_include.as_ref().map(|r| r.as_str().to_owned()).unwrap_or_default(),
            regex_exclude: self.regex_exclude.as_ref().map(|r| r.as_str().to_owned()).unwrap_or_default(),
        }
    }

    pub fn from_json(json: &DomainFilterJson) -> Result<Self, Error> {
        DomainFilter::from_flags(&json.include, &json.exclude, &json.regex_include, &json.regex_exclude)
    }
}

/// `filter` matches `name` when they are equal or `name` ends with `.filter`; a filter with a
/// leading dot matches subdomains only.
fn domain_matches(filter: &str, name: &str) -> bool {
    if let Some(sub) = filter.strip_prefix('.') {
        return name.len() > sub.len() + 1 && ends_with_label(name, sub);
    }
    name.eq_ignore_ascii_case(filter) || ends_with_label(name, filter)
}

fn ends_with_label(name: &str, suffix: &str) -> bool {
    name.len() > suffix.len()
        && name.as_bytes()[name.len() - suffix.len() - 1] == b'.'
        && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(inc: &[&str], exc: &[&str]) -> DomainFilter {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        DomainFilter::new(&v(inc), &v(exc))
    }

    #[test]
    fn list_filter() {
        let f = list(&["example.org"], &["internal.example.org"]);
        assert!(f.matches("example.org"));
        assert!(f.matches("A.Example.org."));
        assert!(!f.matches("badexample.org"));
        assert!(!f.matches("x.internal.example.org"));
        assert!(!f.matches("example.com"));
        assert!(list(&[], &[]).matches("anything.test"));
        let sub = list(&[".example.org"], &[]);
        assert!(sub.matches("a.example.org"));
        assert!(!sub.matches("example.org"));
    }

    #[test]
    fn comma_separated_entries() {
        let f = list(&["a.org,b.org"], &[]);
        assert!(f.matches("x.a.org") && f.matches("b.org") && !f.matches("c.org"));
    }

    #[test]
    fn regex_wins_over_list() {
        let f = DomainFilter::from_flags(&["example.org".into()], &[], r"\.example\.com$", "^skip\\.").unwrap();
        assert!(f.matches("a.example.com"));
        assert!(!f.matches("a.example.org"));
        assert!(!f.matches("skip.example.com"));
        assert!(DomainFilter::with_regex("(", "").is_err());
    }

    #[test]
    fn json_shape_is_upstreams() {
        let f = list(&["example.org"], &[]);
        assert_eq!(serde_json::to_string(&f.to_json()).unwrap(), r#"{"include":["example.org"]}"#);
        let r = DomainFilter::with_regex("a", "").unwrap();
        assert_eq!(serde_json::to_string(&r.to_json()).unwrap(), r#"{"regexInclude":"a"}"#);
    }
}
