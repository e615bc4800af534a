//! Integration tests of exodns against real peers, as one test binary with a module per topic.
//!
//! Peers are started through `scripts/testbed/*.sh` (via `exodns-testbed`). A test whose peer is
//! not installed prints a notice and passes, unless `EXODNS_REQUIRE_PEERS=1` is set: then it
//! fails.

mod ambassador;
mod aws;
mod azure;
mod budget;
mod cloudflare;
mod common;
mod connector;
mod contour;
mod deploy;
mod diff;
mod events;
mod f5;
mod failover;
mod failover_kube;
mod failover_placements;
mod google;
mod hetzner;
mod istio;
mod kube;
mod kube_e2e;
mod lua;
mod malformed;
mod openshift;
mod ops;
mod parity;
mod pdns;
mod registry;
mod rfc2136;
mod switch;
mod traefik;
mod unstructured;
mod webhook;
mod wire;
