//! Upstream's `--azure-config-file` (the cloud provider's `azure.json`) and the flags that
//! override it; the cloud's endpoints.

use std::path::Path;

use exodns_core::Secret;
use serde::Deserialize;

use crate::error::AzureError;

/// `azure.json`, the fields upstream reads.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureConfig {
    #[serde(default)]
    pub cloud: String,
    #[serde(default)]
    pub tenant_id: String,
    #[serde(default)]
    pub subscription_id: String,
    #[serde(default)]
    pub resource_group: String,
    #[serde(default, rename = "aadClientId")]
    pub client_id: String,
    #[serde(default, rename = "aadClientSecret", deserialize_with = "secret")]
    pub client_secret: Secret,
    #[serde(default)]
    pub use_managed_identity_extension: bool,
    #[serde(default)]
    pub use_workload_identity_extension: bool,
    #[serde(default, rename = "userAssignedIdentityID")]
    pub user_assigned_identity_id: String,
    #[serde(default)]
    pub active_directory_authority_host: String,
    #[serde(default)]
    pub resource_manager_audience: String,
    #[serde(default)]
    pub resource_manager_endpoint: String,
}

impl std::fmt::Debug for AzureConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureConfig")
            .field("cloud", &self.cloud)
            .field("tenant_id", &self.tenant_id)
            .field("subscription_id", &self.subscription_id)
            .field("resource_group", &self.resource_group)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    Ok(Secret::new(String::deserialize(d)?))
}

/// The endpoints of an Azure cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// Entra ID (AAD) authority host, `https://login.microsoftonline.com/`.
    pub authority_host: String,
    /// ARM, `https://management.azure.com`.
    pub resource_manager: String,
    /// Audience of ARM tokens (the scope is this + `/.default`).
    pub audience: String,
}

/// `AZURE_AUTHORITY_HOST`, as Azure's SDKs read it.
pub const AUTHORITY_HOST_ENV: &str = "AZURE_AUTHORITY_HOST";

impl AzureConfig {
    /// Reads `path`; errors name the file and never a secret.
    pub fn from_file(path: &Path) -> Result<Self, AzureError> {
        let text = std::fs::read(path)
            .map_err(|e| AzureError::config("azure-config-file", format!("cannot read {}: {e}", path.display())))?;
        serde_json::from_slice(&text).map_err(|e| {
            AzureError::config(
                "azure-config-file",
                format!(
                    "{} is not an Azure config JSON file (line {}, column {})",
                    path.display(),
                    e.line(),
                    e.column()
                ),
            )
        })
    }

    /// The cloud's endpoints, as upstream picks them from `cloud` (the Azure Stack fields for
    /// `AzureStackCloud`); `AZURE_AUTHORITY_HOST` (or `authority_env`) overrides the authority
    /// host of the named clouds, as the Azure SDKs allow.
    pub fn cloud(&self, authority_env: Option<&str>) -> Result<Cloud, AzureError> {
        let named = |authority: &str, arm: &str, audience: &str| Cloud {
            authority_host: authority_env.filter(|h| !h.is_empty()).unwrap_or(authority).to_owned(),
            resource_manager: arm.to_owned(),
            audience: audience.to_owned(),
        };
        let cloud = match self.cloud.to_ascii_uppercase().as_str() {
            "" | "AZURECLOUD" | "AZUREPUBLICCLOUD" => named(
                "https://login.microsoftonline.com/",
                "https://management.azure.com",
                "https://management.core.windows.net/",
            ),
            "AZUREUSGOVERNMENT" | "AZUREUSGOVERNMENTCLOUD" => named(
                "https://login.microsoftonline.us/",
                "https://management.usgovcloudapi.net",
                "https://management.core.usgovcloudapi.net/",
            ),
            "AZURECHINACLOUD" => named(
                "https://login.chinacloudapi.cn/",
                "https://management.chinacloudapi.cn",
                "https://management.core.chinacloudapi.cn/",
            ),
            "AZURESTACKCLOUD" => {
                let need = |v: &str, field: &str| {
                    if v.is_empty() {
                        Err(AzureError::config("azure-config-file", format!("cloud AzureStackCloud needs {field:?}")))
                    } else {
                        Ok(v.to_owned())
                    }
                };
                Cloud {
                    authority_host: need(&self.active_directory_authority_host, "activeDirectoryAuthorityHost")?,
                    resource_manager: need(&self.resource_manager_endpoint, "resourceManagerEndpoint")?,
                    audience: need(&self.resource_manager_audience, "resourceManagerAudience")?,
                }
            }
            other => return Err(AzureError::config("azure-config-file", format!("unknown cloud name: {other}"))),
        };
        for (what, url) in
            [("authority host", &cloud.authority_host), ("resource manager endpoint", &cloud.resource_manager)]
        {
            check_url(what, url)?;
        }
        Ok(cloud)
    }
}

/// An https URL, or http on the loopback (a local proxy, tests): Azure's SDKs refuse plain http.
pub fn check_url(what: &str, url: &str) -> Result<url::Url, AzureError> {
    let u = url::Url::parse(url.trim())
        .map_err(|e| AzureError::config("azure-config-file", format!("{what} {url:?}: {e}")))?;
    let loopback = match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match u.scheme() {
        "https" => Ok(u),
        "http" if loopback => Ok(u),
        _ => Err(AzureError::config("azure-config-file", format!("{what} {url:?} must be https"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_upstream_fields_and_hides_the_secret() {
        let c: AzureConfig = serde_json::from_str(
            r#"{"tenantId":"t","subscriptionId":"s","resourceGroup":"rg","aadClientId":"id","aadClientSecret":"hunter2",
            "useManagedIdentityExtension":true,"userAssignedIdentityID":"u","useWorkloadIdentityExtension":false,"cloud":"AzurePublicCloud"}"#,
        )
        .unwrap();
        assert_eq!(
            (c.tenant_id.as_str(), c.resource_group.as_str(), c.user_assigned_identity_id.as_str()),
            ("t", "rg", "u")
        );
        assert!(c.use_managed_identity_extension);
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.cloud(None).unwrap().resource_manager, "https://management.azure.com");
        assert_eq!(c.cloud(Some("https://login.example/")).unwrap().authority_host, "https://login.example/");
    }

    #[test]
    fn clouds() {
        let mut c = AzureConfig { cloud: "AzureChinaCloud".into(), ..AzureConfig::default() };
        assert_eq!(c.cloud(None).unwrap().audience, "https://management.core.chinacloudapi.cn/");
        c.cloud = "AzureStackCloud".into();
        assert!(c.cloud(None).unwrap_err().to_string().contains("activeDirectoryAuthorityHost"));
        c.active_directory_authority_host = "http://127.0.0.1:9/".into();
        c.resource_manager_endpoint = "http://10.0.0.1".into();
        c.resource_manager_audience = "https://management.stack/".into();
        assert!(c.cloud(None).unwrap_err().to_string().contains("must be https"));
        c.resource_manager_endpoint = "https://management.stack".into();
        assert_eq!(c.cloud(None).unwrap().authority_host, "http://127.0.0.1:9/");
        c.cloud = "Mars".into();
        assert!(c.cloud(None).is_err());
    }
}
