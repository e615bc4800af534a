//! The flags, grouped as upstream's `--help` groups them. Every flag is `global` so that
//! `exodns plan` takes the same ones as the controller.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use exodns_core::Secret;

use crate::providers::{ProviderFlags, ProviderName};

fn duration(s: &str) -> Result<Duration, String> {
    exodns_core::duration::parse_go_duration(s).map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten)]
    pub general: General,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub filters: FilterArgs,
    #[command(flatten)]
    pub sources: exodns_sources::SourceFlags,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub leader: LeaderArgs,
    #[command(flatten)]
    pub providers: ProviderFlags,
    #[command(flatten)]
    pub provider_tls: exodns_provider::TlsFiles,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "General")]
pub struct General {
    /// The DNS provider.
    #[arg(long, env = "EXTERNAL_DNS_PROVIDER", global = true)]
    pub provider: Option<ProviderName>,
    /// How records are synchronised: sync, upsert-only (never delete), create-only (never
    /// update or delete). Required, as in upstream v0.22.
    #[arg(long, env = "EXTERNAL_DNS_POLICY", global = true)]
    pub policy: Option<String>,
    /// Time between two full synchronisations.
    #[arg(long, env = "EXTERNAL_DNS_INTERVAL", global = true, default_value = "1m", value_parser = duration)]
    pub interval: Duration,
    /// A change is synced at once when nothing else is going on; changes that arrive while a
    /// sync runs wait this long after it for more, then go together. (Upstream's minimum between
    /// event-triggered full syncs; exodns syncs only the names that changed.)
    #[arg(long, env = "EXTERNAL_DNS_MIN_EVENT_SYNC_INTERVAL", global = true, default_value = "50ms", value_parser = duration)]
    pub min_event_sync_interval: Duration,
    /// A full synchronisation within this long of the last read of the provider's records plans
    /// against exodns's cache of them (which takes in what exodns writes) instead of reading
    /// again; 0 reads at every one.
    #[arg(long, env = "EXTERNAL_DNS_PROVIDER_CACHE_TIME", global = true, default_value = "0s", value_parser = duration)]
    pub provider_cache_time: Duration,
    /// Accepted for upstream compatibility: exodns always reacts to events.
    #[arg(long, env = "EXTERNAL_DNS_EVENTS", global = true)]
    pub events: bool,
    /// Also post upstream's Kubernetes Event per record on the object it belongs to:
    /// RecordReady (created or updated), RecordDeleted, RecordError (refused or failed); repeat
    /// for several. exodns's own Events (Published, OwnerConflict, InvalidInput, DeletionHeld)
    /// are posted either way.
    #[arg(long, env = "EXTERNAL_DNS_EVENTS_EMIT", global = true, value_delimiter = '\n')]
    pub events_emit: Vec<String>,
    /// How long to wait for the first list of every watched resource before logging an error
    /// (the wait goes on; exodns never exits for it, unlike upstream's fixed 60 s).
    #[arg(long, env = "EXTERNAL_DNS_CACHE_SYNC_TIMEOUT", global = true, default_value = "10m", value_parser = duration)]
    pub cache_sync_timeout: Duration,
    /// Deletions a zone may take per --interval: a share of the records it holds for this owner
    /// (`30%`, at least 10 records), a number of records, or `off`. A sync that would delete more
    /// holds all deletions of that zone (creates and updates go on).
    #[arg(long, env = "EXTERNAL_DNS_DELETION_BUDGET", global = true, default_value = "30%")]
    pub deletion_budget: exodns_controller::budget::Limit,
    /// How long held deletions must stay wanted before they go ahead [default: 3 × --interval].
    #[arg(long, env = "EXTERNAL_DNS_DELETION_GRACE", global = true, value_parser = duration)]
    pub deletion_grace: Option<Duration>,
    /// Synchronise once and exit.
    #[arg(long, env = "EXTERNAL_DNS_ONCE", global = true)]
    pub once: bool,
    /// Plan and log the changes, write nothing.
    #[arg(long, env = "EXTERNAL_DNS_DRY_RUN", global = true)]
    pub dry_run: bool,
    /// Log format: text or json.
    #[arg(long, env = "EXTERNAL_DNS_LOG_FORMAT", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log level: trace, debug, info, warning, error (upstream's panic and fatal mean error).
    #[arg(long, env = "EXTERNAL_DNS_LOG_LEVEL", global = true, default_value = "info")]
    pub log_level: String,
    /// Address of the metrics and health endpoints [default: :7979; for `exodns webhook`: :8080,
    /// so that it runs beside the controller in one pod].
    #[arg(long, env = "EXTERNAL_DNS_METRICS_ADDRESS", global = true)]
    pub metrics_address: Option<String>,
}

