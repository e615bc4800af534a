//! [`Labels`]: an endpoint's labels, a small map kept as a sorted vector.
//!
//! An endpoint carries one to three labels (`owner`, `resource`, sometimes the TXT nonce). A
//! `BTreeMap` allocates a whole node for them (over 500 bytes for any size up to eleven); a
//! sorted vector takes 48 bytes per label and clones and compares as fast. The API is the part of
//! `BTreeMap`'s that exodns uses, with the same semantics: keys unique, iteration in key order,
//! equality and order those of the sorted (key, value) pairs, JSON an object.
//!
//! The vector is shared between clones (copied on the first change): the desired index, the
//! planned changes and the record cache hold the same labels of one record, and a clone is then
//! a reference count instead of five allocations. Empty labels allocate nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `None` exactly when empty, so that the derived comparisons are those of the pairs.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Option<Arc<Vec<(String, String)>>>);

impl Labels {
    pub fn new() -> Self {
        Labels(None)
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Labels((!pairs.is_empty()).then(|| Arc::new(pairs)))
    }

    fn pairs(&self) -> &[(String, String)] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    /// The pairs to change: copied first when another clone shares them.
    fn pairs_mut(&mut self) -> &mut Vec<(String, String)> {
        Arc::make_mut(self.0.get_or_insert_with(Default::default))
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.pairs().binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.find(key).ok().map(|i| &self.pairs()[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; the previous value, if any.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(&key) {
            // The same value again (the owner label on every record of a sync): nothing to copy.
            Ok(i) if self.pairs()[i].1 == value => Some(value),
            Ok(i) => Some(std::mem::replace(&mut self.pairs_mut()[i].1, value)),
            Err(i) => {
                self.pairs_mut().insert(i, (key, value));
                None
            }
        }
    }

    /// Whether these are `base` with `key` set to `value`: a caller about to make that change
    /// can share these instead of copying.
    pub fn is_with(&self, base: &Labels, key: &str, value: &str) -> bool {
        let mut rest = base.pairs().iter().filter(|(k, _)| k != key);
        let mut found = false;
        for (k, v) in self.pairs() {
            if k == key {
                found = v == value;
                if !found {
                    return false;
                }
            } else if !rest.next().is_some_and(|(bk, bv)| bk == k && bv == v) {
                return false;
            }
        }
        found && rest.next().is_none()
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.find(key).ok()?;
        let removed = self.pairs_mut().remove(i).1;
        if self.pairs().is_empty() {
            self.0 = None;
        }
        Some(removed)
    }

    pub fn len(&self) -> usize {
        self.pairs().len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub fn clear(&mut self) {
        self.0 = None;
    }

    /// In key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &String)> + ExactSizeIterator {
        self.pairs().iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.pairs().iter().map(|(k, _)| k)
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&str> for Labels {
    type Output = String;
    /// Panics when `key` is missing, as a map's index does.
    fn index(&self, key: &str) -> &String {
        self.get(key).unwrap_or_else(|| panic!("no label {key:?}"))
    }
}

impl Extend<(String, String)> for Labels {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(String, String)> for Labels {
    /// A later value for the same key wins, as when inserting into a map.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut pairs: Vec<(String, String)> = iter.into_iter().collect();
        // Stable: equal keys keep their input order, so the last of each run is the later one.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match out.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => out.push(pair),
            }
        }
        Labels::from_pairs(out)
    }
}

impl From<BTreeMap<String, String>> for Labels {
    fn from(map: BTreeMap<String, String>) -> Self {
        // Already sorted and unique.
        Labels::from_pairs(map.into_iter().collect())
    }
}

impl From<Labels> for BTreeMap<String, String> {
    fn from(labels: Labels) -> Self {
        labels.into_iter().collect()
    }
}

impl<const N: usize> From<[(String, String); N]> for Labels {
    fn from(pairs: [(String, String); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl IntoIterator for Labels {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.map(Arc::unwrap_or_clone).unwrap_or_default().into_iter()
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (String, String)>, fn(&(String, String)) -> (&String, &String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.pairs().iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LabelsVisitor;
        impl<'de> Visitor<'de> for LabelsVisitor {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of strings to strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(pairs.into_iter().collect())
            }
        }
        d.deserialize_map(LabelsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn is_with_one_key_set() {
        let l = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Labels>();
        let base = l(&[("resource", "svc/a")]);
        assert!(l(&[("owner", "me"), ("resource", "svc/a")]).is_with(&base, "owner", "me"));
        assert!(!l(&[("owner", "you"), ("resource", "svc/a")]).is_with(&base, "owner", "me"));
        assert!(!l(&[("resource", "svc/a")]).is_with(&base, "owner", "me"), "key missing");
        assert!(!l(&[("owner", "me"), ("resource", "svc/b")]).is_with(&base, "owner", "me"));
        assert!(!l(&[("owner", "me")]).is_with(&base, "owner", "me"), "base label missing");
        let with_owner = l(&[("owner", "old"), ("resource", "svc/a")]);
        assert!(l(&[("owner", "me"), ("resource", "svc/a")]).is_with(&with_owner, "owner", "me"), "replaced");
        assert!(l(&[("owner", "")]).is_with(&Labels::new(), "owner", ""));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(String, String),
        Remove(String),
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = "[a-d]{0,2}";
        prop_oneof![(key, "[xyz]{0,2}").prop_map(|(k, v)| Op::Insert(k, v)), key.prop_map(Op::Remove)]
    }

    proptest! {
        /// Any sequence of inserts and removes gives what a `BTreeMap` gives: same results,
        /// same contents in the same order, same JSON.
        #[test]
        fn behaves_like_a_btree_map(ops in vec(op(), 0..40)) {
            let (mut ours, mut theirs) = (Labels::new(), BTreeMap::new());
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(ours.insert(k.clone(), v.clone()), theirs.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(ours.remove(&k), theirs.remove(&k)),
                }
                prop_assert!(ours.iter().eq(theirs.iter()));
                prop_assert_eq!(ours.len(), theirs.len());
            }
            for k in ["", "a", "b", "ab", "dd"] {
                prop_assert_eq!(ours.get(k), theirs.get(k));
                prop_assert_eq!(ours.contains_key(k), theirs.contains_key(k));
            }
            prop_assert_eq!(serde_json::to_string(&ours).unwrap(), serde_json::to_string(&theirs).unwrap());
            prop_assert_eq!(&Labels::from(theirs.clone()), &ours);
        }

        /// Order and equality are those of the maps.
        #[test]
        fn orders_like_a_btree_map(a in vec(("[ab]{0,2}", "[xy]"), 0..4), b in vec(("[ab]{0,2}", "[xy]"), 0..4)) {
            let (ma, mb): (BTreeMap<String, String>, BTreeMap<String, String>) =
                (a.iter().cloned().collect(), b.iter().cloned().collect());
            let (la, lb): (Labels, Labels) = (a.into_iter().collect(), b.into_iter().collect());
            prop_assert_eq!(la.cmp(&lb), ma.cmp(&mb));
            prop_assert_eq!(la == lb, ma == mb);
        }
    }

    #[test]
    fn json_duplicates_keep_the_last_value_and_non_strings_are_refused() {
        let labels: Labels = serde_json::from_str(r#"{"owner": "a", "resource": "r", "owner": "b"}"#).unwrap();
        assert_eq!(labels.get("owner").map(String::as_str), Some("b"));
        assert_eq!(labels.len(), 2);
        assert!(serde_json::from_str::<Labels>(r#"{"owner": 5}"#).is_err());
        assert!(serde_json::from_str::<Labels>("[]").is_err());
    }
}
