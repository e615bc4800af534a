//! A zone's share of a change set as batch operations, grouped so that a record and its
//! ownership TXT travel in the same request, and cut under the batch limit.

use std::collections::HashMap;

use exodns_core::endpoint::label;
use exodns_core::{Endpoint, RecordType};

use crate::convert::{self, PROXIED, RECORD_COMMENT, TAGS, proxiable};
use crate::model::{BatchBody, IdOnly, RecordBody};

/// A record Cloudflare holds, as the provider last saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    pub id: String,
    pub body: RecordBody,
}

/// Records of a zone by (name, type, canonical target).
pub type ZoneRecords = HashMap<(String, RecordType, String), Existing>;

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Delete(String),
    Put(RecordBody),
    Post(RecordBody),
}

/// The operations of one name (a record and its ownership TXT), with the endpoints they come
/// from: a refusal is reported on those.
#[derive(Debug)]
pub struct Group<'a> {
    pub key: String,
    pub ops: Vec<Op>,
    pub sources: Vec<&'a Endpoint>,
}

/// How records are written: the defaults of the flags.
#[derive(Debug, Clone)]
pub struct WriteDefaults {
    pub proxied: bool,
    pub comment: String,
    pub max_comment: usize,
}

/// Why an endpoint cannot be written to Cloudflare at all.
pub type Unwritable<'a> = (&'a Endpoint, String);

/// The record body for one target of `ep`.
pub fn body(ep: &Endpoint, target: &str, d: &WriteDefaults) -> Result<RecordBody, String> {
    let (content, data, priority) = convert::write_fields(ep.record_type, target)
        .ok_or_else(|| format!("exodns does not write {} records to Cloudflare", ep.record_type))?;
    let proxied = proxiable(ep.record_type)
        && convert::property(ep, PROXIED).map_or(d.proxied, |v| v.eq_ignore_ascii_case("true"));
    let ttl = match (proxied, ep.ttl.0) {
        (true, _) | (false, 0) => 1,
        (false, t @ 30..=86_400) | (false, t @ 1) => t,
        (false, t) => return Err(format!("TTL {t}: Cloudflare takes 1 (automatic) or 30 to 86400 seconds")),
    };
    let mut comment = convert::property(ep, RECORD_COMMENT).unwrap_or(&d.comment).to_owned();
    if comment.chars().count() > d.max_comment {
        tracing::warn!(name = %ep.dns_name, max = d.max_comment, "record comment is too long for the zone's plan; cut");
        comment = comment.chars().take(d.max_comment).collect();
    }
    let tags = convert::property(ep, TAGS).map(convert::parse_tags).unwrap_or_default();
    Ok(RecordBody {
        id: None,
        name: ep.dns_name.as_str().to_owned(),
        rtype: ep.record_type.as_str().to_owned(),
        content,
        data,
        priority: if ep.record_type == RecordType::MX { priority } else { None },
        ttl,
        proxied,
        comment,
        tags,
    })
}

fn group_key(ep: &Endpoint) -> String {
    ep.labels.get(label::OWNED_RECORD).map_or_else(|| ep.dns_name.as_str().to_owned(), |o| o.to_ascii_lowercase())
}

