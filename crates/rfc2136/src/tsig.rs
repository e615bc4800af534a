//! TSIG (RFC 8945): signing requests and checking the server's answers, for every algorithm
//! upstream ExternalDNS offers and hmac-md5.
//!
//! What is signed and the TSIG record itself are encoded by hickory-proto for all algorithms.
//! The MAC of hmac-sha256/384/512 is hickory's (ring); hickory's signer refuses hmac-md5,
//! hmac-sha1 and hmac-sha224 (`TSigner::new` checks `supported()`, and the MAC is computed
//! inside), so their MAC comes from RustCrypto's `hmac`.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use hickory_proto::op::Message;
use hickory_proto::rr::Name;
use hickory_proto::rr::rdata::tsig::{
    TSIG, TsigAlgorithm, TsigError, make_tsig_record, message_tbs, signed_bitmessage_to_buf,
};
use hmac::Mac;

/// Seconds of clock difference the server may allow (upstream's and nsupdate's 300).
pub const FUDGE: u16 = 300;
/// RFC 8945 §5.3.1: at most 99 unsigned messages between two signed ones of a transfer.
const MAX_UNSIGNED_RUN: usize = 99;

/// A TSIG algorithm, by the name upstream's `--rfc2136-tsig-secret-alg` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacMd5,
    HmacSha1,
    HmacSha224,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 6] = [
        Algorithm::HmacMd5,
        Algorithm::HmacSha1,
        Algorithm::HmacSha224,
        Algorithm::HmacSha256,
        Algorithm::HmacSha384,
        Algorithm::HmacSha512,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacMd5 => "hmac-md5",
            Algorithm::HmacSha1 => "hmac-sha1",
            Algorithm::HmacSha224 => "hmac-sha224",
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha384 => "hmac-sha384",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// `hmac-sha256`, … (any case, a trailing dot allowed); `hmac-md5.sig-alg.reg.int` too.
    pub fn parse(s: &str) -> Option<Algorithm> {
        let s = s.trim().trim_end_matches('.');
        if s.eq_ignore_ascii_case("hmac-md5.sig-alg.reg.int") {
            return Some(Algorithm::HmacMd5);
        }
        Algorithm::ALL.into_iter().find(|a| a.name().eq_ignore_ascii_case(s))
    }

    fn wire(self) -> TsigAlgorithm {
        match self {
            Algorithm::HmacMd5 => TsigAlgorithm::HmacMd5,
            Algorithm::HmacSha1 => TsigAlgorithm::HmacSha1,
            Algorithm::HmacSha224 => TsigAlgorithm::HmacSha224,
            Algorithm::HmacSha256 => TsigAlgorithm::HmacSha256,
            Algorithm::HmacSha384 => TsigAlgorithm::HmacSha384,
            Algorithm::HmacSha512 => TsigAlgorithm::HmacSha512,
        }
    }

    /// Whether the algorithm name of an answer's TSIG is this one (names compare without case;
    /// hickory reads a lowercase `hmac-md5.sig-alg.reg.int` as an unknown algorithm).
    fn is(self, wire: &TsigAlgorithm) -> bool {
        wire.to_name().to_ascii().trim_end_matches('.').eq_ignore_ascii_case(&self.wire().to_name().to_ascii())
    }

    fn mac_len(self) -> usize {
        match self {
            Algorithm::HmacMd5 => 16,
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha224 => 28,
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha384 => 48,
            Algorithm::HmacSha512 => 64,
        }
    }

    fn mac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn rust_crypto<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            let mut m = <M as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        match self {
            Algorithm::HmacMd5 => rust_crypto::<hmac::Hmac<md5::Md5>>(key, data),
            Algorithm::HmacSha1 => rust_crypto::<hmac::Hmac<sha1::Sha1>>(key, data),
            Algorithm::HmacSha224 => rust_crypto::<hmac::Hmac<sha2::Sha224>>(key, data),
            // hickory computes these three with ring; it cannot fail for them.
            _ => self.wire().mac_data(key, data).expect("hickory computes hmac-sha256/384/512"),
        }
    }

    /// Constant-time check of `tag` over `data`.
    fn verify(self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        fn rust_crypto<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
            let mut m = <M as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
            m.update(data);
            m.verify_slice(tag).is_ok()
        }
        match self {
            Algorithm::HmacMd5 => rust_crypto::<hmac::Hmac<md5::Md5>>(key, data, tag),
            Algorithm::HmacSha1 => rust_crypto::<hmac::Hmac<sha1::Sha1>>(key, data, tag),
            Algorithm::HmacSha224 => rust_crypto::<hmac::Hmac<sha2::Sha224>>(key, data, tag),
            _ => self.wire().verify_mac(key, data, tag).is_ok(),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A TSIG key: name, algorithm and secret. `Debug` never shows the secret.
#[derive(Clone)]
pub struct TsigKey(Arc<KeyInner>);

struct KeyInner {
    name: Name,
    algorithm: Algorithm,
    secret: Vec<u8>,
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.0.name.to_ascii())
            .field("algorithm", &self.0.algorithm)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Why a key cannot be made from the settings. The secret is never part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key name {0:?} is not a DNS name")]
    Name(String),
    #[error("the secret is not base64 (as tsig-keygen prints it)")]
    Secret,
    #[error("the secret is empty")]
    Empty,
}

