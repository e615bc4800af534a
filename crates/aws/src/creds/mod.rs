//! AWS credentials, found in the order of the AWS SDKs and refreshed before they expire:
//!
//! 1. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`);
//! 2. the shared `credentials` / `config` files, profile `--aws-profile`, else `AWS_PROFILE`, else
//!    `default` (static keys, `role_arn` + `source_profile`, `role_arn` + `web_identity_token_file`);
//! 3. web identity: `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` (IRSA), through STS
//!    `AssumeRoleWithWebIdentity`; the token file is read again at every refresh (the kubelet
//!    rotates it);
//! 4. the container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or
//!    `_FULL_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`: ECS, EKS Pod Identity);
//! 5. the EC2 instance metadata service, IMDSv2 (unless `AWS_EC2_METADATA_DISABLED=true`);
//!
//! then `--aws-assume-role` (with `--aws-assume-role-external-id`) on top, through STS
//! `AssumeRole` signed with the credentials above.
//!
//! Secrets live in [`Secret`]s: no `Debug`, `Display` or error ever shows them.

mod fetch;
pub mod profile;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use exodns_core::Secret;

pub use fetch::Endpoints;
use profile::SharedFiles;

/// A set of credentials.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    /// When they stop working; `None` for long-term keys.
    pub expires: Option<SystemTime>,
    /// Where they came from, for logs: `environment`, `profile dev`, `web identity`, ….
    pub source: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .field("expires", &self.expires)
            .field("source", &self.source)
            .finish()
    }
}

/// Why no credentials could be had. Never holds a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("AWS credentials ({source_name}): {message}")]
pub struct CredentialsError {
    pub source_name: String,
    pub message: String,
    /// A network fault or a 5xx/throttle: worth trying again later.
    pub transient: bool,
}

impl CredentialsError {
    pub(crate) fn permanent(source: &str, message: impl Into<String>) -> Self {
        CredentialsError { source_name: source.to_owned(), message: message.into(), transient: false }
    }

    pub(crate) fn transient(source: &str, message: impl Into<String>) -> Self {
        CredentialsError { source_name: source.to_owned(), message: message.into(), transient: true }
    }
}

/// Where the base credentials come from, decided once from the environment and the files.
#[derive(Debug, Clone)]
pub enum Source {
    /// Keys given outright (env vars, a profile's static keys).
    Static(Credentials),
    /// STS `AssumeRoleWithWebIdentity` with the token in `token_file` (read at each refresh).
    WebIdentity { role_arn: String, token_file: std::path::PathBuf, session_name: String, label: String },
    /// STS `AssumeRole` with the credentials of `base` (a profile's `role_arn` + `source_profile`).
    AssumeRole { base: Box<Source>, role_arn: String, external_id: Option<Secret>, session_name: String, label: String },
    /// The container credentials endpoint.
    Container { url: String, token: Option<Secret>, token_file: Option<std::path::PathBuf> },
    /// IMDSv2 at `endpoint`.
    Imds { endpoint: String },
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Static(c) => c.source.clone(),
            Source::WebIdentity { label, .. } | Source::AssumeRole { label, .. } => label.clone(),
            Source::Container { .. } => "container credentials endpoint".into(),
            Source::Imds { .. } => "EC2 instance metadata (IMDSv2)".into(),
        }
    }
}

/// The settings the chain is resolved from: the flags and a view of the environment (a function,
/// so tests need not touch the process environment).
pub struct ChainSettings<'a> {
    /// `--aws-profile` (empty: `AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
    /// `--aws-assume-role`.
    pub assume_role: Option<String>,
    /// `--aws-assume-role-external-id`.
    pub assume_role_external_id: Option<Secret>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// The resolved chain: the base source, and the role assumed on top of it.
#[derive(Debug, Clone)]
pub struct Chain {
    pub source: Source,
    /// The region for STS (`AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`).
    pub region: Option<String>,
}

const SESSION_PREFIX: &str = "exodns";

fn session_name(env: &dyn Fn(&str) -> Option<String>) -> String {
    env("AWS_ROLE_SESSION_NAME").filter(|s| !s.is_empty()).unwrap_or_else(|| {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        format!("{SESSION_PREFIX}-{secs}")
    })
}

