//! Google credentials, found as Google's own libraries find them ("Application Default
//! Credentials"), and the access tokens they give:
//!
//! - a **service-account key** file (`"type": "service_account"`): a JWT signed RS256 with the
//!   key, exchanged at the key's `token_uri` (JWT bearer grant, RFC 7523);
//! - a **workload identity federation** file (`"type": "external_account"`): the workload's own
//!   token (a projected Kubernetes ServiceAccount token, read from `credential_source.file`)
//!   exchanged at the STS `token_url`, then, when the file names one, for a service account's
//!   token at `service_account_impersonation_url`;
//! - the **metadata server** of GCE/GKE (GKE Workload Identity included), at `GCE_METADATA_HOST`
//!   when set (as Google's libraries do), else `169.254.169.254`.
//!
//! Tokens are kept until shortly before they expire ([`exodns_http::token`]). Keys, assertions,
//! subject tokens and access tokens appear in no log and no error.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use exodns_core::Secret;
use exodns_http::bearer::TokenSource;
use exodns_http::retry::RetryPolicy;
pub use exodns_http::token::TokenError as AuthError;
use exodns_http::token::{Token, TokenCache, fetch, form_post, read_token};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;

use crate::error::GoogleError;

/// The OAuth scope of Cloud DNS read-write (upstream asks for the same).
pub const SCOPE: &str = "https://www.googleapis.com/auth/ndev.clouddns.readwrite";
/// The scope asked of STS before impersonation (Google's libraries do the same).
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
/// `GCE_METADATA_HOST`: `host[:port]` of the metadata server.
pub const METADATA_HOST_ENV: &str = "GCE_METADATA_HOST";
const METADATA_IP: &str = "169.254.169.254";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Lifetime asked for an assertion and an impersonated token.
const LIFETIME: Duration = Duration::from_secs(3600);

/// Where tokens come from.
pub enum Credentials {
    ServiceAccount(ServiceAccount),
    ExternalAccount(ExternalAccount),
    Metadata { host: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A service-account key (its private key never leaves this struct but as a signature).
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key_id: String,
    pub token_uri: String,
    pub project_id: Option<String>,
    key: RsaKeyPair,
}

/// A workload identity federation configuration.
#[derive(Debug, Clone)]
pub struct ExternalAccount {
    pub audience: String,
    pub subject_token_type: String,
    pub token_url: String,
    pub impersonation_url: Option<String>,
    /// File holding the workload's own token.
    pub subject_token_file: PathBuf,
    /// When the file is JSON: the field holding the token.
    pub subject_token_field: Option<String>,
    pub project_id: Option<String>,
}

#[derive(Deserialize)]
struct CredentialsFile {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    client_email: String,
    #[serde(default)]
    private_key: Option<Secret>,
    #[serde(default)]
    private_key_id: String,
    #[serde(default)]
    token_uri: String,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    quota_project_id: Option<String>,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    subject_token_type: String,
    #[serde(default)]
    token_url: String,
    #[serde(default)]
    service_account_impersonation_url: Option<String>,
    #[serde(default)]
    credential_source: Option<CredentialSource>,
}

#[derive(Deserialize)]
struct CredentialSource {
    #[serde(default)]
    file: Option<PathBuf>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    format: Option<SourceFormat>,
}

#[derive(Deserialize)]
struct SourceFormat {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    subject_token_field_name: Option<String>,
}

impl Credentials {
    /// Reads a credentials file (`GOOGLE_APPLICATION_CREDENTIALS`). Errors name the file and the
    /// field, never a key.
    pub fn from_file(path: &Path) -> Result<Self, GoogleError> {
        let text = std::fs::read(path).map_err(|e| GoogleError::file(path, e.to_string()))?;
        Self::from_json(&text).map_err(|message| GoogleError::file(path, message))
    }

