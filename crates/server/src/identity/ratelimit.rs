//! Sign-in attempts, limited per account, per address and per known device.
//!
//! An attempt is *reserved* before its password or code is checked, under one lock, so
//! however many requests arrive at once, at most the allowed number of checks run per
//! window. A success gives its reservation back. The key for an account is the address
//! typed, whether or not such an account exists, so unknown and known users are limited
//! alike. IPv6 clients are limited per /64, the block one subscriber controls.
//!
//! Lock-out: anyone can spend an account's budget with wrong passwords. A browser that
//! signed in to the account before holds a device credential (see `devices.rs`); an
//! attempt carrying a valid one draws on that device's own budget instead of the
//! account's and the address's, so the real person still gets in while the guesser stays
//! limited.
//!
//! Attempts refused by the limit cost no durable write: they are counted here, and the
//! count is recorded once when its window closes (`take_closed`), so the audit log shows
//! the attack and its size without a flood of entries.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use haven_protocol::identity::Id;

/// Failures are forgotten after this long (the default; tests shorten it).
pub const WINDOW_SECS: i64 = 15 * 60;
pub const PER_ACCOUNT: usize = 5;
pub const PER_ADDRESS: usize = 20;
/// Attempts per window from a browser that signed in to the account before.
pub const PER_DEVICE: usize = 5;
/// Past this many keys, expired ones are swept.
const SWEEP_AT: usize = 10_000;
/// Past this many refusal tallies, new ones are counted together in one.
const MAX_TALLIES: usize = 10_000;

/// What an attempt is limited by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// An account as typed, within an organisation (`org:email`), or a second-factor
    /// check (`totp:user`).
    Account(String),
    /// A client address: IPv4 exactly, IPv6 by its /64.
    Address(IpAddr),
    /// A device credential (the first bytes of its hash).
    Device(Vec<u8>),
    /// Everything refused once the tallies are full.
    Overflow,
}

/// The address a limit applies to: IPv6 by /64 (IPv4-mapped addresses as IPv4).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                for s in &mut segments[4..] {
                    *s = 0;
                }
                IpAddr::V6(segments.into())
            }
        },
    }
}

/// Who made the attempts a tally counts, for its audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub org: Id,
    /// The account's user, when the account exists.
    pub user: Option<Id>,
    pub source: IpAddr,
}

/// Attempts refused by the limit within one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub key: Key,
    pub subject: Subject,
    pub first: i64,
    pub last: i64,
    pub count: u64,
}

/// A reserved attempt: give it back with [`Limiter::succeeded`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    keys: Vec<Key>,
    at: i64,
}

#[derive(Default)]
struct Inner {
    attempts: HashMap<Key, VecDeque<i64>>,
    tallies: HashMap<Key, Tally>,
    /// Sweep expired keys when there are more than this many: twice what the last sweep
    /// left, so a sweep's cost is spread over as many attempts as it examines.
    sweep_at: usize,
}

pub struct Limiter {
    window: i64,
    inner: Mutex<Inner>,
}

impl Default for Limiter {
    fn default() -> Self {
        Self::new(WINDOW_SECS)
    }
}

impl Limiter {
    pub fn new(window_secs: i64) -> Self {
        Self {
            window: window_secs.max(1),
            inner: Mutex::default(),
        }
    }