fn truthy(v: Option<String>) -> bool {
    v.is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

impl Chain {
    /// Decides where credentials come from, as the AWS SDK does. Only a wrong setting is an error
    /// (a named profile that does not exist, a profile with a source exodns does not support);
    /// nothing is fetched here.
    pub fn resolve(s: &ChainSettings<'_>) -> Result<Chain, CredentialsError> {
        let env = s.env;
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        let files = SharedFiles::from_env(env);
        let explicit_profile = s.profile.clone().filter(|p| !p.is_empty()).or_else(|| get("AWS_PROFILE"));
        let profile_name = explicit_profile.clone().unwrap_or_else(|| "default".to_owned());
        let profile = files.profile(&profile_name).map_err(|m| CredentialsError::permanent("shared config", m))?;
        if explicit_profile.is_some() && profile.is_none() {
            return Err(CredentialsError::permanent(
                &format!("profile {profile_name}"),
                format!(
                    "no profile {profile_name:?} in {} or {}",
                    files
                        .credentials
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "~/.aws/credentials".into()),
                    files.config.as_deref().map(|p| p.display().to_string()).unwrap_or_else(|| "~/.aws/config".into()),
                ),
            ));
        }
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .or_else(|| profile.as_ref().and_then(|p| p.get("region")).map(str::to_owned));

        // The Go SDK's order (what upstream runs): a profile named by flag first; else env keys;
        // else web identity from env; else the profile (AWS_PROFILE or `default`); then the
        // container endpoint; then IMDS.
        let flag_profile = s.profile.as_ref().is_some_and(|p| !p.is_empty());
        let env_keys = match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) if !flag_profile => Some(Source::Static(Credentials {
                access_key_id: id,
                secret_access_key: Secret::new(secret),
                session_token: get("AWS_SESSION_TOKEN").map(Secret::new),
                expires: None,
                source: "environment".into(),
            })),
            _ => None,
        };
        let env_web_identity = match (get("AWS_ROLE_ARN"), get("AWS_WEB_IDENTITY_TOKEN_FILE")) {
            (Some(role_arn), Some(token_file)) if !flag_profile => Some(Source::WebIdentity {
                role_arn,
                token_file: token_file.into(),
                session_name: session_name(env),
                label: "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)".into(),
            }),
            _ => None,
        };
        let from_profile = || match &profile {
            Some(p) => profile_source(&files, p, env, 0),
            None => Ok(None),
        };
        let base = match env_keys.or(env_web_identity) {
            Some(b) => b,
            None => match from_profile()? {
                Some(b) => b,
                None => fallback_source(&get)?,
            },
        };
        let source = match s.assume_role.as_deref().filter(|r| !r.is_empty()) {
            Some(role) => Source::AssumeRole {
                label: format!("assume role {role} over {}", base.describe()),
                base: Box::new(base),
                role_arn: role.to_owned(),
                external_id: s.assume_role_external_id.clone().filter(|e| !e.is_empty()),
                session_name: session_name(env),
            },
            None => base,
        };
        Ok(Chain { source, region })
    }
}

/// The last links of the chain: the container endpoint, then IMDSv2.
fn fallback_source(get: &dyn Fn(&str) -> Option<String>) -> Result<Source, CredentialsError> {
    let token = get("AWS_CONTAINER_AUTHORIZATION_TOKEN").map(Secret::new);
    let token_file = get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").map(Into::into);
    if let Some(rel) = get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return Ok(Source::Container { url: format!("http://169.254.170.2{rel}"), token, token_file });
    }
    if let Some(full) = get("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        fetch::check_container_url(&full)?;
        return Ok(Source::Container { url: full, token, token_file });
    }
    if truthy(get("AWS_EC2_METADATA_DISABLED")) {
        return Err(CredentialsError::permanent(
            "credential chain",
            "none found: no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, no usable profile, no web identity \
             (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), no container credentials, and the instance \
             metadata service is disabled (AWS_EC2_METADATA_DISABLED)",
        ));
    }
    let endpoint = get("AWS_EC2_METADATA_SERVICE_ENDPOINT").unwrap_or_else(|| "http://169.254.169.254".into());
    Ok(Source::Imds { endpoint: endpoint.trim_end_matches('/').to_owned() })
}

