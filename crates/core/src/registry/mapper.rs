//! Names of ownership TXT records: from a record's name and type to its TXT name, and back.
//!
//! The format is upstream ExternalDNS's "affix" mapper, byte for byte, including the way it
//! reads names back (which has a few oddities, kept on purpose: a zone written by upstream must
//! be read the same way by exodns).
//!
//! Writing: split the name at its first dot into `first` and `rest`; a `*` first label becomes
//! the wildcard replacement (if one is set); unless an affix holds `%{record_type}`, `first`
//! gets the lowercase type and a dash in front; the result is
//! `prefix + first + suffix + "." + rest`, with `%{record_type}` in the affixes replaced by the
//! lowercase type.
//!
//! Reading: with a prefix (or no affix at all) the prefix is stripped from the front of the
//! whole name; with a suffix, the suffix is stripped from the end of the leading labels that it
//! spans. Templated affixes are tried with each known type in turn, the first that fits wins;
//! otherwise (and for the untemplated forms) a leading `<type>-` is taken as the type, and a
//! name without one is an "old format" TXT (written before v0.12) that names no type.
//!
//! Beyond upstream, a zone apex has an ownership name inside its zone: upstream's name for the
//! apex `example.org` is `mx-example.org`, which no zone `example.org` can hold. exodns names
//! the apex's TXT as if the record were `_apex.example.org` (`mx-_apex.example.org`, with the
//! affixes applied as usual) and reads the label [`APEX_LABEL`] back as the apex. Upstream
//! reads such a TXT as owning a record named `_apex.example.org`, which does not exist, so it
//! leaves the apex records alone. The label is reserved: exodns never owns a record whose first
//! label it is.

use std::borrow::Cow;

use crate::error::Error;
use crate::record_type::RecordType;

/// The placeholder for the lowercase record type in `--txt-prefix` / `--txt-suffix`.
pub const RECORD_TYPE_TEMPLATE: &str = "%{record_type}";

/// The first label that stands for the zone apex in ownership TXT names.
pub const APEX_LABEL: &str = "_apex";

/// The types the mapper recognises when reading a TXT name, in upstream's order (v0.23's, which
/// added TLSA: upstream v0.22 reads a `tlsa-` name as an old-format TXT of a record named so),
/// then LUA (PowerDNS), which upstream does not know: it reads a `lua-` name as the old-format
/// TXT of a record named so, which does not exist, and leaves the LUA record alone.
/// The order matters: a templated affix is matched against these in turn and the first fit wins.
pub const MAPPED_TYPES: [RecordType; 12] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::NS,
    RecordType::MX,
    RecordType::PTR,
    RecordType::SRV,
    RecordType::NAPTR,
    RecordType::TXT,
    RecordType::DNAME,
    RecordType::TLSA,
    RecordType::LUA,
];

/// Maps record names to ownership TXT names and back (`--txt-prefix`, `--txt-suffix`,
/// `--txt-wildcard-replacement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameMapper {
    prefix: String,
    suffix: String,
    wildcard: String,
    templated: bool,
    /// Dots in the suffix: how many labels after the first one the suffix spans.
    suffix_dots: usize,
    /// For a templated affix: the affix as it reads for each of [`MAPPED_TYPES`].
    typed_affixes: Vec<(RecordType, String)>,
    /// The affix with the template removed, for names of the old format.
    bare_affix: String,
}

