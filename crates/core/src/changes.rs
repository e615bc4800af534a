//! A set of changes to apply, in the ExternalDNS webhook `Changes` JSON shape.

use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;

/// What a plan asks a provider to do. `update_old[i]` is the current state that `update_new[i]`
/// replaces. Both capitalised (before upstream v0.17) and lowercase keys are read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    #[serde(default, alias = "Create", deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub create: Vec<Endpoint>,
    #[serde(default, alias = "UpdateOld", deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub update_old: Vec<Endpoint>,
    #[serde(default, alias = "UpdateNew", deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub update_new: Vec<Endpoint>,
    #[serde(default, alias = "Delete", deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub delete: Vec<Endpoint>,
}

/// Go encodes an empty slice as `null`; clients before upstream v0.17 sent that.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Endpoint>, D::Error> {
    Ok(Option::<Vec<Endpoint>>::deserialize(d)?.unwrap_or_default())
}

impl Changes {
    /// Upstream's `HasChanges`: creates or deletes, or an update whose new state differs.
    pub fn has_changes(&self) -> bool {
        !self.create.is_empty() || !self.delete.is_empty() || self.update_old != self.update_new
    }

    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update_old.is_empty() && self.update_new.is_empty() && self.delete.is_empty()
    }

    /// Number of record sets touched (an update counts once).
    pub fn len(&self) -> usize {
        self.create.len() + self.update_new.len() + self.delete.len()
    }

    /// Every endpoint in the change set, old states included.
    pub fn iter(&self) -> impl Iterator<Item = &Endpoint> {
        self.create.iter().chain(&self.update_old).chain(&self.update_new).chain(&self.delete)
    }

    /// Keeps only the endpoints `keep` accepts; an update pair is kept or dropped as a whole
    /// (judged on its new state).
    pub fn retain(&mut self, mut keep: impl FnMut(&Endpoint) -> bool) {
        self.create.retain(&mut keep);
        self.delete.retain(&mut keep);
        let (old, new): (Vec<_>, Vec<_>) = std::mem::take(&mut self.update_old)
            .into_iter()
            .zip(std::mem::take(&mut self.update_new))
            .filter(|(_, n)| keep(n))
            .unzip();
        self.update_old = old;
        self.update_new = new;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_key_styles() {
        let lower = r#"{"create":[{"dnsName":"a.example.com","targets":["1.2.3.4"],"recordType":"A"}]}"#;
        let upper = r#"{"Create":[{"dnsName":"a.example.com","targets":["1.2.3.4"],"recordType":"A"}],"UpdateOld":[],"Delete":null}"#;
        let a: Changes = serde_json::from_str(lower).unwrap();
        let b: Changes = serde_json::from_str(upper).unwrap();
        assert_eq!(a, b);
        assert_eq!(serde_json::to_string(&a).unwrap(), lower);
    }
}