    fn from_json(text: &[u8]) -> Result<Self, String> {
        let f: CredentialsFile = serde_json::from_slice(text)
            .map_err(|e| format!("not a Google credentials JSON file (line {}, column {})", e.line(), e.column()))?;
        let project_id = f.project_id.or(f.quota_project_id).filter(|p| !p.is_empty());
        match f.kind.as_str() {
            "service_account" => {
                let need = |v: &str, field: &str| {
                    if v.is_empty() { Err(format!("service-account key without {field:?}")) } else { Ok(()) }
                };
                need(&f.client_email, "client_email")?;
                let private_key = f.private_key.unwrap_or_default();
                need(private_key.expose(), "private_key")?;
                let token_uri =
                    if f.token_uri.is_empty() { "https://oauth2.googleapis.com/token".to_owned() } else { f.token_uri };
                let key = rsa_key(private_key.expose()).map_err(|e| format!("private_key: {e}"))?;
                Ok(Credentials::ServiceAccount(ServiceAccount {
                    client_email: f.client_email,
                    private_key_id: f.private_key_id,
                    token_uri,
                    project_id,
                    key,
                }))
            }
            "external_account" => {
                let source = f.credential_source.ok_or("external_account without \"credential_source\"")?;
                let Some(file) = source.file else {
                    return Err(if source.url.is_some() {
                        "credential_source.url is not supported; use credential_source.file (a projected token)".into()
                    } else {
                        "credential_source needs \"file\"".into()
                    });
                };
                let subject_token_field = match source.format {
                    Some(fmt) if fmt.kind == "json" => Some(
                        fmt.subject_token_field_name
                            .ok_or("credential_source.format json needs subject_token_field_name")?,
                    ),
                    _ => None,
                };
                if f.audience.is_empty() || f.token_url.is_empty() || f.subject_token_type.is_empty() {
                    return Err("external_account needs audience, token_url and subject_token_type".into());
                }
                Ok(Credentials::ExternalAccount(ExternalAccount {
                    audience: f.audience,
                    subject_token_type: f.subject_token_type,
                    token_url: f.token_url,
                    impersonation_url: f.service_account_impersonation_url.filter(|u| !u.is_empty()),
                    subject_token_file: file,
                    subject_token_field,
                    project_id,
                }))
            }
            "" => Err("no \"type\" field".into()),
            other => Err(format!(
                "credentials of type {other:?} are not supported (service_account, external_account; or none, for the metadata server)"
            )),
        }
    }

    /// The metadata server at `GCE_METADATA_HOST`, else Google's address.
    pub fn metadata() -> Self {
        let host = std::env::var(METADATA_HOST_ENV).ok().filter(|h| !h.trim().is_empty());
        Credentials::Metadata { host: host.map_or_else(|| METADATA_IP.to_owned(), |h| h.trim().to_owned()) }
    }

    /// The project the credentials belong to, when they say.
    pub fn project_id(&self) -> Option<&str> {
        match self {
            Credentials::ServiceAccount(sa) => sa.project_id.as_deref(),
            Credentials::ExternalAccount(ea) => ea.project_id.as_deref(),
            Credentials::Metadata { .. } => None,
        }
    }

    /// For logs: what kind, and whose (no secret).
    pub fn describe(&self) -> String {
        match self {
            Credentials::ServiceAccount(sa) => format!("service-account key of {}", sa.client_email),
            Credentials::ExternalAccount(ea) => format!(
                "workload identity federation ({}{})",
                ea.audience,
                if ea.impersonation_url.is_some() { ", impersonating a service account" } else { "" }
            ),
            Credentials::Metadata { host } => format!("metadata server at {host}"),
        }
    }

    fn metadata_url(host: &str, path: &str) -> String {
        format!("http://{host}/computeMetadata/v1/{path}")
    }
}

/// A PEM private key (PKCS#8, as Google issues them, or PKCS#1) as a ring RSA key pair.
fn rsa_key(pem: &str) -> Result<RsaKeyPair, String> {
    let (label, der) = pem_decode(pem).ok_or("not a PEM private key")?;
    match label.as_str() {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der).map_err(|e| format!("not an RSA PKCS#8 key ({e})")),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der).map_err(|e| format!("not an RSA key ({e})")),
        other => Err(format!("PEM block {other:?} is not a private key")),
    }
}