/// Turns a zone's creates, updates (old, new) and deletes into groups of operations, against
/// the zone's records as last read.
pub fn plan_zone<'a>(
    creates: &[&'a Endpoint],
    updates: &[(&'a Endpoint, &'a Endpoint)],
    deletes: &[&'a Endpoint],
    existing: &ZoneRecords,
    d: &WriteDefaults,
) -> (Vec<Group<'a>>, Vec<Unwritable<'a>>) {
    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut unwritable = Vec::new();
    let mut add = |ep: &'a Endpoint, ops: Vec<Op>| {
        let key = group_key(ep);
        let i = *index.entry(key.clone()).or_insert_with(|| {
            groups.push(Group { key, ops: Vec::new(), sources: Vec::new() });
            groups.len() - 1
        });
        groups[i].ops.extend(ops);
        groups[i].sources.push(ep);
    };
    let find = |ep: &Endpoint, target: &str| {
        existing.get(&(ep.dns_name.as_str().to_owned(), ep.record_type, target.to_owned()))
    };
    for &ep in deletes {
        let ops: Vec<Op> = ep.targets.iter().filter_map(|t| find(ep, t)).map(|e| Op::Delete(e.id.clone())).collect();
        if !ops.is_empty() {
            add(ep, ops);
        }
    }
    for &ep in creates {
        match ep.targets.iter().map(|t| body(ep, t, d)).collect::<Result<Vec<_>, _>>() {
            Ok(bodies) => add(ep, bodies.into_iter().map(Op::Post).collect()),
            Err(why) => unwritable.push((ep, why)),
        }
    }
    for &(old, new) in updates {
        let removed: Vec<&str> = old.targets.iter().filter(|t| !new.targets.iter().any(|n| n == *t)).collect();
        let added: Vec<&str> = new.targets.iter().filter(|t| !old.targets.iter().any(|o| o == *t)).collect();
        let kept: Vec<&str> = new.targets.iter().filter(|t| old.targets.iter().any(|o| o == *t)).collect();
        let mut ops = Vec::new();
        let mut failed = None;
        // A TTL the endpoint does not set stays what the record has.
        let keep_ttl = |mut b: RecordBody, e: &Existing| {
            if !new.ttl.is_set() && !b.proxied {
                b.ttl = e.body.ttl;
            }
            b
        };
        for t in &kept {
            match (body(new, t, d), find(old, t)) {
                (Ok(b), Some(e)) if keep_ttl(b.clone(), e) == RecordBody { id: None, ..e.body.clone() } => {}
                (Ok(b), Some(e)) => ops.push(Op::Put(RecordBody { id: Some(e.id.clone()), ..keep_ttl(b, e) })),
                (Ok(b), None) => ops.push(Op::Post(b)),
                (Err(why), _) => failed = Some(why),
            }
        }
        // A changed value is a rewrite of the same record (one operation, the id kept), as long as
        // a removed value is there to take it.
        let mut removed_recs = removed.iter().filter_map(|t| find(old, t));
        for t in &added {
            match (body(new, t, d), removed_recs.next()) {
                (Ok(b), Some(e)) => ops.push(Op::Put(RecordBody { id: Some(e.id.clone()), ..keep_ttl(b, e) })),
                (Ok(b), None) => ops.push(Op::Post(b)),
                (Err(why), _) => failed = Some(why),
            }
        }
        ops.extend(removed_recs.map(|e| Op::Delete(e.id.clone())));
        match failed {
            Some(why) => unwritable.push((new, why)),
            None if !ops.is_empty() => add(new, ops),
            None => {}
        }
    }
    (groups, unwritable)
}

