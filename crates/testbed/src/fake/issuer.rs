//! The token side of a cloud fake: the grants its token endpoints judged, and the bearer tokens
//! they issued. The fake's API accepts only those tokens, and only until they expire, so a test
//! sees a client that sends a stale or foreign token.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

/// One token request, as judged by the fake.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The credential kind (`jwt-bearer`, `client-secret`, `metadata`, …).
    pub kind: &'static str,
    /// Every field was as the vendor expects.
    pub ok: bool,
    /// What was wrong (empty when `ok`).
    pub problem: String,
    pub at: Instant,
}

/// Grants and tokens of one fake.
#[derive(Debug)]
pub struct Issuer {
    /// Start of every token's text (`ya29.fake`), for tests that grep logs for tokens.
    prefix: &'static str,
    /// Lifetime of the tokens issued.
    pub token_lifetime: Duration,
    tokens: HashMap<String, Instant>,
    grants: Vec<Grant>,
    issued: u64,
    /// API requests with a token not issued here, or expired.
    pub bad_token_uses: usize,
}

impl Issuer {
    pub fn new(prefix: &'static str) -> Issuer {
        Issuer {
            prefix,
            token_lifetime: Duration::from_secs(3600),
            tokens: HashMap::new(),
            grants: Vec::new(),
            issued: 0,
            bad_token_uses: 0,
        }
    }

    /// Records a grant of `kind`, refused with `problems` when there are any; a new token
    /// (`{prefix}-{kind}-{n}`) when there are none.
    pub fn grant(&mut self, kind: &'static str, problems: &[String]) -> Option<String> {
        let ok = problems.is_empty();
        self.grants.push(Grant { kind, ok, problem: problems.join("; "), at: Instant::now() });
        if !ok {
            return None;
        }
        self.issued += 1;
        let token = format!("{}-{kind}-{}", self.prefix, self.issued);
        self.tokens.insert(token.clone(), Instant::now() + self.token_lifetime);
        Some(token)
    }

    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// Drops the refused grants from the record (a test that refused on purpose).
    pub fn forget_refused(&mut self) {
        self.grants.retain(|g| g.ok);
    }

    /// Whether `token` was issued here (by a grant of `kind`, when given) and is still alive.
    pub fn is_current(&self, token: &str, kind: Option<&str>) -> bool {
        let of_kind = kind.is_none_or(|k| token.starts_with(&format!("{}-{k}-", self.prefix)));
        of_kind && self.tokens.get(token).is_some_and(|exp| *exp > Instant::now())
    }

    /// Whether an API request's bearer token is current; the others are counted.
    pub fn accepts(&mut self, headers: &HeaderMap) -> bool {
        let ok = self.is_current(bearer(headers), None);
        if !ok {
            self.bad_token_uses += 1;
        }
        ok
    }
}

/// The bearer token of a request (empty when none).
pub fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
}

/// A form-encoded grant (RFC 6749 §4) as a token endpoint reads it.
pub struct FormGrant {
    fields: Vec<(String, String)>,
}

impl FormGrant {
    /// The fields of `body`; a problem when the request does not say it is a form.
    pub fn read(headers: &HeaderMap, body: &[u8], problems: &mut Vec<String>) -> FormGrant {
        let form = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if !form {
            problems.push("content-type is not application/x-www-form-urlencoded".to_owned());
        }
        FormGrant { fields: url::form_urlencoded::parse(body).into_owned().collect() }
    }

    /// A field's value (empty when absent).
    pub fn get(&self, name: &str) -> &str {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }

    /// A problem for each field of `want` with another value (the value of a `secret` one is not
    /// repeated), and one when there are other fields than those and `checked_elsewhere`.
    pub fn expect(
        &self,
        want: &[(&str, &str)],
        secret: &[&str],
        checked_elsewhere: &[&str],
        problems: &mut Vec<String>,
    ) {
        for (k, v) in want {
            let got = self.get(k);
            if got != *v {
                problems.push(format!("{k} is {:?}", if secret.contains(k) { "<other>" } else { got }));
            }
        }
        let expected = want.len() + checked_elsewhere.len();
        if self.fields.len() != expected {
            let names: Vec<&str> = self.fields.iter().map(|(k, _)| k.as_str()).collect();
            problems.push(format!("{} form fields ({}), expected {expected}", names.len(), names.join(", ")));
        }
    }
}
