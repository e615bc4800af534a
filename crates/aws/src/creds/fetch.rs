//! Fetching credentials from the sources that are not static: STS (web identity, assume role),
//! the container credentials endpoint, IMDSv2.

use std::time::{Duration, SystemTime};

use exodns_core::{Secret, error_chain};
use serde::Deserialize;

use super::{Credentials, CredentialsError, Source, parse_timestamp};
use crate::model::AwsErrorBody;

/// The STS endpoint: `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else the regional one.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub sts: Option<String>,
}

impl Endpoints {
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        if get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Endpoints::default();
        }
        Endpoints { sts: get("AWS_ENDPOINT_URL_STS").or_else(|| get("AWS_ENDPOINT_URL")) }
    }

    fn sts_url(&self, region: Option<&str>) -> String {
        if let Some(u) = &self.sts {
            return u.trim_end_matches('/').to_owned() + "/";
        }
        match region {
            Some(r) if r.starts_with("cn-") => format!("https://sts.{r}.amazonaws.com.cn/"),
            Some(r) => format!("https://sts.{r}.amazonaws.com/"),
            None => "https://sts.amazonaws.com/".to_owned(),
        }
    }
}

/// The hosts a `AWS_CONTAINER_CREDENTIALS_FULL_URI` over plain HTTP may name (the SDKs' rule):
/// loopback, the ECS and EKS Pod Identity agents.
pub(super) fn check_container_url(full: &str) -> Result<(), CredentialsError> {
    let url = url::Url::parse(full).map_err(|e| {
        CredentialsError::permanent("container credentials", format!("AWS_CONTAINER_CREDENTIALS_FULL_URI: {e}"))
    })?;
    if url.scheme() == "https" {
        return Ok(());
    }
    let allowed = match url.host() {
        Some(url::Host::Ipv4(ip)) => {
            ip.is_loopback() || ip.octets() == [169, 254, 170, 2] || ip.octets() == [169, 254, 170, 23]
        }
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23],
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if url.scheme() != "http" || !allowed {
        return Err(CredentialsError::permanent(
            "container credentials",
            format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI {full}: plain HTTP is allowed only to loopback and the ECS/EKS agents"
            ),
        ));
    }
    Ok(())
}

pub(super) async fn load(
    source: &Source,
    endpoints: &Endpoints,
    http: &reqwest::Client,
    region: Option<&str>,
) -> Result<Credentials, CredentialsError> {
    match source {
        Source::Static(c) => Ok(c.clone()),
        Source::WebIdentity { role_arn, token_file, session_name, label } => {
            // Read at every refresh: the kubelet rotates the projected token.
            let token = std::fs::read_to_string(token_file).map_err(|e| {
                CredentialsError::permanent(
                    label,
                    format!("cannot read the web identity token file {}: {e}", token_file.display()),
                )
            })?;
            let form = [
                ("Action", "AssumeRoleWithWebIdentity"),
                ("Version", "2011-06-15"),
                ("RoleArn", role_arn.as_str()),
                ("RoleSessionName", session_name.as_str()),
                ("WebIdentityToken", token.trim()),
            ];
            sts_call(http, &endpoints.sts_url(region), &form, None, region, label).await
        }
        Source::AssumeRole { base, role_arn, external_id, session_name, label } => {
            let base_creds = Box::pin(load(base, endpoints, http, region)).await?;
            let mut form = vec![
                ("Action", "AssumeRole"),
                ("Version", "2011-06-15"),
                ("RoleArn", role_arn.as_str()),
                ("RoleSessionName", session_name.as_str()),
            ];
            if let Some(id) = external_id {
                form.push(("ExternalId", id.expose()));
            }
            sts_call(http, &endpoints.sts_url(region), &form, Some(&base_creds), region, label).await
        }
        Source::Container { url, token, token_file } => {
            let label = "container credentials endpoint";
            let mut req = http.get(url);
            let token = match token_file {
                Some(f) => Some(Secret::new(
                    std::fs::read_to_string(f)
                        .map_err(|e| {
                            CredentialsError::permanent(
                                label,
                                format!("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {}: {e}", f.display()),
                            )
                        })?
                        .trim(),
                )),
                None => token.clone(),
            };
            if let Some(t) = token {
                let mut v = reqwest::header::HeaderValue::from_str(t.expose()).map_err(|_| {
                    CredentialsError::permanent(label, "the authorization token is not a valid header value")
                })?;
                v.set_sensitive(true);
                req = req.header(reqwest::header::AUTHORIZATION, v);
            }
            let body = send(req, label).await?;
            json_credentials(&body, label)
        }
        Source::Imds { endpoint } => {
            let label = "EC2 instance metadata (IMDSv2)";
            let token = send(
                http.put(format!("{endpoint}/latest/api/token"))
                    .header("x-aws-ec2-metadata-token-ttl-seconds", "21600"),
                label,
            )
            .await?;
            let token = Secret::new(String::from_utf8_lossy(&token).trim());
            let mut tv = reqwest::header::HeaderValue::from_str(token.expose())
                .map_err(|_| CredentialsError::permanent(label, "IMDS gave a token that is not a header value"))?;
            tv.set_sensitive(true);
            let base = format!("{endpoint}/latest/meta-data/iam/security-credentials/");
            let roles = send(http.get(&base).header("x-aws-ec2-metadata-token", tv.clone()), label).await?;
            let roles = String::from_utf8_lossy(&roles);
            let role = roles.lines().map(str::trim).find(|l| !l.is_empty()).ok_or_else(|| {
                CredentialsError::permanent(label, "the instance has no IAM role (no instance profile attached)")
            })?;
            let body = send(http.get(format!("{base}{role}")).header("x-aws-ec2-metadata-token", tv), label).await?;
            json_credentials(&body, label)
        }
    }
}

