//! When to try the broker again (sans-IO: fed the time, returns delays).
//!
//! Two kinds of failure, two schedules:
//! - **Unreachable** (nothing listens, the connection broke, a timeout): the
//!   broker is restarting or the network is down. Retry soon and keep
//!   retrying about once a second, so the bridge is back within a second of
//!   the broker, however long it was gone. A refused TCP connection once a
//!   second is no load on anyone.
//! - **Rejected** (the broker answered CONNACK with an error): retrying at
//!   once changes nothing, so the delay doubles up to [`REJECTED_CAP`] and
//!   starts over only after a connection held for [`STABLE_AFTER`].
//! - **Kicked** (accepted, then dropped within [`KICKED_WITHIN`], again and
//!   again: an ACL, a client-id takeover fight): the first such loss is
//!   retried soon, since a broker restarting right after we connected looks
//!   the same; from the second in a row the delay doubles like a rejection.
//!   A failed attempt in between (the broker really was down) ends the row.

use std::time::{Duration, Instant};

/// Unreachable: the first retry comes after this, then doubles...
pub const UNREACHABLE_FIRST: Duration = Duration::from_millis(100);
/// ...up to this, and stays there.
pub const UNREACHABLE_CAP: Duration = Duration::from_secs(1);
/// Rejected: the first retry comes after this, then doubles...
pub const REJECTED_FIRST: Duration = Duration::from_secs(1);
/// ...up to this.
pub const REJECTED_CAP: Duration = Duration::from_secs(30);
/// A connection lost sooner than this after CONNACK counts as a kick.
pub const KICKED_WITHIN: Duration = Duration::from_secs(2);
/// A connection that held this long forgives earlier rejections.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);

/// How a connection attempt or connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Could not connect, or the connection broke (I/O, timeouts).
    Unreachable,
    /// The broker refused us in CONNACK.
    Refused,
}

impl Failure {
    /// Classifies a rumqttc error.
    pub fn of(e: &rumqttc::ConnectionError) -> Self {
        match e {
            rumqttc::ConnectionError::ConnectionRefused(_)
            | rumqttc::ConnectionError::NotConnAck(_) => Self::Refused,
            _ => Self::Unreachable,
        }
    }
}

/// The reconnect schedule.
#[derive(Debug, Default)]
pub struct Reconnect {
    /// When the current connection got its CONNACK (`None`: not connected).
    up_since: Option<Instant>,
    /// Failed attempts since the last CONNACK.
    misses: u32,
    /// Rejections since the last stable connection.
    rejections: u32,
    /// Short-lived connections in a row.
    kicks: u32,
}

impl Reconnect {
    /// A CONNACK arrived.
    pub fn on_connected(&mut self, now: Instant) {
        self.up_since = Some(now);
        self.misses = 0;
    }

    /// The attempt or connection failed at `now`: how long to wait before the
    /// next attempt.
    pub fn on_failure(&mut self, now: Instant, failure: Failure) -> Duration {
        let lasted = self
            .up_since
            .take()
            .map(|t| now.saturating_duration_since(t));
        if lasted.is_some_and(|d| d >= STABLE_AFTER) {
            self.rejections = 0;
        }
        if failure == Failure::Refused {
            let delay = doubled(REJECTED_FIRST, self.rejections, REJECTED_CAP);
            self.rejections = self.rejections.saturating_add(1);
            return delay;
        }
        match lasted {
            Some(d) if d < KICKED_WITHIN => {
                self.kicks = self.kicks.saturating_add(1);
                if self.kicks >= 2 {
                    return doubled(REJECTED_FIRST, self.kicks - 2, REJECTED_CAP);
                }
            }
            // Lost a connection that held, or the broker is down: no kick row.
            _ => self.kicks = 0,
        }
        let delay = doubled(UNREACHABLE_FIRST, self.misses, UNREACHABLE_CAP);
        self.misses = self.misses.saturating_add(1);
        // A broker that keeps rejecting us is not retried faster because it
        // is briefly unreachable in between.
        if self.rejections > 0 {
            delay.max(doubled(REJECTED_FIRST, self.rejections - 1, REJECTED_CAP))
        } else {
            delay
        }
    }
}

