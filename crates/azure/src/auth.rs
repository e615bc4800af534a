//! Entra ID (Azure AD) tokens for ARM, chosen as upstream chooses them from `azure.json`:
//!
//! 1. **client secret** (`aadClientId` + `aadClientSecret`, neither the placeholder `msi`):
//!    `client_credentials` grant at `{authority}/{tenant}/oauth2/v2.0/token`;
//! 2. **workload identity** (`useWorkloadIdentityExtension`): the same grant with the projected
//!    ServiceAccount token (`AZURE_FEDERATED_TOKEN_FILE`, read fresh each time) as a client
//!    assertion; client and tenant from the file, else `AZURE_CLIENT_ID` / `AZURE_TENANT_ID`;
//! 3. **managed identity** (`useManagedIdentityExtension`): the instance metadata endpoint
//!    (`AZURE_POD_IDENTITY_AUTHORITY_HOST`, else `http://169.254.169.254`) with `Metadata: true`,
//!    for the user-assigned identity `userAssignedIdentityID` when given.
//!
//! Tokens are kept until shortly before they expire ([`exodns_http::token`]). Secrets, assertions
//! and tokens appear in no log and no error.

use std::path::PathBuf;
use std::time::Duration;

use exodns_core::Secret;
use exodns_http::bearer::TokenSource;
use exodns_http::retry::RetryPolicy;
pub use exodns_http::token::TokenError as AuthError;
use exodns_http::token::{Token, TokenCache, fetch, form_post, read_token};

use crate::config::{AzureConfig, Cloud};
use crate::error::AzureError;

pub const FEDERATED_TOKEN_FILE_ENV: &str = "AZURE_FEDERATED_TOKEN_FILE";
pub const CLIENT_ID_ENV: &str = "AZURE_CLIENT_ID";
pub const TENANT_ID_ENV: &str = "AZURE_TENANT_ID";
pub const IMDS_HOST_ENV: &str = "AZURE_POD_IDENTITY_AUTHORITY_HOST";
const IMDS_HOST: &str = "http://169.254.169.254";
const IMDS_API_VERSION: &str = "2018-02-01";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lifetime of a token whose answer does not say.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// How tokens are obtained.
pub enum Credential {
    ClientSecret { tenant: String, client_id: String, secret: Secret },
    WorkloadIdentity { tenant: String, client_id: String, token_file: PathBuf },
    ManagedIdentity { endpoint: String, client_id: Option<String> },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Credential {
    /// Upstream's choice from the config file (`env` reads the environment, for tests).
    pub fn from_config(cfg: &AzureConfig, env: impl Fn(&str) -> Option<String>) -> Result<Self, AzureError> {
        let is_msi = |v: &str| v.eq_ignore_ascii_case("msi");
        if !cfg.client_id.is_empty()
            && !cfg.client_secret.is_empty()
            && !is_msi(&cfg.client_id)
            && !is_msi(cfg.client_secret.expose())
        {
            if cfg.tenant_id.is_empty() {
                return Err(AzureError::config("azure-config-file", "tenantId is needed with aadClientSecret"));
            }
            return Ok(Credential::ClientSecret {
                tenant: cfg.tenant_id.clone(),
                client_id: cfg.client_id.clone(),
                secret: cfg.client_secret.clone(),
            });
        }
        if cfg.use_workload_identity_extension {
            let pick = |own: &str, var: &str| {
                Some(own.to_owned()).filter(|v| !v.is_empty()).or_else(|| env(var).filter(|v| !v.is_empty()))
            };
            let missing = |what: &str| {
                AzureError::config(
                    "azure-config-file",
                    format!(
                        "workload identity needs {what} (is the pod labelled azure.workload.identity/use: \"true\"?)"
                    ),
                )
            };
            let tenant = pick(&cfg.tenant_id, TENANT_ID_ENV).ok_or_else(|| missing("tenantId or AZURE_TENANT_ID"))?;
            let client_id =
                pick(&cfg.client_id, CLIENT_ID_ENV).ok_or_else(|| missing("aadClientId or AZURE_CLIENT_ID"))?;
            let token_file = env(FEDERATED_TOKEN_FILE_ENV)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| missing("AZURE_FEDERATED_TOKEN_FILE"))?;
            return Ok(Credential::WorkloadIdentity { tenant, client_id, token_file: token_file.into() });
        }
        if cfg.use_managed_identity_extension {
            let endpoint = env(IMDS_HOST_ENV).filter(|v| !v.is_empty()).unwrap_or_else(|| IMDS_HOST.to_owned());
            let client_id = Some(cfg.user_assigned_identity_id.clone()).filter(|v| !v.is_empty());
            return Ok(Credential::ManagedIdentity { endpoint: endpoint.trim_end_matches('/').to_owned(), client_id });
        }
        Err(AzureError::config(
            "azure-config-file",
            "no credentials provided for Azure API (aadClientId + aadClientSecret, useWorkloadIdentityExtension or useManagedIdentityExtension)",
        ))
    }

