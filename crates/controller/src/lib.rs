//! The sync: desired endpoints in, the provider's records read, ownership decoded, a plan made
//! and applied.
#![forbid(unsafe_code)]

mod sync;

pub use sync::{Protected, SyncError, SyncReport, Syncer};
