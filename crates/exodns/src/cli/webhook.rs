//! `exodns webhook`'s own arguments. The flags of the webhook protocol (client and server) are the
//! webhook crate's, flattened with the other providers' flags.

use clap::Args;

/// `exodns webhook`: serve --provider to ExternalDNS over the webhook protocol.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {}
