//! Failed sign-in attempts, limited per account and per address. The key for an account
//! is the address typed, whether or not such an account exists, so the limiter answers
//! the same for unknown and known users.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

/// Failures are forgotten after this long.
pub const WINDOW_SECS: i64 = 15 * 60;
pub const PER_ACCOUNT: usize = 5;
pub const PER_ADDRESS: usize = 20;
/// Past this many keys, expired ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Default)]
pub struct Limiter {
    failures: Mutex<HashMap<String, VecDeque<i64>>>,
}

fn address_key(ip: IpAddr) -> String {
    format!("ip:{ip}")
}

impl Limiter {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<i64>>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn recent(map: &mut HashMap<String, VecDeque<i64>>, key: &str, now: i64) -> usize {
        match map.get_mut(key) {
            Some(times) => {
                while times.front().is_some_and(|t| now - t >= WINDOW_SECS) {
                    times.pop_front();
                }
                times.len()
            }
            None => 0,
        }
    }

    /// May another attempt be made for `account` from `ip`?
    pub fn allows(&self, account: &str, ip: IpAddr, now: i64) -> bool {
        let mut map = self.map();
        Self::recent(&mut map, account, now) < PER_ACCOUNT
            && Self::recent(&mut map, &address_key(ip), now) < PER_ADDRESS
    }

    pub fn failed(&self, account: &str, ip: IpAddr, now: i64) {
        let mut map = self.map();
        if map.len() > SWEEP_AT {
            map.retain(|_, times| times.back().is_some_and(|t| now - t < WINDOW_SECS));
        }
        for key in [account.to_owned(), address_key(ip)] {
            map.entry(key).or_default().push_back(now);
        }
    }

    /// A success forgets the account's failures (not the address's).
    pub fn succeeded(&self, account: &str) {
        self.map().remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_account_and_per_address_and_forgets() {
        let limiter = Limiter::default();
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..PER_ACCOUNT {
            assert!(limiter.allows("a", ip, 0));
            limiter.failed("a", ip, 0);
        }
        assert!(!limiter.allows("a", ip, 1));
        assert!(limiter.allows("a", ip, WINDOW_SECS));
        let other: IpAddr = [10, 0, 0, 2].into();
        for i in 0..PER_ADDRESS {
            limiter.failed(&format!("user{i}"), other, 0);
        }
        assert!(!limiter.allows("fresh", other, 1));
        limiter.succeeded("a");
        assert!(limiter.allows("a", ip, 1));
    }
}
