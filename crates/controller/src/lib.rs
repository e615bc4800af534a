//! The sync loop: desired endpoints in, the provider's records read, ownership decoded, a plan
//! made and applied — once, or event by event.

pub mod budget;
mod metered;
mod pending;
mod record_events;
mod run;
mod state;
mod status;
mod sync;
mod synced;

pub use metered::MeteredProvider;
pub use run::{Controller, RunError, Settings};
pub use status::{Status, StatusHandle};
pub use sync::{Pools, SyncError, SyncReport, Syncer, TableStore, WriteGate};
pub use synced::until_synced;
