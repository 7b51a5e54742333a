//! Reconnect delays: exponential with "equal jitter" (half fixed, half random), so that
//! a server restart is not met by every client at the same instant, and a client never
//! hammers a server that is down.

/// First retry after about this long.
pub const BASE_MS: u32 = 500;
/// Never wait longer than this between attempts.
pub const CAP_MS: u32 = 10_000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay before the next attempt. `unit_random` is in `[0, 1)`; it is a
    /// parameter so the policy stays pure and testable.
    pub fn next_delay_ms(&mut self, unit_random: f64) -> u32 {
        let ceiling = BASE_MS
            .saturating_mul(1u32.checked_shl(self.attempt.min(16)).unwrap_or(u32::MAX))
            .min(CAP_MS);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let jitter = (f64::from(ceiling - half) * unit_random.clamp(0.0, 1.0)) as u32;
        half + jitter.min(ceiling - half)
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn grows_then_caps_and_resets() {
        let mut b = Backoff::default();
        let lows: Vec<u32> = (0..8).map(|_| b.next_delay_ms(0.0)).collect();
        assert_eq!(lows, vec![250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
        let mut b = Backoff::default();
        let highs: Vec<u32> = (0..8).map(|_| b.next_delay_ms(0.999_999)).collect();
        assert!(highs.iter().all(|&d| d <= CAP_MS));
        assert_eq!(highs[7], CAP_MS - 1);
        for _ in 0..100 {
            b.next_delay_ms(0.5);
        }
        assert!(b.next_delay_ms(1.0) <= CAP_MS);
        b.reset();
        assert_eq!(b.attempt(), 0);
        assert_eq!(b.next_delay_ms(0.0), BASE_MS / 2);
    }
}
