//! Entry point of the cargo-fuzz target `fuzz/fuzz_targets/txt_zone.rs`: whatever a provider
//! lists, reading it through the TXT registry (plain, with a prefix template and wildcard
//! replacement, and encrypted) and applying changes on top must not panic.

use crate::changes::Changes;
use crate::endpoint::Endpoint;
use crate::record_type::RecordType;

use super::{AesKey, Registry, TxtConfig, TxtRegistry, labels};

/// `data` as zone lines `<name> <type> <target>`; lines that make no endpoint are skipped, as a
/// provider's listing skips (and reports) records it cannot read.
pub fn zone(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let raw: Vec<Endpoint> = text.lines().filter_map(endpoint).collect();
    let key = AesKey::parse("passphrasewhichneedstobe32bytes!").expect("a 32-byte key");

    for registry in registries(&key) {
        let owned = registry.records(raw.clone());
        assert!(owned.endpoints.len() <= raw.len(), "the registry made records up");
        for ep in &owned.endpoints {
            let _ = registry.ownership_names(ep);
        }
        // Re-create, update to itself, and delete everything it read, in one batch.
        let changes = Changes {
            create: owned.endpoints.clone(),
            update_old: owned.endpoints.clone(),
            update_new: owned.endpoints.clone(),
            delete: owned.endpoints.clone(),
        };
        let applied = registry.apply(changes, &owned);
        assert_eq!(applied.changes.update_old.len(), applied.changes.update_new.len());
    }
    for line in text.lines() {
        let _ = labels::decode(line, None);
        let _ = labels::decode(line, Some(&key));
    }
}

fn endpoint(line: &str) -> Option<Endpoint> {
    let mut parts = line.splitn(3, ' ');
    let (name, rt, target) = (parts.next()?, parts.next()?, parts.next()?);
    let rt: RecordType = rt.parse().ok()?;
    Endpoint::parse(name, rt, &[target]).ok()
}

fn registries(key: &AesKey) -> Vec<TxtRegistry> {
    let plain = TxtConfig { owner_id: "fuzz".into(), ..TxtConfig::default() };
    let templated = TxtConfig {
        prefix: "txt-%{record_type}.".into(),
        wildcard_replacement: "wild".into(),
        old_owner_id: "old".into(),
        ..plain.clone()
    };
    let encrypted = TxtConfig {
        encrypt: true,
        encryption_key: Some(key.clone()),
        suffix: "-%{record_type}".into(),
        ..plain.clone()
    };
    [plain, templated, encrypted].into_iter().map(|c| TxtRegistry::new(c).expect("a valid registry config")).collect()
}

#[cfg(test)]
mod tests {
    /// The fuzz entry point over a zone an upstream registry could have written, and over junk.
    #[test]
    fn reads_zones_without_panicking() {
        super::zone(
            b"web.example.org A 192.0.2.1\n\
              a-web.example.org TXT \"heritage=external-dns,external-dns/owner=fuzz,external-dns/resource=service/default/web\"\n\
              *.example.org CNAME lb.example.net\n\
              txt-cname.wild.example.org TXT \"heritage=external-dns,external-dns/owner=old\"\n\
              junk\n\
              x.example.org TXT \"heritage=external-dns,external-dns/owner\"\n",
        );
        super::zone(&[0xff, b'\n', b' ', b'A']);
    }
}
