//! Camera simulators: the camera's side of each protocol, for tests, the load
//! harness and `cam2mqtt simulate`.
//!
//! Simulators share only the wire codecs with the bridge (`proto::*::wire`,
//! and for PPPP the obfuscation, UID, dialect and frame-header codecs);
//! their device logic is written separately from the client state machines, from
//! the protocol references, so a misreading in one is not mirrored in the other.
//! Like sessions they are sans-IO: [`runner::run_device`] drives them.

pub mod demo;
pub mod memnet;
pub mod netem;
pub mod pattern;
pub mod playback;
pub mod pppp;
pub mod runner;
pub mod tutk;
pub mod video;

use std::time::Instant;

use crate::proto::{Datagram, Transmit};

/// The camera's side of a protocol, as a sans-IO state machine.
pub trait Device: Send + 'static {
    /// How many local sockets the device listens on (demo mode: 3).
    fn sockets(&self) -> usize;
    /// Feed one received datagram.
    fn handle_datagram(&mut self, now: Instant, datagram: Datagram<'_>);
    /// Called when the deadline from [`Device::poll_timeout`] has passed.
    fn handle_timeout(&mut self, now: Instant);
    /// Next datagram to send.
    fn poll_transmit(&mut self) -> Option<Transmit>;
    /// Earliest time `handle_timeout` must be called.
    fn poll_timeout(&self) -> Option<Instant>;
}