fn doubled(first: Duration, times: u32, cap: Duration) -> Duration {
    first
        .checked_mul(1u32 << times.min(16))
        .map_or(cap, |d| d.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks an outage of `len` with `policy`: the times of the attempts and
    /// the delay between the broker's return and the first attempt after it.
    fn outage(policy: &mut Reconnect, start: Instant, len: Duration) -> Duration {
        let back = start + len;
        let mut now = start;
        loop {
            let wait = policy.on_failure(now, Failure::Unreachable);
            now += wait;
            if now >= back {
                return now - back;
            }
        }
    }

    #[test]
    fn a_long_outage_is_noticed_within_a_second_of_the_broker_returning() {
        let t0 = crate::io::clock::now();
        let mut p = Reconnect::default();
        p.on_connected(t0);
        let late = outage(
            &mut p,
            t0 + Duration::from_secs(600),
            Duration::from_secs(20),
        );
        assert!(late <= UNREACHABLE_CAP, "{late:?}");
    }

    #[test]
    fn two_short_restarts_in_a_row_are_each_noticed_within_a_second() {
        let t0 = crate::io::clock::now();
        let mut p = Reconnect::default();
        p.on_connected(t0);
        let mut now = t0 + Duration::from_secs(5);
        for _ in 0..2 {
            let late = outage(&mut p, now, Duration::from_secs(2));
            assert!(late <= UNREACHABLE_CAP, "{late:?}");
            now += Duration::from_secs(2) + late;
            p.on_connected(now);
            // The next restart comes soon after.
            now += Duration::from_secs(3);
        }
    }

    #[test]
    fn the_first_retry_is_quick_and_the_pace_never_exceeds_ten_a_second() {
        let t0 = crate::io::clock::now();
        let mut p = Reconnect::default();
        let waits: Vec<Duration> = (0..50)
            .map(|i| p.on_failure(t0 + Duration::from_secs(i), Failure::Unreachable))
            .collect();
        assert_eq!(waits[0], UNREACHABLE_FIRST);
        assert!(waits.iter().all(|w| *w >= UNREACHABLE_FIRST));
        assert_eq!(*waits.last().unwrap(), UNREACHABLE_CAP);
    }

    #[test]
    fn a_broker_that_refuses_us_is_not_hammered() {
        let mut p = Reconnect::default();
        let mut now = crate::io::clock::now();
        let mut waits = Vec::new();
        for _ in 0..10 {
            let wait = p.on_failure(now, Failure::Refused);
            waits.push(wait);
            now += wait;
        }
        assert_eq!(waits[0], REJECTED_FIRST);
        assert!(waits.windows(2).all(|w| w[1] >= w[0]), "{waits:?}");
        assert_eq!(*waits.last().unwrap(), REJECTED_CAP);
        let total: Duration = waits.iter().sum();
        assert!(total >= Duration::from_secs(100), "{total:?}: a loop");
        // Unreachable in between does not speed it up again.
        let wait = p.on_failure(now, Failure::Unreachable);
        assert!(wait >= Duration::from_secs(16), "{wait:?}");
    }

    #[test]
    fn a_broker_that_kicks_us_out_at_once_again_and_again_is_not_hammered() {
        let mut p = Reconnect::default();
        let mut now = crate::io::clock::now();
        let mut waits = Vec::new();
        for _ in 0..11 {
            p.on_connected(now);
            now += Duration::from_millis(300);
            let wait = p.on_failure(now, Failure::Unreachable);
            waits.push(wait);
            now += wait;
        }
        assert_eq!(waits[0], UNREACHABLE_FIRST, "once could be a restart");
        assert_eq!(waits[1], REJECTED_FIRST);
        assert!(waits[1..].windows(2).all(|w| w[1] >= w[0]), "{waits:?}");
        assert_eq!(*waits.last().unwrap(), REJECTED_CAP);
        let total: Duration = waits.iter().sum();
        assert!(total >= Duration::from_secs(100), "{total:?}: a loop");
    }

    #[test]
    fn a_broker_restarting_soon_after_we_connected_is_not_taken_for_a_kick() {
        let mut p = Reconnect::default();
        let mut now = crate::io::clock::now();
        for _ in 0..5 {
            p.on_connected(now);
            // The broker restarts a second later and is down for 2 s.
            now += Duration::from_secs(1);
            let late = outage(&mut p, now, Duration::from_secs(2));
            assert!(late <= UNREACHABLE_CAP, "{late:?}");
            now += Duration::from_secs(2) + late;
        }
    }

    #[test]
    fn a_connection_that_held_forgives_earlier_rejections() {
        let mut p = Reconnect::default();
        let mut now = crate::io::clock::now();
        for _ in 0..6 {
            now += p.on_failure(now, Failure::Refused);
        }
        p.on_connected(now);
        now += STABLE_AFTER;
        assert_eq!(p.on_failure(now, Failure::Unreachable), UNREACHABLE_FIRST);
        assert_eq!(p.on_failure(now, Failure::Refused), REJECTED_FIRST);
    }
}
