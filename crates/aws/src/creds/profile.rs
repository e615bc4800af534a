//! The shared `credentials` and `config` files (INI), as the AWS SDKs read them: `[name]` sections
//! in `credentials`, `[profile name]` (or `[default]`) in `config`; `key = value` lines; `#` and
//! `;` comments. A key in `credentials` wins over the same key in `config`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The settings of one profile, merged from both files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub values: BTreeMap<String, String>,
}

impl Profile {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// Where the shared files are: `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`, else
/// `~/.aws/credentials` and `~/.aws/config`.
#[derive(Debug, Clone, Default)]
pub struct SharedFiles {
    pub credentials: Option<PathBuf>,
    pub config: Option<PathBuf>,
}

impl SharedFiles {
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let home = env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
        let pick = |var: &str, default: &str| {
            env(var).filter(|v| !v.is_empty()).map(PathBuf::from).or_else(|| home.as_ref().map(|h| h.join(default)))
        };
        SharedFiles {
            credentials: pick("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
            config: pick("AWS_CONFIG_FILE", ".aws/config"),
        }
    }

    /// The profile `name`, or `None` when neither file has it (a missing file counts as empty).
    /// A file that exists but cannot be read is an error naming it.
    pub fn profile(&self, name: &str) -> Result<Option<Profile>, String> {
        let mut found = false;
        let mut values = BTreeMap::new();
        if let Some(path) = &self.config {
            let wanted = if name == "default" { "default".to_owned() } else { format!("profile {name}") };
            if let Some(section) = read_section(path, |s| s == wanted || (name == "default" && s == "profile default"))?
            {
                found = true;
                values.extend(section);
            }
        }
        if let Some(path) = &self.credentials
            && let Some(section) = read_section(path, |s| s == name)?
        {
            found = true;
            values.extend(section);
        }
        Ok(found.then(|| Profile { name: name.to_owned(), values }))
    }
}

fn read_section(path: &Path, wanted: impl Fn(&str) -> bool) -> Result<Option<BTreeMap<String, String>>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    Ok(parse_section(&text, wanted))
}

/// The `key = value` pairs of the first section whose name `wanted` accepts (later sections of
/// the same name add to it, as the SDKs merge them).
pub fn parse_section(text: &str, wanted: impl Fn(&str) -> bool) -> Option<BTreeMap<String, String>> {
    let mut out: Option<BTreeMap<String, String>> = None;
    let mut inside = false;
    let mut last_key: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let name = rest.split(']').next().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
            inside = wanted(&name);
            if inside {
                out.get_or_insert_with(BTreeMap::new);
            }
            last_key = None;
            continue;
        }
        if !inside {
            continue;
        }
        let map = out.get_or_insert_with(BTreeMap::new);
        // An indented line continues the previous value (sub-sections such as `s3 =` use it).
        if line.starts_with([' ', '\t']) && last_key.is_some() {
            continue;
        }
        if let Some((k, v)) = trimmed.split_once('=') {
            let key = k.trim().to_ascii_lowercase();
            let value = strip_comment(v.trim()).to_owned();
            map.insert(key.clone(), value);
            last_key = Some(key);
        }
    }
    out
}

/// ` value ; comment` → `value` (a comment needs whitespace before it, as in the SDKs).
fn strip_comment(v: &str) -> &str {
    for (i, _) in v.match_indices([';', '#']) {
        if v[..i].ends_with([' ', '\t']) {
            return v[..i].trim_end();
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keys_and_comments() {
        let text = "# top\n[default]\naws_access_key_id = AKIDDEFAULT\n\n[profile team] ; c\nregion=eu-west-1 # here\nrole_arn = arn:aws:iam::1:role/x\ns3 =\n  max_concurrent_requests = 20\nsource_profile = base\n[team]\nregion = ignored-in-config\n";
        let team = parse_section(text, |s| s == "profile team").unwrap();
        assert_eq!(team["region"], "eu-west-1");
        assert_eq!(team["source_profile"], "base");
        assert!(!team.contains_key("max_concurrent_requests"));
        assert_eq!(parse_section(text, |s| s == "default").unwrap()["aws_access_key_id"], "AKIDDEFAULT");
        assert!(parse_section(text, |s| s == "none").is_none());
    }

    #[test]
    fn credentials_file_wins_over_config() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        let config = dir.path().join("config");
        std::fs::write(&creds, "[dev]\naws_access_key_id = FROMCREDS\naws_secret_access_key = s\n").unwrap();
        std::fs::write(&config, "[profile dev]\naws_access_key_id = FROMCONFIG\nregion = eu-central-1\n").unwrap();
        let files = SharedFiles { credentials: Some(creds), config: Some(config) };
        let p = files.profile("dev").unwrap().unwrap();
        assert_eq!(p.get("aws_access_key_id"), Some("FROMCREDS"));
        assert_eq!(p.get("region"), Some("eu-central-1"));
        assert_eq!(files.profile("other").unwrap(), None);
        let missing = SharedFiles { credentials: Some(dir.path().join("nope")), config: None };
        assert_eq!(missing.profile("dev").unwrap(), None);
    }
}
