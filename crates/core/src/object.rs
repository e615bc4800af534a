//! Which Kubernetes (or manifest) object an endpoint or a diagnostic comes from.

use std::fmt;

/// A reference to a source object, shown the way upstream ExternalDNS writes its `resource`
/// ownership label: `service/default/web`, `crd/ns/name`, `node/worker-1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// The lowercase kind as upstream names it in the `resource` label (`service`, `ingress`,
    /// `httproute`, `crd`, `node`, `pod`, …).
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn namespaced(kind: &str, namespace: &str, name: &str) -> Self {
        Self { kind: kind.to_owned(), namespace: Some(namespace.to_owned()), name: name.to_owned() }
    }

    pub fn cluster(kind: &str, name: &str) -> Self {
        Self { kind: kind.to_owned(), namespace: None, name: name.to_owned() }
    }

    /// Reads a `resource` label back: `kind/namespace/name` or `kind/name`.
    pub fn from_resource_label(label: &str) -> Option<Self> {
        let mut parts = label.splitn(3, '/');
        let (kind, second, third) = (parts.next()?, parts.next()?, parts.next());
        if kind.is_empty() || second.is_empty() {
            return None;
        }
        Some(match third {
            Some(name) if !name.is_empty() => ObjectRef::namespaced(kind, second, name),
            Some(_) => return None,
            None => ObjectRef::cluster(kind, second),
        })
    }

    /// The value of the `resource` label for endpoints made from this object.
    pub fn resource_label(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_label_round_trip() {
        for r in [ObjectRef::namespaced("service", "default", "web"), ObjectRef::cluster("node", "worker-1")] {
            assert_eq!(ObjectRef::from_resource_label(&r.resource_label()), Some(r));
        }
        assert_eq!(ObjectRef::from_resource_label("nonsense"), None);
        assert_eq!(ObjectRef::from_resource_label("a//b"), None);
    }
}
