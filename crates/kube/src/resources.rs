//! Discovery of the version of a resource the cluster serves, and kube-rs's view of the
//! resources the sources read (which resources those are, and how they are described:
//! `exodns_sources::resource`).

use std::borrow::Cow;

use exodns_sources::Watched;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::core::{ApiResource, DynamicResourceScope};
use serde::Serialize;

use crate::error::KubeError;

/// The API resource of `w` at one version.
pub fn api_resource(w: Watched, version: &str) -> ApiResource {
    ApiResource {
        group: w.group().to_owned(),
        version: version.to_owned(),
        api_version: w.api_version(version),
        kind: w.kind().to_owned(),
        plural: w.plural().to_owned(),
    }
}

/// Finds the version of `w` the cluster serves: the first of [`Watched::versions`] whose
/// discovery document lists the resource. Built-in kinds are not asked about.
pub async fn discover(client: &Client, w: Watched) -> Result<ApiResource, KubeError> {
    if !w.is_custom() {
        return Ok(api_resource(w, w.versions()[0]));
    }
    for v in w.versions() {
        let listed = match w.group() {
            // A resource chosen at run time may be of the core group (`configmaps.v1`).
            "" => client.list_core_api_resources(v).await,
            g => client.list_api_group_resources(&format!("{g}/{v}")).await,
        };
        match listed {
            Ok(list) => {
                if let Some(r) = list.resources.iter().find(|r| r.name == w.plural()) {
                    if w.is_chosen() {
                        // What the flag does not say: the kind and the scope.
                        exodns_sources::types::unstructured::learn(w, &r.kind, r.namespaced);
                    }
                    tracing::debug!(resource = %w, version = v, "discovered");
                    return Ok(api_resource(w, v));
                }
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(KubeError::from_kube(&e)),
        }
    }
    Err(KubeError::NotServed { resource: w.resource_name(), versions: w.versions().join(", "), hint: w.hint() })
}

/// A typed object whose API version is chosen at run time (what discovery found): kube-rs's
/// `Api` over any of the object types the sources read.
/// Decoded without managedFields and kubectl's last-applied annotation (`crate::decode`).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Obj<K>(pub K);

impl<K> kube::Resource for Obj<K>
where
    K: k8s_openapi::Metadata<Ty = ObjectMeta>,
{
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn kind(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.kind)
    }
    fn group(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.group)
    }
    fn version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.version)
    }
    fn api_version(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.api_version)
    }
    fn plural(dt: &ApiResource) -> Cow<'_, str> {
        Cow::Borrowed(&dt.plural)
    }
    fn meta(&self) -> &ObjectMeta {
        self.0.metadata()
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.0.metadata_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_resources() {
        let ar = api_resource(Watched::EndpointSlices, "v1");
        assert_eq!((ar.api_version.as_str(), ar.plural.as_str()), ("discovery.k8s.io/v1", "endpointslices"));
        assert_eq!(api_resource(Watched::Pods, "v1").api_version, "v1");
        assert_eq!(api_resource(Watched::TcpRoutes, "v1alpha2").kind, "TCPRoute");
    }
}
