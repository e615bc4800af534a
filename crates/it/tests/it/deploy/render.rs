//! The scenarios every test renders, what each rendering must hold, and the chart's own checks.

use super::*;

// ---- the scenarios every test renders -----------------------------------------------------------

/// One values file of the chart and what its rendering must hold.
pub(super) struct Scenario {
    pub(super) name: &'static str,
    pub(super) values: String,
    pub(super) check: fn(&[Value]),
}

pub(super) fn scenarios() -> Vec<Scenario> {
    let sources = |list: &[&str]| format!("sources: [{}]\n", list.join(", "));
    let mut all = vec![
        Scenario { name: "default", values: String::new(), check: check_default },
        Scenario {
            name: "cilium-network-policy-off",
            values: "ciliumNetworkPolicy:\n  enabled: false\n".into(),
            check: |d| {
                assert!(kinds(d).contains("NetworkPolicy"));
                assert!(!kinds(d).contains("CiliumNetworkPolicy"), "ciliumNetworkPolicy.enabled=false still renders it");
            },
        },
        Scenario {
            name: "network-policy-off",
            values: "networkPolicy:\n  enabled: false\n".into(),
            check: |d| {
                // The companion policy only makes sense next to the NetworkPolicy.
                assert!(!kinds(d).contains("NetworkPolicy") && !kinds(d).contains("CiliumNetworkPolicy"), "{:?}", kinds(d));
            },
        },
        Scenario {
            name: "network-policy-peers",
            values: "pdns:\n  server: https://192.0.2.10:8443\nnetworkPolicy:\n  apiServer:\n    cidrs: [10.0.0.0/24]\n    ports: [6443]\n  metrics:\n    from:\n      - namespaceSelector:\n          matchLabels:\n            kubernetes.io/metadata.name: monitoring\nciliumNetworkPolicy:\n  apiServerPorts: [6443]\n".into(),
            check: check_network_policy_peers,
        },
        Scenario {
            name: "service-monitor",
            values: "serviceMonitor:\n  enabled: true\n  interval: 30s\n  additionalLabels:\n    release: prometheus\n".into(),
            check: check_service_monitor,
        },
        Scenario {
            name: "two-replicas-leader-election",
            values: "replicaCount: 2\nleaderElection:\n  leaseDuration: 15s\n  renewDeadline: 10s\n  retryPeriod: 2s\n".into(),
            check: check_leader_election,
        },
        Scenario {
            name: "pdns-existing-secret-files",
            values: "provider:\n  name: pdns\npdns:\n  server: http://pdns-api.dns.svc:8081\n  existingSecret: pdns-api\n  secretKey: key\ntxtEncrypt:\n  enabled: true\n  existingSecret: txt-aes\n".into(),
            check: check_pdns_files,
        },
        Scenario {
            name: "pdns-existing-secret-env",
            values: "provider: pdns\npdns:\n  existingSecret: pdns-api\n  mode: env\ntxtEncrypt:\n  enabled: true\n  existingSecret: txt-aes\n  mode: env\n".into(),
            check: check_pdns_env,
        },
        Scenario {
            name: "provider-block-files",
            values: "provider: pdns\nproviders:\n  pdns:\n    args:\n      pdns-server-id: dns1\n      pdns-skip-tls-verify: true\n    existingSecret: dns-credentials\n    secretFiles:\n      pdns-api-key-file: key\n    egressPorts: [8081]\n".into(),
            check: check_provider_block_files,
        },
        Scenario {
            name: "provider-block-env",
            values: "provider:\n  name: pdns\nproviders:\n  pdns:\n    existingSecret: dns-credentials\n    secretEnv:\n      EXTERNAL_DNS_PDNS_API_KEY: key\n  inmemory:\n    args:\n      inmemory-zone: [ignored.example]\n".into(),
            check: check_provider_block_env,
        },
        Scenario {
            name: "aws-irsa",
            values: "provider: aws\nserviceAccount:\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/exodns\nproviders:\n  aws:\n    args:\n      aws-zone-type: public\n      aws-zone-tags: [team=dns, env=prod]\n      aws-batch-change-interval: 500ms\n      aws-prefer-cname: true\ndomainFilters: [example.org]\n".into(),
            check: check_aws_irsa,
        },
        Scenario {
            name: "aws-existing-secret",
            values: "provider:\n  name: aws\nproviders:\n  aws:\n    existingSecret: route53-keys\n    secretEnv:\n      AWS_ACCESS_KEY_ID: access-key-id\n      AWS_SECRET_ACCESS_KEY: secret-access-key\n    args:\n      aws-assume-role: arn:aws:iam::210987654321:role/dns\n".into(),
            check: check_aws_existing_secret,
        },
        Scenario {
            name: "google-service-account-key",
            values: "provider: google\nproviders:\n  google:\n    args:\n      google-project: dns-prod\n      google-zone-visibility: public\n    existingSecret: gcp-dns\n    secretFiles:\n      google-credentials-file: credentials.json\n".into(),
            check: check_google_key,
        },
        Scenario {
            name: "google-workload-identity",
            values: "provider: google\nserviceAccount:\n  annotations:\n    iam.gke.io/gcp-service-account: dns@dns-prod.iam.gserviceaccount.com\nproviders:\n  google:\n    args:\n      google-project: dns-prod\n".into(),
            check: check_google_workload_identity,
        },
        Scenario {
            name: "azure-workload-identity",
            values: "provider: azure\npodLabels:\n  azure.workload.identity/use: \"true\"\nserviceAccount:\n  annotations:\n    azure.workload.identity/client-id: 00000000-0000-0000-0000-0000000000aa\nproviders:\n  azure:\n    args:\n      azure-resource-group: rg-dns\n      azure-zones-cache-duration: 5m\n    existingSecret: azure-config\n    secretFiles:\n      azure-config-file: azure.json\n".into(),
            check: check_azure_workload_identity,
        },
        Scenario {
            name: "azure-private-dns",
            values: "provider: azure-private-dns\nproviders:\n  azure-private-dns:\n    existingSecret: azure-config\n    secretFiles:\n      azure-config-file: azure.json\n".into(),
            check: |d| {
                let a = args(container(one(d, "Deployment"), "exodns"));
                assert!(a.contains(&"--provider=azure-private-dns".to_owned()), "{a:?}");
                assert!(a.iter().any(|x| x.starts_with("--azure-config-file=")), "{a:?}");
            },
        },
        Scenario {
            name: "rfc2136-tsig-secret",
            values: "provider: rfc2136\nproviders:\n  rfc2136:\n    args:\n      rfc2136-host: 192.0.2.53\n      rfc2136-zone: [example.org, 2.0.192.in-addr.arpa]\n      rfc2136-tsig-keyname: externaldns-key\n      rfc2136-tsig-secret-alg: hmac-sha256\n      rfc2136-axfr: true\n    existingSecret: tsig-key\n    secretFiles:\n      rfc2136-tsig-secret-file: secret\nnetworkPolicy:\n  provider:\n    to:\n      - ipBlock:\n          cidr: 192.0.2.53/32\n".into(),
            check: check_rfc2136,
        },
        Scenario {
            name: "cloudflare",
            values: "provider: cloudflare\nproviders:\n  cloudflare:\n    existingSecret: cloudflare-api\n    args:\n      cloudflare-proxied: true\n".into(),
            check: |d| check_cloud_provider(d, "cloudflare", "cloudflare-api", "--cloudflare-api-token-file=", "api-token", "--cloudflare-proxied"),
        },
        Scenario {
            name: "hetzner",
            values: "provider: hetzner\nproviders:\n  hetzner:\n    existingSecret: hetzner-api\n    args:\n      hetzner-action-timeout: 2m\n".into(),
            check: |d| check_cloud_provider(d, "hetzner", "hetzner-api", "--hetzner-token-file=", "token", "--hetzner-action-timeout=2m"),
        },
        Scenario { name: "sources-crd", values: sources(&["crd"]), check: check_sources_crd },
        Scenario { name: "sources-gateway", values: sources(&["gateway-httproute", "gateway-grpcroute"]), check: check_sources_gateway },
        Scenario { name: "sources-all", values: sources(&all_sources()), check: check_sources_all },
        Scenario {
            name: "namespaced",
            values: format!("namespaced: true\n{}", sources(&["service", "gateway-httproute"])),
            check: check_namespaced,
        },
        // The Gateways in a namespace of their own (`default`: it exists on every apiserver).
        Scenario {
            name: "namespaced-gateway-namespace",
            values: format!("namespaced: true\ngatewayNamespace: default\n{}", sources(&["service", "gateway-tcproute"])),
            check: |d| check_gateway_role(d, true),
        },
        Scenario {
            name: "namespaced-gateway-namespace-no-routes",
            values: format!("namespaced: true\ngatewayNamespace: default\n{}", sources(&["service", "ingress"])),
            check: |d| check_gateway_role(d, false),
        },
        Scenario {
            name: "webhook-provider",
            values: "provider:\n  name: webhook\n  webhook:\n    image:\n      repository: example.org/dns-webhook\n      tag: v1.0.0\n".into(),
            check: |d| {
                let deploy = one(d, "Deployment");
                assert_eq!(container(deploy, "webhook")["image"], "example.org/dns-webhook:v1.0.0");
                assert!(args(container(deploy, "exodns")).contains(&"--provider=webhook".to_owned()));
            },
        },
        Scenario {
            name: "upstream-values-file",
            values: std::fs::read_to_string(fixture("upstream-values-pdns.yaml")).expect("fixture"),
            check: |d| {
                assert!(kinds(d).contains("ServiceMonitor"));
            },
        },
    ];
    all.extend(super::registry::scenarios());
    all
}

