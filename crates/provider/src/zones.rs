//! Finding the zone a name belongs to (the index lives in the core, which the registry shares).

pub use exodns_core::zones::ZoneIndex;
