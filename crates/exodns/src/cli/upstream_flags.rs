//! Upstream's flag list beside ours: every flag of upstream v0.22.0 and v0.23.0, read at test time
//! from `pkg/apis/externaldns/types.go` in the `sigs.k8s.io/external-dns` module (fetched by
//! `go mod download`, cached in Go's module cache outside the clone), must be accepted by exodns's
//! parser with a value of upstream's type — as a flag and as its `EXTERNAL_DNS_*` env var — when it
//! is a general, source or registry flag, or a flag of a provider, source kind or registry exodns
//! has. The flags of the ones exodns lacks are printed, so the list tightens as they land.

use std::collections::BTreeMap;
use std::process::Command;

use clap::{CommandFactory, Parser};

use super::Cli;
use crate::providers::ProviderName;
use crate::upstream_module::upstream_file;
use crate::wiring::REGISTRIES;

const VERSIONS: &[&str] = &["v0.22.0", "v0.23.0"];

/// General, source and registry flags of upstream that exodns does not take yet (issue 16). Each
/// must still be refused — an accepted one fails the test until it leaves this list — so the
/// list is exactly what is missing.
const NOT_YET: &[&str] = &[];

/// The type upstream's binder gives a flag (`b.<Kind>Var` in types.go).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Bool,
    String,
    Int,
    Duration,
    Strings,
    Regexp,
    StringMap,
    /// With the allowed values written as literals (none when upstream names constants).
    Enum(Vec<String>),
}

#[derive(Debug, Clone)]
struct Flag {
    name: String,
    kind: Kind,
}

