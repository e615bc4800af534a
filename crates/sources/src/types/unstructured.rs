//! Objects of the resources `--unstructured-resource` names (any resource, chosen at run time):
//! [`Unstructured`], kept whole as JSON, in one of [`SLOTS`] fixed places in the list of
//! resources ([`crate::Watched`]), each its own type so that the watches, caches and lookups that
//! go through that list handle them as any other resource.
//!
//! What a place holds is process-wide ([`choose`], from the flag; the kind and scope are
//! [`learn`]ed from discovery): the flag is read once at start.

use std::sync::RwLock;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::resource::{ObjectType, ResourceSpec, Served, Strip, Watched};

/// How many resources `--unstructured-resource` may name.
pub const SLOTS: usize = 8;

const UNCHOSEN_PLURALS: [&str; SLOTS] = [
    "unstructured-0",
    "unstructured-1",
    "unstructured-2",
    "unstructured-3",
    "unstructured-4",
    "unstructured-5",
    "unstructured-6",
    "unstructured-7",
];

/// What to do when the cluster does not serve a chosen resource.
pub const CHOSEN_HINT: &str = "check --unstructured-resource (resource.version.group of a resource the cluster \
     serves: kubectl api-resources), and install its CRD if it has one";

/// A resource `--unstructured-resource` names: `configmaps.v1`, `widgets.v1alpha1.example.org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceArg {
    /// Empty for the core group.
    pub group: String,
    pub version: String,
    pub plural: String,
}

impl ResourceArg {
    /// Upstream's reading: `resource.version.group`, or `resource.version` for the core group.
    pub fn parse(arg: &str) -> Result<ResourceArg, String> {
        let a = arg.trim();
        let mut parts = a.splitn(3, '.');
        let (plural, version, group) = (parts.next().unwrap_or_default(), parts.next(), parts.next());
        match version {
            Some(v) if !plural.is_empty() && !v.is_empty() => Ok(ResourceArg {
                group: group.unwrap_or_default().to_owned(),
                version: v.to_owned(),
                plural: plural.to_owned(),
            }),
            _ => Err(format!(
                "{a:?} is not resource.version.group (e.g. widgets.v1.example.org, or configmaps.v1 for the core group)"
            )),
        }
    }
}

#[derive(Debug, Clone)]
struct Chosen {
    spec: ResourceSpec,
    /// Lowercase kind: the object kind in the `resource` label, as upstream writes it.
    label: &'static str,
    learnt: bool,
}

static CHOSEN: RwLock<Vec<Chosen>> = RwLock::new(Vec::new());

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Fills the places with `resources` (at most [`SLOTS`]); a place that keeps its resource keeps
/// what discovery learnt of it. The strings live as long as the process (the flag is read once).
pub fn choose(resources: &[ResourceArg]) -> Result<(), String> {
    if resources.len() > SLOTS {
        return Err(format!("names {} resources; exodns watches at most {SLOTS}", resources.len()));
    }
    let mut chosen = CHOSEN.write().unwrap_or_else(|p| p.into_inner());
    let same = |c: &Chosen, r: &ResourceArg| {
        c.spec.group == r.group && c.spec.versions[0] == r.version && c.spec.plural == r.plural
    };
    let new: Vec<Chosen> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| match chosen.get(i).filter(|c| same(c, r)) {
            Some(c) => c.clone(),
            None => Chosen {
                spec: ResourceSpec {
                    group: leak(r.group.clone()),
                    kind: "",
                    plural: leak(r.plural.clone()),
                    versions: Box::leak(vec![leak(r.version.clone())].into_boxed_slice()),
                    namespaced: true,
                    served: Served::Chosen { hint: CHOSEN_HINT },
                },
                label: "unstructured",
                learnt: false,
            },
        })
        .collect();
    *chosen = new;
    Ok(())
}

/// What discovery found of a chosen resource: its kind and whether it lives in namespaces.
pub fn learn(w: Watched, kind: &str, namespaced: bool) {
    let Some(slot) = slot_of(w) else { return };
    let mut chosen = CHOSEN.write().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = chosen.get_mut(slot)
        && (!c.learnt || c.spec.kind != kind || c.spec.namespaced != namespaced)
    {
        c.spec.kind = leak(kind.to_owned());
        c.spec.namespaced = namespaced;
        c.label = leak(kind.to_lowercase());
        c.learnt = true;
    }
}

/// The place of `w`, if it is one of them.
pub fn slot_of(w: Watched) -> Option<usize> {
    SLOT_RESOURCES.iter().position(|s| *s == w)
}

/// How many places hold a resource.
pub fn chosen_count() -> usize {
    CHOSEN.read().unwrap_or_else(|p| p.into_inner()).len()
}

/// The lowercase kind of the resource in place `slot` (`unstructured` before discovery).
pub fn label_of(slot: usize) -> &'static str {
    CHOSEN.read().unwrap_or_else(|p| p.into_inner()).get(slot).map_or("unstructured", |c| c.label)
}

/// The lines of [`Watched`] that are places, in order.
pub const SLOT_RESOURCES: [Watched; SLOTS] = [
    Watched::Unstructured0,
    Watched::Unstructured1,
    Watched::Unstructured2,
    Watched::Unstructured3,
    Watched::Unstructured4,
    Watched::Unstructured5,
    Watched::Unstructured6,
    Watched::Unstructured7,
];

/// An object of the resource in place `N`: its metadata (cut down like every object's) and the
/// rest of it as JSON, kept whole (a template may read any field).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Unstructured<const N: usize> {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl<const N: usize> Unstructured<N> {
    /// The whole object as JSON, metadata included (what templates read as `.Object`).
    pub fn to_json(&self) -> Value {
        let mut m = self.rest.clone();
        m.insert("metadata".into(), serde_json::to_value(&self.metadata).unwrap_or(Value::Null));
        Value::Object(m)
    }
}

impl<const N: usize> k8s_openapi::Resource for Unstructured<N> {
    // Stand-ins: what a place holds is known at run time ([`ObjectType::chosen`]).
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const KIND: &'static str = "Unstructured";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = UNCHOSEN_PLURALS[N];
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl<const N: usize> k8s_openapi::Metadata for Unstructured<N> {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl<const N: usize> ObjectType for Unstructured<N> {
    type Stored = Self;
    const RESOURCE: Watched = SLOT_RESOURCES[N];
    const VERSIONS: &'static [&'static str] = &["v1"];
    const SERVED: Served = Served::Chosen { hint: CHOSEN_HINT };

    fn strip(&mut self, s: &Strip) {
        self.metadata = s.meta(std::mem::take(&mut self.metadata));
    }

    fn chosen() -> Option<ResourceSpec> {
        CHOSEN.read().unwrap_or_else(|p| p.into_inner()).get(N).map(|c| c.spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_args() {
        let a = ResourceArg::parse("widgets.v1alpha1.example.org").unwrap();
        assert_eq!((a.plural.as_str(), a.version.as_str(), a.group.as_str()), ("widgets", "v1alpha1", "example.org"));
        let core = ResourceArg::parse(" configmaps.v1 ").unwrap();
        assert_eq!((core.plural.as_str(), core.version.as_str(), core.group.as_str()), ("configmaps", "v1", ""));
        for bad in ["configmaps", "", ".v1", "configmaps."] {
            assert!(ResourceArg::parse(bad).is_err(), "{bad:?}");
        }
    }
}