fn check_default(d: &[Value]) {
    let k = kinds(d);
    for want in [
        "Deployment",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Service",
        "NetworkPolicy",
        "CiliumNetworkPolicy",
    ] {
        assert!(k.contains(want), "default rendering lacks a {want}: {k:?}");
    }
    for not in ["PodDisruptionBudget", "Role", "RoleBinding", "ServiceMonitor", "Secret"] {
        assert!(!k.contains(not), "default rendering has a {not}");
    }
    let deploy = one(d, "Deployment");
    let spec = &deploy["spec"];
    assert_eq!(spec["replicas"], 1);
    // One replica without leader election: never two writers, even during a rollout.
    assert_eq!(spec["strategy"]["type"], "Recreate");
    assert_eq!(spec["selector"]["matchLabels"], selector_labels());
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    let c = container(deploy, "exodns");
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["runAsUser"], 65532);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    // Probes: startup tolerates ≥ 10 min before liveness may restart; liveness /healthz, readiness /readyz.
    let startup = &c["startupProbe"];
    assert_eq!(startup["httpGet"]["path"], "/healthz");
    let budget = startup["periodSeconds"].as_u64().unwrap() * startup["failureThreshold"].as_u64().unwrap();
    assert!(budget >= 600, "startupProbe allows only {budget} s");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["ports"][0], json!({"name": "http", "containerPort": 7979, "protocol": "TCP"}));
    // The leader-election identity and the default Lease namespace come from the downward API.
    let env = c["env"].as_array().expect("env");
    for (name, field) in [("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace")] {
        assert!(
            env.iter().any(|e| e["name"] == name && e["valueFrom"]["fieldRef"]["fieldPath"] == field),
            "{name} missing: {env:#?}"
        );
    }
    let a = args(c);
    for want in ["--policy=upsert-only", "--provider=pdns", "--source=service", "--source=ingress", "--registry=txt"] {
        assert!(a.contains(&want.to_owned()), "{want} missing from {a:?}");
    }
    assert!(
        !a.iter().any(|x| x.starts_with("--leader-election")),
        "leader election on by default with one replica: {a:?}"
    );
    // The ServiceAccount is the one the pod runs as and the ClusterRoleBinding binds.
    let sa = one(d, "ServiceAccount");
    assert_eq!(pod["serviceAccountName"], sa["metadata"]["name"]);
    let crb = one(d, "ClusterRoleBinding");
    assert_eq!(
        crb["subjects"][0],
        json!({"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": NAMESPACE})
    );
    assert_eq!(crb["roleRef"]["name"], one(d, "ClusterRole")["metadata"]["name"]);
    // NetworkPolicy: the exodns pods, ingress only to the metrics port, egress DNS + apiserver + provider.
    let np = one(d, "NetworkPolicy");
    assert_eq!(np["spec"]["podSelector"]["matchLabels"], selector_labels());
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(np["spec"]["ingress"][0]["ports"], json!([{"port": "http", "protocol": "TCP"}]));
    let egress = np["spec"]["egress"].as_array().unwrap();
    assert_eq!(egress.len(), 3, "egress: {egress:#?}");
    assert!(egress[0]["ports"].as_array().unwrap().iter().any(|p| p["port"] == 53 && p["protocol"] == "UDP"));
    assert_eq!(egress[1]["to"][0]["ipBlock"]["cidr"], "0.0.0.0/0");
    // CiliumNetworkPolicy: the kube-apiserver entity, the same pods, no default-deny of its own.
    let cnp = one(d, "CiliumNetworkPolicy");
    assert_eq!(cnp["spec"]["endpointSelector"]["matchLabels"], selector_labels());
    assert_eq!(cnp["spec"]["egress"][0]["toEntities"], json!(["kube-apiserver"]));
    assert_eq!(cnp["spec"]["enableDefaultDeny"], json!({"egress": false, "ingress": false}));
    let svc = one(d, "Service");
    assert_eq!(svc["spec"]["selector"], selector_labels());
    assert_eq!(svc["spec"]["ports"][0]["port"], 7979);
}

