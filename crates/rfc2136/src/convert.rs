//! Between DNS records (as a zone transfer or a query returns them, as UPDATE writes them) and
//! exodns targets.
//!
//! Targets are exodns's canonical text: host names without the trailing dot, TXT in quoted
//! presentation form. TXT data longer than 255 bytes is written as several character-strings of
//! 255 bytes and read back joined, so that a long value (a DKIM key) reads as it was written;
//! strings split anywhere else keep their quoting (`"a" "b"`).

use std::fmt::Write;

use exodns_core::RecordType;
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{Name, RData, RecordType as WireType};

/// Longest character-string.
const TXT_CHUNK: usize = 255;

/// The wire type of an exodns type, for the types a DNS server stores (not ALIAS or LUA, which
/// are PowerDNS's, nor SOA, which is the server's).
pub fn wire_type(rt: RecordType) -> Option<WireType> {
    Some(match rt {
        RecordType::A => WireType::A,
        RecordType::AAAA => WireType::AAAA,
        RecordType::CNAME => WireType::CNAME,
        RecordType::TXT => WireType::TXT,
        RecordType::SRV => WireType::SRV,
        RecordType::MX => WireType::MX,
        RecordType::NS => WireType::NS,
        RecordType::PTR => WireType::PTR,
        RecordType::CAA => WireType::CAA,
        RecordType::NAPTR => WireType::NAPTR,
        RecordType::TLSA => WireType::TLSA,
        RecordType::SSHFP => WireType::SSHFP,
        RecordType::HTTPS => WireType::HTTPS,
        RecordType::SVCB => WireType::SVCB,
        RecordType::DS => WireType::DS,
        _ => return None,
    })
}

/// The exodns type of a record read from a zone, for the types exodns carries.
pub fn exodns_type(wt: WireType) -> Option<RecordType> {
    let rt: RecordType = wt.to_string().parse().ok()?;
    (wire_type(rt) == Some(wt)).then_some(rt)
}

/// Record types that sit beside a CNAME (DNSSEC's own), so they do not block one.
pub fn coexists_with_cname(wt: WireType) -> bool {
    matches!(wt, WireType::RRSIG | WireType::NSEC | WireType::NSEC3)
}

/// The target text of a record's data (canonicalised by the caller).
pub fn target_text(data: &RData) -> String {
    match data {
        RData::TXT(txt) => txt_presentation(&txt.txt_data),
        other => other.to_string(),
    }
}

/// The data of one target of type `rt`.
pub fn rdata(rt: RecordType, target: &str) -> Result<RData, String> {
    let wt = wire_type(rt).ok_or_else(|| format!("a {rt} record cannot be written to an RFC2136 server"))?;
    if rt == RecordType::TXT {
        let strings = txt_strings(target)?;
        return Ok(RData::TXT(TXT::from_bytes(strings.iter().map(Vec::as_slice).collect())));
    }
    let text = if rt.has_name_targets() { absolute(target) } else { absolute_last(rt, target) };
    RData::try_from_str(wt, &text).map_err(|e| format!("{rt} target {target:?}: {e}"))
}

/// A name as given, absolute.
pub fn fqdn(name: &str) -> Result<Name, String> {
    let mut n = Name::from_ascii(name).map_err(|e| format!("{name:?}: {e}"))?;
    n.set_fqdn(true);
    Ok(n)
}

fn absolute(host: &str) -> String {
    let h = host.trim();
    if h.ends_with('.') { h.to_owned() } else { format!("{h}.") }
}

/// MX, SRV and NAPTR end with a host name.
fn absolute_last(rt: RecordType, target: &str) -> String {
    let t = target.trim();
    if !matches!(rt, RecordType::MX | RecordType::SRV | RecordType::NAPTR) {
        return t.to_owned();
    }
    match t.rsplit_once(char::is_whitespace) {
        Some((head, host)) if !host.ends_with('.') => format!("{head} {host}."),
        _ => t.to_owned(),
    }
}

/// TXT character-strings in presentation form: quoted, `"` and `\` escaped, bytes outside
/// printable text as `\DDD`. Strings that only split a long value (every one but the last is
/// exactly 255 bytes) are joined back into one.
pub fn txt_presentation(strings: &[Box<[u8]>]) -> String {
    let split_long = strings.len() > 1 && strings[..strings.len() - 1].iter().all(|s| s.len() == TXT_CHUNK);
    let mut out = String::new();
    if split_long {
        let joined: Vec<u8> = strings.iter().flat_map(|s| s.iter().copied()).collect();
        quote_into(&joined, &mut out);
        return out;
    }
    for (k, s) in strings.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        quote_into(s, &mut out);
    }
    out
}

fn quote_into(bytes: &[u8], out: &mut String) {
    out.push('"');
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            for c in text.chars() {
                match c {
                    '"' | '\\' => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if c.is_control() => {
                        for b in c.encode_utf8(&mut [0; 4]).bytes() {
                            let _ = write!(out, "\\{b:03}");
                        }
                    }
                    c => out.push(c),
                }
            }
        }
        Err(_) => {
            for &b in bytes {
                match b {
                    b'"' | b'\\' => {
                        out.push('\\');
                        out.push(char::from(b));
                    }
                    0x20..=0x7e => out.push(char::from(b)),
                    _ => {
                        let _ = write!(out, "\\{b:03}");
                    }
                }
            }
        }
    }
    out.push('"');
}

