//! The value of an ownership TXT record: the owner's labels, as upstream ExternalDNS writes
//! them.
//!
//! `"heritage=external-dns,external-dns/owner=<id>,external-dns/resource=<kind>/<ns>/<name>"`,
//! the double quotes part of the target (the registry keeps TXT targets in quoted presentation
//! form). Labels are written sorted by key; the hidden nonce label of the encrypted form is never
//! written. Reading splits on `,` and on the first `=` of each part, skips parts without `=`,
//! and refuses (as "not an ownership record") a value without `heritage=external-dns` or with
//! any other heritage.

use std::borrow::Cow;

use super::crypto::{self, AesKey};
use crate::endpoint::{Labels, label};

/// The heritage of records written by ExternalDNS (and exodns).
pub const HERITAGE: &str = "external-dns";

/// Writes the labels in plain text, without quotes, after clearing `out`.
pub fn write_plain(labels: &Labels, out: &mut String) {
    out.clear();
    out.push_str("heritage=");
    out.push_str(HERITAGE);
    // A BTreeMap iterates in byte order of the keys, which is the order upstream sorts them in.
    for (key, value) in labels {
        if key == label::TXT_ENCRYPTION_NONCE {
            continue;
        }
        out.push(',');
        out.push_str(HERITAGE);
        out.push('/');
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
}

/// The labels in plain text, without quotes.
pub fn to_plain(labels: &Labels) -> String {
    let mut out = String::with_capacity(64);
    write_plain(labels, &mut out);
    out
}

/// The TXT target of the labels in plain text: the value in double quotes.
pub fn encode_plain(labels: &Labels) -> String {
    let mut out = String::with_capacity(80);
    write_plain(labels, &mut out);
    out.insert(0, '"');
    out.push('"');
    out
}

/// Parses a plain-text value (quoted or not). `None` when it is not an ownership value: no
/// `heritage=external-dns`, or another heritage anywhere in it.
pub fn parse_plain(text: &str) -> Option<Labels> {
    let text = text.trim_matches('"');
    let mut labels = Labels::new();
    let mut ours = false;
    let mut rest = text;
    loop {
        // One `,`-separated token, cut at its first `=`; the labels' bytes are ASCII mostly,
        // and `,` and `=` are never part of a multi-byte character.
        let (token, next) = match rest.bytes().position(|b| b == b',') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        if let Some(eq) = token.bytes().position(|b| b == b'=') {
            let (key, value) = (&token[..eq], &token[eq + 1..]);
            if key == "heritage" {
                if value != HERITAGE {
                    return None;
                }
                ours = true;
            } else if let Some(after) = key.strip_prefix(HERITAGE) {
                // Upstream keeps any key that starts with "external-dns", and strips
                // "external-dns/" when it is there.
                let name = after.strip_prefix('/').unwrap_or(key);
                labels.insert(name.to_owned(), value.to_owned());
            }
        }
        match next {
            Some(next) => rest = next,
            None => break,
        }
    }
    ours.then_some(labels)
}

/// The text of a TXT target without its presentation quoting. Borrows in the usual case, a
/// single quoted string without escapes.
pub fn unquote(target: &str) -> Cow<'_, str> {
    let t = target.trim();
    if let Some(inner) = t.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
        && !inner.contains(['"', '\\'])
    {
        return Cow::Borrowed(inner);
    }
    if t.starts_with('"') { Cow::Owned(crate::target::txt_text(t)) } else { Cow::Borrowed(t) }
}

/// Reads the labels of a TXT target, as upstream's registry does: with a key, the value is
/// first decrypted (and the nonce kept in the hidden nonce label); a value that does not decrypt
/// is read as plain text. `None` when the record is not an ownership record.
pub fn decode(target: &str, key: Option<&AesKey>) -> Option<Labels> {
    let text = unquote(target);
    if let Some((plain, nonce)) = key.and_then(|key| crypto::decrypt(&text, key)) {
        // Decrypted but not ours: upstream does not fall back to plain text here.
        let mut labels = parse_plain(&plain)?;
        labels.insert(label::TXT_ENCRYPTION_NONCE.to_owned(), crypto::nonce_to_label(&nonce));
        return Some(labels);
    }
    parse_plain(&text)
}

/// Two label sets that encode to the same value: equal, the nonce label aside.
pub fn same_value(a: &Labels, b: &Labels) -> bool {
    let visible = |(k, _): &(&String, &String)| k.as_str() != label::TXT_ENCRYPTION_NONCE;
    a.iter().filter(visible).eq(b.iter().filter(visible))
}
