//! Finding the zone a name belongs to (the index lives in the core, which the registry shares).

pub use exodns_core::zones::ZoneIndex;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// What a provider last listed (its zones), with when: read by every plan and apply, replaced
/// by the next listing.
#[derive(Debug)]
pub struct Listed<T> {
    slot: RwLock<Option<(Instant, Arc<T>)>>,
}

impl<T> Default for Listed<T> {
    fn default() -> Self {
        Listed { slot: RwLock::new(None) }
    }
}

impl<T> Listed<T> {
    /// The last listing, however old.
    pub fn get(&self) -> Option<Arc<T>> {
        self.read().as_ref().map(|(_, v)| v.clone())
    }

    /// The last listing if it is younger than `max_age`.
    pub fn get_within(&self, max_age: Duration) -> Option<Arc<T>> {
        self.read().as_ref().filter(|(at, _)| at.elapsed() < max_age).map(|(_, v)| v.clone())
    }

    /// Keeps a new listing and returns it.
    pub fn put(&self, value: T) -> Arc<T> {
        let value = Arc::new(value);
        *self.slot.write().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), value.clone()));
        value
    }

    /// Forgets the listing: the next caller lists again.
    pub fn forget(&self) {
        *self.slot.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<(Instant, Arc<T>)>> {
        // A panic while holding the lock left a whole value behind: keep using it.
        self.slot.read().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_keeps_the_last_value_and_its_age() {
        let l: Listed<u32> = Listed::default();
        assert!(l.get().is_none());
        assert_eq!(*l.put(7), 7);
        assert_eq!(l.get().as_deref(), Some(&7));
        assert_eq!(l.get_within(Duration::from_secs(60)).as_deref(), Some(&7));
        assert!(l.get_within(Duration::ZERO).is_none(), "a zero age accepts nothing");
        l.forget();
        assert!(l.get().is_none());
    }
}