/// The label and bytes of the first PEM block.
fn pem_decode(pem: &str) -> Option<(String, Vec<u8>)> {
    let start = pem.find("-----BEGIN ")?;
    let rest = &pem[start + 11..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_owned();
    let body_start = label_end + 5;
    let end = rest.find(&format!("-----END {label}-----"))?;
    let b64: String = rest[body_start..end].chars().filter(|c| !c.is_whitespace()).collect();
    Some((label, STANDARD.decode(b64).ok()?))
}

/// Tokens of one set of credentials.
pub struct Auth {
    creds: Credentials,
    http: reqwest::Client,
    retry: RetryPolicy,
    cache: TokenCache,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("credentials", &self.creds.describe()).finish_non_exhaustive()
    }
}

impl TokenSource for Auth {
    fn cache(&self) -> &TokenCache {
        &self.cache
    }

    async fn issue(&self) -> Result<Token, AuthError> {
        match &self.creds {
            Credentials::ServiceAccount(sa) => {
                let assertion = sa.assertion(SystemTime::now())?;
                let form = [("grant_type", JWT_BEARER), ("assertion", assertion.expose())];
                let name = format!("token endpoint {}", sa.token_uri);
                let body = fetch(&self.retry, &name, || form_post(self.http.post(&sa.token_uri), &form)).await?;
                read_token(&name, &body, LIFETIME)
            }
            Credentials::ExternalAccount(ea) => {
                let subject = ea.subject_token()?;
                let scope = if ea.impersonation_url.is_some() { CLOUD_PLATFORM } else { SCOPE };
                let form = [
                    ("grant_type", TOKEN_EXCHANGE),
                    ("audience", ea.audience.as_str()),
                    ("scope", scope),
                    ("requested_token_type", ACCESS_TOKEN_TYPE),
                    ("subject_token_type", ea.subject_token_type.as_str()),
                    ("subject_token", subject.expose()),
                ];
                let name = format!("security token service {}", ea.token_url);
                let body = fetch(&self.retry, &name, || form_post(self.http.post(&ea.token_url), &form)).await?;
                let federated = read_token(&name, &body, LIFETIME)?;
                let Some(url) = &ea.impersonation_url else { return Ok(federated) };
                let request = serde_json::json!({"scope": [SCOPE], "lifetime": format!("{}s", LIFETIME.as_secs())});
                let name = format!("service account impersonation {url}");
                let body = fetch(&self.retry, &name, || {
                    self.http.post(url).bearer_auth(federated.value.expose()).json(&request)
                })
                .await?;
                read_token(&name, &body, LIFETIME)
            }
            Credentials::Metadata { host } => {
                let url = format!(
                    "{}?scopes={}",
                    Credentials::metadata_url(host, "instance/service-accounts/default/token"),
                    url::form_urlencoded::byte_serialize(SCOPE.as_bytes()).collect::<String>()
                );
                let name = format!("metadata server at {host}");
                let body =
                    fetch(&self.retry, &name, || self.http.get(&url).header("Metadata-Flavor", "Google")).await?;
                read_token(&name, &body, LIFETIME)
            }
        }
    }
}

