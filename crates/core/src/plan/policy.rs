//! `--policy`: which kinds of change a plan may keep.

use std::fmt;
use std::str::FromStr;

/// Upstream's `--policy` values. Upstream v0.22 has no default; [`super::PlanOptions`] uses
/// `Sync` only for its own `Default`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Create, update and delete.
    Sync,
    /// Create and update; never delete.
    UpsertOnly,
    /// Create only.
    CreateOnly,
}

impl Policy {
    pub const ALL: &'static [Policy] = &[Policy::Sync, Policy::UpsertOnly, Policy::CreateOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Sync => "sync",
            Policy::UpsertOnly => "upsert-only",
            Policy::CreateOnly => "create-only",
        }
    }

    pub fn allows_updates(self) -> bool {
        self != Policy::CreateOnly
    }

    pub fn allows_deletes(self) -> bool {
        self == Policy::Sync
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {0:?}; --policy takes sync, upsert-only or create-only")]
pub struct UnknownPolicy(pub String);

impl FromStr for Policy {
    type Err = UnknownPolicy;

    /// Exact spelling, as upstream's flag parser wants it (`Sync` or `upsert_only` are refused,
    /// so a config that works here also works with upstream).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::ALL.iter().copied().find(|p| p.as_str() == s).ok_or_else(|| UnknownPolicy(s.to_owned()))
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_others() {
        for p in Policy::ALL {
            assert_eq!(p.to_string().parse::<Policy>(), Ok(*p));
        }
        let err = "upsert_only".parse::<Policy>().unwrap_err();
        assert_eq!(err, UnknownPolicy("upsert_only".into()));
        assert!(err.to_string().contains("sync, upsert-only or create-only"), "{err}");
        assert!("Sync".parse::<Policy>().is_err());
        assert!("".parse::<Policy>().is_err());
    }

    #[test]
    fn what_each_policy_keeps() {
        assert!(Policy::Sync.allows_updates() && Policy::Sync.allows_deletes());
        assert!(Policy::UpsertOnly.allows_updates() && !Policy::UpsertOnly.allows_deletes());
        assert!(!Policy::CreateOnly.allows_updates() && !Policy::CreateOnly.allows_deletes());
    }
}