impl TsigKey {
    /// A key from its name, algorithm and base64 secret.
    pub fn new(name: &str, algorithm: Algorithm, secret_base64: &str) -> Result<TsigKey, KeyError> {
        let mut wire_name = Name::from_ascii(name.trim()).map_err(|_| KeyError::Name(name.to_owned()))?;
        if wire_name.is_root() {
            return Err(KeyError::Name(name.to_owned()));
        }
        wire_name.set_fqdn(true);
        let secret =
            base64::engine::general_purpose::STANDARD.decode(secret_base64.trim()).map_err(|_| KeyError::Secret)?;
        if secret.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(TsigKey(Arc::new(KeyInner { name: wire_name, algorithm, secret })))
    }

    pub fn name(&self) -> String {
        self.0.name.to_ascii()
    }

    pub fn algorithm(&self) -> Algorithm {
        self.0.algorithm
    }

    /// Signs `msg` (which must carry no TSIG yet) at `now` (seconds since the epoch): its wire
    /// form with the TSIG record, and the checker of the answer.
    pub fn sign(&self, mut msg: Message, now: u64) -> Result<(Vec<u8>, Verifier), String> {
        let k = &self.0;
        let stub = TSIG::new(k.algorithm.wire(), now, FUDGE, Vec::new(), msg.metadata.id, None, Vec::new());
        let tbs = message_tbs(&msg, &stub, &k.name).map_err(|e| e.to_string())?;
        let mac = k.algorithm.mac(&k.secret, &tbs);
        msg.set_signature(Box::new(make_tsig_record(k.name.clone(), stub.set_mac(mac.clone()))));
        let wire = msg.to_vec().map_err(|e| e.to_string())?;
        let verifier =
            Verifier { key: self.clone(), prior_mac: mac, first: true, unsigned: Vec::new(), unsigned_runs: 0 };
        Ok((wire, verifier))
    }
}

/// What is wrong with an answer to a signed request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsigFailure {
    /// The server did not accept our signature: its TSIG error (BADSIG, BADKEY, BADTIME) and
    /// the answer's RCODE (NOTAUTH).
    #[error("the server did not accept our TSIG signature: it answered {rcode} with TSIG error {}", tsig_error_name(*.error))]
    Refused { rcode: String, error: TsigError },
    /// An answer without a TSIG record (a server that does not know the key answers unsigned).
    #[error("the server answered {rcode} without a TSIG signature")]
    Unsigned { rcode: String },
    /// An answer signed with another key or algorithm.
    #[error("the answer is signed with key {key} ({algorithm}), not ours")]
    OtherKey { key: String, algorithm: String },
    /// The answer's MAC does not check out: not from a holder of the key, or altered.
    #[error("the answer's TSIG MAC is wrong (the server holds another secret, or the answer was altered)")]
    BadMac,
    /// The answer was signed too far from our clock.
    #[error("the answer's TSIG time is {skew} s away from our clock (fudge {FUDGE} s)")]
    Time { skew: i64 },
    /// A zone transfer left too many messages unsigned, or ended on an unsigned one.
    #[error("the zone transfer carries {0}")]
    Transfer(&'static str),
    /// The answer cannot be decoded.
    #[error("cannot decode the answer: {0}")]
    Malformed(String),
}

