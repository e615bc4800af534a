//! `POST /records`, `POST /adjustendpoints` and `GET /records` bodies and the negotiation
//! body: the decoder must not panic, and what it accepts must survive a round trip
//! (`exodns_webhook::wire::fuzzing::endpoints`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    exodns_webhook::wire::fuzzing::endpoints(data);
});