fn check_network_policy_peers(d: &[Value]) {
    let np = one(d, "NetworkPolicy");
    let egress = &np["spec"]["egress"];
    assert_eq!(
        egress[1],
        json!({"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"port": 6443, "protocol": "TCP"}]})
    );
    // The provider rule comes from the PowerDNS URL: its address and port.
    assert_eq!(
        egress[2],
        json!({"to": [{"ipBlock": {"cidr": "192.0.2.10/32"}}], "ports": [{"port": 8443, "protocol": "TCP"}]})
    );
    assert_eq!(
        np["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "monitoring"
    );
    let cnp = one(d, "CiliumNetworkPolicy");
    assert_eq!(cnp["spec"]["egress"][0]["toPorts"][0]["ports"][0], json!({"port": "6443", "protocol": "TCP"}));
}

fn check_service_monitor(d: &[Value]) {
    let sm = one(d, "ServiceMonitor");
    let svc = one(d, "Service");
    assert_eq!(sm["spec"]["selector"]["matchLabels"], selector_labels());
    assert_eq!(sm["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(sm["spec"]["endpoints"][0]["port"], svc["spec"]["ports"][0]["name"]);
    assert_eq!(sm["spec"]["endpoints"][0]["path"], "/metrics");
    assert_eq!(sm["spec"]["endpoints"][0]["interval"], "30s");
    assert_eq!(sm["spec"]["namespaceSelector"]["matchNames"], json!([NAMESPACE]));
}

fn check_leader_election(d: &[Value]) {
    let deploy = one(d, "Deployment");
    assert_eq!(deploy["spec"]["replicas"], 2);
    assert_eq!(deploy["spec"]["strategy"]["type"], "RollingUpdate");
    let a = args(container(deploy, "exodns"));
    let lease = format!("{RELEASE}-exodns");
    for want in [
        "--leader-election".to_owned(),
        format!("--leader-election-lease-name={lease}"),
        format!("--leader-election-namespace={NAMESPACE}"),
        "--leader-election-lease-duration=15s".to_owned(),
        "--leader-election-renew-deadline=10s".to_owned(),
        "--leader-election-retry-period=2s".to_owned(),
    ] {
        assert!(a.contains(&want), "{want} missing from {a:?}");
    }
    // The Lease Role: in the release namespace, only that Lease (plus create), bound to the SA.
    let role = one(d, "Role");
    assert_eq!(role["metadata"]["namespace"], NAMESPACE);
    let rules = rules_of(d, "Role");
    let lr = |r: &str, v: &str| ("coordination.k8s.io".to_owned(), r.to_owned(), v.to_owned());
    assert!(rules.contains(&lr("leases", "create")));
    for v in ["get", "update"] {
        assert!(rules.contains(&lr(&format!("leases#{lease}"), v)), "lease {v} missing: {rules:?}");
    }
    assert!(!rules.contains(&lr("leases", "update")), "update of every Lease granted: {rules:?}");
    let rb = one(d, "RoleBinding");
    assert_eq!(rb["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(rb["subjects"][0]["name"], one(d, "ServiceAccount")["metadata"]["name"]);
    let pdb = one(d, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(pdb["spec"]["selector"]["matchLabels"], selector_labels());
}

fn volume_secret<'a>(deploy: &'a Value, secret: &str) -> &'a Value {
    deploy["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["secret"]["secretName"] == secret))
        .unwrap_or_else(|| panic!("no volume of Secret {secret}"))
}

fn check_pdns_files(d: &[Value]) {
    let deploy = one(d, "Deployment");
    let c = container(deploy, "exodns");
    let a = args(c);
    assert!(a.contains(&"--pdns-server=http://pdns-api.dns.svc:8081".to_owned()), "{a:?}");
    assert!(a.contains(&"--txt-encrypt-enabled".to_owned()), "{a:?}");
    // Each key file flag points into the mount of its Secret.
    for (flag, secret, key) in
        [("--pdns-api-key-file=", "pdns-api", "key"), ("--txt-encrypt-aes-key-file=", "txt-aes", "aes-key")]
    {
        let path = a.iter().find_map(|x| x.strip_prefix(flag)).unwrap_or_else(|| panic!("{flag} missing: {a:?}"));
        let vol = volume_secret(deploy, secret);
        assert_eq!(vol["secret"]["items"][0]["key"], key);
        let mount = c["volumeMounts"].as_array().unwrap().iter().find(|m| m["name"] == vol["name"]).expect("mount");
        assert_eq!(mount["readOnly"], true);
        let file =
            format!("{}/{}", mount["mountPath"].as_str().unwrap(), vol["secret"]["items"][0]["path"].as_str().unwrap());
        assert_eq!(path, file);
    }
    let env = c["env"].as_array().cloned().unwrap_or_default();
    assert!(
        env.iter().all(|e| e["valueFrom"]["secretKeyRef"].is_null()),
        "no secret should go through env here: {env:#?}"
    );
}

fn check_pdns_env(d: &[Value]) {
    let deploy = one(d, "Deployment");
    let c = container(deploy, "exodns");
    let a = args(c);
    assert!(a.contains(&"--provider=pdns".to_owned()), "string form of provider: {a:?}");
    assert!(!a.iter().any(|x| x.contains("key-file")), "{a:?}");
    let env = c["env"].as_array().expect("env");
    for (name, secret, key) in [
        ("EXTERNAL_DNS_PDNS_API_KEY", "pdns-api", "api-key"),
        ("EXTERNAL_DNS_TXT_ENCRYPT_AES_KEY", "txt-aes", "aes-key"),
    ] {
        let e = env.iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(e["valueFrom"]["secretKeyRef"], json!({"name": secret, "key": key}));
    }
    assert!(deploy["spec"]["template"]["spec"]["volumes"].is_null());
}

/// `providers.<name>`: the block of the provider in use gives its flags, its credential files from
/// an existing Secret, and the NetworkPolicy's ports to its API.
fn check_provider_block_files(d: &[Value]) {
    let deploy = one(d, "Deployment");
    let c = container(deploy, "exodns");
    let a = args(c);
    for want in ["--provider=pdns", "--pdns-server-id=dns1", "--pdns-skip-tls-verify"] {
        assert!(a.contains(&want.to_owned()), "{want} missing: {a:?}");
    }
    let path = a.iter().find_map(|x| x.strip_prefix("--pdns-api-key-file=")).expect("key file flag");
    let vol = volume_secret(deploy, "dns-credentials");
    assert_eq!(vol["secret"]["items"], json!([{"key": "key", "path": "key"}]));
    let mount = c["volumeMounts"].as_array().unwrap().iter().find(|m| m["name"] == vol["name"]).expect("mount");
    assert_eq!(mount["readOnly"], true);
    assert_eq!(path, format!("{}/key", mount["mountPath"].as_str().unwrap()));
    let np = one(d, "NetworkPolicy");
    assert_eq!(np["spec"]["egress"][2], json!({"ports": [{"port": 8081, "protocol": "TCP"}]}));
}

fn check_provider_block_env(d: &[Value]) {
    let deploy = one(d, "Deployment");
    let c = container(deploy, "exodns");
    let a = args(c);
    assert!(!a.iter().any(|x| x.contains("inmemory-zone")), "another provider's block leaked: {a:?}");
    let env = c["env"].as_array().expect("env");
    let e = env.iter().find(|e| e["name"] == "EXTERNAL_DNS_PDNS_API_KEY").expect("key env");
    assert_eq!(e["valueFrom"]["secretKeyRef"], json!({"name": "dns-credentials", "key": "key"}));
    assert!(deploy["spec"]["template"]["spec"]["volumes"].is_null());
    let np = one(d, "NetworkPolicy");
    assert_eq!(np["spec"]["egress"][2], json!({"ports": [{"port": 443, "protocol": "TCP"}]}));
}

/// `provider: aws` with IRSA: the role goes on the ServiceAccount (EKS injects the web identity
/// token), the `--aws-*` flags come from `providers.aws.args`, no secret is involved, and the
/// NetworkPolicy opens 443 (Route 53, STS).
fn check_aws_irsa(d: &[Value]) {
    let sa = one(d, "ServiceAccount");
    assert_eq!(sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"], "arn:aws:iam::123456789012:role/exodns");
    let deploy = one(d, "Deployment");
    assert_eq!(deploy["spec"]["template"]["spec"]["serviceAccountName"], sa["metadata"]["name"]);
    let c = container(deploy, "exodns");
    let a = args(c);
    for want in [
        "--provider=aws",
        "--aws-zone-type=public",
        "--aws-zone-tags=team=dns",
        "--aws-zone-tags=env=prod",
        "--aws-batch-change-interval=500ms",
        "--aws-prefer-cname",
    ] {
        assert!(a.contains(&want.to_owned()), "{want} missing: {a:?}");
    }
    let env = c["env"].as_array().cloned().unwrap_or_default();
    assert!(env.iter().all(|e| e["valueFrom"]["secretKeyRef"].is_null()), "{env:#?}");
    assert_eq!(one(d, "NetworkPolicy")["spec"]["egress"][2], json!({"ports": [{"port": 443, "protocol": "TCP"}]}));
}

/// `provider: aws` with keys from an existing Secret, as the SDK's env vars.
fn check_aws_existing_secret(d: &[Value]) {
    let c = container(one(d, "Deployment"), "exodns");
    let a = args(c);
    assert!(a.contains(&"--aws-assume-role=arn:aws:iam::210987654321:role/dns".to_owned()), "{a:?}");
    let env = c["env"].as_array().expect("env");
    for (name, key) in [("AWS_ACCESS_KEY_ID", "access-key-id"), ("AWS_SECRET_ACCESS_KEY", "secret-access-key")] {
        let e = env.iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(e["valueFrom"]["secretKeyRef"], json!({"name": "route53-keys", "key": key}));
    }
}

/// `providers.google` with a key file from an existing Secret: the flag names the mounted file,
/// and the NetworkPolicy lets the pod reach the API (443) and the metadata server (80).
fn check_google_key(d: &[Value]) {
    let deploy = one(d, "Deployment");
    let c = container(deploy, "exodns");
    let a = args(c);
    for want in ["--provider=google", "--google-project=dns-prod", "--google-zone-visibility=public"] {
        assert!(a.contains(&want.to_owned()), "{want} missing: {a:?}");
    }
    let path = a.iter().find_map(|x| x.strip_prefix("--google-credentials-file=")).expect("credentials flag");
    let vol = volume_secret(deploy, "gcp-dns");
    assert_eq!(vol["secret"]["items"], json!([{"key": "credentials.json", "path": "credentials.json"}]));
    let mount = c["volumeMounts"].as_array().unwrap().iter().find(|m| m["name"] == vol["name"]).expect("mount");
    assert_eq!(path, format!("{}/credentials.json", mount["mountPath"].as_str().unwrap()));
    let np = one(d, "NetworkPolicy");
    assert_eq!(
        np["spec"]["egress"][2],
        json!({"ports": [{"port": 443, "protocol": "TCP"}, {"port": 80, "protocol": "TCP"}]})
    );
}

/// GKE Workload Identity: the ServiceAccount carries the annotation, no Secret is mounted.
fn check_google_workload_identity(d: &[Value]) {
    let sa = one(d, "ServiceAccount");
    assert_eq!(sa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"], "dns@dns-prod.iam.gserviceaccount.com");
    let deploy = one(d, "Deployment");
    assert!(deploy["spec"]["template"]["spec"]["volumes"].is_null(), "no credentials volume");
    let a = args(container(deploy, "exodns"));
    assert!(!a.iter().any(|x| x.contains("credentials-file")), "{a:?}");
}

/// Azure workload identity: the ServiceAccount names the client, the pod carries the webhook's
/// label, and azure.json comes from the existing Secret.
fn check_azure_workload_identity(d: &[Value]) {
    let sa = one(d, "ServiceAccount");
    assert_eq!(
        sa["metadata"]["annotations"]["azure.workload.identity/client-id"],
        "00000000-0000-0000-0000-0000000000aa"
    );
    let deploy = one(d, "Deployment");
    assert_eq!(deploy["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"], "true");
    let c = container(deploy, "exodns");
    let a = args(c);
    for want in ["--provider=azure", "--azure-resource-group=rg-dns", "--azure-zones-cache-duration=5m"] {
        assert!(a.contains(&want.to_owned()), "{want} missing: {a:?}");
    }
    let path = a.iter().find_map(|x| x.strip_prefix("--azure-config-file=")).expect("config flag");
    let vol = volume_secret(deploy, "azure-config");
    let mount = c["volumeMounts"].as_array().unwrap().iter().find(|m| m["name"] == vol["name"]).expect("mount");
    assert_eq!(path, format!("{}/azure.json", mount["mountPath"].as_str().unwrap()));
}

/// RFC2136: its flags, the TSIG secret as a file from the existing Secret (never in the args or
/// the environment), and egress to the server's port 53 over TCP and UDP only.
fn check_rfc2136(d: &[Value]) {
    let deploy = one(d, "Deployment");
    let c = container(deploy, "exodns");
    let a = args(c);
    for want in [
        "--provider=rfc2136",
        "--rfc2136-host=192.0.2.53",
        "--rfc2136-zone=example.org",
        "--rfc2136-zone=2.0.192.in-addr.arpa",
        "--rfc2136-tsig-keyname=externaldns-key",
        "--rfc2136-tsig-secret-alg=hmac-sha256",
        "--rfc2136-axfr",
    ] {
        assert!(a.contains(&want.to_owned()), "{want} missing: {a:?}");
    }
    assert!(!a.iter().any(|x| x.starts_with("--rfc2136-tsig-secret=")), "{a:?}");
    let path = a.iter().find_map(|x| x.strip_prefix("--rfc2136-tsig-secret-file=")).expect("secret file flag");
    let vol = volume_secret(deploy, "tsig-key");
    assert_eq!(vol["secret"]["items"], json!([{"key": "secret", "path": "secret"}]));
    let mount = c["volumeMounts"].as_array().unwrap().iter().find(|m| m["name"] == vol["name"]).expect("mount");
    assert_eq!(path, format!("{}/secret", mount["mountPath"].as_str().unwrap()));
    let np = one(d, "NetworkPolicy");
    assert_eq!(
        np["spec"]["egress"][2],
        json!({"ports": [{"port": 53, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
               "to": [{"ipBlock": {"cidr": "192.0.2.53/32"}}]})
    );
}

/// A cloud provider's default block: its flag, its token file from the existing Secret (mounted
/// read-only), and egress to its API on 443 only.
fn check_cloud_provider(d: &[Value], provider: &str, secret: &str, file_flag: &str, key: &str, flag: &str) {
    let deploy = one(d, "Deployment");
    let c = container(deploy, "exodns");
    let a = args(c);
    for want in [format!("--provider={provider}"), flag.to_owned()] {
        assert!(a.contains(&want), "{want} missing: {a:?}");
    }
    let path = a.iter().find_map(|x| x.strip_prefix(file_flag)).unwrap_or_else(|| panic!("{file_flag} missing: {a:?}"));
    let vol = volume_secret(deploy, secret);
    assert_eq!(vol["secret"]["items"], json!([{"key": key, "path": key}]));
    let mount = c["volumeMounts"].as_array().unwrap().iter().find(|m| m["name"] == vol["name"]).expect("mount");
    assert_eq!(mount["readOnly"], true);
    assert_eq!(path, format!("{}/{key}", mount["mountPath"].as_str().unwrap()));
    let env = c["env"].as_array().cloned().unwrap_or_default();
    assert!(env.iter().all(|e| e["valueFrom"]["secretKeyRef"].is_null()), "the token goes by file: {env:#?}");
    let np = one(d, "NetworkPolicy");
    assert_eq!(
        np["spec"]["egress"][2],
        json!({"ports": [{"port": 443, "protocol": "TCP"}]}),
        "the provider's API on 443 only"
    );
    assert_eq!(np["spec"]["egress"].as_array().unwrap().len(), 3, "no other egress: {:#}", np["spec"]["egress"]);
}

fn cluster_rules(d: &[Value]) -> BTreeSet<(String, String, String)> {
    rules_of(d, "ClusterRole")
}

fn t(g: &str, r: &str, v: &str) -> (String, String, String) {
    (g.to_owned(), r.to_owned(), v.to_owned())
}

fn check_sources_crd(d: &[Value]) {
    let rules = cluster_rules(d);
    assert!(rules.contains(&t("externaldns.k8s.io", "dnsendpoints", "watch")));
    assert!(rules.contains(&t("externaldns.k8s.io", "dnsendpoints/status", "update")));
    assert!(
        !rules.iter().any(|(_, r, _)| r == "services" || r == "pods" || r == "nodes"),
        "crd-only source grants more: {rules:?}"
    );
    assert!(args(container(one(d, "Deployment"), "exodns")).contains(&"--source=crd".to_owned()));
}

fn check_sources_gateway(d: &[Value]) {
    let rules = cluster_rules(d);
    for r in ["gateways", "httproutes", "grpcroutes"] {
        assert!(rules.contains(&t("gateway.networking.k8s.io", r, "list")), "{r}: {rules:?}");
    }
    assert!(!rules.iter().any(|(_, r, _)| r == "tcproutes" || r == "services"), "{rules:?}");
}

fn check_sources_all(d: &[Value]) {
    // No write access to anything but Events and the status of DNSEndpoints and FailoverRecords.
    for (g, r, v) in cluster_rules(d) {
        let write = !matches!(v.as_str(), "get" | "list" | "watch");
        let status = matches!(r.as_str(), "dnsendpoints/status" | "failoverrecords/status");
        assert!(!write || r == "events" || status, "write verb {v} on {g}/{r}");
    }
}

fn check_namespaced(d: &[Value]) {
    let a = args(container(one(d, "Deployment"), "exodns"));
    assert!(a.contains(&format!("--namespace={NAMESPACE}")), "{a:?}");
    let role = rules_of(d, "Role");
    assert!(role.contains(&t("", "services", "watch")));
    assert!(
        !role.iter().any(|(_, r, _)| r == "nodes" || r == "namespaces"),
        "cluster-scoped resources in a Role: {role:?}"
    );
    // Cluster-scoped resources the sources need stay in a (small) ClusterRole.
    let cluster = cluster_rules(d);
    assert!(cluster.iter().all(|(_, r, _)| r == "nodes" || r == "namespaces"), "{cluster:?}");
}

/// With `namespaced` and a `gatewayNamespace`, the sources that read Gateways (known by their
/// rules in `exodns.sourceRules`) get a Role to read them there, bound to the ServiceAccount; other
/// sources get nothing in that namespace.
fn check_gateway_role(d: &[Value], route_sources: bool) {
    let there: Vec<&Value> = ["Role", "RoleBinding"]
        .iter()
        .flat_map(|k| find(d, k))
        .filter(|o| o["metadata"]["namespace"] == "default")
        .collect();
    if !route_sources {
        assert!(there.is_empty(), "RBAC in the Gateways' namespace without a route source: {there:?}");
        return;
    }
    let role = there.iter().find(|o| o["kind"] == "Role").expect("a Role in the Gateways' namespace");
    let verbs = ["get", "list", "watch"];
    let want: BTreeSet<_> = verbs.iter().map(|v| t("gateway.networking.k8s.io", "gateways", v)).collect();
    assert_eq!(triples(&role["rules"]), want);
    let bound = there.iter().any(|o| o["kind"] == "RoleBinding" && o["roleRef"]["name"] == role["metadata"]["name"]);
    assert!(bound, "the Gateways' Role is bound: {there:?}");
}

/// `helm lint --strict` and `helm template` of every scenario; each rendering holds what its
/// scenario promises.
#[test]
fn chart_lints_and_renders_every_scenario() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let chart = chart_dir();
    let mut failures = Vec::new();
    for s in scenarios() {
        let values = helm.values_file(s.name, &s.values);
        if let Err(e) = helm.lint(&chart, &values) {
            failures.push(format!("{}: helm lint: {e}", s.name));
            continue;
        }
        match helm.template(&chart, &values, &[]) {
            Ok(yaml) => {
                let d = docs(&yaml);
                if let Err(p) = std::panic::catch_unwind(|| (s.check)(&d)) {
                    let msg =
                        p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                    failures.push(format!("{}: {}", s.name, msg.unwrap_or_default()));
                }
            }
            Err(e) => failures.push(format!("{}: helm template: {e}", s.name)),
        }
    }
    assert!(failures.is_empty(), "{} scenario(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// Every scenario's exodns container args are accepted by the real exodns binary (clap reaches
/// the trailing `--help` only when every arg before it parsed): the chart renders no flag exodns
/// does not know, and no value it refuses.
#[test]
fn every_rendering_parses_with_the_exodns_binary() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let Some(exodns) = exodns_bin() else {
        return;
    };
    let mut failures = Vec::new();
    for s in scenarios() {
        let values = helm.values_file(s.name, &s.values);
        let d = docs(&helm.template(&chart_dir(), &values, &[]).unwrap());
        let a = args(container(one(&d, "Deployment"), "exodns"));
        let o = run(Command::new(&exodns).args(&a).arg("--help").env_clear());
        if !o.status.success() {
            failures.push(format!("{}: {a:?}\n{}", s.name, text(&o.stderr)));
        }
    }
    assert!(failures.is_empty(), "exodns rejects rendered args:\n{}", failures.join("\n"));
}

/// Values the chart refuses, with a message naming the fix.
#[test]
fn chart_refuses_unsafe_values() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    for (name, values, message) in [
        ("replicas-without-election", "replicaCount: 2\nleaderElection:\n  enabled: false\n", "needs leader election"),
        ("prefix-and-suffix", "txtPrefix: a-\ntxtSuffix: -b\n", "mutually exclusive"),
        ("no-policy", "policy: null\n", "policy is required"),
    ] {
        let f = helm.values_file(name, values);
        let err = helm.template(&chart_dir(), &f, &[]).expect_err(name);
        assert!(err.contains(message), "{name}: {err}");
    }
}

/// `ciliumNetworkPolicy.enabled: auto` renders the companion policy only where the cluster serves
/// cilium.io/v2 (helm's capabilities).
#[test]
fn cilium_network_policy_auto_follows_the_cluster() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let f = helm.values_file("auto", "ciliumNetworkPolicy:\n  enabled: auto\n");
    let without = docs(&helm.template(&chart_dir(), &f, &[]).unwrap());
    assert!(!kinds(&without).contains("CiliumNetworkPolicy"));
    let with = docs(&helm.template(&chart_dir(), &f, &["--api-versions", "cilium.io/v2/CiliumNetworkPolicy"]).unwrap());
    assert!(kinds(&with).contains("CiliumNetworkPolicy"));
}
