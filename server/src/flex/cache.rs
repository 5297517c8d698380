//! What every request reads, kept for a moment: apps (with their WebAuthn
//! verifier, built once) and live API keys. A change made through this
//! instance's [`Flex`](super::Flex) takes effect here at once; a change made by
//! another instance (or the CLI) is seen here within `CACHE_TTL_MS`, because an
//! entry is trusted only that long after it was read from the database.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, RwLock},
};

use super::{
    apps::App,
    clock::Millis,
    ids::{ApiKeyId, AppId},
};

/// How long a cached app or API key is trusted: the bound, stated in the
/// README, on how long another instance may go on accepting a revoked key.
pub const CACHE_TTL_MS: Millis = 1_000;

/// Entries beyond this many are dropped when stale (only apps and live keys
/// that exist are cached, so the maps stay as small as the data).
const PRUNE_ABOVE: usize = 4_096;

#[derive(Debug, Default)]
pub(super) struct Cache {
    pub apps: Entries<AppId, Arc<App>>,
    /// Live API keys by the SHA-256 hash of the secret.
    pub keys: Entries<Vec<u8>, (AppId, ApiKeyId)>,
    /// When this instance last wrote each key's `last_used_at`.
    pub key_uses: KeyUses,
}

/// How often a key's `last_used_at` is written, at most (per instance).
pub const KEY_USE_EVERY_MS: Millis = 60_000;

#[derive(Debug, Default)]
pub(super) struct KeyUses(std::sync::Mutex<HashMap<ApiKeyId, Millis>>);

impl KeyUses {
    /// Whether a use of the key at `now` should be written (and notes it if so).
    pub fn due(&self, key: &ApiKeyId, now: Millis) -> bool {
        let Ok(mut uses) = self.0.lock() else {
            return false;
        };
        if uses.len() > PRUNE_ABOVE {
            uses.retain(|_, at| now - *at < KEY_USE_EVERY_MS);
        }
        match uses.get(key) {
            Some(at) if now - *at < KEY_USE_EVERY_MS => false,
            _ => {
                uses.insert(key.clone(), now);
                true
            }
        }
    }
}

#[derive(Debug)]
pub(super) struct Entries<K, V>(RwLock<HashMap<K, (V, Millis)>>);

impl<K, V> Default for Entries<K, V> {
    fn default() -> Self {
        Self(RwLock::default())
    }
}

impl<K: Hash + Eq, V: Clone> Entries<K, V> {
    /// The value, if it was read from the database less than `CACHE_TTL_MS` ago.
    pub fn get(&self, key: &K, now: Millis) -> Option<V> {
        let map = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (value, read_at) = map.get(key)?;
        fresh(*read_at, now).then(|| value.clone())
    }

    pub fn put(&self, key: K, value: V, now: Millis) {
        let mut map = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() >= PRUNE_ABOVE {
            map.retain(|_, (_, read_at)| fresh(*read_at, now));
        }
        map.insert(key, (value, now));
    }

    /// Forgets every entry `stale` picks (a change made through this instance).
    pub fn forget(&self, stale: impl Fn(&K, &V) -> bool) {
        let mut map = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.retain(|key, (value, _)| !stale(key, value));
    }
}

/// Read within the last `CACHE_TTL_MS` (and not in the future: a clock set back
/// makes every entry stale).
fn fresh(read_at: Millis, now: Millis) -> bool {
    (0..CACHE_TTL_MS).contains(&(now - read_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_trusted_for_the_ttl_only() {
        let entries = Entries::<u8, u8>::default();
        entries.put(1, 10, 5_000);
        assert_eq!(entries.get(&1, 5_000), Some(10));
        assert_eq!(entries.get(&1, 5_000 + CACHE_TTL_MS - 1), Some(10));
        assert_eq!(entries.get(&1, 5_000 + CACHE_TTL_MS), None);
        assert_eq!(entries.get(&1, 4_999), None, "a clock set back");
        entries.forget(|key, _| *key == 1);
        assert_eq!(entries.get(&1, 5_000), None);
    }
}
