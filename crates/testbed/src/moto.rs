//! A throwaway moto server (the AWS API emulator of the test venv: Route 53, STS, DynamoDB, the
//! EC2 instance metadata paths, …) on a free loopback port.
//!
//! ```no_run
//! # async fn demo() {
//! use exodns_testbed::Moto;
//! let Some(moto) = Moto::start_or_skip() else { return };
//! let zone = moto.create_zone("example.org", false).await;
//! // exodns and the AWS SDKs find it through the SDK's endpoint variables:
//! let env = moto.sdk_env(); // AWS_ENDPOINT_URL, AWS_REGION, test keys, IMDS off
//! let records = moto.record_sets(&zone).await; // boto3's view, JSON
//! # let _ = (env, records); }
//! ```
//!
//! Reading and setting state goes through boto3 in the same venv, so a test does not read back
//! through the client it tests. moto accepts much that AWS refuses and applies a failing change
//! batch in part: [`crate::Route53Rules`] sits in front of it where a test relies on AWS's rules.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::kube::testbed_var;
use crate::{Proc, TestbedError, free_port, skip_or_fail, wait_until_log};

/// Access key of the test credentials (moto checks no signature).
pub const TEST_ACCESS_KEY: &str = "AKIDEXODNSTEST";
/// Secret of the test credentials: distinctive, so tests can grep logs for it.
pub const TEST_SECRET_KEY: &str = "exodns-test-secret-5f1c9a";

/// A running `moto_server`; stopped (SIGTERM, then SIGKILL, by PID) on drop.
pub struct Moto {
    proc: Proc,
    url: String,
    venv: PathBuf,
}

impl std::fmt::Debug for Moto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Moto").field("url", &self.url).field("pid", &self.proc.id()).finish_non_exhaustive()
    }
}

impl Moto {
    /// The test venv (`EXODNS_VENV`, written to testbed.env by `scripts/testbed/venv.sh`), when
    /// it has `moto_server`.
    pub fn venv() -> Option<PathBuf> {
        testbed_var("EXODNS_VENV").map(PathBuf::from).filter(|v| v.join("bin/moto_server").is_file())
    }

    /// Starts moto on a free port and waits until it answers.
    pub fn start() -> Result<Moto, TestbedError> {
        let venv = Moto::venv().ok_or(TestbedError::Missing("moto_server (the test venv; scripts/testbed/venv.sh)"))?;
        let port = free_port();
        let mut proc = Proc::spawn(
            "moto",
            Command::new(venv.join("bin/moto_server")).args(["-H", "127.0.0.1", "-p", &port.to_string()]),
        )
        .grace(Duration::from_secs(2));
        let url = format!("http://127.0.0.1:{port}");
        let ready = format!("{url}/moto-api/");
        let log_path = proc.log_path().to_owned();
        let mut alive = true;
        wait_until_log(
            "moto_server to answer",
            Duration::from_secs(60),
            || {
                alive = proc.is_running();
                !alive || http_ok(&ready)
            },
            || std::fs::read_to_string(&log_path).unwrap_or_default(),
        );
        if !alive {
            return Err(TestbedError::Script { script: "moto_server".into(), message: proc.log() });
        }
        Ok(Moto { proc, url, venv })
    }