    pub fn window_secs(&self) -> i64 {
        self.window
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn recent(&self, inner: &mut Inner, key: &Key, now: i64) -> usize {
        match inner.attempts.get_mut(key) {
            Some(times) => {
                while times.front().is_some_and(|t| now - t >= self.window) {
                    times.pop_front();
                }
                times.len()
            }
            None => 0,
        }
    }

    /// Reserves one attempt, or counts a refusal. With a `device` (a credential already
    /// checked to belong to this account) only that device's budget applies.
    pub fn reserve(
        &self,
        account: &str,
        ip: IpAddr,
        device: Option<&[u8]>,
        subject: impl FnOnce() -> Subject,
        now: i64,
    ) -> Option<Reservation> {
        let limits: Vec<(Key, usize)> = match device {
            Some(device) => vec![(Key::Device(device.to_vec()), PER_DEVICE)],
            None => vec![
                (Key::Account(account.to_owned()), PER_ACCOUNT),
                (Key::Address(address_key(ip)), PER_ADDRESS),
            ],
        };
        let mut inner = self.inner();
        if inner.attempts.len() > inner.sweep_at.max(SWEEP_AT) {
            let window = self.window;
            inner
                .attempts
                .retain(|_, times| times.back().is_some_and(|t| now - t < window));
            inner.sweep_at = 2 * inner.attempts.len();
        }
        let refused_by = limits
            .iter()
            .find(|(key, limit)| self.recent(&mut inner, key, now) >= *limit)
            .map(|(key, _)| key.clone());
        if let Some(key) = refused_by {
            let full = inner.tallies.len() >= MAX_TALLIES && !inner.tallies.contains_key(&key);
            let key = if full { Key::Overflow } else { key };
            let tally = inner.tallies.entry(key.clone()).or_insert_with(|| Tally {
                key,
                subject: subject(),
                first: now,
                last: now,
                count: 0,
            });
            tally.last = now;
            tally.count += 1;
            return None;
        }
        for (key, _) in &limits {
            inner
                .attempts
                .entry(key.clone())
                .or_default()
                .push_back(now);
        }
        Some(Reservation {
            keys: limits.into_iter().map(|(k, _)| k).collect(),
            at: now,
        })
    }

    /// The attempt succeeded: its reservation is given back, and the account's (or the
    /// device's) earlier failures are forgotten. The address keeps its other failures.
    pub fn succeeded(&self, reservation: Reservation) {
        let mut inner = self.inner();
        for key in reservation.keys {
            match key {
                Key::Address(_) => {
                    if let Some(times) = inner.attempts.get_mut(&key)
                        && let Some(pos) = times.iter().rposition(|t| *t == reservation.at)
                    {
                        times.remove(pos);
                    }
                }
                _ => {
                    inner.attempts.remove(&key);
                }
            }
        }
    }

    /// Refusal tallies whose window has closed, removed from the limiter: each becomes
    /// one audit entry.
    pub fn take_closed(&self, now: i64) -> Vec<Tally> {
        let window = self.window;
        let mut inner = self.inner();
        let closed: Vec<Key> = inner
            .tallies
            .iter()
            .filter(|(_, t)| now - t.first >= window)
            .map(|(k, _)| k.clone())
            .collect();
        closed
            .into_iter()
            .filter_map(|k| inner.tallies.remove(&k))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject {
        Subject {
            org: Id::from_bytes([1; 16]),
            user: None,
            source: [10, 0, 0, 1].into(),
        }
    }

    #[test]
    fn limits_per_account_and_per_address_and_forgets() {
        let limiter = Limiter::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..PER_ACCOUNT {
            assert!(limiter.reserve("a", ip, None, subject, 0).is_some());
        }
        assert!(limiter.reserve("a", ip, None, subject, 1).is_none());
        assert!(
            limiter
                .reserve("a", ip, None, subject, WINDOW_SECS)
                .is_some()
        );
        let other: IpAddr = [10, 0, 0, 2].into();
        for i in 0..PER_ADDRESS {
            assert!(
                limiter
                    .reserve(&format!("user{i}"), other, None, subject, 0)
                    .is_some()
            );
        }
        assert!(limiter.reserve("fresh", other, None, subject, 1).is_none());
    }

    #[test]
    fn a_success_gives_its_reservation_back() {
        let limiter = Limiter::default();
        let ip: IpAddr = [10, 0, 0, 3].into();
        // Many people behind one address signing in successfully never lock it.
        for i in 0..3 * PER_ADDRESS {
            let r = limiter
                .reserve(&format!("user{i}"), ip, None, subject, 5)
                .unwrap();
            limiter.succeeded(r);
        }
        assert!(limiter.reserve("next", ip, None, subject, 5).is_some());
    }

    #[test]
    fn ipv6_is_limited_per_slash_64() {
        let limiter = Limiter::default();
        for i in 0..PER_ADDRESS {
            let ip: IpAddr = format!("2001:db8:1:2::{:x}", i + 1).parse().unwrap();
            assert!(
                limiter
                    .reserve(&format!("u{i}"), ip, None, subject, 0)
                    .is_some()
            );
        }
        let same_64: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        assert!(limiter.reserve("x", same_64, None, subject, 0).is_none());
        let next_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limiter.reserve("x", next_64, None, subject, 0).is_some());
        let mapped: IpAddr = "::ffff:10.9.9.9".parse().unwrap();
        assert_eq!(address_key(mapped), IpAddr::from([10, 9, 9, 9]));
    }

    #[test]
    fn a_known_device_has_its_own_budget() {
        let limiter = Limiter::default();
        let ip: IpAddr = [10, 0, 0, 4].into();
        for _ in 0..PER_ACCOUNT {
            limiter.reserve("victim", ip, None, subject, 0);
        }
        assert!(limiter.reserve("victim", ip, None, subject, 0).is_none());
        let device = [7u8; 8];
        assert!(
            limiter
                .reserve("victim", ip, Some(&device), subject, 0)
                .is_some()
        );
    }

    #[test]
    fn refusals_are_tallied_once_per_window() {
        let limiter = Limiter::new(60);
        let ip: IpAddr = [10, 0, 0, 5].into();
        for _ in 0..PER_ACCOUNT {
            limiter.reserve("a", ip, None, subject, 0);
        }
        for t in 0..1000 {
            assert!(limiter.reserve("a", ip, None, subject, t % 50).is_none());
        }
        assert!(limiter.take_closed(59).is_empty());
        let closed = limiter.take_closed(60);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].count, 1000);
        assert_eq!(closed[0].key, Key::Account("a".into()));
        assert!(limiter.take_closed(1000).is_empty());
    }
}
