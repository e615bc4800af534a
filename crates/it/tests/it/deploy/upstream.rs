//! Upstream's chart and ours, rendered from the same values file.

use super::*;

/// Flags in a `--help` text: `--flag`, `--[no-]flag`.
fn help_flags(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in help.match_indices("--") {
        let rest = &help[i + 2..];
        let rest = rest.strip_prefix("[no-]").unwrap_or(rest);
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        if name.len() > 1 && name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            out.insert(name);
        }
    }
    out
}

/// Flags upstream ExternalDNS v0.22.0 understands: its binary's `--help` when built, else its
/// `docs/flags.md`.
fn upstream_flags(module: &Path) -> BTreeSet<String> {
    if let Some(bin) = peer_binary("EXODNS_UPSTREAM_EXTERNAL_DNS_BIN") {
        let o = run(Command::new(bin).arg("--help"));
        let flags = help_flags(&format!("{}{}", text(&o.stdout), text(&o.stderr)));
        if flags.len() > 50 {
            return flags;
        }
    }
    help_flags(&std::fs::read_to_string(module.join("docs/flags.md")).expect("upstream docs/flags.md"))
}

/// The upstream chart and ours, rendered from the same typical upstream values file: the container
/// arguments whose flags both ExternalDNS and exodns understand are the same; env, resources,
/// scheduling and the user's probe settings carry over; the real exodns binary parses our args.
#[test]
fn upstream_values_render_the_same_args() {
    let Some(helm) = Helm::get() else {
        return skip_or_fail("helm (EXODNS_HELM_BIN)");
    };
    let Some(module) = upstream_module() else {
        return skip_or_fail("sigs.k8s.io/external-dns@v0.22.0 in the Go module cache");
    };
    let Some(exodns) = exodns_bin() else {
        return;
    };
    let values = fixture("upstream-values-pdns.yaml");
    let up = docs(
        &helm.template(&module.join("charts/external-dns"), &values, &[]).expect("upstream chart renders the fixture"),
    );
    let ours = docs(&helm.template(&chart_dir(), &values, &[]).expect("our chart renders the fixture"));
    let up_deploy = one(&up, "Deployment");
    let our_deploy = one(&ours, "Deployment");
    let up_c = container(up_deploy, "external-dns");
    let our_c = container(our_deploy, "exodns");

    let exo_help = run(Command::new(&exodns).arg("--help"));
    assert!(exo_help.status.success(), "{} --help failed", exodns.display());
    let exo_flags = help_flags(&text(&exo_help.stdout));
    let up_flags = upstream_flags(&module);
    let both: BTreeSet<&String> = exo_flags.intersection(&up_flags).collect();
    assert!(both.len() > 30, "too few common flags: {both:?}");

    let common = |a: Vec<String>| -> Vec<String> {
        let mut v: Vec<String> = a.into_iter().filter(|x| both.contains(&flag_name(x).to_owned())).collect();
        v.sort();
        v
    };
    let up_args = args(up_c);
    let our_args = args(our_c);
    assert_eq!(common(up_args.clone()), common(our_args.clone()), "\nupstream: {up_args:#?}\nours: {our_args:#?}");
    // What upstream renders and exodns does not understand (and so leaves out or spells otherwise).
    let dropped: Vec<&String> = up_args.iter().filter(|a| !exo_flags.contains(flag_name(a))).collect();
    assert!(dropped.iter().all(|a| a.starts_with("--no-")), "upstream args exodns does not understand: {dropped:?}");
    // Ours: nothing exodns does not understand.
    let unknown: Vec<&String> = our_args.iter().filter(|a| !exo_flags.contains(flag_name(a))).collect();
    assert!(unknown.is_empty(), "our chart renders flags exodns does not know: {unknown:?}");
    // The real binary parses them (clap stops at --help only after the args before it parsed).
    let o = run(Command::new(&exodns).args(&our_args).arg("--help"));
    assert!(o.status.success(), "exodns rejects the rendered args {our_args:?}:\n{}", text(&o.stderr));

    // The rest of the container and pod carries over.
    // The user's env carries over as given (ours adds POD_NAME and POD_NAMESPACE).
    let our_env = our_c["env"].as_array().cloned().unwrap_or_default();
    for e in up_c["env"].as_array().into_iter().flatten() {
        assert!(our_env.contains(e), "env {e} of the values file missing: {our_env:#?}");
    }
    assert_eq!(our_c["resources"], up_c["resources"]);
    for k in ["initialDelaySeconds", "periodSeconds", "failureThreshold", "timeoutSeconds"] {
        assert_eq!(our_c["livenessProbe"][k], up_c["livenessProbe"][k], "livenessProbe.{k}");
    }
    assert_eq!(our_c["livenessProbe"]["httpGet"], up_c["livenessProbe"]["httpGet"]);
    // Readiness is /readyz (upstream's /healthz always says OK); a startup probe covers slow syncs.
    assert_eq!(our_c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(our_c["startupProbe"].is_object());
    let (up_pod, our_pod) = (&up_deploy["spec"]["template"], &our_deploy["spec"]["template"]);
    for k in ["nodeSelector", "tolerations", "priorityClassName"] {
        assert_eq!(our_pod["spec"][k], up_pod["spec"][k], "pod spec {k}");
    }
    for (k, v) in up_pod["metadata"]["annotations"].as_object().into_iter().flatten() {
        assert_eq!(&our_pod["metadata"]["annotations"][k], v, "pod annotation {k}");
    }
    for (k, v) in up_pod["metadata"]["labels"].as_object().into_iter().flatten() {
        if !k.starts_with("app.kubernetes.io/") {
            assert_eq!(&our_pod["metadata"]["labels"][k], v, "pod label {k}");
        }
    }
    assert_eq!(our_deploy["spec"]["strategy"], up_deploy["spec"]["strategy"]);
    assert_eq!(
        one(&ours, "ServiceAccount")["metadata"]["annotations"],
        one(&up, "ServiceAccount")["metadata"]["annotations"]
    );
    let (up_sm, our_sm) = (one(&up, "ServiceMonitor"), one(&ours, "ServiceMonitor"));
    assert_eq!(our_sm["spec"]["endpoints"][0]["interval"], up_sm["spec"]["endpoints"][0]["interval"]);
    assert_eq!(our_sm["metadata"]["labels"]["release"], up_sm["metadata"]["labels"]["release"]);
    // Our NetworkPolicy lets exodns reach the PowerDNS URL given in extraArgs.
    let np = one(&ours, "NetworkPolicy");
    assert_eq!(np["spec"]["egress"][2]["ports"], json!([{"port": 8081, "protocol": "TCP"}]));
}
