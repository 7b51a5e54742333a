//! Entries that say nothing new when repeated: the same session opening the same
//! conversation again, or fetching the same device's state key again, within minutes.
//! The first is recorded; repeats within the window are answered but not recorded, so a
//! client calling in a loop cannot fill a log kept for six years.
//!
//! Kept in memory: a restart costs at most one more entry per key. Bounded: when the
//! map is full of keys still inside their window, a new key is recorded every time
//! rather than remembered, so the bound can only ever add entries, never lose one.

use std::collections::HashMap;
use std::sync::Mutex;

/// How long a recorded key stays quiet.
pub const WINDOW_SECS: i64 = 10 * 60;
/// Most keys remembered at once (each about a hundred bytes).
const MAX_KEYS: usize = 50_000;

/// What is repeated: a session (its token's hash) and what it did to what.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    session: Vec<u8>,
    what: String,
}

impl Key {
    /// `what` names the action and its target, e.g. `opened conversation:<id>`.
    pub fn new(session: &[u8], what: String) -> Self {
        Self {
            session: session.to_vec(),
            what,
        }
    }
}

/// Proof that a key was taken as recorded at a time: give it back with
/// [`Repeats::forget`] if the entry was not written after all.
#[derive(Debug)]
#[must_use]
pub struct Taken {
    key: Key,
    at: i64,
}

pub struct Repeats {
    window: i64,
    max: usize,
    seen: Mutex<HashMap<Key, i64>>,
}

impl Default for Repeats {
    fn default() -> Self {
        Self::new(WINDOW_SECS, MAX_KEYS)
    }
}

impl Repeats {
    pub fn new(window_secs: i64, max_keys: usize) -> Self {
        Self {
            window: window_secs.max(1),
            max: max_keys.max(1),
            seen: Mutex::default(),
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<Key, i64>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether an entry for `key` is to be written as of `now` (Unix seconds): `None`
    /// when one was recorded within the window. A `Some` counts as recorded from now on.
    pub fn first(&self, key: Key, now: i64) -> Option<Taken> {
        let mut seen = self.seen();
        if let Some(at) = seen.get(&key)
            && now.saturating_sub(*at) < self.window
        {
            return None;
        }
        if seen.len() >= self.max && !seen.contains_key(&key) {
            let window = self.window;
            seen.retain(|_, at| now.saturating_sub(*at) < window);
            if seen.len() >= self.max {
                // Full of fresh keys: record this one, without remembering it.
                return Some(Taken { key, at: now });
            }
        }
        seen.insert(key.clone(), now);
        Some(Taken { key, at: now })
    }

    /// The entry `taken` stood for was not written (its transaction failed): the next
    /// call for its key records again.
    pub fn forget(&self, taken: Taken) {
        let mut seen = self.seen();
        if seen.get(&taken.key) == Some(&taken.at) {
            seen.remove(&taken.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(what: &str) -> Key {
        Key::new(b"session", what.to_owned())
    }

    #[test]
    fn a_repeat_within_the_window_is_not_recorded_and_one_after_it_is() {
        let repeats = Repeats::new(600, 10);
        assert!(repeats.first(key("a"), 1000).is_some());
        assert!(repeats.first(key("a"), 1599).is_none());
        assert!(repeats.first(key("b"), 1599).is_some(), "another key");
        assert!(
            repeats
                .first(Key::new(b"other", "a".to_owned()), 1599)
                .is_some(),
            "another session"
        );
        assert!(repeats.first(key("a"), 1600).is_some());
    }

    #[test]
    fn a_forgotten_entry_is_recorded_again() {
        let repeats = Repeats::new(600, 10);
        let taken = repeats.first(key("a"), 1000).unwrap();
        repeats.forget(taken);
        assert!(repeats.first(key("a"), 1001).is_some());
    }

    #[test]
    fn when_full_of_fresh_keys_new_ones_are_always_recorded() {
        let repeats = Repeats::new(600, 2);
        assert!(repeats.first(key("a"), 1000).is_some());
        assert!(repeats.first(key("b"), 1000).is_some());
        assert!(repeats.first(key("c"), 1000).is_some());
        assert!(repeats.first(key("c"), 1001).is_some(), "not remembered");
        assert!(repeats.first(key("a"), 1001).is_none(), "still remembered");
        // Once the old keys' window has passed, room is made again.
        assert!(repeats.first(key("c"), 1700).is_some());
        assert!(repeats.first(key("c"), 1701).is_none());
    }
}
