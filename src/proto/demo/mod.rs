//! A9 demo mode: plain UDP MJPEG, audio and Wi-Fi provisioning.
//!
//! `wire` is the byte format (shared with the simulator), `assembler` cuts
//! frames, `session` is the bridge's state machine.

pub mod assembler;
pub mod session;
pub mod wire;

pub use assembler::FrameCheck;
pub use session::{AudioStart, DemoConfig, DemoSession};
