//! SigV4 signing of a reqwest request with `aws-sigv4` (the only part of the AWS SDK exodns uses).

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

use crate::creds::Credentials;

/// Signs `req` (method, URL, headers and body as they will be sent) for `service` in `region`,
/// adding the `Authorization`, `X-Amz-Date` (and `X-Amz-Security-Token`) headers. The added
/// headers are marked sensitive, so no reqwest debug output shows them.
pub fn sign_request(
    req: &mut reqwest::Request,
    creds: &Credentials,
    service: &str,
    region: &str,
    now: SystemTime,
) -> Result<(), String> {
    let identity = aws_credential_types::Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.expose().to_owned(),
        creds.session_token.as_ref().map(|t| t.expose().to_owned()),
        creds.expires,
        "exodns",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("signing parameters: {e}"))?
        .into();
    let body: &[u8] = req.body().and_then(|b| b.as_bytes()).unwrap_or_default();
    let headers: Vec<(&str, &str)> =
        req.headers().iter().filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))).collect();
    let signable =
        SignableRequest::new(req.method().as_str(), req.url().as_str(), headers.into_iter(), SignableBody::Bytes(body))
            .map_err(|e| format!("cannot sign the request: {e}"))?;
    let (instructions, _signature) =
        sign(signable, &params).map_err(|e| format!("cannot sign the request: {e}"))?.into_parts();
    let (headers, _params) = instructions.into_parts();
    for h in headers {
        let mut value =
            reqwest::header::HeaderValue::from_str(h.value()).map_err(|e| format!("signature header: {e}"))?;
        value.set_sensitive(true);
        req.headers_mut().insert(h.name(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use exodns_core::Secret;

    #[test]
    fn signature_names_the_service_and_hides_the_secret() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: Some(Secret::new("session-token-xyz")),
            expires: None,
            source: "test".into(),
        };
        let client = crate::test_http();
        let mut req = client
            .post("http://127.0.0.1:1/2013-04-01/hostedzone/Z1/rrset/")
            .header("content-type", "text/xml")
            .body("<x/>")
            .build()
            .unwrap();
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        sign_request(&mut req, &creds, "route53", "us-east-1", t).unwrap();
        let auth = req.headers()["authorization"].to_str().unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/route53/aws4_request"),
            "{auth}"
        );
        assert!(req.headers()["authorization"].is_sensitive());
        assert_eq!(req.headers()["x-amz-security-token"], "session-token-xyz");
        let dump = format!("{req:?} {creds:?}");
        assert!(!dump.contains("wJalrXUtnFEMI") && !dump.contains("session-token-xyz"), "{dump}");
    }
}