async fn send(req: reqwest::RequestBuilder, label: &str) -> Result<bytes::Bytes, CredentialsError> {
    let resp = req
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| CredentialsError::transient(label, error_chain(&e)))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| CredentialsError::transient(label, error_chain(&e)))?;
    if status.is_success() {
        return Ok(body);
    }
    let msg = format!("HTTP {}", status.as_u16());
    if status.is_server_error() || status.as_u16() == 429 {
        Err(CredentialsError::transient(label, msg))
    } else {
        Err(CredentialsError::permanent(label, msg))
    }
}

/// The JSON of the container endpoint and IMDS.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonCredentials {
    access_key_id: String,
    secret_access_key: String,
    token: Option<String>,
    expiration: Option<String>,
    code: Option<String>,
}

fn json_credentials(body: &[u8], label: &str) -> Result<Credentials, CredentialsError> {
    // serde_json's messages quote no input, so a parse error cannot leak a secret.
    let c: JsonCredentials = serde_json::from_slice(body)
        .map_err(|e| CredentialsError::permanent(label, format!("unreadable answer: {e}")))?;
    if let Some(code) = c.code.filter(|c| c != "Success") {
        return Err(CredentialsError::transient(label, format!("answer code {code}")));
    }
    Ok(Credentials {
        access_key_id: c.access_key_id,
        secret_access_key: Secret::new(c.secret_access_key),
        session_token: c.token.map(Secret::new),
        expires: expiry(c.expiration.as_deref(), label)?,
        source: label.to_owned(),
    })
}

fn expiry(text: Option<&str>, label: &str) -> Result<Option<SystemTime>, CredentialsError> {
    match text {
        None => Ok(None),
        Some(t) => parse_timestamp(t)
            .map(Some)
            .ok_or_else(|| CredentialsError::permanent(label, format!("unreadable expiration {t:?}"))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsResponse {
    #[serde(alias = "AssumeRoleResult")]
    assume_role_with_web_identity_result: StsResult,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsResult {
    credentials: StsCredentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}

async fn sts_call(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
    signer: Option<&Credentials>,
    region: Option<&str>,
    label: &str,
) -> Result<Credentials, CredentialsError> {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let mut req = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")
        .body(body)
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| CredentialsError::permanent(label, format!("STS request: {}", error_chain(&e))))?;
    if let Some(c) = signer {
        let region = region.unwrap_or("us-east-1");
        crate::sign::sign_request(&mut req, c, "sts", region, SystemTime::now())
            .map_err(|m| CredentialsError::permanent(label, m))?;
    }
    let resp =
        http.execute(req).await.map_err(|e| CredentialsError::transient(label, format!("STS: {}", error_chain(&e))))?;
    let status = resp.status();
    let bytes =
        resp.bytes().await.map_err(|e| CredentialsError::transient(label, format!("STS: {}", error_chain(&e))))?;
    if !status.is_success() {
        let detail = AwsErrorBody::parse(&bytes).map(|e| format!("{}: {}", e.code, e.message)).unwrap_or_default();
        let msg = format!("STS answered HTTP {} {detail}", status.as_u16());
        let throttled = detail.starts_with("Throttling") || detail.starts_with("IDPCommunicationError");
        return Err(if status.is_server_error() || throttled {
            CredentialsError::transient(label, msg)
        } else {
            CredentialsError::permanent(label, msg)
        });
    }
    let text =
        std::str::from_utf8(&bytes).map_err(|_| CredentialsError::permanent(label, "STS answer is not UTF-8"))?;
    let parsed: StsResponse = quick_xml::de::from_str(text)
        // No detail from the parser: its message could quote the answer, which holds secrets.
        .map_err(|_| CredentialsError::permanent(label, "unreadable STS answer (no credentials in it)"))?;
    let c = parsed.assume_role_with_web_identity_result.credentials;
    Ok(Credentials {
        access_key_id: c.access_key_id,
        secret_access_key: Secret::new(c.secret_access_key),
        session_token: Some(Secret::new(c.session_token)),
        expires: expiry(Some(&c.expiration), label)?,
        source: label.to_owned(),
    })
}