/// The character-strings of a TXT target in presentation form (quoted strings, or bare words),
/// each cut in 255-byte pieces.
pub fn txt_strings(target: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut strings: Vec<Vec<u8>> = Vec::new();
    let bytes = target.trim().as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let quoted = bytes[i] == b'"';
        if quoted {
            i += 1;
        }
        let mut s = Vec::new();
        loop {
            let Some(&b) = bytes.get(i) else {
                if quoted {
                    return Err(format!("TXT target {target:?} has an unterminated quote"));
                }
                break;
            };
            if quoted && b == b'"' {
                i += 1;
                break;
            }
            if !quoted && b.is_ascii_whitespace() {
                break;
            }
            if b == b'\\' {
                let digits = bytes.get(i + 1..i + 4).filter(|d| d.iter().all(u8::is_ascii_digit));
                if let Some(d) = digits {
                    let v: u16 = std::str::from_utf8(d).unwrap_or("0").parse().unwrap_or(256);
                    let v = u8::try_from(v).map_err(|_| format!("TXT target {target:?}: escape \\{v} is above 255"))?;
                    s.push(v);
                    i += 4;
                } else {
                    let next =
                        bytes.get(i + 1).ok_or_else(|| format!("TXT target {target:?} ends with a backslash"))?;
                    s.push(*next);
                    i += 2;
                }
                continue;
            }
            s.push(b);
            i += 1;
        }
        if s.is_empty() {
            strings.push(s);
        } else {
            strings.extend(s.chunks(TXT_CHUNK).map(<[u8]>::to_vec));
        }
    }
    if strings.is_empty() {
        strings.push(Vec::new());
    }
    Ok(strings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(strings: &[&[u8]]) -> Vec<Box<[u8]>> {
        strings.iter().map(|s| s.to_vec().into_boxed_slice()).collect()
    }

    #[test]
    fn txt_round_trips() {
        for target in [
            "\"heritage=external-dns,external-dns/owner=default\"",
            "\"a\" \"b\"",
            "\"say \\\"hi\\\" \\\\ ok\"",
            "\"\"",
            "\"tab\\009here\"",
        ] {
            let strings = txt_strings(target).unwrap();
            let boxed: Vec<Box<[u8]>> = strings.into_iter().map(Vec::into_boxed_slice).collect();
            assert_eq!(txt_presentation(&boxed), target);
        }
        let long = format!("\"{}\"", "k".repeat(600));
        let strings = txt_strings(&long).unwrap();
        assert_eq!(strings.iter().map(Vec::len).collect::<Vec<_>>(), [255, 255, 90]);
        let boxed: Vec<Box<[u8]>> = strings.into_iter().map(Vec::into_boxed_slice).collect();
        assert_eq!(txt_presentation(&boxed), long, "a long value reads back as one");
    }

    #[test]
    fn txt_reads_what_others_wrote() {
        assert_eq!(txt_presentation(&boxed(&[b"v=spf1 -all"])), "\"v=spf1 -all\"");
        assert_eq!(txt_presentation(&boxed(&[b"bin\xff\x01"])), "\"bin\\255\\001\"");
        assert_eq!(txt_strings("bare words").unwrap(), [b"bare".to_vec(), b"words".to_vec()]);
        assert_eq!(txt_strings("\"\\255\"").unwrap(), [vec![255u8]]);
        assert!(txt_strings("\"open").is_err());
        assert!(txt_strings("\"\\256\"").is_err());
    }

    #[test]
    fn targets_become_wire_data() {
        let cname = rdata(RecordType::CNAME, "lb.example.net").unwrap();
        assert_eq!(cname.to_string(), "lb.example.net.");
        assert_eq!(rdata(RecordType::MX, "10 mail.example.org").unwrap().to_string(), "10 mail.example.org.");
        assert_eq!(
            rdata(RecordType::SRV, "0 50 5060 sip.example.org").unwrap().to_string(),
            "0 50 5060 sip.example.org."
        );
        assert_eq!(rdata(RecordType::A, "192.0.2.1").unwrap().to_string(), "192.0.2.1");
        assert_eq!(target_text(&rdata(RecordType::TXT, "\"x y\"").unwrap()), "\"x y\"");
        assert!(rdata(RecordType::ALIAS, "lb.example.net").unwrap_err().contains("cannot be written"));
        assert!(rdata(RecordType::A, "not-an-ip").is_err());
    }

    #[test]
    fn types_map_both_ways() {
        for rt in RecordType::ALL {
            if let Some(wt) = wire_type(*rt) {
                assert_eq!(exodns_type(wt), Some(*rt));
            }
        }
        assert_eq!(exodns_type(WireType::SOA), None);
        assert_eq!(exodns_type(WireType::RRSIG), None);
    }
}
