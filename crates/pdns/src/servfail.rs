//! `--pdns-dns-server`: after an apply, one DNS question for each LUA record set written, to the
//! DNS listener of the same PowerDNS. PowerDNS accepts Lua it cannot run (HTTP 204) and answers
//! SERVFAIL for the name at query time, until someone looks; this looks at once. The question
//! also starts PowerDNS's health checks of the record, which it begins only for names asked for.
//! A timeout or an unreachable server is logged, never reported as SERVFAIL.

use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::time::Duration;

use exodns_core::failover::lua_code;
use exodns_core::{Endpoint, RecordType};
use exodns_provider::NotServed;
use futures_util::StreamExt;
use tokio::net::UdpSocket;

/// Tries per question (UDP), each waiting this long.
const TRIES: usize = 2;
/// Questions in flight at once.
const PARALLEL: usize = 16;
const SERVFAIL: u8 = 2;

/// Checks `written` (LUA record sets just applied) against the DNS server at `server`
/// (`host:port`); returns those answered with SERVFAIL.
pub(crate) async fn check(server: &str, timeout: Duration, written: Vec<Endpoint>) -> Vec<NotServed> {
    if written.is_empty() {
        return Vec::new();
    }
    let addr = match tokio::net::lookup_host(server).await.map(|mut a| a.next()) {
        Ok(Some(a)) => a,
        Ok(None) | Err(_) => {
            tracing::warn!(server, "--pdns-dns-server does not resolve; the LUA records just written are not checked");
            return Vec::new();
        }
    };
    futures_util::stream::iter(written)
        .map(|ep| async move {
            let mut types: Vec<RecordType> = ep.targets.iter().filter_map(|t| lua_code(t).map(|(rt, _)| rt)).collect();
            types.sort();
            types.dedup();
            for rt in types {
                let Some(qtype) = type_code(rt) else { continue };
                match ask(addr, ep.dns_name.as_str(), qtype, timeout).await {
                    Ok(SERVFAIL) => {
                        let detail = format!("{} {rt}: SERVFAIL from {addr}", ep.dns_name);
                        return Some(NotServed { endpoint: ep, detail });
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(name = %ep.dns_name, record_type = %rt, %addr, error = %e, "LUA record not checked"),
                }
            }
            None
        })
        .buffer_unordered(PARALLEL)
        .filter_map(|x| async move { x })
        .collect()
        .await
}

/// One question without recursion; the answer's rcode.
async fn ask(server: SocketAddr, name: &str, qtype: u16, timeout: Duration) -> Result<u8, String> {
    let id = random_id();
    let wire = question(id, name, qtype).ok_or_else(|| format!("{name:?} cannot be asked"))?;
    let bind: SocketAddr = if server.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let sock = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    sock.connect(server).await.map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1500];
    for _ in 0..TRIES {
        sock.send(&wire).await.map_err(|e| e.to_string())?;
        let deadline = tokio::time::Instant::now() + timeout;
        while let Ok(got) = tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
            let n = got.map_err(|e| e.to_string())?;
            if let Some(rcode) = rcode(&buf[..n], id) {
                return Ok(rcode);
            }
        }
    }
    Err(format!("no answer in {TRIES} tries of {timeout:?}"))
}

fn random_id() -> u16 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish() as u16
}

/// A DNS query message (RFC 1035 §4.1): header with one question, no recursion; `None` for a
/// name that has an empty or over-long label.
fn question(id: u16, name: &str, qtype: u16) -> Option<Vec<u8>> {
    let mut m = Vec::with_capacity(name.len() + 18);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        let len = u8::try_from(label.len()).ok().filter(|l| (1..=63).contains(l))?;
        m.push(len);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes()); // IN
    Some(m)
}

/// The rcode of `answer` if it is a response to question `id`.
fn rcode(answer: &[u8], id: u16) -> Option<u8> {
    if answer.len() < 12 || answer[..2] != id.to_be_bytes() || answer[2] & 0x80 == 0 {
        return None;
    }
    Some(answer[3] & 0x0f)
}

/// The wire code of a type a LUA record can make (`None` for ALIAS and LUA, which it cannot).
fn type_code(rt: RecordType) -> Option<u16> {
    Some(match rt {
        RecordType::A => 1,
        RecordType::NS => 2,
        RecordType::CNAME => 5,
        RecordType::PTR => 12,
        RecordType::MX => 15,
        RecordType::TXT => 16,
        RecordType::AAAA => 28,
        RecordType::SRV => 33,
        RecordType::NAPTR => 35,
        RecordType::DNAME => 39,
        RecordType::DS => 43,
        RecordType::SSHFP => 44,
        RecordType::TLSA => 52,
        RecordType::SVCB => 64,
        RecordType::HTTPS => 65,
        RecordType::CAA => 257,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn question_is_rfc1035() {
        let q = question(0x1234, "app.example.org", 1).unwrap();
        let want: &[u8] = b"\x12\x34\0\0\0\x01\0\0\0\0\0\0\x03app\x07example\x03org\0\0\x01\0\x01";
        assert_eq!(q, want);
        assert!(question(1, "a..b", 1).is_none());
        assert!(question(1, &format!("{}.org", "x".repeat(64)), 1).is_none());
    }

    #[test]
    fn rcode_of_the_matching_response_only() {
        let mut answer = question(7, "a.org", 1).unwrap();
        answer[2] |= 0x84; // QR, AA
        answer[3] = 0x02;
        assert_eq!(rcode(&answer, 7), Some(SERVFAIL));
        assert_eq!(rcode(&answer, 8), None, "another question's answer");
        answer[2] &= 0x7f;
        assert_eq!(rcode(&answer, 7), None, "a query, not a response");
        assert_eq!(rcode(&answer[..11], 7), None);
    }

    proptest! {
        // What comes back over UDP is outside input: any bytes are read without a panic.
        #[test]
        fn any_datagram_is_read_safely(bytes in proptest::collection::vec(any::<u8>(), 0..64), id in any::<u16>()) {
            let r = rcode(&bytes, id);
            prop_assert!(r.is_none() || (bytes.len() >= 12 && r.unwrap() < 16));
        }
    }
}
