//! A zone listing read through the TXT registry (plain, templated, encrypted), then changes
//! applied on top: nothing may panic (`exodns_core::registry::fuzzing::zone`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    exodns_core::registry::fuzzing::zone(data);
});
