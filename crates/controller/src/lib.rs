//! The sync loop: desired endpoints in, the provider's records read, ownership decoded, a plan
//! made and applied — once, or event by event.
#![forbid(unsafe_code)]

mod metered;
mod run;
mod source;
mod state;
mod status;
mod sync;

pub use metered::MeteredProvider;
pub use run::{Controller, RunError, Settings};
pub use source::{ObjectEndpoints, ObjectNote, ObjectSource, SourceEvent, SourceHealth};
pub use status::{Status, StatusHandle};
pub use sync::{Protected, SyncError, SyncReport, Syncer, WriteGate};