impl NameMapper {
    /// Affixes and wildcard replacement are lowercased, as upstream does. Prefix and suffix
    /// cannot both be set.
    pub fn new(prefix: &str, suffix: &str, wildcard_replacement: &str) -> Result<Self, Error> {
        if !prefix.is_empty() && !suffix.is_empty() {
            return Err(Error::config("--txt-suffix", "--txt-prefix and --txt-suffix are mutually exclusive"));
        }
        let prefix = prefix.to_lowercase();
        let suffix = suffix.to_lowercase();
        let affix = if suffix.is_empty() { &prefix } else { &suffix };
        let templated = affix.contains(RECORD_TYPE_TEMPLATE);
        let typed_affixes = if templated {
            MAPPED_TYPES.iter().map(|&t| (t, affix.replace(RECORD_TYPE_TEMPLATE, &t.lowercase()))).collect()
        } else {
            Vec::new()
        };
        let bare_affix = affix.replace(RECORD_TYPE_TEMPLATE, "");
        Ok(NameMapper {
            suffix_dots: suffix.matches('.').count(),
            prefix,
            suffix,
            wildcard: wildcard_replacement.to_lowercase(),
            templated,
            typed_affixes,
            bare_affix,
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    pub fn wildcard_replacement(&self) -> &str {
        &self.wildcard
    }

    /// Whether an affix holds `%{record_type}` (then no `<type>-` is put before the first label).
    pub fn is_templated(&self) -> bool {
        self.templated
    }

    /// The TXT name that owns the record `name` of type `rt` (upstream's `ToTXTName`). The
    /// result is not checked: see [`DnsName::parse`](crate::DnsName::parse).
    pub fn to_txt_name(&self, name: &str, rt: RecordType) -> String {
        let mut out = String::with_capacity(name.len() + self.prefix.len() + self.suffix.len() + 8);
        self.write_txt_name(name, rt, &mut out);
        out
    }

    /// [`to_txt_name`](Self::to_txt_name) into a buffer (cleared first), to save allocations.
    pub fn write_txt_name(&self, name: &str, rt: RecordType, out: &mut String) {
        out.clear();
        let (first, rest) = match name.split_once('.') {
            Some((first, rest)) => (first, Some(rest)),
            None => (name, None),
        };
        let first = if !self.wildcard.is_empty() && first == "*" { self.wildcard.as_str() } else { first };
        push_affix(out, &self.prefix, rt);
        if !self.templated {
            push_lower(out, rt);
            out.push('-');
        }
        out.push_str(first);
        push_affix(out, &self.suffix, rt);
        if let Some(rest) = rest {
            out.push('.');
            out.push_str(rest);
        }
    }

    /// The ownership TXT name of the apex record `zone` of type `rt`, inside the zone:
    /// [`to_txt_name`](Self::to_txt_name) of `_apex.<zone>`.
    pub fn to_apex_txt_name(&self, zone: &str, rt: RecordType) -> String {
        let mut under = String::with_capacity(APEX_LABEL.len() + 1 + zone.len());
        under.push_str(APEX_LABEL);
        under.push('.');
        under.push_str(zone);
        self.to_txt_name(&under, rt)
    }

    /// The TXT name of the old format (before upstream v0.12, no record type in it), which is
    /// still read as owning every type but AAAA. With no affix it is the record's own name.
    pub fn to_old_format_txt_name(&self, name: &str) -> String {
        let (first, rest) = match name.split_once('.') {
            Some((first, rest)) => (first, Some(rest)),
            None => (name, None),
        };
        let first = if !self.wildcard.is_empty() && first == "*" { self.wildcard.as_str() } else { first };
        let mut out = String::with_capacity(name.len() + self.bare_affix.len() + 8);
        if self.suffix.is_empty() {
            out.push_str(&self.bare_affix);
            out.push_str(first);
        } else {
            out.push_str(first);
            out.push_str(&self.bare_affix);
        }
        if let Some(rest) = rest {
            out.push('.');
            out.push_str(rest);
        }
        out
    }

    /// Reads a TXT name back (upstream's `ToEndpointName`): the name of the record it owns and
    /// its type, `None` as the type for the old format. `None` when the name does not carry our
    /// affix. Note that with a wildcard replacement the name read back holds the replacement,
    /// not `*`.
    pub fn to_endpoint_name<'a>(&self, txt_name: &'a str) -> Option<(Cow<'a, str>, Option<RecordType>)> {
        if txt_name.bytes().any(|b| b.is_ascii_uppercase()) {
            let lower = txt_name.to_ascii_lowercase();
            return self.read_lowercase(&lower).map(|(name, rt)| (Cow::Owned(name.into_owned()), rt));
        }
        self.read_lowercase(txt_name)
    }

    /// [`to_endpoint_name`](Self::to_endpoint_name) of a name known to be lowercase (a
    /// [`DnsName`](crate::DnsName)).
    pub(crate) fn read_lowercase<'a>(&self, name: &'a str) -> Option<(Cow<'a, str>, Option<RecordType>)> {
        if self.suffix.is_empty() {
            return self.drop_affix(name).map(|(n, rt)| (Cow::Borrowed(n), rt));
        }
        // The suffix ends the first label and spans as many more as it has dots.
        let (head, rest) = match name.match_indices('.').nth(self.suffix_dots) {
            Some((dot, _)) => (&name[..dot], Some(&name[dot + 1..])),
            None if name.matches('.').count() == self.suffix_dots => (name, None),
            // Too few labels to hold the suffix.
            None => return None,
        };
        // Upstream turns a miss into the name ".<rest>" with no type, which no record can have.
        let (first, rt) = self.drop_affix(head)?;
        Some(match rest {
            Some(rest) => {
                let mut joined = String::with_capacity(first.len() + 1 + rest.len());
                joined.push_str(first);
                joined.push('.');
                joined.push_str(rest);
                (Cow::Owned(joined), rt)
            }
            None => (Cow::Borrowed(first), rt),
        })
    }

    /// Strips the affix from `name` (the whole name with a prefix, the leading labels with a
    /// suffix) and finds the record type.
    fn drop_affix<'a>(&self, name: &'a str) -> Option<(&'a str, Option<RecordType>)> {
        let prefix_mode = self.suffix.is_empty();
        for (rt, affix) in &self.typed_affixes {
            let stripped =
                if prefix_mode { name.strip_prefix(affix.as_str()) } else { name.strip_suffix(affix.as_str()) };
            if let Some(stripped) = stripped {
                return Some((stripped, Some(*rt)));
            }
        }
        let affix = self.bare_affix.as_str();
        let stripped = match (affix.is_empty(), prefix_mode) {
            (true, _) => Some(name),
            (false, true) => name.strip_prefix(affix),
            (false, false) => name.strip_suffix(affix),
        };
        stripped.map(type_in_front)
    }
}

