//! Failover records: a policy and its members rendered as a PowerDNS LUA record.
//!
//! | placement | record |
//! |---|---|
//! | single-region | plain A/AAAA of every member |
//! | active-active, http(s) | `ifurlup('url', {addrs}, {selector=…, timeout=N[, stringmatch='…']})` |
//! | active-active, tcp | `ifportup(port, {addrs}, {selector=…, timeout=N})` |
//! | active-hotstandby (http(s) only) | `ifurlup('url', {{tier 1}, {tier 2}, …}, {…})`, a tier per region |
//! | weighted | `pickwrandom({{w, 'addr'}, …})` (PowerDNS 4.7 does not health-check it) |
//!
//! [`policy`] holds the checked values (every constructor names the field it refuses), and
//! [`render()`] turns them into content that PowerDNS compiles: nothing outside a closed grammar
//! is printed. Pure: no I/O.

pub mod policy;
pub mod pool;
mod render;

pub use policy::{
    Family, HealthCheck, Member, Placement, Policy, Port, Protocol, Region, Selector, StringMatch, Timeout, UrlPath,
    Weight,
};
pub use render::{MAX_SEGMENT, Rendered, lua_code, render};

#[cfg(test)]
mod tests;
