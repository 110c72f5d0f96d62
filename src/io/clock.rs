//! The only clock reads in cam2mqtt.
//!
//! Monotonic time comes from tokio so that `#[tokio::test(start_paused = true)]`
//! tests control it; wall-clock time is only used for timestamps shown to users.

use std::time::{Instant, SystemTime};

/// Monotonic "now", virtualised by tokio's paused test clock.
#[allow(clippy::disallowed_methods)] // the single permitted clock read
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Monotonic "now" as tokio's `Instant`, for `sleep_until` deadlines.
#[allow(clippy::disallowed_methods)] // the same single clock read as `now`
pub fn deadline_now() -> tokio::time::Instant {
    tokio::time::Instant::now()
}

/// Wall-clock time, for `last_snapshot_at` and similar user-facing stamps.
#[allow(clippy::disallowed_methods)] // the single permitted wall-clock read
pub fn wall() -> SystemTime {
    SystemTime::now()
}

/// Wall-clock time as RFC 3339 with seconds, e.g. `2026-11-21T10:00:00Z`.
pub fn wall_rfc3339() -> String {
    humantime::format_rfc3339_seconds(wall()).to_string()
}

/// Sleeps until `at`, or forever when there is no deadline: the one timer
/// helper every `select!` loop uses (tokio's clock, so paused tests control it).
pub async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
