use std::collections::HashMap;

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k: &str| map.get(k).cloned()
}

fn resolve(pairs: &[(&str, &str)], profile: Option<&str>, role: Option<&str>) -> Result<Chain, CredentialsError> {
    let env = env_of(pairs);
    Chain::resolve(&ChainSettings {
        profile: profile.map(str::to_owned),
        assume_role: role.map(str::to_owned),
        assume_role_external_id: None,
        env: &env,
    })
}

#[test]
fn order_env_then_web_identity_then_profile_then_container_then_imds() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    std::fs::write(&creds, "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = s3cr3t-profile\n[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = dev\n").unwrap();
    let cf = creds.to_str().unwrap();
    let nofiles = dir.path().join("none");
    let nf = nofiles.to_str().unwrap();
    let base = [("AWS_SHARED_CREDENTIALS_FILE", cf), ("AWS_CONFIG_FILE", nf)];
    let with =
        |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> { base.iter().chain(extra).copied().collect() };

    let keys = [("AWS_ACCESS_KEY_ID", "AKIDENV"), ("AWS_SECRET_ACCESS_KEY", "envsecret")];
    let web = [("AWS_ROLE_ARN", "arn:aws:iam::1:role/r"), ("AWS_WEB_IDENTITY_TOKEN_FILE", "/tok")];
    let c = resolve(&with(&[keys[0], keys[1], web[0], web[1]]), None, None).unwrap();
    assert!(matches!(&c.source, Source::Static(k) if k.access_key_id == "AKIDENV"));
    let c = resolve(&with(&web), None, None).unwrap();
    assert!(matches!(&c.source, Source::WebIdentity { role_arn, .. } if role_arn.ends_with("role/r")));
    let c = resolve(&with(&[]), None, None).unwrap();
    assert!(
        matches!(&c.source, Source::Static(k) if k.access_key_id == "AKIDPROFILE" && k.source == "profile default")
    );
    // A profile named by flag wins even over env keys; AWS_PROFILE picks one too.
    let c = resolve(&with(&keys), Some("dev"), None).unwrap();
    assert!(matches!(&c.source, Source::Static(k) if k.access_key_id == "AKIDDEV"));
    let c = resolve(&with(&[("AWS_PROFILE", "dev")]), None, None).unwrap();
    assert!(matches!(&c.source, Source::Static(k) if k.access_key_id == "AKIDDEV"));
    let e = resolve(&with(&[]), Some("nope"), None).unwrap_err();
    assert!(e.message.contains("no profile \"nope\""), "{e}");

    let empty = [("AWS_SHARED_CREDENTIALS_FILE", nf), ("AWS_CONFIG_FILE", nf)];
    let c =
        resolve(&[empty[0], empty[1], ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds")], None, None).unwrap();
    assert!(matches!(&c.source, Source::Container { url, .. } if url == "http://169.254.170.2/v2/creds"));
    let e = resolve(&[empty[0], empty[1], ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/x")], None, None);
    assert!(e.is_err(), "plain HTTP to another host is refused");
    let c = resolve(&[empty[0], empty[1], ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9/")], None, None)
        .unwrap();
    assert!(matches!(&c.source, Source::Imds { endpoint } if endpoint == "http://127.0.0.1:9"));
    let e = resolve(&[empty[0], empty[1], ("AWS_EC2_METADATA_DISABLED", "true")], None, None).unwrap_err();
    assert!(e.message.contains("none found"), "{e}");

    let c = resolve(&with(&keys), None, Some("arn:aws:iam::2:role/x")).unwrap();
    assert!(
        matches!(&c.source, Source::AssumeRole { base, role_arn, .. } if role_arn.ends_with("role/x") && matches!(**base, Source::Static(_)))
    );
}

#[test]
fn profile_roles() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[profile base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = b\nregion = eu-west-1\n\
         [profile admin]\nrole_arn = arn:aws:iam::3:role/admin\nsource_profile = base\nexternal_id = ext\n\
         [profile irsa]\nrole_arn = arn:aws:iam::3:role/w\nweb_identity_token_file = /var/run/t\n\
         [profile proc]\ncredential_process = /bin/true\n",
    )
    .unwrap();
    let cf = config.to_str().unwrap();
    let none = dir.path().join("none");
    let env = [("AWS_CONFIG_FILE", cf), ("AWS_SHARED_CREDENTIALS_FILE", none.to_str().unwrap())];
    let c = resolve(&env, Some("admin"), None).unwrap();
    assert!(
        matches!(&c.source, Source::AssumeRole { base, external_id: Some(_), .. } if matches!(&**base, Source::Static(k) if k.access_key_id == "AKIDBASE"))
    );
    let c = resolve(&env, Some("irsa"), None).unwrap();
    assert!(matches!(&c.source, Source::WebIdentity { token_file, .. } if token_file.ends_with("t")));
    let c = resolve(&env, Some("base"), None).unwrap();
    assert_eq!(c.region.as_deref(), Some("eu-west-1"));
    let e = resolve(&env, Some("proc"), None).unwrap_err();
    assert!(e.message.contains("credential_process"), "{e}");
}

#[test]
fn timestamps() {
    let t = |s: &str| parse_timestamp(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
    assert_eq!(t("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(t("2023-11-14T22:13:20Z"), Some(1_700_000_000));
    assert_eq!(t("2023-11-14T22:13:20.123456Z"), Some(1_700_000_000));
    assert_eq!(t("2023-11-15T00:13:20+02:00"), Some(1_700_000_000));
    assert_eq!(t("2024-02-29T00:00:00Z"), Some(1_709_164_800));
    assert_eq!(t("yesterday"), None);
    assert_eq!(t("2023-13-01T00:00:00Z"), None);
}

#[tokio::test]
async fn cache_refreshes_before_expiry_and_keeps_valid_ones_on_failure() {
    // A container endpoint fake on loopback: answers with credentials expiring in 2 minutes,
    // counting calls; the third call fails.
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen_auth = Arc::new(std::sync::Mutex::new(Vec::new()));
    {
        let (calls, seen_auth) = (calls.clone(), seen_auth.clone());
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap();
                let req = String::from_utf8_lossy(&buf[..n]).to_lowercase();
                seen_auth
                    .lock()
                    .unwrap()
                    .push(req.lines().find(|l| l.starts_with("authorization:")).unwrap_or("").to_owned());
                let k = calls.fetch_add(1, Ordering::SeqCst);
                let exp = SystemTime::now() + Duration::from_secs(120);
                let secs = exp.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
                let body = if k >= 2 {
                    String::new()
                } else {
                    let (days, rem) = (secs / 86400, secs % 86400);
                    // civil from days
                    let z = days + 719_468;
                    let era = z.div_euclid(146_097);
                    let doe = z - era * 146_097;
                    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
                    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
                    let mp = (5 * doy + 2) / 153;
                    let d = doy - (153 * mp + 2) / 5 + 1;
                    let m = if mp < 10 { mp + 3 } else { mp - 9 };
                    let y = yoe + era * 400 + i64::from(m <= 2);
                    format!(
                        r#"{{"AccessKeyId":"AKIDC{k}","SecretAccessKey":"x","Token":"t","Expiration":"{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z"}}"#,
                        rem / 3600,
                        rem % 3600 / 60,
                        rem % 60
                    )
                };
                let status = if body.is_empty() { "500 Internal Server Error" } else { "200 OK" };
                let resp =
                    format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                s.write_all(resp.as_bytes()).await.unwrap();
            }
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "first-token\n").unwrap();
    let chain = Chain {
        source: Source::Container {
            url: format!("http://127.0.0.1:{port}/creds"),
            token: None,
            token_file: Some(token_file.clone()),
        },
        region: None,
    };
    let http = crate::test_http();
    // Refresh margin of 1 minute: 2-minute credentials are served from the cache.
    let cache =
        CredentialsCache::with_refresh(chain.clone(), Endpoints::default(), http.clone(), Duration::from_secs(60));
    assert_eq!(cache.get().await.unwrap().access_key_id, "AKIDC0");
    assert_eq!(cache.get().await.unwrap().access_key_id, "AKIDC0");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Refresh margin of 5 minutes: each use refreshes; the token file is read each time.
    let cache = CredentialsCache::with_refresh(chain, Endpoints::default(), http, Duration::from_secs(300));
    std::fs::write(&token_file, "second-token\n").unwrap();
    assert_eq!(cache.get().await.unwrap().access_key_id, "AKIDC1");
    assert_eq!(seen_auth.lock().unwrap()[1], "authorization: second-token");
    // The endpoint fails now: the unexpired credentials are still used.
    assert_eq!(cache.get().await.unwrap().access_key_id, "AKIDC1");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}