    /// For logs: what kind, and whose (no secret).
    pub fn describe(&self) -> String {
        match self {
            Credential::ClientSecret { tenant, client_id, .. } => {
                format!("client secret of {client_id} (tenant {tenant})")
            }
            Credential::WorkloadIdentity { tenant, client_id, .. } => {
                format!("workload identity of {client_id} (tenant {tenant})")
            }
            Credential::ManagedIdentity { endpoint, client_id } => match client_id {
                Some(id) => format!("managed identity {id} at {endpoint}"),
                None => format!("system-assigned managed identity at {endpoint}"),
            },
        }
    }
}

/// Tokens of one credential for one audience.
pub struct Auth {
    cred: Credential,
    cloud: Cloud,
    http: reqwest::Client,
    retry: RetryPolicy,
    cache: TokenCache,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("credential", &self.cred.describe()).finish_non_exhaustive()
    }
}

impl TokenSource for Auth {
    fn cache(&self) -> &TokenCache {
        &self.cache
    }

    async fn issue(&self) -> Result<Token, AuthError> {
        let scope = self.scope();
        match &self.cred {
            Credential::ClientSecret { tenant, client_id, secret } => {
                let url = self.token_url(tenant);
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id.as_str()),
                    ("client_secret", secret.expose()),
                    ("scope", scope.as_str()),
                ];
                self.post_form(&url, &form).await
            }
            Credential::WorkloadIdentity { tenant, client_id, token_file } => {
                let assertion = std::fs::read_to_string(token_file).map_err(|e| {
                    AuthError::Setup(format!("{FEDERATED_TOKEN_FILE_ENV} {}: {e}", token_file.display()))
                })?;
                let url = self.token_url(tenant);
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id.as_str()),
                    ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                    ("client_assertion", assertion.trim()),
                    ("scope", scope.as_str()),
                ];
                self.post_form(&url, &form).await
            }
            Credential::ManagedIdentity { endpoint, client_id } => {
                let mut url = url::Url::parse(&format!("{endpoint}/metadata/identity/oauth2/token"))
                    .map_err(|e| AuthError::Setup(format!("{IMDS_HOST_ENV} {endpoint:?}: {e}")))?;
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("api-version", IMDS_API_VERSION);
                    q.append_pair("resource", scope.strip_suffix("/.default").unwrap_or(&scope));
                    if let Some(id) = client_id {
                        q.append_pair("client_id", id);
                    }
                }
                let name = format!("managed identity endpoint {endpoint}");
                let body = fetch(&self.retry, &name, || self.http.get(url.clone()).header("Metadata", "true")).await?;
                read_token(&name, &body, DEFAULT_LIFETIME)
            }
        }
    }
}

impl Auth {
    pub fn new(cred: Credential, cloud: Cloud, http: reqwest::Client, retry: RetryPolicy) -> Self {
        Auth { cred, cloud, http, retry, cache: TokenCache::new() }
    }

    pub fn credential(&self) -> &Credential {
        &self.cred
    }

    fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.cloud.authority_host.trim_end_matches('/'))
    }

    /// The audience and `/.default`, as Azure's SDK joins them: the public cloud's audience
    /// `https://management.core.windows.net/` gives `https://management.core.windows.net//.default`.
    fn scope(&self) -> String {
        format!("{}/.default", self.cloud.audience)
    }

    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Token, AuthError> {
        let name = format!("token endpoint {url}");
        let body = fetch(&self.retry, &name, || form_post(self.http.post(url), form)).await?;
        read_token(&name, &body, DEFAULT_LIFETIME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(json: &str) -> AzureConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn chosen_as_upstream_chooses() {
        let none = |_: &str| None;
        let c = Credential::from_config(
            &cfg(r#"{"tenantId":"t","aadClientId":"c","aadClientSecret":"s","useManagedIdentityExtension":true}"#),
            none,
        )
        .unwrap();
        assert!(matches!(c, Credential::ClientSecret { .. }), "a secret wins over the managed identity");
        let c = Credential::from_config(&cfg(r#"{"aadClientId":"msi","aadClientSecret":"msi","useManagedIdentityExtension":true,"userAssignedIdentityID":"u"}"#), none).unwrap();
        assert!(
            matches!(&c, Credential::ManagedIdentity { client_id: Some(id), endpoint } if id == "u" && endpoint == IMDS_HOST),
            "{c:?}"
        );
        let env = |k: &str| match k {
            "AZURE_CLIENT_ID" => Some("from-env".to_owned()),
            "AZURE_TENANT_ID" => Some("tenant-env".to_owned()),
            "AZURE_FEDERATED_TOKEN_FILE" => Some("/var/run/secrets/azure/tokens/azure-identity-token".to_owned()),
            _ => None,
        };
        let c = Credential::from_config(&cfg(r#"{"useWorkloadIdentityExtension":true,"tenantId":"t"}"#), env).unwrap();
        assert!(
            matches!(&c, Credential::WorkloadIdentity { tenant, client_id, .. } if tenant == "t" && client_id == "from-env"),
            "{c:?}"
        );
        let e = Credential::from_config(&cfg(r#"{"useWorkloadIdentityExtension":true}"#), none).unwrap_err();
        assert!(e.to_string().contains("AZURE_TENANT_ID"), "{e}");
        let e = Credential::from_config(&cfg("{}"), none).unwrap_err();
        assert!(e.to_string().contains("no credentials"), "{e}");
        let c =
            Credential::from_config(&cfg(r#"{"tenantId":"t","aadClientId":"c","aadClientSecret":"hunter2"}"#), none)
                .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
