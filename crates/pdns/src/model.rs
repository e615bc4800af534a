//! The JSON of the PowerDNS API, as far as exodns uses it.

use serde::{Deserialize, Serialize};

/// An entry of `GET /servers/{id}/zones`.
#[derive(Debug, Clone, Deserialize)]
pub struct ZoneInfo {
    /// URL-ready id (`example.org.`; special characters escaped as `=XX` by PowerDNS).
    pub id: String,
    /// Absolute zone name (`example.org.`).
    pub name: String,
    #[serde(default)]
    pub kind: String,
}

/// `GET /servers/{id}/zones/{zone}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Zone {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub rrsets: Vec<RRSet>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RRSet {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(default)]
    pub ttl: u32,
    #[serde(default)]
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub content: String,
    #[serde(default)]
    pub disabled: bool,
}

/// `changetype` of a PATCH rrset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeType {
    /// Comes first in a PATCH: a delete frees the name for a conflicting type.
    Delete,
    Replace,
}

/// One rrset of a PATCH body.
#[derive(Debug, Serialize)]
pub struct RRSetChange<'a> {
    pub name: &'a str,
    #[serde(rename = "type")]
    pub rtype: &'a str,
    pub changetype: ChangeType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<RecordOut<'a>>>,
}

#[derive(Debug, Serialize)]
pub struct RecordOut<'a> {
    pub content: &'a str,
    pub disabled: bool,
}

/// Start and end of a PATCH body; the rrsets go in between, comma-separated.
pub const BODY_HEAD: &[u8] = b"{\"rrsets\":[";
pub const BODY_TAIL: &[u8] = b"]}";

/// The error text of a PowerDNS answer: the `error` field of a JSON body, else the body as text
/// (PowerDNS answers 404, 400 and 401 in plain text), cut to a readable length.
pub fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
    }
    let text = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => e.error,
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    };
    const MAX: usize = 600;
    if text.len() <= MAX {
        return text;
    }
    let mut cut = MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

/// The rrsets a PowerDNS error message names, as (absolute name, type). Known shapes:
/// `RRset x.example.org. IN A: Conflicts with pre-existing RRset`,
/// `Duplicate RRset x.example.org. IN A with changetype: REPLACE`,
/// `Duplicate record in RRset x.example.org. IN A with content "…"`,
/// `Record x.example.org./A '1.2.3': Parsing record content …`.
pub fn named_rrsets(message: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(pos) = rest.find("RRset ") {
        let after = &rest[pos + "RRset ".len()..];
        let mut words = after.split_whitespace();
        if let (Some(name), Some("IN"), Some(rtype)) = (words.next(), words.next(), words.next()) {
            let rtype = rtype.trim_end_matches(':');
            if name.ends_with('.') && !rtype.is_empty() {
                out.push((name.to_ascii_lowercase(), rtype.to_ascii_uppercase()));
            }
        }
        rest = after;
    }
    if let Some(after) = message.strip_prefix("Record ")
        && let Some((name, tail)) = after.split_once('/')
    {
        let rtype: String = tail.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if name.ends_with('.') && !rtype.is_empty() && !name.contains(char::is_whitespace) {
            out.push((name.to_ascii_lowercase(), rtype.to_ascii_uppercase()));
        }
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_named_rrsets() {
        let cases = [
            ("RRset www.example.org. IN CNAME: Conflicts with pre-existing RRset", ("www.example.org.", "CNAME")),
            ("Duplicate RRset d.example.org. IN A with changetype: REPLACE", ("d.example.org.", "A")),
            ("Duplicate record in RRset dr.example.org. IN A with content \"1.2.3.5\"", ("dr.example.org.", "A")),
            (
                "Record b.example.org./A '1.2.3': Parsing record content (try 'pdnsutil check-zone'): unable to parse IP address",
                ("b.example.org.", "A"),
            ),
            ("Record srv.example.org./SRV '0 50 5060 x': Not in expected format", ("srv.example.org.", "SRV")),
            ("RRset u.example.org. IN FOO: unknown type given", ("u.example.org.", "FOO")),
        ];
        for (msg, (name, rtype)) in cases {
            assert_eq!(named_rrsets(msg), vec![(name.to_string(), rtype.to_string())], "{msg}");
        }
        assert!(named_rrsets("DNS Name 'x.example.org' is not canonical").is_empty());
    }

    #[test]
    fn error_text_from_json_or_plain() {
        assert_eq!(error_message(br#"{"error": "Name is out of zone"}"#), "Name is out of zone");
        assert_eq!(error_message(b"Not Found\n"), "Not Found");
        assert!(error_message(&[b'x'; 2000]).len() < 700);
    }

    #[test]
    fn change_json_shape() {
        let del = RRSetChange {
            name: "a.example.org.",
            rtype: "A",
            changetype: ChangeType::Delete,
            ttl: None,
            records: None,
        };
        assert_eq!(
            serde_json::to_string(&del).unwrap(),
            r#"{"name":"a.example.org.","type":"A","changetype":"DELETE"}"#
        );
        let rep = RRSetChange {
            name: "a.example.org.",
            rtype: "TXT",
            changetype: ChangeType::Replace,
            ttl: Some(300),
            records: Some(vec![RecordOut { content: "\"x\"", disabled: false }]),
        };
        assert_eq!(
            serde_json::to_string(&rep).unwrap(),
            r#"{"name":"a.example.org.","type":"TXT","changetype":"REPLACE","ttl":300,"records":[{"content":"\"x\"","disabled":false}]}"#
        );
    }
}