/// The controller's `--metrics-address` default (upstream's).
pub const CONTROLLER_METRICS_ADDRESS: &str = ":7979";
/// `exodns webhook`'s: upstream's webhook-provider docs give a provider's health and metrics
/// port 8080, and a sidecar shares the controller's network namespace.
pub const WEBHOOK_METRICS_ADDRESS: &str = ":8080";

impl General {
    /// `--metrics-address` of the controller.
    pub fn controller_metrics_address(&self) -> &str {
        self.metrics_address.as_deref().unwrap_or(CONTROLLER_METRICS_ADDRESS)
    }

    /// `--metrics-address` of `exodns webhook`.
    pub fn webhook_metrics_address(&self) -> &str {
        self.metrics_address.as_deref().unwrap_or(WEBHOOK_METRICS_ADDRESS)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Registry")]
pub struct RegistryArgs {
    /// How ownership is recorded: txt (TXT records beside the records), crd (DNSRecord
    /// objects in the cluster), dynamodb (a DynamoDB table) or noop (every record is ours).
    #[arg(long, env = "EXTERNAL_DNS_REGISTRY", global = true, default_value = "txt")]
    pub registry: String,
    /// With --registry=crd: the namespace of the DNSRecord objects (default: the namespace
    /// exodns runs in, else `default`).
    #[arg(long, env = "EXTERNAL_DNS_CRD_REGISTRY_NAMESPACE", global = true, default_value = "")]
    pub crd_registry_namespace: String,
    /// With --registry=dynamodb: the AWS region of the table (default: the AWS region of the
    /// environment).
    #[arg(long, env = "EXTERNAL_DNS_DYNAMODB_REGION", global = true, default_value = "")]
    pub dynamodb_region: String,
    /// With --registry=dynamodb: the table (hash key `k`, a string; no range key).
    #[arg(long, env = "EXTERNAL_DNS_DYNAMODB_TABLE", global = true, default_value = "external-dns")]
    pub dynamodb_table: String,
    /// Identifies this instance in ownership records.
    #[arg(long, env = "EXTERNAL_DNS_TXT_OWNER_ID", global = true, default_value = "default")]
    pub txt_owner_id: String,
    /// Prefix of ownership TXT names; may hold %{record_type}. Excludes --txt-suffix.
    #[arg(long, env = "EXTERNAL_DNS_TXT_PREFIX", global = true, default_value = "")]
    pub txt_prefix: String,
    /// Suffix of the first label of ownership TXT names; may hold %{record_type}.
    #[arg(long, env = "EXTERNAL_DNS_TXT_SUFFIX", global = true, default_value = "")]
    pub txt_suffix: String,
    /// Replaces a leading `*` in ownership TXT names.
    #[arg(long, env = "EXTERNAL_DNS_TXT_WILDCARD_REPLACEMENT", global = true, default_value = "")]
    pub txt_wildcard_replacement: String,
    /// Encrypt ownership TXT values with AES-256-GCM.
    #[arg(long, env = "EXTERNAL_DNS_TXT_ENCRYPT_ENABLED", global = true)]
    pub txt_encrypt_enabled: bool,
    /// The AES key: 32 bytes, raw or standard base64.
    #[arg(long, env = "EXTERNAL_DNS_TXT_ENCRYPT_AES_KEY", global = true, hide_env_values = true)]
    pub txt_encrypt_aes_key: Option<Secret>,
    /// Read the AES key from this file instead (a mounted Secret).
    #[arg(long, env = "EXTERNAL_DNS_TXT_ENCRYPT_AES_KEY_FILE", global = true)]
    pub txt_encrypt_aes_key_file: Option<PathBuf>,
    /// A full synchronisation within this long of the last read of the zone plans against the
    /// cached records, which take in what exodns writes (as upstream's TXT registry cache); 0
    /// reads at every one.
    #[arg(long, env = "EXTERNAL_DNS_TXT_CACHE_INTERVAL", global = true, default_value = "0s", value_parser = duration)]
    pub txt_cache_interval: Duration,
    /// Take over records owned by this older owner id.
    #[arg(long, env = "EXTERNAL_DNS_MIGRATE_FROM_TXT_OWNER", global = true, default_value = "")]
    pub migrate_from_txt_owner: String,
    /// The owner of failover pool records (the record at a FailoverRecord's hostname), shared by
    /// every region that publishes the name.
    #[arg(long, env = "EXTERNAL_DNS_FAILOVER_POOL_OWNER", global = true, default_value = "exodns-pool")]
    pub failover_pool_owner: String,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    /// Only touch names under these domains (repeat, or comma-separate).
    #[arg(long, env = "EXTERNAL_DNS_DOMAIN_FILTER", global = true, value_delimiter = '\n')]
    pub domain_filter: Vec<String>,
    /// Never touch names under these domains.
    #[arg(long, env = "EXTERNAL_DNS_EXCLUDE_DOMAINS", global = true, value_delimiter = '\n')]
    pub exclude_domains: Vec<String>,
    /// Only touch names matching this regex (overrides --domain-filter).
    #[arg(long, env = "EXTERNAL_DNS_REGEX_DOMAIN_FILTER", global = true, default_value = "")]
    pub regex_domain_filter: String,
    /// Never touch names matching this regex.
    #[arg(long, env = "EXTERNAL_DNS_REGEX_DOMAIN_EXCLUSION", global = true, default_value = "")]
    pub regex_domain_exclusion: String,
    /// Only zones with these ids (repeat for several), for providers whose zones have ids
    /// (Route 53's hosted zone ids, with or without `/hostedzone/`).
    #[arg(long, env = "EXTERNAL_DNS_ZONE_ID_FILTER", global = true, value_delimiter = '\n')]
    pub zone_id_filter: Vec<String>,
    /// Record types exodns manages.
    #[arg(long, env = "EXTERNAL_DNS_MANAGED_RECORD_TYPES", global = true, value_delimiter = '\n', default_values_t = ["A".to_string(), "AAAA".to_string(), "CNAME".to_string()])]
    pub managed_record_types: Vec<String>,
    /// Record types exodns leaves alone even when managed.
    #[arg(long, env = "EXTERNAL_DNS_EXCLUDE_RECORD_TYPES", global = true, value_delimiter = '\n')]
    pub exclude_record_types: Vec<String>,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Kubernetes")]
pub struct KubeArgs {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the Pod's service account).
    #[arg(long, env = "EXTERNAL_DNS_KUBECONFIG", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The apiserver's URL, overriding the kubeconfig's.
    #[arg(long, env = "EXTERNAL_DNS_SERVER", global = true)]
    pub server: Option<String>,
    /// Requests per second to the apiserver.
    #[arg(long, env = "EXTERNAL_DNS_KUBE_API_QPS", global = true, default_value_t = 5.0)]
    pub kube_api_qps: f32,
    /// Burst of requests to the apiserver.
    #[arg(long, env = "EXTERNAL_DNS_KUBE_API_BURST", global = true, default_value_t = 10)]
    pub kube_api_burst: u32,
    /// Timeout of one apiserver request (watches excepted); 0s for none.
    #[arg(long, env = "EXTERNAL_DNS_KUBE_API_REQUEST_TIMEOUT", global = true, default_value = "30s", value_parser = duration)]
    pub kube_api_request_timeout: Duration,
    /// Deprecated upstream alias of --kube-api-request-timeout.
    #[arg(long, env = "EXTERNAL_DNS_REQUEST_TIMEOUT", global = true, value_parser = duration, hide = true)]
    pub request_timeout: Option<Duration>,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Leader election (exodns; upstream has none)")]
pub struct LeaderArgs {
    /// Elect one writer among replicas with a coordination.k8s.io/v1 Lease; the others keep
    /// their caches warm and take over when the lease expires.
    #[arg(long, env = "EXTERNAL_DNS_LEADER_ELECTION", global = true)]
    pub leader_election: bool,
    /// Name of the Lease.
    #[arg(long, env = "EXTERNAL_DNS_LEADER_ELECTION_LEASE_NAME", global = true, default_value = "exodns")]
    pub leader_election_lease_name: String,
    /// Namespace of the Lease (default: the Pod's namespace, else `default`).
    #[arg(long, env = "EXTERNAL_DNS_LEADER_ELECTION_NAMESPACE", global = true)]
    pub leader_election_namespace: Option<String>,
    /// How long others wait after the leader's last renewal before taking over.
    #[arg(long, env = "EXTERNAL_DNS_LEADER_ELECTION_LEASE_DURATION", global = true, default_value = "15s", value_parser = duration)]
    pub leader_election_lease_duration: Duration,
    /// How long the leader may write after the start of its last successful renewal.
    #[arg(long, env = "EXTERNAL_DNS_LEADER_ELECTION_RENEW_DEADLINE", global = true, default_value = "10s", value_parser = duration)]
    pub leader_election_renew_deadline: Duration,
    /// Time between attempts to acquire or renew the lease.
    #[arg(long, env = "EXTERNAL_DNS_LEADER_ELECTION_RETRY_PERIOD", global = true, default_value = "2s", value_parser = duration)]
    pub leader_election_retry_period: Duration,
}
