//! Messages about failing watches.

use super::watch::{join_errors, name_sources};

#[test]
fn errors_joined() {
    assert_eq!(name_sources(&["gateway-tcproute"]), "source gateway-tcproute");
    assert_eq!(name_sources(&["service", "pod"]), "sources service, pod");
    let e = join_errors(vec![
        "the cluster does not serve gateways.g (looked for v1); install it".into(),
        "cannot reach the apiserver: refused".into(),
        "the cluster does not serve tcproutes.g (looked for v1, v1alpha2); install it".into(),
        "cannot reach the apiserver: refused".into(),
    ]);
    assert_eq!(
        e,
        "cannot reach the apiserver: refused; the cluster does not serve gateways.g (looked for v1), tcproutes.g (looked for v1, v1alpha2); install it"
    );
}