/// Upstream's and dig's names for the TSIG error codes.
pub fn tsig_error_name(e: TsigError) -> String {
    match e {
        TsigError::BadSig => "BADSIG".into(),
        TsigError::BadKey => "BADKEY".into(),
        TsigError::BadTime => "BADTIME".into(),
        TsigError::BadTrunc => "BADTRUNC".into(),
        TsigError::Unknown(code) => code.to_string(),
    }
}

/// Checks the answer (or the messages of a zone transfer) to one signed request.
pub struct Verifier {
    key: TsigKey,
    /// The MAC the next signed message chains on: the request's, then the last signed answer's.
    prior_mac: Vec<u8>,
    first: bool,
    /// Unsigned transfer messages since the last signed one (they are covered by the next MAC).
    unsigned: Vec<u8>,
    unsigned_runs: usize,
}

impl Verifier {
    /// Decodes one message of the answer and checks its signature. An unsigned message is
    /// accepted only inside a transfer; [`Verifier::finish`] checks that the last was signed.
    pub fn check(&mut self, wire: &[u8]) -> Result<Message, TsigFailure> {
        let msg = Message::from_vec(wire).map_err(|e| TsigFailure::Malformed(e.to_string()))?;
        let rcode = crate::error::rcode_name(msg.metadata.response_code);
        let Some(sig) = msg.signature() else {
            if self.first {
                return Err(TsigFailure::Unsigned { rcode });
            }
            self.unsigned.extend_from_slice(wire);
            self.unsigned_runs += 1;
            if self.unsigned_runs > MAX_UNSIGNED_RUN {
                return Err(TsigFailure::Transfer("more than 99 unsigned messages in a row"));
            }
            return Ok(msg);
        };
        let tsig = &sig.data;
        if tsig.mac.is_empty()
            && let Some(error) = tsig.error
        {
            return Err(TsigFailure::Refused { rcode, error });
        }
        let k = &self.key.0;
        if !sig.name.eq_ignore_root(&k.name) || !k.algorithm.is(&tsig.algorithm) {
            return Err(TsigFailure::OtherKey { key: sig.name.to_ascii(), algorithm: tsig.algorithm.to_string() });
        }
        if tsig.mac.len() != k.algorithm.mac_len() {
            return Err(TsigFailure::BadMac);
        }
        let (signed, _) =
            signed_bitmessage_to_buf(wire, None, self.first).map_err(|e| TsigFailure::Malformed(e.to_string()))?;
        let mut tbs = Vec::with_capacity(2 + self.prior_mac.len() + self.unsigned.len() + signed.len());
        tbs.extend_from_slice(&(self.prior_mac.len() as u16).to_be_bytes());
        tbs.extend_from_slice(&self.prior_mac);
        tbs.extend_from_slice(&self.unsigned);
        tbs.extend_from_slice(&signed);
        if !k.algorithm.verify(&k.secret, &tbs, &tsig.mac) {
            return Err(TsigFailure::BadMac);
        }
        let skew = now() as i64 - tsig.time as i64;
        if skew.unsigned_abs() > u64::from(tsig.fudge.max(FUDGE)) {
            return Err(TsigFailure::Time { skew });
        }
        if let Some(error) = tsig.error {
            return Err(TsigFailure::Refused { rcode, error });
        }
        self.prior_mac = tsig.mac.clone();
        self.first = false;
        self.unsigned.clear();
        self.unsigned_runs = 0;
        Ok(msg)
    }

    /// After the last message of a transfer: it must have been signed.
    pub fn finish(&self) -> Result<(), TsigFailure> {
        if self.unsigned_runs > 0 {
            return Err(TsigFailure::Transfer("unsigned messages at its end"));
        }
        Ok(())
    }
}

