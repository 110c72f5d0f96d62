//! Test fixtures for the protocol cores (compiled only for unit tests).
//!
//! Sans-IO code never reads the clock; its tests need one starting `Instant`
//! and then move time by adding durations. This is the one place in `proto/`
//! allowed to read the clock for that (`tests/sans_io.rs` names it).

use std::time::Instant;

/// The start of a test's virtual timeline.
#[allow(clippy::disallowed_methods)] // a test epoch, not a clock the code under test reads
pub fn t0() -> Instant {
    Instant::now()
}