/// What a profile gives: static keys, a role over another profile, a web identity role.
fn profile_source(
    files: &SharedFiles,
    p: &profile::Profile,
    env: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<Option<Source>, CredentialsError> {
    let label = format!("profile {}", p.name);
    if depth > 4 {
        return Err(CredentialsError::permanent(&label, "source_profile chain is too long (a loop?)"));
    }
    if let Some(role_arn) = p.get("role_arn") {
        if let Some(token_file) = p.get("web_identity_token_file") {
            return Ok(Some(Source::WebIdentity {
                role_arn: role_arn.to_owned(),
                token_file: token_file.into(),
                session_name: p.get("role_session_name").map(str::to_owned).unwrap_or_else(|| session_name(env)),
                label: format!("{label}: web identity"),
            }));
        }
        let base = if let Some(src) = p.get("source_profile") {
            let sp = if src == p.name {
                // A profile that is its own source uses its own static keys.
                Some(static_keys(p, &label)?.ok_or_else(|| {
                    CredentialsError::permanent(&label, "source_profile names itself but it has no keys")
                })?)
            } else {
                let other = files
                    .profile(src)
                    .map_err(|m| CredentialsError::permanent(&label, m))?
                    .ok_or_else(|| CredentialsError::permanent(&label, format!("source_profile {src:?} not found")))?;
                profile_source(files, &other, env, depth + 1)?
            };
            sp.ok_or_else(|| {
                CredentialsError::permanent(&label, format!("source_profile {src:?} gives no credentials"))
            })?
        } else if let Some(cs) = p.get("credential_source") {
            return Err(CredentialsError::permanent(
                &label,
                format!(
                    "credential_source = {cs} is not supported; use source_profile, or the chain without a profile"
                ),
            ));
        } else {
            return Err(CredentialsError::permanent(
                &label,
                "role_arn needs source_profile or web_identity_token_file",
            ));
        };
        return Ok(Some(Source::AssumeRole {
            base: Box::new(base),
            role_arn: role_arn.to_owned(),
            external_id: p.get("external_id").map(Secret::new),
            session_name: p.get("role_session_name").map(str::to_owned).unwrap_or_else(|| session_name(env)),
            label: format!("{label}: assume role {role_arn}"),
        }));
    }
    if let Some(s) = static_keys(p, &label)? {
        return Ok(Some(s));
    }
    for unsupported in ["credential_process", "sso_session", "sso_start_url"] {
        if p.get(unsupported).is_some() {
            return Err(CredentialsError::permanent(&label, format!("{unsupported} is not supported by exodns")));
        }
    }
    // A profile with only settings (region, …): credentials come from further down the chain.
    Ok(None)
}

fn static_keys(p: &profile::Profile, label: &str) -> Result<Option<Source>, CredentialsError> {
    match (p.get("aws_access_key_id"), p.get("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok(Some(Source::Static(Credentials {
            access_key_id: id.to_owned(),
            secret_access_key: Secret::new(secret),
            session_token: p.get("aws_session_token").map(Secret::new),
            expires: None,
            source: label.to_owned(),
        }))),
        (Some(_), None) => Err(CredentialsError::permanent(label, "aws_access_key_id without aws_secret_access_key")),
        _ => Ok(None),
    }
}

/// Credentials of a [`Chain`], cached and refreshed `refresh_before` their expiry. Cheap to
/// clone (shared).
#[derive(Clone)]
pub struct CredentialsCache {
    inner: Arc<CacheInner>,
}

struct CacheInner {
    chain: Chain,
    endpoints: Endpoints,
    http: reqwest::Client,
    refresh_before: Duration,
    current: tokio::sync::Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for CredentialsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsCache").field("source", &self.inner.chain.source.describe()).finish_non_exhaustive()
    }
}

/// How long before their expiry credentials are fetched anew (the SDKs use 5 to 15 minutes).
pub const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

impl CredentialsCache {
    pub fn new(chain: Chain, endpoints: Endpoints, http: reqwest::Client) -> Self {
        Self::with_refresh(chain, endpoints, http, REFRESH_BEFORE)
    }

    /// With another refresh margin (tests use one longer than the credentials live, so every use
    /// refreshes).
    pub fn with_refresh(chain: Chain, endpoints: Endpoints, http: reqwest::Client, refresh_before: Duration) -> Self {
        CredentialsCache {
            inner: Arc::new(CacheInner {
                chain,
                endpoints,
                http,
                refresh_before,
                current: tokio::sync::Mutex::new(None),
            }),
        }
    }

    pub fn describe(&self) -> String {
        self.inner.chain.source.describe()
    }

    /// Valid credentials: the cached ones, or fresh ones when they are near their expiry. When a
    /// refresh fails but the cached credentials have not expired yet, they are used (and the
    /// failure logged).
    pub async fn get(&self) -> Result<Credentials, CredentialsError> {
        let mut current = self.inner.current.lock().await;
        let now = SystemTime::now();
        if let Some(c) = current.as_ref()
            && c.expires.is_none_or(|exp| exp > now + self.inner.refresh_before)
        {
            return Ok(c.clone());
        }
        match fetch::load(
            &self.inner.chain.source,
            &self.inner.endpoints,
            &self.inner.http,
            self.inner.chain.region.as_deref(),
        )
        .await
        {
            Ok(fresh) => {
                tracing::debug!(source = %fresh.source, access_key_id = %fresh.access_key_id, expires = ?fresh.expires, "AWS credentials loaded");
                *current = Some(fresh.clone());
                Ok(fresh)
            }
            Err(e) => match current.as_ref() {
                Some(c) if c.expires.is_some_and(|exp| exp > now) => {
                    tracing::warn!(error = %e, "cannot refresh AWS credentials; using the current ones until they expire");
                    Ok(c.clone())
                }
                _ => Err(e),
            },
        }
    }
}

/// `2026-12-07T03:00:00Z`, with optional fractional seconds, or a `+00:00` offset.
pub fn parse_timestamp(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (time, offset_secs) = if let Some(t) = time.strip_suffix('Z').or_else(|| time.strip_suffix('z')) {
        (t, 0)
    } else if let Some(pos) = time.rfind(['+', '-']) {
        let (t, off) = time.split_at(pos);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':').unwrap_or((&off[1..], "0"));
        (t, sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60))
    } else {
        (time, 0)
    };
    let time = time.split('.').next()?;
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss - offset_secs;
    u64::try_from(secs).ok().map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

#[cfg(test)]
mod tests;
