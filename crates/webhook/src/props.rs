//! Provider-specific properties a webhook provider receives.

use exodns_core::Endpoint;

/// The prefix of properties meant for a webhook provider (`webhook/…`).
pub const PROVIDER: &str = "webhook";

/// Keeps the properties meant for `provider`: those named `provider/…` and those without any
/// prefix (`alias`); properties of other providers (`aws/…`, `txt/…`) go. What is kept is sorted
/// by name. Upstream's `RetainProviderProperties`, including its one exception: for `cloudflare`
/// nothing is dropped (its properties carry no provider prefix).
pub fn retain_provider_properties(ep: &mut Endpoint, provider: &str) {
    if ep.provider_specific.is_empty() {
        return;
    }
    if !provider.is_empty() && provider != "cloudflare" {
        let prefix = format!("{provider}/");
        ep.provider_specific.retain(|p| !p.name.contains('/') || p.name.starts_with(&prefix));
    }
    ep.provider_specific.sort_by(|a, b| a.name.cmp(&b.name));
}

#[cfg(test)]
mod tests {
    use super::*;
    use exodns_core::RecordType;

    #[test]
    fn keeps_own_and_unprefixed() {
        let mut ep = Endpoint::parse("a.example.org", RecordType::A, &["1.2.3.4"])
            .unwrap()
            .with_property("webhook/zeta", "1")
            .with_property("aws/evaluate-target-health", "true")
            .with_property("alias", "true")
            .with_property("webhookish/x", "no")
            .with_property("txt/force-update", "true");
        retain_provider_properties(&mut ep, PROVIDER);
        let names: Vec<&str> = ep.provider_specific.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["alias", "webhook/zeta"]);
    }
}
