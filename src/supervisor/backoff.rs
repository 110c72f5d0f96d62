//! Exponential backoff with a cap and jitter, for restarting camera sessions.
//! Pure: the caller supplies the attempt number and a seeded RNG.

use std::time::Duration;

use rand::Rng;

/// Restart delays: `base · 2^attempt`, capped, then scaled by a random factor
/// in `[0.5, 1.0]` so cameras that failed together do not retry in lockstep.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Delay before the first retry (before jitter).
    pub base: Duration,
    /// Longest delay.
    pub cap: Duration,
    /// A session that ran at least this long resets the attempt counter.
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            reset_after: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// After an authentication rejection: 5 minutes, doubling to 1 hour, so a
    /// wrong password costs the camera at most a dozen logins a day (many
    /// cameras lock the account after repeated failures).
    pub fn auth() -> Self {
        Self {
            base: Duration::from_secs(300),
            cap: Duration::from_secs(3600),
            reset_after: Duration::from_secs(30),
        }
    }

    /// After no answer at all from a camera that never answered (a Wyze
    /// camera ignoring a Disco made with a wrong ENR, or one that is off):
    /// 30 s doubling to 10 minutes, so a misconfigured camera does not search
    /// the LAN every few seconds forever, while one switched on later is
    /// still found within minutes.
    pub fn unanswered() -> Self {
        Self {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(600),
            reset_after: Duration::from_secs(30),
        }
    }

    /// Delay before retry number `attempt` (0-based).
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.min(20)));
        let capped = exp.min(self.cap);
        capped.mul_f64(rng.random_range(0.5..=1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn grows_exponentially_is_capped_and_jittered() {
        let b = Backoff::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..10).map(|a| b.delay(a, &mut rng)).collect();
        for (a, d) in delays.iter().enumerate() {
            let full = Duration::from_secs(1 << a.min(6)).min(b.cap);
            assert!(
                *d >= full / 2 && *d <= full,
                "attempt {a}: {d:?} not in [{:?}, {full:?}]",
                full / 2
            );
        }
        assert!(delays[9] <= Duration::from_secs(60));
        let again: Vec<Duration> = {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
            (0..10).map(|a| b.delay(a, &mut rng)).collect()
        };
        assert_eq!(delays, again, "same seed, same delays");
    }
}