/// Whose flag it is: upstream's `--help` groups them so, and the name says it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Owner {
    General,
    Provider(&'static str),
    Source(&'static str),
    Registry(&'static str),
}

/// Name prefixes of upstream's provider flags, longest first where one holds another.
const PROVIDER_PREFIXES: &[(&str, &str)] = &[
    ("alibaba-cloud-", "alibabacloud"),
    ("aws-sd-", "aws-sd"),
    ("aws-", "aws"),
    ("azure-", "azure"),
    ("cloudflare-", "cloudflare"),
    ("coredns-", "coredns"),
    ("exoscale-", "exoscale"),
    ("godaddy-", "godaddy"),
    ("google-", "google"),
    ("inmemory-", "inmemory"),
    ("ns1-", "ns1"),
    ("oci-", "oci"),
    ("ovh-", "ovh"),
    ("pdns-", "pdns"),
    ("pihole-", "pihole"),
    ("rfc2136-", "rfc2136"),
    ("webhook-provider-", "webhook"),
    // --batch-change-size and --batch-change-interval: general in upstream's list, read only by
    // its Cloudflare provider in v0.23 (AWS and Google have their own).
    ("batch-change-", "cloudflare"),
    // "For now, only AzureDNS provider is using this flag" (upstream's help).
    ("zone-name-filter", "azure"),
];

/// Flags read only by one source kind (as upstream names it in `--source`).
const SOURCE_PREFIXES: &[(&str, &str)] = &[
    ("connector-source-", "connector"),
    ("crd-source-", "crd"),
    ("gloo-", "gloo-proxy"),
    ("openshift-router-", "openshift-route"),
    ("skipper-routegroup-", "skipper-routegroup"),
    // Read only by the f5, gloo, traefik and unstructured sources (upstream's ApplyTemplates).
    ("target-template", "unstructured"),
    ("traefik-", "traefik-proxy"),
    ("unstructured-", "unstructured"),
];

/// Flags read only by one registry.
const REGISTRY_PREFIXES: &[(&str, &str)] = &[("crd-registry-", "crd"), ("dynamodb-", "dynamodb")];

fn owner(flag: &str) -> Owner {
    let find = |table: &[(&str, &'static str)]| table.iter().find(|(p, _)| flag.starts_with(p)).map(|(_, o)| *o);
    if let Some(p) = find(PROVIDER_PREFIXES) {
        Owner::Provider(p)
    } else if let Some(s) = find(SOURCE_PREFIXES) {
        Owner::Source(s)
    } else if let Some(r) = find(REGISTRY_PREFIXES) {
        Owner::Registry(r)
    } else {
        Owner::General
    }
}

/// Whether exodns has the provider, source kind or registry that owns the flag.
fn exodns_has(owner: &Owner) -> bool {
    match owner {
        Owner::General => true,
        Owner::Provider(p) => {
            ProviderName::ALL.iter().any(|n| n.name() == *p || n.name().starts_with(&format!("{p}-")))
        }
        Owner::Source(s) => s.parse::<exodns_sources::SourceName>().is_ok(),
        Owner::Registry(r) => REGISTRIES.contains(r),
    }
}

/// `pkg/apis/externaldns/types.go` of upstream's module `version` (see [`upstream_file`]).
fn types_go(version: &str) -> Option<String> {
    upstream_file(version, "pkg/apis/externaldns/types.go")
}

/// The string literals in `args`, in order.
fn literals(args: &str) -> Vec<String> {
    args.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

/// Upstream's flags from types.go: `b.<Kind>Var("name", ...)` of the flag binder, and the two
/// flags bound with kingpin directly (`app.Flag("provider"...)`, `app.Flag("source"...)`).
fn parse_types_go(text: &str) -> Vec<Flag> {
    let mut flags = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("b.") {
            let Some((binder, args)) = rest.split_once("Var(\"") else { continue };
            let name = args.split('"').next().unwrap().to_owned();
            let kind = match binder {
                "Bool" => Kind::Bool,
                "String" => Kind::String,
                "Int" | "Int64" => Kind::Int,
                "Duration" => Kind::Duration,
                "Strings" | "StringsEnum" => Kind::Strings,
                "Regexp" => Kind::Regexp,
                "StringMap" => Kind::StringMap,
                // The allowed values follow the target (`&cfg.X`).
                "Enum" => Kind::Enum(literals(args.split_once("&cfg.").map_or("", |(_, allowed)| allowed))),
                other => panic!("upstream has a new flag binder {other}Var (--{name}): teach this test its values"),
            };
            flags.push(Flag { name, kind });
        } else if let Some(args) = line.split_once("app.Flag(\"").map(|(_, a)| a) {
            let name = args.split('"').next().unwrap().to_owned();
            let kind = if args.contains(".EnumsVar(") { Kind::Strings } else { Kind::String };
            flags.push(Flag { name, kind });
        }
    }
    flags
}

/// A value exodns must accept for `flag`: upstream's default or example where the flag's syntax
/// matters, else any value of its type. Repeated flags get two values.
fn values(flag: &Flag) -> Vec<String> {
    let sample = match flag.name.as_str() {
        "source" => vec!["service", "ingress"],
        "provider" => vec!["inmemory"],
        "registry" => vec!["txt"],
        "log-level" => vec!["debug"],
        "managed-record-types" => vec!["A", "CNAME"],
        "exclude-record-types" => vec!["TXT", "MX"],
        "service-type-filter" => vec!["LoadBalancer", "NodePort"],
        "events-emit" => vec!["RecordReady", "RecordDeleted"],
        "target-net-filter" | "exclude-target-net" => vec!["10.0.0.0/8", "2001:db8::/32"],
        "nat64-networks" => vec!["64:ff9b::/96", "2001:db8:64::/96"],
        "metrics-address" => vec![":7979"],
        "webhook-provider-url" | "pdns-server" | "server" => vec!["http://127.0.0.1:8888"],
        "aws-zone-tags" => vec!["team=dns", "env=prod"],
        "crd-source-apiversion" => vec!["externaldns.k8s.io/v1alpha1"],
        "crd-source-kind" => vec!["DNSEndpoint"],
        _ => vec![],
    };
    if !sample.is_empty() {
        return sample.into_iter().map(str::to_owned).collect();
    }
    let any: &[&str] = match &flag.kind {
        Kind::Bool => &["true"],
        Kind::String => &["example"],
        Kind::Int => &["7"],
        Kind::Duration => &["1m30s"],
        Kind::Strings => &["example.org", "example.com"],
        Kind::Regexp => &["^(www|api)\\.example\\.org$"],
        Kind::StringMap => &["team=dns"],
        Kind::Enum(allowed) => {
            let first = allowed.iter().find(|v| !v.is_empty());
            return vec![first.unwrap_or_else(|| panic!("--{}: no sample value", flag.name)).clone()];
        }
    };
    any.iter().map(|s| s.to_string()).collect()
}

/// The command line that gives `flag` its values the way upstream users write it.
fn as_args(flag: &Flag) -> Vec<String> {
    match flag.kind {
        Kind::Bool => vec![format!("--{}", flag.name)],
        _ => values(flag).iter().map(|v| format!("--{}={v}", flag.name)).collect(),
    }
}

/// The env var and its value: repeated values one per line, as kingpin reads them.
fn as_env(flag: &Flag) -> (String, String) {
    (format!("EXTERNAL_DNS_{}", flag.name.to_uppercase().replace('-', "_")), values(flag).join("\n"))
}

/// Upstream's flags of every version, with the versions that have each.
fn upstream_flags() -> BTreeMap<String, (Flag, Vec<&'static str>)> {
    let mut all: BTreeMap<String, (Flag, Vec<&'static str>)> = BTreeMap::new();
    for version in VERSIONS {
        let Some(text) = types_go(version) else { continue };
        let flags = parse_types_go(&text);
        assert!(flags.len() > 150, "{version}: only {} flags read from types.go: has its layout changed?", flags.len());
        for f in flags {
            all.entry(f.name.clone()).or_insert_with(|| (f, Vec::new())).1.push(version);
        }
    }
    all
}

/// `exodns` (this test binary, re-run on [`the_environment_parses`]) with one env var set: the
/// parser's error, if any.
fn env_refusal(var: &str, value: &str) -> Option<String> {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["cli::upstream_flags::the_environment_parses", "--exact", "--test-threads=1", "--nocapture"]);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("EXTERNAL_DNS_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.env(var, value).output().unwrap();
    (!out.status.success()).then(|| {
        let text = String::from_utf8_lossy(&out.stdout);
        let refusal = text.lines().find(|l| l.contains("the environment is refused")).unwrap_or(&text);
        first_line(refusal)
    })
}

fn first_line(text: &str) -> String {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_owned()
}

/// Run alone by [`every_upstream_flag_is_accepted`] with one `EXTERNAL_DNS_*` var set (and on its
/// own, with the caller's environment): exodns's parser takes the environment.
#[test]
fn the_environment_parses() {
    if let Err(e) = Cli::try_parse_from(["exodns"]) {
        panic!("the environment is refused: {e}");
    }
}

#[test]
fn every_upstream_flag_is_accepted() {
    let flags = upstream_flags();
    if flags.is_empty() {
        return;
    }
    // clap ignores env vars no flag declares, so the parse alone would not notice one missing.
    let env_vars: Vec<String> =
        Cli::command().get_arguments().filter_map(|a| a.get_env()).map(|e| e.to_string_lossy().into_owned()).collect();
    let mut refused = Vec::new();
    let mut missing: BTreeMap<Owner, Vec<String>> = BTreeMap::new();
    let mut now_accepted = Vec::new();
    for (name, (flag, versions)) in &flags {
        let owner = owner(name);
        let argv: Vec<String> = std::iter::once("exodns".to_owned()).chain(as_args(flag)).collect();
        let as_flag = Cli::try_parse_from(&argv).err().map(|e| first_line(&e.to_string()));
        let (var, value) = as_env(flag);
        let as_env = if env_vars.contains(&var) {
            env_refusal(&var, &value)
        } else {
            Some("no flag reads this env var".to_owned())
        };
        let accepted = as_flag.is_none() && as_env.is_none();
        if !exodns_has(&owner) {
            missing.entry(owner).or_default().push(name.clone());
        } else if NOT_YET.contains(&name.as_str()) {
            if accepted {
                now_accepted.push(name.clone());
            }
        } else {
            if let Some(e) = as_flag {
                refused.push(format!("{argv:?} ({}): {e}", versions.join(", ")));
            }
            if let Some(e) = as_env {
                refused.push(format!("{var}={value:?} ({}): {e}", versions.join(", ")));
            }
        }
    }
    println!("upstream flags: {} (of {})", flags.len(), VERSIONS.join(", "));
    println!("general, source and registry flags not taken yet: {}", NOT_YET.len());
    for f in NOT_YET {
        println!("  --{f}");
    }
    for (owner, names) in &missing {
        println!("flags of {owner:?}, which exodns does not have: {}", names.len());
        for n in names {
            println!("  --{n}");
        }
    }
    assert!(refused.is_empty(), "upstream flags refused:\n{}", refused.join("\n"));
    assert!(now_accepted.is_empty(), "accepted now, take them out of NOT_YET: {now_accepted:?}");
    for f in NOT_YET {
        assert!(flags.contains_key(*f), "--{f} in NOT_YET is not an upstream flag");
    }
}

#[test]
fn types_go_lines_are_read_with_their_type() {
    let text = r#"
	b.BoolVar("once", "help, with a \"quote\"", false, &cfg.Once)
	b.StringsVar("domain-filter", "Limit", []string{""}, &cfg.DomainFilter)
	b.EnumVar("policy", "Modify (options: sync)", defaultConfig.Policy, &cfg.Policy, "", "sync", "upsert-only")
	b.EnumVar("registry", "The registry", defaultConfig.Registry, &cfg.Registry, RegistryAWSSD, RegistryTXT)
	b.Int64Var("godaddy-api-ttl", "TTL", cfg.GoDaddyTTL, &cfg.GoDaddyTTL)
	app.Flag("source", sourceHelp).Required().PlaceHolder("source").EnumsVar(&cfg.Sources, AllowedSources...)
	app.Flag("provider", providerHelp).Required().PlaceHolder("provider").EnumVar(&cfg.Provider, ProviderNames...)
"#;
    let got: Vec<(String, Kind)> = parse_types_go(text).into_iter().map(|f| (f.name, f.kind)).collect();
    let s = |v: &str| v.to_owned();
    assert_eq!(
        got,
        [
            (s("once"), Kind::Bool),
            (s("domain-filter"), Kind::Strings),
            (s("policy"), Kind::Enum(vec![s(""), s("sync"), s("upsert-only")])),
            (s("registry"), Kind::Enum(vec![])),
            (s("godaddy-api-ttl"), Kind::Int),
            (s("source"), Kind::Strings),
            (s("provider"), Kind::String),
        ]
    );
    assert_eq!(owner("aws-sd-create-tag"), Owner::Provider("aws-sd"));
    assert_eq!(owner("aws-zone-tags"), Owner::Provider("aws"));
    assert_eq!(owner("webhook-server"), Owner::General);
    assert_eq!(owner("dynamodb-table"), Owner::Registry("dynamodb"));
    assert_eq!(owner("crd-source-kind"), Owner::Source("crd"));
    assert!(exodns_has(&Owner::Provider("inmemory")) && !exodns_has(&Owner::Provider("ns1")));
}
