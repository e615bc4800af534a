//! The places the Cloud DNS fake's clients get tokens from: the OAuth token endpoint (JWT bearer
//! grant of a service-account key), the security token service and IAM credentials (workload
//! identity federation with impersonation), and the GCE metadata server.

// Checks answer with the ready error response as their `Err`: test code.
#![allow(clippy::result_large_err)]

use super::*;

pub(super) async fn jwt_grant(State(s): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let mut st = lock(&s);
    let mut problems = Vec::new();
    let form = FormGrant::read(&headers, &body, &mut problems);
    form.expect(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")], &[], &["assertion"], &mut problems);
    let token_uri = format!("{}/token", st.base_url);
    problems.extend(check_jwt(form.get("assertion"), &st.trusted, &token_uri));
    match st.grant("jwt-bearer", problems) {
        Ok(v) => json_response(200, &v),
        Err(r) => r,
    }
}

/// What is wrong with a service-account assertion (nothing: empty).
fn check_jwt(jwt: &str, trusted: &[Trusted], token_uri: &str) -> Vec<String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return vec!["the assertion is not a JWT".into()];
    }
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let (Some(header), Some(claims)) = (decode(parts[0]), decode(parts[1])) else {
        return vec!["the JWT header or claims are not base64url JSON".into()];
    };
    let mut problems = Vec::new();
    if header["alg"] != "RS256" || header["typ"] != "JWT" {
        problems.push(format!("JWT header {header}"));
    }
    let Some(sa) = trusted.iter().find(|t| claims["iss"] == t.email.as_str()) else {
        problems.push(format!("unknown issuer {}", claims["iss"]));
        return problems;
    };
    if header["kid"] != sa.key_id.as_str() {
        problems.push(format!("kid {} is not the key's id", header["kid"]));
    }
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap_or_default();
    let signed = format!("{}.{}", parts[0], parts[1]);
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, &sa.public_key);
    if key.verify(signed.as_bytes(), &sig).is_err() {
        problems.push("the RS256 signature does not verify with the service account's key".into());
    }
    if claims["aud"] != token_uri {
        problems.push(format!("aud {} is not the token endpoint", claims["aud"]));
    }
    if claims["scope"] != DNS_SCOPE {
        problems.push(format!("scope {}", claims["scope"]));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let (iat, exp) = (claims["iat"].as_i64().unwrap_or(0), claims["exp"].as_i64().unwrap_or(0));
    if (iat - now).abs() > 60 || exp - iat != 3600 {
        problems.push(format!("iat {iat} / exp {exp} (now {now}): one hour from now is expected"));
    }
    problems
}

pub(super) async fn token_exchange(State(s): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let mut st = lock(&s);
    let mut problems = Vec::new();
    let form = FormGrant::read(&headers, &body, &mut problems);
    let Some(fed) = st.federation.clone() else {
        return json_response(400, &json!({"error": "invalid_request", "error_description": "no federation"}));
    };
    let scope = if fed.impersonate.is_some() { CLOUD_PLATFORM } else { DNS_SCOPE };
    let want = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
        ("audience", fed.audience.as_str()),
        ("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"),
        ("subject_token_type", fed.subject_token_type.as_str()),
        ("subject_token", fed.subject_token.as_str()),
        ("scope", scope),
    ];
    form.expect(&want, &["subject_token"], &[], &mut problems);
    match st.grant("token-exchange", problems) {
        Ok(mut v) => {
            v["issued_token_type"] = "urn:ietf:params:oauth:token-type:access_token".into();
            json_response(200, &v)
        }
        Err(r) => r,
    }
}

pub(super) async fn impersonate(
    State(s): Shared,
    UrlPath(action): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = lock(&s);
    let mut problems = Vec::new();
    let want = st.federation.as_ref().and_then(|f| f.impersonate.clone()).unwrap_or_default();
    if action != format!("{want}:generateAccessToken") {
        problems.push(format!("impersonation of {action}"));
    }
    if !st.issuer.is_current(bearer(&headers), Some("token-exchange")) {
        problems.push("not authorized with a current STS token".into());
    }
    let req: Value = serde_json::from_slice(&body).unwrap_or_default();
    if req["scope"] != json!([DNS_SCOPE]) {
        problems.push(format!("scope {}", req["scope"]));
    }
    match st.grant("impersonation", problems) {
        Ok(v) => {
            let expire =
                SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + st.issuer.token_lifetime.as_secs();
            json_response(200, &json!({"accessToken": v["access_token"], "expireTime": super::super::rfc3339(expire)}))
        }
        Err(r) => r,
    }
}

pub(super) async fn metadata_token(State(s): Shared, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    let mut st = lock(&s);
    let mut problems = Vec::new();
    if headers.get("metadata-flavor").and_then(|v| v.to_str().ok()) != Some("Google") {
        problems.push("no Metadata-Flavor: Google header".into());
        st.issuer.grant("metadata", &problems);
        return json_response(403, &json!({"error": "missing Metadata-Flavor"}));
    }
    let pairs = query_pairs(q.as_deref());
    if query_param(&pairs, "scopes") != Some(DNS_SCOPE) {
        problems.push(format!("scopes {:?}", query_param(&pairs, "scopes")));
    }
    match st.grant("metadata", problems) {
        Ok(v) => json_response(200, &v),
        Err(r) => r,
    }
}

pub(super) async fn metadata_project(State(s): Shared, headers: HeaderMap) -> Response {
    let st = lock(&s);
    if headers.get("metadata-flavor").and_then(|v| v.to_str().ok()) != Some("Google") {
        return json_response(403, &json!({"error": "missing Metadata-Flavor"}));
    }
    axum::response::IntoResponse::into_response(st.metadata_project.clone())
}

/// The DER body of the first PEM block.
pub(super) fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64.trim()).ok()
}

/// A service-account key file for the fake: a new 2048-bit RSA key (by `openssl genpkey`) in
/// `dir`, and the JSON key Google would issue for it, with `token_uri` pointing at the fake.
/// Returns (key JSON path, PEM path).
pub fn service_account_key(
    dir: &Path,
    fake: &GoogleFake,
    email: &str,
    key_id: &str,
    project: Option<&str>,
) -> (PathBuf, PathBuf) {
    let pem = dir.join(format!("{key_id}.pem"));
    let status = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
        .arg(&pem)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (scripts/testbed/apt-deps.sh installs it)");
    assert!(status.success(), "openssl genpkey failed");
    let key = std::fs::read_to_string(&pem).unwrap();
    let mut json = json!({
        "type": "service_account",
        "private_key_id": key_id,
        "private_key": key,
        "client_email": email,
        "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": fake.token_uri(),
    });
    if let Some(p) = project {
        json["project_id"] = p.into();
    }
    let path = dir.join(format!("{key_id}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    fake.trust_service_account(email, key_id, &pem);
    (path, pem)
}
