//! The one error type of this crate.

use std::path::PathBuf;

use exodns_core::error_chain;

/// What can go wrong talking to Kubernetes. Every variant knows the label it is counted under
/// ([`KubeError::metric_label`]). None of them carries a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeError {
    /// A setting (`--kubeconfig`, `--server`, `--kube-api-qps`, …) cannot be used.
    #[error("{setting}: {message}")]
    Config { setting: &'static str, message: String },

    /// The kubeconfig file could not be read or has no usable context.
    #[error("kubeconfig {}: {message}", path.display())]
    Kubeconfig { path: PathBuf, message: String },

    /// No kubeconfig was given or found, and this is not a Pod with a service account.
    #[error(
        "no Kubernetes configuration: no --kubeconfig, no $KUBECONFIG or ~/.kube/config, and not running in a Pod ({0})"
    )]
    NoConfig(String),

    /// The HTTP client for the apiserver could not be built (TLS material, URL).
    #[error("Kubernetes client: {0}")]
    Client(String),

    /// The apiserver could not be reached or answered with a server error.
    #[error("cannot reach the apiserver: {0}")]
    Unreachable(String),

    /// The cluster does not serve a resource a source needs.
    #[error("the cluster does not serve {resource} (looked for {versions}); {hint}")]
    NotServed { resource: String, versions: String, hint: &'static str },

    /// The credentials may not do what a source needs.
    #[error("forbidden: {0} (bind the ClusterRole of deploy/rbac/clusterrole.yaml to exodns's ServiceAccount)")]
    Forbidden(String),

    /// Any other answer of the apiserver.
    #[error("apiserver: {0}")]
    Api(String),
}

impl KubeError {
    /// Label for the `error` dimension of metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            KubeError::Config { .. } | KubeError::Kubeconfig { .. } | KubeError::NoConfig(_) => "config",
            KubeError::Client(_) => "client",
            KubeError::Unreachable(_) => "unreachable",
            KubeError::NotServed { .. } => "not_served",
            KubeError::Forbidden(_) => "forbidden",
            KubeError::Api(_) => "api",
        }
    }

    /// Whether trying again later may help (everything but a bad setting).
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            KubeError::Config { .. } | KubeError::Kubeconfig { .. } | KubeError::NoConfig(_) | KubeError::Client(_)
        )
    }

    /// Classifies an error of the kube client.
    pub fn from_kube(e: &kube::Error) -> KubeError {
        match e {
            kube::Error::Api(s) if s.code == 403 => KubeError::Forbidden(s.message.clone()),
            kube::Error::Api(s) if s.code >= 500 || s.code == 429 => {
                KubeError::Unreachable(format!("{} {}", s.code, s.message))
            }
            kube::Error::Api(s) => KubeError::Api(format!("{} {}", s.code, s.message)),
            kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
                KubeError::Unreachable(error_chain(e))
            }
            other => KubeError::Api(error_chain(other)),
        }
    }
}

impl From<kube::Error> for KubeError {
    fn from(e: kube::Error) -> Self {
        KubeError::from_kube(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_messages() {
        let e = KubeError::NotServed {
            resource: "tcproutes.gateway.networking.k8s.io".into(),
            versions: "v1, v1alpha2".into(),
            hint: "install the Gateway API CRDs",
        };
        assert_eq!(e.metric_label(), "not_served");
        assert!(e.is_transient());
        assert_eq!(
            e.to_string(),
            "the cluster does not serve tcproutes.gateway.networking.k8s.io (looked for v1, v1alpha2); install the Gateway API CRDs"
        );
        let status = kube::core::Status::failure("services is forbidden", "Forbidden").with_code(403);
        let e = KubeError::from(kube::Error::Api(Box::new(status)));
        assert_eq!(e.metric_label(), "forbidden");
        assert!(e.to_string().contains("deploy/rbac/clusterrole.yaml"), "{e}");
        assert!(!KubeError::Config { setting: "--kube-api-qps", message: "x".into() }.is_transient());
    }
}