/// Seconds since the epoch, for TSIG times.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{MessageType, OpCode, Query};
    use hickory_proto::rr::RecordType;

    use super::*;

    const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw==";

    fn query() -> Message {
        let mut m = Message::new(4242, MessageType::Query, OpCode::Query);
        m.add_query(Query::query(Name::from_ascii("example.test.").unwrap(), RecordType::SOA));
        m
    }

    /// What a server holding `key` answers to `request_mac`: the same question, signed.
    fn signed_answer(key: &TsigKey, request_mac: &[u8], time: u64) -> Vec<u8> {
        let mut answer = query();
        answer.metadata.message_type = MessageType::Response;
        let k = &key.0;
        let stub = TSIG::new(k.algorithm.wire(), time, FUDGE, Vec::new(), answer.metadata.id, None, Vec::new());
        let mut tbs = (request_mac.len() as u16).to_be_bytes().to_vec();
        tbs.extend_from_slice(request_mac);
        tbs.extend_from_slice(&message_tbs(&answer, &stub, &k.name).unwrap());
        let mac = k.algorithm.mac(&k.secret, &tbs);
        answer.set_signature(Box::new(make_tsig_record(k.name.clone(), stub.set_mac(mac))));
        answer.to_vec().unwrap()
    }

    #[test]
    fn every_algorithm_signs_and_checks_its_answer() {
        for alg in Algorithm::ALL {
            let key = TsigKey::new("exodns-key", alg, SECRET).unwrap();
            let (wire, mut verifier) = key.sign(query(), now()).unwrap();
            let sent = Message::from_vec(&wire).unwrap();
            let sig = sent.signature().expect("signed");
            assert_eq!(sig.data.mac.len(), alg.mac_len(), "{alg}");
            assert!(alg.is(&sig.data.algorithm), "{alg}");
            // The request's MAC covers the request as sent (checked as a server would).
            let (tbs, _) = signed_bitmessage_to_buf(&wire, None, true).unwrap();
            assert!(alg.verify(&key.0.secret, &tbs, &sig.data.mac), "{alg}: request MAC");

            let answer = signed_answer(&key, &sig.data.mac, now());
            verifier.check(&answer).unwrap_or_else(|e| panic!("{alg}: {e}"));

            let mut other_query = query();
            other_query.metadata.id = 4243;
            let (_, mut v2) = key.sign(other_query, now()).unwrap();
            assert_eq!(v2.check(&answer), Err(TsigFailure::BadMac), "{alg}: chained on another request");
            let other = TsigKey::new("exodns-key", alg, "b3RoZXItc2VjcmV0").unwrap();
            let (wire, mut v3) = other.sign(query(), now()).unwrap();
            let mac = Message::from_vec(&wire).unwrap().signature().unwrap().data.mac.clone();
            assert_eq!(v3.check(&signed_answer(&key, &mac, now())), Err(TsigFailure::BadMac), "{alg}: other secret");
        }
    }

    #[test]
    fn unsigned_and_stale_answers_are_refused() {
        let key = TsigKey::new("k", Algorithm::HmacSha256, SECRET).unwrap();
        let (wire, mut v) = key.sign(query(), now()).unwrap();
        let mut plain = query();
        plain.metadata.message_type = MessageType::Response;
        assert!(matches!(v.check(&plain.to_vec().unwrap()), Err(TsigFailure::Unsigned { .. })));
        let mac = Message::from_vec(&wire).unwrap().signature().unwrap().data.mac.clone();
        let (_, mut v) = key.sign(query(), now()).unwrap();
        v.prior_mac = mac.clone();
        assert!(matches!(v.check(&signed_answer(&key, &mac, now() - 3600)), Err(TsigFailure::Time { .. })));
    }

    #[test]
    fn algorithm_names_as_upstream_and_bind_write_them() {
        assert_eq!(Algorithm::parse("hmac-sha256"), Some(Algorithm::HmacSha256));
        assert_eq!(Algorithm::parse("HMAC-SHA512."), Some(Algorithm::HmacSha512));
        assert_eq!(Algorithm::parse("HMAC-MD5.SIG-ALG.REG.INT"), Some(Algorithm::HmacMd5));
        assert_eq!(Algorithm::parse("gss-tsig"), None);
        assert_eq!(Algorithm::parse(""), None);
        let md5 = TsigAlgorithm::from_name(Name::from_ascii("hmac-md5.sig-alg.reg.int").unwrap());
        assert!(Algorithm::HmacMd5.is(&md5));
    }

    #[test]
    fn the_secret_never_shows() {
        let key = TsigKey::new("k", Algorithm::HmacSha1, SECRET).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(SECRET) && shown.contains("<redacted>"), "{shown}");
        assert_eq!(TsigKey::new("k", Algorithm::HmacSha1, "not base64!").unwrap_err(), KeyError::Secret);
        assert!(!KeyError::Secret.to_string().contains("not base64!"));
    }
}