impl Auth {
    pub fn new(creds: Credentials, http: reqwest::Client, retry: RetryPolicy) -> Self {
        Auth { creds, http, retry, cache: TokenCache::new() }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    /// The project of the instance, from the metadata server (upstream's auto-detection).
    pub async fn metadata_project(&self) -> Result<String, AuthError> {
        let host = match &self.creds {
            Credentials::Metadata { host } => host.clone(),
            _ => match Credentials::metadata() {
                Credentials::Metadata { host } => host,
                _ => unreachable!("metadata() gives the metadata server"),
            },
        };
        let url = Credentials::metadata_url(&host, "project/project-id");
        let name = format!("metadata server at {host}");
        let body = fetch(&self.retry, &name, || self.http.get(&url).header("Metadata-Flavor", "Google")).await?;
        let project = String::from_utf8_lossy(&body).trim().to_owned();
        if project.is_empty() {
            return Err(AuthError::Unavailable { issuer: name, message: "empty project id".into() });
        }
        Ok(project)
    }
}

impl ServiceAccount {
    /// The signed JWT of the bearer grant: RS256, `kid` = the key id; `iss` the account, `scope`
    /// Cloud DNS read-write, `aud` the token endpoint, valid one hour from `now`.
    pub fn assertion(&self, now: SystemTime) -> Result<Secret, AuthError> {
        let iat = now.duration_since(UNIX_EPOCH).map_err(|_| AuthError::Setup("clock before 1970".into()))?.as_secs();
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if !self.private_key_id.is_empty() {
            header["kid"] = self.private_key_id.clone().into();
        }
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": iat,
            "exp": iat + LIFETIME.as_secs(),
        });
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input.as_bytes(), &mut signature)
            .map_err(|_| AuthError::Setup("the service-account key cannot sign".into()))?;
        Ok(Secret::new(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))))
    }
}

impl ExternalAccount {
    /// The workload's own token, read fresh each time (the kubelet rotates projected tokens).
    fn subject_token(&self) -> Result<Secret, AuthError> {
        let path = &self.subject_token_file;
        let text = std::fs::read_to_string(path)
            .map_err(|e| AuthError::Setup(format!("credential_source.file {}: {e}", path.display())))?;
        let token = match &self.subject_token_field {
            None => text.trim().to_owned(),
            Some(field) => serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get(field).and_then(|t| t.as_str()).map(str::to_owned))
                .ok_or_else(|| AuthError::Setup(format!("{}: no string field {field:?}", path.display())))?,
        };
        if token.is_empty() {
            return Err(AuthError::Setup(format!("credential_source.file {} is empty", path.display())));
        }
        Ok(Secret::new(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_errors_name_the_field_not_the_key() {
        let e = Credentials::from_json(
            br#"{"type":"service_account","client_email":"a@b","private_key":"SECRET-KEY-TEXT"}"#,
        )
        .unwrap_err();
        assert!(e.contains("private_key") && !e.contains("SECRET-KEY-TEXT"), "{e}");
        let e = Credentials::from_json(br#"{"type":"authorized_user"}"#).unwrap_err();
        assert!(e.contains("authorized_user"), "{e}");
        let e = Credentials::from_json(b"{").unwrap_err();
        assert!(e.contains("not a Google credentials"), "{e}");
        let e = Credentials::from_json(
            br#"{"type":"external_account","audience":"a","token_url":"t","subject_token_type":"s","credential_source":{"url":"http://x"}}"#,
        )
        .unwrap_err();
        assert!(e.contains("credential_source.url"), "{e}");
    }

    #[test]
    fn external_account_fields() {
        let c = Credentials::from_json(
            br#"{"type":"external_account","audience":"//iam.googleapis.com/x","subject_token_type":"urn:ietf:params:oauth:token-type:jwt",
            "token_url":"http://127.0.0.1:1/v1/token","credential_source":{"file":"/t","format":{"type":"json","subject_token_field_name":"id_token"}},
            "service_account_impersonation_url":"http://127.0.0.1:1/imp"}"#,
        )
        .unwrap();
        let Credentials::ExternalAccount(ea) = c else { panic!("external account") };
        assert_eq!(ea.subject_token_field.as_deref(), Some("id_token"));
        assert!(ea.impersonation_url.is_some());
    }

    #[test]
    fn pem_blocks() {
        let (label, der) =
            pem_decode("junk\n-----BEGIN PRIVATE KEY-----\nAAEC\nAw==\n-----END PRIVATE KEY-----\n").unwrap();
        assert_eq!((label.as_str(), der), ("PRIVATE KEY", vec![0, 1, 2, 3]));
        assert!(rsa_key("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----").is_err());
    }
}