/// Cuts groups (by index) into requests of at most `limit` operations, whole groups together;
/// a group bigger than the limit goes alone, in pieces.
pub fn chunks(groups: &[Group<'_>], limit: usize) -> Vec<Vec<(usize, std::ops::Range<usize>)>> {
    let limit = limit.max(1);
    let mut out: Vec<Vec<(usize, std::ops::Range<usize>)>> = Vec::new();
    let mut current = Vec::new();
    let mut size = 0;
    for (i, g) in groups.iter().enumerate() {
        let n = g.ops.len();
        if n > limit {
            for start in (0..n).step_by(limit) {
                out.push(vec![(i, start..(start + limit).min(n))]);
            }
            continue;
        }
        if size + n > limit {
            out.push(std::mem::take(&mut current));
            size = 0;
        }
        current.push((i, 0..n));
        size += n;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The batch request body of a chunk.
pub fn batch_body<'a>(groups: &'a [Group<'_>], chunk: &[(usize, std::ops::Range<usize>)]) -> BatchBody<'a> {
    let mut b = BatchBody::default();
    for (g, range) in chunk {
        for op in &groups[*g].ops[range.clone()] {
            match op {
                Op::Delete(id) => b.deletes.push(IdOnly { id }),
                Op::Put(r) => b.puts.push(r),
                Op::Post(r) => b.posts.push(r),
            }
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(name: &str, rt: RecordType, targets: &[&str]) -> Endpoint {
        Endpoint::parse(name, rt, targets).unwrap()
    }

    fn defaults() -> WriteDefaults {
        WriteDefaults { proxied: false, comment: String::new(), max_comment: 100 }
    }

    fn existing(records: &[(&str, RecordType, &str, &str)]) -> ZoneRecords {
        records
            .iter()
            .map(|(n, rt, t, id)| {
                let e = ep(n, *rt, &[t]);
                (
                    (n.to_string(), *rt, t.to_string()),
                    Existing { id: id.to_string(), body: body(&e, t, &defaults()).unwrap() },
                )
            })
            .collect()
    }

    #[test]
    fn a_proxied_flip_is_one_put_and_a_new_value_rewrites_the_old_record() {
        let cur = existing(&[("a.example.org", RecordType::A, "192.0.2.1", "id1")]);
        let old = ep("a.example.org", RecordType::A, &["192.0.2.1"]);
        let flipped = old.clone().with_property(PROXIED, "true");
        let (groups, bad) = plan_zone(&[], &[(&old, &flipped)], &[], &cur, &defaults());
        assert!(bad.is_empty());
        assert_eq!(groups.len(), 1);
        let [Op::Put(b)] = &groups[0].ops[..] else { panic!("one put: {:?}", groups[0].ops) };
        assert_eq!((b.id.as_deref(), b.proxied, b.ttl), (Some("id1"), true, 1));

        let moved = ep("a.example.org", RecordType::A, &["192.0.2.9"]);
        let (groups, _) = plan_zone(&[], &[(&old, &moved)], &[], &cur, &defaults());
        let [Op::Put(b)] = &groups[0].ops[..] else { panic!("one put: {:?}", groups[0].ops) };
        assert_eq!((b.id.as_deref(), b.content.as_deref()), (Some("id1"), Some("192.0.2.9")));

        let unchanged = old.clone();
        let (groups, _) = plan_zone(&[], &[(&old, &unchanged)], &[], &cur, &defaults());
        assert!(groups.is_empty(), "nothing to send");
    }

    #[test]
    fn record_and_its_txt_share_a_group_and_groups_stay_whole_in_chunks() {
        let a = ep("web.example.org", RecordType::A, &["192.0.2.1"]);
        let txt = ep("a-web.example.org", RecordType::TXT, &["\"heritage=external-dns\""])
            .with_label(label::OWNED_RECORD, "web.example.org");
        let b = ep("b.example.org", RecordType::A, &["192.0.2.2", "192.0.2.3"]);
        let (groups, _) = plan_zone(&[&a, &txt, &b], &[], &[], &ZoneRecords::new(), &defaults());
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].ops.len(), 2, "A and its TXT");
        let cut = chunks(&groups, 3);
        assert_eq!(cut.len(), 2, "2 + 2 operations do not fit in 3: two requests, groups whole");
        assert_eq!(cut[0], vec![(0, 0..2)]);
        let big = chunks(&groups, 1);
        assert_eq!(big.len(), 4);
    }

    #[test]
    fn proxied_only_where_cloudflare_can_proxy_and_ttl_one_then() {
        let d = WriteDefaults { proxied: true, ..defaults() };
        let txt = ep("t.example.org", RecordType::TXT, &["\"x\""]).with_ttl(exodns_core::Ttl(300));
        assert!(!body(&txt, "\"x\"", &d).unwrap().proxied);
        let a = ep("a.example.org", RecordType::A, &["192.0.2.1"]).with_ttl(exodns_core::Ttl(300));
        let b = body(&a, "192.0.2.1", &d).unwrap();
        assert_eq!((b.proxied, b.ttl), (true, 1));
        let off = a.clone().with_property("external-dns.alpha.kubernetes.io/cloudflare-proxied", "false");
        assert_eq!(body(&off, "192.0.2.1", &d).unwrap().ttl, 300);
        let short = ep("a.example.org", RecordType::A, &["192.0.2.1"]).with_ttl(exodns_core::Ttl(5));
        assert!(body(&short, "192.0.2.1", &defaults()).unwrap_err().contains("30 to 86400"));
    }
}