/// `_apex.<zone>`, as read back from an ownership TXT name, is the apex `<zone>`.
pub(crate) fn apex_owned_name(name: Cow<'_, str>) -> Cow<'_, str> {
    let is_apex = name.strip_prefix(APEX_LABEL).is_some_and(|rest| rest.starts_with('.'));
    if !is_apex {
        return name;
    }
    match name {
        Cow::Borrowed(n) => Cow::Borrowed(&n[APEX_LABEL.len() + 1..]),
        Cow::Owned(n) => Cow::Owned(n[APEX_LABEL.len() + 1..].to_owned()),
    }
}

/// Whether `name` is one exodns never owns: its first label stands for the apex in TXT names.
pub fn is_reserved(name: &str) -> bool {
    name.split('.').next() == Some(APEX_LABEL)
}

/// `<type>-<name>` → (`<name>`, type); anything else is a name without a type. A name that is
/// exactly a type (`txt`) is taken as that type with the name unchanged, as upstream does.
fn type_in_front(name: &str) -> (&str, Option<RecordType>) {
    // Type names are at most five letters: look no further for the dash.
    let dash = name.bytes().take(6).position(|b| b == b'-');
    let (head, tail) = match dash {
        Some(i) => (&name[..i], &name[i + 1..]),
        None => (name, name),
    };
    // `name` is lowercase already.
    let rt = match head {
        "a" => RecordType::A,
        "aaaa" => RecordType::AAAA,
        "cname" => RecordType::CNAME,
        "ns" => RecordType::NS,
        "mx" => RecordType::MX,
        "ptr" => RecordType::PTR,
        "srv" => RecordType::SRV,
        "naptr" => RecordType::NAPTR,
        "txt" => RecordType::TXT,
        "dname" => RecordType::DNAME,
        "tlsa" => RecordType::TLSA,
        "lua" => RecordType::LUA,
        _ => return (name, None),
    };
    debug_assert!(MAPPED_TYPES.contains(&rt));
    (tail, Some(rt))
}

fn push_lower(out: &mut String, rt: RecordType) {
    out.extend(rt.as_str().chars().map(|c| c.to_ascii_lowercase()));
}

fn push_affix(out: &mut String, affix: &str, rt: RecordType) {
    if !affix.contains('%') {
        out.push_str(affix);
        return;
    }
    let mut parts = affix.split(RECORD_TYPE_TEMPLATE);
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for part in parts {
        push_lower(out, rt);
        out.push_str(part);
    }
}
