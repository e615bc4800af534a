//! What a connector source server sends (`exodns_sources::connector`): the gob decoder must not
//! panic or allocate far beyond its input, and what it decodes is checked as endpoints without
//! panicking either.
#![no_main]

use exodns_core::ObjectRef;
use exodns_sources::SourceConfig;
use exodns_sources::connector::{endpoints, gob};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = gob::decode_endpoints(&mut &data[..]) {
        let _ = endpoints(&entries, &ObjectRef::cluster("connector", "fuzz"), &SourceConfig::default());
    }
});