    /// For tests: a server, or `None` (with a notice) when the venv is missing, unless
    /// `EXODNS_REQUIRE_PEERS=1`. A venv whose moto does not start panics.
    pub fn start_or_skip() -> Option<Moto> {
        if Moto::venv().is_none() {
            skip_or_fail("moto is not installed (scripts/testbed/venv.sh)");
            return None;
        }
        Some(Moto::start().unwrap_or_else(|e| panic!("cannot start moto: {e}")))
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pid(&self) -> u32 {
        self.proc.id()
    }

    /// Its log: one line per request (`"POST /2013-04-01/… HTTP/1.1" 200`).
    pub fn log(&self) -> String {
        self.proc.log()
    }

    /// Requests served so far whose request line contains `needle` (a method and path prefix).
    pub fn requests(&self, needle: &str) -> usize {
        self.log().lines().filter(|l| l.contains(needle)).count()
    }

    /// The environment an AWS SDK (or exodns) needs to talk to this server with test keys: the
    /// endpoint for every service, a region, and the instance metadata service off (so nothing
    /// ever reaches for a link-local address).
    pub fn sdk_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.url.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/exodns-test/credentials"),
            ("AWS_CONFIG_FILE", "/nonexistent/exodns-test/config"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Runs a boto3 snippet against this server; `args` is its `ARGS` (JSON), what it prints
    /// on stdout (JSON) is the result. `r53`, `sts` and `ddb` clients are ready in it.
    pub async fn boto(&self, snippet: &str, args: Value) -> Value {
        let script = format!(
            "import json, sys, boto3\nARGS = json.loads(sys.argv[1])\nkw = dict(endpoint_url={url:?}, region_name='us-east-1', aws_access_key_id='AKIDBOTO', aws_secret_access_key='boto')\nr53 = boto3.client('route53', **kw)\nsts = boto3.client('sts', **kw)\nddb = boto3.client('dynamodb', **kw)\n{snippet}\n",
            url = self.url
        );
        let python = self.venv.join("bin/python");
        let out = tokio::process::Command::new(python)
            .arg("-c")
            .arg(script)
            .arg(args.to_string())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .await
            .expect("run the venv's python");
        assert!(out.status.success(), "boto3 snippet failed:\n{snippet}\n{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text.lines().last().unwrap_or("null");
        serde_json::from_str(last).unwrap_or_else(|e| panic!("boto3 snippet printed no JSON ({e}): {text}"))
    }

    /// Creates a hosted zone; returns its id without `/hostedzone/`.
    pub async fn create_zone(&self, name: &str, private: bool) -> String {
        let v = self
            .boto(
                "import uuid\nkw = {'Name': ARGS['name'], 'CallerReference': str(uuid.uuid4())}\nif ARGS['private']:\n    kw['VPC'] = {'VPCRegion': 'us-east-1', 'VPCId': 'vpc-12345678'}\n    kw['HostedZoneConfig'] = {'PrivateZone': True, 'Comment': ''}\nz = r53.create_hosted_zone(**kw)\nprint(json.dumps(z['HostedZone']['Id'].split('/')[-1]))",
                serde_json::json!({"name": name, "private": private}),
            )
            .await;
        v.as_str().expect("zone id").to_owned()
    }

    /// Tags a hosted zone.
    pub async fn tag_zone(&self, zone_id: &str, key: &str, value: &str) {
        self.boto(
            "r53.change_tags_for_resource(ResourceType='hostedzone', ResourceId=ARGS['z'], AddTags=[{'Key': ARGS['k'], 'Value': ARGS['v']}])\nprint('null')",
            serde_json::json!({"z": zone_id, "k": key, "v": value}),
        )
        .await;
    }

    /// Every record set of a zone as boto3 returns them (all pages), JSON objects with `Name`,
    /// `Type`, `TTL`, `ResourceRecords`, `AliasTarget`, `SetIdentifier`, `Weight`, ….
    pub async fn record_sets(&self, zone_id: &str) -> Vec<Value> {
        let v = self
            .boto(
                "out = []\nfor page in r53.get_paginator('list_resource_record_sets').paginate(HostedZoneId=ARGS['z']):\n    out.extend(page['ResourceRecordSets'])\nprint(json.dumps(out, default=str))",
                serde_json::json!({"z": zone_id}),
            )
            .await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// Sends one change batch through boto3 (`changes` in boto3's shape); panics if refused.
    pub async fn change(&self, zone_id: &str, changes: Value) {
        self.boto(
            "r53.change_resource_record_sets(HostedZoneId=ARGS['z'], ChangeBatch={'Changes': ARGS['c']})\nprint('null')",
            serde_json::json!({"z": zone_id, "c": changes}),
        )
        .await;
    }
}

fn http_ok(url: &str) -> bool {
    // A blocking probe without a client library: one GET over a plain socket.
    use std::io::{Read, Write};
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let Ok(mut s) = std::net::TcpStream::connect(host) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf[..12].starts_with(b"HTTP/1.") && &buf[9..12] == b"200")
}
