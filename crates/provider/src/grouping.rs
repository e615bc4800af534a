//! Keeping changes together that must be applied together: the changes at one name (a CNAME
//! and anything else there conflict), and an ownership TXT (label `ownedRecord`) with the record
//! it owns, so that a record is never written without its ownership. Providers that split a
//! change set into several requests pack whole groups.

use std::collections::HashMap;

use exodns_core::endpoint::label;
use exodns_core::{DnsName, Endpoint, RecordType};

/// Groups changes that must be applied together. `items` gives each change's name (with or
/// without the trailing dot) and the endpoints behind it; changes at one name share a group, and
/// an ownership TXT joins the group of the name it owns. Returns the group of each change and the
/// changes of each group, groups in order of first appearance.
pub fn group_changes<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a [&'a Endpoint])>,
) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut uf = UnionFind::default();
    let mut nodes = Vec::new();
    for (name, sources) in items {
        let node = uf.node(name.trim_end_matches('.'));
        for src in sources.iter().filter(|s| s.record_type == RecordType::TXT) {
            if let Some(owned) = src.labels.get(label::OWNED_RECORD).and_then(|o| DnsName::parse(o).ok()) {
                let other = uf.node(owned.as_str());
                uf.union(node, other);
            }
        }
        nodes.push(node);
    }
    let mut group_of_root: HashMap<usize, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.into_iter().enumerate() {
        let root = uf.find(node);
        let g = *group_of_root.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        group_of.push(g);
        groups[g].push(i);
    }
    (group_of, groups)
}

/// Disjoint sets of names. Group order follows first appearance: the smaller index stays root.
#[derive(Debug, Default)]
pub struct UnionFind {
    index: HashMap<String, usize>,
    parent: Vec<usize>,
}

impl UnionFind {
    /// The node of `name`, added as a set of its own when new.
    pub fn node(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.parent.len();
        self.parent.push(i);
        self.index.insert(name.to_owned(), i);
        i
    }

    /// The root of `i`'s set.
    pub fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    pub fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_names_share_the_first_root() {
        let mut uf = UnionFind::default();
        let (a, b, c) = (uf.node("a"), uf.node("b"), uf.node("c"));
        assert_eq!(uf.node("a"), a);
        uf.union(c, b);
        assert_eq!(uf.find(c), b);
        uf.union(b, a);
        assert_eq!((uf.find(a), uf.find(b), uf.find(c)), (a, a, a));
        let d = uf.node("d");
        assert_eq!(uf.find(d), d);
    }
}
