//! A registry whose ownership lives in a store (`--registry=crd`/`dynamodb`), against the
//! in-memory provider and a store in memory: claims before the provider, releases after, a
//! refused claim drops its create, an unreadable store stops the sync before anything is planned.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use exodns_controller::{SyncError, Syncer, TableStore};
use exodns_core::endpoint::EndpointKey;
use exodns_core::plan::PlanOptions;
use exodns_core::registry::{OwnershipTable, TableRegistry, TableWrite};
use exodns_core::{Endpoint, Labels, RecordType};
use exodns_provider::inmemory::InMemoryProvider;
use exodns_provider::store::Outcome;
use exodns_provider::{Loaded, OwnershipStore, Provider, ProviderError, Refused};

#[derive(Default)]
struct MemStore {
    /// key → owner.
    entries: Mutex<Vec<(EndpointKey, String)>>,
    fail_load: Mutex<bool>,
    writes: Mutex<usize>,
}

#[async_trait]
impl OwnershipStore for MemStore {
    fn describe(&self) -> String {
        "memory".into()
    }
    async fn load(&self) -> Result<Loaded, ProviderError> {
        if *self.fail_load.lock().unwrap() {
            return Err(ProviderError::transient("mem", "cannot read"));
        }
        let mut table = OwnershipTable::new();
        for (k, o) in self.entries.lock().unwrap().iter() {
            match o.as_str() {
                "me" => table.insert(k.clone(), Labels::from([("owner".to_owned(), o.clone())])),
                _ => table.insert_foreign(k.clone(), o.clone()),
            }
        }
        Ok(Loaded { table, invalid: vec![] })
    }
    async fn prepare(&self, writes: &[TableWrite]) -> Result<Vec<Refused>, ProviderError> {
        let mut refused = Vec::new();
        let mut entries = self.entries.lock().unwrap();
        for w in writes {
            let key = w.key();
            match entries.iter().find(|(k, _)| *k == key) {
                Some((_, o)) if o != "me" => refused.push(Refused { key, owner: o.clone() }),
                Some(_) => {}
                None => {
                    *self.writes.lock().unwrap() += 1;
                    entries.push((key, "me".into()));
                }
            }
        }
        Ok(refused)
    }
    async fn finish(&self, outcome: &Outcome) -> Result<(), ProviderError> {
        let mut entries = self.entries.lock().unwrap();
        *self.writes.lock().unwrap() += outcome.releases.len();
        entries.retain(|(k, _)| !outcome.releases.contains(k));
        Ok(())
    }
}

fn a(name: &str, ip: &str) -> Endpoint {
    Endpoint::parse(name, RecordType::A, &[ip]).unwrap()
}

fn setup(records: Vec<Endpoint>) -> (Arc<InMemoryProvider>, Arc<MemStore>, Syncer) {
    let provider = Arc::new(InMemoryProvider::new(&["example.org".into()]).with_records(records));
    let store = Arc::new(MemStore::default());
    let registry = Arc::new(TableRegistry::new("me").unwrap());
    let options = PlanOptions { owner_id: "me".into(), ..PlanOptions::default() };
    let syncer = Syncer::new(provider.clone(), registry.clone(), options)
        .with_table_store(TableStore { registry, store: store.clone() });
    (provider, store, syncer)
}

fn names(p: &InMemoryProvider) -> Vec<String> {
    let mut n: Vec<String> = p.dump().iter().map(|e| e.dns_name.to_string()).collect();
    n.sort();
    n
}

#[tokio::test]
async fn claims_releases_conflicts_and_a_store_that_cannot_be_read() {
    let (provider, store, syncer) = setup(vec![a("hand.example.org", "192.0.2.9")]);
    store.entries.lock().unwrap().push((a("taken.example.org", "192.0.2.1").key(), "other".into()));
    // An entry of ours whose record is gone: released.
    store.entries.lock().unwrap().push((a("gone.example.org", "192.0.2.1").key(), "me".into()));
    let desired = vec![
        a("web.example.org", "192.0.2.1"),
        a("hand.example.org", "192.0.2.2"),
        a("taken.example.org", "192.0.2.3"),
    ];
    let report = syncer.sync_once(desired.clone()).await.unwrap();
    assert_eq!(names(&provider), ["hand.example.org", "web.example.org"]);
    assert_eq!(
        provider.dump().iter().find(|e| e.dns_name.as_str() == "hand.example.org").unwrap().targets,
        ["192.0.2.9"]
    );
    assert!(report.conflicts.iter().any(|c| c.dns_name.as_str() == "taken.example.org" && c.foreign_owner == "other"));
    let keys: Vec<String> = store.entries.lock().unwrap().iter().map(|(k, _)| k.dns_name.to_string()).collect();
    assert_eq!(keys, ["taken.example.org", "web.example.org"]);

    // Nothing to do: nothing written.
    let writes = *store.writes.lock().unwrap();
    let report = syncer.sync_once(desired).await.unwrap();
    assert!(!report.applied && *store.writes.lock().unwrap() == writes);

    // The store cannot be read: nothing planned, nothing deleted.
    *store.fail_load.lock().unwrap() = true;
    let err = syncer.sync_once(vec![]).await.unwrap_err();
    assert!(matches!(err, SyncError::Registry(_)) && err.is_transient(), "{err}");
    assert_eq!(names(&provider), ["hand.example.org", "web.example.org"]);

    // Readable again: web is ours and goes, with its entry; the hand-made record stays.
    *store.fail_load.lock().unwrap() = false;
    syncer.sync_once(vec![]).await.unwrap();
    assert_eq!(names(&provider), ["hand.example.org"]);
    assert_eq!(store.entries.lock().unwrap().len(), 1);
    let _ = provider.records().await.unwrap();
}
